"""What gatherings can do, as plain functions the views and tests call.

Every change of seats (answering, leaving, approving, moving, changing the
capacity) runs in ``write_transaction`` and begins by locking the gathering's
row, so concurrent answers queue up one by one: on PostgreSQL by FOR UPDATE,
on SQLite by the IMMEDIATE transaction. The seat counter on the row is backed
by a CHECK constraint, and a double click meets a unique constraint.
"""

from __future__ import annotations

import datetime as dt
import secrets
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from ..i18n import _
from sqlalchemy import bindparam, delete, func, select, update

from ..auth.domain import external_url
from ..auth.models import User
from ..circles import domain as circles
from ..circles.models import Circle, Membership
from ..database import UTC, utcnow, write_transaction
from ..extensions import db
from ..mail import queue_mail
from ..text import render_markdown
from .models import Answer, Change, Cohost, Gathering, ListedGathering, Series, Slot, SlotTaker

PAGE_SIZE = 20
TEMPLATE_FIELDS = ("title", "description_source", "place", "online_url", "capacity", "max_guests",
                   "needs_approval")


class GatheringError(Exception):
    """A rule said no; the message is for the person, ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# --- time ----------------------------------------------------------------------------

def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise GatheringError(_("We don't know that time zone. Pick one from the list."), "time_zone")


def localize(local: dt.datetime, zone_name: str) -> tuple[dt.datetime, dt.datetime]:
    """The wall time as it really happens, and its UTC instant.

    A wall time that does not exist (the hour skipped when clocks go forward)
    moves forward by the gap, as RFC 5545 says; one that happens twice (clocks
    go back) is the first of the two.
    """
    tz = zone(zone_name)
    instant = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    return instant.astimezone(tz).replace(tzinfo=None), instant


def local_of(instant: dt.datetime, zone_name: str) -> dt.datetime:
    return instant.astimezone(zone(zone_name))


# --- who may do what --------------------------------------------------------------------

def is_cohost(gathering: Gathering, user: User) -> bool:
    return db.session.get(Cohost, (gathering.id, user.id)) is not None


def can_manage(gathering: Gathering, user: User, membership: Membership | None) -> bool:
    """Hosts, co-hosts and the circle's stewards can edit, cancel and move people."""
    if gathering.host_id == user.id or (membership is not None and membership.is_steward):
        return True
    return is_cohost(gathering, user)


def _note_steward_change(gathering: Gathering, actor: User, what: str) -> None:
    # A steward's change to someone else's gathering is written in the circle's log.
    if gathering.host_id != actor.id and not is_cohost(gathering, actor):
        circles.log(gathering.circle, actor, "gathering_changed", subject=gathering.host,
                    gathering=gathering.id, title=gathering.title, what=what)


# --- posting and editing ---------------------------------------------------------------

def _check_link(url: str) -> str:
    url = (url or "").strip()
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
        raise GatheringError(_("A link must start with http:// or https://."), "online_url")
    return url


def _check_times(starts_local: dt.datetime, ends_local: dt.datetime, zone_name: str,
                 allow_past: bool = False) -> tuple[dt.datetime, dt.datetime, dt.datetime, dt.datetime]:
    starts_local, starts_at = localize(starts_local, zone_name)
    ends_local, ends_at = localize(ends_local, zone_name)
    if ends_at <= starts_at:
        raise GatheringError(_("That ends before it starts: choose an end after %(start)s.",
                               start=starts_local.strftime("%H:%M")), "ends_local")
    if not allow_past and starts_at <= utcnow():
        raise GatheringError(_("That time has passed: choose a time still to come."), "starts_local")
    return starts_local, ends_local, starts_at, ends_at


