"""Requests, reservations and loans: the overlap rule lives here.

Every way a reservation comes to block dates (accepting a request, a request
accepted at once, taking a waitlist offer, extending a loan) ends in
``block``: it checks that no other active reservation of the thing blocks a
common day and writes the range. On SQLite the caller's write unit began
IMMEDIATE, so no other writer can slip in between the check and the write;
on PostgreSQL the exclusion constraint ``ex_reservations_no_overlap`` refuses
the loser of a race, inside a savepoint, and the person reads the same
message. Domain functions never commit.
"""

from __future__ import annotations

import datetime as dt

from flask import url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..auth.models import User
from ..database import utcnow
from ..extensions import db
from ..i18n import _
from ..links import external_url
from ..templating import day_words
from ..notify import notify
from . import things, waitlist
from .errors import LendingError
from .models import ACTIVE, OVERLAP_CONSTRAINT, Reservation, Thing

MAX_AHEAD_DAYS = 365  # how far ahead a request may reach


def overlapping(thing_id: int, start: dt.date, blocked_until: dt.date, except_id: int | None = None):
    """The active reservations that block a day of start..blocked_until."""
    query = select(Reservation).where(Reservation.thing_id == thing_id, Reservation.status.in_(ACTIVE),
                                      Reservation.start_date <= blocked_until, Reservation.blocked_until >= start)
    if except_id is not None:
        query = query.where(Reservation.id != except_id)
    return list(db.session.scalars(query))


def blocked_ranges(thing_id: int, start: dt.date, end: dt.date, except_id: int | None = None):
    """(first, last) day of every active reservation that blocks a day in start..end, sorted."""
    rows = db.session.execute(select(Reservation.start_date, Reservation.blocked_until).where(
        Reservation.thing_id == thing_id, Reservation.status.in_(ACTIVE), Reservation.start_date <= end,
        Reservation.blocked_until >= start, *([Reservation.id != except_id] if except_id else []))
        .order_by(Reservation.start_date)).all()
    return [(r[0], r[1]) for r in rows]


def next_free(thing: Thing, start: dt.date, days: int, buffer: int, except_id: int | None = None) -> dt.date | None:
    """The first day from ``start`` on where ``days`` days plus the buffer are
    free, within the year ahead; None if there is none."""
    horizon = start + dt.timedelta(days=MAX_AHEAD_DAYS)
    candidate = start
    for first, last in blocked_ranges(thing.id, start, horizon, except_id):
        need_until = candidate + dt.timedelta(days=days - 1 + buffer)
        if first > need_until:
            break
        # A reservation's own buffer follows it; ours must end before its first day.
        candidate = max(candidate, last + dt.timedelta(days=1))
    return candidate if candidate <= horizon else None


def _taken_message(thing: Thing, start: dt.date, end: dt.date, except_id: int | None = None) -> str:
    days = (end - start).days + 1
    free = next_free(thing, start, days, thing.buffer_days, except_id)
    if free is None:
        return _("Those dates are not free.")
    return _("Those dates are not free. The next free dates: %(start)s to %(end)s.",
             start=day_words(free), end=day_words(free + dt.timedelta(days=days - 1)))


def block(reservation: Reservation, thing: Thing, start: dt.date, end: dt.date, buffer: int,
          status: str | None = None) -> None:
    """Make ``reservation`` block start..end plus the buffer, if no other
    active reservation blocks any of those days.

    :raise LendingError: the dates are taken (the next free ones are suggested).
    """
    blocked_until = end + dt.timedelta(days=buffer)
    if overlapping(thing.id, start, blocked_until, except_id=reservation.id):
        raise LendingError(_taken_message(thing, start, end, reservation.id), "start_date")
    try:
        with db.session.begin_nested():
            reservation.start_date, reservation.end_date, reservation.blocked_until = start, end, blocked_until
            if status is not None:
                reservation.status = status
            db.session.flush()
    except IntegrityError as error:
        # PostgreSQL's exclusion constraint: another writer took the dates
        # between our check and our write.
        if OVERLAP_CONSTRAINT not in str(error.orig):
            raise
        db.session.expire(reservation)
        raise LendingError(_taken_message(thing, start, end, reservation.id), "start_date") from None


