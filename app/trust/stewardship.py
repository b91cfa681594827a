"""Stewardship from trust: members vouch for one another, and those with
enough vouches are the circle's stewards. Plain functions in the caller's
write unit (they never commit); each change locks the circle first.

- Eligible: a member for at least 7 days. Only eligible members vouch, and
  only they are counted (so a wave of new accounts makes nobody a steward).
- Enough: half of the eligible members, rounded up, at least 2, at most 5.
- A new circle's founder is its steward until it has three eligible
  members; then trust decides.
- Never without a steward: if vouches would leave none, the steward (or,
  with none left, the member) with the most vouches, then the
  longest-standing, stays one, and the log says why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from ..auth.models import User
from ..circles import domain as circles
from ..circles.models import Circle, LogEntry, Membership
from ..database import utcnow
from ..errors import RuleError
from ..extensions import db
from ..i18n import _
from ..links import external_url
from ..notify import notify
from ..templating import localtime
from .models import Vouch

ELIGIBLE_AFTER = dt.timedelta(days=7)
FOUNDING_UNTIL = 3  # eligible members before trust decides
STEWARD_ACTIONS = ("steward_trusted", "steward_ended", "steward_kept", "steward_made", "stewardship_passed")


class TrustError(RuleError):
    """A rule of trust said no; the message is for the person."""


def threshold(eligible: int) -> int:
    """Vouches a steward needs: half of the eligible members (rounded up), at least 2, at most 5."""
    return min(5, max(2, -(-eligible // 2)))


def is_eligible(membership: Membership, now: dt.datetime | None = None) -> bool:
    return membership.joined_at <= (now or utcnow()) - ELIGIBLE_AFTER


@dataclass(frozen=True)
class Standing:
    """Where a circle's trust stands: each member as (user_id, name, role,
    joined_at, vouches counted), who is eligible, and what is needed."""

    members: list
    eligible: set[int]
    counts: dict[int, int]
    needed: int
    founding: bool  # fewer than three eligible members: stewards stay as they are


def standing(circle_id: int, now: dt.datetime | None = None) -> Standing:
    """Two statements, whatever the circle's size."""
    since = (now or utcnow()) - ELIGIBLE_AFTER
    members = db.session.execute(
        select(Membership.user_id, User.display_name, Membership.role, Membership.joined_at)
        .join(User, User.id == Membership.user_id).where(Membership.circle_id == circle_id)
        .order_by(func.lower(User.display_name), User.id)).all()
    eligible = {m.user_id for m in members if m.joined_at <= since}
    counts: dict[int, int] = {}
    for voucher_id, member_id in db.session.execute(select(Vouch.voucher_id, Vouch.member_id)
                                                    .where(Vouch.circle_id == circle_id)):
        if voucher_id in eligible:
            counts[member_id] = counts.get(member_id, 0) + 1
    return Standing(members, eligible, counts, threshold(len(eligible)), len(eligible) < FOUNDING_UNTIL)


def vouches_of(circle_id: int, user: User) -> set[int]:
    """The members this person vouches for."""
    return set(db.session.scalars(select(Vouch.member_id).where(Vouch.circle_id == circle_id,
                                                                 Vouch.voucher_id == user.id)))


def _member(circle: Circle, user_id: int | None) -> Membership:
    membership = db.session.scalar(select(Membership).where(Membership.circle_id == circle.id,
                                                            Membership.user_id == user_id)) if user_id else None
    if membership is None:
        raise TrustError(_("That person is not a member of this circle."), "member")
    return membership


def vouch(circle: Circle, voucher: User, member_user_id: int | None, now: dt.datetime | None = None) -> list[str]:
    """Vouch for a member; stewardship follows at once. Returns what changed
    in stewardship, as log actions.

    :raise TrustError: oneself, a non-member, twice, or a voucher who is not
        yet eligible.
    """
    now = now or utcnow()
    circle = circles.lock_circle(circle.id)
    mine = _member(circle, voucher.id)
    target = _member(circle, member_user_id)
    if target.user_id == voucher.id:
        raise TrustError(_("You cannot vouch for yourself: trust is given by others."), "member")
    if not is_eligible(mine, now):
        raise TrustError(_("You can vouch for others once you have been a member for 7 days, from %(when)s.",
                           when=localtime(mine.joined_at + ELIGIBLE_AFTER, circle.time_zone)), "member")
    if db.session.scalar(select(Vouch.id).where(Vouch.circle_id == circle.id, Vouch.voucher_id == voucher.id,
                                                Vouch.member_id == target.user_id)) is not None:
        raise TrustError(_("You already vouch for %(name)s.", name=target.user.shown_name), "member")
    db.session.add(Vouch(circle_id=circle.id, voucher_id=voucher.id, member_id=target.user_id, created_at=now))
    db.session.flush()
    circles.log(circle, voucher, "vouched", subject=target.user)
    return settle(circle, now)


