"""What accounts can do, as plain functions the views and tests call.

Each function works inside the caller's write unit; the caller commits.
Password hashing is slow (0.1 to 0.5 s), and on SQLite a write unit holds the
only write lock: so the views hash and verify *before* they open the unit, and
the functions that write check again, inside it, that what the hash relied
on has not changed meanwhile.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, has_request_context
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from ..areas import areas
from ..database import utcnow
from ..errors import RuleError
from ..extensions import db
from ..i18n import _, language
from ..links import external_url
from ..mail import OutboxMail, queue_mail
from ..tokens import new_token, token_hash
from . import passwords
from .models import AccountToken, LoginSession, User


class AccountError(RuleError):
    """A rule of accounts said no."""


class Changed(AccountError):
    """The account changed while its password was being checked (another
    device changed the password, or the account was deleted): try again."""


class AddressTaken(AccountError):
    """The address a link would set belongs to another account by now."""


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


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

def register(email: str, display_name: str, password_hash: str, time_zone: str | None,
             notes: list[str] = ()) -> User | None:
    """Create an account and mail its confirmation link. The caller hashed the
    password before opening the unit.

    An address that already has an account gets a mail saying so instead;
    both paths hash the password once and queue one mail, so neither the
    answer nor its timing tells a stranger who is registered.
    """
    email = normalize_email(email)
    # An address held for its former owner (see address_holder) counts as taken.
    existing = address_holder(email)
    if existing is not None:
        queue_mail(email, _("You already have an account"), "auth/mail/already_registered.txt",
                   user=existing, login_url=external_url("auth.login"),
                   reset_url=external_url("auth.reset_request"))
        return None
    user = User(email=email, display_name=display_name.strip(), password_hash=password_hash,
                time_zone=time_zone or None, language=language() if has_request_context() else None)
    db.session.add(user)
    send_verification(user, notes)
    return user


def send_verification(user: User, notes: list[str] = ()) -> None:
    raw = _issue_token(user, "verify", dt.timedelta(hours=current_app.config["VERIFY_TOKEN_HOURS"]))
    queue_mail(user.email, _("Confirm your email address"), "auth/mail/verify.txt",
               user=user, url=external_url("auth.verify", token=raw),
               hours=current_app.config["VERIFY_TOKEN_HOURS"], notes=notes)


def signup_notes(next_url: str | None) -> list[str]:
    """What the areas add to a new account's confirmation mail (who invited them)."""
    return [line for note in areas().signup_notes if (line := note(next_url))]


def check_credentials(email: str, password: str) -> tuple[int, str, str | None] | None:
    """Verify a password, writing nothing (call it before the write unit):
    (the account's id, the hash it was checked against, a new hash when the
    stored one uses older parameters), or None when they do not match."""
    user = find_user(email)
    stored = user.password_hash if user is not None and not user.is_deleted else None
    if not passwords.check_password(stored, password):
        return None
    return user.id, stored, passwords.hash_password(password) if passwords.needs_rehash(stored) else None


def unchanged(user_id: int, checked_hash: str | None) -> User:
    """The account, in the write unit, if its password is still the one that was checked.

    :raise Changed: it was deleted, or its password changed meanwhile.
    """
    user = db.session.get(User, user_id, populate_existing=True)
    if user is None or user.is_deleted or user.password_hash != checked_hash:
        raise Changed(_("Your account changed just now, on another device. Please try again."))
    return user


def sign_in(user_id: int, checked_hash: str, new_hash: str | None = None, remember: bool = False,
            browser_language: str | None = None) -> User:
    """Start a session for an account whose password was checked before the unit.
    A person who follows their browser's language gets mail in the one it asks
    for now.

    :raise Changed: the account changed while the password was checked.
    """
    user = unchanged(user_id, checked_hash)
    if new_hash:
        user.password_hash = new_hash
    if browser_language and user.language_follows_browser:
        user.language = browser_language
    start_session(user, remember=remember)
    return user


def choose_language(user: User, choice: str, browser_language: str) -> None:
    """The account page's choice: a language (pages and mail in it), or
    "browser" (pages follow the browser; mail in the language it asks for now)."""
    user.language_follows_browser = choice == "browser"
    user.language = browser_language if user.language_follows_browser else choice


# --- mailed tokens ---------------------------------------------------------

def _issue_token(user: User, purpose: str, lifetime: dt.timedelta, email: str | None = None) -> str:
    raw, hashed = new_token()
    db.session.add(AccountToken(user=user, purpose=purpose, token_hash=hashed, email=email,
                                expires_at=utcnow() + lifetime))
    return raw


