"""Posting and editing gatherings, and who may manage them: plain functions
the views and tests call, in the caller's write unit (they never commit).
Seats are in seats.py, slots in slots.py, changes that matter in changes.py,
reads in queries.py."""

from __future__ import annotations

import datetime as dt
import secrets
from urllib.parse import urlsplit

from sqlalchemy import delete, select

from ..auth.models import User
from ..circles.models import Circle, Membership
from ..database import utcnow
from ..errors import RuleError
from ..extensions import db
from ..i18n import _
from ..text import render_markdown
from ..zones import localize
from .changes import MATTERS, is_cohost, note_steward_change, record
from .errors import GatheringError
from .models import Answer, Cohost, Gathering, Series
from .seats import lock_gathering, promote


# The furthest ahead a gathering may be planned: calendars and time zone
# rules are not made for dates centuries away.
YEARS_AHEAD = 10


def can_manage(gathering: Gathering, user: User, membership: Membership | None) -> bool:
    """Hosts, co-hosts and the circle's stewards can edit, cancel and move people."""
    if gathering.host_id == user.id or (membership is not None and membership.is_steward):
        return True
    return is_cohost(gathering, user)


def check_link(url: str) -> str:
    url = (url or "").strip()
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
        raise GatheringError(_("A link must start with http:// or https://."), "online_url")
    return url


def check_capacity(capacity: int | None) -> None:
    if capacity is not None and capacity < 1:
        raise GatheringError(_("A capacity is at least 1, or leave it empty for no limit."), "capacity")


def check_times(starts_local: dt.datetime, ends_local: dt.datetime, zone_name: str,
                allow_past: bool = False) -> tuple[dt.datetime, dt.datetime, dt.datetime, dt.datetime]:
    """The wall times as they really happen, and their UTC instants.

    :raise GatheringError: an end before the start, a time past (unless
        allowed), a date too far ahead, an unknown zone.
    """
    try:
        starts_local, starts_at = localize(starts_local, zone_name)
        ends_local, ends_at = localize(ends_local, zone_name)
    except RuleError as error:
        raise GatheringError(str(error), error.field)
    except (OverflowError, ValueError):
        raise GatheringError(_("That date is too far ahead: plan at most %(n)s years ahead.", n=YEARS_AHEAD),
                             "starts_local")
    if ends_at <= starts_at:
        raise GatheringError(_("That ends before it starts: choose an end after %(start)s.",
                               start=starts_local.strftime("%H:%M")), "ends_local")
    now = utcnow()
    if not allow_past and starts_at <= now:
        raise GatheringError(_("That time has passed: choose a time still to come."), "starts_local")
    if ends_at > now + dt.timedelta(days=365 * YEARS_AHEAD):
        raise GatheringError(_("That date is too far ahead: plan at most %(n)s years ahead.", n=YEARS_AHEAD),
                             "starts_local" if starts_at > now + dt.timedelta(days=365 * YEARS_AHEAD)
                             else "ends_local")
    return starts_local, ends_local, starts_at, ends_at


def create_gathering(circle: Circle, host: User, *, title: str, starts_local: dt.datetime,
                     ends_local: dt.datetime, time_zone: str | None = None, description: str = "",
                     place: str = "", online_url: str = "", capacity: int | None = None, max_guests: int = 0,
                     needs_approval: bool = False, status: str = "confirmed", cohosts: list[User] = (),
                     series: Series | None = None, occurrence_local: dt.datetime | None = None,
                     allow_past: bool = False) -> Gathering:
    """Post a gathering; its host is going, and holds a seat like anyone else.

    :raise GatheringError: an end before the start, a time in the past, an
        unknown zone, a link that is not http(s).
    """
    time_zone = time_zone or circle.time_zone
    starts_local, ends_local, starts_at, ends_at = check_times(starts_local, ends_local, time_zone, allow_past)
    check_capacity(capacity)
    gathering = Gathering(
        uid=secrets.token_hex(16), circle_id=circle.id, host_id=host.id, title=title.strip(),
        description_source=description, description_html=render_markdown(description), time_zone=time_zone,
        starts_local=starts_local, ends_local=ends_local, starts_at=starts_at, ends_at=ends_at,
        place=place.strip(), online_url=check_link(online_url), capacity=capacity, max_guests=max_guests,
        needs_approval=needs_approval, status=status, series_id=series.id if series else None,
        occurrence_local=occurrence_local, seats_taken=1)
    gathering.circle = circle
    db.session.add(gathering)
    db.session.flush()
    for person in cohosts:
        if person.id != host.id:
            db.session.add(Cohost(gathering_id=gathering.id, user_id=person.id))
    db.session.add(Answer(gathering_id=gathering.id, user_id=host.id, response="going", state="seated"))
    return gathering


def update_gathering(gathering_id: int, actor: User, membership: Membership | None, *, detach: bool = True,
                     **values) -> list[str]:
    """Edit a gathering; returns the names of the fields that changed. Changes
    of time, place or status are recorded, raise the calendar SEQUENCE and are
    mailed to those going and waiting; small edits notify nobody.

    :raise GatheringError: bad input, or a capacity below those already going.
    """
    gathering = lock_gathering(gathering_id)
    changed = _apply(gathering, values)
    if not changed:
        return []
    if detach and gathering.series_id:
        gathering.detached = True
    kinds = sorted({MATTERS[f] for f in changed if f in MATTERS})
    if kinds:
        gathering.sequence += 1
        record(gathering, "changed", actor=actor, kinds=kinds, status=gathering.status)
    note_steward_change(gathering, actor, ", ".join(changed))
    if "capacity" in changed:
        promote(gathering)
    return changed


def _apply(gathering: Gathering, values: dict) -> list[str]:
    changed = []
    zone_name = values.get("time_zone", gathering.time_zone)
    if any(k in values for k in ("starts_local", "ends_local", "time_zone")):
        starts = values.get("starts_local", gathering.starts_local)
        ends = values.get("ends_local", gathering.ends_local)
        same = (starts, ends, zone_name) == (gathering.starts_local, gathering.ends_local, gathering.time_zone)
        if not same:
            starts, ends, starts_at, ends_at = check_times(starts, ends, zone_name)
            for field, value in (("starts_local", starts), ("ends_local", ends), ("time_zone", zone_name)):
                if getattr(gathering, field) != value:
                    changed.append(field)
                    setattr(gathering, field, value)
            gathering.starts_at, gathering.ends_at = starts_at, ends_at
    if "online_url" in values:
        values["online_url"] = check_link(values["online_url"])
    if "capacity" in values and values["capacity"] is not None:
        check_capacity(values["capacity"])
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
        note_steward_change(gathering, actor, "cohosts")
    db.session.execute(delete(Cohost).where(Cohost.gathering_id == gathering.id))
    for user_id in wanted:
        db.session.add(Cohost(gathering_id=gathering.id, user_id=user_id))
    return True


def set_answers_closed(gathering: Gathering, closed: bool) -> None:
    gathering.answers_closed = closed


def mark_attendance(gathering: Gathering, came_ids: set[int]) -> None:
    if gathering.starts_at > utcnow():
        raise GatheringError(_("You can mark who came once the gathering has started."))
    for person in db.session.scalars(select(Answer).where(Answer.gathering_id == gathering.id,
                                                          Answer.state == "seated")):
        person.attended = person.id in came_ids
