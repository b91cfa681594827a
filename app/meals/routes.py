"""Shared meals' views: thin, each write one unit. A meal's own page is its
gathering's page (the meal part is a panel on it); the potluck, the costs
and one's dietary needs have pages of their own."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import and_, select

from ..circles import domain as circles
from ..circles.access import circle_page
from ..database import utcnow, write_unit
from ..errors import RuleError
from ..extensions import db
from ..forms import PlainForm, form_page, show_error
from ..gatherings import domain as gatherings
from ..gatherings import seats
from ..gatherings import series as gathering_series
from ..gatherings.errors import GatheringError
from ..gatherings.models import Answer, Gathering
from ..gatherings.routes import _chosen_cohosts, _gathering_fields
from ..i18n import _
from ..zones import localize
from . import bp, domain, split
from .forms import ChangeDishForm, DietaryForm, DishForm, ExpenseForm, MealForm, MenuForm, PartyForm
from ..circles.models import Membership
from ..auth.models import User
from .models import COURSES, DietaryNeeds, Dish, Meal, Need


def _meal(circle, gathering_id: int) -> tuple[Gathering, Meal]:
    gathering = db.session.get(Gathering, gathering_id)
    if gathering is None or gathering.circle_id != circle.id:
        abort(404)
    meal = domain.meal_of(gathering.id)
    if meal is None:
        abort(404)
    return gathering, meal


def _managed(circle, membership, gathering_id):
    gathering, meal = _meal(circle, gathering_id)
    if not gatherings.can_manage(gathering, current_user, membership):
        abort(403)
    return gathering, meal


def _to_meal(circle, gathering_id: int):
    return redirect(url_for("gatherings.detail", slug=circle.slug, gathering_id=gathering_id), 303)


def _mine(gathering_id: int) -> Answer | None:
    return db.session.scalar(select(Answer).where(Answer.gathering_id == gathering_id,
                                                  Answer.user_id == current_user.id))


# --- posting ------------------------------------------------------------------------

@bp.route("/c/<slug>/meals/new", methods=["GET", "POST"])
@login_required
@circle_page()
def new(circle, membership):
    members = circles.members(circle)
    form = MealForm(members=members, time_zone=circle.time_zone)
    if form.validate_on_submit():
        fields = _gathering_fields(form)
        allergens, diets = form.tags()
        try:
            closes_at = None
            if form.closes_local.data:
                try:
                    closes_at = localize(form.closes_local.data, form.time_zone.data)[1]
                except (RuleError, ValueError, OverflowError):
                    raise GatheringError(_("Sign-ups must close before the meal starts."), "closes_local")
            meal = {"style": form.style.data, "portions": form.portions.data, "menu": form.menu.data or "",
                    "allergens": allergens, "diets": diets, "needs": form.needs()}
            with write_unit():
                if form.repeat.data:
                    # A weekly meal: every date gets the meal part and the slots of the series.
                    _made_series, made = gathering_series.create_series(
                        circle, current_user, freq=form.repeat.data, interval=form.interval.data or 1,
                        setpos=form.setpos.data, until=form.until.data, cohosts=_chosen_cohosts(form, circle),
                        parts={"meal": domain.check_part(**meal)}, **fields)
                    gathering_id = made[0].id if made else None
                else:
                    gathering_id = domain.create_meal(
                        circle, current_user, closes_at=closes_at, status=form.status.data,
                        cohosts=_chosen_cohosts(form, circle), **meal, **fields).id
        except GatheringError as error:
            show_error(form, error)
        else:
            flash(_("Posted. Your neighbours can sign up now."), "success")
            if gathering_id is None:
                return redirect(url_for("gatherings.upcoming", slug=circle.slug), 303)
            return _to_meal(circle, gathering_id)
    return form_page("meals/new.html", form, circle=circle, membership=membership)


# --- signing up with a party ----------------------------------------------------------

@bp.route("/c/<slug>/meals/<int:gathering_id>/party", methods=["POST"])
@login_required
@circle_page()
def party(circle, membership, gathering_id):
    gathering, meal = _meal(circle, gathering_id)
    form = PartyForm()
    if form.validate_on_submit():
        adults, children = form.adults.data, form.children.data or 0
        try:
            with write_unit():
                seats.answer(gathering.id, current_user, "going", adults + children - 1,
                             details={"adults": adults, "children": children})
        except GatheringError as error:
            if error.field == "guests":
                error.field = "adults"
            show_error(form, error)
        else:
            mine = _mine(gathering.id)
            flash(_("You are coming. Enjoy the meal!") if mine.state == "seated" else
                  _("You are on the waitlist: you get a place as soon as one is free.")
                  if mine.state == "waiting" else _("The hosts will look at your sign-up."), "success")
            return _to_meal(circle, gathering.id)
    from ..gatherings.routes import _detail_context
    gathering = db.session.get(Gathering, gathering_id)
    g.meal_party_form = form  # for the meal's panel on the gathering's page
    return render_template("gatherings/detail.html",
                           **_detail_context(circle, membership, gathering)), 422


@bp.route("/c/<slug>/meals/<int:gathering_id>/signups", methods=["POST"])
@login_required
@circle_page()
def signups(circle, membership, gathering_id):
    gathering, meal = _managed(circle, membership, gathering_id)
    if PlainForm().validate_on_submit():
        with write_unit():
            opening = not meal.signups_open(utcnow())
            domain.set_signups(gathering, db.session.get(Meal, meal.id), opening)
        flash(_("Sign-ups are open again until the meal starts.") if opening else _("Sign-ups are closed."), "info")
    return _to_meal(circle, gathering.id)


@bp.route("/c/<slug>/meals/<int:gathering_id>/menu", methods=["GET", "POST"])
@login_required
@circle_page()
def menu(circle, membership, gathering_id):
    gathering, meal = _managed(circle, membership, gathering_id)
    form = MenuForm(data={"menu": meal.menu_source, "allergens": meal.allergens or [],
                          "no_allergens": meal.allergens == [], "diets": meal.diets})
    if form.validate_on_submit():
        allergens, diets = form.tags()
        try:
            with write_unit():
                domain.update_menu(db.session.get(Meal, meal.id), form.menu.data or "", allergens, diets)
        except GatheringError as error:
            show_error(form, error)
        else:
            flash(_("Saved."), "success")
            return _to_meal(circle, gathering.id)
    return form_page("meals/menu.html", form, circle=circle, membership=membership, gathering=gathering)


# --- potluck --------------------------------------------------------------------------

def _need_name(need: Need, left: int | None = None) -> str:
    if need.course == "other":
        return need.label
    return _(COURSES[need.course][0 if (left if left is not None else need.needed) == 1 else 1])


def _potluck_page(circle, membership, gathering, meal, form=None, status=200):
    needs = list(db.session.scalars(select(Need).where(Need.gathering_id == gathering.id).order_by(Need.id)))
    dishes = list(db.session.scalars(select(Dish).where(Dish.gathering_id == gathering.id)
                                     .options(db.joinedload(Dish.user)).order_by(Dish.course, Dish.id)))
    open_needs = [(str(n.id), f"{_need_name(n, 1)} ({_('%(n)s open', n=n.needed - n.taken)})")
                  for n in needs if n.taken < n.needed]
    form = form or DishForm(needs=open_needs)
    coming = gathering.seats_taken  # people seated, guests included
    counts = domain.need_counts(gathering.id, coming)
    mine, my_needs = db.session.execute(
        select(Answer, DietaryNeeds).select_from(User)
        .outerjoin(Answer, and_(Answer.user_id == User.id, Answer.gathering_id == gathering.id))
        .outerjoin(DietaryNeeds, DietaryNeeds.user_id == User.id).where(User.id == current_user.id)).one()
    context = dict(circle=circle, membership=membership, gathering=gathering, meal=meal, needs=needs, dishes=dishes,
                   form=form, coming=coming, feeds=sum(d.feeds for d in dishes), counts=counts,
                   coming_me=mine is not None and mine.state == "seated", need_name=_need_name,
                   said_for=lambda d: domain.declarations(d.allergens, d.diets, my_needs),
                   plain_form=PlainForm(),
                   live=not gathering.is_cancelled and gathering.ends_at > utcnow())
    return render_template("meals/potluck.html", **context), status


@bp.route("/c/<slug>/meals/<int:gathering_id>/potluck")
@login_required
@circle_page()
def potluck(circle, membership, gathering_id):
    gathering, meal = _meal(circle, gathering_id)
    return _potluck_page(circle, membership, gathering, meal)


@bp.route("/c/<slug>/meals/<int:gathering_id>/dishes", methods=["POST"])
@login_required
@circle_page()
def bring(circle, membership, gathering_id):
    gathering, meal = _meal(circle, gathering_id)
    needs = db.session.scalars(select(Need).where(Need.gathering_id == gathering.id)).all()
    form = DishForm(needs=[(str(n.id), _need_name(n, 1)) for n in needs])
    if form.validate_on_submit():
        allergens, diets = form.tags()
        need_id = form.need_id()
        try:
            if need_id == -1:
                raise GatheringError(_("Choose one of the open needs."), "need")
            with write_unit():
                domain.bring(gathering.id, current_user, need_id=need_id, course=form.course.data or None,
                             name=form.name.data, feeds=form.feeds.data, allergens=allergens, diets=diets)
        except GatheringError as error:
            show_error(form, error)
        else:
            flash(_("Thank you! Your dish is on the list."), "success")
            return redirect(url_for("meals.potluck", slug=circle.slug, gathering_id=gathering.id), 303)
    return _potluck_page(circle, membership, gathering, meal, form=form, status=422)


@bp.route("/c/<slug>/meals/<int:gathering_id>/dishes/<int:dish_id>", methods=["GET", "POST"])
@login_required
@circle_page()
def dish(circle, membership, gathering_id, dish_id):
    gathering, meal = _meal(circle, gathering_id)
    found = db.session.get(Dish, dish_id)
    if found is None or found.gathering_id != gathering.id:
        abort(404)
    own = found.user_id == current_user.id
    if not own and request.method == "POST":
        abort(404)  # only the bringer changes their dish; others read it
    form = ChangeDishForm(data={"name": found.name, "feeds": found.feeds, "allergens": found.allergens or [],
                                "no_allergens": found.allergens == [], "diets": found.diets})
    if form.validate_on_submit():
        allergens, diets = form.tags()
        try:
            with write_unit():
                domain.change_dish(gathering.id, dish_id, current_user, name=form.name.data, feeds=form.feeds.data,
                                   allergens=allergens, diets=diets)
        except GatheringError as error:
            show_error(form, error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("meals.potluck", slug=circle.slug, gathering_id=gathering.id), 303)
    return form_page("meals/dish.html", form, circle=circle, membership=membership, gathering=gathering,
                     dish=found, own=own)


@bp.route("/c/<slug>/meals/<int:gathering_id>/dishes/<int:dish_id>/release", methods=["POST"])
@login_required
@circle_page()
def release(circle, membership, gathering_id, dish_id):
    gathering, meal = _meal(circle, gathering_id)
    if PlainForm().validate_on_submit():
        try:
            with write_unit():
                domain.release_dish(gathering.id, dish_id, current_user)
        except GatheringError:
            abort(404)
        flash(_("Your dish is off the list; its place is open again."), "info")
    return redirect(url_for("meals.potluck", slug=circle.slug, gathering_id=gathering.id), 303)


# --- costs ---------------------------------------------------------------------------

def _costs_page(circle, membership, gathering, meal, form=None, status=200):
    manage = gatherings.can_manage(gathering, current_user, membership)
    currency = meal.currency or circle.currency
    shares = domain.shares_of(gathering.id) if meal.finalized_at else []
    mine = next((s for s in shares if s.user_id == current_user.id), None)
    transfers = []
    if shares:
        by_id = {s.id: s for s in shares}
        transfers = [(by_id[a], by_id[b], amount) for a, b, amount in
                     split.transfers({s.id: s.paid_minor - s.share_minor for s in shares})]
        if not manage:
            transfers = [t for t in transfers if mine is not None and mine in (t[0], t[1])]
    expenses = domain.expenses_of(gathering.id)
    if not manage:
        expenses = [e for e in expenses if e.user_id == current_user.id]
    coming = _mine(gathering.id)
    # Someone who has left the circle, or deleted their account, reads "a former member".
    ids = {s.user_id for s in shares} | {e.user_id for e in expenses}
    members = set(db.session.scalars(select(Membership.user_id).where(
        Membership.circle_id == circle.id, Membership.user_id.in_(ids)))) if ids else set()
    context = dict(name_of=lambda user: user.shown_name if user is not None and user.id in members
                   else _("a former member"), circle=circle, membership=membership, gathering=gathering, meal=meal, manage=manage,
                   money=lambda minor: split.format_amount(minor, currency, str(_locale())),
                   shares=shares if manage else [], mine=mine, transfers=transfers, expenses=expenses,
                   form=form or ExpenseForm(), plain_form=PlainForm(),
                   came=coming is not None and coming.state == "seated",
                   signups_open=meal.signups_open(utcnow()) and gathering.starts_at > utcnow())
    return render_template("meals/costs.html", **context), status


def _locale():
    from flask_babel import get_locale
    return get_locale() or "en"


@bp.route("/c/<slug>/meals/<int:gathering_id>/costs")
@login_required
@circle_page()
def costs(circle, membership, gathering_id):
    gathering, meal = _meal(circle, gathering_id)
    return _costs_page(circle, membership, gathering, meal)


@bp.route("/c/<slug>/meals/<int:gathering_id>/expenses", methods=["POST"])
@login_required
@circle_page()
def expense(circle, membership, gathering_id):
    gathering, meal = _meal(circle, gathering_id)
    form = ExpenseForm()
    if form.validate_on_submit():
        try:
            try:
                amount = split.parse_amount(form.amount.data, circle.currency)
            except ValueError:
                raise GatheringError(_("Write an amount like 12.50, above zero and at most 100,000."), "amount")
            with write_unit():
                domain.add_expense(gathering.id, current_user, amount, form.note.data or "")
        except GatheringError as error:
            show_error(form, error)
        else:
            flash(_("Recorded."), "success")
            return redirect(url_for("meals.costs", slug=circle.slug, gathering_id=gathering.id), 303)
    return _costs_page(circle, membership, gathering, meal, form=form, status=422)


@bp.route("/c/<slug>/meals/<int:gathering_id>/expenses/<int:expense_id>/remove", methods=["POST"])
@login_required
@circle_page()
def remove_expense(circle, membership, gathering_id, expense_id):
    gathering, meal = _meal(circle, gathering_id)
    if PlainForm().validate_on_submit():
        try:
            with write_unit():
                domain.remove_expense(gathering.id, expense_id, current_user)
        except GatheringError as error:
            flash(str(error), "error")
    return redirect(url_for("meals.costs", slug=circle.slug, gathering_id=gathering.id), 303)


@bp.route("/c/<slug>/meals/<int:gathering_id>/finalize", methods=["POST"])
@login_required
@circle_page()
def finalize(circle, membership, gathering_id):
    gathering, meal = _managed(circle, membership, gathering_id)
    form = PlainForm()
    if form.validate_on_submit():
        try:
            with write_unit():
                domain.finalize(gathering.id, current_user)
        except GatheringError as error:
            flash(str(error), "error")
            return _costs_page(circle, membership, gathering, meal, status=422)
        flash(_("Final. Everyone sees their share."), "success")
    return redirect(url_for("meals.costs", slug=circle.slug, gathering_id=gathering.id), 303)


@bp.route("/c/<slug>/meals/<int:gathering_id>/reopen", methods=["POST"])
@login_required
@circle_page()
def reopen(circle, membership, gathering_id):
    gathering, meal = _managed(circle, membership, gathering_id)
    if PlainForm().validate_on_submit():
        with write_unit():
            domain.reopen_costs(gathering.id, current_user)
        flash(_("The costs are open again; this is written in the circle’s log."), "info")
    return redirect(url_for("meals.costs", slug=circle.slug, gathering_id=gathering.id), 303)


# --- my dietary needs ------------------------------------------------------------------

@bp.route("/account/dietary", methods=["GET", "POST"])
@login_required
def dietary():
    mine = domain.needs_of(current_user)
    form = DietaryForm(data={"avoids": mine.avoids if mine else [], "diets": mine.diets if mine else []})
    if form.validate_on_submit():
        try:
            with write_unit():
                domain.save_needs(current_user, form.avoids.data or [], form.diets.data or [])
        except GatheringError as error:
            show_error(form, error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("meals.dietary"), 303)
    return form_page("meals/dietary.html", form)
