"""Gatherings, the answers people give, slots, series and calendar feeds.

The local wall time and its IANA zone are the truth of when a gathering is;
the UTC instants are derived from them (and re-derived if the zone's rules
change), so a gathering at 18:30 stays at 18:30.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import (JSON, CheckConstraint, DateTime, ForeignKey, Index, String, Text, UniqueConstraint,
                        func)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..circles.models import Circle
from ..database import Counter, UTCDateTime, utcnow
from ..extensions import db

# seated: has a seat; waiting: on the waitlist; asking: waits for a host's
# approval; unconfirmed: a guest who has not yet confirmed by mail; none: no
# seat needed (maybe, can't go).
STATES = ("seated", "waiting", "asking", "unconfirmed", "none")


class Series(db.Model):
    """A recurrence: the rule and the template its occurrences are made from."""

    __tablename__ = "gathering_series"
    __table_args__ = (
        CheckConstraint("freq IN ('weekly', 'monthly_date', 'monthly_weekday')", name="freq"),
        CheckConstraint("interval >= 1 AND interval <= 52", name="interval_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"), index=True)
    freq: Mapped[str] = mapped_column(String(20))
    interval: Mapped[int] = mapped_column(default=1)
    # For monthly_weekday: 1..4 for the Nth weekday, -1 for the last.
    setpos: Mapped[int | None] = mapped_column()
    first_local: Mapped[dt.datetime] = mapped_column(DateTime)  # wall time of the first occurrence
    until: Mapped[dt.date | None] = mapped_column()
    generated_until: Mapped[dt.datetime | None] = mapped_column(DateTime)  # wall time, last made
    time_zone: Mapped[str] = mapped_column(String(64))
    # What each new occurrence is made from: title, description, place, link,
    # capacity, guests, approval, duration, host. Editing the series changes it.
    template: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Gathering(db.Model):
    __tablename__ = "gatherings"
    __table_args__ = (
        CheckConstraint("status IN ('tentative', 'confirmed', 'cancelled')", name="status"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),
        CheckConstraint("max_guests >= 0 AND max_guests <= 20", name="max_guests_range"),
        CheckConstraint("seats_taken >= 0", name="seats_taken_positive"),
        # The seat counter never passes the capacity plus the seats a host
        # gave on purpose beyond it.
        CheckConstraint("capacity IS NULL OR seats_taken <= capacity + extra_seats", name="within_capacity"),
        UniqueConstraint("series_id", "occurrence_local"),
        Index("ix_gatherings_circle_id_starts_at", "circle_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    host_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("gathering_series.id", ondelete="SET NULL"))
    occurrence_local: Mapped[dt.datetime | None] = mapped_column(DateTime)  # the series' own slot
    detached: Mapped[bool] = mapped_column(default=False)  # edited alone: series edits pass it by
    title: Mapped[str] = mapped_column(String(120))
    description_source: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    # Set when the stewards hide its description (moderation): others read the reason, its host still reads it.
    hidden_reason: Mapped[str | None] = mapped_column(String(300))
    time_zone: Mapped[str] = mapped_column(String(64))
    starts_local: Mapped[dt.datetime] = mapped_column(DateTime)
    ends_local: Mapped[dt.datetime] = mapped_column(DateTime)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(200), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    capacity: Mapped[int | None] = mapped_column()
    seats_taken: Mapped[int] = mapped_column(default=0)
    extra_seats: Mapped[int] = mapped_column(default=0)
    max_guests: Mapped[int] = mapped_column(default=0)
    needs_approval: Mapped[bool] = mapped_column(default=False)
    answers_closed: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default="confirmed")
    cancel_reason: Mapped[str] = mapped_column(String(300), default="")
    public_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)  # iCalendar SEQUENCE
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    circle: Mapped[Circle] = relationship()
    host: Mapped[User | None] = relationship()
    series: Mapped[Series | None] = relationship()

    # Seats are taken with app.database.take, never past capacity + extra_seats.
    counter = Counter(taken="seats_taken", limit=("capacity", "extra_seats"))

    @property
    def seats_left(self) -> int | None:
        return seats_left(self.capacity, self.extra_seats, self.seats_taken)

    @property
    def is_cancelled(self) -> bool:
        return self.status == "cancelled"


def seats_left(capacity: int | None, extra_seats: int, seats_taken: int) -> int | None:
    """Seats still free; None where there is no capacity."""
    if capacity is None:
        return None
    return max(0, capacity + extra_seats - seats_taken)


@dataclass(frozen=True, slots=True)
class ListedGathering:
    """A gathering as a list shows it: plain values read in one statement, not an
    ORM object (the lists are on the pages members open most)."""
    id: int
    title: str
    starts_local: dt.datetime
    ends_local: dt.datetime
    time_zone: str
    place: str
    status: str
    capacity: int | None
    extra_seats: int
    seats_taken: int
    series_id: int | None

    COLUMNS = ("id", "title", "starts_local", "ends_local", "time_zone", "place", "status", "capacity",
               "extra_seats", "seats_taken", "series_id")

    @property
    def seats_left(self) -> int | None:
        return seats_left(self.capacity, self.extra_seats, self.seats_taken)

    @property
    def is_cancelled(self) -> bool:
        return self.status == "cancelled"


@dataclass(frozen=True, slots=True)
class PastGathering:
    """A gathering in the list of what a circle did."""
    id: int
    title: str
    starts_local: dt.datetime
    ends_local: dt.datetime
    time_zone: str

    COLUMNS = ("id", "title", "starts_local", "ends_local", "time_zone")


@dataclass(frozen=True, slots=True)
class NextGathering:
    """A gathering in a person's lists across circles (the home page): what,
    when, and in which circle."""
    id: int
    circle_id: int
    title: str
    starts_local: dt.datetime
    ends_local: dt.datetime
    time_zone: str
    status: str
    circle_slug: str
    circle_name: str

    COLUMNS = ("id", "circle_id", "title", "starts_local", "ends_local", "time_zone", "status")

    @property
    def is_cancelled(self) -> bool:
        return self.status == "cancelled"


class Cohost(db.Model):
    __tablename__ = "gathering_cohosts"

    gathering_id: Mapped[int] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)

    user: Mapped[User] = relationship()


class Answer(db.Model):
    """One person's answer to a gathering: a member's, or a guest's by email."""

    __tablename__ = "gathering_answers"
    __table_args__ = (
        UniqueConstraint("gathering_id", "user_id"),
        CheckConstraint("response IN ('going', 'maybe', 'cant')", name="response"),
        CheckConstraint("state IN ('seated', 'waiting', 'asking', 'unconfirmed', 'none')", name="state"),
        CheckConstraint("guests >= 0", name="guests_positive"),
        # A guest's email is erased some weeks after the gathering; their name stays.
        CheckConstraint("user_id IS NOT NULL OR guest_name IS NOT NULL", name="someone"),
        Index("ix_gathering_answers_gathering_id_state", "gathering_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gathering_id: Mapped[int] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    guest_name: Mapped[str | None] = mapped_column(String(80))
    guest_email: Mapped[str | None] = mapped_column(String(320))
    guest_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    response: Mapped[str] = mapped_column(String(10))
    # seated: has a seat; waiting: on the waitlist; asking: waits for a host's
    # approval; unconfirmed: a guest who has not yet confirmed by mail; none: no
    # seat needed (maybe, can't go).
    state: Mapped[str] = mapped_column(String(12), default="none")
    guests: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(String(500), default="")
    approved: Mapped[bool] = mapped_column(default=False)
    waiting_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attended: Mapped[bool | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User | None] = relationship()

    @property
    def party(self) -> int:
        return 1 + self.guests

    @property
    def name(self) -> str:
        return self.user.shown_name if self.user is not None else (self.guest_name or "")


# One answer per email per gathering, whatever its case (a plain unique
# constraint would let case variants through).
Index("uq_gathering_answers_guest_email", Answer.gathering_id, func.lower(Answer.guest_email), unique=True)


class Slot(db.Model):
    """Something a gathering needs people for: "2 people to set up"."""

    __tablename__ = "gathering_slots"
    __table_args__ = (
        CheckConstraint("needed >= 1 AND needed <= 100", name="needed_range"),
        CheckConstraint("taken >= 0 AND taken <= needed", name="taken_within_needed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gathering_id: Mapped[int] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    needed: Mapped[int] = mapped_column()
    taken: Mapped[int] = mapped_column(default=0)

    counter = Counter(taken="taken", limit=("needed",))


class SlotTaker(db.Model):
    __tablename__ = "gathering_slot_takers"

    slot_id: Mapped[int] = mapped_column(ForeignKey("gathering_slots.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)

    user: Mapped[User] = relationship()


class Change(db.Model):
    """A change that matters to those coming: time, place, status, a seat given."""

    __tablename__ = "gathering_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    gathering_id: Mapped[int] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Feed(db.Model):
    """A secret calendar address: a person's own gatherings (circle_id NULL), or a circle's."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (UniqueConstraint("user_id", "circle_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    circle_id: Mapped[int | None] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
