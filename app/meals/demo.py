"""Demo meals for ``flask seed-demo``: a potluck with open needs, a cooked
meal with parties and allergens, and a finalized meal with its costs split."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..auth.models import User
from ..circles.models import Circle
from ..extensions import db
from ..gatherings import seats
from ..gatherings.models import Answer
from . import domain
from .models import DietaryNeeds, Expense, Party


def _at(days: int, hour: int, minute: int = 0) -> dt.datetime:
    today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date()
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute))


def plan_meals(circle: Circle, residents: list[User]) -> None:
    host, *others = residents
    # Dietary needs, recorded by their owners (nobody else ever sees them).
    db.session.add(DietaryNeeds(user_id=others[0].id, avoids=["nuts"], diets=["vegetarian"]))
    db.session.add(DietaryNeeds(user_id=others[1].id, avoids=["gluten", "milk"], diets=[]))

    potluck = domain.create_meal(
        circle, others[0], style="potluck", title="Courtyard potluck", place="Elm Street 12, courtyard",
        starts_local=_at(4, 18), ends_local=_at(4, 21), capacity=30, portions=30, max_guests=3,
        description="Long tables in the courtyard. Bring a dish and a plate.",
        needs=[("main", "", 2), ("side", "", 3), ("dessert", "", 2), ("drink", "", 2), ("other", "Bread", 1)])
    for person in [host, *others[1:]]:
        seats.answer(potluck.id, person, "going", 1, details={"adults": 1, "children": 1})
    needs = domain.still_needed([potluck.id])[potluck.id]
    main = db.session.scalar(select(domain.Need.id).where(domain.Need.gathering_id == potluck.id,
                                                          domain.Need.course == "main"))
    domain.bring(potluck.id, host, need_id=main, course=None, name="Pumpkin soup", feeds=10,
                 allergens=["celery", "milk"], diets=["vegetarian"])
    domain.bring(potluck.id, others[0], need_id=None, course="side", name="Green salad", feeds=8,
                 allergens=[], diets=["vegan"])
    assert needs

    cooked = domain.create_meal(
        circle, host, style="cooked", title="Sunday lunch", place="Elm Street 3, ground floor",
        starts_local=_at(6, 13), ends_local=_at(6, 15), capacity=16, portions=14, max_guests=4,
        menu="**Lasagne** (one with spinach, one with beef), salad, tiramisu.",
        allergens=["gluten", "eggs", "milk", "celery"], diets=[])
    seats.answer(cooked.id, others[0], "going", 2, details={"adults": 2, "children": 1})
    seats.answer(cooked.id, others[1], "going", 1, details={"adults": 1, "children": 1})
    seats.answer(cooked.id, others[2], "going", 0, details={"adults": 1, "children": 0})

    done = domain.create_meal(
        circle, host, style="cooked", title="Soup night", place="Elm Street 3, ground floor",
        starts_local=_at(-5, 19), ends_local=_at(-5, 21), allow_past=True, portions=10, max_guests=3,
        menu="Lentil soup and bread.", allergens=["gluten", "celery"], diets=["vegan"])
    # Past: the answers are written as they stood, with their portions held.
    for person, adults, children in ((others[0], 2, 1), (others[1], 1, 0), (others[2], 1, 2)):
        answer = Answer(gathering_id=done.id, user_id=person.id, response="going", state="seated",
                        guests=adults + children - 1, attended=True)
        db.session.add(answer)
        db.session.flush()
        db.session.add(Party(answer_id=answer.id, adults=adults, children=children, held=2 * adults + children))
        done.seats_taken += adults + children
        meal = domain.meal_of(done.id)
        meal.halves_taken += 2 * adults + children
    db.session.add_all([Expense(gathering_id=done.id, user_id=host.id, amount_minor=3100, note="lentils, vegetables"),
                        Expense(gathering_id=done.id, user_id=others[1].id, amount_minor=1250, note="bread")])
    db.session.flush()
    domain.finalize(done.id, host)
