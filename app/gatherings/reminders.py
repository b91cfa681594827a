"""Reminders for people going to a gathering: the day before (in the daily
digest, at the person's digest hour) and two hours before. The job runner
calls ``remind`` every few minutes; each reminder is a notice with its own
occasion (the gathering and its start), so none is recorded twice, and a
gathering that moves gets reminders for its new time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..database import utcnow, write_unit
from ..extensions import db
from ..i18n import _
from ..links import external_url
from ..notify import notify
from ..notify.domain import zone_of
from ..zones import local_of
from .models import Answer, Gathering

SOON = dt.timedelta(hours=2)


def _going(gathering_ids: list[int]):
    return db.session.scalars(select(Answer).where(Answer.gathering_id.in_(gathering_ids),
                                                   Answer.state == "seated", Answer.user_id.is_not(None))
                              .options(db.joinedload(Answer.user)))


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
        for answer in _going(list(soon)):
            gathering = soon[answer.gathering_id]
            made += _remind(answer, gathering, "gathering_soon", f"{gathering.id}@{gathering.starts_at:%Y%m%dT%H%M}",
                            lambda g=gathering: _("Soon: %(title)s", title=g.title), now)
    with write_unit():
        within_two_days = _coming(now, dt.timedelta(hours=48))
        for answer in _going(list(within_two_days)):
            gathering = within_two_days[answer.gathering_id]
            zone_name = zone_of(answer.user)
            tomorrow = local_of(now, zone_name).date() + dt.timedelta(days=1)
            if local_of(gathering.starts_at, zone_name).date() != tomorrow:
                continue
            made += _remind(answer, gathering, "gathering_tomorrow", f"{gathering.id}@{gathering.starts_at:%Y%m%d}",
                            lambda g=gathering: _("Tomorrow: %(title)s", title=g.title), now)
    return made


def _remind(answer: Answer, gathering: Gathering, kind: str, occasion: str, subject, now) -> int:
    url = external_url("gatherings.detail", slug=gathering.circle.slug, gathering_id=gathering.id)
    return notify(kind, answer.user, occasion, circle=gathering.circle, subject=subject,
                  template="gatherings/notices/reminder.txt", url=url, gathering=gathering, now=now) is not None
