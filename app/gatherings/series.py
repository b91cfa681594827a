"""Recurring gatherings: a rule (dateutil's rrule over local wall times) and
a template, expanded into real gatherings some weeks ahead."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select

from ..areas import areas
from ..auth.models import User
from ..circles.models import Circle, Membership
from ..database import utcnow
from ..extensions import db
from ..i18n import N_, _
from ..templating import day_words, weekday_name
from ..zones import local_of, localize
from .domain import check_capacity, check_link, check_times, create_gathering, update_gathering
from .errors import GatheringError
from .models import Answer, Gathering, Series, Slot

def weeks_ahead() -> int:
    return current_app.config.get("GATHERINGS_WEEKS_AHEAD", 8)


def rule_for(series: Series):
    from dateutil.rrule import MONTHLY, WEEKLY, rrule, weekday

    first = series.first_local
    until = dt.datetime.combine(series.until, dt.time.max) if series.until else None
    if series.freq == "weekly":
        return rrule(WEEKLY, interval=series.interval, dtstart=first, until=until)
    if series.freq == "monthly_date":
        if first.day <= 28:
            return rrule(MONTHLY, interval=series.interval, dtstart=first, until=until, bymonthday=first.day)
        # "The 31st" falls on the last day of shorter months.
        return rrule(MONTHLY, interval=series.interval, dtstart=first, until=until,
                     bymonthday=list(range(28, first.day + 1)), bysetpos=-1)
    return rrule(MONTHLY, interval=series.interval, dtstart=first, until=until,
                 byweekday=weekday(first.weekday())(series.setpos))


def create_series(circle: Circle, host: User, *, freq: str, interval: int = 1, setpos: int | None = None,
                  until: dt.date | None = None, cohosts: list[User] = (), parts: dict | None = None,
                  **fields) -> tuple[Series, list[Gathering]]:
    """Start a recurring gathering and make its occurrences some weeks ahead.
    ``parts`` is what other areas add to each date ({area: values}, see
    ``Areas.on_occurrence``).

    :raise GatheringError: as for one gathering, or an impossible rule.
    """
    starts_local, ends_local = fields.pop("starts_local"), fields.pop("ends_local")
    time_zone = fields.pop("time_zone", None) or circle.time_zone
    check_times(starts_local, ends_local, time_zone)
    if freq not in ("weekly", "monthly_date", "monthly_weekday") or not 1 <= interval <= 52:
        raise GatheringError(_("Choose how often it repeats."), "freq")
    if freq == "monthly_weekday" and setpos not in (1, 2, 3, 4, -1):
        raise GatheringError(_("Choose which weekday of the month."), "setpos")
    if until is not None and until < starts_local.date():
        raise GatheringError(_("The series ends before it starts: choose a later last date."), "until")
    template = {key: fields.get(key) for key in ("title", "place", "online_url", "capacity", "max_guests",
                                                  "needs_approval")}
    template |= {"description_source": fields.get("description", ""), "host_id": host.id,
                 "cohost_ids": [person.id for person in cohosts],
                 "minutes": int((ends_local - starts_local).total_seconds() // 60), "slots": [],
                 "areas": parts or {}}
    series = Series(circle_id=circle.id, freq=freq, interval=interval, setpos=setpos, until=until,
                    first_local=starts_local, time_zone=time_zone, template=template)
    db.session.add(series)
    db.session.flush()
    if next(iter(rule_for(series)), None) is None:
        raise GatheringError(_("That rule makes no date at all: check the last date."), "until")
    return series, extend_series(series)


def extend_series(series: Series, now: dt.datetime | None = None) -> list[Gathering]:
    """Make the series' occurrences up to some weeks ahead."""
    now = now or utcnow()
    horizon = local_of(now + dt.timedelta(weeks=weeks_ahead()), series.time_zone).replace(tzinfo=None)
    after = series.generated_until or (series.first_local - dt.timedelta(seconds=1))
    circle = db.session.get(Circle, series.circle_id)
    host = db.session.get(User, series.template["host_id"])
    if host is None or host.is_deleted:
        return []
    made = []
    # Inclusive of the horizon: the next top-up starts strictly after it.
    for occurrence in rule_for(series).between(after, horizon, inc=True):
        if occurrence <= after:
            continue
        t = series.template
        starts_local, starts_at = localize(occurrence, series.time_zone)
        if starts_at <= now:
            continue
        made.append(create_gathering(
            circle, host, title=t["title"], description=t.get("description_source") or "",
            # A start in the hour clocks skip has moved forward: the length stays.
            starts_local=starts_local, ends_local=starts_local + dt.timedelta(minutes=t["minutes"]),
            time_zone=series.time_zone, place=t.get("place") or "", online_url=t.get("online_url") or "",
            capacity=t.get("capacity"), max_guests=t.get("max_guests") or 0,
            needs_approval=bool(t.get("needs_approval")), series=series, occurrence_local=occurrence,
            cohosts=[db.session.get(User, i) for i in t.get("cohost_ids", [])]))
        db.session.flush()
        # Slots defined once on the series: every date has them.
        for title, needed in t.get("slots") or ():
            db.session.add(Slot(gathering_id=made[-1].id, title=title, needed=needed))
        for handler in areas().occurrence_made:
            handler(series, made[-1])
    # Everything up to the horizon is made (past dates are passed over), so the
    # next top-up starts from there.
    if series.generated_until is None or series.generated_until < horizon:
        series.generated_until = horizon
    return made


