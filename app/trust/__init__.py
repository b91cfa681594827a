"""Trust: stewardship given by members' vouches (and taken back), removal of a
member by a proposal, the circle's written agreements, and moderation."""

import datetime as dt

from flask import Blueprint

from ..i18n import N_

bp = Blueprint("trust", __name__)


def init_app(app, areas) -> None:
    from . import agreements, log_lines, panels, removal, routes, stewardship  # noqa: F401
    from . import porting
    from .moderation import forget_reporter

    app.register_blueprint(bp)
    areas.tab("trust.vouching", N_("Trust"), current="trust.", order=85)
    for action, write in log_lines.SENTENCES.items():
        areas.log_sentence(action, write)
    areas.on_member_left(stewardship.forget)
    areas.on_account_deleted(stewardship.forget_account)
    areas.on_account_deleted(forget_reporter)
    areas.proposal_action(removal.ACTION, removal.passed)
    areas.proposal_action(agreements.ACTION, agreements.passed)
    areas.calendar_entry(agreements.review_entries)
    porting.register(areas)
    areas.panel("proposal", panels.proposal, order=10)
    areas.panel("gathering", panels.gathering, order=90)
    areas.job("trust-settle", _settle_job, every=dt.timedelta(hours=1))
    areas.notice("trust_stewardship", N_("you become a steward of a circle, or stop being one"), "trust",
                 default="digest")
    areas.notice("trust_removal", N_("a steward proposes to remove you from a circle"), "trust", default="now")
    areas.notice("trust_removed", N_("a circle decides to remove you"), "trust", default="now")
    areas.notice("trust_agreements", N_("a circle's agreements change"), "trust", default="digest")
    areas.notice("trust_warning", N_("the stewards hide something of yours or warn you, with their reason"),
                 "trust", default="now")
    areas.notice("trust_report", N_("someone reports something to the stewards of a circle you steward"), "trust",
                 default="digest")
    areas.offer(N_("Stewards chosen by the members' trust, and taken back the same way; no owner"), order=92)


def _settle_job(now=None) -> int:
    """As members become eligible with time, stewardship follows."""
    from ..database import write_unit
    from .stewardship import settle_all

    with write_unit():
        return settle_all(now)
