"""Talking and deciding: plain functions the views, the closing command and
tests call in the caller's write unit (they never commit). Reads are in
queries.py, the result rules in rules.py."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

from sqlalchemy import delete, insert, select

from ..areas import areas
from ..auth.models import User
from ..circles import domain as circles
from ..circles.models import Circle, Membership
from ..database import lock, utcnow
from ..errors import RuleError
from ..extensions import db
from ..i18n import _
from ..links import external_url
from ..notify import notify
from ..text import render_markdown
from ..zones import localize, today_in
from . import rules
from .models import (CHOICES, POLL_CHOICES, STOPPING, Discussion, Elector, PollAnswer, PollOption, Position,
                     Proposal, ReadMarker, Reply)

EDIT_WINDOW = dt.timedelta(minutes=15)
LONGEST_OPEN = dt.timedelta(days=365)
SHORTEST_OPEN = dt.timedelta(minutes=10)


class TalkError(RuleError):
    """A rule of talking and deciding said no."""


# --- discussions -------------------------------------------------------------------------

def start_discussion(circle: Circle, author: User, title: str, body: str = "") -> Discussion:
    discussion = Discussion(circle_id=circle.id, author_id=author.id, title=title.strip(), body_source=body,
                            body_html=render_markdown(body), last_activity_at=utcnow())
    db.session.add(discussion)
    db.session.flush()
    mention(circle, author, body, discussion)
    return discussion


def discussion_of_gathering(gathering) -> Discussion:
    """A gathering's own discussion, made the first time someone writes in it
    (a page that shows it never writes). The gathering's row is locked first,
    so two first replies make one discussion."""
    from ..gatherings.models import Gathering

    lock(Gathering, gathering.id)
    found = db.session.scalar(select(Discussion).where(Discussion.gathering_id == gathering.id))
    if found is not None:
        return found
    discussion = Discussion(circle_id=gathering.circle_id, gathering_id=gathering.id, author_id=None,
                            title=gathering.title[:120], last_activity_at=utcnow())
    db.session.add(discussion)
    db.session.flush()
    return discussion


def discussion_of_thing(thing) -> Discussion:
    """A thing's own discussion (asking how it works, what to know before
    borrowing it), made with its first reply, as a gathering's is."""
    from ..lending.models import Thing

    lock(Thing, thing.id)
    found = db.session.scalar(select(Discussion).where(Discussion.thing_id == thing.id))
    if found is not None:
        return found
    discussion = Discussion(circle_id=thing.circle_id, thing_id=thing.id, author_id=None, title=thing.name[:120],
                            last_activity_at=utcnow())
    db.session.add(discussion)
    db.session.flush()
    return discussion


def reply(discussion_id: int, author: User, body: str) -> Reply:
    """Add a reply at the end; the author has read up to it."""
    discussion = lock(Discussion, discussion_id)
    body = body.strip()
    if not body:
        raise TalkError(_("Write something first."), "body")
    now = utcnow()
    new = Reply(discussion_id=discussion.id, author_id=author.id, body_source=body,
                body_html=render_markdown(body), created_at=now)
    db.session.add(new)
    db.session.flush()
    discussion.last_activity_at, discussion.last_reply_id = now, new.id
    mark_read(discussion.id, author, new.id)
    mention(db.session.get(Circle, discussion.circle_id), author, body, discussion)
    return new


def can_edit(item: Reply, user: User, now: dt.datetime | None = None) -> bool:
    return (item.author_id == user.id and item.removed_at is None
            and (now or utcnow()) - item.created_at <= EDIT_WINDOW)


def edit_reply(item: Reply, user: User, body: str) -> None:
    """Within 15 minutes of writing it, by its author; it then shows "edited"."""
    if not can_edit(item, user):
        raise TalkError(_("A reply can be changed only by its author, within 15 minutes of writing it."), "body")
    body = body.strip()
    if not body:
        raise TalkError(_("Write something first, or remove the reply."), "body")
    if body != item.body_source:
        item.body_source, item.body_html, item.edited_at = body, render_markdown(body), utcnow()


def can_remove(item: Reply, user: User, membership: Membership | None) -> bool:
    return item.removed_at is None and (item.author_id == user.id or bool(membership and membership.is_steward))


