"""A person's own data from the account page: account, circles, answers,
dishes, dietary needs, loans on both sides, posts; nobody else's."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.gatherings.models import Answer
from app.lending.models import Reservation, Thing
from app.meals.models import DietaryNeeds

from .helpers import text_of
from .test_export import seeded, signed_in


def my_data(client) -> dict:
    response = client.get("/auth/account/my-data.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    return json.loads(response.get_data())


def test_everyone_downloads_their_own_data_from_the_account_page(app):
    seeded(app)
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.email == "ada@example.org"))
        db.session.merge(DietaryNeeds(user_id=ada.id, avoids=["celery"], diets=["vegan"]))
        db.session.commit()
        lent = db.session.scalar(select(db.func.count()).select_from(Reservation).join(Thing)
                                 .where(Thing.owner_id == ada.id))
        answers = db.session.scalar(select(db.func.count()).select_from(Answer).where(Answer.user_id == ada.id))
        borrowed = db.session.scalar(select(db.func.count()).select_from(Reservation)
                                     .where(Reservation.borrower_id == ada.id))
    client = signed_in(app, "ada")
    assert 'href="/auth/account/my-data.json"' in text_of(client.get("/auth/account"))
    data = my_data(client)
    assert data["format"] == "communitarium-person" and data["version"] == 1
    assert data["account"] == [data["account"][0]] and data["account"][0]["email"] == "ada@example.org"
    assert {c["circle"] for c in data["circles"]} == {"Elm Street"}
    assert len(data["answers"]) == answers and {a["gathering"] for a in data["answers"]} >= {"Repair café"}
    assert data["dishes"] and data["hosting"]
    assert data["dietary_needs"] == [{"avoids": ["celery"], "diets": ["vegan"],
                                      "updated_at": data["dietary_needs"][0]["updated_at"]}]
    assert lent + borrowed > 0 and len(data["loans"]) == lent + borrowed
    assert all("Ada Okafor" in (loan["owner"], loan["borrower"]) for loan in data["loans"])
    assert data["posts"][0]["discussions"] or data["posts"][0]["replies"]
    # Nobody else's needs or answers.
    other = my_data(signed_in(app, "chiara"))
    assert other["dietary_needs"] != data["dietary_needs"]
    assert other["account"][0]["email"] == "chiara@example.org"
    assert "ada@example.org" not in json.dumps(other)


def test_signed_out_no_data(client):
    response = client.get("/auth/account/my-data.json")
    assert response.status_code in (302, 303) and "/auth/login" in response.headers["Location"]
