"""Helpers for tests of lending: a neighbourhood with a thing, dates in the
circle's time zone, and short ways to act and read."""

from __future__ import annotations

import datetime as dt
import io
import re

from sqlalchemy import select

from app.auth.models import User
from app.circles.models import Circle
from app.database import write_unit
from app.extensions import db
from app.lending import loans, things
from app.lending.models import Reservation, Thing

from .gatherings_helpers import email, neighbourhood, seen, signed_in
from .helpers import post


def today(app, slug: str = "elm-street") -> dt.date:
    with app.app_context():
        return things.today_in(db.session.scalar(select(Circle).where(Circle.slug == slug)))


def day(app, n: int) -> str:
    return (today(app) + dt.timedelta(days=n)).isoformat()


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.email == email(name)))


def library(app, owner: str = "Ada", **fields) -> dict:
    """Elm Street (Ada steward; Bruno, Chiara, Dmitri, Eve, Femi) and one thing of ``owner``'s: a drill."""
    ids = neighbourhood(app)
    with app.app_context():
        circle = db.session.get(Circle, ids["circle"])
        with write_unit():
            fields = {"name": "Drill", "description": "A **cordless** drill.", "category": "tools",
                      "pickup_place": "Elm Street 3", "house_rules": "Return it clean",
                      "max_loan_days": 7} | fields
            thing = things.create_thing(circle, user(owner), **fields)
        ids["thing"] = thing.id
    ids["thing_path"] = f"/c/{ids['slug']}/library/{ids['thing']}"
    return ids


def reserve(app, thing_id: int, borrower: str, start: int, end: int, status: str = "accepted") -> int:
    """A reservation straight through the domain: asked, then accepted by the owner."""
    with app.test_request_context():
        t0 = today(app)
        with write_unit():
            thing = db.session.get(Thing, thing_id)
            made = loans.request(thing, user(borrower), t0 + dt.timedelta(days=start), t0 + dt.timedelta(days=end))
        if status != "requested" and made.status == "requested":
            with write_unit():
                loans.accept(made.id, thing.owner or user("Ada"))
        return made.id


def reservation(app, reservation_id: int) -> Reservation:
    with app.app_context():
        found = db.session.get(Reservation, reservation_id)
        db.session.expunge(found)
        return found


def act(client, slug: str, reservation_id: int, action: str, **data):
    return post(client, f"/c/{slug}/library/reservations/{reservation_id}/{action}", data)


def ask(client, path: str, start: str, end: str, message: str = "", **extra):
    return post(client, path + "/request", {"start_date": start, "end_date": end, "message": message} | extra)


def error_at(response, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', response.get_data(as_text=True), re.DOTALL)
    return seen(match.group(1)) if match else ""


def jpeg_with_location(width: int = 800, height: int = 600) -> bytes:
    """A JPEG as a phone makes it: with EXIF, GPS position and an orientation tag."""
    from PIL import Image

    image = Image.new("RGB", (width, height), (200, 80, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show it upright
    gps = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=85)
    return out.getvalue()


__all__ = ["signed_in", "seen"]