def withdraw(circle: Circle, voucher: User, member_user_id: int | None, now: dt.datetime | None = None) -> list[str]:
    """Take a vouch back; a steward who falls below what is needed stops being one.

    :raise TrustError: a non-member, or a vouch never given.
    """
    now = now or utcnow()
    circle = circles.lock_circle(circle.id)
    _member(circle, voucher.id)
    target = _member(circle, member_user_id)
    done = db.session.execute(delete(Vouch).where(Vouch.circle_id == circle.id, Vouch.voucher_id == voucher.id,
                                                  Vouch.member_id == target.user_id)).rowcount
    if not done:
        raise TrustError(_("You had not vouched for %(name)s, so there is nothing to withdraw.",
                           name=target.user.shown_name), "member")
    circles.log(circle, voucher, "vouch_withdrawn", subject=target.user)
    return settle(circle, now)


def _last_stewardship_action(circle_id: int, user_id: int) -> str | None:
    return db.session.scalar(select(LogEntry.action).where(
        LogEntry.circle_id == circle_id, LogEntry.subject_id == user_id, LogEntry.action.in_(STEWARD_ACTIONS))
        .order_by(LogEntry.id.desc()).limit(1))


def settle(circle: Circle, now: dt.datetime | None = None) -> list[str]:
    """Make the stewards those the vouches say, in the locked circle's unit;
    each change goes into the log with its numbers, and the person is told.
    Returns the log actions written (empty: nothing changed)."""
    now = now or utcnow()
    state = standing(circle.id, now)
    if not state.members:
        return []
    count = state.counts.get
    stewards = {m.user_id for m in state.members if m.role == "steward"}
    target = set(stewards) if state.founding else {m.user_id for m in state.members if count(m.user_id, 0) >= state.needed}
    kept = None
    if not target:
        pool = [m for m in state.members if m.user_id in stewards] or list(state.members)
        best = min(pool, key=lambda m: (-count(m.user_id, 0), m.joined_at, m.user_id))
        ties = [m for m in pool if count(m.user_id, 0) == count(best.user_id, 0)]
        kept = (best.user_id, "longest_standing" if len(ties) > 1 else "most_vouches")
        target = {best.user_id}
    written = []
    memberships = {m.user_id: m for m in db.session.scalars(select(Membership).where(
        Membership.circle_id == circle.id, Membership.user_id.in_(target ^ stewards | ({kept[0]} if kept else set()))))}
    needed = None if state.founding else state.needed
    for user_id in sorted(target - stewards):
        membership = memberships[user_id]
        membership.role = "steward"
        if kept and kept[0] == user_id:
            action = "steward_kept"
            circles.log(circle, None, action, subject=membership.user, vouches=count(user_id, 0), needed=needed,
                        why=kept[1])
        else:
            action = "steward_trusted"
            circles.log(circle, None, action, subject=membership.user, vouches=count(user_id, 0), needed=needed)
        written.append(action)
        _tell(circle, membership.user, action, now)
    for user_id in sorted(stewards - target):
        membership = memberships[user_id]
        membership.role = "member"
        circles.log(circle, None, "steward_ended", subject=membership.user, vouches=count(user_id, 0),
                    needed=needed)
        written.append("steward_ended")
        _tell(circle, membership.user, "steward_ended", now)
    if kept and kept[0] in stewards and count(kept[0], 0) < state.needed and not state.founding \
            and _last_stewardship_action(circle.id, kept[0]) != "steward_kept":
        circles.log(circle, None, "steward_kept", subject=memberships[kept[0]].user, vouches=count(kept[0], 0),
                    needed=needed, why=kept[1])
        written.append("steward_kept")
    return written


def _tell(circle: Circle, user: User, action: str, now: dt.datetime) -> None:
    if action == "steward_ended":
        subject = lambda: _("You are no longer a steward of %(circle)s", circle=circle.name)  # noqa: E731
    else:
        subject = lambda: _("You are now a steward of %(circle)s", circle=circle.name)  # noqa: E731
    notify("trust_stewardship", user, f"{action} {circle.id} {now.isoformat()}", circle=circle, subject=subject,
           template="trust/notices/stewardship.txt", url=external_url("trust.vouching", slug=circle.slug),
           action=action)


def settle_all(now: dt.datetime | None = None) -> int:
    """Every circle, as time makes members eligible (the job runner, hourly).
    Returns how many circles changed."""
    changed = 0
    for circle_id in db.session.scalars(select(Circle.id).order_by(Circle.id)).all():
        circle = circles.lock_circle(circle_id)
        if settle(circle, now):
            changed += 1
    return changed


def forget(circle: Circle, user: User) -> None:
    """A member left (or was removed): their vouches, given and received, go,
    and stewardship is settled again (after the membership is gone)."""
    db.session.execute(delete(Vouch).where(Vouch.circle_id == circle.id,
                                           (Vouch.voucher_id == user.id) | (Vouch.member_id == user.id)))
    settle(circle)


def forget_account(user: User) -> None:
    """An account is deleted: as leaving each circle where it gave or had vouches."""
    circle_ids = set(db.session.scalars(select(Vouch.circle_id).where(
        (Vouch.voucher_id == user.id) | (Vouch.member_id == user.id))))
    db.session.execute(delete(Vouch).where((Vouch.voucher_id == user.id) | (Vouch.member_id == user.id)))
    for circle_id in sorted(circle_ids):
        settle(circles.lock_circle(circle_id))
