"""TEST ONLY: the app with reservations accepted the unsafe way, for the
negative control of tests/test_lending_concurrency.py.

gunicorn loads ``tests.unsafe_lending_wsgi:app``: before the app is made, the
lending views' write unit becomes a plain deferred transaction (no IMMEDIATE
on SQLite), and accepting a request becomes a read and check, a commit, then
the write in a second transaction. On PostgreSQL the test also drops the
exclusion constraint from the database this server uses. The same burst of
acceptances that the real code keeps apart must overlap here, which proves
the test can see double-booking.
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import update

from app import create_app
from app.extensions import db
from app.lending import loans, routes
from app.lending.errors import LendingError
from app.lending.models import Reservation, Thing
from tests.helpers import plain_transaction


def accept_unsafely(reservation_id, actor, note=""):
    reservation = db.session.get(Reservation, reservation_id)
    thing_id, start, end = reservation.thing_id, reservation.start_date, reservation.end_date
    buffer = db.session.get(Thing, thing_id).buffer_days
    until = end + dt.timedelta(days=buffer)
    clash = loans.overlapping(thing_id, start, until, except_id=reservation_id)
    db.session.commit()
    time.sleep(0.005)  # the window every check-then-write has, made visible
    if clash:
        raise LendingError("Those dates are not free.", "start_date")
    # The write first, so the second transaction begins as a writer.
    db.session.execute(update(Reservation).where(Reservation.id == reservation_id)
                       .values(status="accepted", blocked_until=until))
    db.session.commit()


routes.write_unit = plain_transaction
loans.accept = accept_unsafely
app = create_app()
