"""What of gatherings leaves in a circle's export, and what stays (see app/circles/export.py)."""

from __future__ import annotations

import secrets
from zoneinfo import ZoneInfo

from flask import url_for
from sqlalchemy import select

from ..circles.models import Circle
from ..extensions import db
from .models import Answer, Change, Cohost, Feed, Gathering, Series, Slot, SlotTaker


def _of_gatherings(model):
    return lambda circle_id: (select(model.__table__).join(Gathering, Gathering.id == model.gathering_id)
                              .where(Gathering.circle_id == circle_id))


def _new_uid(record: dict, ids: dict) -> dict:
    """A calendar UID is unique across servers: an imported gathering gets its own."""
    return record | {"uid": secrets.token_hex(16)}


def _series_host(record: dict, ids: dict) -> dict:
    template = dict(record.get("template") or {})
    if template.get("host_id") is not None:
        template["host_id"] = ids["users"].get(template["host_id"])
    return record | {"template": template}


def ics_file(circle: Circle):
    """The circle's gatherings as one iCalendar file, event by event."""
    yield "gatherings.ics", _ics(circle)


def _ics(circle: Circle):
    import icalendar

    from .feeds import event_of

    yield (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Communitarium//Gatherings//EN\r\n"
           b"CALSCALE:GREGORIAN\r\n")
    zones: dict[str, list[int]] = {}
    query = (select(Gathering).where(Gathering.circle_id == circle.id).order_by(Gathering.starts_at)
             .execution_options(yield_per=500))
    for gathering in db.session.scalars(query):
        years = zones.setdefault(gathering.time_zone, [gathering.starts_local.year, gathering.starts_local.year])
        years[0], years[1] = min(years[0], gathering.starts_local.year), max(years[1], gathering.starts_local.year)
        event = event_of(gathering, url_for("gatherings.detail", slug=circle.slug, gathering_id=gathering.id,
                                            _external=True))
        yield event.to_ical()
        db.session.expunge(gathering)
    for zone, (first, last) in sorted(zones.items()):
        ZoneInfo(zone)
        yield icalendar.Timezone.from_tzid(zone, first_date=_jan(first - 1), last_date=_jan(last + 2)).to_ical()
    yield b"END:VCALENDAR\r\n"


def _jan(year: int):
    import datetime as dt
    return dt.date(max(1, min(year, 9998)), 1, 1)


def register(areas) -> None:
    areas.export("series", Series, lambda circle_id: select(Series.__table__).where(Series.circle_id == circle_id),
                 restore=_series_host)
    areas.export("gatherings", Gathering,
                 lambda circle_id: select(Gathering.__table__).where(Gathering.circle_id == circle_id),
                 omit=("public_token",), restore=_new_uid)
    areas.export("answers", Answer, _of_gatherings(Answer), omit=("guest_email", "guest_token_hash"))
    areas.export("cohosts", Cohost, _of_gatherings(Cohost))
    areas.export("slots", Slot, _of_gatherings(Slot))
    areas.export("slot_takers", SlotTaker,
                 lambda circle_id: (select(SlotTaker.__table__).join(Slot, Slot.id == SlotTaker.slot_id)
                                    .join(Gathering, Gathering.id == Slot.gathering_id)
                                    .where(Gathering.circle_id == circle_id)))
    areas.export("changes", Change, _of_gatherings(Change))
    areas.keep_back(Feed, "Calendar addresses are secrets of this server; members make new ones.")
    areas.export_file(ics_file)
    areas.personal("answers", my_answers)
    areas.personal("hosting", my_hosting)
    areas.personal("slots", my_slots)


def my_answers(user):
    """The person's answers, with what they answered."""
    from ..auth.export import rows_as_records

    return rows_as_records(db.session.execute(
        select(Circle.name.label("circle"), Gathering.title.label("gathering"), Gathering.starts_local,
               Gathering.time_zone, Answer.response, Answer.state, Answer.guests, Answer.message, Answer.attended,
               Answer.created_at, Answer.updated_at)
        .select_from(Answer).join(Gathering, Gathering.id == Answer.gathering_id)
        .join(Circle, Circle.id == Gathering.circle_id)
        .where(Answer.user_id == user.id).order_by(Gathering.starts_at)))


def my_hosting(user):
    """The gatherings the person hosts or hosted."""
    from ..auth.export import rows_as_records

    return rows_as_records(db.session.execute(
        select(Circle.name.label("circle"), Gathering.title, Gathering.starts_local, Gathering.ends_local,
               Gathering.time_zone, Gathering.place, Gathering.status, Gathering.description_source)
        .select_from(Gathering).join(Circle, Circle.id == Gathering.circle_id).where(Gathering.host_id == user.id)
        .order_by(Gathering.starts_at)))


def my_slots(user):
    from ..auth.export import rows_as_records

    return rows_as_records(db.session.execute(
        select(Gathering.title.label("gathering"), Gathering.starts_local, Slot.title.label("slot"))
        .select_from(SlotTaker).join(Slot, Slot.id == SlotTaker.slot_id)
        .join(Gathering, Gathering.id == Slot.gathering_id)
        .where(SlotTaker.user_id == user.id).order_by(Gathering.starts_at)))
