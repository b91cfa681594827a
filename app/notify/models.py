"""Notices: what concerns a person, their settings, and when mail goes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db

CHANNELS = ("off", "inbox", "digest", "now")


class Notice(db.Model):
    """One thing a person is told, recorded once per kind, recipient and
    occasion (the unique key), in the write unit of the change that causes it.
    Its words are rendered when recorded, in the recipient's language."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("kind", "user_id", "occasion", name="uq_notices_occasion"),
        CheckConstraint("channel IN ('inbox', 'digest', 'now')", name="channel"),
        Index("ix_notices_user_created", "user_id", "created_at"),
        Index("ix_notices_mail_due", "mailed_at", "mail_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    occasion: Mapped[str] = mapped_column(String(120))
    circle_id: Mapped[int | None] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # How it is mailed: "now" (alone), "digest" (in the daily digest) or "inbox" (not at all).
    channel: Mapped[str] = mapped_column(String(10))
    mail_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # NULL: never mailed
    mailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # put in the outbox

    circle = relationship("Circle")


class NoticeSetting(db.Model):
    """A person's choice for one kind of notice (all circles)."""

    __tablename__ = "notice_settings"
    __table_args__ = (CheckConstraint("channel IN ('off', 'inbox', 'digest', 'now')", name="channel"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))


class CircleNoticeSetting(db.Model):
    """A person's limit for one circle: at most the digest, only the inbox, or off."""

    __tablename__ = "circle_notice_settings"
    __table_args__ = (CheckConstraint("channel IN ('off', 'inbox', 'digest')", name="channel"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))


class NoticePrefs(db.Model):
    """When mail may come: the digest hour and quiet hours, in the person's zone."""

    __tablename__ = "notice_prefs"
    __table_args__ = (
        CheckConstraint("digest_hour BETWEEN 0 AND 23", name="digest_hour"),
        CheckConstraint("quiet_from BETWEEN 0 AND 23 AND quiet_until BETWEEN 0 AND 23", name="quiet"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    digest_hour: Mapped[int] = mapped_column(default=18)
    quiet_from: Mapped[int] = mapped_column(default=21)
    quiet_until: Mapped[int] = mapped_column(default=8)
    # Every mail to this person stops (the unsubscribe link); the inbox stays.
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PushSubscription(db.Model):
    """One device (a browser's push subscription) that gets this person's
    pushes. The endpoint is unique: a device has one subscription, and when
    someone else subscribes on it, it becomes theirs."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))  # the browser's public key (base64url)
    auth: Mapped[str] = mapped_column(String(100))  # its authentication secret (base64url)
    device: Mapped[str] = mapped_column(String(100))  # "Firefox on Android", to tell devices apart
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PushMessage(db.Model):
    """A push waiting to go to one device, written in the unit of the notice
    that causes it (an outbox, like mail's); the job runner sends it."""

    __tablename__ = "push_outbox"
    __table_args__ = (Index("ix_push_outbox_due", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("push_subscriptions.id", ondelete="CASCADE"),
                                                 index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
