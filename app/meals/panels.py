"""What meals add to other areas' pages (registered as panels) and to the log."""

from __future__ import annotations

from flask import g, render_template
from flask_login import current_user
from sqlalchemy import and_, select

from ..database import utcnow
from ..extensions import db
from ..forms import PlainForm
from ..gatherings import domain as gatherings
from ..auth.models import User
from ..gatherings.models import Answer, Gathering
from ..i18n import _
from . import domain
from .forms import PartyForm
from .models import COURSES, DietaryNeeds, Meal, Need, Party

UPCOMING = 5


def reopened_sentence(d: dict, actor: str, subject: str) -> str:
    return _("%(a)s reopened the costs of the meal “%(t)s”: its shares may change.", a=actor, t=d.get("title"))


def deletion_warning(user) -> list[str]:
    return [_("Your dietary needs are deleted; what you brought to meals to come is taken off their lists. "
              "Shares of meals already split stay, as a former member’s.")]


def need_text(course: str, label: str, left: int) -> str:
    if course == "other":
        return f"{left} × {label}" if left > 1 else label
    return f"{left} {_(COURSES[course][0 if left == 1 else 1])}"


def answered_panel(gathering, circle, membership, **_context):
    """The meal part again, swapped out of band: an answer moves portions."""
    return gathering_panel(gathering, circle, membership, oob=True)


def gathering_panel(gathering, circle, membership, oob=False, **_context):
    """The meal part of a gathering's page, in at most three queries (the
    page's budget is 12): the meal with its needs, the viewer's own answer,
    party and dietary needs, and, for hosts, the parties coming."""
    rows = db.session.execute(select(Meal, Need).outerjoin(Need, Need.gathering_id == Meal.gathering_id)
                              .where(Meal.gathering_id == gathering.id).order_by(Need.id)).all()
    if not rows:
        return None
    meal = rows[0][0]
    still = [(n.course, n.label, n.needed - n.taken) for _meal, n in rows if n is not None and n.taken < n.needed]
    now = utcnow()
    _me, mine, party, my_needs = db.session.execute(
        select(User.id, Answer, Party, DietaryNeeds).select_from(User)
        .outerjoin(Answer, and_(Answer.user_id == User.id, Answer.gathering_id == gathering.id))
        .outerjoin(Party, Party.answer_id == Answer.id)
        .outerjoin(DietaryNeeds, DietaryNeeds.user_id == User.id).where(User.id == current_user.id)).one()
    manage = gatherings.can_manage(gathering, current_user, membership)
    form = g.pop("meal_party_form", None) or PartyForm(
        formdata=None, adults=party.adults if party and mine.response == "going" else 1,
        children=party.children if party and mine.response == "going" else 0)
    totals = counts = None
    if manage:
        coming = db.session.execute(
            select(Party.adults, Party.children, DietaryNeeds.avoids, DietaryNeeds.diets)
            .select_from(Answer).join(Party, Party.answer_id == Answer.id)
            .outerjoin(DietaryNeeds, DietaryNeeds.user_id == Answer.user_id)
            .where(Answer.gathering_id == gathering.id, Answer.state == "seated")).all()
        totals = {"people": gathering.seats_taken, "halves": meal.halves_taken,
                  "adults": sum(r.adults for r in coming), "children": sum(r.children for r in coming)}
        counts = domain.tally(gathering.seats_taken, [(r.avoids, r.diets) for r in coming])
    return render_template("meals/panel.html", gathering=gathering, circle=circle, meal=meal, mine=mine,
                           party=party, form=form, manage=manage, totals=totals, counts=counts,
                           still=still, need_text=need_text,
                           said=domain.declarations(meal.allergens, meal.diets, my_needs),
                           open=meal.signups_open(now), live=not gathering.is_cancelled and gathering.ends_at > now,
                           plain_form=PlainForm(), oob=oob)


def _upcoming(circle_ids: list[int]):
    if not circle_ids:
        return []
    return db.session.execute(
        select(Gathering.id, Gathering.title, Gathering.starts_local, Gathering.ends_local, Gathering.time_zone,
               Gathering.circle_id,
               Meal.style)
        .join(Meal, Meal.gathering_id == Gathering.id)
        .where(Gathering.circle_id.in_(circle_ids), Gathering.ends_at > utcnow(), Gathering.status != "cancelled")
        .order_by(Gathering.starts_at, Gathering.id).limit(UPCOMING)).all()


def home_panel(user, circles, **_context):
    by_id = {c.id: c for c in circles}
    meals = _upcoming(list(by_id))
    if not meals:
        return None
    return render_template("meals/upcoming_panel.html", meals=meals, circles=by_id, need_text=need_text,
                           still=domain.still_needed([m.id for m in meals]))


def circle_panel(circle, membership, **_context):
    meals = _upcoming([circle.id])
    return render_template("meals/upcoming_panel.html", meals=meals, circles={circle.id: circle},
                           need_text=need_text, still=domain.still_needed([m.id for m in meals]), circle=circle)


def account_panel(user, **_context):
    return render_template("meals/account_panel.html", recorded=domain.needs_of(user) is not None)


def new_gathering_panel(circle, **_context):
    return render_template("meals/new_gathering_panel.html", circle=circle)


def offline_pages(user) -> list[str]:
    """The potluck pages of the meals I am going to, for "keep my next
    gatherings on this device" (the meal itself is its gathering's page)."""
    from flask import url_for

    from ..gatherings import queries as gathering_queries

    mine = {g.id: g.circle_slug for g in gathering_queries.my_next(user)}
    if not mine:
        return []
    potlucks = db.session.scalars(select(Meal.gathering_id).where(Meal.gathering_id.in_(mine),
                                                                  Meal.style == "potluck"))
    return [url_for("meals.potluck", slug=mine[gathering_id], gathering_id=gathering_id) for gathering_id in potlucks]

