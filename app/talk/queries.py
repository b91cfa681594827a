"""What talk pages read: a constant number of statements per page, whatever
the number of discussions or replies (pages, never infinite scroll)."""

from __future__ import annotations

from dataclasses import dataclass
import datetime as dt

from sqlalchemy import and_, bindparam, case, func, or_, select

from ..auth.models import User
from ..circles.models import Circle, Membership
from ..database import utcnow
from ..zones import today_in
from ..extensions import db
from .models import Discussion, Elector, PollAnswer, PollOption, Position, Proposal, ReadMarker, Reply

PAGE_SIZE = 20  # discussions in a list
REPLIES_PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class ListedDiscussion:
    id: int
    title: str | None  # None: hidden by the stewards, and not the viewer's
    gathering_id: int | None
    thing_id: int | None
    last_activity_at: dt.datetime
    last_reply_id: int | None
    read_up_to: int | None  # None: never opened

    @property
    def unread(self) -> bool:
        return self.last_reply_id is not None and (self.read_up_to or 0) < self.last_reply_id


# A discussion the stewards hid keeps its title for its author alone (None for the others).
_SHOWN_TITLE = case((and_(Discussion.hidden_reason.is_not(None),
                          or_(Discussion.author_id.is_(None), Discussion.author_id != bindparam("user_id"))),
                     None), else_=Discussion.title)
_LIST = (select(Discussion.id, _SHOWN_TITLE, Discussion.gathering_id, Discussion.thing_id,
                Discussion.last_activity_at,
                Discussion.last_reply_id, ReadMarker.last_read_reply_id)
         .outerjoin(ReadMarker, (ReadMarker.discussion_id == Discussion.id)
                    & (ReadMarker.user_id == bindparam("user_id")))
         .where(Discussion.circle_id == bindparam("circle_id"))
         .order_by(Discussion.last_activity_at.desc(), Discussion.id.desc())
         .offset(bindparam("offset")).limit(bindparam("limit")))


def discussions(circle: Circle, viewer: User, page: int = 1, size: int = PAGE_SIZE):
    """The circle's discussions, the latest activity first (time order, never
    ranked), each marked unread for the viewer alone: (items, has_more)."""
    rows = db.session.execute(_LIST, {"circle_id": circle.id, "user_id": viewer.id,
                                      "offset": (page - 1) * size, "limit": size + 1}).all()
    return [ListedDiscussion(*row) for row in rows[:size]], len(rows) > size


_READ_UP_TO = select(ReadMarker.last_read_reply_id).where(ReadMarker.discussion_id == bindparam("discussion_id"),
                                                         ReadMarker.user_id == bindparam("user_id"))


def read_up_to(discussion: Discussion, user: User) -> int:
    return db.session.scalar(_READ_UP_TO, {"discussion_id": discussion.id, "user_id": user.id}) or 0


_PAGES = select(func.count(Reply.id), func.count(Reply.id).filter(Reply.id <= bindparam("read"))).where(
    Reply.discussion_id == bindparam("discussion_id"))


