"""Gatherings opened to people outside the circle, by an unguessable link.
A guest sees only that gathering and answers with a name and an email."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, select, update

from ..auth.domain import normalize_email
from ..extensions import db
from ..i18n import _
from ..links import external_url
from ..mail import queue_mail
from ..tokens import new_token, token_hash
from .errors import GatheringError
from .models import Answer, Gathering
from .seats import check_open, lock_gathering, promote, release, seat_or_wait

def open_publicly(gathering: Gathering) -> str:
    if not gathering.public_token:
        gathering.public_token = secrets.token_urlsafe(24)
    return gathering.public_token


def close_publicly(gathering: Gathering) -> None:
    gathering.public_token = None


def by_public_token(token: str) -> Gathering | None:
    if not token:
        return None
    return db.session.scalar(select(Gathering).where(Gathering.public_token == token))


def guest_answer(gathering_id: int, name: str, email: str) -> None:
    """A guest asks for a place: nothing is held until they confirm by mail.
    One answer per email per gathering."""
    email = normalize_email(email)
    gathering = lock_gathering(gathering_id)
    check_open(gathering, 0)
    existing = db.session.scalar(select(Answer).where(Answer.gathering_id == gathering.id,
                                                      func.lower(Answer.guest_email) == email))
    if existing is not None and existing.state != "unconfirmed":
        # A confirmed guest keeps their name and their links: anyone could type
        # their address. They are told that someone asked again.
        queue_mail(email, _("You already have your answer: %(title)s", title=gathering.title),
                   "gatherings/mail/guest_again.txt", gathering=gathering, name=existing.guest_name)
        return
    raw, hashed = new_token()
    if existing is None:
        existing = Answer(gathering_id=gathering.id, guest_email=email, response="going", state="unconfirmed")
        db.session.add(existing)
    existing.guest_name, existing.guest_token_hash = name.strip()[:80], hashed
    queue_mail(email, _("Confirm your place: %(title)s", title=gathering.title), "gatherings/mail/guest.txt",
               gathering=gathering, name=existing.guest_name,
               confirm_url=external_url("gatherings.guest", token=gathering.public_token, action="confirm",
                                        answer=raw),
               cancel_url=external_url("gatherings.guest", token=gathering.public_token, action="cancel",
                                       answer=raw))


def by_guest_token(raw: str) -> Answer | None:
    return db.session.scalar(select(Answer).where(Answer.guest_token_hash == token_hash(raw)))


def _guest(gathering: Gathering, raw: str) -> Answer:
    found = db.session.scalar(select(Answer).where(Answer.gathering_id == gathering.id,
                                                   Answer.guest_token_hash == token_hash(raw)))
    if found is None:
        raise GatheringError(_("This link does not work any more."))
    return found


def confirm_guest(gathering_id: int, raw: str) -> Answer:
    gathering = lock_gathering(gathering_id)
    guest = _guest(gathering, raw)
    if guest.state == "unconfirmed":
        if not gathering.public_token:
            raise GatheringError(_("The hosts no longer take answers from outside the circle."))
        check_open(gathering, 0)
        guest.state = "none"
        seat_or_wait(gathering, guest)
    return guest


def cancel_guest(gathering_id: int, raw: str) -> None:
    gathering = lock_gathering(gathering_id)
    guest = _guest(gathering, raw)
    freed = release(gathering, guest)
    db.session.delete(guest)
    if freed:
        promote(gathering)




KEEP_GUEST_EMAILS = dt.timedelta(days=30)


def purge(now: dt.datetime) -> dict[str, int]:
    """Guests' emails (and links) 30 days after their gathering ended: their
    name stays with the circle's record of who came."""
    ended = select(Gathering.id).where(Gathering.ends_at <= now - KEEP_GUEST_EMAILS)
    erased = db.session.execute(
        update(Answer).where(Answer.user_id.is_(None), Answer.guest_email.is_not(None),
                             Answer.gathering_id.in_(ended))
        .values(guest_email=None, guest_token_hash=None)).rowcount
    return {"guest emails": erased}
