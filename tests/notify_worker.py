"""TEST ONLY: a job runner process (``flask jobs run``) for the kill test
(tests/test_notify_workers.py), with short leases so the test need not wait
minutes for a killed worker's claims to run out.

    python -m tests.notify_worker DATABASE_URL SMTP_PORT [unsafe]

``unsafe`` is the negative control: sending the outbox without the atomic
claim (read the row, send, mark it sent), as a naive runner would. Two such
workers send the same mail twice, and the test must see it.
"""

from __future__ import annotations

import sys

from app import create_app, jobs, mail
from app.extensions import db
from app.mail import OutboxMail
from tests.served import app_config


def deliver_unsafely(mail_id: int) -> int:
    row = db.session.get(OutboxMail, mail_id)
    if row is None or row.sent_at is not None:
        db.session.commit()
        return 0
    message = mail._message(row)
    db.session.commit()
    mail._send_smtp(message)
    db.session.execute(mail.update(OutboxMail).where(OutboxMail.id == mail_id).values(sent_at=mail.utcnow()))
    db.session.commit()
    return 1


def main() -> None:
    database_url, port = sys.argv[1], int(sys.argv[2])
    if len(sys.argv) > 3 and sys.argv[3] == "unsafe":
        mail._deliver_one = deliver_unsafely
    app = create_app(app_config(database_url, port) | {"JOB_LEASE_SECONDS": 3, "MAIL_LEASE_SECONDS": 3})
    with app.app_context():
        jobs.run_forever(pause=0.2)


if __name__ == "__main__":
    main()
