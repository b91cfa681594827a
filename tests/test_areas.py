"""The area registry: an area outside app/ (tests/sample_area) plugs in
through it alone, and everything it registers appears where it should; the
app without it shows none of it."""

from __future__ import annotations

import re

from app.auth.models import User
from app.circles.models import LogEntry
from app.config import Defaults
from app.extensions import db
from tests import sample_area

from .gatherings_helpers import email, neighbourhood
from .helpers import PASSWORD, login, post, text_of

WITH_SAMPLE = [*Defaults.AREAS, "tests.sample_area"]


def test_a_new_area_plugs_in_without_touching_app(make_app):
    app = make_app(AREAS=WITH_SAMPLE)
    ids = neighbourhood(app)
    sample_area.deleted_accounts.clear()
    ada = app.test_client()
    login(ada, email("Ada"))

    # Its tab, among the circle's tabs, in its order, marked on its own page.
    overview = text_of(ada.get("/c/elm-street/"))
    assert 'href="/c/elm-street/noticeboard"' in overview
    assert overview.index("Gatherings") < overview.index("Noticeboard") < overview.index("Members")
    board = ada.get("/c/elm-street/noticeboard")
    assert board.status_code == 200
    assert '<a href="/c/elm-street/noticeboard" aria-current="page">Noticeboard</a>' in text_of(board)

    # Its panel on the gathering page.
    gathering = text_of(ada.get(ids["path"]))
    assert 'id="noticeboard-panel"' in gathering and "Posters for Soup evening" in gathering

    # Its panel on home, its day in the circle's calendar feed, its page kept offline by choice.
    assert 'id="noticeboard-home"' in text_of(ada.get("/"))
    assert post(ada, "/c/elm-street/calendar", {"which": "ours"}).status_code == 303
    feed = re.search(r'id="feed-ours"[^>]*value="https?://[^/]+([^"]+)"', text_of(ada.get("/c/elm-street/calendar")))
    ical = app.test_client().get(feed.group(1)).get_data(as_text=True)
    assert "SUMMARY:Posters come down" in ical and "DTSTART;VALUE=DATE:20270104" in ical
    assert "/noticeboard-kept" in ada.get("/offline/pages").json["pages"]

    # Its kind of notice on the account page, its line on the landing page.
    assert "someone pins a notice for your whole circle" in text_of(ada.get("/auth/account"))
    assert "A noticeboard for the stairwell" in text_of(app.test_client().get("/"))

    # Leaving: its handler runs in the same unit, and the log reads its sentence.
    bruno = app.test_client()
    login(bruno, email("Bruno"))
    assert post(bruno, "/c/elm-street/leave").status_code == 303
    assert "Bruno left, and 2 notices came down." in text_of(ada.get("/c/elm-street/log"))

    # Deleting an account: its warning on the page that asks, its handler on deletion.
    chiara = app.test_client()
    login(chiara, email("Chiara"))
    assert "Your notices on the noticeboard come down." in text_of(chiara.get("/auth/account/delete"))
    assert post(chiara, "/auth/account/delete", {"password": PASSWORD}).status_code == 303
    assert sample_area.deleted_accounts == [ids["Chiara"]]
    with app.app_context():
        assert db.session.get(User, ids["Chiara"]).is_deleted


def test_without_the_area_none_of_it_appears(app, client):
    ids = neighbourhood(app)
    login(client, email("Ada"))
    assert "noticeboard" not in text_of(client.get("/c/elm-street/")).lower()
    assert client.get("/c/elm-street/noticeboard").status_code == 404
    assert "noticeboard-panel" not in text_of(client.get(ids["path"]))
    assert "pins a notice" not in text_of(client.get("/auth/account"))
    assert "noticeboard" not in text_of(app.test_client().get("/")).lower()
    bruno = app.test_client()
    login(bruno, email("Bruno"))
    assert post(bruno, "/c/elm-street/leave").status_code == 303
    with app.app_context():
        assert db.session.query(LogEntry).filter_by(action="noticeboard_unpinned").count() == 0


def test_a_failing_leave_handler_leaves_nothing_half_done(make_app, monkeypatch):
    """Handlers run in the leaving's unit: when one fails, the membership and
    everything else the leaving did are still there."""
    app = make_app(AREAS=WITH_SAMPLE)
    neighbourhood(app)

    def broken(circle, user):
        raise RuntimeError("the noticeboard is stuck")

    with app.app_context():
        registry = app.extensions["communitarium.areas"]
        monkeypatch.setattr(registry, "member_left", [*registry.member_left, broken])
    bruno = app.test_client()
    login(bruno, email("Bruno"))
    assert post(bruno, "/c/elm-street/leave").status_code == 500
    ada = app.test_client()
    login(ada, email("Ada"))
    members = text_of(ada.get("/c/elm-street/members"))
    assert "Bruno" in members
    assert "left the circle" not in text_of(ada.get("/c/elm-street/log"))
