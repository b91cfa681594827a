"""Slots: something a gathering needs people for ("2 people to set up").
Places are taken with ``take`` (a conditional UPDATE, backed by a CHECK)."""

from __future__ import annotations

from sqlalchemy import delete, select

from ..auth.models import User
from ..database import give_back, lock, take
from ..extensions import db
from ..i18n import _
from .errors import GatheringError
from .models import Gathering, Slot, SlotTaker
from .seats import check_live


def add_slot(gathering: Gathering, title: str, needed: int) -> Slot:
    """:raise GatheringError: no title, a number out of range, or the gathering is cancelled or over."""
    check_live(gathering)
    if not title.strip():
        raise GatheringError(_("Say what the slot is for."), "title")
    if not 1 <= needed <= 100:
        raise GatheringError(_("Between 1 and 100 people."), "needed")
    slot = Slot(gathering_id=gathering.id, title=title.strip(), needed=needed)
    db.session.add(slot)
    return slot


def take_slot(slot_id: int, user: User) -> bool:
    """Take a place in a slot, if one is left. False when full.

    :raise GatheringError: no such slot, or its gathering is cancelled or over.
    """
    # Locked so that one person's double click takes one place, not two.
    slot = lock(Slot, slot_id)
    if slot is None:
        raise GatheringError(_("There is no such slot."))
    check_live(db.session.get(Gathering, slot.gathering_id))
    if db.session.get(SlotTaker, (slot.id, user.id)) is not None:
        return True
    if not take(slot, 1):
        return False
    db.session.add(SlotTaker(slot_id=slot.id, user_id=user.id))
    return True


def leave_slot(slot_id: int, user: User) -> None:
    slot = lock(Slot, slot_id)
    if slot is None:
        return
    removed = db.session.execute(delete(SlotTaker).where(SlotTaker.slot_id == slot.id,
                                                         SlotTaker.user_id == user.id)).rowcount
    if removed:
        give_back(slot, 1)


def leave_every_slot(user: User, circle_id: int | None = None) -> None:
    """Give back every slot place of this person (in one circle, or everywhere)."""
    query = select(SlotTaker.slot_id).where(SlotTaker.user_id == user.id)
    if circle_id is not None:
        query = (query.join(Slot, Slot.id == SlotTaker.slot_id).join(Gathering, Gathering.id == Slot.gathering_id)
                 .where(Gathering.circle_id == circle_id))
    for slot_id in sorted(db.session.scalars(query).all()):
        leave_slot(slot_id, user)
