"""What gathering pages and lists read. The lists members open most are
built once, at import, with bound values: building a statement costs
SQLAlchemy more than running it (docs/performance.md). Each list has one
named result type (models.py), rendered by its macro."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import bindparam, func, select, union

from ..auth.models import User
from ..circles.models import Circle, Membership
from ..database import utcnow
from ..extensions import db
from .models import (Answer, Cohost, Gathering, ListedGathering, NextGathering, PastGathering, Slot,
                     SlotTaker)
from .series import rules_in_words as series_rules

PAGE_SIZE = 20

# With the viewer's own answer (or None) beside each gathering, in the same statement.
_UPCOMING = (select(*(getattr(Gathering, c) for c in ListedGathering.COLUMNS), Answer.state)
             .outerjoin(Answer, (Answer.gathering_id == Gathering.id) & (Answer.user_id == bindparam("user_id")))
             .where(Gathering.circle_id == bindparam("circle_id"), Gathering.ends_at > bindparam("now"))
             .order_by(Gathering.starts_at, Gathering.id).offset(bindparam("offset")).limit(bindparam("limit")))


def upcoming(circle: Circle, viewer: User, page: int = 1,
             size: int = PAGE_SIZE) -> tuple[list[ListedGathering], dict[int, str], bool]:
    """What is next in a circle, in time order, never ranked: (items, how the
    viewer answered each, by id; has_more)."""
    rows = db.session.execute(_UPCOMING, {"circle_id": circle.id, "user_id": viewer.id, "now": utcnow(),
                                          "offset": (page - 1) * size, "limit": size + 1}).all()
    items = [ListedGathering(*row[:-1]) for row in rows[:size]]
    return items, {row[0]: row[-1] for row in rows[:size] if row[-1]}, len(rows) > size


def at_a_glance(items: list[ListedGathering]) -> tuple[list[ListedGathering], dict[int, str]]:
    """A list that shows a series once, at its next date that is not called
    off (a date called off stays: that is news), with its rule in words:
    (items, rule by the id of the gathering that stands for its series)."""
    shown, standing = [], {}
    for item in items:
        if item.series_id is not None and not item.is_cancelled:
            if item.series_id in standing:
                continue
            standing[item.series_id] = item.id
        shown.append(item)
    rules = series_rules(set(standing))
    return shown, {standing[series_id]: words for series_id, words in rules.items()}


_PAST = (select(*(getattr(Gathering, c) for c in PastGathering.COLUMNS))
         .where(Gathering.circle_id == bindparam("circle_id"), Gathering.ends_at <= bindparam("now"),
                Gathering.status != "cancelled")
         .order_by(Gathering.starts_at.desc(), Gathering.id.desc())
         .offset(bindparam("offset")).limit(bindparam("limit")))
def past(circle: Circle, page: int = 1, size: int = PAGE_SIZE) -> tuple[list[PastGathering], bool]:
    """What the circle did, newest first: (items, has_more). Who came is on each
    gathering's own page, never in a list (there it reads as a score)."""
    rows = db.session.execute(_PAST, {"circle_id": circle.id, "now": utcnow(), "offset": (page - 1) * size,
                                      "limit": size + 1}).all()
    return [PastGathering(*row) for row in rows[:size]], len(rows) > size


def going_to(user_id, states=("seated", "waiting", "asking")):
    """The ids of the gatherings a person is going to: with a seat or a place in
    line (``states``), or a helper slot they took."""
    return union(select(Answer.gathering_id).where(Answer.user_id == user_id, Answer.state.in_(states)),
                 select(Slot.gathering_id).join(SlotTaker, SlotTaker.slot_id == Slot.id)
                 .where(SlotTaker.user_id == user_id))


_ITEM_COLUMNS = (*(getattr(Gathering, c) for c in NextGathering.COLUMNS), Circle.slug, Circle.name)
_MY_NEXT = (select(*_ITEM_COLUMNS)
            .join(Circle, Circle.id == Gathering.circle_id)
            .join(Membership, (Membership.circle_id == Gathering.circle_id)
                  & (Membership.user_id == bindparam("user_id")))
            .where(Gathering.id.in_(going_to(bindparam("user_id"))), Gathering.ends_at > bindparam("now"))
            .order_by(Gathering.starts_at).limit(bindparam("limit")))


def my_next(user: User, limit: int = 10) -> list[NextGathering]:
    """My next gatherings across my circles: those I have a seat or a waitlist place for."""
    return [NextGathering(*row) for row in
            db.session.execute(_MY_NEXT, {"user_id": user.id, "now": utcnow(), "limit": limit})]


_SOONEST = (select(Gathering.circle_id, func.min(Gathering.starts_at).label("starts_at"))
            .where(Gathering.circle_id.in_(bindparam("ids", expanding=True)), Gathering.starts_at > bindparam("now"),
                   Gathering.status != "cancelled").group_by(Gathering.circle_id).subquery())
_NEXT_IN_CIRCLES = (select(*_ITEM_COLUMNS).join(Circle, Circle.id == Gathering.circle_id)
                    .join(_SOONEST, (Gathering.circle_id == _SOONEST.c.circle_id)
                          & (Gathering.starts_at == _SOONEST.c.starts_at)))


def next_pages(user: User) -> list[str]:
    """The pages of my next gatherings, for the device that keeps them offline."""
    return [url_for("gatherings.detail", slug=g.circle_slug, gathering_id=g.id) for g in my_next(user)]


def next_in_circles(circle_ids: list[int]) -> dict[int, NextGathering]:
    """The next gathering of each circle (one query), by circle id."""
    if not circle_ids:
        return {}
    rows = db.session.execute(_NEXT_IN_CIRCLES, {"ids": circle_ids, "now": utcnow()})
    return {row.circle_id: row for row in (NextGathering(*r) for r in rows)}


# --- one gathering ------------------------------------------------------------------

def answers_of(gathering: Gathering) -> list[Answer]:
    return list(db.session.scalars(select(Answer).where(Answer.gathering_id == gathering.id)
                                   .options(db.joinedload(Answer.user)).order_by(Answer.created_at, Answer.id)))


def my_answer(gathering: Gathering, user: User) -> Answer | None:
    return db.session.scalar(select(Answer).where(Answer.gathering_id == gathering.id, Answer.user_id == user.id))


def cohosts(gathering: Gathering) -> list[User]:
    return list(db.session.scalars(select(User).join(Cohost, Cohost.user_id == User.id)
                                   .where(Cohost.gathering_id == gathering.id).order_by(User.display_name)))


def slots_of(gathering: Gathering) -> list[tuple[Slot, list[User]]]:
    slots = list(db.session.scalars(select(Slot).where(Slot.gathering_id == gathering.id).order_by(Slot.id)))
    takers: dict[int, list[User]] = {slot.id: [] for slot in slots}
    if slots:
        for taker in db.session.scalars(select(SlotTaker).where(SlotTaker.slot_id.in_(takers))
                                        .options(db.joinedload(SlotTaker.user))):
            takers[taker.slot_id].append(taker.user)
    return [(slot, takers[slot.id]) for slot in slots]