def check_dates(thing: Thing, start: dt.date | None, end: dt.date | None, today: dt.date) -> None:
    """:raise LendingError: beside the field that is wrong."""
    if start is None:
        raise LendingError(_("Choose the first day."), "start_date")
    if end is None:
        raise LendingError(_("Choose the last day."), "end_date")
    if end < start:
        raise LendingError(_("The last day comes before the first."), "end_date")
    if start < today:
        raise LendingError(_("That day has passed. Choose one from today on."), "start_date")
    if start > today + dt.timedelta(days=MAX_AHEAD_DAYS):
        raise LendingError(_("That is more than a year ahead."), "start_date")
    if (end - start).days + 1 > thing.max_loan_days:
        raise LendingError(_("The longest loan of this thing is %(days)s days.", days=thing.max_loan_days),
                           "end_date")


def lock_reservation(reservation_id: int) -> Reservation:
    """The reservation, locked after its thing's row.

    Every writer of a thing's reservations takes the thing's row first (a new
    request in ``request``, a waitlist offer taken in ``waitlist.take_offer``),
    so they queue on that one row. Without it, on PostgreSQL, two writers whose
    dates meet each wait in the exclusion constraint for the other to end: a
    deadlock, which one of them gets as an error (seen in 50 requests at once)."""
    reservation = things.lock_after_thing(Reservation, reservation_id)
    if reservation is None:
        raise LendingError(_("There is no such request."))
    return reservation


def request(thing: Thing, borrower: User, start: dt.date | None, end: dt.date | None, message: str = "",
            gathering_id: int | None = None, today: dt.date | None = None) -> Reservation:
    """Ask for the thing for these dates. Where the owner accepts free dates at
    once, it is a reservation straight away, through the same rule."""
    thing = things.lock_for(thing.id)  # first, as every writer of its reservations (lock_reservation)
    today = today or things.today_in(thing.circle)
    reason = things.blocked_reason(thing)
    if reason:
        raise LendingError(reason, "start_date")
    if things.can_handle(thing, borrower):
        raise LendingError(_("This is yours to lend: there is nothing to ask."))
    check_dates(thing, start, end, today)
    if overlapping(thing.id, start, end + dt.timedelta(days=thing.buffer_days)):
        raise LendingError(_taken_message(thing, start, end), "start_date")
    reservation = Reservation(thing_id=thing.id, borrower_id=borrower.id, status="requested", start_date=start,
                              end_date=end, blocked_until=end + dt.timedelta(days=thing.buffer_days),
                              message=message, gathering_id=gathering_id)
    db.session.add(reservation)
    db.session.flush()
    if thing.auto_accept:
        block(reservation, thing, start, end, thing.buffer_days, status="accepted")
        reservation.decided_at = utcnow()
        tell_handlers(thing, lambda: _("%(name)s borrows %(thing)s", name=borrower.shown_name, thing=thing.name),
                      "accepted_at_once", reservation=reservation, borrower=borrower, actor=borrower)
    else:
        tell_handlers(thing, lambda: _("%(name)s asks to borrow %(thing)s", name=borrower.shown_name, thing=thing.name),
                      "requested", reservation=reservation, borrower=borrower, actor=borrower)
    return reservation


def _handled(reservation_id: int, actor: User) -> tuple[Reservation, Thing]:
    reservation = lock_reservation(reservation_id)
    thing = db.session.get(Thing, reservation.thing_id)
    things.require_handler(thing, actor)
    return reservation, thing


def accept(reservation_id: int, actor: User, note: str = "") -> Reservation:
    reservation, thing = _handled(reservation_id, actor)
    if reservation.status != "requested":
        raise LendingError(_("This request has already been answered."))
    reason = things.blocked_reason(thing)
    if reason:
        raise LendingError(reason)
    # The buffer as it is now, at acceptance, is what the reservation keeps.
    block(reservation, thing, reservation.start_date, reservation.end_date, thing.buffer_days, status="accepted")
    reservation.answer_note, reservation.decided_at = note, utcnow()
    tell_borrower(reservation, thing, lambda: _("Yes: %(thing)s", thing=thing.name), "accepted")
    return reservation