def create_gathering(circle: Circle, host: User, *, title: str, starts_local: dt.datetime,
                     ends_local: dt.datetime, time_zone: str | None = None, description: str = "",
                     place: str = "", online_url: str = "", capacity: int | None = None, max_guests: int = 0,
                     needs_approval: bool = False, status: str = "confirmed", cohosts: list[User] = (),
                     series: Series | None = None, occurrence_local: dt.datetime | None = None,
                     allow_past: bool = False) -> Gathering:
    """Post a gathering (in the caller's transaction).

    :raise GatheringError: an end before the start, a time in the past, an
        unknown zone, a link that is not http(s).
    """
    time_zone = time_zone or circle.time_zone
    starts_local, ends_local, starts_at, ends_at = _check_times(starts_local, ends_local, time_zone, allow_past)
    if capacity is not None and capacity < 1:
        raise GatheringError(_("A capacity is at least 1, or leave it empty for no limit."), "capacity")
    gathering = Gathering(
        uid=secrets.token_hex(16), circle_id=circle.id, host_id=host.id, title=title.strip(),
        description_source=description, description_html=render_markdown(description), time_zone=time_zone,
        starts_local=starts_local, ends_local=ends_local, starts_at=starts_at, ends_at=ends_at,
        place=place.strip(), online_url=_check_link(online_url), capacity=capacity, max_guests=max_guests,
        needs_approval=needs_approval, status=status, series_id=series.id if series else None,
        occurrence_local=occurrence_local)
    gathering.circle = circle
    db.session.add(gathering)
    db.session.flush()
    for person in cohosts:
        if person.id != host.id:
            db.session.add(Cohost(gathering_id=gathering.id, user_id=person.id))
    # The host is going, and holds a seat like anyone else.
    db.session.add(Answer(gathering_id=gathering.id, user_id=host.id, response="going", state="seated"))
    gathering.seats_taken = 1
    return gathering


MATTERS = {"starts_local": "time", "ends_local": "time", "time_zone": "time", "place": "place",
           "online_url": "place", "status": "status"}


def update_gathering(gathering_id: int, actor: User, membership: Membership | None, *, detach: bool = True,
                     **values) -> list[str]:
    """Edit a gathering. Changes of time, place or status are recorded, raise
    the calendar SEQUENCE and are mailed to those going and waiting; small
    edits notify nobody. Commits.

    :raise GatheringError: bad input, or a capacity below those already going.
    """
    with write_transaction():
        gathering = _lock(gathering_id)
        changed = _apply(gathering, values)
        if not changed:
            return []
        if detach and gathering.series_id:
            gathering.detached = True
        kinds = sorted({MATTERS[f] for f in changed if f in MATTERS})
        if kinds:
            gathering.sequence += 1
            _record(gathering, "changed", kinds=kinds, status=gathering.status)
        _note_steward_change(gathering, actor, ", ".join(changed))
        if "capacity" in changed:
            _promote(gathering)
        return changed


def _apply(gathering: Gathering, values: dict) -> list[str]:
    changed = []
    zone_name = values.get("time_zone", gathering.time_zone)
    if any(k in values for k in ("starts_local", "ends_local", "time_zone")):
        starts = values.get("starts_local", gathering.starts_local)
        ends = values.get("ends_local", gathering.ends_local)
        same = (starts, ends, zone_name) == (gathering.starts_local, gathering.ends_local, gathering.time_zone)
        if not same:
            starts, ends, starts_at, ends_at = _check_times(starts, ends, zone_name)
            for field, value in (("starts_local", starts), ("ends_local", ends), ("time_zone", zone_name)):
                if getattr(gathering, field) != value:
                    changed.append(field)
                    setattr(gathering, field, value)
            gathering.starts_at, gathering.ends_at = starts_at, ends_at
    if "online_url" in values:
        values["online_url"] = _check_link(values["online_url"])
    if "capacity" in values and values["capacity"] is not None:
        if values["capacity"] < 1:
            raise GatheringError(_("A capacity is at least 1, or leave it empty for no limit."), "capacity")
        if values["capacity"] + gathering.extra_seats < gathering.seats_taken:
            raise GatheringError(_("%(n)s seats are already taken: the capacity cannot be lower.",
                                   n=gathering.seats_taken), "capacity")
    for field in ("title", "place", "online_url", "capacity", "max_guests", "needs_approval", "status",
                  "cancel_reason"):
        if field in values and getattr(gathering, field) != values[field]:
            changed.append(field)
            setattr(gathering, field, values[field])
    if "description" in values and values["description"] != gathering.description_source:
        changed.append("description")
        gathering.description_source = values["description"]
        gathering.description_html = render_markdown(values["description"])
    return changed


