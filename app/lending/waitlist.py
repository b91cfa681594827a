"""The waitlist: people who want dates that are taken. When the thing frees,
the first in line is offered it for OFFER_HOURS; an offer past its time counts
as expired as soon as it is read (a GET never writes), and ``flask lending
expire`` records that and offers the thing to the next."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select

from ..auth.models import User
from ..database import utcnow
from ..extensions import db
from ..i18n import _
from .errors import LendingError
from .models import Thing, WaitEntry
from .things import lock_after_thing

OFFER_HOURS = 48


def live(now: dt.datetime | None = None):
    """The condition for places that still count: waiting, or an offer not yet run out."""
    now = now or utcnow()
    return or_(WaitEntry.status == "waiting", (WaitEntry.status == "offered") & (WaitEntry.offer_until > now))


def line(thing: Thing, now: dt.datetime | None = None) -> list[WaitEntry]:
    return list(db.session.scalars(select(WaitEntry).where(WaitEntry.thing_id == thing.id, live(now))
                                   .order_by(WaitEntry.created_at, WaitEntry.id)))


def someone_waits(thing: Thing) -> bool:
    return db.session.scalar(select(WaitEntry.id).where(WaitEntry.thing_id == thing.id, live()).limit(1)) is not None


def join(thing: Thing, user: User, start: dt.date, end: dt.date) -> WaitEntry:
    mine = db.session.scalar(select(WaitEntry).where(WaitEntry.thing_id == thing.id, WaitEntry.user_id == user.id,
                                                     live()))
    if mine is not None:
        raise LendingError(_("You are already on the waitlist for this thing."))
    entry = WaitEntry(thing_id=thing.id, user_id=user.id, start_date=start, end_date=end)
    db.session.add(entry)
    return entry


def leave(entry_id: int, user: User) -> None:
    entry = lock_after_thing(WaitEntry, entry_id)
    if entry is None or entry.user_id != user.id:
        raise LendingError(_("That place on the waitlist is not yours."))
    was_offered = entry.status == "offered"
    entry.status = "gone"
    if was_offered:
        db.session.flush()
        offer_next(db.session.get(Thing, entry.thing_id))


def offer_next(thing: Thing, now: dt.datetime | None = None) -> WaitEntry | None:
    """Offer the thing to the first in line whose dates are free now, unless
    an offer is open already."""
    from .loans import overlapping

    now = now or utcnow()
    expire_offers(thing.id, now)
    entries = line(thing, now)
    if not entries or any(e.status == "offered" for e in entries):
        return None
    free = [e for e in entries
            if not overlapping(thing.id, e.start_date, e.end_date + dt.timedelta(days=thing.buffer_days))]
    if not free:
        return None
    first = free[0]
    first.status, first.offer_until = "offered", now + dt.timedelta(hours=OFFER_HOURS)
    from .loans import tell  # loans imports this module
    tell(first.user, thing, lambda: _("%(thing)s is free for you", thing=thing.name), "offer",
         f"entry {first.id} {first.offer_until}", entry=first)
    return first


def expire_offers(thing_id: int | None = None, now: dt.datetime | None = None) -> list[int]:
    """Record offers past their time as expired; the things they were for."""
    now = now or utcnow()
    query = select(WaitEntry).where(WaitEntry.status == "offered", WaitEntry.offer_until <= now)
    if thing_id is not None:
        query = query.where(WaitEntry.thing_id == thing_id)
    expired = list(db.session.scalars(query))
    for entry in expired:
        entry.status = "expired"
    db.session.flush()
    return sorted({e.thing_id for e in expired})


def take_offer(entry_id: int, user: User):
    """Take an open offer: a request for the dates asked, through the usual rule."""
    from . import loans

    entry = lock_after_thing(WaitEntry, entry_id)
    if entry is None or entry.user_id != user.id:
        raise LendingError(_("That place on the waitlist is not yours."))
    if entry.status != "offered" or entry.offer_until <= utcnow():
        raise LendingError(_("This offer is no longer open."))
    thing = db.session.get(Thing, entry.thing_id)
    entry.status = "taken"
    return loans.request(thing, user, entry.start_date, entry.end_date)