def remove_reply(item: Reply, user: User, membership: Membership | None) -> None:
    """The words go; "removed" stays in their place, so the thread still reads."""
    if not can_remove(item, user, membership):
        raise TalkError(_("Only its author or a steward can remove a reply."))
    item.body_source, item.body_html, item.removed_at = "", "", utcnow()
    if item.author_id != user.id:
        # A steward removing someone's words acts for the circle: the circle reads it in its log.
        discussion = db.session.get(Discussion, item.discussion_id)
        circles.log(db.session.get(Circle, discussion.circle_id), user, "reply_removed", subject=item.author,
                    discussion=discussion.id, title=discussion.title)


def mark_read(discussion_id: int, user: User, reply_id: int) -> None:
    """Read up to ``reply_id``; never backwards."""
    marker = db.session.get(ReadMarker, (discussion_id, user.id))
    if marker is None:
        db.session.add(ReadMarker(discussion_id=discussion_id, user_id=user.id, last_read_reply_id=reply_id))
    elif reply_id > marker.last_read_reply_id:
        marker.last_read_reply_id = reply_id


def mentioned(body: str, members: list[User]) -> list[User]:
    """Members named with @: "@Ada Lovelace", or "@Ada" where no other member
    shares that first name; case-insensitive."""
    text = (body or "").casefold()
    firsts = Counter(u.display_name.casefold().split(" ")[0] for u in members if u.display_name)
    found = []
    for user in members:
        name = user.display_name.casefold()
        if not name:
            continue
        first = name.split(" ")[0]
        names = [name] + ([first] if firsts[first] == 1 else [])
        if any(re.search(r"(?<![\w@])@" + re.escape(n) + r"(?!\w)", text) for n in names):
            found.append(user)
    return found


def mention(circle: Circle, author: User, body: str, discussion: Discussion) -> list[User]:
    """Tell each member named with @ (not the author), by mail for now."""
    if "@" not in (body or ""):
        return []
    members = list(db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                      .where(Membership.circle_id == circle.id, User.id != author.id)))
    told = mentioned(body, members)
    url = external_url("talk.discussion", slug=circle.slug, discussion_id=discussion.id)
    for user in told:
        if user.email:
            notify("talk_mention", user, f"discussion {discussion.id} at {utcnow().isoformat()}", circle=circle,
                   actor=author, subject=lambda: _("%(name)s mentioned you in %(circle)s", name=author.shown_name,
                                                   circle=circle.name),
                   template="talk/mail/mention.txt", url=url, user=user, author=author, discussion=discussion)
    return told


# --- proposals ---------------------------------------------------------------------------

def check_closing(closes_local: dt.datetime, zone: str, now: dt.datetime | None = None) -> dt.datetime:
    """The UTC closing time of a wall time; in the future, at most a year away."""
    now = now or utcnow()
    try:
        _local, closes_at = localize(closes_local, zone)
    except RuleError as error:
        raise TalkError(str(error), "closes_local")
    except (OverflowError, ValueError):
        raise TalkError(_("Close it within a year."), "closes_local")
    if closes_at < now + SHORTEST_OPEN:
        raise TalkError(_("That time has passed, or is too soon: leave at least 10 minutes to answer."),
                        "closes_local")
    if closes_at > now + LONGEST_OPEN:
        raise TalkError(_("Close it within a year."), "closes_local")
    return closes_at


