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


def day_in_words(app, n: int) -> str:
    """The day as an English page says it ("Sun 13 Dec")."""
    from app.templating import day_words
    with app.test_request_context("/"):
        return day_words(today(app) + dt.timedelta(days=n))


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


def lending_world(circle, owner, borrower) -> dict:
    """For the access and malformed-input sweeps: a thing of ``owner``'s in
    ``circle`` with a photo, a request by ``borrower`` and their place on the
    waitlist; the ids and values the lending URLs take. Commits."""
    from app.lending import photos
    from app.lending.models import Photo, WaitEntry

    t0 = things.today_in(circle)
    with write_unit():
        thing = things.create_thing(circle, owner, name="Drill", category="tools", max_loan_days=7)
        processed = photos.process(jpeg_with_location(40, 30))
        db.session.add(Photo(thing_id=thing.id, content_hash=processed.content_hash, small=processed.small,
                             large=processed.large))
        thing.photo_hash = processed.content_hash
        asked = loans.request(thing, borrower, t0 + dt.timedelta(days=2), t0 + dt.timedelta(days=3))
        entry = WaitEntry(thing_id=thing.id, user_id=borrower.id, start_date=t0 + dt.timedelta(days=5),
                          end_date=t0 + dt.timedelta(days=6))
        db.session.add(entry)
    return {"thing_id": thing.id, "reservation_id": asked.id, "entry_id": entry.id,
            "content_hash": processed.content_hash, "size": "s", "step": "accept"}


def lending_sweep_world(circle, owner, borrower) -> dict:
    """For tests/test_malformed_input.py: a thing of ``owner``'s that
    ``borrower`` has out since today, and ``borrower``'s place on its waitlist.
    The keys are the lending URLs' parts; commits."""
    from app.lending import photos
    from app.lending.models import Photo, WaitEntry

    t0 = things.today_in(circle)
    processed = photos.process(jpeg_with_location(40, 30))
    with write_unit():
        thing = things.create_thing(circle, owner, name="Ladder", category="tools", max_loan_days=14)
        db.session.add(Photo(thing_id=thing.id, content_hash=processed.content_hash, small=processed.small,
                             large=processed.large))
        thing.photo_hash = processed.content_hash
        out = loans.request(thing, borrower, t0, t0 + dt.timedelta(days=1))
        loans.accept(out.id, owner)
        loans.pick_up(out.id, owner)
        # Their place waits for another thing, so the ladder's waitlist is open to them.
        tent = things.create_thing(circle, owner, name="Tent", category="camping")
        entry = WaitEntry(thing_id=tent.id, user_id=borrower.id, start_date=t0 + dt.timedelta(days=3),
                          end_date=t0 + dt.timedelta(days=4))
        db.session.add(entry)
    return {"thing_id": thing.id, "reservation_id": out.id, "entry_id": entry.id,
            "content_hash": processed.content_hash, "size": "s", "step": "return"}


def _ahead(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


_PHOTO = []


def _photo():
    if not _PHOTO:
        _PHOTO.append(jpeg_with_location(64, 48))
    return io.BytesIO(_PHOTO[0]), "ladder.jpg"


def _thing_form(w, n) -> dict:
    return {"name": f"Ladder {n}", "description": "Three **metres**.", "category": "tools", "condition": "good",
            "pickup_place": "Elm Street 3", "house_rules": "Return it clean", "max_loan_days": "14",
            "buffer_days": "1", "auto_accept": ""}


# Valid values of every lending form, for test_malformed_input's BASELINES.
LENDING_BASELINES = {
    "ThingForm": _thing_form,
    "NewThingForm": lambda w, n: _thing_form(w, n) | {"owner": "me", "keepers": [str(w["Chiara"])]},
    "RequestForm": lambda w, n: {"start_date": _ahead(10), "end_date": _ahead(11), "message": "For the shelves",
                                 "gathering": "0"},
    "WaitForm": lambda w, n: {"start_date": _ahead(20), "end_date": _ahead(21)},
    "NoteForm": lambda w, n: {"note": "All fine"},
    "ExtendForm": lambda w, n: {"end_date": _ahead(3)},
    "MoveDatesForm": lambda w, n: {"start_date": _ahead(5), "end_date": _ahead(6)},
    "StatusForm": lambda w, n: {"status": "available", "reason": ""},
    "PhotoForm": lambda w, n: {"photo": _photo()},
}
# Routes whose path needs another value than the world's usual one.
LENDING_PATHS = {"lending.waitlist_place": {"action": "leave"}}
