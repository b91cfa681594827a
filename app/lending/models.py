"""Things to lend, their photos and keepers, reservations and the waitlist.

A reservation stores the range it blocks: its first day to its last day plus
the thing's buffer as it was at acceptance (``blocked_until``). No two active
reservations of one thing may block a common day: on PostgreSQL an exclusion
constraint says so (``btree_gist``, made by the DDL event below for
``create_all()`` and by the migration); on SQLite ``loans.check_free`` checks
it inside the write unit, which holds the only write lock.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (CheckConstraint, DDL, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, event,
                        func, literal_column, text)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..circles.models import Circle
from ..database import UTCDateTime, utcnow
from ..extensions import db

CATEGORIES = ("tools", "garden", "kitchen", "camping", "sport", "transport", "books", "games", "children",
              "rooms", "other")
CONDITIONS = ("new", "good", "worn", "fragile")
THING_STATES = ("available", "repair", "retired")
# requested: waits for the owner; accepted: a reservation; out: picked up;
# returned: back (both sides confirmed); declined, cancelled: over.
RESERVATION_STATES = ("requested", "accepted", "out", "returned", "declined", "cancelled")
ACTIVE = ("accepted", "out")
ACTIVE_SQL = "status IN ('accepted', 'out')"
WAIT_STATES = ("waiting", "offered", "expired", "taken", "gone")

OVERLAP_CONSTRAINT = "ex_reservations_no_overlap"


class Thing(db.Model):
    __tablename__ = "things"
    __table_args__ = (
        CheckConstraint("status IN ('available', 'repair', 'retired')", name="status"),
        CheckConstraint("max_loan_days >= 1 AND max_loan_days <= 365", name="max_loan_range"),
        CheckConstraint("buffer_days >= 0 AND buffer_days <= 30", name="buffer_range"),
        Index("ix_things_circle_id_category", "circle_id", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    # None: the circle's own thing, handled by its keepers.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    circle_owned: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(120))
    description_source: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(20), default="other")
    condition: Mapped[str] = mapped_column(String(20), default="good")
    pickup_place: Mapped[str] = mapped_column(String(200), default="")
    house_rules: Mapped[str] = mapped_column(String(500), default="")
    max_loan_days: Mapped[int] = mapped_column(default=14)
    buffer_days: Mapped[int] = mapped_column(default=0)
    auto_accept: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default="available")
    status_reason: Mapped[str] = mapped_column(String(300), default="")
    photo_hash: Mapped[str | None] = mapped_column(String(64))
    withdrawn: Mapped[bool] = mapped_column(default=False)  # the owner left: no new requests
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    circle: Mapped[Circle] = relationship()
    owner: Mapped[User | None] = relationship()


class Keeper(db.Model):
    """A member who handles a thing the circle owns."""

    __tablename__ = "thing_keepers"

    thing_id: Mapped[int] = mapped_column(ForeignKey("things.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class Photo(db.Model):
    """A thing's photo, re-encoded from its pixels as WebP in two sizes; kept in
    the database so that every app server reaches it and backups include it."""

    __tablename__ = "thing_photos"
    # The same picture may show two things (in two circles): each has its own row.
    __table_args__ = (UniqueConstraint("thing_id", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thing_id: Mapped[int] = mapped_column(ForeignKey("things.id", ondelete="CASCADE"))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    small: Mapped[bytes] = mapped_column(LargeBinary)
    large: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reservation(db.Model):
    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("status IN ('requested', 'accepted', 'out', 'returned', 'declined', 'cancelled')",
                        name="status"),
        CheckConstraint("end_date >= start_date", name="ends_after_start"),
        CheckConstraint("blocked_until >= end_date", name="blocked_after_end"),
        Index("ix_reservations_thing_id_start_date", "thing_id", "start_date"),
        # The database makes double-booking impossible (PostgreSQL only; see
        # the module's notes for SQLite).
        ExcludeConstraint(
            (literal_column("thing_id"), "="),
            (func.daterange(literal_column("start_date"), literal_column("blocked_until"), text("'[]'")), "&&"),
            using="gist", where=text(ACTIVE_SQL), name=OVERLAP_CONSTRAINT,
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thing_id: Mapped[int] = mapped_column(ForeignKey("things.id", ondelete="CASCADE"))
    borrower_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="requested")
    start_date: Mapped[dt.date] = mapped_column()
    end_date: Mapped[dt.date] = mapped_column()
    blocked_until: Mapped[dt.date] = mapped_column()
    message: Mapped[str] = mapped_column(String(500), default="")
    answer_note: Mapped[str] = mapped_column(String(500), default="")
    gathering_id: Mapped[int | None] = mapped_column(ForeignKey("gatherings.id", ondelete="SET NULL"), index=True)
    pickup_note: Mapped[str] = mapped_column(String(500), default="")
    return_note: Mapped[str] = mapped_column(String(500), default="")
    picked_up_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    returned_by_borrower_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    returned_by_owner_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    overdue_told_on: Mapped[dt.date | None] = mapped_column()
    due_told_on: Mapped[dt.date | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    thing: Mapped[Thing] = relationship()
    borrower: Mapped[User | None] = relationship()

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class WaitEntry(db.Model):
    """A place on a thing's waitlist for some dates. When the thing frees, the
    first in line is offered it until ``offer_until``; an offer past that is
    expired when read, and recorded so by ``flask lending expire``."""

    __tablename__ = "thing_waitlist"
    __table_args__ = (
        CheckConstraint("status IN ('waiting', 'offered', 'expired', 'taken', 'gone')", name="status"),
        CheckConstraint("end_date >= start_date", name="ends_after_start"),
        Index("ix_thing_waitlist_thing_id_status", "thing_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thing_id: Mapped[int] = mapped_column(ForeignKey("things.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    start_date: Mapped[dt.date] = mapped_column()
    end_date: Mapped[dt.date] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    offer_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    thing: Mapped[Thing] = relationship()
    user: Mapped[User] = relationship()


# The exclusion constraint needs btree_gist for "thing_id WITH =". The tests
# build the schema with create_all(), so the extension is made before the
# table; the migration does the same. Production needs CREATE on the database.
event.listen(Reservation.__table__, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS btree_gist").execute_if(dialect="postgresql"))
