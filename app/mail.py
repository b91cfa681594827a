"""Mail through an outbox.

Whatever sends mail writes an outbox row in the same transaction as the
change that causes it; the mail goes out only after that transaction
commits, so a rolled-back change never mails anyone and a crash after the
commit leaves the row to be sent by ``flask mail send``.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from flask import Flask, current_app, render_template
from sqlalchemy import String, Text, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .database import UTCDateTime, utcnow
from .extensions import db

log = logging.getLogger(__name__)


class OutboxMail(db.Model):
    __tablename__ = "outbox_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


def queue_mail(to: str, subject: str, template: str, **context) -> OutboxMail:
    """Add a mail to the current transaction; it is sent after the commit."""
    body = render_template(template, **context)
    mail = OutboxMail(to_address=to, subject=subject, body=body)
    db.session.add(mail)
    db.session.info.setdefault("outbox_pending", True)
    return mail


def _message(mail: OutboxMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain="communitarium")
    message.set_content(mail.body)
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


def deliver_pending(limit: int = 100) -> int:
    """Send unsent mail in its own transactions; returns how many were sent."""
    sent = 0
    ids = db.session.scalars(
        select(OutboxMail.id).where(OutboxMail.sent_at.is_(None)).order_by(OutboxMail.id).limit(limit)
    ).all()
    db.session.commit()
    for mail_id in ids:
        # Claim the row first, so two processes never send the same mail.
        claimed = db.session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail_id, OutboxMail.sent_at.is_(None))
            .values(sent_at=utcnow(), attempts=OutboxMail.attempts + 1)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        mail = db.session.get(OutboxMail, mail_id)
        try:
            message = _message(mail)
            if current_app.config["SMTP_HOST"]:
                _send_smtp(message)
            else:
                _write_locally(mail, message)
            sent += 1
        except Exception as error:  # a failed send stays in the outbox
            log.warning("mail %s to %s failed: %s", mail.id, mail.to_address, error)
            mail.sent_at = None
            mail.last_error = str(error)[:1000]
        db.session.commit()
    return sent


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
        """Send mail left in the outbox (run it from cron as a safety net)."""
        print(f"sent {deliver_pending(limit=1000)} mail(s)")
