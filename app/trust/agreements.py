"""The circle's agreements: its written rules in Markdown, kept as numbered
versions, each readable as a change against the one before. A steward
changes them at once (logged, members told), or anyone proposes a change
and the circle decides (talk's proposals, the action "change_agreements")."""

from __future__ import annotations

import datetime as dt
import difflib

from sqlalchemy import func, select

from ..auth.models import User
from ..circles import domain as circles
from ..circles.models import Circle, Membership
from ..database import utcnow
from ..extensions import db
from ..i18n import _
from ..links import external_url
from ..notify import notify
from ..talk import domain as talk
from ..talk.models import Proposal
from ..text import render_markdown
from ..zones import local_of
from .stewardship import TrustError
from .models import AgreementVersion

ACTION = "change_agreements"
DECIDING = dt.timedelta(days=7)
LONGEST = 20_000  # characters: a few pages of rules


def current(circle_id: int) -> AgreementVersion | None:
    return db.session.scalar(select(AgreementVersion).where(AgreementVersion.circle_id == circle_id,
                                                            AgreementVersion.number.is_not(None))
                             .order_by(AgreementVersion.number.desc()).limit(1))


def versions(circle_id: int) -> list:
    """(number, note, review_on, in_force_at, author) of each version, newest first."""
    return db.session.execute(
        select(AgreementVersion.number, AgreementVersion.note, AgreementVersion.review_on,
               AgreementVersion.in_force_at, User.display_name, User.deleted_at)
        .outerjoin(User, User.id == AgreementVersion.author_id)
        .where(AgreementVersion.circle_id == circle_id, AgreementVersion.number.is_not(None))
        .order_by(AgreementVersion.number.desc())).all()


def version(circle_id: int, number: int) -> AgreementVersion | None:
    return db.session.scalar(select(AgreementVersion).where(AgreementVersion.circle_id == circle_id,
                                                            AgreementVersion.number == number))


def proposed(circle_id: int) -> list:
    """Changes proposed and still open: (proposal id, title, closes_at)."""
    return db.session.execute(
        select(Proposal.id, Proposal.title, Proposal.closes_at)
        .join(AgreementVersion, AgreementVersion.proposal_id == Proposal.id)
        .where(Proposal.circle_id == circle_id, Proposal.closed_at.is_(None), Proposal.closes_at > utcnow())
        .order_by(Proposal.closes_at)).all()


def of_proposal(proposal_id: int) -> AgreementVersion | None:
    return db.session.scalar(select(AgreementVersion).where(AgreementVersion.proposal_id == proposal_id))


