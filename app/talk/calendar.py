"""What talk adds to a circle's calendar feed (``areas.calendar_entry``): each
outcome's review date, as an all-day event."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..areas import CalendarEntry
from ..database import utcnow
from ..extensions import db
from ..i18n import _
from ..links import external_url
from .models import Proposal


def review_entries(circle_id: int, slug: str, since: dt.date | None = None) -> list[CalendarEntry]:
    """The circle's review dates from ``since`` (30 days back by default)."""
    since = since or (utcnow() - dt.timedelta(days=30)).date()
    rows = db.session.scalars(select(Proposal).where(Proposal.circle_id == circle_id, Proposal.review_on.is_not(None),
                                                     Proposal.review_on >= since).order_by(Proposal.review_on))
    return [CalendarEntry(uid=f"talk-review-{p.id}@communitarium", day=p.review_on,
                          summary=_("Review: %(title)s", title=p.title), description=p.outcome_source,
                          url=external_url("talk.proposal", slug=slug, proposal_id=p.id),
                          stamp=p.closed_at or p.closes_at) for p in rows]
