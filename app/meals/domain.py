"""Shared meals: plain functions in the caller's write unit (they never commit).

A meal is a gathering with a meal part: seats, the waitlist, guests, slots,
approval and the rest are the gathering's own code. The meal adds a second
counter, portions (in halves), taken and given back together with seats
through the registry's party claims (``take_portions``, ``give_back_portions``,
``prepare_party``), so every seat rule (answer, release, promote, move,
leaving) moves portions too.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter as Tally

from sqlalchemy import delete, func, select

from ..auth.models import User
from ..circles import domain as circles
from ..circles.models import Circle
from ..database import give_back, lock, take, utcnow
from ..extensions import db
from ..gatherings import domain as gatherings
from ..gatherings.models import Answer, Gathering
from ..gatherings.seats import lock_gathering
from ..i18n import _
from ..text import render_markdown
from .errors import MealError
from .models import ALLERGENS, COURSES, DIETS, MOST_MINOR, STYLES, DietaryNeeds, Dish, Expense, Meal, Need, Party, Share
from .split import shares as split_shares

# Counts of dietary needs are shown only when at least this many people are
# coming, so that a count can never point at one person.
FEW = 5
CLOSE_BEFORE = dt.timedelta(hours=24)


def meal_of(gathering_id: int) -> Meal | None:
    return db.session.scalar(select(Meal).where(Meal.gathering_id == gathering_id))


def _check_tags(allergens, diets) -> tuple[list | None, list]:
    if allergens is not None and any(a not in ALLERGENS for a in allergens):
        raise MealError(_("Choose allergens from the list."), "allergens")
    if any(d not in DIETS for d in diets or ()):
        raise MealError(_("Choose diets from the list."), "diets")
    # Kept in the law's (and the forms') order, so every list reads the same.
    return (None if allergens is None else [a for a in ALLERGENS if a in allergens]), [d for d in DIETS if d in (diets or ())]


def _closes_at(gathering: Gathering, closes_at: dt.datetime | None) -> dt.datetime | None:
    if closes_at is None:
        return gathering.starts_at - CLOSE_BEFORE
    if closes_at > gathering.starts_at:
        raise MealError(_("Sign-ups must close before the meal starts."), "closes_local")
    return closes_at


def create_meal(circle: Circle, host: User, *, style: str, portions: int | None = None,
                closes_at: dt.datetime | None = None, menu: str = "", allergens: list | None = None,
                diets: list = (), needs: list[tuple[str, str, int]] = (), **fields) -> Gathering:
    """Post a meal: a gathering (``fields`` as for ``create_gathering``) with
    its meal part. The host is coming, holding a seat and a portion.

    :raise MealError: an unknown style, allergen or diet, a closing time after
        the start, and whatever a gathering refuses.
    """
    part = check_part(style=style, portions=portions, menu=menu, allergens=allergens, diets=diets, needs=needs)
    gathering = gatherings.create_gathering(circle, host, **fields)
    add_part(gathering, host, part, closes_at)
    return gathering


def check_part(*, style: str, portions: int | None, menu: str, allergens: list | None, diets: list,
               needs: list) -> dict:
    """The meal part, checked, as plain values (a series keeps them in its template).

    :raise MealError: an unknown style, course, allergen or diet, or numbers out of range.
    """
    if style not in STYLES:
        raise MealError(_("Choose a potluck or a cooked meal."), "style")
    if portions is not None and not 1 <= portions <= 10_000:
        raise MealError(_("Between 1 and 10,000 portions, or leave it empty for no limit."), "portions")
    allergens, diets = _check_tags(allergens, diets)
    for course, _label, needed in needs:
        if course not in COURSES:
            raise MealError(_("Choose a course from the list."), "course")
        if not 1 <= needed <= 50:
            raise MealError(_("Between 1 and 50."), "needed")
    return {"style": style, "portions": portions, "menu": menu, "allergens": allergens, "diets": diets,
            "needs": [list(n) for n in needs]}


def add_part(gathering: Gathering, host: User, part: dict, closes_at: dt.datetime | None = None) -> Meal:
    """Give a gathering its meal part; its host holds a portion, as they hold a seat."""
    style, portions, menu = part["style"], part["portions"], part["menu"]
    allergens, diets, needs = part["allergens"], part["diets"], part["needs"]
    meal = Meal(gathering_id=gathering.id, style=style, halves_limit=None if portions is None else 2 * portions,
                closes_at=_closes_at(gathering, closes_at), menu_source=menu, menu_html=render_markdown(menu),
                allergens=allergens, diets=diets, halves_taken=0)
    db.session.add(meal)
    db.session.flush()
    for course, label, needed in needs:
        add_need(gathering, course, label, needed)
    host_answer = db.session.scalar(select(Answer).where(Answer.gathering_id == gathering.id,
                                                         Answer.user_id == host.id))
    party = Party(answer_id=host_answer.id, adults=1, children=0, held=0)
    db.session.add(party)
    if not take(meal, 2):
        raise MealError(_("Between 1 and 10,000 portions, or leave it empty for no limit."), "portions")
    party.held = 2
    return meal


def occurrence_made(series, gathering: Gathering) -> None:
    """A series of meals made a date: it gets the meal part the series keeps."""
    part = (series.template.get("areas") or {}).get("meal")
    host = db.session.get(User, series.template.get("host_id"))
    if part and host is not None:
        add_part(gathering, host, part)


def add_need(gathering: Gathering, course: str, label: str, needed: int) -> Need:
    if course not in COURSES:
        raise MealError(_("Choose a course from the list."), "course")
    if not 1 <= needed <= 50:
        raise MealError(_("Between 1 and 50."), "needed")
    need = Need(gathering_id=gathering.id, course=course, label=(label or "").strip()[:80], needed=needed,
                taken=0)
    db.session.add(need)
    return need


def update_menu(meal: Meal, menu: str, allergens: list | None, diets: list) -> None:
    meal.allergens, meal.diets = _check_tags(allergens, diets)
    meal.menu_source, meal.menu_html = menu, render_markdown(menu)


# --- parties: portions taken with seats ----------------------------------------------

_MISSING = object()


def _meal_part(gathering: Gathering) -> Meal | None:
    """The meal part of a gathering the seat code holds (locked), looked up once
    per loaded gathering: the seat hooks run several times in one answer, and on
    a plain gathering they must cost next to nothing (the row stays locked)."""
    found = gathering.__dict__.get("_meal_part", _MISSING)
    if found is _MISSING:
        found = gathering.__dict__["_meal_part"] = meal_of(gathering.id)
    return found


def _party(answer: Answer) -> Party:
    party = db.session.get(Party, answer.id)
    if party is None:
        party = Party(answer_id=answer.id, adults=answer.party, children=0, held=0)
        db.session.add(party)
    elif party.adults + party.children != answer.party:
        # Changed through the plain answer form: everyone counts as an adult.
        party.adults, party.children = answer.party, 0
    return party


def prepare_party(gathering: Gathering, answer: Answer, details: dict | None) -> None:
    """Before a meal's answer "going" takes anything: sign-ups must be open,
    and the party's adults and children are kept."""
    meal = _meal_part(gathering)
    if meal is None:
        return
    if not meal.signups_open(utcnow()):
        raise MealError(_("Sign-ups for this meal have closed. Ask the hosts to reopen them."))
    if details is not None:
        adults, children = details["adults"], details["children"]
        if adults < 1 or children < 0:
            raise MealError(_("A party has at least one adult: you."), "adults")
        party = _party(answer)
        party.adults, party.children = adults, children


