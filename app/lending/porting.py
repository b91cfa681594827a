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
    areas.personal("things", my_things)
    areas.personal("loans", my_loans)
    areas.personal("waitlist", my_waitlist)


def my_things(user):
    from ..auth.export import rows_as_records

    return rows_as_records(db.session.execute(
        select(Thing.name, Thing.category, Thing.condition, Thing.status, Thing.pickup_place, Thing.house_rules,
               Thing.description_source, Thing.created_at)
        .where(Thing.owner_id == user.id).order_by(Thing.created_at)))


def my_loans(user):
    """Loans where the person borrowed, or lent what they own: both sides of their own record."""
    from sqlalchemy import or_
    from sqlalchemy.orm import aliased

    from ..auth.export import rows_as_records
    from ..auth.models import User

    owner, borrower = aliased(User), aliased(User)
    return rows_as_records(db.session.execute(
        select(Thing.name.label("thing"), owner.display_name.label("owner"),
               borrower.display_name.label("borrower"), Reservation.status, Reservation.start_date,
               Reservation.end_date, Reservation.message, Reservation.answer_note, Reservation.pickup_note,
               Reservation.return_note, Reservation.picked_up_at, Reservation.returned_by_borrower_at,
               Reservation.returned_by_owner_at, Reservation.created_at, Reservation.decided_at)
        .select_from(Reservation).join(Thing, Thing.id == Reservation.thing_id)
        .outerjoin(owner, owner.id == Thing.owner_id).outerjoin(borrower, borrower.id == Reservation.borrower_id)
        .where(or_(Reservation.borrower_id == user.id, Thing.owner_id == user.id))
        .order_by(Reservation.start_date, Reservation.id)))


def my_waitlist(user):
    from ..auth.export import rows_as_records

    return rows_as_records(db.session.execute(
        select(Thing.name.label("thing"), WaitEntry.start_date, WaitEntry.end_date, WaitEntry.status,
               WaitEntry.created_at)
        .select_from(WaitEntry).join(Thing, Thing.id == WaitEntry.thing_id).where(WaitEntry.user_id == user.id)
        .order_by(WaitEntry.created_at)))
