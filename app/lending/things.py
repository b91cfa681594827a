"""Things: listing one, who handles it, repair and retirement."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..auth.models import User
from ..circles.models import Circle, Membership
from ..extensions import db
from ..i18n import _
from ..text import render_markdown
from ..zones import today_in, zone  # noqa: F401  (lending's modules and cli read them from here)
from .errors import LendingError
from .models import ACTIVE, Keeper, Reservation, Thing


def create_thing(circle: Circle, lister: User, *, name: str, description: str = "", category: str = "other",
                 condition: str = "good", pickup_place: str = "", house_rules: str = "", max_loan_days: int = 14,
                 buffer_days: int = 0, auto_accept: bool = False, circle_owned: bool = False,
                 keepers: list[User] = ()) -> Thing:
    thing = Thing(circle_id=circle.id, owner_id=None if circle_owned else lister.id, circle_owned=circle_owned,
                  name=name, description_source=description, description_html=render_markdown(description),
                  category=category, condition=condition, pickup_place=pickup_place, house_rules=house_rules,
                  max_loan_days=max_loan_days, buffer_days=buffer_days, auto_accept=auto_accept)
    db.session.add(thing)
    db.session.flush()
    if circle_owned:
        for user_id in {lister.id, *(k.id for k in keepers)}:
            db.session.add(Keeper(thing_id=thing.id, user_id=user_id))
    return thing


def keeper_ids(thing: Thing) -> list[int]:
    if not thing.circle_owned:
        return [thing.owner_id] if thing.owner_id else []
    return list(db.session.scalars(select(Keeper.user_id).where(Keeper.thing_id == thing.id)))


def handlers(thing: Thing) -> list[User]:
    """Who answers for the thing: its owner, or the keepers of a circle's thing
    (who are still members of the circle)."""
    ids = keeper_ids(thing)
    if not ids:
        return []
    return list(db.session.scalars(select(User).join(Membership, Membership.user_id == User.id).where(
        User.id.in_(ids), Membership.circle_id == thing.circle_id)))


def can_handle(thing: Thing, user: User) -> bool:
    if not user.is_authenticated:
        return False
    if not thing.circle_owned:
        return thing.owner_id == user.id
    return db.session.get(Keeper, (thing.id, user.id)) is not None


def require_handler(thing: Thing, user: User) -> None:
    if not can_handle(thing, user):
        raise LendingError(_("Only the thing's owner or keepers can do this."))


def set_status(thing: Thing, actor: User, status: str, reason: str = "") -> list[Reservation]:
    """In repair or retired: no new reservations, with the reason shown; those
    already made are returned for the owner to resolve."""
    require_handler(thing, actor)
    if status not in ("available", "repair", "retired"):
        raise LendingError(_("Choose a state."), "status")
    if status != "available" and not reason.strip():
        raise LendingError(_("Say why, so borrowers know."), "reason")
    thing.status, thing.status_reason = status, reason.strip() if status != "available" else ""
    return list(db.session.scalars(select(Reservation).where(
        Reservation.thing_id == thing.id, Reservation.status.in_(("requested", *ACTIVE)))))


def blocked_reason(thing: Thing) -> str | None:
    """Why the thing takes no new reservations, or None."""
    if thing.withdrawn:
        return _("Its owner has withdrawn it.")
    if thing.status == "repair":
        return _("In repair: %(reason)s", reason=thing.status_reason)
    if thing.status == "retired":
        return _("Retired: %(reason)s", reason=thing.status_reason)
    return None


def lock_after_thing(model, row_id: int):
    """A row of ``model`` (a reservation, a place in line), locked after its
    thing's row: the order every writer of a thing's reservations and waitlist
    keeps (loans.lock_reservation says why). None if there is no such row."""
    from ..database import lock

    thing_id = db.session.scalar(select(model.thing_id).where(model.id == row_id))
    if thing_id is None:
        return None
    lock_for(thing_id)
    return lock(model, row_id)


def lock_for(thing_id: int) -> Thing:
    """The thing's row, locked for the unit.

    :raise LendingError: it is gone."""
    from ..database import lock

    thing = lock(Thing, thing_id)
    if thing is None:
        raise LendingError(_("There is no such thing."))
    return thing
