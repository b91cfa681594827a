"""TEST ONLY: a job runner process (``flask jobs run``) for the kill test
(tests/test_notify_workers.py), with short leases so the test need not wait
minutes for a killed worker's claims to run out.

    python -m tests.notify_worker DATABASE_URL SMTP_PORT [unsafe | unsafe-claim]

``unsafe`` is the negative control: sending the outbox without the atomic
claim (read the row, send, mark it sent), as a naive runner would. Two such
workers send the same mail twice, and the test must see it.

``unsafe-claim`` is the scheduled jobs' negative control: a claim that reads
the job's row and then writes it (two statements, not one conditional
UPDATE). With ``JOB_RUNS_FILE`` set, the worker also runs a job of its own,
due once an hour, that writes a line to that file each time it runs; with
``START_AT`` (a Unix time) it waits until then, so two workers start their
first pass together.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time

from app import create_app, jobs, mail
from app.database import write_unit
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


def _meet_the_other_reader(name: str) -> None:
    """The moment between reading and writing, held until the other worker has
    read too (or 20 seconds passed), so the two meet in it on any machine: a
    sleep of a fixed length missed on a busy one, and the control then proved nothing."""
    runs = os.environ.get("JOB_RUNS_FILE")
    if not runs or name != "test-hourly":
        return
    reads = runs + ".reads"
    with open(reads, "a") as out:
        out.write(f"{os.getpid()}\n")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(open(reads).read().split()) < 2:
        time.sleep(0.05)


def claim_unsafely(name: str, now: dt.datetime) -> bool:
    """Is it due and free? Then take it: a read, then a write, as a naive runner would."""
    row = db.session.get(jobs.ScheduledJob, name)
    free = row is not None and row.due_at <= now and (row.claimed_until is None or row.claimed_until <= now)
    db.session.commit()
    if not free:
        return False
    _meet_the_other_reader(name)
    with write_unit():
        db.session.execute(jobs.update(jobs.ScheduledJob).where(jobs.ScheduledJob.name == name)
                           .values(claimed_until=now + jobs.lease()))
    return True


def main() -> None:
    database_url, port = sys.argv[1], int(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else ""
    if mode == "unsafe":
        mail._deliver_one = deliver_unsafely
    elif mode == "unsafe-claim":
        jobs.claim = claim_unsafely
    app = create_app(app_config(database_url, port) | {"JOB_LEASE_SECONDS": 3, "MAIL_LEASE_SECONDS": 3})
    runs = os.environ.get("JOB_RUNS_FILE")
    if runs:
        def record_run(now, path=runs):
            with open(path, "a") as out:
                out.write(f"{os.getpid()}\n")

        app.extensions["communitarium.areas"].job("test-hourly", record_run, every=dt.timedelta(hours=1))
    if os.environ.get("START_AT"):
        time.sleep(max(0.0, float(os.environ["START_AT"]) - time.time()))
    with app.app_context():
        jobs.run_forever(pause=0.2)


if __name__ == "__main__":
    main()
