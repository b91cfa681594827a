"""Changes that matter to those coming (time, place, status, a seat given):
recorded on the gathering, raising its calendar SEQUENCE where it should, and
told to those they concern, in the caller's write unit: a notice for members
(their settings decide how it is mailed), a mail for guests."""

from __future__ import annotations

from sqlalchemy import select

from ..auth.models import User
from ..circles import domain as circles
from ..extensions import db
from ..database import utcnow
from ..i18n import N_, _
from ..links import external_url
from ..mail import queue_mail
from ..notify import notify
from ..zones import local_of
from .models import Answer, Change, Cohost, Gathering

# Which edited fields are a change that matters, and of what kind.
MATTERS = {"starts_local": "time", "ends_local": "time", "time_zone": "time", "place": "place",
           "online_url": "place", "status": "status"}
# What a change mail names, in the reader's words (the templates translate them).
MATTER_WORDS = (N_("time"), N_("place"), N_("status"))


def record(gathering: Gathering, kind: str, answer: Answer | None = None, actor: User | None = None,
           **details) -> None:
    """Write down a change that matters and tell those it concerns (after the
    commit): one person (``answer``), or everyone with a seat or a waitlist
    place, except ``actor``, who made it."""
    change = Change(gathering_id=gathering.id, kind=kind, details=details)
    db.session.add(change)
    db.session.flush()
    recipients = [answer] if answer is not None else list(db.session.scalars(
        select(Answer).where(Answer.gathering_id == gathering.id, Answer.state.in_(("seated", "waiting")))
        .options(db.joinedload(Answer.user))))
    for person in recipients:
        if person.user is not None:
            notify(notice_kind(kind, details), person.user, f"change-{change.id}", circle=gathering.circle,
                   actor=actor, subject=lambda: _("%(title)s: %(what)s", title=gathering.title,
                                                  what=subject(kind, details)),
                   template="gatherings/notices/change.txt", url=link_for(gathering, person),
                   urgent=same_day_cancellation(gathering, details), gathering=gathering, kind=kind,
                   details=details)
            continue
        if not person.guest_email:
            continue
        queue_mail(person.guest_email, _("%(title)s: %(what)s", title=gathering.title, what=subject(kind, details)),
                   "gatherings/mail/change.txt", gathering=gathering, kind=kind, details=details, answer=person,
                   url=link_for(gathering, person))


def notice_kind(kind: str, details: dict) -> str:
    """Which kind of notice a change is: a seat, called off, moved (time or place), or another change."""
    if kind in ("seat", "approved"):
        return "gathering_seat"
    if details.get("status") == "cancelled" and "status" in details.get("kinds", []):
        return "gathering_cancelled"
    if {"time", "place"} & set(details.get("kinds", [])):
        return "gathering_moved"
    return "gathering_changed"


def same_day_cancellation(gathering: Gathering, details: dict) -> bool:
    """Called off for today: that passes quiet hours."""
    if details.get("status") != "cancelled" or "status" not in details.get("kinds", []):
        return False
    return local_of(utcnow(), gathering.time_zone).date() >= gathering.starts_local.date()


def subject(kind: str, details: dict) -> str:
    if kind == "seat":
        return _("a seat for you")
    if "status" in details.get("kinds", []):
        return {"cancelled": _("cancelled"), "confirmed": _("confirmed"),
                "tentative": _("not yet certain")}.get(details.get("status"), _("changed"))
    return _("changed")


def link_for(gathering: Gathering, answer: Answer) -> str | None:
    """Where the mail points: a guest never gets a link into the circle."""
    if answer.user_id is None:
        return external_url("gatherings.public", token=gathering.public_token) if gathering.public_token else None
    return external_url("gatherings.detail", slug=gathering.circle.slug, gathering_id=gathering.id)


def is_cohost(gathering: Gathering, user: User) -> bool:
    return db.session.get(Cohost, (gathering.id, user.id)) is not None


def note_steward_change(gathering: Gathering, actor: User, what: str) -> None:
    """A steward's change to someone else's gathering is written in the circle's log."""
    if gathering.host_id != actor.id and not is_cohost(gathering, actor):
        circles.log(gathering.circle, actor, "gathering_changed", subject=gathering.host,
                    gathering=gathering.id, title=gathering.title, what=what)