def open_proposal(discussion: Discussion, author: User, *, kind: str, title: str, body: str = "",
                  closes_local: dt.datetime, quorum: int | None = None, open_results: bool = False,
                  options: list[dt.datetime] = (), duration_minutes: int | None = None,
                  tell: bool = True, action: str | None = None, subject: User | None = None) -> Proposal:
    """Open a proposal; the members of the circle right now are those who may
    take a position (a snapshot: people who join later cannot). With
    ``action`` (registered with areas.proposal_action), it does that when it
    passes; ``subject``, the person it is about, answers in its discussion but
    takes no position.

    :raise TalkError: a closing time past or over a year away, a time poll with
        fewer than two times or the same time twice, a time already past.
    """
    circle = db.session.get(Circle, discussion.circle_id)
    now = utcnow()
    closes_at = check_closing(closes_local, circle.time_zone, now)
    if quorum is not None and not 1 <= quorum <= 100:
        raise TalkError(_("A quorum is a share between 1% and 100%."), "quorum")
    if kind == "time_poll":
        options = [o for o in options if o is not None]
        if len(set(options)) != len(options):
            raise TalkError(_("The same time is there twice: offer different times."), "option1")
        if len(options) < 2:
            raise TalkError(_("Offer at least two times to choose from."), "option1")
        for option in options:
            try:
                _wall, starts_at = localize(option, circle.time_zone)
            except (RuleError, OverflowError, ValueError):
                raise TalkError(_("One of the times cannot be used: choose another."), "option1")
            if starts_at <= now:
                raise TalkError(_("One of the times has passed: offer times still to come."), "option1")
            if starts_at > now + dt.timedelta(days=3650):
                raise TalkError(_("One of the times is too far ahead."), "option1")
        open_results = True  # a poll for when to meet is read as it fills
    elif kind not in CHOICES:
        raise TalkError(_("Choose how the circle decides."), "kind")
    proposal = Proposal(discussion_id=discussion.id, circle_id=circle.id, author_id=author.id, kind=kind,
                        title=title.strip(), body_source=body, body_html=render_markdown(body), opened_at=now,
                        closes_at=closes_at, quorum=quorum, open_results=open_results,
                        duration_minutes=duration_minutes if kind == "time_poll" else None,
                        action=action, subject_id=subject.id if subject else None)
    db.session.add(proposal)
    db.session.flush()
    member_ids = list(db.session.scalars(select(Membership.user_id).where(Membership.circle_id == circle.id)))
    if subject is not None:
        member_ids = [i for i in member_ids if i != subject.id]
    if member_ids:
        db.session.execute(insert(Elector), [{"proposal_id": proposal.id, "user_id": i} for i in member_ids])
    proposal.members_at_opening = len(member_ids)
    for option in sorted(options):
        db.session.add(PollOption(proposal_id=proposal.id, starts_local=option))
    discussion = lock(Discussion, discussion.id)
    discussion.last_activity_at = now
    mention(circle, author, body, discussion)
    if tell:
        url = external_url("talk.proposal", slug=circle.slug, proposal_id=proposal.id)
        for user in db.session.scalars(select(User).where(User.id.in_(member_ids), User.id != author.id)):
            if user.email:
                notify("talk_opened", user, f"proposal {proposal.id} opened", circle=circle, actor=author,
                       subject=lambda: _("A proposal in %(circle)s: %(title)s", circle=circle.name,
                                         title=proposal.title),
                       template="talk/mail/opened.txt", url=url, user=user, proposal=proposal, author=author)
    return proposal


def is_open(proposal: Proposal, now: dt.datetime | None = None) -> bool:
    return proposal.closed_at is None and (now or utcnow()) < proposal.closes_at


def is_elector(proposal: Proposal, user: User) -> bool:
    return db.session.get(Elector, (proposal.id, user.id)) is not None


def _lock_open(proposal_id: int, user: User) -> Proposal:
    proposal = lock(Proposal, proposal_id)
    if not is_open(proposal):
        raise TalkError(_("This proposal has closed: positions can no longer change."))
    if not is_elector(proposal, user):
        raise TalkError(_("Only those who were members when the proposal opened take part in it."))
    return proposal


def take_position(proposal_id: int, user: User, choice: str, reason: str = "") -> Position:
    """Take or change one's position; one per person (the proposal's row is
    locked first, and the database refuses a second)."""
    proposal = _lock_open(proposal_id, user)
    if choice not in CHOICES.get(proposal.kind, ()):
        raise TalkError(_("Choose one of the positions offered."), "choice")
    reason = (reason or "").strip()
    if choice in STOPPING and not reason:
        raise TalkError(_("An objection needs a reason.") if choice == "object" else _("A block needs a reason."),
                        "reason")
    position = db.session.scalar(select(Position).where(Position.proposal_id == proposal.id,
                                                        Position.user_id == user.id))
    if position is None:
        position = Position(proposal_id=proposal.id, user_id=user.id, choice=choice, reason=reason)
        db.session.add(position)
    else:
        position.choice, position.reason = choice, reason
    db.session.flush()
    return position


def answer_poll(proposal_id: int, user: User, answers: dict[int, str]) -> None:
    """A time poll: yes, if need be (maybe) or no for each time offered."""
    proposal = _lock_open(proposal_id, user)
    option_ids = set(db.session.scalars(select(PollOption.id).where(PollOption.proposal_id == proposal.id)))
    if not answers or set(answers) - option_ids or any(c not in POLL_CHOICES for c in answers.values()):
        raise TalkError(_("Answer each time with yes, if need be, or no."), "option1")
    mine = {a.option_id: a for a in db.session.scalars(select(PollAnswer).where(
        PollAnswer.option_id.in_(option_ids), PollAnswer.user_id == user.id))}
    for option_id, choice in answers.items():
        if option_id in mine:
            mine[option_id].choice = choice
        else:
            db.session.add(PollAnswer(option_id=option_id, user_id=user.id, choice=choice))
    db.session.flush()


