"""Removing a member is a proposal, not a button: a steward opens it with a
reason, in a discussion of its own where the person concerned can answer;
the members at the moment it opened decide over seven days (consent by
default); if it passes, the person leaves as anyone leaves (the areas'
handlers), and is told. One open removal per person (the database holds it
too: talk's unique index on open action proposals)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

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
from ..zones import local_of
from .stewardship import TrustError

ACTION = "remove_member"
DECIDING = dt.timedelta(days=7)


def open_removal(circle: Circle, steward: Membership, subject_user_id: int | None, reason: str,
                 kind: str = "consent") -> Proposal:
    """Open the proposal (and its discussion), tell the person concerned.

    :raise TrustError: not a steward, oneself, not a member of this circle,
        no reason, or a removal about them is open already.
    """
    circle = circles.lock_circle(circle.id)
    if not steward.is_steward:
        raise TrustError(_("Only a steward opens a removal proposal."))
    reason = (reason or "").strip()
    subject = db.session.scalar(select(Membership).where(Membership.circle_id == circle.id,
                                                         Membership.user_id == subject_user_id)) \
        if subject_user_id else None
    if subject is None:
        raise TrustError(_("That person is not a member of this circle."), "member")
    if subject.user_id == steward.user_id:
        raise TrustError(_("You cannot propose your own removal: to go, leave the circle."), "member")
    if not reason:
        raise TrustError(_("Say why: the circle decides on your reasons, and the person can answer them."),
                         "reason")
    if kind not in ("consent", "consensus"):
        raise TrustError(_("Choose how the circle decides."), "kind")
    if open_removal_of(circle.id, subject.user_id) is not None:
        raise TrustError(_("A removal proposal about %(name)s is already open: take part in it instead.",
                           name=subject.user.shown_name), "member")
    author = db.session.get(User, steward.user_id)
    name = subject.user.shown_name
    discussion = talk.start_discussion(circle, author, _("Removing %(name)s from the circle", name=name), reason)
    closes_local = (local_of(utcnow() + DECIDING, circle.time_zone).replace(tzinfo=None, second=0, microsecond=0)
                    + dt.timedelta(minutes=1))
    proposal = talk.open_proposal(
        discussion, author, kind=kind, title=_("Remove %(name)s from the circle", name=name), body=reason,
        closes_local=closes_local, action=ACTION, subject=subject.user)
    circles.log(circle, author, "removal_opened", subject=subject.user, reason=reason)
    notify("trust_removal", subject.user, f"removal {proposal.id} opened", circle=circle, actor=author,
           subject=lambda: _("A proposal to remove you from %(circle)s", circle=circle.name),
           template="trust/notices/removal_opened.txt",
           url=external_url("talk.discussion", slug=circle.slug, discussion_id=discussion.id),
           proposal=proposal, reason=reason, zone=circle.time_zone)
    return proposal


def open_removal_of(circle_id: int, user_id: int) -> Proposal | None:
    return db.session.scalar(select(Proposal).where(Proposal.circle_id == circle_id, Proposal.action == ACTION,
                                                    Proposal.subject_id == user_id, Proposal.closed_at.is_(None)))


def passed(proposal: Proposal) -> None:
    """The proposal passed (talk's closing): the person leaves as anyone leaves, and is told."""
    subject = db.session.get(User, proposal.subject_id) if proposal.subject_id else None
    if subject is None:
        return
    circle = db.session.get(Circle, proposal.circle_id)
    author = db.session.get(User, proposal.author_id) if proposal.author_id else None
    if circles.leave_circle(circle.id, subject, removal={"by": author, "reason": proposal.body_source[:200]}):
        notify("trust_removed", subject, f"removal {proposal.id} passed", circle=circle,
               subject=lambda: _("You are no longer a member of %(circle)s", circle=circle.name),
               template="trust/notices/removed.txt", url=None, proposal=proposal)
