"""What talk would add to a circle's calendar feed: each outcome's review date,
as an all-day event. app/gatherings/feeds.py has no way yet for another area
to add events; once it has one (a registry hook such as
``areas.calendar_entries(fn)``, called for a circle's feed with the circle's id),
it registers ``review_entries`` (see the report of issue 15)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from ..database import utcnow
from ..extensions import db
from ..i18n import _
from ..links import external_url
from .models import Proposal


@dataclass(frozen=True)
class CalendarEntry:
    uid: str
    day: dt.date  # all day
    summary: str
    description: str
    url: str
    stamp: dt.datetime


def review_entries(circle_id: int, slug: str, since: dt.date | None = None) -> list[CalendarEntry]:
    """The circle's review dates from ``since`` (30 days back by default)."""
    since = since or (utcnow() - dt.timedelta(days=30)).date()
    rows = db.session.scalars(select(Proposal).where(Proposal.circle_id == circle_id, Proposal.review_on.is_not(None),
                                                     Proposal.review_on >= since).order_by(Proposal.review_on))
    return [CalendarEntry(uid=f"talk-review-{p.id}@communitarium", day=p.review_on,
                          summary=_("Review: %(title)s", title=p.title), description=p.outcome_source,
                          url=external_url("talk.proposal", slug=slug, proposal_id=p.id),
                          stamp=p.closed_at or p.closes_at) for p in rows]