def decline(reservation_id: int, actor: User, note: str = "") -> Reservation:
    reservation, thing = _handled(reservation_id, actor)
    if reservation.status != "requested":
        raise LendingError(_("This request has already been answered."))
    reservation.status, reservation.answer_note, reservation.decided_at = "declined", note, utcnow()
    tell_borrower(reservation, thing, lambda: _("Not this time: %(thing)s", thing=thing.name), "declined")
    return reservation


def cancel(reservation_id: int, actor: User, note: str = "") -> Reservation:
    """The borrower withdraws, or the owner cancels a reservation (an overdue
    loan before it, a repair). The dates free up for the waitlist."""
    reservation = lock_reservation(reservation_id)
    thing = db.session.get(Thing, reservation.thing_id)
    by_handler = things.can_handle(thing, actor)
    if not by_handler and reservation.borrower_id != actor.id:
        raise LendingError(_("Only the borrower or the thing's owner can do this."))
    if reservation.status not in ("requested", "accepted"):
        raise LendingError(_("Only a request or a reservation not yet picked up can be cancelled."))
    was_active = reservation.active
    reservation.status, reservation.decided_at = "cancelled", utcnow()
    if note:
        reservation.answer_note = note
    if by_handler and reservation.borrower_id != actor.id:
        tell_borrower(reservation, thing, lambda: _("Cancelled: %(thing)s", thing=thing.name), "cancelled")
    if was_active:
        db.session.flush()
        waitlist.offer_next(thing)
    return reservation


def pick_up(reservation_id: int, actor: User, note: str = "", today: dt.date | None = None) -> Reservation:
    """The handover: marked by either side, with a note on the condition."""
    reservation = lock_reservation(reservation_id)
    thing = db.session.get(Thing, reservation.thing_id)
    if not things.can_handle(thing, actor) and reservation.borrower_id != actor.id:
        raise LendingError(_("Only the borrower or the thing's owner can do this."))
    if reservation.status != "accepted":
        raise LendingError(_("Only an accepted reservation can be picked up."))
    today = today or things.today_in(thing.circle)
    if today < reservation.start_date:
        raise LendingError(_("The loan begins on %(day)s.", day=day_words(reservation.start_date)), "note")
    reservation.status, reservation.picked_up_at, reservation.pickup_note = "out", utcnow(), note
    return reservation


def confirm_return(reservation_id: int, actor: User, note: str = "") -> Reservation:
    """Each side confirms the return; once both have, the loan is over."""
    reservation = lock_reservation(reservation_id)
    thing = db.session.get(Thing, reservation.thing_id)
    is_handler = things.can_handle(thing, actor)
    if not is_handler and reservation.borrower_id != actor.id:
        raise LendingError(_("Only the borrower or the thing's owner can do this."))
    if reservation.status != "out":
        raise LendingError(_("Only a thing that is out can come back."))
    now = utcnow()
    if is_handler:
        reservation.returned_by_owner_at = reservation.returned_by_owner_at or now
    if reservation.borrower_id == actor.id or (is_handler and not _borrower_in_circle(reservation, thing)):
        # A borrower who has left the circle (or deleted their account) can
        # no longer reach the thing's page: the owner's word ends the loan.
        reservation.returned_by_borrower_at = reservation.returned_by_borrower_at or now
    if note:
        reservation.return_note = (reservation.return_note + "\n" + note).strip()[:500]
    if reservation.returned_by_owner_at and reservation.returned_by_borrower_at:
        reservation.status = "returned"
        db.session.flush()
        waitlist.offer_next(thing)
    return reservation


def _borrower_in_circle(reservation: Reservation, thing: Thing) -> bool:
    from ..circles.domain import membership_of

    return reservation.borrower is not None and membership_of(thing.circle_id, reservation.borrower) is not None


