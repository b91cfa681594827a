"""TEST ONLY: the app answering before it commits, for the crash test's
negative control (bench/crash.py).

gunicorn loads ``bench.crash_unsafe_wsgi:app``: the gathering views' write
unit flushes its changes but does not commit; the answer (the 303 and its
whole body, Content-Length set) goes out first, and the commit follows
COMMIT_DELAY seconds later, while the server closes the response. A worker
killed in between has acknowledged a write that the database rolls back. The
crash test must report those as lost writes, which proves it can see one.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from flask import Response, g

from app import create_app
from app.database import _IN_UNIT, IMMEDIATE
from app.extensions import db
from app.gatherings import routes

COMMIT_DELAY = 0.3  # seconds between the answer and the commit


@contextmanager
def unit_committed_after_the_answer():
    """Like write_unit, but the changes are only flushed; the session that
    holds them is set aside (the request goes on with a fresh one, which
    the request's end closes) and committed by ``answer_then_commit``."""
    session = db.session()
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={IMMEDIATE: True})
    session.info[_IN_UNIT] = True
    try:
        yield
        session.flush()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_IN_UNIT, None)
    db.session.registry.set(db.session.session_factory())
    g.commit_after_the_answer = session


def answer_then_commit(response: Response) -> Response:
    held = g.pop("commit_after_the_answer", None)
    if held is None:
        return response
    body = response.get_data()

    def body_then_commit():
        yield body
        time.sleep(COMMIT_DELAY)
        held.commit()
        held.close()

    streamed = Response(body_then_commit(), status=response.status_code, headers=response.headers)
    streamed.headers["Content-Length"] = str(len(body))
    return streamed


routes.write_unit = unit_committed_after_the_answer
app = create_app()
app.after_request(answer_then_commit)  # registered last, so it runs first, before the session is saved
