"""Closing a circle: a proposal of its stewards, after offering the export;
if it passes, the circle is read-only for a grace period (members told), then
deleted with everything in it by the job runner. A closed circle's links and
feeds answer that it is closed, with no details."""

import datetime as dt

from flask import Blueprint

from ..i18n import N_

bp = Blueprint("closing", __name__)


def init_app(app, areas) -> None:
    from . import domain, models, routes  # noqa: F401  (routes registers the views)

    app.register_blueprint(bp)
    app.before_request(routes.read_only)
    app.after_request(routes.say_closed)
    areas.on_proposal_closed(domain.proposal_closed)
    areas.job("circles-delete-closed", domain.delete_due, every=dt.timedelta(hours=1))
    areas.panel("nav", routes.banner, order=1)
    areas.notice("circle_closing", N_("a circle you belong to decided to close"), "closing", default="now")
    areas.log_sentence("closing_proposed", domain.sentence_proposed)
    areas.log_sentence("circle_closed", domain.sentence_closed)
    areas.keep_back(models.Closing, "Closing is this server's business: the proposal and log say it.")
    areas.keep_back(models.ClosedLink, "What a closed circle leaves behind here, so its old links say so.")
