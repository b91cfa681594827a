"""TEST ONLY: the app with reservations made the unsafe way, for the negative
controls of tests/test_lending_concurrency.py.

gunicorn loads ``tests.unsafe_lending_wsgi:app``: before the app is made, the
lending views' write unit becomes a plain deferred transaction (no IMMEDIATE
on SQLite, so no write lock held from the first read), and

- accepting a request becomes a read and check, a commit, then the write in a
  second transaction;
- ``loans.block``, the one place where a request accepted at once and an
  extension come to block dates, does the same: it commits what the caller
  wrote so far (so its check does not run under the write lock), reads and
  checks, commits, then writes the range in another transaction;
- every overlap check (``loans.overlapping``, also a new request's first
  check) ends its transaction once it has read: on SQLite a write in the
  transaction that read would fail ("database is locked") instead of racing.

On PostgreSQL the test also drops the exclusion constraint from the database
this server uses. The same bursts that the real code keeps apart (50
acceptances; 50 requests accepted at once; 25 extensions racing 25 requests)
must overlap here, which proves the tests can see double-booking.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager

from sqlalchemy import update

from app import create_app
from app.database import _IN_UNIT
from app.extensions import db
from app.lending import loans, routes
from app.lending.errors import LendingError
from app.lending.models import Reservation, Thing

# Seconds between the check and the write: the window every check-then-write
# has, made visible. A request or an extension does more before its check than
# an acceptance does, so their arrivals spread more: they get a wider window.
WINDOW = 0.005
WIDE_WINDOW = 0.05


@contextmanager
def deferred_unit():
    """The views' write unit without its protection: a plain deferred
    transaction (as tests.helpers.plain_transaction), but one that ``lock()``
    accepts, so the domain functions that lock a reservation still run (on
    SQLite ``lock()`` is a plain read; on PostgreSQL it locks that one row)."""
    session = db.session()
    if session.in_transaction():
        session.commit()
    session.info[_IN_UNIT] = True
    # The commits in the middle keep the objects read as they were: reading
    # them again would begin each write's transaction with a read.
    session.expire_on_commit = False
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_IN_UNIT, None)
        session.expire_on_commit = True


overlapping = loans.overlapping


def overlapping_unsafely(*args, **kwargs):
    found = overlapping(*args, **kwargs)
    db.session.commit()  # the check's transaction ends: the write that follows is not held to it
    return found


def accept_unsafely(reservation_id, actor, note=""):
    reservation = db.session.get(Reservation, reservation_id)
    thing_id, start, end = reservation.thing_id, reservation.start_date, reservation.end_date
    buffer = db.session.get(Thing, thing_id).buffer_days
    until = end + dt.timedelta(days=buffer)
    clash = loans.overlapping(thing_id, start, until, except_id=reservation_id)
    db.session.commit()
    time.sleep(WINDOW)
    if clash:
        raise LendingError("Those dates are not free.", "start_date")
    # The write first, so the second transaction begins as a writer.
    db.session.execute(update(Reservation).where(Reservation.id == reservation_id)
                       .values(status="accepted", blocked_until=until))
    db.session.commit()


def block_unsafely(reservation, thing, start, end, buffer, status=None):
    reservation_id, thing_id = reservation.id, thing.id
    db.session.commit()  # what the caller wrote so far (a new request's row): the check reads unlocked
    until = end + dt.timedelta(days=buffer)
    clash = overlapping_unsafely(thing_id, start, until, except_id=reservation_id)
    time.sleep(WIDE_WINDOW)
    if clash:
        raise LendingError("Those dates are not free.", "start_date")
    values = {"start_date": start, "end_date": end, "blocked_until": until} | ({"status": status} if status else {})
    db.session.execute(update(Reservation).where(Reservation.id == reservation_id).values(**values))
    db.session.commit()


routes.write_unit = deferred_unit
loans.accept = accept_unsafely
loans.block = block_unsafely
loans.overlapping = overlapping_unsafely
app = create_app()
