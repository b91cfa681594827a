"""TEST ONLY: the app with positions taken the unsafe way, for the talk
concurrency test's negative control (tests/test_talk_concurrency.py).

gunicorn loads ``tests.unsafe_talk_wsgi:app``: the views' write unit becomes a
plain deferred transaction, and taking a position becomes a read ("have I a
position?"), a commit, then the insert in a second transaction, with no lock.
Served on a database whose table has lost its UNIQUE (proposal, person), the
same double posts that the real code records once must count twice here.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.talk import domain, routes
from app.talk.models import Position
from tests.helpers import plain_transaction


def take_position_unsafely(proposal_id, user, choice, reason=""):
    user_id = user.id  # read now: after the commit it would start a read before the write
    mine = db.session.scalar(select(Position).where(Position.proposal_id == proposal_id,
                                                    Position.user_id == user_id))
    db.session.commit()
    time.sleep(0.005)  # the window every check-then-write has, made visible
    if mine is None:
        mine = Position(proposal_id=proposal_id, user_id=user_id, choice=choice, reason=reason)
        db.session.add(mine)
    else:
        mine.choice, mine.reason = choice, reason
    db.session.commit()
    return mine


routes.write_unit = plain_transaction
domain.take_position = take_position_unsafely
app = create_app()
