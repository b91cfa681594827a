"""Circles, who belongs to them, how people join, and the circle's log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..database import UTCDateTime, utcnow
from ..extensions import db


class Circle(db.Model):
    __tablename__ = "circles"
    __table_args__ = (CheckConstraint("join_mode IN ('open', 'question')", name="join_mode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description_source: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    area: Mapped[str] = mapped_column(String(120), default="")
    time_zone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(10), default="en")
    # "open": an invitation link is enough; "question": a steward reads the answer first.
    join_mode: Mapped[str] = mapped_column(String(10), default="open")
    join_question: Mapped[str] = mapped_column(Text, default="")
    members_can_invite: Mapped[bool] = mapped_column(default=False)
    # Whether members may open a gathering to people outside the circle by link.
    members_may_share: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The ISO 4217 code that shared meals' costs are in (Babel knows its decimals).
    currency: Mapped[str] = mapped_column(String(3), default="EUR", server_default="EUR")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The export this circle was imported from (its export_id): the same file is taken in once.
    imported_from: Mapped[str | None] = mapped_column(String(64), unique=True)


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("circle_id", "user_id"),
        CheckConstraint("role IN ('member', 'steward')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10), default="member")
    # What this person is glad to offer or lend a hand with, in their words.
    offers: Mapped[str] = mapped_column(String(300), default="")
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Whether this member's address leaves in the circle's export (their
    # choice, off until they say yes), so that the circle can reach them again.
    share_email: Mapped[bool] = mapped_column(default=False, server_default=false())

    circle: Mapped[Circle] = relationship()
    user: Mapped[User] = relationship()

    @property
    def is_steward(self) -> bool:
        return self.role == "steward"


class Invitation(db.Model):
    """A link that lets people join. Only its hash is kept: the link is shown
    once, to whoever makes it."""

    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint("max_uses >= 1", name="max_uses_positive"),
        CheckConstraint("uses >= 0 AND uses <= max_uses", name="uses_within_limit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str] = mapped_column(String(120), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    max_uses: Mapped[int] = mapped_column()
    uses: Mapped[int] = mapped_column(default=0)
    # Sign-ups tried through the link; past twice its uses, the link no
    # longer lifts the per-address sign-up limit.
    signups: Mapped[int] = mapped_column(default=0, server_default="0")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Whether the person who made it is named to those who open it (their choice).
    names_inviter: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A printed link is public: whoever uses it answers the circle's question
    # first, whatever the circle's own way of joining.
    asks_question: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The text of a printable notice made with this invitation ("" for a plain link).
    notice_text: Mapped[str | None] = mapped_column(String(300))

    circle: Mapped[Circle] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def inviter_name(self) -> str | None:
        """The name shown to people who open it, if the inviter allows."""
        return self.created_by.shown_name if self.names_inviter and self.created_by else None


class PendingJoin(db.Model):
    """An invitation someone opened before they could use it (no account yet,
    or not yet verified). Kept on the server, so verifying on another device
    still lands them in the circle."""

    __tablename__ = "pending_joins"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    invitation: Mapped[Invitation] = relationship()


class JoinRequest(db.Model):
    """An answer to a circle's joining question, waiting for a steward."""

    __tablename__ = "join_requests"
    __table_args__ = (
        UniqueConstraint("circle_id", "user_id"),
        CheckConstraint("status IN ('pending', 'approved', 'declined')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class LogEntry(db.Model):
    """One line of the circle's log: who did what, and when. Every member reads it."""

    __tablename__ = "circle_log"
    __table_args__ = (Index("ix_circle_log_circle_id_created_at", "circle_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    # The person the action was about, if any. Names are looked up when the log
    # is read, so a member who deletes their account reads as "a former member".
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_id])


class Place(db.Model):
    """A member's place in an imported circle, kept until they claim it: the
    person is a placeholder account (no address, no password) whose name shows
    on what they did; claiming moves all of it to the claimant's account and
    makes them a member. Only the hash of the mailed link is kept."""

    __tablename__ = "circle_places"
    __table_args__ = (CheckConstraint("role IN ('member', 'steward')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    # Where the link was mailed: only an account with this address may claim
    # it. None: the member kept their address out of the export, so the
    # importer hands the link over in person, and whoever opens it claims it.
    email: Mapped[str | None] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(10), default="member")
    offers: Mapped[str] = mapped_column(String(300), default="")
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    share_email: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    circle: Mapped[Circle] = relationship()
    user: Mapped[User] = relationship()
