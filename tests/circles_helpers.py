"""Helpers for tests of circles: make circles and members straight in the database."""

from __future__ import annotations

import re

from app.auth.models import User
from app.circles import domain as circles
from app.circles.models import Circle, Membership
from app.extensions import db

from .helpers import make_user, post


def make_circle(founder: User, slug: str = "elm-street", name: str = "Elm Street", **settings) -> Circle:
    settings.setdefault("time_zone", "Europe/Berlin")
    circle = circles.create_circle(founder, name=name, slug=slug, **settings)
    db.session.commit()
    return circle


def add_member(circle: Circle, user: User, role: str = "member") -> Membership:
    membership = Membership(circle_id=circle.id, user_id=user.id, role=role)
    db.session.add(membership)
    db.session.commit()
    return membership


def make_invitation_link(client, slug: str, max_uses: int = 10, days: int = 7) -> str:
    """Make an invitation through the page, as a steward would; returns its path."""
    response = post(client, f"/c/{slug}/invitations", {"days": days, "max_uses": max_uses, "note": "flyer"})
    assert response.status_code == 200, response.status_code
    match = re.search(r'value="https?://[^/"]+(/join/[^"]+)"', response.get_data(as_text=True))
    assert match, "no invitation link on the page"
    return match.group(1)


def two_circles(app):
    """Two circles with no member in common: ids for the access tests.

    Elm Street: Ada (steward), Bruno (member). Harbour: Chiara (steward), Dmitri (member).
    """
    with app.app_context():
        ada = make_user("ada@example.org", "Ada")
        bruno = make_user("bruno@example.org", "Bruno")
        chiara = make_user("chiara@example.org", "Chiara")
        dmitri = make_user("dmitri@example.org", "Dmitri")
        elm = make_circle(ada, "elm-street", "Elm Street")
        harbour = make_circle(chiara, "harbour", "Harbour", join_mode="question", join_question="Which flat?")
        add_member(elm, bruno)
        dmitri_membership = add_member(harbour, dmitri)
        return {"elm": elm.slug, "harbour": harbour.slug, "dmitri_membership": dmitri_membership.id,
                "harbour_id": harbour.id}
