"""Gatherings: events with answers, seats, waitlists, slots, series, guests and calendars."""

from flask import Blueprint

from ..i18n import N_

bp = Blueprint("gatherings", __name__)


def init_app(app, areas) -> None:
    from . import cli, guests, leaving, log_lines, notice, queries, routes  # noqa: F401  (routes registers the views)

    app.register_blueprint(bp)
    areas.tab("gatherings.upcoming", N_("Gatherings"), current="gatherings.", order=20)
    for action, write in log_lines.SENTENCES.items():
        areas.log_sentence(action, write)
    areas.on_member_left(leaving.member_left)
    areas.on_account_deleted(leaving.account_deleted)
    areas.on_purge(guests.purge)
    areas.keep_offline(queries.next_pages)
    areas.notice("gathering_seat", N_("you get a seat from the waitlist, or the hosts approve your answer"),
                 "gatherings")
    areas.notice("gathering_changed", N_("a gathering you are going to or waiting for changes its time, "
                                         "place or status"), "gatherings")
    areas.offer(N_("Gatherings with answers, seats, waitlists and helpers, in your own calendar"), order=10)