def _spend_open_tokens(user: User, *purposes: str) -> None:
    """Every open link of these kinds stops working."""
    db.session.execute(update(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.purpose.in_(purposes), AccountToken.used_at.is_(None)
    ).values(used_at=utcnow()).execution_options(synchronize_session="fetch"))


def _usable_token(raw: str, purpose: str) -> AccountToken | None:
    token = db.session.scalar(
        select(AccountToken).where(AccountToken.token_hash == token_hash(raw),
                                   AccountToken.purpose == purpose).with_for_update(key_share=True)
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
    _mail_reset_link(user)


def _mail_reset_link(user: User, subject: str | None = None, template: str = "auth/mail/reset.txt") -> None:
    minutes = current_app.config["RESET_TOKEN_MINUTES"]
    raw = _issue_token(user, "reset", dt.timedelta(minutes=minutes))
    queue_mail(user.email, subject or _("Reset your password"), template,
               user=user, url=external_url("auth.reset_password", token=raw), minutes=minutes,
               reset_request_url=external_url("auth.reset_request"))


def reset_token_user(raw: str) -> User | None:
    token = _usable_token(raw, "reset")
    return token.user if token else None


def reset_password(raw: str, new_hash: str) -> User | None:
    """Set the password a reset link is for (hashed before the unit)."""
    token = _usable_token(raw, "reset")
    if token is None:
        return None
    set_password(token.user, new_hash)
    return token.user


def set_password(user: User, new_hash: str) -> None:
    """A new password (hashed before the unit) ends every session and spends
    every open reset link."""
    user.password_hash = new_hash
    now = utcnow()
    for token in db.session.scalars(select(AccountToken).where(
            AccountToken.user_id == user.id, AccountToken.purpose == "reset",
            AccountToken.used_at.is_(None))):
        token.used_at = now
    end_all_sessions(user)
    # A password changed by a reset link also proves the address.
    if user.email_verified_at is None:
        user.email_verified_at = now


# --- changing the address ---------------------------------------------------------

def address_holder(email: str, but_not: int | None = None) -> User | None:
    """The account that has this address, or holds it; None when it is free.

    An address changed away from stays held for its former owner while the
    undo link mailed to it is open (EMAIL_UNDO_TOKEN_DAYS): otherwise whoever
    changed it could sign up with it at once, unconfirmed, and make the undo
    fail. ``but_not``: an account id that does not count (its own old address
    is free to go back to).
    """
    email = normalize_email(email)
    user = find_user(email)
    if user is not None and user.id != but_not:
        return user
    holding = select(User).join(AccountToken, AccountToken.user_id == User.id).where(
        AccountToken.email == email, AccountToken.purpose == "undo", AccountToken.used_at.is_(None),
        AccountToken.expires_at > utcnow())
    if but_not is not None:
        holding = holding.where(User.id != but_not)
    return db.session.scalars(holding.limit(1)).first()


def request_email_change(user: User, new_email: str) -> None:
    """Mail the new address a link that makes it the account's address, and
    the current address a notice with a link that undoes the change (the
    caller checked the password before the unit, and ``unchanged`` inside it).

    When the new address belongs to another account, or is held for one, it
    gets a note saying so instead of a link, and the address does not change.
    Either way the same two mails go out and the answer is the same, so the
    form tells nobody who has an account.
    """
    new_email = normalize_email(new_email)
    config = current_app.config
    if address_holder(new_email, but_not=user.id) is None:
        hours = config["EMAIL_CHANGE_TOKEN_HOURS"]
        raw = _issue_token(user, "change", dt.timedelta(hours=hours), email=new_email)
        queue_mail(new_email, _("Confirm your new email address"), "auth/mail/email_change.txt",
                   user=user, url=external_url("auth.confirm_email", token=raw), hours=hours)
    else:
        queue_mail(new_email, _("This address already has an account"), "auth/mail/email_change_taken.txt",
                   login_url=external_url("auth.login"), reset_url=external_url("auth.reset_request"))
    days = config["EMAIL_UNDO_TOKEN_DAYS"]
    raw = _issue_token(user, "undo", dt.timedelta(days=days), email=user.email)
    queue_mail(user.email, _("Your email address is about to change"), "auth/mail/email_change_notice.txt",
               user=user, new_email=new_email, url=external_url("auth.undo_email_change", token=raw), days=days)


def change_link_email(raw: str) -> str | None:
    """The new address a change link is for; None if the link is no good."""
    token = _usable_token(raw, "change")
    return token.email if token else None


def undo_link_email(raw: str) -> str | None:
    """The address an undo link gives back; None if the link is no good."""
    token = _usable_token(raw, "undo")
    return token.email if token else None


def _move_to(user: User, email: str) -> None:
    """Give the account this address, if no other account has or holds it.

    :raise AddressTaken: another account has it (the unique constraint is the
        last guard, for a writer this unit's checks could not see).
    """
    if address_holder(email, but_not=user.id) is not None:
        raise AddressTaken(_("%(email)s belongs to another account now, so your address stays %(old)s.",
                             email=email, old=user.email))
    old = user.email
    user.email = email
    try:
        db.session.flush()
    except IntegrityError:
        raise AddressTaken(_("%(email)s belongs to another account now, so your address stays %(old)s.",
                             email=email, old=old)) from None


def confirm_email_change(raw: str) -> User | None:
    """Make the new address behind a change link the account's own, confirmed;
    None if the link is no good.

    :raise AddressTaken: another account took the address meanwhile.
    """
    token = _usable_token(raw, "change")
    if token is None:
        return None
    user = token.user
    _move_to(user, token.email)
    user.email_verified_at = utcnow()
    # Every open change link is spent, this one too: an older one must not move it again.
    # Open undo links stay: they are what the old address has to undo this.
    _spend_open_tokens(user, "change")
    # Every session ends, as after a new password: the address is where reset
    # links go, so it is half of the way in, and a browser left signed in
    # elsewhere (a shared computer, a lost phone) should not outlive the
    # change. The browser that confirms, if it is signed in to this account,
    # carries on in a fresh session (the view starts it): it holds a session
    # of this account and has just shown it reads the new mailbox.
    end_all_sessions(user)
    return user


def undo_email_change(raw: str) -> User | None:
    """Give back the address an undo link was mailed to, and lock the account
    until its owner chooses a new password; None if the link is no good.

    Whoever changed the address knew the password and may hold sessions and
    links: every session ends, every open link (confirm, reset, change, undo)
    is spent, the password stops working, and a reset link goes to the
    address given back.

    :raise AddressTaken: another account has the address (only a writer racing
        this unit could; address_holder keeps it free while the link is open).
    """
    token = _usable_token(raw, "undo")
    if token is None:
        return None
    user = token.user
    if user.email != token.email:
        _move_to(user, token.email)
    # The link came to this address and was opened: it is confirmed.
    user.email_verified_at = utcnow()
    _spend_open_tokens(user, "verify", "reset", "change", "undo")
    end_all_sessions(user)
    user.password_hash = None
    _mail_reset_link(user, _("Your address is back: choose a new password"), "auth/mail/email_undone.txt")
    return user


# --- what other areas add ---------------------------------------------------------

def arrive(user: User, next_url: str | None) -> str | None:
    """Someone registered, confirmed their address or signed in, heading for
    ``next_url``: each area may act (circles keep an invitation until it can
    be used) and may say where they should land. In the caller's write unit."""
    landing = None
    for handler in areas().arrivals:
        landing = handler(user, next_url) or landing
    return landing


def registration_exempt() -> bool:
    return any(predicate() for predicate, _spend in areas().registration_exemptions)


def spend_exemptions() -> None:
    """A sign-up went through: each exemption that vouched for it counts it."""
    for predicate, spend in areas().registration_exemptions:
        if predicate():
            spend()


def deletion_consequences(user: User) -> list[str]:
    lines: list[str] = []
    for describe in areas().deletion_warnings:
        lines.extend(describe(user))
    return lines


def delete_account(user: User) -> None:
    """Withdraw the person: each area lets go of what they held (seats,
    memberships, ...); what they wrote stays, signed "a former member";
    nothing of theirs can sign in again."""
    for handler in areas().account_deleted:
        handler(user)
    # Mail to them, queued or kept, holds their address and links of theirs.
    db.session.execute(delete(OutboxMail).where(OutboxMail.to_address == user.email))
    end_all_sessions(user)
    db.session.execute(delete(AccountToken).where(AccountToken.user_id == user.id))
    user.email = None
    user.password_hash = None
    user.display_name = ""
    user.time_zone = None
    user.deleted_at = utcnow()


def purge(now: dt.datetime) -> dict[str, int]:
    """Sessions and mailed links that can no longer be used."""
    sessions = db.session.execute(delete(LoginSession).where(LoginSession.expires_at <= now)).rowcount
    tokens = db.session.execute(delete(AccountToken).where(AccountToken.expires_at <= now)).rowcount
    return {"expired sessions": sessions, "expired links": tokens}