def cancel_gathering(gathering_id: int, actor: User, membership: Membership | None, reason: str) -> None:
    if not reason.strip():
        raise GatheringError(_("Say why, so people know what happened."), "reason")
    update_gathering(gathering_id, actor, membership, status="cancelled", cancel_reason=reason.strip())


def set_cohosts(gathering: Gathering, people: list[User], actor: User | None = None) -> bool:
    """Make these people the co-hosts; True if that changed anything."""
    wanted = {person.id for person in people if person.id != gathering.host_id}
    current = set(db.session.scalars(select(Cohost.user_id).where(Cohost.gathering_id == gathering.id)))
    if wanted == current:
        return False
    if actor is not None:
        _note_steward_change(gathering, actor, "cohosts")
    db.session.execute(delete(Cohost).where(Cohost.gathering_id == gathering.id))
    for user_id in wanted:
        db.session.add(Cohost(gathering_id=gathering.id, user_id=user_id))
    return True


def cohosts(gathering: Gathering) -> list[User]:
    return list(db.session.scalars(select(User).join(Cohost, Cohost.user_id == User.id)
                                   .where(Cohost.gathering_id == gathering.id).order_by(User.display_name)))


# --- changes that matter -------------------------------------------------------------

def _record(gathering: Gathering, kind: str, answer: Answer | None = None, **details) -> None:
    """Write down a change that matters and mail those it concerns (after the commit)."""
    db.session.add(Change(gathering_id=gathering.id, kind=kind, details=details))
    recipients = [answer] if answer is not None else list(db.session.scalars(
        select(Answer).where(Answer.gathering_id == gathering.id, Answer.state.in_(("seated", "waiting")))
        .options(db.joinedload(Answer.user))))
    for person in recipients:
        address = person.user.email if person.user is not None else person.guest_email
        if not address:
            continue
        queue_mail(address, _("%(title)s: %(what)s", title=gathering.title, what=_change_subject(kind, details)),
                   "gatherings/mail/change.txt", gathering=gathering, kind=kind, details=details, answer=person,
                   url=_link_for(gathering, person))


def _change_subject(kind: str, details: dict) -> str:
    if kind == "seat":
        return _("a seat for you")
    if "status" in details.get("kinds", []):
        return {"cancelled": _("cancelled"), "confirmed": _("confirmed"),
                "tentative": _("not yet certain")}.get(details.get("status"), _("changed"))
    return _("changed")


def _link_for(gathering: Gathering, answer: Answer) -> str | None:
    """Where the mail points: a guest never gets a link into the circle."""
    if answer.user_id is None:
        return external_url("gatherings.public", token=gathering.public_token) if gathering.public_token else None
    return external_url("gatherings.detail", slug=gathering.circle.slug, gathering_id=gathering.id)


# --- answers and seats -------------------------------------------------------------------

def _lock(gathering_id: int) -> Gathering:
    gathering = db.session.scalars(select(Gathering).where(Gathering.id == gathering_id).with_for_update()
                                   .execution_options(populate_existing=True)).one_or_none()
    if gathering is None:
        raise GatheringError(_("There is no such gathering."))
    return gathering


def _fits(gathering: Gathering, party: int) -> bool:
    return gathering.capacity is None or gathering.seats_taken + party <= gathering.capacity + gathering.extra_seats


def _seat_or_wait(gathering: Gathering, answer: Answer) -> None:
    if _fits(gathering, answer.party):
        gathering.seats_taken += answer.party
        answer.state, answer.waiting_since = "seated", None
    else:
        answer.state = "waiting"
        answer.waiting_since = answer.waiting_since or utcnow()


def _release(gathering: Gathering, answer: Answer) -> bool:
    """Give back this answer's seats; True if any were freed."""
    if answer.state == "seated":
        gathering.seats_taken -= answer.party
        # Seats a host gave beyond the capacity go back first: the gathering
        # returns to its capacity rather than staying over it for good.
        gathering.extra_seats -= min(gathering.extra_seats, answer.party)
        answer.state = "none"
        return True
    return False