def take_portions(gathering: Gathering, answer: Answer) -> bool:
    meal = _meal_part(gathering)
    if meal is None:
        return True
    party = _party(answer)
    if not take(meal, party.halves):
        return False
    party.held = party.halves
    return True


def give_back_portions(gathering: Gathering, answer: Answer) -> None:
    meal = _meal_part(gathering)
    if meal is None:
        return
    party = db.session.get(Party, answer.id)
    if party is None or not party.held:
        return
    give_back(meal, party.held)
    party.held = 0


# --- sign-ups closing -------------------------------------------------------------

def set_signups(gathering: Gathering, meal: Meal, open_: bool) -> None:
    """Hosts reopen sign-ups (open until the meal starts) or close them now."""
    meal.closes_at = None if open_ else utcnow()


# --- potluck: needs and dishes ----------------------------------------------------

def _coming(gathering: Gathering, user: User) -> Answer:
    mine = db.session.scalar(select(Answer).where(Answer.gathering_id == gathering.id, Answer.user_id == user.id))
    if mine is None or mine.state != "seated":
        raise MealError(_("Sign up for the meal first: those coming say what they bring."))
    return mine


def bring(gathering_id: int, user: User, *, need_id: int | None, course: str | None, name: str, feeds: int,
          allergens: list | None, diets: list) -> Dish:
    """Say what I bring: for an open need (one place of it, counted like a
    seat), or as an extra of a course.

    :raise MealError: not coming, an unknown course or allergen, that need
        just filled up, the meal over or cancelled.
    """
    gathering = lock_gathering(gathering_id)
    from ..gatherings.seats import check_live
    check_live(gathering)
    _coming(gathering, user)
    allergens, diets = _check_tags(allergens, diets)
    if not 1 <= feeds <= 500:
        raise MealError(_("Between 1 and 500 people."), "feeds")
    need = None
    if need_id is not None:
        need = db.session.get(Need, need_id)
        if need is None or need.gathering_id != gathering.id:
            raise MealError(_("Choose one of the open needs."), "need")
        if not take(need, 1):
            raise MealError(_("Someone has just taken the last place for that. Choose another need."), "need")
        course = need.course
    elif course not in COURSES:
        raise MealError(_("Say which course your dish is."), "course")
    dish = Dish(gathering_id=gathering.id, user_id=user.id, need_id=need.id if need else None, course=course,
                name=name.strip()[:80], feeds=feeds, allergens=allergens, diets=diets)
    db.session.add(dish)
    return dish


