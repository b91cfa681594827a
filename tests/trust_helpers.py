"""Helpers for tests of trust: a circle whose members joined some days ago
(eligibility is 7 days), straight in the database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.auth.models import User
from app.circles.models import Circle, LogEntry, Membership
from app.database import utcnow, write_unit
from app.extensions import db
from app.trust import stewardship
from app.trust.models import Vouch

from .circles_helpers import make_circle
from .helpers import make_user


def circle_with(app, *people: tuple[str, float], slug: str = "elm-street") -> dict:
    """A circle "Elm Street" founded by the first person; each (name, days
    ago they joined). Returns {"circle": id, "slug": ..., name: user id}."""
    with app.app_context():
        users = [make_user(f"{name.lower()}@example.org", name) for name, _days in people]
        circle = make_circle(users[0], slug=slug, name=slug.replace("-", " ").title())
        for user, (_name, days) in zip(users, people):
            membership = db.session.scalar(select(Membership).where(Membership.circle_id == circle.id,
                                                                    Membership.user_id == user.id))
            if membership is None:
                membership = Membership(circle_id=circle.id, user_id=user.id)
                db.session.add(membership)
            membership.joined_at = utcnow() - dt.timedelta(days=days)
        db.session.commit()
        return {"circle": circle.id, "slug": circle.slug} | {u.display_name: u.id for u in users}


def person(ids, name: str) -> User:
    return db.session.get(User, ids[name])


def circle_of(ids) -> Circle:
    return db.session.get(Circle, ids["circle"])


def vouch(app, ids, who: str, for_whom: str) -> list[str]:
    with app.app_context(), write_unit():
        return stewardship.vouch(circle_of(ids), person(ids, who), ids[for_whom])


def withdraw(app, ids, who: str, for_whom: str) -> list[str]:
    with app.app_context(), write_unit():
        return stewardship.withdraw(circle_of(ids), person(ids, who), ids[for_whom])


def stewards(app, ids) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(User.display_name).join(Membership, Membership.user_id == User.id)
                                      .where(Membership.circle_id == ids["circle"], Membership.role == "steward")))


def log_actions(app, ids) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(LogEntry.action).where(LogEntry.circle_id == ids["circle"])
                                       .order_by(LogEntry.id)))


def vouch_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Vouch))
