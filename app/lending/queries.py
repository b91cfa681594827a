"""Reads for the lending pages: each a constant number of statements,
whatever the size of the library."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select

from ..auth.models import User
from ..circles.models import Circle, Membership
from ..extensions import db
from .models import ACTIVE, Keeper, Reservation, Thing, WaitEntry
from .waitlist import live

PAGE = 30
CALENDAR_WEEKS = 5


@dataclass(frozen=True, slots=True)
class ListedThing:
    id: int
    name: str
    category: str
    condition: str
    status: str
    photo_hash: str | None
    free_today: bool


def library(circle: Circle, today: dt.date, category: str | None = None, name: str = "",
            page: int = 1) -> tuple[list[ListedThing], bool]:
    busy = (select(Reservation.id).where(Reservation.thing_id == Thing.id, Reservation.status.in_(ACTIVE),
                                         Reservation.start_date <= today, Reservation.blocked_until >= today)
            .exists())
    query = (select(Thing.id, Thing.name, Thing.category, Thing.condition, Thing.status, Thing.photo_hash, ~busy)
             .where(Thing.circle_id == circle.id, Thing.withdrawn.is_(False), Thing.status != "retired"))
    if category:
        query = query.where(Thing.category == category)
    if name:
        escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Thing.name.ilike(f"%{escaped}%", escape="\\"))
    rows = db.session.execute(query.order_by(Thing.name, Thing.id).offset((page - 1) * PAGE).limit(PAGE + 1)).all()
    return [ListedThing(*row) for row in rows[:PAGE]], len(rows) > PAGE


@dataclass(frozen=True, slots=True)
class Day:
    date: dt.date
    state: str  # past, free, taken, mine


def calendar(thing: Thing, viewer_id: int, today: dt.date, weeks: int = CALENDAR_WEEKS) -> list[list[Day]]:
    """The coming weeks, Monday first: which days are free. Nobody's name:
    a day someone else has is only "not free"."""
    first = today - dt.timedelta(days=today.weekday())
    last = first + dt.timedelta(days=7 * weeks - 1)
    rows = db.session.execute(select(Reservation.start_date, Reservation.blocked_until, Reservation.borrower_id)
                              .where(Reservation.thing_id == thing.id, Reservation.status.in_(ACTIVE),
                                     Reservation.start_date <= last, Reservation.blocked_until >= first)).all()
    state = {}
    for start, until, borrower in rows:
        day = max(start, first)
        while day <= min(until, last):
            state[day] = "mine" if borrower == viewer_id else "taken"
            day += dt.timedelta(days=1)
    days = []
    for n in range(7 * weeks):
        day = first + dt.timedelta(days=n)
        days.append(Day(day, "past" if day < today else state.get(day, "free")))
    return [days[i:i + 7] for i in range(0, len(days), 7)]


def reservations_of_thing(thing: Thing) -> list[Reservation]:
    """Open requests, reservations and loans, for the owner or keepers only."""
    return list(db.session.scalars(select(Reservation).where(
        Reservation.thing_id == thing.id, Reservation.status.in_(("requested", *ACTIVE)))
        .options(db.joinedload(Reservation.borrower)).order_by(Reservation.start_date, Reservation.id)))


def mine_of_thing(thing: Thing, user: User) -> list[Reservation]:
    return list(db.session.scalars(select(Reservation).where(
        Reservation.thing_id == thing.id, Reservation.borrower_id == user.id,
        Reservation.status.in_(("requested", *ACTIVE))).order_by(Reservation.start_date)))


def waitlist_of(thing: Thing) -> list[WaitEntry]:
    return list(db.session.scalars(select(WaitEntry).where(WaitEntry.thing_id == thing.id, live())
                                   .options(db.joinedload(WaitEntry.user))
                                   .order_by(WaitEntry.created_at, WaitEntry.id)))


def handled_thing_ids(user: User):
    """Things the person answers for: their own, and the circle's they keep."""
    keeps = select(Keeper.thing_id).where(Keeper.user_id == user.id)
    return select(Thing.id).where(or_(Thing.owner_id == user.id, Thing.id.in_(keeps)))


def my_lending(user: User) -> tuple[list[Reservation], list[Thing]]:
    """What I lend: requests and loans of my things (requests first), and my things."""
    handled = handled_thing_ids(user)
    reservations = list(db.session.scalars(select(Reservation).where(
        Reservation.thing_id.in_(handled), Reservation.status.in_(("requested", *ACTIVE)))
        .options(db.joinedload(Reservation.thing).joinedload(Thing.circle), db.joinedload(Reservation.borrower))
        .join(Thing, Thing.id == Reservation.thing_id)
        .join(Membership, (Membership.circle_id == Thing.circle_id) & (Membership.user_id == user.id))))
    reservations.sort(key=lambda r: (r.status != "requested", r.start_date, r.id))
    mine = list(db.session.scalars(select(Thing).where(Thing.id.in_(handled), Thing.withdrawn.is_(False))
                                   .options(db.joinedload(Thing.circle))
                                   .join(Membership, (Membership.circle_id == Thing.circle_id)
                                         & (Membership.user_id == user.id))
                                   .order_by(Thing.name)))
    return reservations, mine


def my_borrowing(user: User) -> tuple[list[Reservation], list[WaitEntry]]:
    reservations = list(db.session.scalars(select(Reservation).where(
        Reservation.borrower_id == user.id, Reservation.status.in_(("requested", *ACTIVE)))
        .options(db.joinedload(Reservation.thing).joinedload(Thing.circle))
        .order_by(Reservation.end_date)))
    waits = list(db.session.scalars(select(WaitEntry).where(WaitEntry.user_id == user.id, live())
                                    .options(db.joinedload(WaitEntry.thing).joinedload(Thing.circle))))
    return reservations, waits


def waiting_for_answer(user: User, limit: int = 5) -> list[Reservation]:
    return list(db.session.scalars(select(Reservation).where(
        Reservation.thing_id.in_(handled_thing_ids(user)), Reservation.status == "requested")
        .options(db.joinedload(Reservation.thing).joinedload(Thing.circle)).order_by(Reservation.created_at)
        .limit(limit)))


def handovers_at(gathering_id: int, user: User) -> list[Reservation]:
    """Handovers planned at a gathering that this person is one side of."""
    return list(db.session.scalars(select(Reservation).where(
        Reservation.gathering_id == gathering_id, Reservation.status.in_(("requested", *ACTIVE)),
        or_(Reservation.borrower_id == user.id, Reservation.thing_id.in_(handled_thing_ids(user))))
        .options(db.joinedload(Reservation.thing), db.joinedload(Reservation.borrower))))