def add_series_slot(series: Series, title: str, needed: int) -> int:
    """A slot on every date of the series: those made (still to come, not
    cancelled, without a slot of that name) and those it will make. Returns
    how many dates got it.

    :raise GatheringError: no title, or a number out of range.
    """
    title = title.strip()
    if not title:
        raise GatheringError(_("Say what the slot is for."), "title")
    if not 1 <= needed <= 100:
        raise GatheringError(_("Between 1 and 100 people."), "needed")
    template = dict(series.template)
    template["slots"] = [*(template.get("slots") or []), [title, needed]]
    series.template = template
    having = select(Slot.gathering_id).where(Slot.title == title).scalar_subquery()
    dates = db.session.scalars(select(Gathering.id).where(
        Gathering.series_id == series.id, Gathering.starts_at > utcnow(), Gathering.status != "cancelled",
        Gathering.id.not_in(having)).order_by(Gathering.id)).all()
    for gathering_id in dates:
        db.session.add(Slot(gathering_id=gathering_id, title=title, needed=needed))
    return len(dates)


def series_ids() -> list[int]:
    return list(db.session.scalars(select(Series.id).order_by(Series.id)))


def edit_series(series: Series, actor: User, membership: Membership | None, **values) -> tuple[int, int]:
    """Change a series' template and the future occurrences nobody has answered
    yet (the host's own seat aside). Returns (changed, left alone). Every date
    is checked before anything is written, and all is one write unit: a date
    that cannot take the change leaves the series and every date as they were.

    :raise GatheringError: a bad link or capacity; then nothing is changed.
    """
    if "online_url" in values:
        values["online_url"] = check_link(values["online_url"])
    check_capacity(values.get("capacity"))
    template = dict(series.template)
    answered = (select(Answer.gathering_id).where(Answer.user_id.is_distinct_from(template.get("host_id")))
                .scalar_subquery())
    future = list(db.session.scalars(select(Gathering).where(
        Gathering.series_id == series.id, Gathering.starts_at > utcnow(), Gathering.detached.is_(False),
        Gathering.status != "cancelled").order_by(Gathering.id)))
    untouched = set(db.session.scalars(select(Gathering.id).where(
        Gathering.id.in_([g.id for g in future]), Gathering.id.in_(answered))).all())
    to_change = [g for g in future if g.id not in untouched]
    capacity = values.get("capacity")
    for gathering in to_change:
        if capacity is not None and capacity + gathering.extra_seats < gathering.seats_taken:
            raise GatheringError(_("%(n)s seats are already taken on %(date)s: the capacity cannot be lower.",
                                   n=gathering.seats_taken, date=day_words(gathering.starts_local)),
                                 "capacity")
    for key in ("title", "place", "online_url", "capacity", "max_guests", "needs_approval"):
        if key in values:
            template[key] = values[key]
    if "description" in values:
        template["description_source"] = values["description"]
    series.template = template
    for gathering in to_change:
        update_gathering(gathering.id, actor, membership, detach=False, **values)
    return len(to_change), len(untouched)


def stop_series_of(user: User) -> None:
    """Account deletion: the series this person hosts make no new dates (the
    dates already made stay, like their single gatherings, hosted by a former
    member)."""
    today = utcnow().date()
    for series in db.session.scalars(select(Series)):
        if series.template.get("host_id") == user.id and (series.until is None or series.until > today):
            series.until = today


def skip_occurrence(gathering_id: int, actor: User, membership: Membership | None) -> None:
    update_gathering(gathering_id, actor, membership, status="cancelled",
                     cancel_reason=_("Skipped this time; the series goes on."))


# --- a series in words, for lists that show it once ------------------------------------

_NTH = {1: N_("the first %(weekday)s of every month"), 2: N_("the second %(weekday)s of every month"),
        3: N_("the third %(weekday)s of every month"), 4: N_("the fourth %(weekday)s of every month"),
        -1: N_("the last %(weekday)s of every month")}
_NTH_EVERY = {1: N_("the first %(weekday)s, every %(n)s months"), 2: N_("the second %(weekday)s, every %(n)s months"),
              3: N_("the third %(weekday)s, every %(n)s months"), 4: N_("the fourth %(weekday)s, every %(n)s months"),
              -1: N_("the last %(weekday)s, every %(n)s months")}


def in_words(freq: str, interval: int, setpos: int | None, first_local: dt.datetime) -> str:
    """How often a series meets, as people say it: "every Tuesday"."""
    weekday = weekday_name(first_local.weekday())
    if freq == "weekly":
        return (_("every %(weekday)s", weekday=weekday) if interval == 1
                else _("every %(n)s weeks on %(weekday)s", n=interval, weekday=weekday))
    if freq == "monthly_date":
        return (_("monthly, on day %(day)s", day=first_local.day) if interval == 1
                else _("every %(n)s months, on day %(day)s", n=interval, day=first_local.day))
    return (_(_NTH[setpos], weekday=weekday) if interval == 1
            else _(_NTH_EVERY[setpos], weekday=weekday, n=interval))


def rules_in_words(series_ids: set[int]) -> dict[int, str]:
    """Each series' rule in words, by id (one query)."""
    if not series_ids:
        return {}
    rows = db.session.execute(select(Series.id, Series.freq, Series.interval, Series.setpos, Series.first_local)
                              .where(Series.id.in_(series_ids)))
    return {row.id: in_words(row.freq, row.interval, row.setpos, row.first_local) for row in rows}