def _promote(gathering: Gathering, passing_over: Answer | None = None) -> list[Answer]:
    """Seat the first in line whose party fits, as long as seats are free
    (passing over someone a host has just moved onto the waitlist)."""
    given = []
    for waiting in waitlist(gathering):
        if gathering.seats_left == 0:
            break
        if waiting is passing_over:
            continue
        if _fits(gathering, waiting.party):
            gathering.seats_taken += waiting.party
            waiting.state, waiting.waiting_since = "seated", None
            given.append(waiting)
            _record(gathering, "seat", answer=waiting, who=waiting.name)
    return given


def waitlist(gathering: Gathering) -> list[Answer]:
    """The waitlist, first come first: positions are the order, 1 to N, no gaps."""
    return list(db.session.scalars(
        select(Answer).where(Answer.gathering_id == gathering.id, Answer.state == "waiting")
        .options(db.joinedload(Answer.user)).order_by(Answer.waiting_since, Answer.id)))


def _check_open(gathering: Gathering, guests: int, saying_no: bool = False) -> None:
    if gathering.is_cancelled:
        raise GatheringError(_("This gathering is cancelled."))
    # Closed answers still let people say they cannot come: that frees a seat.
    if gathering.answers_closed and not saying_no:
        raise GatheringError(_("The hosts have closed answers for this gathering."))
    if gathering.ends_at <= utcnow():
        raise GatheringError(_("This gathering is over."))
    if guests < 0 or guests > gathering.max_guests:
        raise GatheringError(_("You can bring up to %(n)s guests.", n=gathering.max_guests)
                             if gathering.max_guests else _("This gathering is for members only, without guests."),
                             "guests")


def answer(gathering_id: int, user: User, response: str, guests: int = 0, message: str = "") -> Answer:
    """Answer going, maybe or can't go. Going takes a seat while one is free,
    else a place on the waitlist; with approval on, it first asks the hosts.
    Commits.

    :raise GatheringError: cancelled, closed, over, or too many guests.
    """
    if current_app.config.get("GATHERINGS_UNSAFE_SEATING"):
        return _answer_unsafely(gathering_id, user, response, guests)
    with write_transaction():
        gathering = _lock(gathering_id)
        guests = guests if response == "going" else 0
        _check_open(gathering, guests, saying_no=response == "cant")
        mine = db.session.scalar(select(Answer).where(Answer.gathering_id == gathering.id,
                                                      Answer.user_id == user.id))
        if mine is None:
            mine = Answer(gathering_id=gathering.id, user_id=user.id, response=response)
            db.session.add(mine)
        was_waiting, was_seated = mine.state == "waiting", mine.state == "seated"
        freed = _release(gathering, mine)
        mine.response, mine.guests, mine.message = response, guests, message.strip()[:500]
        if response != "going":
            mine.state, mine.waiting_since = "none", None
        elif gathering.needs_approval and not mine.approved and gathering.host_id != user.id:
            mine.state = "asking"
        else:
            if was_seated and not _fits(gathering, mine.party):
                # More guests than seats left: keep the seat you had, rather
                # than send the whole party to the waitlist.
                raise GatheringError(_("There is no room for more guests right now; your own seat is kept."),
                                     "guests")
            if not was_waiting:
                mine.waiting_since = None
            _seat_or_wait(gathering, mine)
        if freed:
            _promote(gathering)
        return mine


def _answer_unsafely(gathering_id: int, user: User, response: str, guests: int) -> Answer:
    """TEST ONLY (GATHERINGS_UNSAFE_SEATING): read and check, commit, then
    write in a second transaction, with no lock, no IMMEDIATE, no conditional
    update and no counter. The concurrency tests show it overbooks."""
    user_id = user.id  # read now: after the commit it would start a read before the write
    gathering = db.session.get(Gathering, gathering_id)
    taken = db.session.scalar(select(func.coalesce(func.sum(1 + Answer.guests), 0)).where(
        Answer.gathering_id == gathering_id, Answer.state == "seated"))
    capacity = gathering.capacity
    db.session.commit()
    import time
    time.sleep(0.005)  # the window every check-then-write has, made visible
    state = "seated" if capacity is None or taken + 1 + guests <= capacity else "waiting"
    mine = Answer(gathering_id=gathering_id, user_id=user_id, response=response, guests=guests, state=state,
                  waiting_since=utcnow() if state == "waiting" else None)
    db.session.add(mine)
    db.session.commit()
    return mine


