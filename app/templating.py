"""What every template can use."""

from flask import Flask

from .text import safe_html


def init_app(app: Flask) -> None:
    app.jinja_env.globals["safe_html"] = safe_html
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