def extend(reservation_id: int, actor: User, new_end: dt.date | None) -> Reservation:
    """A longer loan, while nobody waits for the thing, through the overlap rule."""
    reservation = lock_reservation(reservation_id)
    thing = db.session.get(Thing, reservation.thing_id)
    if not things.can_handle(thing, actor) and reservation.borrower_id != actor.id:
        raise LendingError(_("Only the borrower or the thing's owner can do this."))
    if reservation.status not in ACTIVE:
        raise LendingError(_("Only a reservation or a loan can be extended."))
    if new_end is None:
        raise LendingError(_("Choose the new last day."), "end_date")
    if new_end <= reservation.end_date:
        raise LendingError(_("Choose a day after %(day)s.", day=day_words(reservation.end_date)), "end_date")
    if (new_end - reservation.start_date).days + 1 > thing.max_loan_days:
        raise LendingError(_("The longest loan of this thing is %(days)s days.", days=thing.max_loan_days),
                           "end_date")
    if waitlist.someone_waits(thing):
        raise LendingError(_("Someone is waiting for this thing, so the loan cannot be extended."), "end_date")
    buffer = (reservation.blocked_until - reservation.end_date).days
    try:
        block(reservation, thing, reservation.start_date, new_end, buffer)
    except LendingError:
        raise LendingError(_("The days after this loan are taken: it cannot be extended that far."),
                           "end_date") from None
    tell_handlers(thing, lambda: _("%(thing)s: a loan is extended", thing=thing.name), "extended",
                  reservation=reservation, borrower=reservation.borrower)
    return reservation


def move(reservation_id: int, actor: User, start: dt.date | None, end: dt.date | None,
         today: dt.date | None = None) -> Reservation:
    """The owner moves a reservation not yet picked up (when the loan before it
    is overdue, say), through the same rule as any new dates."""
    reservation = lock_reservation(reservation_id)
    thing = db.session.get(Thing, reservation.thing_id)
    things.require_handler(thing, actor)
    if reservation.status != "accepted":
        raise LendingError(_("Only a reservation not yet picked up can be moved."))
    check_dates(thing, start, end, today or things.today_in(thing.circle))
    block(reservation, thing, start, end, thing.buffer_days)
    tell_borrower(reservation, thing, lambda: _("Moved: %(thing)s", thing=thing.name), "moved")
    return reservation


# --- reading one person's view ---------------------------------------------------------

def is_overdue(reservation: Reservation, today: dt.date) -> bool:
    return reservation.status == "out" and reservation.end_date < today


def next_after(reservation: Reservation) -> Reservation | None:
    return db.session.scalars(select(Reservation).where(
        Reservation.thing_id == reservation.thing_id, Reservation.status == "accepted",
        Reservation.start_date > reservation.end_date).order_by(Reservation.start_date).limit(1)).first()


# --- telling people ------------------------------------------------------------------

def thing_url(thing: Thing) -> str:
    return external_url("lending.thing", slug=thing.circle.slug, thing_id=thing.id)


# What each kind of mail is, as a notice people choose how to get (app/notify).
NOTICE_KINDS = {"requested": "lending_request", "accepted_at_once": "lending_request", "extended": "lending_request",
                "withdrawn": "lending_request", "accepted": "lending_request", "declined": "lending_request",
                "cancelled": "lending_request", "moved": "lending_request", "offer": "lending_offer",
                "due": "lending_due", "overdue": "lending_due", "overdue_next": "lending_due"}


def tell(person, thing: Thing, subject, kind: str, occasion: str, **context) -> None:
    """A notice about a thing, rendered for ``person`` (``subject`` is a callable,
    so it is said in their language); once per ``occasion``."""
    notify(NOTICE_KINDS[kind], person, f"{kind}:{occasion}", circle=thing.circle, subject=subject,
           template="lending/mail/notice.txt", url=thing_url(thing), kind=kind, thing=thing, person=person,
           **context)


def tell_handlers(thing: Thing, subject, kind: str, **context) -> None:
    reservation = context.get("reservation")
    occasion = f"reservation {reservation.id} {reservation.end_date}" if reservation else f"thing {thing.id} {utcnow()}"
    for person in things.handlers(thing):
        tell(person, thing, subject, kind, occasion, **context)


def tell_borrower(reservation: Reservation, thing: Thing, subject, kind: str, **context) -> None:
    borrower = reservation.borrower
    if borrower is not None:
        tell(borrower, thing, subject, kind, f"reservation {reservation.id} {reservation.start_date} "
             f"{reservation.end_date} {reservation.status}", reservation=reservation, **context)


def relative_url(thing: Thing) -> str:
    return url_for("lending.thing", slug=thing.circle.slug, thing_id=thing.id)