def dish_of(gathering: Gathering, dish_id: int, user: User) -> Dish:
    dish = db.session.get(Dish, dish_id)
    if dish is None or dish.gathering_id != gathering.id or dish.user_id != user.id:
        raise MealError(_("There is no such dish of yours."))
    return dish


def change_dish(gathering_id: int, dish_id: int, user: User, *, name: str, feeds: int, allergens: list | None,
                diets: list) -> Dish:
    gathering = lock_gathering(gathering_id)
    dish = dish_of(gathering, dish_id, user)
    dish.allergens, dish.diets = _check_tags(allergens, diets)
    if not 1 <= feeds <= 500:
        raise MealError(_("Between 1 and 500 people."), "feeds")
    dish.name, dish.feeds = name.strip()[:80], feeds
    return dish


def release_dish(gathering_id: int, dish_id: int, user: User) -> None:
    gathering = lock_gathering(gathering_id)
    _release(dish_of(gathering, dish_id, user))


def _release(dish: Dish) -> None:
    if dish.need_id is not None:
        need = lock(Need, dish.need_id)
        if need is not None:
            give_back(need, 1)
    db.session.delete(dish)


def still_needed(gathering_ids: list[int]) -> dict[int, list[tuple[str, str, int]]]:
    """{gathering: [(course, label, how many still needed)]}, for lists: one query."""
    if not gathering_ids:
        return {}
    rows = db.session.execute(select(Need.gathering_id, Need.course, Need.label, Need.needed - Need.taken)
                              .where(Need.gathering_id.in_(gathering_ids), Need.taken < Need.needed)
                              .order_by(Need.gathering_id, Need.id)).all()
    found: dict[int, list] = {}
    for gathering_id, course, label, left in rows:
        found.setdefault(gathering_id, []).append((course, label, left))
    return found


# --- dietary needs ------------------------------------------------------------------

def needs_of(user: User) -> DietaryNeeds | None:
    return db.session.get(DietaryNeeds, user.id)


