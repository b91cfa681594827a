"""Moderation: any member reports a reply, a discussion, a gathering or a
member to the stewards, with a reason; stewards hide (the author still sees
it, with the reason), warn, open a removal proposal or leave it be. Every
action goes into the circle's log with its reason; who reported stays with
the stewards."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..auth.models import User
from ..circles import domain as circles
from ..circles.models import Circle, Membership
from ..database import lock, utcnow
from ..extensions import db
from ..gatherings.models import Gathering
from ..i18n import N_, _
from ..links import external_url
from ..notify import notify
from ..talk.models import Discussion, Reply
from .models import REPORT_KINDS, Report
from .stewardship import TrustError

KIND_WORDS = {"reply": N_("a reply"), "discussion": N_("a discussion"), "gathering": N_("a gathering"),
              "member": N_("a member")}


class Target:
    """What a report is about, found in this circle: the item (None for a
    member), its author or the member, its title for the queue, its page."""

    def __init__(self, kind: str, item, about: User | None, title: str, url: str):
        self.kind, self.item, self.about, self.title, self.url = kind, item, about, title, url

    @property
    def hidden(self) -> bool:
        return self.item is not None and self.item.hidden_reason is not None


def find(circle: Circle, kind: str, target_id: int | None) -> Target | None:
    """The thing to report in this circle, or None (another circle's, or nothing)."""
    if kind not in REPORT_KINDS or not target_id or not 0 < target_id < 2**31:
        return None
    slug = circle.slug
    if kind == "reply":
        item = db.session.get(Reply, target_id)
        discussion = db.session.get(Discussion, item.discussion_id) if item else None
        if discussion is None or discussion.circle_id != circle.id or item.removed_at is not None:
            return None
        return Target(kind, item, item.author, discussion.title,
                      external_url("talk.discussion", slug=slug, discussion_id=discussion.id) + f"#reply-{item.id}")
    if kind == "discussion":
        item = db.session.get(Discussion, target_id)
        if item is None or item.circle_id != circle.id or item.gathering_id is not None:
            return None
        return Target(kind, item, item.author, item.title,
                      external_url("talk.discussion", slug=slug, discussion_id=item.id))
    if kind == "gathering":
        item = db.session.get(Gathering, target_id)
        if item is None or item.circle_id != circle.id:
            return None
        return Target(kind, item, db.session.get(User, item.host_id) if item.host_id else None, item.title,
                      external_url("gatherings.detail", slug=slug, gathering_id=item.id))
    membership = db.session.scalar(select(Membership).where(Membership.circle_id == circle.id,
                                                            Membership.user_id == target_id))
    if membership is None:
        return None
    return Target(kind, None, membership.user, membership.user.shown_name,
                  external_url("circles.members", slug=slug))


def report(circle: Circle, reporter: User, kind: str, target_id: int | None, reason: str,
           now: dt.datetime | None = None) -> Report:
    """A member's report, for the stewards' queue.

    :raise TrustError: nothing like that in this circle, about oneself, an
        item already hidden, no reason, or the same report twice.
    """
    target = find(circle, kind, target_id)
    if target is None and kind == "member":
        raise TrustError(_("That person is not a member of this circle."), "member")
    if target is None:
        raise TrustError(_("There is nothing like that in this circle to report."))
    if target.about is not None and target.about.id == reporter.id:
        raise TrustError(_("This is about you: you can change or remove what you wrote yourself, and talk to a "
                           "steward if something weighs on you."))
    if target.hidden:
        raise TrustError(_("The stewards have already hidden this. Thank you for looking out."))
    reason = (reason or "").strip()
    if not reason:
        raise TrustError(_("Say what is wrong, so the stewards know what to look at."), "reason")
    if db.session.scalar(select(Report.id).where(Report.circle_id == circle.id, Report.reporter_id == reporter.id,
                                                 Report.kind == kind, Report.target_id == target_id,
                                                 Report.resolved_at.is_(None))) is not None:
        raise TrustError(_("You have reported this already; the stewards have it in their queue."))
    row = Report(circle_id=circle.id, reporter_id=reporter.id, kind=kind, target_id=target_id,
                 about_id=target.about.id if target.about else None, reason=reason, created_at=now or utcnow())
    db.session.add(row)
    db.session.flush()
    for steward in db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                      .where(Membership.circle_id == circle.id, Membership.role == "steward")):
        notify("trust_report", steward, f"report {row.id}", circle=circle, actor=reporter,
               subject=lambda: _("Something was reported in %(circle)s", circle=circle.name),
               template="trust/notices/report.txt", url=external_url("trust.queue", slug=circle.slug),
               kind=kind)
    return row


