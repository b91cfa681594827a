"""TEST ONLY: the app with a meal's portions and potluck places taken the
unsafe way, for the negative control of tests/test_meals_concurrency.py.

gunicorn loads ``tests.meals_unsafe_wsgi:app``: the meal views' write unit
commits in the middle of a counter's check and write, the gathering is no
longer locked, and a meal's counters (portions, a need's places) are
read and checked, committed, then written as "what I read plus mine": the
check-then-write race that ``take`` closes. The same bursts that the real code
holds must overbook here.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from sqlalchemy import update

from app import create_app, database
from app.extensions import db
from app.gatherings import seats
from app.gatherings.models import Gathering
from app.meals import domain, routes
from tests.helpers import plain_transaction


@contextmanager
def plain_unit():
    """The unit begins as the real one does (IMMEDIATE on SQLite, so its reads
    are not refused a later write), but ``take_unsafely`` commits in its
    middle: what follows writes what it read before."""
    session = db.session()
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={database.IMMEDIATE: True})
    session.info[database._IN_UNIT] = True  # so the seat code runs, without its protection
    try:
        with plain_transaction():
            yield
    finally:
        session.info.pop(database._IN_UNIT, None)


def unlocked(gathering_id):
    return db.session.get(Gathering, gathering_id)


def take_unsafely(row, n):
    model = type(row)
    counter = model.counter
    row_id, taken, limit = row.id, getattr(row, counter.taken), counter.limit_of(row)
    db.session.commit()
    time.sleep(0.005)  # the window every check-then-write has, made visible
    if limit is not None and taken + n > limit:
        return False
    db.session.execute(update(model).where(model.id == row_id).values({counter.taken: taken + n}))
    return True


routes.write_unit = plain_unit
seats.lock_gathering = unlocked
seats.take = take_unsafely
domain.lock_gathering = unlocked
domain.take = take_unsafely
app = create_app()
