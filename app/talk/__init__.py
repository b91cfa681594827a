"""Talking and deciding together: discussions, replies, proposals and time polls."""

import datetime as dt

from flask import Blueprint

from ..i18n import N_

bp = Blueprint("talk", __name__)


def init_app(app, areas) -> None:
    from . import porting
    from . import calendar, cli, log_lines, panels, routes  # noqa: F401  (routes registers the views)
    from .domain import account_deleted, member_left

    app.register_blueprint(bp)
    porting.register(areas)
    for action, write in log_lines.SENTENCES.items():
        areas.log_sentence(action, write)
    areas.tab("talk.discussions", N_("Talk"), current="talk.", order=25)
    areas.on_member_left(member_left)
    areas.on_account_deleted(account_deleted)
    areas.panel("gathering", panels.gathering, order=60)
    areas.panel("thing", panels.thing, order=60)
    areas.panel("circle", panels.circle, order=40)
    areas.panel("home", panels.home, order=40)
    areas.calendar_entry(calendar.review_entries)
    areas.job("talk-close", cli.run, every=dt.timedelta(minutes=1))
    areas.notice("talk_opened", N_("a proposal opens in your circle"), "talk", default="digest")
    # Said once, a day before closing: waiting for the digest could come too late.
    areas.notice("talk_closing", N_("a proposal closes within a day and you have not taken a position"), "talk",
                 default="now")
    areas.notice("talk_mention", N_("someone names you with @ in a discussion"), "talk", default="digest")
    areas.notice("talk_closed", N_("a proposal you could take part in closes, with its result"), "talk",
                 default="digest")
    areas.offer(N_("Discussions and proposals with reasons and a closing time: no likes, no ranking"), order=20)
