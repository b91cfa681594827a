"""Every steward action writes exactly one log entry, with who and when,
readable by every member."""

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.circles.models import Invitation, JoinRequest, LogEntry
from app.extensions import db

from .circles_helpers import add_member, make_circle, make_invitation_link
from .helpers import login, make_user, post, text_of


def _settings(client, ids):
    return post(client, "/c/elm-street/settings", {"name": "Elm Street Friends", "time_zone": "Europe/Berlin", "members_may_share": "y",
                                                   "language": "en", "join_mode": "open"})


def _invite(client, ids):
    make_invitation_link(client, "elm-street")


def _revoke(client, ids):
    return post(client, f"/c/elm-street/invitations/{ids['invitation']}/revoke")


def _approve(client, ids):
    return post(client, f"/c/elm-street/requests/{ids['request']}/approve")


def _decline(client, ids):
    return post(client, f"/c/elm-street/requests/{ids['request']}/decline")


def _change_agreements(client, ids):
    return post(client, "/c/elm-street/agreements/change", {"body": "- Be kind", "note": "First rules",
                                                            "how": "now"})


STEWARD_ACTIONS = [
    ("settings_changed", _settings, "Ada changed the settings: name."),
    ("invitation_made", _invite, "Ada made an invitation link for 10 people, for 7 days."),
    ("invitation_revoked", _revoke, "Ada withdrew an invitation link."),
    ("member_approved", _approve, "Ada welcomed Eve into the circle."),
    ("member_declined", _decline, "Ada declined the request of Eve to join."),
    ("agreements_changed", _change_agreements, "Ada changed the agreements (version 1): First rules"),
]


@pytest.mark.parametrize("action, perform, line", STEWARD_ACTIONS, ids=[a[0] for a in STEWARD_ACTIONS])
def test_each_steward_action_writes_one_log_entry(app, client, action, perform, line):
    with app.app_context():
        ada = make_user("ada@example.org", "Ada")
        circle = make_circle(ada)
        bruno = add_member(circle, make_user("bruno@example.org", "Bruno"))
        eve = make_user("eve@example.org", "Eve")
        from app.circles import domain as circles
        circles.create_invitation(circle, ada, days=7, max_uses=3)
        db.session.add(JoinRequest(circle_id=circle.id, user_id=eve.id, answer="Number 3"))
        db.session.commit()
        ids = {"bruno": bruno.id, "invitation": db.session.scalar(select(Invitation.id)),
               "request": db.session.scalar(select(JoinRequest.id)), "ada": ada.id}
        before = db.session.scalar(select(db.func.max(LogEntry.id)))
    login(client)
    started = dt.datetime.now(dt.timezone.utc)
    perform(client, ids)
    with app.app_context():
        entries = db.session.scalars(select(LogEntry).where(LogEntry.id > before)).all()
        assert [e.action for e in entries] == [action]
        assert entries[0].actor_id == ids["ada"]
        assert started - dt.timedelta(seconds=1) <= entries[0].created_at <= dt.datetime.now(dt.timezone.utc)
    # Every member reads it, worded.
    bruno_client = app.test_client()
    login(bruno_client, email="bruno@example.org")
    assert line in text_of(bruno_client.get("/c/elm-street/log"))


def test_the_log_pages_back_thirty_entries_at_a_time_and_names_former_members(app, client):
    from app.auth import domain as accounts
    from app.circles import domain as circles

    with app.app_context():
        ada = make_user("ada@example.org", "Ada")
        circle = make_circle(ada)
        gone = make_user("gus@example.org", "Gus")
        add_member(circle, gone)
        for n in range(1, 40):
            circles.log(circle, ada, "invitation_made", max_uses=n, days=7, note=f"<b>note {n}</b>")
        circles.log(circle, gone, "member_left", subject=gone)
        db.session.commit()
        accounts.delete_account(gone)
        db.session.commit()
    login(client)
    first = client.get("/c/elm-street/log").get_data(as_text=True)
    assert first.count("<li><time") == 30
    # Newest first; a deleted account is "a former member"; what people typed is escaped.
    assert "a former member left the circle." in text_of(client.get("/c/elm-street/log"))
    assert "&lt;b&gt;note 39&lt;/b&gt;" in first and "<b>note" not in first
    older = re.search(r'href="(/c/elm-street/log\?before=\d+)"', first).group(1)
    second = client.get(older).get_data(as_text=True)
    assert second.count("<li><time") == 11  # 41 entries: the founding, 39 links and a leaving
    assert "note 10&lt;/b&gt;)" in second and "Ada started the circle." in text_of(client.get(older))
    assert "note 10&lt;/b&gt;)" not in first and "Older entries" not in second