def withdraw(gathering_id: int, user: User) -> None:
    """Take my answer back entirely (leaving frees my seat for the waitlist). Commits."""
    with write_transaction():
        gathering = _lock(gathering_id)
        mine = db.session.scalar(select(Answer).where(Answer.gathering_id == gathering.id,
                                                      Answer.user_id == user.id))
        if mine is None:
            return
        freed = _release(gathering, mine)
        db.session.delete(mine)
        if freed:
            _promote(gathering)


def decide_asking(gathering_id: int, answer_id: int, approve: bool) -> Answer:
    """A host approves (a seat or the waitlist, like any answer) or declines. Commits."""
    with write_transaction():
        gathering = _lock(gathering_id)
        asking = _answer_in(gathering, answer_id)
        if asking.state != "asking":
            raise GatheringError(_("That answer was already decided."))
        if approve:
            asking.approved = True
            _seat_or_wait(gathering, asking)
            _record(gathering, "seat" if asking.state == "seated" else "approved", answer=asking, who=asking.name)
        else:
            asking.state, asking.response = "none", "cant"
        return asking


def _answer_in(gathering: Gathering, answer_id: int) -> Answer:
    found = db.session.get(Answer, answer_id)
    if found is None or found.gathering_id != gathering.id:
        raise GatheringError(_("There is no such answer."))
    return found


def move(gathering_id: int, answer_id: int, to: str, actor: User, over_capacity: bool = False) -> Answer:
    """A host moves someone onto a seat or onto the waitlist. Over the
    capacity only on purpose, and then it is written in the circle's log. Commits."""
    with write_transaction():
        gathering = _lock(gathering_id)
        moving = _answer_in(gathering, answer_id)
        if to == "seated" and moving.state != "seated":
            if not _fits(gathering, moving.party):
                if not over_capacity:
                    raise GatheringError(_("No seat is free. Tick “over capacity” to give one anyway."),
                                         "over_capacity")
                gathering.extra_seats += gathering.seats_taken + moving.party - (
                    gathering.capacity + gathering.extra_seats)
                circles.log(gathering.circle, actor, "gathering_over_capacity", subject=moving.user,
                            gathering=gathering.id, title=gathering.title, who=moving.name)
            gathering.seats_taken += moving.party
            moving.state, moving.waiting_since, moving.response = "seated", None, "going"
            _record(gathering, "seat", answer=moving, who=moving.name)
        elif to == "waiting" and moving.state == "seated":
            _release(gathering, moving)
            moving.state, moving.waiting_since = "waiting", utcnow()
            _promote(gathering, passing_over=moving)
        return moving


def set_answers_closed(gathering: Gathering, closed: bool) -> None:
    gathering.answers_closed = closed


def mark_attendance(gathering: Gathering, came_ids: set[int]) -> None:
    if gathering.starts_at > utcnow():
        raise GatheringError(_("You can mark who came once the gathering has started."))
    for person in db.session.scalars(select(Answer).where(Answer.gathering_id == gathering.id,
                                                          Answer.state == "seated")):
        person.attended = person.id in came_ids


# --- slots -------------------------------------------------------------------------------

def add_slot(gathering: Gathering, title: str, needed: int) -> Slot:
    if not title.strip():
        raise GatheringError(_("Say what the slot is for."), "title")
    if not 1 <= needed <= 100:
        raise GatheringError(_("Between 1 and 100 people."), "needed")
    slot = Slot(gathering_id=gathering.id, title=title.strip(), needed=needed)
    db.session.add(slot)
    return slot


