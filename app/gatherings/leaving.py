"""What leaving a circle and deleting an account mean for gatherings: run in
the caller's write unit, through the same seat rules as any answer."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from ..auth.models import User
from ..circles.models import Circle
from ..extensions import db
from . import feeds, seats, series, slots
from .models import Cohost, Gathering


def member_left(circle: Circle, user: User) -> None:
    """Seats, waitlist places, slot places, co-hostings and the calendar feed
    in this circle go; freed seats go to the waitlist."""
    seats.withdraw_everywhere(user, circle.id)
    slots.leave_every_slot(user, circle.id)
    db.session.execute(delete(Cohost).where(
        Cohost.user_id == user.id,
        Cohost.gathering_id.in_(select(Gathering.id).where(Gathering.circle_id == circle.id))))
    feeds.forget_feeds(user, circle.id)


def account_deleted(user: User) -> None:
    """As leaving every circle; and what they hosted stays, hosted by a former
    member, while their series make no new dates."""
    seats.withdraw_everywhere(user)
    slots.leave_every_slot(user)
    db.session.execute(delete(Cohost).where(Cohost.user_id == user.id))
    db.session.execute(update(Gathering).where(Gathering.host_id == user.id).values(host_id=None))
    series.stop_series_of(user)
    feeds.forget_feeds(user)
