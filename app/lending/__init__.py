"""Lending: a circle's library of things, never double-booked."""

import datetime as dt

from flask import Blueprint, url_for

from ..i18n import N_

bp = Blueprint("lending", __name__)


def init_app(app, areas) -> None:
    from . import porting
    from . import cli, leaving, panels, routes  # noqa: F401  (routes registers the views)

    app.register_blueprint(bp)
    porting.register(areas)
    areas.tab("lending.library", N_("Library"), current="lending.", order=30)
    areas.on_member_left(leaving.member_left)
    areas.on_account_deleted(leaving.account_deleted, warning=leaving.deletion_warning)
    areas.panel("gathering", panels.gathering_handovers, order=40)
    areas.panel("home", panels.home_things, order=40)
    areas.panel("circle", panels.circle_library, order=40)
    # "Keep my next gatherings on this device" keeps My things too: what I lend and borrow, with due dates.
    areas.keep_offline(lambda user: [url_for("lending.mine")])
    areas.job("lending-expire", cli.run, every=dt.timedelta(hours=1))
    areas.notice("lending_request", N_("someone asks to borrow a thing you lend, or answers your request"),
                 "lending", default="now")
    areas.notice("lending_offer", N_("a thing you wait for is free for you (held for you 48 hours)"), "lending",
                 default="now")
    areas.notice("lending_due", N_("a loan is due back, or overdue"), "lending", default="digest")
    areas.offer(N_("A library of things: borrow a drill or a tent from a neighbour, never double-booked"),
                order=30)