def result_of(proposal: Proposal) -> rules.Result:
    """The result: as recorded at close, or computed now from the rule (a page
    past closing time shows it before the closing job has run)."""
    if proposal.result is not None:
        return rules.Result.from_dict(proposal.result)
    if proposal.kind == "time_poll":
        options = db.session.scalars(select(PollOption).where(PollOption.proposal_id == proposal.id)
                                     .order_by(PollOption.starts_local)).all()
        tallies = {o.id: {"yes": 0, "maybe": 0, "no": 0} for o in options}
        people = set()
        for option_id, user_id, choice in db.session.execute(
                select(PollAnswer.option_id, PollAnswer.user_id, PollAnswer.choice)
                .where(PollAnswer.option_id.in_(tallies))):
            tallies[option_id][choice] += 1
            people.add(user_id)
        return rules.decide_poll(proposal.members_at_opening,
                                 [rules.OptionTally(o.id, **tallies[o.id]) for o in options], len(people),
                                 proposal.quorum)
    given = [rules.Given(p.choice, p.reason, p.user.shown_name if p.user else _("a former member"))
             for p in db.session.scalars(select(Position).where(Position.proposal_id == proposal.id)
                                         .options(db.joinedload(Position.user)))]
    return rules.decide(proposal.kind, proposal.members_at_opening, given, proposal.quorum)


def close_due(now: dt.datetime | None = None) -> list[int]:
    """Record the result of every proposal past its closing time, once: a
    proposal already closed is left alone, so running it twice changes
    nothing. Returns the ids closed now."""
    now = now or utcnow()
    closed = []
    for proposal_id in db.session.scalars(select(Proposal.id).where(Proposal.closed_at.is_(None),
                                                                    Proposal.closes_at <= now)).all():
        proposal = lock(Proposal, proposal_id)
        if proposal.closed_at is not None:
            continue
        result = result_of(proposal)
        proposal.result = result.as_dict()
        proposal.closed_at = now
        closed.append(proposal.id)
        _tell_closed(proposal)
        if proposal.action and result.passed:
            areas().proposal_actions[proposal.action](proposal)
            proposal.action_done_at = now
        for handler in areas().proposal_closed:  # what other areas decided by proposal (closing a circle)
            handler(proposal)
    return closed


def remind_closing(now: dt.datetime | None = None) -> list[int]:
    """Tell each member who could take part and has not, once, when a proposal
    closes within a day. Returns the ids of the proposals reminded about now."""
    now = now or utcnow()
    reminded = []
    for proposal_id in db.session.scalars(select(Proposal.id).where(
            Proposal.closed_at.is_(None), Proposal.reminded_at.is_(None), Proposal.closes_at > now,
            Proposal.closes_at <= now + dt.timedelta(hours=24))).all():
        proposal = lock(Proposal, proposal_id)
        if proposal.reminded_at is not None:
            continue
        proposal.reminded_at = now
        reminded.append(proposal.id)
        circle = db.session.get(Circle, proposal.circle_id)
        if proposal.kind == "time_poll":
            answered = select(PollAnswer.user_id).join(PollOption, PollOption.id == PollAnswer.option_id).where(
                PollOption.proposal_id == proposal.id)
        else:
            answered = select(Position.user_id).where(Position.proposal_id == proposal.id)
        url = external_url("talk.proposal", slug=circle.slug, proposal_id=proposal.id)
        for user in db.session.scalars(
                select(User).join(Elector, Elector.user_id == User.id)
                .join(Membership, (Membership.user_id == User.id) & (Membership.circle_id == circle.id))
                .where(Elector.proposal_id == proposal.id, User.id.not_in(answered))):
            if user.email:
                notify("talk_closing", user, f"proposal {proposal.id} closing", circle=circle,
                       subject=lambda: _("Closes within a day: %(title)s", title=proposal.title),
                       template="talk/mail/closing.txt", url=url, user=user, proposal=proposal)
    return reminded


def _tell_closed(proposal: Proposal) -> None:
    circle = db.session.get(Circle, proposal.circle_id)
    result = rules.Result.from_dict(proposal.result)
    url = external_url("talk.proposal", slug=circle.slug, proposal_id=proposal.id)
    people = db.session.scalars(select(User).join(Elector, Elector.user_id == User.id)
                                .join(Membership, (Membership.user_id == User.id)
                                      & (Membership.circle_id == circle.id))
                                .where(Elector.proposal_id == proposal.id))
    for user in people:
        if user.email:
            notify("talk_closed", user, f"proposal {proposal.id} closed", circle=circle,
                   subject=lambda: _("Closed: %(title)s", title=proposal.title), template="talk/mail/closed.txt",
                   url=url, user=user, proposal=proposal, sentence=lambda: rules.sentence(result))


