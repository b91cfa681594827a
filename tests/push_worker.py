"""TEST ONLY: the job runner (``flask jobs run``'s loop) as a process of its
own, trusting the local push service's CA (the test-only setting), for the
end-to-end push test (tests/test_push.py).

    python -m tests.push_worker DATABASE_URL CA_FILE
"""

from __future__ import annotations

import sys

from app import create_app, jobs
from tests.served import app_config


def main() -> None:
    database_url, ca_file = sys.argv[1], sys.argv[2]
    app = create_app(app_config(database_url) | {"PUSH_TEST_CA": ca_file, "VAPID_PRIVATE_KEY": sys.argv[3]})
    with app.app_context():
        jobs.run_forever(pause=0.2)


if __name__ == "__main__":
    main()