def take_slot(slot_id: int, user: User) -> bool:
    """Take a place in a slot, if one is left: the check and the write are one
    statement, backed by a CHECK constraint. Commits. False when full."""
    if current_app.config.get("GATHERINGS_UNSAFE_SEATING"):
        return _take_slot_unsafely(slot_id, user)
    with write_transaction():
        if db.session.get(SlotTaker, (slot_id, user.id)) is not None:
            return True
        took = db.session.execute(update(Slot).where(Slot.id == slot_id, Slot.taken < Slot.needed)
                                  .values(taken=Slot.taken + 1)).rowcount == 1
        if took:
            db.session.add(SlotTaker(slot_id=slot_id, user_id=user.id))
        return took


def _take_slot_unsafely(slot_id: int, user: User) -> bool:
    """TEST ONLY: count, commit, then write; see ``_answer_unsafely``."""
    user_id = user.id
    slot = db.session.get(Slot, slot_id)
    takers = db.session.scalar(select(func.count()).select_from(SlotTaker).where(SlotTaker.slot_id == slot_id))
    needed = slot.needed
    db.session.commit()
    import time
    time.sleep(0.005)
    if takers >= needed:
        return False
    db.session.add(SlotTaker(slot_id=slot_id, user_id=user_id))
    db.session.commit()
    return True


def leave_slot(slot_id: int, user: User) -> None:
    with write_transaction():
        removed = db.session.execute(delete(SlotTaker).where(SlotTaker.slot_id == slot_id,
                                                             SlotTaker.user_id == user.id)).rowcount
        if removed:
            db.session.execute(update(Slot).where(Slot.id == slot_id).values(taken=Slot.taken - 1))


def slots_of(gathering: Gathering) -> list[tuple[Slot, list[User]]]:
    slots = list(db.session.scalars(select(Slot).where(Slot.gathering_id == gathering.id).order_by(Slot.id)))
    takers: dict[int, list[User]] = {slot.id: [] for slot in slots}
    if slots:
        for taker in db.session.scalars(select(SlotTaker).where(SlotTaker.slot_id.in_(takers))
                                        .options(db.joinedload(SlotTaker.user))):
            takers[taker.slot_id].append(taker.user)
    return [(slot, takers[slot.id]) for slot in slots]


# --- lists ----------------------------------------------------------------------------------

def answers_of(gathering: Gathering) -> list[Answer]:
    return list(db.session.scalars(select(Answer).where(Answer.gathering_id == gathering.id)
                                   .options(db.joinedload(Answer.user)).order_by(Answer.created_at, Answer.id)))


def my_answer(gathering: Gathering, user: User) -> Answer | None:
    return db.session.scalar(select(Answer).where(Answer.gathering_id == gathering.id, Answer.user_id == user.id))


# The lists every member opens are built once, at import, with bound values:
# building a statement costs SQLAlchemy more than running it (docs/performance.md).
# With the viewer's own answer (or None) beside each gathering, in the same statement.
_UPCOMING = (select(*(getattr(Gathering, c) for c in ListedGathering.COLUMNS), Answer.state)
             .outerjoin(Answer, (Answer.gathering_id == Gathering.id) & (Answer.user_id == bindparam("user_id")))
             .where(Gathering.circle_id == bindparam("circle_id"), Gathering.ends_at > bindparam("now"))
             .order_by(Gathering.starts_at, Gathering.id).offset(bindparam("offset")).limit(bindparam("limit")))
_PAST = (select(Gathering).where(Gathering.circle_id == bindparam("circle_id"), Gathering.ends_at <= bindparam("now"),
                                 Gathering.status != "cancelled")
         .order_by(Gathering.starts_at.desc(), Gathering.id.desc())
         .offset(bindparam("offset")).limit(bindparam("limit")))


def _page(statement, circle: Circle, page: int, size: int) -> tuple[list[Gathering], bool]:
    rows = list(db.session.scalars(statement, {"circle_id": circle.id, "now": utcnow(),
                                               "offset": (page - 1) * size, "limit": size + 1}))
    return rows[:size], len(rows) > size


def upcoming(circle: Circle, viewer: User, page: int = 1,
             size: int = PAGE_SIZE) -> tuple[list[ListedGathering], dict[int, str], bool]:
    """What is next in a circle, in time order, never ranked: (items, how the
    viewer answered each, by id; has_more)."""
    rows = db.session.execute(_UPCOMING, {"circle_id": circle.id, "user_id": viewer.id, "now": utcnow(),
                                          "offset": (page - 1) * size, "limit": size + 1}).all()
    items = [ListedGathering(*row[:-1]) for row in rows[:size]]
    return items, {row[0]: row[-1] for row in rows[:size] if row[-1]}, len(rows) > size