def can_conclude(proposal: Proposal, user: User, membership: Membership | None) -> bool:
    return proposal.author_id == user.id or bool(membership and membership.is_steward)


def set_outcome(proposal_id: int, user: User, membership: Membership | None, outcome: str,
                review_on: dt.date | None) -> None:
    """The proposer's (or a steward's) written outcome, once it has closed,
    and when the circle looks at it again."""
    proposal = lock(Proposal, proposal_id)
    if not can_conclude(proposal, user, membership):
        raise TalkError(_("The proposer or a steward writes the outcome."))
    if is_open(proposal):
        raise TalkError(_("Write the outcome once the proposal has closed."), "outcome")
    if review_on is not None:
        today = today_in(db.session.get(Circle, proposal.circle_id))
        if not today < review_on <= today + dt.timedelta(days=3650):
            raise TalkError(_("Choose a review date still to come, within ten years."), "review_on")
    outcome = (outcome or "").strip()
    if not outcome:
        raise TalkError(_("Say what the circle decided."), "outcome")
    proposal.outcome_source, proposal.outcome_html, proposal.review_on = outcome, render_markdown(outcome), review_on


def gathering_from_poll(proposal_id: int, user: User, membership: Membership | None, option_id: int,
                        title: str, place: str = ""):
    """The chosen time becomes a gathering, hosted by whoever makes it: one
    step, once (the proposal's row is locked, and remembers it)."""
    from ..gatherings import domain as gatherings
    from ..gatherings.errors import GatheringError

    proposal = lock(Proposal, proposal_id)
    if proposal.kind != "time_poll" or not can_conclude(proposal, user, membership):
        raise TalkError(_("The proposer or a steward makes the gathering."))
    if proposal.gathering_id is not None:
        raise TalkError(_("This poll has already become a gathering."))
    if is_open(proposal):
        raise TalkError(_("Make the gathering once the poll has closed."))
    option = db.session.get(PollOption, option_id)
    if option is None or option.proposal_id != proposal.id:
        raise TalkError(_("Choose one of the times offered."), "option")
    circle = db.session.get(Circle, proposal.circle_id)
    minutes = proposal.duration_minutes or 120
    try:
        gathering = gatherings.create_gathering(
            circle, user, title=title or proposal.title, starts_local=option.starts_local,
            ends_local=option.starts_local + dt.timedelta(minutes=minutes), description=proposal.body_source,
            place=place)
    except GatheringError as error:
        raise TalkError(str(error), "option")
    proposal.gathering_id = gathering.id
    return gathering


# --- people leaving --------------------------------------------------------------------

def _open_in(circle_id: int | None):
    query = select(Proposal.id).where(Proposal.closed_at.is_(None), Proposal.closes_at > utcnow())
    return query if circle_id is None else query.where(Proposal.circle_id == circle_id)


def member_left(circle: Circle, user: User) -> None:
    """A member who leaves before a proposal closes takes back their position
    (the count of members at opening stays); what they wrote stays; their
    read markers in the circle go."""
    open_ids = _open_in(circle.id)
    db.session.execute(delete(Position).where(Position.user_id == user.id, Position.proposal_id.in_(open_ids)))
    db.session.execute(delete(PollAnswer).where(PollAnswer.user_id == user.id, PollAnswer.option_id.in_(
        select(PollOption.id).where(PollOption.proposal_id.in_(open_ids)))))
    db.session.execute(delete(Elector).where(Elector.user_id == user.id, Elector.proposal_id.in_(open_ids)))
    db.session.execute(delete(ReadMarker).where(ReadMarker.user_id == user.id, ReadMarker.discussion_id.in_(
        select(Discussion.id).where(Discussion.circle_id == circle.id))))


def account_deleted(user: User) -> None:
    """As leaving every circle; replies, discussions and closed positions stay,
    signed "a former member" (the account row remains, without a name)."""
    open_ids = _open_in(None)
    db.session.execute(delete(Position).where(Position.user_id == user.id, Position.proposal_id.in_(open_ids)))
    db.session.execute(delete(PollAnswer).where(PollAnswer.user_id == user.id, PollAnswer.option_id.in_(
        select(PollOption.id).where(PollOption.proposal_id.in_(open_ids)))))
    db.session.execute(delete(Elector).where(Elector.user_id == user.id, Elector.proposal_id.in_(open_ids)))
    db.session.execute(delete(ReadMarker).where(ReadMarker.user_id == user.id))

