"""Reminders for people going to a gathering (with a seat, as a host or cook,
or with a helper's slot): the day before (in the daily
digest, at the person's digest hour) and two hours before. The job runner
calls ``remind`` every few minutes; each reminder is a notice with its own
occasion (the gathering and its start), so none is recorded twice, and a
gathering that moves gets reminders for its new time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, union

from ..auth.models import User
from ..database import utcnow, write_unit
from ..extensions import db
from ..i18n import _
from ..links import external_url
from ..notify import notify
from ..notify.domain import zone_of
from ..zones import local_of
from .models import Answer, Cohost, Gathering, Slot, SlotTaker

SOON = dt.timedelta(hours=2)


def _going(gathering_ids: list[int]) -> list[tuple[int, User]]:
    """(gathering id, person) for everyone expected there: people with a seat,
    the hosts (a meal's cooks) and whoever took a helper's slot; each once."""
    if not gathering_ids:
        return []
    ids = union(
        select(Answer.gathering_id, Answer.user_id).where(Answer.gathering_id.in_(gathering_ids),
                                                          Answer.state == "seated", Answer.user_id.is_not(None)),
        select(Gathering.id, Gathering.host_id).where(Gathering.id.in_(gathering_ids), Gathering.host_id.is_not(None)),
        select(Cohost.gathering_id, Cohost.user_id).where(Cohost.gathering_id.in_(gathering_ids)),
        select(Slot.gathering_id, SlotTaker.user_id).join(SlotTaker, SlotTaker.slot_id == Slot.id)
        .where(Slot.gathering_id.in_(gathering_ids))).subquery()
    rows = db.session.execute(select(ids.c[0], User).join(User, User.id == ids.c[1])
                              .order_by(ids.c[0], User.id))
    return [(gathering_id, user) for gathering_id, user in rows]


def _coming(now: dt.datetime, within: dt.timedelta) -> dict[int, Gathering]:
    return {g.id: g for g in db.session.scalars(
        select(Gathering).where(Gathering.starts_at > now, Gathering.starts_at <= now + within,
                                Gathering.status != "cancelled").options(db.joinedload(Gathering.circle)))}


def remind(now: dt.datetime | None = None) -> int:
    """Record the reminders that are due; returns how many."""
    now = now or utcnow()
    made = 0
    with write_unit():
        soon = _coming(now, SOON)
        for gathering_id, person in _going(list(soon)):
            gathering = soon[gathering_id]
            made += _remind(person, gathering, "gathering_soon", f"{gathering.id}@{gathering.starts_at:%Y%m%dT%H%M}",
                            lambda g=gathering: _("Soon: %(title)s", title=g.title), now)
    with write_unit():
        within_two_days = _coming(now, dt.timedelta(hours=48))
        for gathering_id, person in _going(list(within_two_days)):
            gathering = within_two_days[gathering_id]
            zone_name = zone_of(person)
            tomorrow = local_of(now, zone_name).date() + dt.timedelta(days=1)
            if local_of(gathering.starts_at, zone_name).date() != tomorrow:
                continue
            made += _remind(person, gathering, "gathering_tomorrow", f"{gathering.id}@{gathering.starts_at:%Y%m%d}",
                            lambda g=gathering: _("Tomorrow: %(title)s", title=g.title), now)
    return made


def _remind(person: User, gathering: Gathering, kind: str, occasion: str, subject, now) -> int:
    url = external_url("gatherings.detail", slug=gathering.circle.slug, gathering_id=gathering.id)
    return notify(kind, person, occasion, circle=gathering.circle, subject=subject,
                  template="gatherings/notices/reminder.txt", url=url, gathering=gathering, now=now) is not None
