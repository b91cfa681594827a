"""Recurring gatherings and time zones: rules, daylight-saving changes, the
top-up command, editing one date or the whole series. Time is frozen with
time-machine; every check of a time looks at the local wall time AND the UTC
offset. Both databases."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from app.auth.models import User
from app.circles.models import Circle
from app.extensions import db
from app.gatherings import domain, series
from app.gatherings.domain import GatheringError
from app.gatherings.models import Gathering, Series

from .circles_helpers import add_member, make_circle
from .helpers import login, make_user, post, text_of

UTC = dt.UTC
CET, CEST = dt.timedelta(hours=1), dt.timedelta(hours=2)
EST, EDT = dt.timedelta(hours=-5), dt.timedelta(hours=-4)
SKIPPED = "Skipped this time; the series goes on."



# --- helpers ------------------------------------------------------------------------------

def frozen(*when):
    """Time stands still at this UTC moment."""
    return time_machine.travel(dt.datetime(*when, tzinfo=UTC), tick=False)


@contextmanager
def weeks_ahead(app, weeks: int):
    """GATHERINGS_WEEKS_AHEAD for this block only."""
    missing = object()
    before = app.config.get("GATHERINGS_WEEKS_AHEAD", missing)
    app.config["GATHERINGS_WEEKS_AHEAD"] = weeks
    try:
        yield
    finally:
        if before is missing:
            app.config.pop("GATHERINGS_WEEKS_AHEAD", None)
        else:
            app.config["GATHERINGS_WEEKS_AHEAD"] = before


def setup_circle(app, *members: str) -> None:
    """Elm Street (Europe/Berlin) with Ada as its steward, and these members by name."""
    with app.app_context():
        ada = make_user("ada@example.org", "Ada")
        circle = make_circle(ada)
        for name in members:
            add_member(circle, make_user(f"{name.lower()}@example.org", name))


def start_series(app, *, host: str = "ada@example.org", slug: str = "elm-street", **rule) -> int:
    """A series straight through the domain; returns its id."""
    rule.setdefault("title", "Repair café")
    with app.test_request_context():
        circle = db.session.scalar(select(Circle).where(Circle.slug == slug))
        person = db.session.scalar(select(User).where(User.email == host))
        made, _ = series.create_series(circle, person, **rule)
        db.session.commit()
        return made.id


def only_series(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Series.id))


def occurrences(app, series_id: int) -> list[Gathering]:
    """The series' gatherings in time order, detached from the session (columns loaded)."""
    with app.app_context():
        found = list(db.session.scalars(select(Gathering).where(Gathering.series_id == series_id)
                                        .order_by(Gathering.starts_at)))
        db.session.expunge_all()
        return found


def gathering(app, gathering_id: int) -> Gathering:
    with app.app_context():
        found = db.session.get(Gathering, gathering_id)
        db.session.expunge_all()
        return found


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def offset(g: Gathering) -> dt.timedelta:
    """The UTC offset of the gathering's start, in its own zone."""
    return g.starts_at.astimezone(ZoneInfo(g.time_zone)).utcoffset()


def wall(g: Gathering) -> dt.datetime:
    """The local wall time the UTC instant is, in the gathering's zone."""
    return g.starts_at.astimezone(ZoneInfo(g.time_zone)).replace(tzinfo=None)


def by_date(gatherings: list[Gathering]) -> dict[dt.date, Gathering]:
    return {g.starts_local.date(): g for g in gatherings}


def extend(app):
    """``flask gatherings extend``, as cron runs it."""
    return app.test_cli_runner().invoke(args=["gatherings", "extend"])


def times(day: str, start: str, end: str) -> dict:
    """starts_local and ends_local on one day, as wall times."""
    return {"starts_local": dt.datetime.fromisoformat(f"{day}T{start}"),
            "ends_local": dt.datetime.fromisoformat(f"{day}T{end}")}


