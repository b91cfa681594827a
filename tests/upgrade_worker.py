"""TEST ONLY: one upgrade (``flask db upgrade``) started at a given moment,
for tests/test_ops.py's two upgrades at once.

    python -m tests.upgrade_worker DATABASE_URL START_AT [unguarded]

It makes the app first (imports take a second or two), then waits until
START_AT (time.time()) so that both processes begin the upgrade together.
``unguarded`` is the negative control: the run holds no upgrade lock, only a
plain transaction, as migrations/env.py did before the lock.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

import flask_migrate

from app import create_app, ops
from tests.served import app_config


@contextmanager
def plain_transaction(connection):
    with connection.begin():
        yield


def main() -> None:
    database_url, start_at = sys.argv[1], float(sys.argv[2])
    if len(sys.argv) > 3 and sys.argv[3] == "unguarded":
        ops.upgrade_lock = plain_transaction
    app = create_app(app_config(database_url))
    with app.app_context():
        time.sleep(max(0.0, start_at - time.time()))
        flask_migrate.upgrade()


if __name__ == "__main__":
    main()
