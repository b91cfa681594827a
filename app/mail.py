"""Mail through an outbox.

Whatever sends mail writes an outbox row in the same write unit as the
change that causes it; the mail goes out only after that unit commits, so a
rolled-back change never mails anyone and a crash after the commit leaves the
row to be sent by the job runner (``flask jobs run``; ``flask mail send`` by hand).

Delivery is at least once: a sender claims a row with a lease that expires,
sends it, and only then marks it sent. A sender killed in between leaves the
lease to run out, and the mail goes again, with the same Message-ID, so a
rare duplicate is recognisable. A mail that fails is tried again later, each
time later (backoff), and given up after MAX_ATTEMPTS; rows waiting for their
next try never hold back the others.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import logging
import re
import smtplib
import unicodedata
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from flask import Flask, current_app, render_template
from sqlalchemy import Index, String, Text, bindparam, delete, event, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .database import UTCDateTime, utcnow
from .extensions import db

log = logging.getLogger(__name__)


MAX_ATTEMPTS = 8
LEASE = dt.timedelta(minutes=5)  # far longer than one SMTP conversation (timeout 20 s)
KEEP_SENT = dt.timedelta(days=14)  # sent mail (bodies hold live links) is deleted after this


def backoff(attempts: int) -> dt.timedelta:
    """How long a failed mail waits before its next try: 1, 2, 4 ... minutes, at most 4 hours."""
    return dt.timedelta(minutes=min(2 ** (attempts - 1), 240))


class OutboxMail(db.Model):
    __tablename__ = "outbox_mail"
    __table_args__ = (Index("ix_outbox_mail_due", "sent_at", "given_up_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)  # a small HTML part beside the text
    # Extra headers (List-Unsubscribe, List-Unsubscribe-Post), one "Name: value" a line.
    headers: Mapped[str | None] = mapped_column(Text)
    # Fixed when queued: a mail sent twice (a sender died after sending) is recognisably one.
    message_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # a sender's lease
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # after a failure
    given_up_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # after MAX_ATTEMPTS failures
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


def one_line(text: str, limit: int = 200) -> str:
    """Text safe for a mail header: control characters (line breaks included)
    become spaces, runs of spaces one, and it is cut to ``limit``."""
    if (text or "").isprintable():  # no control or format characters: the common case, fast
        return " ".join(text.split())[:limit]
    cleaned = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text or "")
    return " ".join(cleaned.split())[:limit]


_LINK = re.compile(r"(https?://[^\s<>\"]+)")


def as_html(text: str) -> str:
    """The small HTML part beside every mail's text: the same words, its
    paragraphs and links, nothing more."""
    parts = []
    for paragraph in text.split("\n\n"):
        escaped = html_lib.escape(paragraph.strip())
        escaped = _LINK.sub(lambda m: f'<a href="{m.group(1)}">{m.group(1)}</a>', escaped)
        if escaped:
            parts.append("<p>" + escaped.replace("\n", "<br>\n") + "</p>")
    return ('<!doctype html><html><body style="font-family:sans-serif;max-width:40em">\n'
            + "\n".join(parts) + "\n</body></html>")


def queue_mail(to: str, subject: str, template: str | None, *, body: str | None = None, html: str | None = None,
               headers: dict[str, str] | None = None, **context) -> OutboxMail:
    """Add a mail to the current write unit; it is sent after the commit.
    ``template`` renders the text, or ``body`` is it already."""
    body = render_template(template, **context) if template else body or ""
    mail = OutboxMail(to_address=one_line(to, 320), subject=one_line(subject), body=body,
                      html=html if html is not None else as_html(body),
                      headers="\n".join(f"{one_line(k, 60)}: {one_line(v, 900)}" for k, v in (headers or {}).items())
                      or None, message_id=make_msgid(domain="communitarium"))
    db.session.add(mail)
    db.session.info.setdefault("outbox_pending", True)
    return mail


def _message(mail: OutboxMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.to_address
    message["Subject"] = one_line(mail.subject)
    message["Message-ID"] = mail.message_id or make_msgid(domain="communitarium")
    for line in (mail.headers or "").splitlines():
        name, _sep, value = line.partition(": ")
        if name and value:
            message[name] = value
    message.set_content(mail.body)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    return message


def _send_smtp(message: EmailMessage) -> None:
    config = current_app.config
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=20) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SMTP_USERNAME"]:
            smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
        smtp.send_message(message)


def _write_locally(mail: OutboxMail, message: EmailMessage) -> None:
    """Development: print the mail and keep a copy in instance/mail/."""
    folder = Path(current_app.instance_path) / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    (folder / f"{stamp}-{mail.id}.eml").write_bytes(bytes(message))
    print(f"\n--- mail to {mail.to_address}: {mail.subject}\n{mail.body}\n---", flush=True)


_DUE = (select(OutboxMail.id)
        .where(OutboxMail.sent_at.is_(None), OutboxMail.given_up_at.is_(None),
               or_(OutboxMail.next_attempt_at.is_(None), OutboxMail.next_attempt_at <= bindparam("now")),
               or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until <= bindparam("now")))
        .order_by(OutboxMail.id).limit(bindparam("limit")))


def deliver_pending(limit: int = 100) -> int:
    """Send the mail that is due; returns how many were sent. Never inside a
    write unit: sending is slow. Each step is a transaction that begins with
    its write, and no read stays open across the SMTP conversation: on SQLite
    a read held that long could not become the write that marks the mail sent."""
    sent = 0
    ids = db.session.scalars(_DUE, {"now": utcnow(), "limit": limit}).all()
    db.session.commit()
    for mail_id in ids:
        try:
            sent += _deliver_one(mail_id)
        except Exception:  # the database refused a step: the lease brings the mail back
            log.exception("delivering mail %s failed", mail_id)
            db.session.rollback()
    return sent


def _deliver_one(mail_id: int) -> int:
    now = utcnow()
    # Claim the row with a lease, so two senders never send it at once, and a
    # sender that dies leaves it to be sent again once the lease ends.
    claimed = db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id, OutboxMail.sent_at.is_(None), OutboxMail.given_up_at.is_(None),
               or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until <= now))
        .values(claimed_until=now + dt.timedelta(seconds=current_app.config.get("MAIL_LEASE_SECONDS",
                                                                                LEASE.total_seconds())),
                attempts=OutboxMail.attempts + 1)
    ).rowcount
    db.session.commit()
    if not claimed:
        return 0
    mail = db.session.get(OutboxMail, mail_id)
    attempts, to_address = mail.attempts, mail.to_address
    try:
        message = _message(mail)
        if current_app.config["SMTP_HOST"]:
            db.session.commit()  # end the read before the slow part
            _send_smtp(message)
        else:
            _write_locally(mail, message)
            db.session.commit()
    except Exception as error:  # a failed send stays in the outbox, to be tried later
        db.session.rollback()
        log.warning("mail %s to %s failed (attempt %s): %s", mail_id, to_address, attempts, error)
        given_up = attempts >= MAX_ATTEMPTS
        db.session.execute(update(OutboxMail).where(OutboxMail.id == mail_id).values(
            last_error=str(error)[:1000], claimed_until=None,
            given_up_at=utcnow() if given_up else None,
            next_attempt_at=None if given_up else utcnow() + backoff(attempts)))
        db.session.commit()
        return 0
    db.session.execute(update(OutboxMail).where(OutboxMail.id == mail_id)
                       .values(sent_at=utcnow(), claimed_until=None))
    db.session.commit()
    return 1


def purge_sent(now: dt.datetime | None = None) -> int:
    """Delete mail sent (or given up) more than KEEP_SENT ago: bodies hold live
    links and personal words. In the caller's write unit."""
    before = (now or utcnow()) - KEEP_SENT
    return db.session.execute(delete(OutboxMail).where(
        or_(OutboxMail.sent_at < before, OutboxMail.given_up_at < before))).rowcount


def _after_commit(session: Session) -> None:
    if session.info.pop("outbox_pending", False):
        session.info["outbox_flush"] = True


def deliver_after_request(response):
    """Send what this request's committed transactions queued."""
    if db.session.info.pop("outbox_flush", False):
        try:
            deliver_pending()
        except Exception:  # never fail a finished request over mail
            log.exception("delivering the outbox failed")
            db.session.rollback()
    return response


def _after_rollback(session: Session) -> None:
    session.info.pop("outbox_pending", None)


def _after_soft_rollback(session: Session, _transaction) -> None:
    _after_rollback(session)


def init_app(app: Flask) -> None:
    # db.session is shared by every app the tests create: listen once.
    if not event.contains(db.session, "after_commit", _after_commit):
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_soft_rollback", _after_soft_rollback)
    app.after_request(deliver_after_request)

    @app.cli.group("mail")
    def mail_cli():
        """Mail commands."""

    @mail_cli.command("send")
    def send_command():
        """Send mail left in the outbox (the job runner does it every minute)."""
        print(f"sent {deliver_pending(limit=1000)} mail(s)")
