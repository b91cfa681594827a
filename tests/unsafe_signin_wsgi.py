"""TEST ONLY: the app with signing in done the old way, for the negative
control of tests/test_signin_concurrency.py.

gunicorn loads ``tests.unsafe_signin_wsgi:app``: the write unit the sign-in
view opens becomes a plain transaction that neither ends the read transaction
the password check began nor begins IMMEDIATE. So signing in is again one
deferred transaction: read the account, verify the password (argon2, 0.1 s
and more), then insert the session row. On SQLite, when anything else commits
during the hash, the read cannot be upgraded to a write (SQLITE_BUSY_SNAPSHOT;
the busy timeout does not apply) and the sign-in fails with "database is
locked". Every other view keeps the real write unit, so a failure in the
burst can only come from the sign-ins.
"""

from __future__ import annotations

from flask import request

from app.auth import routes
from app.database import write_unit
from tests.helpers import plain_transaction


def old_write_unit():
    return plain_transaction() if request.endpoint == "auth.login" else write_unit()


# The views look write_unit up when they run, so patching before or after the app is made is the same.
routes.write_unit = old_write_unit
from tests.signin_wsgi import app  # noqa: E402,F401 - the app the safe server runs, hashing at the same cost