def save_needs(user: User, avoids: list, diets: list) -> None:
    if any(a not in ALLERGENS for a in avoids):
        raise MealError(_("Choose allergens from the list."), "avoids")
    if any(d not in DIETS for d in diets):
        raise MealError(_("Choose diets from the list."), "diets")
    mine = needs_of(user)
    if not avoids and not diets:
        if mine is not None:
            db.session.delete(mine)
        return
    if mine is None:
        mine = DietaryNeeds(user_id=user.id)
        db.session.add(mine)
    mine.avoids, mine.diets = [a for a in ALLERGENS if a in avoids], [d for d in DIETS if d in diets]


def forget_needs(user: User) -> None:
    db.session.execute(delete(DietaryNeeds).where(DietaryNeeds.user_id == user.id))


def people_coming(gathering_id: int) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(Answer.guests + 1), 0)).where(
        Answer.gathering_id == gathering_id, Answer.state == "seated")) or 0


def need_counts(gathering_id: int, coming: int | None = None) -> dict | None:
    """{"avoids": {allergen: n}, "diets": {diet: n}} among the members coming,
    or None when fewer than FEW people are coming (a count must not point
    at anyone)."""
    coming = people_coming(gathering_id) if coming is None else coming
    if coming < FEW:
        return None
    return tally(coming, db.session.execute(select(DietaryNeeds.avoids, DietaryNeeds.diets).join(
        Answer, Answer.user_id == DietaryNeeds.user_id).where(
        Answer.gathering_id == gathering_id, Answer.state == "seated")).all())


def tally(coming: int, needs: list) -> dict | None:
    """Counts of (avoids, diets) pairs, or None below FEW people coming."""
    if coming < FEW:
        return None
    avoids, diets = Tally(), Tally()
    for a, d in needs:
        avoids.update(a or ())
        diets.update(d or ())
    return {"avoids": {k: avoids[k] for k in ALLERGENS if avoids[k]},
            "diets": {k: diets[k] for k in DIETS if diets[k]}}


def conflicts(dish: Dish, counts: dict | None) -> list[str]:
    """The allergens of a dish that someone coming avoids (only with counts)."""
    if counts is None or dish.allergens is None:
        return []
    return [a for a in dish.allergens if counts["avoids"].get(a)]


def declarations(allergens: list | None, diets: list, mine: DietaryNeeds | None) -> list[tuple[str, str]]:
    """What a dish or menu declares about my needs: [(kind, code)], kind
    "contains", "declares_no", "not_declared" (for allergens), "diet" or
    "no_diet". Never a promise: a declaration is not a guarantee."""
    if mine is None:
        return []
    said = []
    if mine.avoids and allergens is None:
        said.append(("not_declared", ""))
    elif mine.avoids:
        said += [("contains" if a in allergens else "declares_no", a) for a in mine.avoids]
    said += [("diet" if d in diets else "no_diet", d) for d in mine.diets]
    return said


# --- costs -------------------------------------------------------------------------

def add_expense(gathering_id: int, user: User, amount_minor: int, note: str) -> Expense:
    gathering = lock_gathering(gathering_id)
    meal = meal_of(gathering.id)
    if meal is None:
        raise MealError(_("This gathering is not a meal."))
    if meal.finalized_at is not None:
        raise MealError(_("The costs of this meal are final. Ask the hosts to reopen them."))
    mine = db.session.scalar(select(Answer).where(Answer.gathering_id == gathering.id, Answer.user_id == user.id))
    if mine is None or mine.state != "seated":
        raise MealError(_("Only those who came to the meal record what they spent on it."), "amount")
    if not 1 <= amount_minor <= MOST_MINOR:
        raise MealError(_("An amount above zero and at most 100,000."), "amount")
    expense = Expense(gathering_id=gathering.id, user_id=user.id, amount_minor=amount_minor,
                      note=(note or "").strip()[:200])
    db.session.add(expense)
    return expense


