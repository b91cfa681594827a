"""Notices: an inbox of what concerns a person, settings per kind and per
circle, quiet hours, a calm daily digest, reminders, and the scheduled work
of the job runner."""

import datetime as dt

from flask import Blueprint

bp = Blueprint("notify", __name__)


def notify(*args, **kwargs):
    """Tell someone about something, in the caller's write unit: see domain.notify."""
    from .domain import notify as record_notice
    return record_notice(*args, **kwargs)


def init_app(app, areas) -> None:
    from . import porting
    from . import domain, push, routes  # noqa: F401  (routes registers the views)

    app.register_blueprint(bp)
    app.jinja_env.globals["push_public_key"] = push.public_key
    porting.register(areas)
    areas.job("notices", domain.deliver, every=dt.timedelta(minutes=1))
    # Pushes claim their own rows (like mail): every worker's pass sends what is due.
    areas.job("push", push.deliver, every=dt.timedelta(minutes=1), shared=True)
    areas.panel("account", routes.account_panel, order=20)
    areas.panel("home", routes.home_panel, order=5)
    areas.on_purge(domain.purge)
    areas.on_account_deleted(domain.account_deleted)
    areas.on_member_left(domain.member_left)
