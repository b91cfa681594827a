"""Shared meals: potlucks and cooked meals, a gathering with a meal part."""

from flask import Blueprint

from ..i18n import N_

bp = Blueprint("meals", __name__)


def init_app(app, areas) -> None:
    from . import porting
    from . import domain, panels, routes  # noqa: F401  (routes registers the views)

    app.register_blueprint(bp)
    porting.register(areas)
    areas.party_claim(domain.take_portions, domain.give_back_portions, domain.prepare_party)
    areas.on_occurrence(domain.occurrence_made)
    areas.log_sentence("meal_costs_reopened", panels.reopened_sentence)
    areas.on_member_left(domain.member_left)
    areas.on_account_deleted(domain.account_deleted, panels.deletion_warning)
    areas.panel("gathering", panels.gathering_panel, order=10)
    areas.panel("answered", panels.answered_panel, order=10)
    areas.panel("home", panels.home_panel, order=30)
    areas.panel("circle", panels.circle_panel, order=30)
    areas.panel("upcoming", panels.circle_panel, order=30)
    areas.panel("account", panels.account_panel, order=30)
    areas.panel("new_gathering", panels.new_gathering_panel, order=10)
    areas.keep_offline(panels.offline_pages)
    areas.offer(N_("Shared meals: potlucks and cooked meals, with allergens declared and costs split fairly"),
                order=15)