def remove_expense(gathering_id: int, expense_id: int, user: User) -> None:
    gathering = lock_gathering(gathering_id)
    meal = meal_of(gathering.id)
    expense = db.session.get(Expense, expense_id)
    if expense is None or expense.gathering_id != gathering.id or expense.user_id != user.id:
        raise MealError(_("There is no such expense of yours."))
    if meal.finalized_at is not None:
        raise MealError(_("The costs of this meal are final. Ask the hosts to reopen them."))
    db.session.delete(expense)


def finalize(gathering_id: int, actor: User) -> list[Share]:
    """Freeze the split: each member coming pays equal per portion eaten
    (their guests' portions included), by largest remainder.

    :raise MealError: sign-ups still open, or already final.
    """
    gathering = lock_gathering(gathering_id)
    meal = meal_of(gathering.id)
    if meal.finalized_at is not None:
        raise MealError(_("The costs of this meal are already final."))
    now = utcnow()
    if meal.signups_open(now) and gathering.starts_at > now:
        raise MealError(_("Close the sign-ups first: the split needs to know who eats."))
    eaters = db.session.execute(select(Answer.user_id, Answer.guests, Party.held).outerjoin(
        Party, Party.answer_id == Answer.id).where(Answer.gathering_id == gathering.id, Answer.state == "seated",
                                                   Answer.user_id.is_not(None)).order_by(Answer.id)).all()
    weights = {user_id: (held if held else 2 * (guests + 1)) for user_id, guests, held in eaters}
    paid = Tally()
    for user_id, amount in db.session.execute(select(Expense.user_id, Expense.amount_minor).where(
            Expense.gathering_id == gathering.id)):
        paid[user_id] += amount
    total = sum(paid.values())
    for user_id in paid:
        weights.setdefault(user_id, 0)
    if total and not any(weights.values()):
        raise MealError(_("Nobody is coming: there is nobody to share the costs with."))
    owed = split_shares(total, weights)
    made = []
    for user_id, halves in weights.items():
        share = Share(gathering_id=gathering.id, user_id=user_id, halves=halves, paid_minor=paid.get(user_id, 0),
                      share_minor=owed[user_id])
        db.session.add(share)
        made.append(share)
    meal.finalized_at, meal.total_minor = now, total
    meal.currency = gathering.circle.currency
    return made


def reopen_costs(gathering_id: int, actor: User) -> None:
    """Unfreeze the split (written in the circle's log: shares people were told change)."""
    gathering = lock_gathering(gathering_id)
    meal = meal_of(gathering.id)
    if meal.finalized_at is None:
        return
    db.session.execute(delete(Share).where(Share.gathering_id == gathering.id))
    meal.finalized_at, meal.total_minor = None, None
    circles.log(gathering.circle, actor, "meal_costs_reopened", gathering=gathering.id, title=gathering.title)


def shares_of(gathering_id: int) -> list[Share]:
    return list(db.session.scalars(select(Share).where(Share.gathering_id == gathering_id)
                                   .options(db.joinedload(Share.user)).order_by(Share.id)))


def expenses_of(gathering_id: int) -> list[Expense]:
    return list(db.session.scalars(select(Expense).where(Expense.gathering_id == gathering_id)
                                   .options(db.joinedload(Expense.user)).order_by(Expense.id)))


# --- leaving -----------------------------------------------------------------------

def _drop_dishes(user: User, circle_id: int | None) -> None:
    query = select(Dish).where(Dish.user_id == user.id)
    if circle_id is not None:
        query = query.join(Gathering, Gathering.id == Dish.gathering_id).where(Gathering.circle_id == circle_id)
    for dish in db.session.scalars(query.order_by(Dish.need_id, Dish.id)).all():
        _release(dish)


def member_left(circle: Circle, user: User) -> None:
    """Their dishes go, giving back their places (seats and portions went with the
    gathering's own handler); frozen shares stay."""
    _drop_dishes(user, circle.id)


def account_deleted(user: User) -> None:
    """Dishes go, dietary needs go; frozen shares stay, as a former member."""
    _drop_dishes(user, None)
    forget_needs(user)
