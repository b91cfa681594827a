"""Demo data for lending: Elm Street's library with things in every state
(free, requested, lent, overdue, in repair, with a waitlist, a handover at a
gathering). Called by ``flask seed-demo`` inside its write unit."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import select

from ..auth.models import User
from ..circles.models import Circle
from ..database import utcnow
from ..extensions import db
from . import photos, things
from .models import Keeper, Photo, Reservation, Thing, WaitEntry


def _picture(colour: tuple[int, int, int], accent: tuple[int, int, int]) -> bytes:
    """A small made-up photo: a background and a few shapes."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 360), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((120, 90, 360, 270), fill=accent)
    draw.ellipse((200, 140, 280, 220), fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _with_photo(thing: Thing, colour, accent) -> None:
    processed = photos.process(_picture(colour, accent))
    db.session.add(Photo(thing_id=thing.id, content_hash=processed.content_hash, small=processed.small,
                         large=processed.large))
    thing.photo_hash = processed.content_hash


def _loan(thing: Thing, borrower: User, start: dt.date, end: dt.date, status: str, **fields) -> Reservation:
    reservation = Reservation(thing_id=thing.id, borrower_id=borrower.id, status=status, start_date=start,
                              end_date=end, blocked_until=end + dt.timedelta(days=thing.buffer_days),
                              decided_at=utcnow() if status != "requested" else None, **fields)
    if status == "out":
        reservation.picked_up_at = utcnow()
    db.session.add(reservation)
    return reservation


def seed_library(circle: Circle, residents: list[User], scale: int = 1) -> None:
    ada, chiara, elif_, gus = residents[:4]
    today = things.today_in(circle)
    day = lambda n: today + dt.timedelta(days=n)  # noqa: E731
    make = lambda owner, **f: things.create_thing(circle, owner, **f)  # noqa: E731

    drill = make(ada, name="Cordless drill", category="tools", condition="good", pickup_place="Elm Street 3",
                 description="18 V, two batteries, a box of bits. **Charge the batteries** before you bring it back.",
                 house_rules="Return it clean, batteries charged.", max_loan_days=7, buffer_days=1, auto_accept=True)
    _with_photo(drill, (40, 90, 70), (230, 200, 60))
    ladder = make(chiara, name="Ladder (3 m)", category="tools", condition="worn", pickup_place="Elm Street 12, shed",
                  max_loan_days=3)
    _loan(ladder, elif_, day(5), day(6), "requested", message="To clean the gutters, if that is all right.")
    tent = make(elif_, name="Tent for four", category="camping", condition="good", pickup_place="Elm Street 7",
                house_rules="Dry it before you pack it away.", max_loan_days=14, buffer_days=2)
    _with_photo(tent, (60, 110, 160), (240, 140, 50))
    _loan(tent, gus, day(-2), day(3), "out", pickup_note="All poles and pegs there.")
    bike = make(ada, name="Cargo bike", category="transport", condition="good", circle_owned=True, keepers=[gus],
                pickup_place="The bike shed, Elm Street 20", max_loan_days=3, buffer_days=0,
                description="The street's own cargo bike. Lock it with both locks.")
    _loan(bike, chiara, day(-5), day(-2), "out", pickup_note="Tyres pumped.")  # overdue
    _loan(bike, elif_, day(2), day(3), "accepted")  # the next borrower, told it is not back yet
    sewing = make(gus, name="Sewing machine", category="kitchen", condition="fragile", max_loan_days=10)
    things.set_status(sewing, gus, "repair", "The needle bar is bent; a new one is on its way.")
    washer = make(ada, name="Pressure washer", category="garden", condition="good", max_loan_days=5)
    _loan(washer, gus, day(0), day(4), "accepted")
    db.session.add(WaitEntry(thing_id=washer.id, user_id=elif_.id, start_date=day(1), end_date=day(2)))
    book = make(chiara, name="Book: The Soil Will Save Us", category="books", condition="good", max_loan_days=21)
    soup = _gathering_id(circle, "Soup evening")
    _loan(book, ada, day(4), day(18), "accepted", gathering_id=soup, message="Bring it to the soup evening?")
    make(gus, name="Board game: Carcassonne", category="games", condition="good", max_loan_days=14,
         auto_accept=True)
    for n in range(5 * (scale - 1)):
        make(residents[n % 4], name=f"Spare thing {n + 1:03d}", category="other", max_loan_days=7)
    db.session.flush()
    assert db.session.get(Keeper, (bike.id, gus.id)) is not None


def _gathering_id(circle: Circle, title: str) -> int | None:
    from ..gatherings.models import Gathering

    return db.session.scalar(select(Gathering.id).where(Gathering.circle_id == circle.id, Gathering.title == title)
                             .limit(1))
