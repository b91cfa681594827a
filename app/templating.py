"""What every template can use."""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import format_datetime

from .text import safe_html


def localtime(value: dt.datetime | None, zone: str | None) -> str:
    """A moment in words people use, in the given zone: "Thu 4 Dec 2026, 18:30"."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(zone or "UTC"))
    return format_datetime(local.replace(tzinfo=None), "EEE d MMM y, HH:mm")


def init_app(app: Flask) -> None:
    app.jinja_env.globals["safe_html"] = safe_html
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
