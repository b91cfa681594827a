"""The demo's meals: what seed-demo promises, at the ids bench/pages.py measures."""

from __future__ import annotations

from sqlalchemy import select

from app.cli import seed_demo
from app.extensions import db
from app.meals.models import Meal, Share
from bench.pages import PAGES

from .gatherings_helpers import seen
from .helpers import login


def test_seed_demo_has_a_potluck_with_open_needs_a_cooked_meal_and_a_split_one(app):
    with app.test_request_context():
        seed_demo(1)
        meals = {m.style + str(m.finalized_at is not None): m.gathering_id for m in db.session.scalars(select(Meal))}
        shares = db.session.scalars(select(Share)).all()
        db.session.remove()
    assert len(shares) == 4 and sum(s.share_minor for s in shares) == 3100 + 1250
    client = app.test_client()
    assert login(client, email="ada@example.org", password="bring-a-dish-and-a-friend").status_code == 303
    potluck = seen(client.get(f"/c/elm-street/gatherings/{meals['potluckFalse']}"))
    assert "Still needed: 1 main, 3 sides, 2 desserts, 2 drinks, Bread" in potluck
    cooked = seen(client.get(f"/c/elm-street/gatherings/{meals['cookedFalse']}"))
    assert "Contains: gluten, eggs, milk, celery" in cooked
    assert "Coming: 7 people, 5 adults and 2 children, 6 portions." in cooked
    assert "Final. Total: €43.50" in seen(client.get(f"/c/elm-street/meals/{meals['cookedTrue']}/costs"))
    for name, path, signed_in in PAGES:
        if name in ("meal", "potluck"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert ("Sunday lunch" if name == "meal" else "Courtyard potluck") in seen(response), path

