"""What every template can use."""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import format_datetime, gettext

from .text import safe_html


def localtime(value: dt.datetime | None, zone: str | None) -> str:
    """A moment in words people use, in the given zone: "Thu 4 Dec 2026, 18:30"."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(zone or "UTC"))
    return format_datetime(local.replace(tzinfo=None), "EEE d MMM y, HH:mm")


def when(starts_local: dt.datetime, ends_local: dt.datetime, zone: str, viewer_zone: str | None = None,
         now: dt.datetime | None = None) -> str:
    """"Thu 4 Dec 2026, 18:30–20:30 (in 3 days)", with the zone named when it is
    not the viewer's own."""
    text = format_datetime(starts_local, "EEE d MMM y, HH:mm")
    if ends_local.date() == starts_local.date():
        text += "–" + ends_local.strftime("%H:%M")
    else:
        text += " – " + format_datetime(ends_local, "EEE d MMM, HH:mm")
    if viewer_zone and viewer_zone != zone:
        text += f" ({zone.replace('_', ' ')})"
    now = now or dt.datetime.now(dt.timezone.utc)
    days = (starts_local.date() - now.astimezone(ZoneInfo(zone)).date()).days
    if days == 0:
        text += " " + gettext("(today)")
    elif days == 1:
        text += " " + gettext("(tomorrow)")
    elif 1 < days <= 14:
        text += " " + gettext("(in %(n)s days)", n=days)
    return text


def init_app(app: Flask) -> None:
    app.jinja_env.globals["when"] = when
    app.jinja_env.globals["safe_html"] = safe_html
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
