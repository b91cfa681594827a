"""TEST ONLY: the app with seats and slots taken the unsafe way, for the
concurrency tests' negative control (tests/test_gatherings_concurrency.py).

gunicorn loads ``tests.unsafe_wsgi:app``: before the app is made, the views'
write unit becomes a plain deferred transaction (no IMMEDIATE on SQLite), and
answering and taking a slot become a read and check, a commit, then the write
in a second transaction, with no lock, no conditional update and no counter.
The same bursts that the real code seats exactly must overbook here, which
proves the tests can see overbooking.
"""

from __future__ import annotations

import time

from sqlalchemy import func, select

from app import create_app
from app.database import utcnow
from app.extensions import db
from app.gatherings import routes, seats, slots
from app.gatherings.models import Answer, Gathering, Slot, SlotTaker
from tests.helpers import plain_transaction


def answer_unsafely(gathering_id, user, response, guests=0, message=""):
    user_id = user.id  # read now: after the commit it would start a read before the write
    gathering = db.session.get(Gathering, gathering_id)
    taken = db.session.scalar(select(func.coalesce(func.sum(1 + Answer.guests), 0)).where(
        Answer.gathering_id == gathering_id, Answer.state == "seated"))
    capacity = gathering.capacity
    db.session.commit()
    time.sleep(0.005)  # the window every check-then-write has, made visible
    state = "seated" if capacity is None or taken + 1 + guests <= capacity else "waiting"
    mine = Answer(gathering_id=gathering_id, user_id=user_id, response=response, guests=guests, state=state,
                  waiting_since=utcnow() if state == "waiting" else None)
    db.session.add(mine)
    db.session.commit()
    return mine


def take_slot_unsafely(slot_id, user):
    user_id = user.id
    slot = db.session.get(Slot, slot_id)
    takers = db.session.scalar(select(func.count()).select_from(SlotTaker).where(SlotTaker.slot_id == slot_id))
    needed = slot.needed
    db.session.commit()
    time.sleep(0.005)
    if takers >= needed:
        return False
    db.session.add(SlotTaker(slot_id=slot_id, user_id=user_id))
    db.session.commit()
    return True


routes.write_unit = plain_transaction
seats.answer = answer_unsafely
slots.take_slot = take_slot_unsafely
app = create_app()
