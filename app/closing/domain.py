"""Closing a circle, as plain functions in the caller's write unit."""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update

from ..auth.models import User
from ..circles import domain as circles
from ..circles.models import Circle, Invitation, Membership, Place
from ..database import utcnow, write_unit
from ..errors import RuleError
from ..extensions import db
from ..gatherings.models import Feed, Gathering
from ..i18n import _
from ..links import external_url
from ..notify import notify
from ..talk import domain as talk
from .models import ClosedLink, Closing

GRACE = dt.timedelta(days=30)
DECIDE_IN = dt.timedelta(days=7)


class ClosingError(RuleError):
    """Closing cannot happen now; the message says why."""


def closing_of(circle_id: int) -> Closing | None:
    return db.session.get(Closing, circle_id)


def is_closed(circle_id: int) -> bool:
    closing = closing_of(circle_id)
    return closing is not None and closing.closed_at is not None


def key_of(kind: str, token: str) -> str:
    return f"{kind}:{hashlib.sha256(token.encode()).hexdigest()}"


def propose(circle: Circle, steward: User, reason: str, now: dt.datetime | None = None):
    """Open the proposal to close the circle (consent: it passes unless
    someone objects, with a reason). Returns the proposal."""
    now = now or utcnow()
    existing = closing_of(circle.id)
    if existing is not None:
        raise ClosingError(_("Closing this circle has been proposed already."))
    body = "\n\n".join(part for part in (reason.strip(), _(
        "If this passes, %(circle)s becomes read-only for 30 days, and every member is told; then it is "
        "deleted with everything in it. Download the circle's export and your own data before then.",
        circle=circle.name)) if part)
    discussion = talk.start_discussion(circle, steward, _("Closing %(circle)s", circle=circle.name), "")
    closes_local = (now + DECIDE_IN).astimezone(ZoneInfo(circle.time_zone)).replace(tzinfo=None, second=0,
                                                                                     microsecond=0)
    proposal = talk.open_proposal(discussion, steward, kind="consent", title=_("Close %(circle)s", circle=circle.name),
                                  body=body, closes_local=closes_local)
    db.session.add(Closing(circle_id=circle.id, proposal_id=proposal.id, proposed_by_id=steward.id, proposed_at=now))
    circles.log(circle, steward, "closing_proposed", proposal=proposal.id)
    return proposal


def proposal_closed(proposal) -> None:
    """The talk area recorded a proposal's result: if it is a closing that
    passed, the circle closes; if not, it stays, and may be proposed again."""
    closing = db.session.scalar(select(Closing).where(Closing.proposal_id == proposal.id))
    if closing is None:
        return
    if not (proposal.result or {}).get("passed"):
        db.session.delete(closing)
        return
    close(db.session.get(Circle, closing.circle_id), closing, proposal.closed_at or utcnow())


def close(circle: Circle, closing: Closing, now: dt.datetime) -> None:
    """Read-only from now, deleted after the grace period. Links for people
    outside (invitations, shared gatherings, calendar feeds) stop at once and
    answer that the circle is closed; members are told."""
    closing.closed_at, closing.delete_after = now, now + GRACE
    keys = [key_of("join", i) for i in db.session.scalars(select(Invitation.token_hash)
                                                            .where(Invitation.circle_id == circle.id))]
    keys += [key_of("public", t) for t in db.session.scalars(select(Gathering.public_token).where(
        Gathering.circle_id == circle.id, Gathering.public_token.is_not(None)))]
    keys += [key_of("feed", t) for t in db.session.scalars(select(Feed.token).where(Feed.circle_id == circle.id))]
    for key in keys:
        db.session.merge(ClosedLink(key=key, closed_on=now.date()))
    db.session.execute(delete(Invitation).where(Invitation.circle_id == circle.id))
    db.session.execute(update(Gathering).where(Gathering.circle_id == circle.id).values(public_token=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(Feed).where(Feed.circle_id == circle.id))
    circles.log(circle, None, "circle_closed")
    until = closing.delete_after
    for user in db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                   .where(Membership.circle_id == circle.id)):
        notify("circle_closing", user, f"circle {circle.id} closing", circle=circle,
               subject=lambda: _("%(circle)s is closing", circle=circle.name),
               template="closing/notices/closing.txt", url=external_url("home.circle", slug=circle.slug),
               circle_name=circle.name, until=until, account=external_url("auth.account"))


def delete_circle(circle_id: int, today: dt.date) -> None:
    """The circle and everything in it (the database cascades from the
    circle), and the placeholders of an import nobody claimed; its address
    is kept as closed."""
    circle = db.session.get(Circle, circle_id)
    if circle is None:
        return
    db.session.merge(ClosedLink(key=f"c:{circle.slug}", closed_on=today))
    placeholders = list(db.session.scalars(select(Place.user_id).where(Place.circle_id == circle_id)))
    db.session.execute(delete(Circle).where(Circle.id == circle_id))
    if placeholders:
        db.session.execute(delete(User).where(User.id.in_(placeholders), User.email.is_(None)))


def delete_due(now: dt.datetime | None = None) -> list[int]:
    """The job: delete the circles whose grace period has run out, each in its own write unit."""
    now = now or utcnow()
    due = list(db.session.scalars(select(Closing.circle_id).where(Closing.delete_after <= now)))
    db.session.rollback()
    for circle_id in due:
        with write_unit():
            delete_circle(circle_id, now.date())
    return due


def sentence_proposed(d, a, s):
    return _("%(a)s proposed to close the circle.", a=a)


def sentence_closed(d, a, s):
    return _("The circle decided to close: it can be read for 30 days, then it is deleted.")