def past(circle: Circle, page: int = 1, size: int = PAGE_SIZE) -> tuple[list[Gathering], bool]:
    return _page(_PAST, circle, page, size)


_WHO_CAME = (select(Answer).outerjoin(User, User.id == Answer.user_id)
             .where(Answer.gathering_id.in_(bindparam("ids", expanding=True)), Answer.attended.is_(True))
             .options(db.joinedload(Answer.user)).order_by(func.lower(User.display_name), Answer.id))


def who_came(gatherings: list[Gathering]) -> dict[int, list[str]]:
    """Names of those marked as having come, for each gathering (one query)."""
    names: dict[int, list[str]] = {g.id: [] for g in gatherings}
    if names:
        for person in db.session.scalars(_WHO_CAME, {"ids": list(names)}):
            names[person.gathering_id].append(person.name)
    return names


# The home page's lists are rows of what an item shows, not whole gatherings.
_ITEM_COLUMNS = (Gathering.id, Gathering.circle_id, Gathering.title, Gathering.starts_local, Gathering.ends_local,
                 Gathering.time_zone, Gathering.status)
_MY_NEXT = (select(*_ITEM_COLUMNS, Circle.slug.label("circle_slug"), Circle.name.label("circle_name"))
            .join(Answer, Answer.gathering_id == Gathering.id).join(Circle, Circle.id == Gathering.circle_id)
            .join(Membership, (Membership.circle_id == Gathering.circle_id)
                  & (Membership.user_id == bindparam("user_id")))
            .where(Answer.user_id == bindparam("user_id"), Answer.state.in_(("seated", "waiting", "asking")),
                   Gathering.ends_at > bindparam("now"))
            .order_by(Gathering.starts_at).limit(bindparam("limit")))


def my_next(user: User, limit: int = 10) -> list:
    """My next gatherings across my circles: those I have a seat or a waitlist place for.
    Rows of (id, circle_id, title, starts_local, ends_local, time_zone, status, circle_slug, circle_name)."""
    return db.session.execute(_MY_NEXT, {"user_id": user.id, "now": utcnow(), "limit": limit}).all()


_SOONEST = (select(Gathering.circle_id, func.min(Gathering.starts_at).label("starts_at"))
            .where(Gathering.circle_id.in_(bindparam("ids", expanding=True)), Gathering.starts_at > bindparam("now"),
                   Gathering.status != "cancelled").group_by(Gathering.circle_id).subquery())
_NEXT_IN_CIRCLES = select(*_ITEM_COLUMNS).join(
    _SOONEST, (Gathering.circle_id == _SOONEST.c.circle_id) & (Gathering.starts_at == _SOONEST.c.starts_at))


def next_in_circles(circle_ids: list[int]) -> dict[int, object]:
    """The next gathering of each circle (one query), for the home page: rows as in my_next,
    without the circle's slug and name."""
    if not circle_ids:
        return {}
    rows = db.session.execute(_NEXT_IN_CIRCLES, {"ids": circle_ids, "now": utcnow()})
    return {g.circle_id: g for g in rows}


# --- when an account is deleted --------------------------------------------------------

def withdraw_all(user: User) -> None:
    """Account deletion: my answers and slot places are withdrawn; seats go to the waitlist."""
    for gathering_id in db.session.scalars(select(Answer.gathering_id).where(Answer.user_id == user.id)).all():
        gathering = db.session.get(Gathering, gathering_id)
        mine = my_answer(gathering, user)
        freed = _release(gathering, mine)
        db.session.delete(mine)
        if freed:
            _promote(gathering)
    for taker in db.session.scalars(select(SlotTaker).where(SlotTaker.user_id == user.id)).all():
        db.session.execute(update(Slot).where(Slot.id == taker.slot_id).values(taken=Slot.taken - 1))
        db.session.delete(taker)
    db.session.execute(update(Gathering).where(Gathering.host_id == user.id).values(host_id=None))
