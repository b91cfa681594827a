"""What "keep my next gatherings on this device" keeps: the person's home and
the pages of the gatherings they are going to (a seat, a place in line or a
helper's slot), in their own circles only."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.circles.models import Circle
from app.database import write_unit
from app.extensions import db
from app.gatherings import seats, slots

from .circles_helpers import two_circles
from .gatherings_helpers import days_ahead, make_gathering
from .helpers import login, post


def _person(email):
    return db.session.scalar(select(User).where(User.email == email))


def test_the_list_holds_home_and_the_gatherings_i_am_going_to(app, client):
    two_circles(app)
    with app.app_context():
        ada, bruno, chiara = (_person(f"{n}@example.org") for n in ("ada", "bruno", "chiara"))
        elm = db.session.scalar(select(Circle).where(Circle.slug == "elm-street"))
        harbour = db.session.scalar(select(Circle).where(Circle.slug == "harbour"))
        going = make_gathering(elm, ada, "Soup evening", starts=days_ahead(3))
        helping = make_gathering(elm, ada, "Repair café", starts=days_ahead(4))
        make_gathering(elm, ada, "Walk", starts=days_ahead(5))  # not answered: not kept
        elsewhere = make_gathering(harbour, chiara, "House meeting", starts=days_ahead(2))
        with write_unit():
            seats.answer(going.id, bruno, "going")
            slot = slots.add_slot(helping, "Soldering", 2)
        ids = going.id, helping.id, slot.id, elsewhere.id
    login(client, email="bruno@example.org")
    assert post(client, f"/c/elm-street/gatherings/{ids[1]}/slots/{ids[2]}/take").status_code == 303
    response = client.get("/offline/pages")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    pages = response.json["pages"]
    assert pages[:3] == ["/", f"/c/elm-street/gatherings/{ids[0]}", f"/c/elm-street/gatherings/{ids[1]}"]
    assert f"/c/harbour/gatherings/{ids[3]}" not in pages
    assert "/lending/mine" in pages  # what I lend and borrow, with due dates
    assert app.test_client().get("/offline/pages").status_code in (302, 303)  # sign in first
