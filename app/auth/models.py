"""Accounts, their server-side sessions, and the single-use tokens we mail."""

from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db
from ..i18n import _


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Lower-cased; NULL once the account is deleted, so the address is free again.
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # The language we speak to the person in (a catalog name, "en", "de"): their
    # mail always, their pages when they chose it on the account page. Taken from
    # Accept-Language at sign-up, and at each sign-in while they follow the browser.
    language: Mapped[str | None] = mapped_column(String(16))
    # True: pages follow the browser's Accept-Language (and mail the language it
    # last asked for); False: the person chose ``language`` for both.
    language_follows_browser: Mapped[bool] = mapped_column(default=True, server_default=true())
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    sessions: Mapped[list[LoginSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # The token of the session this request runs in (not a column): Flask-Login
    # stores get_id() in the session and remember cookies, and a session token
    # can be revoked on the server where a user id cannot.
    session_token = None

    def get_id(self) -> str | None:
        return self.session_token

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_active(self) -> bool:
        return not self.is_deleted

    @property
    def shown_name(self) -> str:
        """The name others see: what a deleted account wrote stays, unsigned."""
        return _("a former member") if self.is_deleted else self.display_name


class LoginSession(db.Model):
    """One signed-in browser. Deleting the row signs that browser out."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="sessions")


class AccountToken(db.Model):
    """A single-use link we mailed: confirm an address, reset a password,
    confirm a new address ("change"), or undo a change of address ("undo")."""

    __tablename__ = "account_tokens"
    __table_args__ = (
        CheckConstraint("purpose IN ('verify', 'reset', 'change', 'undo')", name="purpose"),
        # Links about a change of address carry the address they are about;
        # the others carry none.
        CheckConstraint("(purpose IN ('change', 'undo')) = (email IS NOT NULL)", name="email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # "change": the new address, set when the link is opened; "undo": the old
    # address, given back when the link is opened (and held for its owner
    # until then, see domain.address_taken). Lower-cased, like User.email.
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
