"""Two job runners at once, one killed mid-batch, through real processes on
the run's database: no notice lost, none recorded (composed) twice, and
duplicates only for a send in flight at the kill, with its original
Message-ID. The negative control runs workers that send without the atomic
claim and shows that the same check sees the duplicates. And the scheduled
jobs' claim: two workers starting together run a job due once an hour once;
with a claim that reads, then writes, they run it twice."""

from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from app import create_app
from app.auth.models import User
from app.database import utcnow
from app.extensions import db
from app.mail import OutboxMail
from app.notify.models import Notice

from .helpers import MailBox
from .served import ROOT, app_config

PEOPLE = 60
NOTICES_EACH = 3


def _world(database_url: str) -> None:
    app = create_app(app_config(database_url))
    with app.app_context():
        db.create_all()
        due = utcnow() - dt.timedelta(minutes=1)
        for n in range(PEOPLE):
            user = User(email=f"person{n}@example.org", display_name=f"Person {n}", time_zone="Europe/Berlin",
                        email_verified_at=utcnow())
            db.session.add(user)
            db.session.flush()
            for k in range(NOTICES_EACH):
                db.session.add(Notice(user_id=user.id, kind="gathering_changed", occasion=f"o{k}",
                                      subject=f"Thing {k} for {n}", body="It changed.", channel="digest",
                                      mail_due_at=due))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _worker(database_url: str, port: int, log, unsafe: bool | str = False, env: dict | None = None) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(ROOT)} | (env or {})
    mode = [unsafe] if isinstance(unsafe, str) else ["unsafe"] if unsafe else []
    return subprocess.Popen([sys.executable, "-m", "tests.notify_worker", database_url, str(port)] + mode,
                            cwd=ROOT, env=env, stdout=log, stderr=log)


def _outcome(database_url: str, box: MailBox) -> dict:
    app = create_app(app_config(database_url))
    with app.app_context():
        outbox = list(db.session.execute(select(OutboxMail.to_address, OutboxMail.message_id, OutboxMail.sent_at)))
        unmailed = db.session.scalar(select(func.count()).select_from(Notice).where(Notice.mailed_at.is_(None)))
        db.session.remove()
        db.engine.dispose()
    received = collections.Counter(m["Message-ID"] for m in box.messages)
    queued = {row.message_id for row in outbox}
    return {
        "digests_per_person": collections.Counter(row.to_address for row in outbox),
        "unsent": sum(1 for row in outbox if row.sent_at is None),
        "unmailed_notices": unmailed,
        "lost": queued - set(received),
        "strangers": set(received) - queued,  # a duplicate with a new Message-ID would be one
        "duplicates": sum(n - 1 for n in received.values()),
    }


def _run(database_factory, tmp_path, unsafe: bool, kill: bool) -> dict:
    database_url = database_factory("-workers-unsafe" if unsafe else "-workers")
    _world(database_url)
    box = MailBox()
    box.delay = 0.05
    box.start()
    log = open(tmp_path / "workers.log", "w")
    workers = [_worker(database_url, box.port, log, unsafe) for _ in range(2)]
    try:
        deadline = time.monotonic() + 120
        if kill:
            while len(box.messages) < PEOPLE // 4 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert len(box.messages) >= PEOPLE // 4, (tmp_path / "workers.log").read_text()
            workers[0].send_signal(signal.SIGKILL)  # mid-batch: its claimed mail is in flight
            workers[0].wait()
        while time.monotonic() < deadline:
            outcome = _outcome(database_url, box)
            if outcome["unsent"] == 0 and outcome["unmailed_notices"] == 0 and len(outcome["digests_per_person"]) == PEOPLE:
                time.sleep(1)  # let a straggling duplicate arrive
                return _outcome(database_url, box)
            time.sleep(0.5)
        raise AssertionError(f"the workers did not finish: {outcome}\n" + (tmp_path / "workers.log").read_text())
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=20)
        log.close()
        box.stop()


def _holds(outcome: dict, in_flight: int) -> bool:
    return (not outcome["lost"] and not outcome["strangers"] and outcome["unsent"] == 0
            and outcome["unmailed_notices"] == 0 and set(outcome["digests_per_person"].values()) == {1}
            and outcome["duplicates"] <= in_flight)


def test_two_workers_one_killed_lose_nothing_and_duplicate_only_what_was_in_flight(database_factory, tmp_path):
    outcome = _run(database_factory, tmp_path, unsafe=False, kill=True)
    # One digest composed per person (no notice mailed twice), every one delivered,
    # and at most the one send in flight in the killed worker came twice, with its own Message-ID.
    print("kill test:", {k: v for k, v in outcome.items() if k != "digests_per_person"})
    assert _holds(outcome, in_flight=1), outcome


def test_negative_control_workers_without_the_atomic_claim_are_caught(database_factory, tmp_path):
    outcome = _run(database_factory, tmp_path, unsafe=True, kill=False)
    print("negative control:", {k: v for k, v in outcome.items() if k != "digests_per_person"})
    assert not _holds(outcome, in_flight=1), outcome
    assert outcome["duplicates"] > 1


def _job_runs(database_factory, tmp_path, unsafe: bool) -> list[str]:
    """Two workers whose first passes start together, each with the job due
    now (once an hour after): the pids of the runs, from the job's own file."""
    from app.jobs import ScheduledJob

    database_url = database_factory("-jobs-unsafe" if unsafe else "-jobs")
    app = create_app(app_config(database_url))
    with app.app_context():
        db.create_all()
        db.session.add(ScheduledJob(name="test-hourly", due_at=utcnow() - dt.timedelta(minutes=1)))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    runs = tmp_path / "runs.txt"
    runs.write_text("")
    start = time.time() + 8  # both booted by then, on a busy machine too
    log = open(tmp_path / "jobs.log", "w")
    env = {"JOB_RUNS_FILE": str(runs), "START_AT": str(start)}
    workers = [_worker(database_url, 1, log, "unsafe-claim" if unsafe else False, env) for _ in range(2)]
    try:
        while time.time() < start + (12 if unsafe else 6):  # many passes each, well past the 3-second lease
            time.sleep(0.5)
            assert all(w.poll() is None for w in workers), (tmp_path / "jobs.log").read_text()
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=20)
        log.close()
    return runs.read_text().split()


def test_two_workers_starting_together_run_a_due_job_once(database_factory, tmp_path):
    pids = _job_runs(database_factory, tmp_path, unsafe=False)
    assert len(pids) == 1, pids


def test_negative_control_a_claim_that_reads_then_writes_runs_the_job_twice(database_factory, tmp_path):
    pids = _job_runs(database_factory, tmp_path, unsafe=True)
    assert len(pids) == 2 and len(set(pids)) == 2, pids