def diff(before: str, after: str) -> list[tuple[str, str]]:
    """The change line by line: ("same"|"added"|"removed", line), with the
    unchanged lines around each change (difflib's grouping, 2 lines of context)."""
    a, b = (before or "").splitlines(), (after or "").splitlines()
    lines = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(2):
        if lines:
            lines.append(("gap", "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [("same", line) for line in a[i1:i2]]
            else:
                lines += [("removed", line) for line in a[i1:i2]]
                lines += [("added", line) for line in b[j1:j2]]
    return lines


def _check(circle_id: int, body: str, review_on: dt.date | None, note: str) -> str:
    body = (body or "").strip()
    if not body:
        raise TrustError(_("Write the agreements first."), "body")
    if len(body) > LONGEST:
        raise TrustError(_("That is longer than %(n)s characters: keep the agreements to a few pages.", n=LONGEST),
                         "body")
    if not (note or "").strip():
        raise TrustError(_("Say in a few words what changes and why."), "note")
    if review_on is not None:
        today = utcnow().date()
        if not today < review_on <= today + dt.timedelta(days=3650):
            raise TrustError(_("Choose a review date still to come, within ten years."), "review_on")
    now_in_force = current(circle_id)
    if now_in_force is not None and now_in_force.body_source == body and now_in_force.review_on == review_on:
        raise TrustError(_("That is the same as the agreements now: change something first."), "body")
    return body


def _put_in_force(row: AgreementVersion, circle: Circle, now: dt.datetime) -> None:
    with db.session.no_autoflush:  # a new row is numbered before it is written
        number = (db.session.scalar(select(func.max(AgreementVersion.number))
                                    .where(AgreementVersion.circle_id == circle.id)) or 0) + 1
    row.number, row.in_force_at = number, now
    db.session.flush()
    url = external_url("trust.agreement_version", slug=circle.slug, number=number)
    for user in db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                   .where(Membership.circle_id == circle.id)):
        notify("trust_agreements", user, f"agreements {circle.id} v{number}", circle=circle,
               actor=db.session.get(User, row.author_id) if row.author_id and not row.proposal_id else None,
               subject=lambda: _("The agreements of %(circle)s changed", circle=circle.name),
               template="trust/notices/agreements.txt", url=url, number=number, note=row.note)


def change(circle: Circle, steward: Membership, body: str, note: str, review_on: dt.date | None = None,
           now: dt.datetime | None = None) -> AgreementVersion:
    """A steward's change, in force at once: logged, and every member told.

    :raise TrustError: not a steward, empty, unchanged, no note, a bad review date.
    """
    now = now or utcnow()
    circle = circles.lock_circle(circle.id)
    if not steward.is_steward:
        raise TrustError(_("Only a steward changes the agreements at once; propose the change instead."))
    body = _check(circle.id, body, review_on, note)
    row = AgreementVersion(circle_id=circle.id, body_source=body, body_html=render_markdown(body),
                           note=note.strip(), review_on=review_on, author_id=steward.user_id, created_at=now)
    db.session.add(row)
    _put_in_force(row, circle, now)
    circles.log(circle, db.session.get(User, steward.user_id), "agreements_changed", version=row.number,
                note=row.note)
    return row


def propose(circle: Circle, author: User, body: str, note: str, review_on: dt.date | None = None,
            kind: str = "consent") -> Proposal:
    """Any member proposes a change; the circle decides over seven days."""
    circle = circles.lock_circle(circle.id)
    body = _check(circle.id, body, review_on, note)
    if kind not in ("consent", "consensus"):
        raise TrustError(_("Choose how the circle decides."), "kind")
    discussion = talk.start_discussion(circle, author, _("A change to our agreements"), note.strip())
    closes_local = (local_of(utcnow() + DECIDING, circle.time_zone).replace(tzinfo=None, second=0, microsecond=0)
                    + dt.timedelta(minutes=1))
    proposal = talk.open_proposal(discussion, author, kind=kind, title=_("Change our agreements: %(note)s",
                                                                         note=note.strip())[:120],
                                  body=note.strip(), closes_local=closes_local, action=ACTION)
    db.session.add(AgreementVersion(circle_id=circle.id, body_source=body, body_html=render_markdown(body),
                                    note=note.strip(), review_on=review_on, author_id=author.id,
                                    proposal_id=proposal.id))
    return proposal


def passed(proposal: Proposal) -> None:
    """The proposal passed (talk's closing): its text comes into force, logged, members told."""
    row = of_proposal(proposal.id)
    if row is None or row.number is not None:
        return
    circle = db.session.get(Circle, proposal.circle_id)
    _put_in_force(row, circle, proposal.closed_at or utcnow())
    circles.log(circle, None, "agreements_decided", version=row.number, note=row.note, proposal=proposal.id)


def review_entries(circle_id: int, slug: str, since: dt.date | None = None) -> list:
    """The review date of the agreements in force, for the circle's calendar."""
    from ..areas import CalendarEntry

    row = current(circle_id)
    if row is None or row.review_on is None:
        return []
    return [CalendarEntry(uid=f"trust-agreements-{circle_id}-{row.number}@communitarium", day=row.review_on,
                          summary=_("Review our agreements"), description=row.note,
                          url=external_url("trust.agreements_page", slug=slug), stamp=row.in_force_at or row.created_at)]
