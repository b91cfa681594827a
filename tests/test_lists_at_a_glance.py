"""Lists that read at a glance: a series once ("every Tuesday, next: ..."), a
date called off still shown, headings where the day (or, for the past, the
month) changes, and a date tile on every card."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.circles.models import Circle
from app.database import write_unit
from app.extensions import db
from app.gatherings import domain, series
from app.gatherings.models import Gathering

from .gatherings_helpers import seen
from .helpers import login
from .test_gatherings_series import frozen, setup_circle, start_series


def _times(date: str, start: str, end: str) -> dict:
    day = dt.date.fromisoformat(date)
    return {"starts_local": dt.datetime.combine(day, dt.time.fromisoformat(start)),
            "ends_local": dt.datetime.combine(day, dt.time.fromisoformat(end))}


@pytest.mark.parametrize("rule, words", [
    ({"freq": "weekly"}, "every Tuesday"),
    ({"freq": "weekly", "interval": 2}, "every 2 weeks on Tuesday"),
    ({"freq": "monthly_date"}, "monthly, on day 1"),
    ({"freq": "monthly_date", "interval": 3}, "every 3 months, on day 1"),
    ({"freq": "monthly_weekday", "setpos": 1}, "the first Tuesday of every month"),
    ({"freq": "monthly_weekday", "setpos": -1, "interval": 2}, "the last Tuesday, every 2 months"),
])
def test_a_series_in_words(app, rule, words):
    with app.test_request_context():
        assert series.in_words(rule["freq"], rule.get("interval", 1), rule.get("setpos"),
                               dt.datetime(2026, 12, 1, 17, 0)) == words


def test_a_weekly_series_shows_once_with_its_next_date_and_a_date_called_off_stays(app, client):
    setup_circle(app)
    with frozen(2026, 11, 29, 9, 0):
        series_start = _times("2026-12-01", "17:00", "19:00")
        first_id = start_series(app, freq="weekly", **series_start)
        with app.test_request_context():
            circle = db.session.scalar(select(Circle))
            ada = db.session.scalar(select(User))
            with write_unit():
                domain.create_gathering(circle, ada, title="Soup evening", **_times("2026-12-03", "18:30", "21:00"))
            # The first date is called off: it stays in the list; the series shows at its next date.
            with write_unit():
                domain.cancel_gathering(first_id, ada, None, "Hall closed")
            occurrences = db.session.scalar(select(db.func.count()).select_from(Gathering)
                                            .where(Gathering.series_id.is_not(None)))
        assert occurrences >= 8  # eight weeks ahead, all in the database
        login(client)
        for path in ("/c/elm-street/gatherings", "/c/elm-street/"):
            page = client.get(path).get_data(as_text=True)
            cards = [seen(li) for li in re.findall(r'<li class="gathering.*?</li>', page, re.S)]
            repair = [c for c in cards if "Repair café" in c]
            assert len(repair) == 2, repair  # the date called off, and the series once
            assert "cancelled" in repair[0] and "every Tuesday" not in repair[0]
            assert "every Tuesday next: Tue 8 Dec 2026, 17:00–19:00" in repair[1], repair[1]
            assert [c.split(" ")[0] for c in cards] == ["Repair", "Soup", "Repair"]
            # Every card has its date tile (for the eye; screen readers skip it).
            assert len(re.findall(r'<span class="tile" aria-hidden="true">', page)) == len(cards)
        page = client.get("/c/elm-street/gatherings").get_data(as_text=True)
        headings = re.findall(r'<h3 class="day">([^<]+)</h3>', page)
        assert headings == ["Tuesday 1 December", "Thursday 3 December", "Tuesday 8 December"]


def test_what_we_did_is_grouped_by_month_newest_first(app, client):
    setup_circle(app)
    with frozen(2026, 11, 29, 9, 0):
        with app.test_request_context():
            circle = db.session.scalar(select(Circle))
            ada = db.session.scalar(select(User))
            with write_unit():
                for title, day in (("Clean-up", "2026-10-10"), ("Harvest", "2026-10-24"), ("Lanterns", "2026-11-11")):
                    domain.create_gathering(circle, ada, title=title, allow_past=True,
                                            **_times(day, "10:00", "12:00"))
        login(client)
        page = client.get("/c/elm-street/gatherings/past").get_data(as_text=True)
        assert re.findall(r'<h3 class="day">([^<]+)</h3>', page) == ["November 2026", "October 2026"]
        assert [t for t in re.findall(r"<strong>([^<]+)</strong>", page) if t in ("Clean-up", "Harvest", "Lanterns")] \
            == ["Lanterns", "Harvest", "Clean-up"]
