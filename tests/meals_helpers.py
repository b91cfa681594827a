"""Helpers for tests of shared meals: Elm Street with a meal, parties, dishes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.auth.models import User
from app.circles.models import Circle
from app.database import write_unit
from app.extensions import db
from app.meals import domain
from app.meals.models import Meal, Need

from .circles_helpers import add_member, make_circle
from .gatherings_helpers import NEIGHBOURS, days_ahead, email, signed_in
from .helpers import make_user, post

__all__ = ["NEIGHBOURS", "elm_meal", "meal_row", "sign_up", "signed_in", "bring", "needs", "set_needs_of",
           "add_people"]


def elm_meal(app, style: str = "potluck", people=NEIGHBOURS, starts: dt.datetime | None = None,
             needs_=(("main", "", 2), ("dessert", "", 1)), **fields) -> dict:
    """Elm Street (Ada the steward, the others members) and a meal Ada hosts.
    Returns {"slug", "circle", "gathering", "path", "meal_path", <Name>: user id}."""
    with app.app_context():
        users = {n: make_user(email(n), n) for n in people}
        circle = make_circle(users["Ada"], "elm-street", "Elm Street")
        for n in people:
            if n != "Ada":
                add_member(circle, users[n])
        starts = starts or days_ahead()
        with write_unit():
            gathering = domain.create_meal(
                db.session.get(Circle, circle.id), db.session.get(User, users["Ada"].id), style=style,
                title="Friday supper", starts_local=starts, ends_local=starts + dt.timedelta(hours=2),
                needs=list(needs_), **fields)
            gathering_id = gathering.id
        ids = {n: u.id for n, u in users.items()}
        return ids | {"slug": "elm-street", "circle": circle.id, "gathering": gathering_id,
                      "path": f"/c/elm-street/gatherings/{gathering_id}",
                      "meal_path": f"/c/elm-street/meals/{gathering_id}"}


def add_people(app, ids, names):
    with app.app_context():
        circle = db.session.get(Circle, ids["circle"])
        for n in names:
            user = make_user(email(n), n)
            add_member(circle, user)
            ids[n] = user.id


def meal_row(app, gathering_id: int) -> Meal:
    with app.app_context():
        meal = db.session.scalar(select(Meal).where(Meal.gathering_id == gathering_id))
        db.session.expunge(meal)
        return meal


def needs(app, gathering_id: int) -> list[tuple[str, int, int]]:
    with app.app_context():
        return [(n.course, n.needed, n.taken) for n in db.session.scalars(
            select(Need).where(Need.gathering_id == gathering_id).order_by(Need.id))]


def sign_up(client, ids, adults: int = 1, children: int = 0, **kwargs):
    return post(client, ids["meal_path"] + "/party", {"adults": adults, "children": children}, **kwargs)


def bring(client, ids, name="Lentil stew", need: str | int = "", course="", feeds=6, allergens=(), none=False,
          diets=(), **kwargs):
    data = {"need": str(need), "course": course, "name": name, "feeds": str(feeds),
            "allergens": list(allergens), "diets": list(diets)}
    if none:
        data["no_allergens"] = "y"
    return post(client, ids["meal_path"] + "/dishes", data, **kwargs)


def set_needs_of(client, avoids=(), diets=()):
    return post(client, "/account/dietary", {"avoids": list(avoids), "diets": list(diets)})
