"""What leaving a circle and deleting an account mean for lending, in the
caller's write unit: a person's own things are withdrawn and their pending
requests declined with a notice; a thing out on loan stays on loan until it is
returned, and its owner is told; their waitlist places go."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from ..auth.models import User
from ..circles.models import Circle
from ..database import utcnow
from ..extensions import db
from ..i18n import _
from . import loans
from .models import Keeper, Reservation, Thing, WaitEntry


def _withdraw_things(thing_query) -> None:
    things = list(db.session.scalars(thing_query))
    for thing in things:
        thing.withdrawn = True
        pending = db.session.scalars(select(Reservation).where(
            Reservation.thing_id == thing.id, Reservation.status.in_(("requested", "accepted"))))
        for reservation in pending:
            reservation.status, reservation.decided_at = ("declined" if reservation.status == "requested"
                                                          else "cancelled"), utcnow()
            reservation.answer_note = _("The owner has left, and the thing is withdrawn.")
            loans.tell_borrower(reservation, thing, lambda: _("Withdrawn: %(thing)s", thing=thing.name), "declined")
        db.session.execute(update(WaitEntry).where(WaitEntry.thing_id == thing.id,
                                                   WaitEntry.status.in_(("waiting", "offered")))
                           .values(status="gone"))


def _leave_borrowing(user: User, circle_id: int | None) -> None:
    """Their requests and reservations not yet picked up are cancelled; a thing
    they have out stays out, and its owner is told."""
    query = select(Reservation).join(Thing, Thing.id == Reservation.thing_id).where(
        Reservation.borrower_id == user.id, Reservation.status.in_(("requested", "accepted", "out")))
    if circle_id is not None:
        query = query.where(Thing.circle_id == circle_id)
    for reservation in db.session.scalars(query):
        thing = reservation.thing
        if reservation.status == "out":
            loans.tell_handlers(thing, lambda: _("%(thing)s: the borrower has left", thing=thing.name), "withdrawn",
                                reason=_("%(name)s, who has \"%(thing)s\", has left the circle. The loan stays "
                                         "open until it is returned.", name=user.shown_name, thing=thing.name))
            continue
        reservation.status, reservation.decided_at = "cancelled", utcnow()
    waits = select(WaitEntry.id).join(Thing, Thing.id == WaitEntry.thing_id).where(WaitEntry.user_id == user.id)
    if circle_id is not None:
        waits = waits.where(Thing.circle_id == circle_id)
    db.session.execute(update(WaitEntry).where(WaitEntry.id.in_(waits)).values(status="gone")
                       .execution_options(synchronize_session=False))


def member_left(circle: Circle, user: User) -> None:
    _withdraw_things(select(Thing).where(Thing.circle_id == circle.id, Thing.owner_id == user.id,
                                         Thing.withdrawn.is_(False)))
    db.session.execute(delete(Keeper).where(Keeper.user_id == user.id, Keeper.thing_id.in_(
        select(Thing.id).where(Thing.circle_id == circle.id))))
    _leave_borrowing(user, circle.id)


def account_deleted(user: User) -> None:
    _withdraw_things(select(Thing).where(Thing.owner_id == user.id, Thing.withdrawn.is_(False)))
    _leave_borrowing(user, None)
    db.session.execute(delete(WaitEntry).where(WaitEntry.user_id == user.id))


def deletion_warning(user: User) -> list[str]:
    owned = db.session.scalar(select(Thing.id).where(Thing.owner_id == user.id, Thing.withdrawn.is_(False))
                              .limit(1))
    return [_("The things you lend are withdrawn from their libraries.")] if owned else []
