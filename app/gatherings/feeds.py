"""Calendar feeds: secret addresses calendar apps subscribe to."""

from __future__ import annotations

import datetime as dt
import secrets
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from ..areas import areas
from ..auth.models import User
from ..circles import domain as circles
from ..circles.models import Circle, Membership
from ..database import utcnow
from ..extensions import db
from ..mail import one_line
from .domain import YEARS_AHEAD
from .models import Feed, Gathering
from .queries import going_to

def feed_of(user: User, circle: Circle | None = None) -> Feed | None:
    """A person's own feed (no circle), or their feed of a circle; None until made."""
    circle_id = circle.id if circle else None
    return db.session.scalar(select(Feed).where(Feed.user_id == user.id, Feed.circle_id.is_(None)
                                                if circle_id is None else Feed.circle_id == circle_id))


def make_feed(user: User, circle: Circle | None = None) -> Feed:
    """Make the feed's secret address, or a new one (the old one stops working)."""
    feed = feed_of(user, circle)
    if feed is None:
        feed = Feed(user_id=user.id, circle_id=circle.id if circle else None)
        db.session.add(feed)
    feed.token = secrets.token_urlsafe(24)
    return feed


def forget_feeds(user: User, circle_id: int | None = None) -> None:
    """Leaving a circle ends its feed; deleting the account ends them all."""
    query = delete(Feed).where(Feed.user_id == user.id)
    if circle_id is not None:
        query = query.where(Feed.circle_id == circle_id)
    db.session.execute(query)


def feed_by_token(token: str) -> Feed | None:
    return db.session.scalar(select(Feed).where(Feed.token == token))


def feed_entries(feed: Feed) -> list:
    """What other areas add to a circle's feed while its owner is a member."""
    if feed.circle_id is None:
        return []
    circle = db.session.get(Circle, feed.circle_id)
    if circle is None or circles.membership_of(circle.id, db.session.get(User, feed.user_id)) is None:
        return []
    return [entry for entries in areas().calendar_entries for entry in entries(circle.id, circle.slug)]


def feed_gatherings(feed: Feed) -> list[Gathering]:
    """What a feed shows: my own (seated, waiting or helping; cancelled ones stay, marked),
    or everything in a circle I still belong to; from 30 days back."""
    since = utcnow() - dt.timedelta(days=30)
    if feed.circle_id is None:
        query = (select(Gathering)
                 .join(Membership, (Membership.circle_id == Gathering.circle_id)
                       & (Membership.user_id == feed.user_id))
                 .where(Gathering.id.in_(going_to(feed.user_id, ("seated", "waiting")))))
    else:
        if circles.membership_of(feed.circle_id, db.session.get(User, feed.user_id)) is None:
            return []
        query = select(Gathering).where(Gathering.circle_id == feed.circle_id)
    return list(db.session.scalars(query.where(Gathering.ends_at > since).order_by(Gathering.starts_at)))




STATUS = {"confirmed": "CONFIRMED", "tentative": "TENTATIVE", "cancelled": "CANCELLED"}


def event_of(gathering: Gathering, url: str):
    """A gathering as an iCalendar event."""
    import icalendar

    tz = ZoneInfo(gathering.time_zone)
    event = icalendar.Event()
    event.add("uid", f"{gathering.uid}@communitarium")
    event.add("dtstamp", gathering.updated_at)
    event.add("last-modified", gathering.updated_at)
    event.add("dtstart", gathering.starts_local.replace(tzinfo=tz))
    event.add("dtend", gathering.ends_local.replace(tzinfo=tz))
    event.add("summary", one_line(gathering.title))
    event.add("sequence", gathering.sequence)
    event.add("status", STATUS[gathering.status])
    description = gathering.description_source
    if gathering.is_cancelled and gathering.cancel_reason:
        description = f"{gathering.cancel_reason}\n\n{description}".strip()
    if description:
        event.add("description", description)
    if gathering.place:
        event.add("location", one_line(gathering.place))
    event.add("url", url)
    return event


def calendar(gatherings: list[Gathering], name: str, url_for_gathering, entries=()) -> bytes:
    """An iCalendar file: the same UID on every fetch, the zone's VTIMEZONE,
    SEQUENCE raised by every change that matters, cancelled ones marked; and
    the all-day ``entries`` other areas add (areas.CalendarEntry)."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", "-//Communitarium//Gatherings//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", one_line(name))
    for gathering in gatherings:
        cal.add_component(event_of(gathering, url_for_gathering(gathering)))
    for entry in entries:
        event = icalendar.Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", entry.stamp)
        event.add("dtstart", entry.day)
        event.add("dtend", entry.day + dt.timedelta(days=1))
        event.add("summary", one_line(entry.summary))
        if entry.description:
            event.add("description", entry.description)
        event.add("url", entry.url)
        cal.add_component(event)
    if gatherings:
        # Within the years posting allows: zone rules for year 9999 cannot be
        # written, and rules for centuries ahead cost seconds, whatever slipped
        # into the database.
        last_year = utcnow().year + YEARS_AHEAD
        years = [min(g.starts_local.year, last_year) for g in gatherings]
        cal.add_missing_timezones(first_date=dt.date(min(years) - 1, 1, 1), last_date=dt.date(max(years) + 2, 1, 1))
    return cal.to_ical()