def reply_pages(discussion: Discussion, read_up_to: int, size: int = REPLIES_PER_PAGE) -> tuple[int, int]:
    """(how many pages, the page of the first unread reply), in one statement."""
    total, read = db.session.execute(_PAGES, {"discussion_id": discussion.id, "read": read_up_to}).one()
    pages = max(1, -(-total // size))
    return pages, min(pages, read // size + 1)


@dataclass(frozen=True, slots=True)
class ListedReply:
    """A reply as a page shows it: plain values from one statement (a page
    holds fifty; ORM objects cost more than the query)."""
    id: int
    author_id: int | None
    body_html: str
    created_at: dt.datetime
    edited_at: dt.datetime | None
    removed_at: dt.datetime | None
    hidden_reason: str | None  # the stewards' reason, when they hid it
    author_name: str | None  # None: a former member

    COLUMNS = ("id", "author_id", "body_html", "created_at", "edited_at", "removed_at", "hidden_reason")


_REPLIES = (select(*(getattr(Reply, c) for c in ListedReply.COLUMNS),
                   case((User.deleted_at.is_(None), User.display_name), else_=None))
            .outerjoin(User, User.id == Reply.author_id)
            .where(Reply.discussion_id == bindparam("discussion_id"), Reply.id >= bindparam("from_id"))
            .order_by(Reply.id).offset(bindparam("offset")).limit(bindparam("limit")))


def replies(discussion: Discussion, page: int, size: int = REPLIES_PER_PAGE, from_id: int = 0) -> list[ListedReply]:
    """One page of replies, oldest first, with their authors' names."""
    rows = db.session.execute(_REPLIES, {"discussion_id": discussion.id, "from_id": from_id,
                                         "offset": (page - 1) * size, "limit": size})
    return [ListedReply(*row) for row in rows]


def reply_row(reply_id: int, discussion: Discussion) -> ListedReply:
    return replies(discussion, 1, 1, from_id=reply_id)[0]


_PROPOSALS_IN = (select(Proposal.id, Proposal.title, Proposal.closes_at, Proposal.closed_at)
                 .where(Proposal.discussion_id == bindparam("discussion_id")).order_by(Proposal.id))


def proposals_in(discussion: Discussion) -> list:
    """(id, title, closes_at, closed_at) of each proposal made in a discussion."""
    return db.session.execute(_PROPOSALS_IN, {"discussion_id": discussion.id}).all()


def discussion_of_gathering(gathering_id: int) -> Discussion | None:
    return discussion_of("gathering", gathering_id)


def discussion_of(subject: str, subject_id: int) -> Discussion | None:
    """A gathering's or a thing's own discussion, if anyone has written in it."""
    column = Discussion.gathering_id if subject == "gathering" else Discussion.thing_id
    return db.session.scalar(select(Discussion).where(column == subject_id))


def last_replies(discussion: Discussion, n: int = 3) -> list[Reply]:
    rows = list(db.session.scalars(select(Reply).where(Reply.discussion_id == discussion.id)
                                   .options(db.joinedload(Reply.author)).order_by(Reply.id.desc()).limit(n)))
    return rows[::-1]


# --- proposals -------------------------------------------------------------------------

def positions(proposal: Proposal) -> list[Position]:
    return list(db.session.scalars(select(Position).where(Position.proposal_id == proposal.id)
                                   .options(db.joinedload(Position.user)).order_by(Position.created_at,
                                                                                   Position.id)))


def my_position(proposal: Proposal, user: User) -> Position | None:
    return db.session.scalar(select(Position).where(Position.proposal_id == proposal.id,
                                                    Position.user_id == user.id))


def poll(proposal: Proposal, user: User):
    """A time poll's options in time order, each with who said what, and the
    viewer's own answers: (options, {option_id: {choice: [names]}}, mine)."""
    options = list(db.session.scalars(select(PollOption).where(PollOption.proposal_id == proposal.id)
                                      .order_by(PollOption.starts_local)))
    answers = {o.id: {"yes": [], "maybe": [], "no": []} for o in options}
    mine = {}
    if options:
        for answer in db.session.scalars(select(PollAnswer).where(PollAnswer.option_id.in_(answers))
                                         .options(db.joinedload(PollAnswer.user)).order_by(PollAnswer.id)):
            answers[answer.option_id][answer.choice].append(answer.user.shown_name if answer.user else "")
            if answer.user_id == user.id:
                mine[answer.option_id] = answer.choice
    return options, answers, mine


_WAITING = (select(Proposal.id, Proposal.title, Proposal.closes_at, Proposal.kind, Circle.slug, Circle.name)
            .join(Elector, (Elector.proposal_id == Proposal.id) & (Elector.user_id == bindparam("user_id")))
            .join(Circle, Circle.id == Proposal.circle_id)
            .join(Membership, (Membership.circle_id == Proposal.circle_id)
                  & (Membership.user_id == bindparam("user_id")))
            .outerjoin(Position, (Position.proposal_id == Proposal.id) & (Position.user_id == bindparam("user_id")))
            .where(Proposal.closed_at.is_(None), Proposal.closes_at > bindparam("now"), Position.id.is_(None),
                   or_(Proposal.kind != "time_poll", ~select(PollAnswer.id).join(
                       PollOption, PollOption.id == PollAnswer.option_id).where(
                       PollOption.proposal_id == Proposal.id,
                       PollAnswer.user_id == bindparam("user_id")).exists()))
            .order_by(Proposal.closes_at).limit(bindparam("limit")))


def waiting_for(user: User, limit: int = 10) -> list:
    """Open proposals in my circles where I have taken no position yet, the
    soonest to close first: (id, title, closes_at, kind, slug, circle name)."""
    return db.session.execute(_WAITING, {"user_id": user.id, "now": utcnow(), "limit": limit}).all()


_OPEN_IN_CIRCLE = (select(Proposal.id, Proposal.title, Proposal.closes_at, Proposal.kind)
                   .where(Proposal.circle_id == bindparam("circle_id"), Proposal.closed_at.is_(None),
                          Proposal.closes_at > bindparam("now"))
                   .order_by(Proposal.closes_at).limit(bindparam("limit")))


def open_in(circle: Circle, limit: int = 5) -> list:
    return db.session.execute(_OPEN_IN_CIRCLE, {"circle_id": circle.id, "now": utcnow(), "limit": limit}).all()


def reviews(circle: Circle) -> list[Proposal]:
    """Outcomes with a review date still to come: for the circle's calendar."""
    return list(db.session.scalars(select(Proposal).where(
        and_(Proposal.circle_id == circle.id, Proposal.review_on.is_not(None),
             Proposal.review_on >= today_in(circle))).order_by(Proposal.review_on)))
