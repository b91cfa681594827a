"""What accounts can do, as plain functions the views and tests call.

Each function works inside the caller's transaction; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Callable

from flask import current_app
from ..i18n import _
from sqlalchemy import bindparam, delete, select

from ..database import utcnow
from ..extensions import db
from ..mail import queue_mail
from . import passwords
from .models import AccountToken, LoginSession, User


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def new_token() -> tuple[str, str]:
    """A 256-bit token for a link or cookie, and the hash we store of it."""
    raw = secrets.token_urlsafe(32)
    return raw, token_hash(raw)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def external_url(endpoint: str, **values) -> str:
    """An absolute link for mail and pages, built on BASE_URL, never on the
    request's Host header; it works outside requests too (commands, seeding)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


# --- sessions ---------------------------------------------------------------

def start_session(user: User, remember: bool = False) -> str:
    raw, hashed = new_token()
    days = 365 if remember else current_app.config["SESSION_DAYS"]
    db.session.add(LoginSession(
        user=user, token_hash=hashed, remember=remember, expires_at=utcnow() + dt.timedelta(days=days)
    ))
    user.session_token = raw
    return raw


# Built once: this runs on every signed-in request, and building a statement
# costs SQLAlchemy more than running it (docs/performance.md).
_SESSION_USER = (select(User, LoginSession.expires_at).join(LoginSession, LoginSession.user_id == User.id)
                 .where(LoginSession.token_hash == bindparam("token_hash")))


def load_session_user(raw: str) -> User | None:
    row = db.session.execute(_SESSION_USER, {"token_hash": token_hash(raw)}).first()
    if row is None:
        return None
    user, expires_at = row
    if expires_at <= utcnow() or user.is_deleted:
        return None
    user.session_token = raw
    return user


def end_session(raw: str | None) -> None:
    if raw:
        db.session.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash(raw)))


def end_all_sessions(user: User) -> None:
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


# --- registering and signing in -------------------------------------------

def register(email: str, display_name: str, password: str, time_zone: str | None) -> User | None:
    """Create an account and mail its confirmation link.

    An address that already has an account gets a mail saying so instead;
    both paths hash the password once and queue one mail, so neither the
    answer nor its timing tells a stranger who is registered.
    """
    email = normalize_email(email)
    password_hash = passwords.hash_password(password)
    existing = find_user(email)
    if existing is not None:
        queue_mail(email, _("You already have an account"), "auth/mail/already_registered.txt",
                   user=existing, login_url=external_url("auth.login"),
                   reset_url=external_url("auth.reset_request"))
        return None
    user = User(email=email, display_name=display_name.strip(), password_hash=password_hash,
                time_zone=time_zone or None)
    db.session.add(user)
    send_verification(user)
    return user


def send_verification(user: User) -> None:
    raw = _issue_token(user, "verify", dt.timedelta(hours=current_app.config["VERIFY_TOKEN_HOURS"]))
    queue_mail(user.email, _("Confirm your email address"), "auth/mail/verify.txt",
               user=user, url=external_url("auth.verify", token=raw),
               hours=current_app.config["VERIFY_TOKEN_HOURS"])


def authenticate(email: str, password: str) -> User | None:
    user = find_user(email)
    stored = user.password_hash if user is not None and not user.is_deleted else None
    if not passwords.check_password(stored, password):
        return None
    if passwords.needs_rehash(stored):
        user.password_hash = passwords.hash_password(password)
    return user


# --- mailed tokens ---------------------------------------------------------

def _issue_token(user: User, purpose: str, lifetime: dt.timedelta) -> str:
    raw, hashed = new_token()
    db.session.add(AccountToken(user=user, purpose=purpose, token_hash=hashed,
                                expires_at=utcnow() + lifetime))
    return raw


def _usable_token(raw: str, purpose: str) -> AccountToken | None:
    token = db.session.scalar(
        select(AccountToken).where(AccountToken.token_hash == token_hash(raw),
                                   AccountToken.purpose == purpose).with_for_update()
    )
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        return None
    if token.user.is_deleted:
        return None
    return token


def verify_email(raw: str) -> User | None:
    """Confirm the address behind a verify link; None if the link is no good."""
    token = _usable_token(raw, "verify")
    if token is None:
        return None
    token.used_at = utcnow()
    if token.user.email_verified_at is None:
        token.user.email_verified_at = utcnow()
    return token.user


