"""Seats and the waitlist: answering, withdrawing, approving, moving.

Every change of seats runs in the caller's write unit and begins by locking
the gathering's row (``lock_gathering``), so concurrent answers queue up one by
one: on PostgreSQL by FOR UPDATE, on SQLite by the IMMEDIATE unit. Seats are
taken with ``take`` (one conditional UPDATE, backed by a CHECK constraint), and
a double click meets a unique constraint.
"""

from __future__ import annotations

from sqlalchemy import select

from ..areas import areas
from ..auth.models import User
from ..circles import domain as circles
from ..database import give_back, lock, room, take, utcnow
from ..extensions import db
from ..i18n import _
from .changes import record
from .errors import GatheringError
from .models import Answer, Gathering


def lock_gathering(gathering_id: int) -> Gathering:
    """:raise GatheringError: there is no such gathering."""
    gathering = lock(Gathering, gathering_id)
    if gathering is None:
        raise GatheringError(_("There is no such gathering."))
    return gathering


def fits(gathering: Gathering, party: int) -> bool:
    left = room(gathering)
    return left is None or party <= left


def claim(gathering: Gathering, answer: Answer) -> bool:
    """Take this answer's seats and whatever else areas count with them (a
    meal's portions, see ``Areas.party_claim``): all of it, or nothing."""
    if not take(gathering, answer.party):
        return False
    taken = []
    for other in areas().party_claims:
        if not other.take(gathering, answer):
            for done in reversed(taken):
                done.give_back(gathering, answer)
            give_back(gathering, answer.party)
            return False
        taken.append(other)
    return True


def unclaim(gathering: Gathering, answer: Answer) -> None:
    give_back(gathering, answer.party)
    for other in areas().party_claims:
        other.give_back(gathering, answer)


def seat_or_wait(gathering: Gathering, answer: Answer) -> None:
    if claim(gathering, answer):
        answer.state, answer.waiting_since = "seated", None
    else:
        answer.state = "waiting"
        answer.waiting_since = answer.waiting_since or utcnow()


def release(gathering: Gathering, answer: Answer) -> bool:
    """Give back this answer's seats; True if any were freed."""
    if answer.state != "seated":
        return False
    unclaim(gathering, answer)
    # Seats a host gave beyond the capacity go back first: the gathering
    # returns to its capacity rather than staying over it for good.
    gathering.extra_seats -= min(gathering.extra_seats, answer.party)
    answer.state = "none"
    return True


def waitlist(gathering: Gathering) -> list[Answer]:
    """The waitlist, first come first: positions are the order, 1 to N, no gaps."""
    return list(db.session.scalars(
        select(Answer).where(Answer.gathering_id == gathering.id, Answer.state == "waiting")
        .options(db.joinedload(Answer.user)).order_by(Answer.waiting_since, Answer.id)))


def promote(gathering: Gathering, passing_over: Answer | None = None) -> list[Answer]:
    """Seat the first in line whose party fits, as long as seats are free
    (passing over someone a host has just moved onto the waitlist)."""
    given = []
    for waiting in waitlist(gathering):
        if room(gathering) == 0:
            break
        if waiting is passing_over:
            continue
        if claim(gathering, waiting):
            waiting.state, waiting.waiting_since = "seated", None
            given.append(waiting)
            record(gathering, "seat", answer=waiting, who=waiting.name)
    return given


def check_live(gathering: Gathering) -> None:
    """Seats and slot places are taken or moved only while a gathering is on.

    :raise GatheringError: it is cancelled, or over.
    """
    if gathering.is_cancelled:
        raise GatheringError(_("This gathering is cancelled."))
    if gathering.ends_at <= utcnow():
        raise GatheringError(_("This gathering is over."))


def check_open(gathering: Gathering, guests: int, saying_no: bool = False) -> None:
    check_live(gathering)
    # Closed answers still let people say they cannot come: that frees a seat.
    if gathering.answers_closed and not saying_no:
        raise GatheringError(_("The hosts have closed answers for this gathering."))
    if guests < 0 or guests > gathering.max_guests:
        raise GatheringError(_("You can bring up to %(n)s guests.", n=gathering.max_guests)
                             if gathering.max_guests else _("This gathering is for members only, without guests."),
                             "guests")


def _mine(gathering: Gathering, user: User) -> Answer | None:
    return db.session.scalar(select(Answer).where(Answer.gathering_id == gathering.id, Answer.user_id == user.id))


