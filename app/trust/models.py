"""Trust: vouches (stewardship comes from them), the circle's agreements with
their versions, and reports to the stewards."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..database import UTCDateTime, utcnow
from ..extensions import db

REPORT_KINDS = ("reply", "discussion", "gathering", "member")
# What stewards did with a report: hid the item, warned its author, opened a
# removal proposal, or left it as it is.
RESOLUTIONS = ("hidden", "warned", "removal", "dismissed")


class Vouch(db.Model):
    """One member's trust in another, in one circle, until withdrawn."""

    __tablename__ = "trust_vouches"
    __table_args__ = (
        UniqueConstraint("circle_id", "voucher_id", "member_id"),
        CheckConstraint("voucher_id <> member_id", name="not_oneself"),
        Index("ix_trust_vouches_circle_id_member_id", "circle_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    voucher_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgreementVersion(db.Model):
    """One version of a circle's written agreements. ``number`` is None while
    it is only proposed (its ``proposal_id`` set); it gets the next number
    when it comes into force."""

    __tablename__ = "trust_agreement_versions"
    __table_args__ = (
        UniqueConstraint("circle_id", "number"),
        CheckConstraint("number IS NULL OR number >= 1", name="number_positive"),
        CheckConstraint("number IS NOT NULL OR proposal_id IS NOT NULL", name="in_force_or_proposed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    number: Mapped[int | None] = mapped_column()
    body_source: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    # What changed and why, in the changer's words.
    note: Mapped[str] = mapped_column(String(300), default="")
    review_on: Mapped[dt.date | None] = mapped_column()
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("talk_proposals.id", ondelete="CASCADE"),
                                                    unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    in_force_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User | None] = relationship()


class Report(db.Model):
    """Something a member asks the stewards to look at, with a reason. Who
    reported it is shown to stewards only, never in the log."""

    __tablename__ = "trust_reports"
    __table_args__ = (
        CheckConstraint("kind IN ('reply', 'discussion', 'gathering', 'member')", name="kind"),
        CheckConstraint("resolution IS NULL OR resolution IN ('hidden', 'warned', 'removal', 'dismissed')",
                        name="resolution"),
        CheckConstraint("reason <> ''", name="reason_given"),
        Index("ix_trust_reports_circle_id_resolved_at", "circle_id", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    target_id: Mapped[int] = mapped_column()
    # Whom it is about (the author, or the member reported), for warnings and removals.
    about_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolution: Mapped[str | None] = mapped_column(String(10))
    # The steward's reason for what they did: it goes into the log too.
    note: Mapped[str] = mapped_column(String(300), default="")

    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])
    about: Mapped[User | None] = relationship(foreign_keys=[about_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