def request_reset(email: str) -> None:
    """Mail a reset link, or, for an unknown address, a note that it has no
    account: one mail either way, so the answer tells nobody anything."""
    email = normalize_email(email)
    user = find_user(email)
    if user is None:
        queue_mail(email, _("Password reset requested"), "auth/mail/reset_unknown.txt",
                   register_url=external_url("auth.register"))
        return
    minutes = current_app.config["RESET_TOKEN_MINUTES"]
    raw = _issue_token(user, "reset", dt.timedelta(minutes=minutes))
    queue_mail(email, _("Reset your password"), "auth/mail/reset.txt",
               user=user, url=external_url("auth.reset_password", token=raw), minutes=minutes)


def reset_token_user(raw: str) -> User | None:
    token = _usable_token(raw, "reset")
    return token.user if token else None


def reset_password(raw: str, new_password: str) -> User | None:
    token = _usable_token(raw, "reset")
    if token is None:
        return None
    _set_password(token.user, new_password)
    return token.user


def change_password(user: User, new_password: str) -> None:
    _set_password(user, new_password)


def _set_password(user: User, new_password: str) -> None:
    """A new password ends every session and spends every open reset link."""
    user.password_hash = passwords.hash_password(new_password)
    now = utcnow()
    for token in db.session.scalars(select(AccountToken).where(
            AccountToken.user_id == user.id, AccountToken.purpose == "reset",
            AccountToken.used_at.is_(None))):
        token.used_at = now
    end_all_sessions(user)
    # A password changed by a reset link also proves the address.
    if user.email_verified_at is None:
        user.email_verified_at = now


# --- arriving ---------------------------------------------------------------------

# Areas built on accounts hear when someone arrives (registers, confirms their
# address, or signs in), with the page they were heading for: circles use it
# to keep an invitation until it can be used. A handler may commit its own
# work and may return where the person should land.
ArrivalHandler = Callable[[User, "str | None"], "str | None"]
_arrival_handlers: list[ArrivalHandler] = []
_registration_exemptions: list[Callable[[], bool]] = []


def on_arrival(handler: ArrivalHandler) -> ArrivalHandler:
    if handler not in _arrival_handlers:
        _arrival_handlers.append(handler)
    return handler


def arrive(user: User, next_url: str | None) -> str | None:
    landing = None
    for handler in _arrival_handlers:
        landing = handler(user, next_url) or landing
    return landing


def exempt_from_registration_limit(predicate: Callable[[], bool]) -> Callable[[], bool]:
    """Sign-ups a predicate vouches for (an invitation with uses left) are
    bounded by that, not by the per-address limit."""
    if predicate not in _registration_exemptions:
        _registration_exemptions.append(predicate)
    return predicate


def registration_exempt() -> bool:
    return any(predicate() for predicate in _registration_exemptions)


# --- deleting an account ---------------------------------------------------

# Areas built on accounts (circles, gatherings, ...) register what deleting an
# account means for them: accounts know nothing of circles, so the dependency
# points this way. Each handler runs in the deletion's transaction and may
# return sentences for the page that warns before deletion.
DeletionHandler = Callable[[User], None]
_deletion_handlers: list[DeletionHandler] = []
_deletion_warnings: list[Callable[[User], list[str]]] = []


def on_account_deleted(handler: DeletionHandler) -> DeletionHandler:
    if handler not in _deletion_handlers:
        _deletion_handlers.append(handler)
    return handler


def deletion_warning(describe: Callable[[User], list[str]]):
    if describe not in _deletion_warnings:
        _deletion_warnings.append(describe)
    return describe


def deletion_consequences(user: User) -> list[str]:
    lines: list[str] = []
    for describe in _deletion_warnings:
        lines.extend(describe(user))
    return lines


def delete_account(user: User) -> None:
    """Withdraw the person: what they wrote stays, signed "a former member";
    nothing of theirs can sign in again."""
    for handler in _deletion_handlers:
        handler(user)
    end_all_sessions(user)
    db.session.execute(delete(AccountToken).where(AccountToken.user_id == user.id))
    user.email = None
    user.password_hash = None
    user.display_name = ""
    user.time_zone = None
    user.deleted_at = utcnow()