def form_time(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


def edit_fields(g: Gathering, **changes) -> dict:
    """The edit form as the page fills it in, with some fields changed."""
    data = {"title": g.title, "description": g.description_source, "starts_local": form_time(g.starts_local),
            "ends_local": form_time(g.ends_local), "time_zone": g.time_zone, "place": g.place,
            "online_url": g.online_url, "capacity": "" if g.capacity is None else g.capacity,
            "max_guests": g.max_guests, "status": g.status}
    return data | changes


def new_fields(**changes) -> dict:
    data = {"title": "Repair café", "description": "", "starts_local": "2027-03-04T18:30",
            "ends_local": "2027-03-04T20:30", "time_zone": "Europe/Berlin", "place": "Elm Street 5",
            "online_url": "", "capacity": "", "max_guests": 0, "status": "confirmed", "repeat": "",
            "interval": 1, "setpos": 1, "until": ""}
    return data | changes


# --- weekly across daylight-saving changes -----------------------------------------------

def test_weekly_series_stays_at_1830_local_across_dst_in_berlin_and_new_york(app, client):
    setup_circle(app)
    with frozen(2027, 3, 1, 9), weeks_ahead(app, 40):
        berlin_id = start_series(app, freq="weekly", time_zone="Europe/Berlin",
                                 **times("2027-03-07", "18:30", "20:30"))
        new_york_id = start_series(app, freq="weekly", time_zone="America/New_York",
                                   **times("2027-03-07", "18:30", "20:30"))
        berlin, new_york = occurrences(app, berlin_id), occurrences(app, new_york_id)

        # Every Sunday from 7 March to the horizon (40 weeks ahead), both cities.
        sundays = [dt.date(2027, 3, 7) + dt.timedelta(weeks=n) for n in range(40)]
        assert [g.starts_local.date() for g in berlin] == sundays
        assert [g.starts_local.date() for g in new_york] == sundays
        for g in berlin + new_york:
            assert g.starts_local.time() == dt.time(18, 30) and g.ends_local.time() == dt.time(20, 30)
            assert wall(g) == g.starts_local, g.starts_local
            assert g.ends_at - g.starts_at == dt.timedelta(hours=2)

        # Berlin: CET until 28 March, CEST until 31 October, CET again.
        for g in berlin:
            day = g.starts_local.date()
            expected = CEST if dt.date(2027, 3, 28) <= day < dt.date(2027, 10, 31) else CET
            assert offset(g) == expected, day
        b = by_date(berlin)
        assert b[dt.date(2027, 3, 21)].starts_at == dt.datetime(2027, 3, 21, 17, 30, tzinfo=UTC)
        assert b[dt.date(2027, 3, 28)].starts_at == dt.datetime(2027, 3, 28, 16, 30, tzinfo=UTC)
        assert b[dt.date(2027, 10, 24)].starts_at == dt.datetime(2027, 10, 24, 16, 30, tzinfo=UTC)
        assert b[dt.date(2027, 10, 31)].starts_at == dt.datetime(2027, 10, 31, 17, 30, tzinfo=UTC)

        # New York: EST until 14 March, EDT until 7 November, EST again.
        for g in new_york:
            day = g.starts_local.date()
            expected = EDT if dt.date(2027, 3, 14) <= day < dt.date(2027, 11, 7) else EST
            assert offset(g) == expected, day
        n = by_date(new_york)
        assert n[dt.date(2027, 3, 7)].starts_at == dt.datetime(2027, 3, 7, 23, 30, tzinfo=UTC)
        assert n[dt.date(2027, 3, 14)].starts_at == dt.datetime(2027, 3, 14, 22, 30, tzinfo=UTC)
        assert n[dt.date(2027, 10, 31)].starts_at == dt.datetime(2027, 10, 31, 22, 30, tzinfo=UTC)
        assert n[dt.date(2027, 11, 7)].starts_at == dt.datetime(2027, 11, 7, 23, 30, tzinfo=UTC)

        # While only one side has changed its clocks, the two 18:30s are 5 hours apart, not 6.
        five = {dt.date(2027, 3, 14), dt.date(2027, 3, 21), dt.date(2027, 10, 31)}
        for day in sundays:
            apart = n[day].starts_at - b[day].starts_at
            assert apart == dt.timedelta(hours=5 if day in five else 6), day

        # The page says 18:30 on both sides of the change, in the gathering's own zone.
        login(client)
        for day in (dt.date(2027, 3, 21), dt.date(2027, 3, 28), dt.date(2027, 10, 24), dt.date(2027, 10, 31)):
            page = text_of(client.get(f"/c/elm-street/gatherings/{b[day].id}"))
            assert f"{day:%a} {day.day} {day:%b %Y}, 18:30–20:30" in page
        page = text_of(client.get(f"/c/elm-street/gatherings/{n[dt.date(2027, 3, 14)].id}"))
        # The zone named, as it is not the reader's own (how soon may follow in the same bracket).
        assert re.search(r"Sun 14 Mar 2027, 18:30–20:30 \(America/New York[,)]", page)


# --- monthly rules, intervals, last dates ------------------------------------------------

def test_last_friday_of_the_month_for_a_year(app):
    setup_circle(app)
    with frozen(2027, 3, 1, 9), weeks_ahead(app, 60):
        series_id = start_series(app, freq="monthly_weekday", setpos=-1, until=dt.date(2028, 2, 29),
                                 **times("2027-03-26", "19:00", "21:00"))
    made = occurrences(app, series_id)
    expected = [dt.date(2027, 3, 26), dt.date(2027, 4, 30), dt.date(2027, 5, 28), dt.date(2027, 6, 25),
                dt.date(2027, 7, 30), dt.date(2027, 8, 27), dt.date(2027, 9, 24), dt.date(2027, 10, 29),
                dt.date(2027, 11, 26), dt.date(2027, 12, 31), dt.date(2028, 1, 28), dt.date(2028, 2, 25)]
    assert [g.starts_local.date() for g in made] == expected
    # Cross-check with the calendar module: the last Friday of each month.
    for day in expected:
        last = max(week[calendar.FRIDAY] for week in calendar.monthcalendar(day.year, day.month))
        assert day.day == last
    for g in made:
        assert g.starts_local.time() == dt.time(19, 0) and wall(g) == g.starts_local
        assert offset(g) == (CEST if dt.date(2027, 3, 28) <= g.starts_local.date() < dt.date(2027, 10, 31) else CET)


def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months(app):
    setup_circle(app)
    with frozen(2027, 1, 2, 9), weeks_ahead(app, 70):
        series_id = start_series(app, freq="monthly_date", until=dt.date(2028, 3, 31),
                                 **times("2027-01-31", "19:00", "20:00"))
    made = occurrences(app, series_id)
    assert [g.starts_local.date() for g in made] == [
        dt.date(2027, 1, 31), dt.date(2027, 2, 28), dt.date(2027, 3, 31), dt.date(2027, 4, 30),
        dt.date(2027, 5, 31), dt.date(2027, 6, 30), dt.date(2027, 7, 31), dt.date(2027, 8, 31),
        dt.date(2027, 9, 30), dt.date(2027, 10, 31), dt.date(2027, 11, 30), dt.date(2027, 12, 31),
        dt.date(2028, 1, 31), dt.date(2028, 2, 29), dt.date(2028, 3, 31)]
    for g in made:
        assert g.starts_local.time() == dt.time(19, 0) and wall(g) == g.starts_local
    assert offset(by_date(made)[dt.date(2027, 3, 31)]) == CEST
    assert offset(by_date(made)[dt.date(2027, 10, 31)]) == CET


def test_every_two_weeks(app):
    setup_circle(app)
    with frozen(2027, 3, 1, 9), weeks_ahead(app, 8):
        series_id = start_series(app, freq="weekly", interval=2,
                                 **times("2027-03-03", "18:00", "19:00"))
    made = occurrences(app, series_id)
    assert [g.starts_local for g in made] == [dt.datetime(2027, 3, 3, 18, 0), dt.datetime(2027, 3, 17, 18, 0),
                                              dt.datetime(2027, 3, 31, 18, 0), dt.datetime(2027, 4, 14, 18, 0)]
    assert [offset(g) for g in made] == [CET, CET, CEST, CEST]


def test_until_a_date_stops_there(app):
    setup_circle(app)
    with frozen(2027, 3, 1, 9), weeks_ahead(app, 8):
        series_id = start_series(app, freq="weekly", until=dt.date(2027, 3, 25),
                                 **times("2027-03-04", "18:00", "19:00"))
    # The last date itself is included, nothing after it.
    assert [g.starts_local.date() for g in occurrences(app, series_id)] == [
        dt.date(2027, 3, 4), dt.date(2027, 3, 11), dt.date(2027, 3, 18), dt.date(2027, 3, 25)]
    # Months later the top-up makes nothing more.
    with frozen(2027, 5, 1, 9), weeks_ahead(app, 8):
        result = extend(app)
        assert result.exit_code == 0, result.output
        assert "made 0 occurrence(s)" in result.output
    assert count(app, Gathering) == 4


IMPOSSIBLE = [
    ({"freq": "daily"}, "Choose how often it repeats.", "freq"),
    ({"freq": "weekly", "interval": 0}, "Choose how often it repeats.", "freq"),
    ({"freq": "weekly", "interval": 53}, "Choose how often it repeats.", "freq"),
    ({"freq": "monthly_weekday", "setpos": 0}, "Choose which weekday of the month.", "setpos"),
    ({"freq": "monthly_weekday", "setpos": 5}, "Choose which weekday of the month.", "setpos"),
    ({"freq": "monthly_weekday", "setpos": None}, "Choose which weekday of the month.", "setpos"),
    ({"freq": "weekly", "until": dt.date(2027, 3, 3)}, "The series ends before it starts", "until"),
    # The last Thursday of March is the 25th: a rule that stops on the 20th makes nothing.
    ({"freq": "monthly_weekday", "setpos": -1, "until": dt.date(2027, 3, 20)}, "That rule makes no date at all",
     "until"),
]


@pytest.mark.parametrize("rule,message,field", IMPOSSIBLE, ids=[
    "bad-freq", "interval-0", "interval-53", "setpos-0", "setpos-5", "setpos-none", "until-before-start",
    "no-date-at-all"])
def test_impossible_rule_is_refused_and_nothing_saved(app, rule, message, field):
    setup_circle(app)
    with frozen(2027, 3, 1, 9), app.test_request_context():
        circle = db.session.scalar(select(Circle))
        ada = db.session.scalar(select(User))
        with pytest.raises(GatheringError) as refused:
            series.create_series(circle, ada, title="Repair café", **times("2027-03-04", "18:00", "19:00"), **rule)
        assert message in str(refused.value)
        assert refused.value.field == field
        db.session.rollback()  # as every caller does on a GatheringError
    assert count(app, Series) == 0
    assert count(app, Gathering) == 0


FORM_REFUSALS = [
    ({"repeat": "weekly", "until": "2027-03-03"}, "The series ends before it starts: choose a later last date."),
    ({"repeat": "monthly_weekday", "setpos": -1, "until": "2027-03-20"},
     "That rule makes no date at all: check the last date."),
    ({"repeat": "daily"}, "Not a valid choice"),
    ({"repeat": "monthly_weekday", "setpos": 0}, "Not a valid choice"),
    ({"repeat": "weekly", "interval": 0}, "Between 1 and 52."),
]


@pytest.mark.parametrize("repeat,message", FORM_REFUSALS, ids=[
    "until-before-start", "no-date-at-all", "bad-freq", "setpos-0", "interval-0"])
def test_impossible_rule_through_the_form(app, client, repeat, message):
    setup_circle(app)
    with frozen(2027, 3, 1, 9):
        login(client)
        response = post(client, "/c/elm-street/gatherings/new", new_fields(**repeat))
        assert response.status_code == 422
        assert message in text_of(response)
    assert count(app, Series) == 0
    assert count(app, Gathering) == 0


def test_series_through_the_form(app, client):
    setup_circle(app)
    with frozen(2027, 3, 1, 9), weeks_ahead(app, 9):
        login(client)
        response = post(client, "/c/elm-street/gatherings/new",
                        new_fields(repeat="monthly_weekday", setpos=-1, starts_local="2027-03-25T18:30",
                                   ends_local="2027-03-25T20:30"))
        assert response.status_code == 303
        made = occurrences(app, only_series(app))
        assert [g.starts_local for g in made] == [dt.datetime(2027, 3, 25, 18, 30), dt.datetime(2027, 4, 29, 18, 30)]
        assert [offset(g) for g in made] == [CET, CEST]
        assert response.location == f"/c/elm-street/gatherings/{made[0].id}"


# --- times that do not exist, or happen twice ----------------------------------------------

def test_single_gathering_in_the_spring_gap_moves_forward_and_ambiguous_takes_the_first(app, client):
    setup_circle(app)
    with frozen(2027, 3, 1, 9):
        with app.test_request_context():
            circle, ada = db.session.scalar(select(Circle)), db.session.scalar(select(User))
            gap = domain.create_gathering(circle, ada, title="Night walk", **times("2027-03-28", "02:30", "04:30"))
            twice = domain.create_gathering(circle, ada, title="Night walk",
                                            **times("2027-10-31", "02:30", "04:30"))
            new_york = domain.create_gathering(circle, ada, title="Night walk", time_zone="America/New_York",
                                               **times("2027-03-14", "02:30", "04:30"))
            db.session.commit()
            ids = gap.id, twice.id, new_york.id
        gap, twice, new_york = (gathering(app, i) for i in ids)
        # 02:30 does not exist on 28 March in Berlin: it is 03:30 CEST (01:30 UTC), as RFC 5545 says.
        assert gap.starts_local == dt.datetime(2027, 3, 28, 3, 30) and offset(gap) == CEST
        assert gap.starts_at == dt.datetime(2027, 3, 28, 1, 30, tzinfo=UTC) and wall(gap) == gap.starts_local
        assert gap.ends_local == dt.datetime(2027, 3, 28, 4, 30)
        # 02:30 happens twice on 31 October: the first, still CEST (00:30 UTC).
        assert twice.starts_local == dt.datetime(2027, 10, 31, 2, 30) and offset(twice) == CEST
        assert twice.starts_at == dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
        # Its end, 04:30, is after the change: CET.
        assert twice.ends_at == dt.datetime(2027, 10, 31, 3, 30, tzinfo=UTC)
        # The same rule in New York on 14 March.
        assert new_york.starts_local == dt.datetime(2027, 3, 14, 3, 30) and offset(new_york) == EDT
        assert new_york.starts_at == dt.datetime(2027, 3, 14, 7, 30, tzinfo=UTC)

        # The page shows the time it really is.
        login(client)
        assert "Sun 28 Mar 2027, 03:30–04:30" in text_of(client.get(f"/c/elm-street/gatherings/{gap.id}"))
        assert "Sun 31 Oct 2027, 02:30–04:30" in text_of(client.get(f"/c/elm-street/gatherings/{twice.id}"))


def test_single_gathering_in_the_gap_through_the_form(app, client):
    setup_circle(app)
    with frozen(2027, 3, 1, 9):
        login(client)
        response = post(client, "/c/elm-street/gatherings/new",
                        new_fields(title="Star gazing", starts_local="2027-03-28T02:30",
                                   ends_local="2027-03-28T05:00"))
        assert response.status_code == 303
        assert "Sun 28 Mar 2027, 03:30–05:00" in text_of(client.get(response.location))
        with app.app_context():
            posted = db.session.scalar(select(Gathering).where(Gathering.title == "Star gazing"))
            assert posted.starts_local == dt.datetime(2027, 3, 28, 3, 30)
            assert posted.starts_at == dt.datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


def test_series_occurrence_in_the_gap_and_in_the_repeated_hour(app):
    setup_circle(app)
    with frozen(2027, 3, 1, 9), weeks_ahead(app, 40):
        series_id = start_series(app, freq="weekly", title="Night walk",
                                 **times("2027-03-21", "02:30", "04:30"))
    made = by_date(occurrences(app, series_id))
    before, gap, after = made[dt.date(2027, 3, 21)], made[dt.date(2027, 3, 28)], made[dt.date(2027, 4, 4)]
    assert (before.starts_local, offset(before)) == (dt.datetime(2027, 3, 21, 2, 30), CET)
    assert before.starts_at == dt.datetime(2027, 3, 21, 1, 30, tzinfo=UTC)
    # The series' own slot is 02:30; the gathering happens at 03:30 CEST. 
    assert gap.occurrence_local == dt.datetime(2027, 3, 28, 2, 30)
    assert (gap.starts_local, offset(gap)) == (dt.datetime(2027, 3, 28, 3, 30), CEST)
    assert gap.starts_at == dt.datetime(2027, 3, 28, 1, 30, tzinfo=UTC) and wall(gap) == gap.starts_local
    assert (after.starts_local, offset(after)) == (dt.datetime(2027, 4, 4, 2, 30), CEST)
    assert after.starts_at == dt.datetime(2027, 4, 4, 0, 30, tzinfo=UTC)
    # 31 October: 02:30 happens twice; the series takes the first, CEST.
    twice, next_week = made[dt.date(2027, 10, 31)], made[dt.date(2027, 11, 7)]
    assert (twice.starts_local, offset(twice)) == (dt.datetime(2027, 10, 31, 2, 30), CEST)
    assert twice.starts_at == dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert (next_week.starts_local, offset(next_week)) == (dt.datetime(2027, 11, 7, 2, 30), CET)
    assert next_week.starts_at == dt.datetime(2027, 11, 7, 1, 30, tzinfo=UTC)


def test_short_series_occurrence_in_the_gap_keeps_its_length_and_does_not_stop_the_top_up(app):
    setup_circle(app)
    with frozen(2027, 3, 1, 9), weeks_ahead(app, 1):
        night = start_series(app, freq="weekly", title="Night walk",
                             **times("2027-03-07", "02:30", "03:30"))
        later = start_series(app, freq="weekly", title="Choir",
                             **times("2027-03-03", "19:00", "21:00"))
    with frozen(2027, 3, 15, 9), weeks_ahead(app, 3):
        result = extend(app)
        assert result.exit_code == 0, repr(result.exception)
    gap = by_date(occurrences(app, night))[dt.date(2027, 3, 28)]
    # RFC 5545 3.8.5.3: each instance keeps the exact duration of the first.
    assert (gap.starts_local, gap.ends_local) == (dt.datetime(2027, 3, 28, 3, 30), dt.datetime(2027, 3, 28, 4, 30))
    assert offset(gap) == CEST and gap.ends_at - gap.starts_at == dt.timedelta(hours=1)
    assert dt.date(2027, 3, 31) in by_date(occurrences(app, later))


# --- the top-up ------------------------------------------------------------------------------

def test_extend_tops_up_after_time_moves_on_without_duplicates(app):
    setup_circle(app)
    with frozen(2027, 3, 1, 9), weeks_ahead(app, 8):
        series_id = start_series(app, freq="weekly",
                                 **times("2027-03-04", "18:30", "20:30"))
        first = occurrences(app, series_id)
        # 8 weeks ahead of 1 March: the Thursdays from 4 March to 22 April.
        thursdays = [dt.date(2027, 3, 4) + dt.timedelta(weeks=n) for n in range(12)]
        assert [g.starts_local.date() for g in first] == thursdays[:8]
        # Nothing moved: nothing to make.
        result = extend(app)
        assert result.exit_code == 0 and "made 0 occurrence(s)" in result.output

    with frozen(2027, 4, 1, 9), weeks_ahead(app, 8):
        result = extend(app)
        assert result.exit_code == 0, result.output
        assert "made 4 occurrence(s)" in result.output  # 29 April, 6, 13 and 20 May
        again = extend(app)
        assert again.exit_code == 0 and "made 0 occurrence(s)" in again.output

    made = occurrences(app, series_id)
    assert [g.starts_local.date() for g in made] == thursdays
    assert len({g.occurrence_local for g in made}) == len(made) == count(app, Gathering)
    assert [g.id for g in made[:8]] == [g.id for g in first]  # the first ones are the same rows
    for g in made:
        assert g.starts_local.time() == dt.time(18, 30) and wall(g) == g.starts_local
        assert offset(g) == (CET if g.starts_local.date() < dt.date(2027, 3, 28) else CEST)
        assert not g.detached and g.status == "confirmed"


def test_an_occurrence_exactly_at_the_horizon_is_not_lost(app):
    setup_circle(app)
    # 09:00 UTC on Monday 1 March; 8 weeks later it is 11:00 CEST in Berlin, exactly a Monday 11:00 slot.
    with frozen(2027, 3, 1, 9), weeks_ahead(app, 8):
        series_id = start_series(app, freq="weekly",
                                 **times("2027-03-01", "11:00", "12:00"))
    with frozen(2027, 3, 20, 9), weeks_ahead(app, 8):
        assert extend(app).exit_code == 0
        assert extend(app).exit_code == 0
    days = [g.starts_local.date() for g in occurrences(app, series_id)]
    assert days == [dt.date(2027, 3, 1) + dt.timedelta(weeks=n) for n in range(11)]  # 1 March to 10 May


# --- one date alone, or the whole series -------------------------------------------------------

def test_edit_one_date_move_one_skip_one_then_edit_the_series(app, client):
    setup_circle(app, "Bruno", "Chiara")
    with frozen(2027, 3, 1, 9), weeks_ahead(app, 8):
        series_id = start_series(app, freq="weekly", place="Elm Street 5",
                                 **times("2027-03-04", "18:30", "20:30"))
        dates = occurrences(app, series_id)
        assert len(dates) == 8
        login(client)
        bruno, chiara = app.test_client(), app.test_client()
        login(bruno, email="bruno@example.org")
        login(chiara, email="chiara@example.org")

        # Bruno and Chiara answer the 2nd and 6th dates (a "can't come" is an answer too).
        assert post(bruno, f"/c/elm-street/gatherings/{dates[1].id}/answer", {"response": "going"}).status_code == 303
        assert post(chiara, f"/c/elm-street/gatherings/{dates[5].id}/answer", {"response": "cant"}).status_code == 303

        # The 3rd is edited alone: it becomes detached.
        response = post(client, f"/c/elm-street/gatherings/{dates[2].id}/edit",
                        edit_fields(dates[2], title="Special"))
        assert response.status_code == 303
        special = gathering(app, dates[2].id)
        assert special.detached and special.title == "Special" and special.series_id == series_id

        # The 4th is moved an hour later, and stays in the series (detached, same slot).
        moved_to = dates[3].starts_local + dt.timedelta(hours=1)
        response = post(client, f"/c/elm-street/gatherings/{dates[3].id}/edit", edit_fields(
            dates[3], starts_local=form_time(moved_to), ends_local=form_time(moved_to + dt.timedelta(hours=2))))
        assert response.status_code == 303
        moved = gathering(app, dates[3].id)
        assert moved.detached and moved.starts_local == dt.datetime(2027, 3, 25, 19, 30)
        assert moved.occurrence_local == dt.datetime(2027, 3, 25, 18, 30)
        assert offset(moved) == CET and moved.starts_at == dt.datetime(2027, 3, 25, 18, 30, tzinfo=UTC)
        assert moved.sequence == 1

        # The 5th is skipped this time.
        response = post(client, f"/c/elm-street/gatherings/{dates[4].id}/skip", follow_redirects=True)
        assert "Skipped this time. The series goes on." in text_of(response)
        skipped = gathering(app, dates[4].id)
        assert skipped.status == "cancelled" and skipped.cancel_reason == SKIPPED
        assert "Skipped this time" in text_of(client.get(f"/c/elm-street/gatherings/{dates[4].id}"))
        # Members may not skip or edit the series.
        assert post(bruno, f"/c/elm-street/gatherings/{dates[6].id}/skip").status_code == 403
        assert bruno.get(f"/c/elm-street/gatherings/series/{series_id}").status_code == 403

        # The series is edited: only the coming dates nobody but the host has answered change.
        page = text_of(client.get(f"/c/elm-street/gatherings/series/{series_id}"))
        assert 'value="Elm Street 5"' in page
        response = post(client, f"/c/elm-street/gatherings/series/{series_id}",
                        {"title": "Repair café", "description": "Bring a broken thing.", "place": "Library",
                         "online_url": "", "capacity": ""}, follow_redirects=True)
        assert ("Changed 3 coming dates. 2 dates that people have already answered keep their details; "
                "edit those one by one.") in text_of(response)

        after = {g.id: g for g in occurrences(app, series_id)}
        for changed in (dates[0], dates[6], dates[7]):
            g = after[changed.id]
            assert (g.place, g.description_source, g.detached) == ("Library", "Bring a broken thing.", False)
            assert g.sequence == 1  # the place changed
        for kept in (dates[1], dates[5]):  # answered
            assert (after[kept.id].place, after[kept.id].description_source) == ("Elm Street 5", "")
        assert (after[dates[2].id].title, after[dates[2].id].place) == ("Special", "Elm Street 5")
        assert (after[dates[3].id].place, after[dates[3].id].starts_local) == ("Elm Street 5", moved_to)
        assert (after[dates[4].id].place, after[dates[4].id].status) == ("Elm Street 5", "cancelled")
        with app.app_context():
            assert db.session.get(Series, series_id).template["place"] == "Library"

    # Time moves on: new dates come from the new template; the moved and the
    # skipped dates are not made a second time.
    with frozen(2027, 4, 1, 9), weeks_ahead(app, 8):
        result = extend(app)
        assert result.exit_code == 0 and "made 4 occurrence(s)" in result.output
    made = occurrences(app, series_id)
    assert len(made) == 12 == len({g.occurrence_local for g in made})
    assert [g.place for g in made[8:]] == ["Library"] * 4
    assert [g.description_source for g in made[8:]] == ["Bring a broken thing."] * 4
    assert sum(1 for g in made if g.occurrence_local == dt.datetime(2027, 3, 25, 18, 30)) == 1
    assert sum(1 for g in made if g.occurrence_local == dt.datetime(2027, 4, 1, 18, 30)) == 1


def test_series_edit_passes_by_past_dates(app, client):
    setup_circle(app)
    with frozen(2027, 3, 1, 9), weeks_ahead(app, 4):
        series_id = start_series(app, freq="weekly", place="Elm Street 5",
                                 **times("2027-03-04", "18:30", "20:30"))
    with frozen(2027, 3, 12, 9):
        login(client)
        response = post(client, f"/c/elm-street/gatherings/series/{series_id}",
                        {"title": "Repair café", "place": "Library"}, follow_redirects=True)
        assert "Changed 2 coming dates." in text_of(response)
        assert "already answered" not in text_of(response)
    assert [g.place for g in occurrences(app, series_id)] == ["Elm Street 5", "Elm Street 5", "Library", "Library"]


def test_series_edit_with_a_bad_link_changes_nothing(app, client):
    setup_circle(app)
    with frozen(2027, 3, 1, 9), weeks_ahead(app, 2):
        series_id = start_series(app, freq="weekly", place="Elm Street 5",
                                 **times("2027-03-04", "18:30", "20:30"))
        with app.app_context():
            template = dict(db.session.get(Series, series_id).template)
        login(client)
        response = post(client, f"/c/elm-street/gatherings/series/{series_id}",
                        {"title": "Repair café", "place": "Elm Street 5", "online_url": "javascript:alert(1)"})
        assert response.status_code == 422
        assert "A link must start with http:// or https://." in text_of(response)
        with app.app_context():
            assert db.session.get(Series, series_id).template == template
    with frozen(2027, 3, 20, 9), weeks_ahead(app, 2):
        result = extend(app)
        assert result.exit_code == 0, repr(result.exception)
    assert [g.online_url for g in occurrences(app, series_id)] == [""] * 4