def queue(circle_id: int) -> list[Report]:
    """Open reports, oldest first."""
    return list(db.session.scalars(select(Report).where(Report.circle_id == circle_id, Report.resolved_at.is_(None))
                                   .options(db.joinedload(Report.reporter), db.joinedload(Report.about))
                                   .order_by(Report.created_at, Report.id)))


def resolved(circle_id: int, limit: int = 20) -> list[Report]:
    return list(db.session.scalars(select(Report).where(Report.circle_id == circle_id,
                                                        Report.resolved_at.is_not(None))
                                   .options(db.joinedload(Report.resolved_by), db.joinedload(Report.about))
                                   .order_by(Report.resolved_at.desc(), Report.id.desc()).limit(limit)))


def act(circle: Circle, steward: Membership, report_id: int, action: str, note: str,
        now: dt.datetime | None = None) -> Report:
    """A steward's answer to a report: "hide", "warn" or "dismiss", with a
    reason that goes into the log. Every open report of the same thing is
    answered with it. (A removal is opened on its own page, which then marks
    the report.)

    :raise TrustError: not a steward, answered already, no reason, nothing to hide.
    """
    now = now or utcnow()
    if not steward.is_steward:
        raise TrustError(_("Only stewards answer reports."))
    row = lock(Report, report_id)
    if row.circle_id != circle.id:
        raise TrustError(_("There is no such report in this circle."))
    if row.resolved_at is not None:
        raise TrustError(_("Another steward has already answered this report."))
    note = (note or "").strip()
    if not note:
        raise TrustError(_("Give your reason: it goes into the circle’s log, for every member to read."), "note")
    if action not in ("hide", "warn", "dismiss"):
        raise TrustError(_("Choose what to do."), "action")
    actor = db.session.get(User, steward.user_id)
    target = find(circle, row.kind, row.target_id)
    what = _(KIND_WORDS[row.kind])
    if action == "hide":
        if target is None or target.item is None:
            raise TrustError(_("Only a reply, a discussion or a gathering can be hidden."), "action")
        if target.hidden:
            raise TrustError(_("That is hidden already."), "action")
        target.item.hidden_reason = note[:300]
        circles.log(circle, actor, "content_hidden", subject=target.about, kind=row.kind, reason=note)
        if target.about is not None:
            notify("trust_warning", target.about, f"hidden {row.kind} {row.target_id}", circle=circle, actor=actor,
                   subject=lambda: _("The stewards of %(circle)s hid something you wrote", circle=circle.name),
                   template="trust/notices/hidden.txt", url=target.url, what=what, reason=note)
    elif action == "warn":
        if target is None or target.about is None:
            raise TrustError(_("There is nobody to warn: the author is no longer in the circle."), "action")
        circles.log(circle, actor, "member_warned", subject=target.about, kind=row.kind, reason=note)
        notify("trust_warning", target.about, f"warned {row.id}", circle=circle, actor=actor,
               subject=lambda: _("A word from the stewards of %(circle)s", circle=circle.name),
               template="trust/notices/warned.txt", url=target.url, what=what, reason=note)
    else:
        circles.log(circle, actor, "report_dismissed", kind=row.kind, reason=note)
    resolution = {"hide": "hidden", "warn": "warned", "dismiss": "dismissed"}[action]
    close(circle, row, actor, resolution, note, now)
    return row


def close(circle: Circle, row: Report, actor: User, resolution: str, note: str, now: dt.datetime) -> None:
    """Answer this report and every other open one about the same thing."""
    for other in db.session.scalars(select(Report).where(Report.circle_id == circle.id, Report.kind == row.kind,
                                                         Report.target_id == row.target_id,
                                                         Report.resolved_at.is_(None))):
        other.resolved_at, other.resolved_by_id, other.resolution, other.note = now, actor.id, resolution, note[:300]


def close_for_removal(circle: Circle, actor: User, report_id: int | None, subject_id: int, reason: str) -> None:
    """A removal was opened from a report: it is answered so."""
    if not report_id:
        return
    row = db.session.get(Report, report_id)
    if row is not None and row.circle_id == circle.id and row.resolved_at is None and row.about_id == subject_id:
        close(circle, row, actor, "removal", reason, utcnow())


def forget_reporter(user: User) -> None:
    """An account is deleted: its open reports go (the stewards' answers stay)."""
    db.session.execute(Report.__table__.delete().where(Report.reporter_id == user.id, Report.resolved_at.is_(None)))
