"""Demo meals for ``flask seed-demo``: a potluck with open needs, a cooked
meal with parties and allergens, and a finalized meal with its costs split.

``plan_meals`` makes the three meals right after Elm Street's gatherings (so
their ids are the ones bench/pages.py measures); ``fill_meals`` runs once the
circle has grown with the scale: its extra neighbours sign up, bring dishes
and pay, so the budget tests' "as many queries at ten times the data" covers
the meal pages too. Then the past meal's costs are split.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..auth.models import User
from ..circles.models import Circle
from ..extensions import db
from ..gatherings import seats
from ..gatherings.models import Answer, Gathering
from . import domain
from .models import DietaryNeeds, Expense, Party


def _at(days: int, hour: int, minute: int = 0) -> dt.datetime:
    today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date()
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute))


def plan_meals(circle: Circle, residents: list[User], scale: int = 1) -> dict[str, int]:
    """The three meals, with the residents' parties and dishes; returns their
    gathering ids by name, for ``fill_meals``."""
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
        starts_local=_at(-5, 19), ends_local=_at(-5, 21), allow_past=True, portions=10 * scale, max_guests=3,
        menu="Lentil soup and bread.", allergens=["gluten", "celery"], diets=["vegan"])
    # Past: the answers are written as they stood, with their portions held.
    for person, adults, children in ((others[0], 2, 1), (others[1], 1, 0), (others[2], 1, 2)):
        _came(done, person, adults, children)
    db.session.add_all([Expense(gathering_id=done.id, user_id=host.id, amount_minor=3100, note="lentils, vegetables"),
                        Expense(gathering_id=done.id, user_id=others[1].id, amount_minor=1250, note="bread")])
    db.session.flush()
    return {"potluck": potluck.id, "cooked": cooked.id, "done": done.id, "host": host.id}


def _came(done, person: User, adults: int, children: int) -> None:
    answer = Answer(gathering_id=done.id, user_id=person.id, response="going", state="seated",
                    guests=adults + children - 1, attended=True)
    db.session.add(answer)
    db.session.flush()
    db.session.add(Party(answer_id=answer.id, adults=adults, children=children, held=2 * adults + children))
    done.seats_taken += adults + children
    domain.meal_of(done.id).halves_taken += 2 * adults + children


# What the extra neighbours bring to the potluck, in turn: (course, name, feeds, allergens, diets).
EXTRA_DISHES = [("side", "Potato salad", 8, ["eggs", "mustard"], ["vegetarian"]),
                ("dessert", "Apple cake", 12, ["gluten", "eggs", "milk"], ["vegetarian"]),
                ("drink", "Elderflower lemonade", 10, [], ["vegan"]),
                ("main", "Chickpea curry", 8, [], ["vegan", "gluten_free"]),
                ("side", "Flatbread", 10, ["gluten", "sesame"], ["vegan"])]


def fill_meals(meals: dict[str, int], extra: list[User]) -> None:
    """The neighbours a larger demo adds (none at scale 1) come to the meals:
    every one to the potluck (a party with a child for every other; seats run
    out and the rest wait), every other one brings a dish, every third signs
    up for the cooked meal, and every one came to the past meal, every fifth
    having paid something. Every fourth has recorded dietary needs. Then the
    past meal's costs are split."""
    host = db.session.get(User, meals["host"])
    done = db.session.get(Gathering, meals["done"])
    for i, person in enumerate(extra):
        if i % 4 == 0:
            db.session.add(DietaryNeeds(user_id=person.id, avoids=["gluten"] if i % 8 == 0 else ["nuts", "sesame"],
                                        diets=["vegetarian"] if i % 8 == 4 else []))
        answer = seats.answer(meals["potluck"], person, "going", i % 2,
                              details={"adults": 1, "children": i % 2})
        if i % 2 == 0 and answer.state == "seated":
            course, name, feeds, allergens, diets = EXTRA_DISHES[(i // 2) % len(EXTRA_DISHES)]
            domain.bring(meals["potluck"], person, need_id=None, course=course, name=name, feeds=feeds,
                         allergens=allergens, diets=diets)
        if i % 3 == 0:
            seats.answer(meals["cooked"], person, "going", 0, details={"adults": 1, "children": 0})
        _came(done, person, 1, int(i % 3 == 1))
        if i % 5 == 0:
            db.session.add(Expense(gathering_id=done.id, user_id=person.id, amount_minor=450 + 35 * i,
                                   note="wine" if i % 2 else "vegetables from the market"))
    db.session.flush()
    domain.finalize(done.id, host)
