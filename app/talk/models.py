"""Discussions, replies, read markers, proposals, positions and time polls.

Nothing here counts people for show: no reactions, no reply counts on a
person, no ranking. Tallies exist only inside a proposal, where they decide.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..database import UTCDateTime, utcnow
from ..extensions import db

KINDS = ("consent", "consensus", "time_poll")
CHOICES = {"consent": ("consent", "object"), "consensus": ("agree", "abstain", "disagree", "block")}
# The choices that stop a proposal, and so must say why.
STOPPING = ("object", "block")
POLL_CHOICES = ("yes", "maybe", "no")


class Discussion(db.Model):
    """A circle's conversation; ``gathering_id`` or ``thing_id`` set: that
    gathering's or that thing's own (one each, by the database)."""

    __tablename__ = "talk_discussions"
    __table_args__ = (Index("ix_talk_discussions_circle_id_last_activity_at", "circle_id", "last_activity_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    gathering_id: Mapped[int | None] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"), unique=True)
    thing_id: Mapped[int | None] = mapped_column(ForeignKey("things.id", ondelete="CASCADE"), unique=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(120))
    body_source: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last reply's time (or the start): lists are in this order, newest first, never ranked.
    last_activity_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_reply_id: Mapped[int | None] = mapped_column()
    # Set when the stewards hide it (moderation): others read the reason, its author still reads it.
    hidden_reason: Mapped[str | None] = mapped_column(String(300))

    author: Mapped[User | None] = relationship()


class Reply(db.Model):
    __tablename__ = "talk_replies"
    __table_args__ = (Index("ix_talk_replies_discussion_id_id", "discussion_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("talk_discussions.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    body_source: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set when the stewards hide it (moderation): others read the reason, its author still reads it.
    hidden_reason: Mapped[str | None] = mapped_column(String(300))

    author: Mapped[User | None] = relationship()


class ReadMarker(db.Model):
    """How far one person has read a discussion: theirs alone, shown to nobody else."""

    __tablename__ = "talk_read_markers"

    discussion_id: Mapped[int] = mapped_column(ForeignKey("talk_discussions.id", ondelete="CASCADE"),
                                               primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    last_read_reply_id: Mapped[int] = mapped_column(default=0)


class Proposal(db.Model):
    __tablename__ = "talk_proposals"
    __table_args__ = (
        CheckConstraint("kind IN ('consent', 'consensus', 'time_poll')", name="kind"),
        CheckConstraint("quorum IS NULL OR (quorum >= 1 AND quorum <= 100)", name="quorum_range"),
        CheckConstraint("members_at_opening >= 0", name="members_positive"),
        CheckConstraint("closes_at > opened_at", name="closes_after_opening"),
        Index("ix_talk_proposals_circle_id_closes_at", "circle_id", "closes_at"),
        # One open proposal of an action about one person (a removal): the database refuses a second.
        Index("uq_talk_proposals_open_action", "circle_id", "action", "subject_id", unique=True,
              sqlite_where=text("closed_at IS NULL AND subject_id IS NOT NULL"),
              postgresql_where=text("closed_at IS NULL AND subject_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("talk_discussions.id", ondelete="CASCADE"), index=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(120))
    body_source: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The share of members at opening (percent) whose positions must be given.
    quorum: Mapped[int | None] = mapped_column()
    # Results are hidden until closing unless the proposer chose them open.
    open_results: Mapped[bool] = mapped_column(default=False)
    members_at_opening: Mapped[int] = mapped_column(default=0)
    duration_minutes: Mapped[int | None] = mapped_column()  # a time poll's meeting length
    # Recorded once, by `flask talk close`; before that a page computes it.
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict | None] = mapped_column(JSON)
    # When those without a position were told it closes within a day (once).
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome_source: Mapped[str] = mapped_column(Text, default="")
    outcome_html: Mapped[str] = mapped_column(Text, default="")
    review_on: Mapped[dt.date | None] = mapped_column()
    gathering_id: Mapped[int | None] = mapped_column(ForeignKey("gatherings.id", ondelete="SET NULL"))
    # A proposal that does something when it passes (another area's, registered
    # with areas.proposal_action): its name, and the person it is about, who
    # answers in the discussion but takes no position.
    action: Mapped[str | None] = mapped_column(String(30))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # When the action ran, once it passed (None: not passed, or not run).
    action_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_id])
    discussion: Mapped[Discussion] = relationship()


class Elector(db.Model):
    """A member at the moment the proposal opened: only they take positions."""

    __tablename__ = "talk_electors"

    proposal_id: Mapped[int] = mapped_column(ForeignKey("talk_proposals.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class Position(db.Model):
    """One person's position on a proposal: one per person, by the database."""

    __tablename__ = "talk_positions"
    __table_args__ = (
        UniqueConstraint("proposal_id", "user_id"),
        CheckConstraint("choice IN ('consent', 'object', 'agree', 'abstain', 'disagree', 'block')", name="choice"),
        CheckConstraint("choice NOT IN ('object', 'block') OR reason <> ''", name="reason_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("talk_proposals.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    choice: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User | None] = relationship()


class PollOption(db.Model):
    """A time a time poll offers, as wall time in the circle's zone."""

    __tablename__ = "talk_poll_options"
    __table_args__ = (UniqueConstraint("proposal_id", "starts_local"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("talk_proposals.id", ondelete="CASCADE"))
    starts_local: Mapped[dt.datetime] = mapped_column(DateTime)


class PollAnswer(db.Model):
    __tablename__ = "talk_poll_answers"
    __table_args__ = (
        UniqueConstraint("option_id", "user_id"),
        CheckConstraint("choice IN ('yes', 'maybe', 'no')", name="choice"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    option_id: Mapped[int] = mapped_column(ForeignKey("talk_poll_options.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    choice: Mapped[str] = mapped_column(String(5))

    user: Mapped[User | None] = relationship()