def answer(gathering_id: int, user: User, response: str, guests: int = 0, message: str = "",
           details: dict | None = None) -> Answer:
    """Answer going, maybe or can't go. Going takes a seat while one is free,
    else a place on the waitlist; with approval on, it first asks the hosts.
    ``details`` go to the areas that count more than seats (``Areas.party_claim``).

    :raise GatheringError: cancelled, closed, over, or too many guests.
    """
    gathering = lock_gathering(gathering_id)
    guests = guests if response == "going" else 0
    check_open(gathering, guests, saying_no=response == "cant")
    mine = _mine(gathering, user)
    if mine is None:
        mine = Answer(gathering_id=gathering.id, user_id=user.id, response=response)
        db.session.add(mine)
        db.session.flush()
    was_waiting, was_seated = mine.state == "waiting", mine.state == "seated"
    freed = release(gathering, mine)
    mine.response, mine.guests, mine.message = response, guests, message.strip()[:500]
    if response == "going":
        for other in areas().party_claims:
            if other.prepare is not None:
                other.prepare(gathering, mine, details)
    if response != "going":
        mine.state, mine.waiting_since = "none", None
    elif gathering.needs_approval and not mine.approved and gathering.host_id != user.id:
        mine.state = "asking"
    else:
        if was_seated and not claim(gathering, mine):
            # More guests than seats (or portions) left: keep the seat you
            # had, rather than send the whole party to the waitlist.
            raise GatheringError(_("There is no room for more guests right now; your own seat is kept."),
                                 "guests")
        if was_seated:
            mine.state, mine.waiting_since = "seated", None
        else:
            if not was_waiting:
                mine.waiting_since = None
            seat_or_wait(gathering, mine)
    if freed:
        promote(gathering)
    return mine


def withdraw(gathering_id: int, user: User) -> None:
    """Take my answer back entirely (leaving frees my seat for the waitlist)."""
    gathering = lock_gathering(gathering_id)
    mine = _mine(gathering, user)
    if mine is None:
        return
    freed = release(gathering, mine)
    db.session.delete(mine)
    if freed:
        promote(gathering)


def answer_in(gathering: Gathering, answer_id: int) -> Answer:
    found = db.session.get(Answer, answer_id)
    if found is None or found.gathering_id != gathering.id:
        raise GatheringError(_("There is no such answer."))
    return found


def decide_asking(gathering_id: int, answer_id: int, approve: bool) -> Answer:
    """A host approves (a seat or the waitlist, like any answer) or declines."""
    gathering = lock_gathering(gathering_id)
    asking = answer_in(gathering, answer_id)
    if asking.state != "asking":
        raise GatheringError(_("That answer was already decided."))
    if approve:
        asking.approved = True
        seat_or_wait(gathering, asking)
        record(gathering, "seat" if asking.state == "seated" else "approved", answer=asking, who=asking.name)
    else:
        asking.state, asking.response = "none", "cant"
    return asking


def move(gathering_id: int, answer_id: int, to: str, actor: User, over_capacity: bool = False) -> Answer:
    """A host moves someone onto a seat or onto the waitlist. Over the
    capacity only on purpose, and then it is written in the circle's log."""
    gathering = lock_gathering(gathering_id)
    check_live(gathering)
    moving = answer_in(gathering, answer_id)
    if to == "seated" and moving.state != "seated":
        if not fits(gathering, moving.party):
            if not over_capacity:
                raise GatheringError(_("No seat is free. Tick “over capacity” to give one anyway."),
                                     "over_capacity")
            gathering.extra_seats += moving.party - room(gathering)
            circles.log(gathering.circle, actor, "gathering_over_capacity", subject=moving.user,
                        gathering=gathering.id, title=gathering.title, who=moving.name)
        if not claim(gathering, moving):
            if fits(gathering, moving.party):
                raise GatheringError(_("There is a seat, but not enough of the rest (the food) for this party."),
                                     "over_capacity")
            raise RuntimeError("a seat made for someone was not there")
        moving.state, moving.waiting_since, moving.response = "seated", None, "going"
        record(gathering, "seat", answer=moving, who=moving.name)
    elif to == "waiting" and moving.state == "seated":
        release(gathering, moving)
        moving.state, moving.waiting_since = "waiting", utcnow()
        promote(gathering, passing_over=moving)
    return moving


def withdraw_everywhere(user: User, circle_id: int | None = None) -> None:
    """Withdraw every answer of this person (in one circle, or everywhere),
    locking each gathering as any seat change does, in id order so that two
    such withdrawals never wait on each other; freed seats go to the waitlist."""
    query = select(Answer.gathering_id).where(Answer.user_id == user.id)
    if circle_id is not None:
        query = query.join(Gathering, Gathering.id == Answer.gathering_id).where(Gathering.circle_id == circle_id)
    for gathering_id in sorted(db.session.scalars(query).all()):
        withdraw(gathering_id, user)
