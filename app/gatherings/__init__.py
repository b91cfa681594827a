"""Gatherings: events with answers, seats, waitlists, slots, series, guests and calendars."""

import datetime as dt

from flask import Blueprint

from ..i18n import N_

bp = Blueprint("gatherings", __name__)


def init_app(app, areas) -> None:
    from . import porting
    from . import cli, guests, reminders, leaving, log_lines, notice, queries, routes  # noqa: F401  (routes registers the views)

    app.register_blueprint(bp)
    porting.register(areas)
    areas.tab("gatherings.upcoming", N_("Gatherings"), current="gatherings.", order=20)
    for action, write in log_lines.SENTENCES.items():
        areas.log_sentence(action, write)
    areas.on_member_left(leaving.member_left)
    areas.on_account_deleted(leaving.account_deleted)
    areas.on_purge(guests.purge)
    areas.keep_offline(queries.next_pages)
    areas.notice("gathering_seat", N_("you get a seat from the waitlist, or the hosts approve your answer"),
                 "gatherings", default="now")
    areas.notice("gathering_cancelled", N_("a gathering you are going to or waiting for is called off"),
                 "gatherings", default="now")
    areas.notice("gathering_moved", N_("a gathering you are going to or waiting for changes its time or place"),
                 "gatherings", default="now")
    areas.notice("gathering_changed", N_("a gathering you are going to or waiting for changes otherwise "
                                         "(confirmed, not yet certain)"), "gatherings", default="digest")
    areas.notice("gathering_tomorrow", N_("a gathering you are going to is tomorrow (at your digest hour)"),
                 "gatherings", default="digest")
    areas.notice("gathering_soon", N_("a gathering you are going to starts in two hours"), "gatherings",
                 default="now")
    areas.job("gathering-reminders", reminders.remind, every=dt.timedelta(minutes=5))
    areas.job("gatherings-extend", cli.extend_all, every=dt.timedelta(hours=6))
    areas.offer(N_("Gatherings with answers, seats, waitlists and helpers, in your own calendar"), order=10)
