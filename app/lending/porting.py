"""What of lending leaves in a circle's export, and what stays (see app/circles/export.py).

Who borrowed what is the owner's and the borrower's own record: reservations
and the waitlist leave only in their personal exports. The photos leave as
files (photos/<id>-small.webp, photos/<id>-large.webp)."""

from sqlalchemy import select

from ..extensions import db
from .models import Keeper, Photo, Reservation, Thing, WaitEntry


def _of_things(model):
    return lambda circle_id: (select(model.__table__).join(Thing, Thing.id == model.thing_id)
                              .where(Thing.circle_id == circle_id))


def photo_files(circle):
    ids = list(db.session.scalars(select(Photo.id).join(Thing, Thing.id == Photo.thing_id)
                                  .where(Thing.circle_id == circle.id).order_by(Photo.id)))
    for photo_id in ids:  # one photo in memory at a time
        for size in ("small", "large"):
            yield f"photos/{photo_id}-{size}.webp", _photo(photo_id, size)


def _photo(photo_id: int, size: str):
    column = Photo.small if size == "small" else Photo.large
    yield db.session.scalar(select(column).where(Photo.id == photo_id))


def register(areas) -> None:
    areas.export("things", Thing, lambda circle_id: select(Thing.__table__).where(Thing.circle_id == circle_id))
    areas.export("keepers", Keeper, _of_things(Keeper))
    areas.export("photos", Photo, _of_things(Photo))
    areas.export_file(photo_files)
    areas.keep_back(Reservation, "Who borrowed what is the owner's and the borrower's own record: "
                                 "it leaves in their personal exports.")
    areas.keep_back(WaitEntry, "A place on a waitlist is the waiting person's own record.")
