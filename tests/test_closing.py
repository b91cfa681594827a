"""Closing a circle, end to end: a steward offers the export and proposes it;
the proposal passes; the circle is read-only for 30 days and members are
told; its links and feeds answer that it is closed; then the job runner
deletes it with everything in it. An objection keeps it open."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from app.circles import domain as circles
from app.circles.models import Circle
from app.closing import domain as closing
from app.closing.models import Closing
from app.database import utcnow, write_unit
from app.extensions import db
from app.gatherings import feeds, guests
from app.gatherings.models import Gathering
from app.auth.models import User
from app.notify.models import Notice
from app.talk import domain as talk

from .helpers import post, text_of
from .test_export import seeded, signed_in


def outside_links(app) -> dict:
    """An invitation, a shared gathering and a calendar feed of Elm Street, as outsiders hold them."""
    with app.test_request_context():
        elm = db.session.scalar(select(Circle).where(Circle.slug == "elm-street"))
        ada = db.session.scalar(select(User).where(User.email == "ada@example.org"))
        with write_unit():
            invitation = circles.create_invitation(elm, ada, days=14, max_uses=5)
            gathering = db.session.scalar(select(Gathering).where(Gathering.circle_id == elm.id,
                                                                  Gathering.title == "Soup evening"))
            public = guests.open_publicly(gathering)
            feed = feeds.make_feed(ada, elm).token
        db.session.remove()
    return {"join": f"/join/{invitation}", "public": f"/g/{public}", "feed": f"/feeds/{feed}.ics"}


def propose(client) -> str:
    page = text_of(client.get("/c/elm-street/close"))
    assert 'href="/c/elm-street/export"' in page  # the export is offered first
    refused = post(client, "/c/elm-street/close", {"reason": "We all moved away."})
    assert refused.status_code == 422 and "Download the export first" in text_of(refused)
    response = post(client, "/c/elm-street/close", {"reason": "We all moved away.", "exported": "y"})
    assert response.status_code == 303
    return response.headers["Location"]


def decide(app, days: int = 8) -> None:
    with app.test_request_context():
        with write_unit():
            talk.close_due(now=utcnow() + dt.timedelta(days=days))
        db.session.remove()


def test_a_circle_closes_by_proposal_is_read_only_then_deleted(app):
    seeded(app)
    links = outside_links(app)
    for path in links.values():
        assert app.test_client().get(path).status_code == 200, path
    ada = signed_in(app, "ada")
    assert signed_in(app, "elif").get("/c/elm-street/close").status_code == 403  # stewards only
    proposal = propose(ada)
    assert re.search(r"/c/elm-street/proposals/\d+$", proposal)
    page = text_of(ada.get(proposal))
    assert "Close Elm Street" in page and "becomes read-only for 30 days" in page
    assert "Closing this circle has been proposed." in text_of(ada.get("/c/elm-street/members"))
    assert "proposed already" in text_of(ada.get("/c/elm-street/close"))
    assert "Ada Okafor proposed to close the circle." in text_of(ada.get("/c/elm-street/log"))

    assert post(ada, f"{proposal}/position", {"choice": "consent"}).status_code in (200, 303)
    decide(app)  # a week on, nobody objected: it passes
    with app.app_context():
        elm_id = db.session.scalar(select(Circle.id).where(Circle.slug == "elm-street"))
        row = db.session.get(Closing, elm_id)
        assert row.closed_at is not None and row.delete_after - row.closed_at == dt.timedelta(days=30)
        told = set(db.session.scalars(select(Notice.user_id).where(Notice.kind == "circle_closing")))
        assert len(told) == 4  # every member
    # Members read it, with the date it goes; nothing new can be added; the export still works.
    overview = ada.get("/c/elm-street/")
    assert overview.status_code == 200 and "This circle has closed: it can be read until" in text_of(overview)
    blocked = post(ada, "/c/elm-street/talk/new", {"title": "One more thing", "body": "Hello"})
    assert blocked.status_code == 403 and "nothing new can be added" in text_of(blocked)
    assert post(ada, "/c/elm-street/export", {}).status_code == 200
    # Outsiders' links and feeds say it is closed, and nothing more.
    for path in links.values():
        response = app.test_client().get(path)
        assert response.status_code == 410, path
        assert "This circle has closed" in text_of(response) and "Elm Street" not in text_of(response), path

    # Thirty days on, the job runner deletes it with everything in it.
    with app.app_context():
        assert closing.delete_due(now=utcnow() + dt.timedelta(days=20)) == []
        assert closing.delete_due(now=utcnow() + dt.timedelta(days=39)) == [elm_id]
        assert db.session.get(Circle, elm_id) is None
        assert db.session.scalar(select(func.count()).select_from(Gathering).where(Gathering.circle_id == elm_id)) == 0
        assert db.session.scalar(select(Circle.id).where(Circle.slug == "harbour-coop"))  # the other stays
    gone = ada.get("/c/elm-street/")
    assert gone.status_code == 410 and "This circle has closed" in text_of(gone)
    assert ada.get("/c/no-such-circle/").status_code == 404  # only what existed says "closed"
    # A new circle may take the address: then it answers as any circle does.
    with app.app_context():
        gus = db.session.scalar(select(User).where(User.email == "gus@example.org"))
        with write_unit():
            circles.create_circle(gus, name="Elm Street, again", slug="elm-street", time_zone="Europe/Berlin")
    assert ada.get("/c/elm-street/").status_code == 404
    gus_client = signed_in(app, "gus")
    assert gus_client.get("/c/elm-street/").status_code == 200


def test_an_objection_keeps_the_circle_open(app):
    seeded(app)
    ada = signed_in(app, "ada")
    proposal = propose(ada)
    assert post(ada, f"{proposal}/position", {"choice": "consent"}).status_code in (200, 303)
    elif_ = signed_in(app, "elif")
    assert post(elif_, f"{proposal}/position", {"choice": "object", "reason": "I still live here!"}).status_code \
        in (200, 303)
    decide(app)
    with app.app_context():
        elm_id = db.session.scalar(select(Circle.id).where(Circle.slug == "elm-street"))
        assert db.session.get(Closing, elm_id) is None
    assert "Closing this circle" not in text_of(ada.get("/c/elm-street/"))
    assert post(ada, "/c/elm-street/talk/new", {"title": "Staying", "body": "Good."}).status_code == 303
    # It can be proposed again.
    assert 'name="exported"' in text_of(ada.get("/c/elm-street/close"))
