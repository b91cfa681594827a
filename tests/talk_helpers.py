"""Helpers for tests of talking and deciding: Elm Street with its neighbours
(from gatherings_helpers), discussions and proposals made through the domain,
and the clock moved with time-machine."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.auth.models import User
from app.circles.models import Circle
from app.database import utcnow, write_unit
from app.extensions import db
from app.talk import domain
from app.talk.models import Discussion, Proposal

from .gatherings_helpers import email, neighbourhood, signed_in
from .helpers import post

WHEN = "%Y-%m-%dT%H:%M"


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.email == email(name)))


def circle_of(ids) -> Circle:
    return db.session.get(Circle, ids["circle"])


def talk_path(ids, rest: str = "") -> str:
    return f"/c/{ids['slug']}/talk{rest}"


def start(app, ids, who: str = "Ada", title: str = "Who has the key?", body: str = "For the shed.") -> int:
    with app.app_context():
        with write_unit():
            discussion = domain.start_discussion(circle_of(ids), user(who), title, body)
        return discussion.id


def say(app, discussion_id: int, who: str, body: str) -> int:
    with app.app_context():
        with write_unit():
            return domain.reply(discussion_id, user(who), body).id


def local_in(days: float = 3, zone: str = "Europe/Berlin") -> dt.datetime:
    """A wall time ``days`` from now in the circle's zone, to the minute (naive)."""
    from zoneinfo import ZoneInfo

    return (utcnow() + dt.timedelta(days=days)).astimezone(ZoneInfo(zone)).replace(tzinfo=None, second=0,
                                                                                    microsecond=0)


def propose(app, discussion_id: int, who: str = "Ada", kind: str = "consent", title: str = "Paint the shed green",
            days: float = 3, **fields) -> int:
    with app.app_context():
        with write_unit():
            proposal = domain.open_proposal(db.session.get(Discussion, discussion_id), user(who), kind=kind,
                                            title=title, closes_local=local_in(days), **fields)
        return proposal.id


def position(app, proposal_id: int, who: str, choice: str, reason: str = "") -> None:
    with app.app_context():
        with write_unit():
            domain.take_position(proposal_id, user(who), choice, reason)


def proposal_row(app, proposal_id: int) -> Proposal:
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        db.session.expunge(proposal)
        return proposal


def close(app, now: dt.datetime | None = None) -> list[int]:
    with app.app_context():
        with write_unit():
            return domain.close_due(now)


__all__ = ["neighbourhood", "post", "signed_in"]
