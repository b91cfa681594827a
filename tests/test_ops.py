"""Running an instance (app/ops.py), through the real commands in processes of
their own, on the run's database (SQLite, or PostgreSQL with TEST_DATABASE_URL):

- ``flask backup`` during a stream of writes through a running server, then
  ``flask restore`` into an empty database: integrity holds and every write
  acknowledged before the backup began is there, none sent after it ended;
  a restore into a database that is not empty is refused and changes nothing.
  Negative control (SQLite): a plain copy of the live file, as ``cp`` makes
  it, loses acknowledged writes, and the same check sees it.
- two upgrades started at once: one applies every migration, the other none;
  negative control: without the upgrade lock, the same race goes wrong.
- servers (gunicorn, the job runner) refuse a schema older than their code.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.circles import domain as circles
from app.circles.models import Membership
from app.extensions import db
from app.ops import schema_problem, schema_revisions
from app.talk.models import Discussion
from bench.crash import integrity

from .concurrency import sign_in
from .helpers import PASSWORD, make_user
from .served import ROOT, SECRET, app_config, serve

WRITERS = 4
SLUG = "backup-street"


def flask(database_url: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """A ``flask`` command as an operator types it, in a process of its own."""
    env = os.environ | {"FLASK_APP": "wsgi:app", "DATABASE_URL": database_url, "SECRET_KEY": SECRET}
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def upgraded(database_url: str, revision: str = "head") -> None:
    done = flask(database_url, "db", "upgrade", revision)
    assert done.returncode == 0, done.stderr


def revisions() -> tuple[list[str], str]:
    """Every revision, oldest first, and the head."""
    app = create_app(app_config("sqlite://"))
    with app.app_context():
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        ordered = [r.revision for r in script.walk_revisions()][::-1]
        head = script.get_current_head()
    return ordered, head


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


# --- backups that restore -------------------------------------------------------------


def _circle_with_writers(database_url: str) -> list[str]:
    app = create_app(app_config(database_url))
    emails = [f"writer{n}@backup.example.org" for n in range(WRITERS)]
    with app.test_request_context():
        host = make_user("host@backup.example.org", "Host")
        circle = circles.create_circle(host, name="Backup Street", slug=SLUG, time_zone="Europe/Berlin")
        db.session.commit()
        for n, email in enumerate(emails):
            user = make_user(email, f"Writer {n}")
            db.session.add(Membership(circle_id=circle.id, user_id=user.id))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return emails


class Stream:
    """WRITERS people starting discussions through the served form, each
    write noted with when it was sent and when its 303 came back."""

    def __init__(self, base_url: str, emails: list[str]):
        self.clients = [sign_in(base_url, email, PASSWORD) for email in emails]
        self.writes: list[tuple[str, float, float]] = []  # (title, sent, acknowledged)
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._write, args=(n, c), daemon=True)
                        for n, c in enumerate(self.clients)]

    def _write(self, n: int, client) -> None:
        k = 0
        while not self.stop.is_set():
            k += 1
            title = f"Write {n}-{k}"
            try:
                client.fetch_token(f"/c/{SLUG}/talk/new")
                sent = time.monotonic()
                reply = client.post(f"/c/{SLUG}/talk/new", {"title": title, "body": "Who has a ladder?"})
            except Exception as error:  # noqa: BLE001 - reported by the test
                self.errors.append(f"{title}: {error}")
                return
            if reply.status != 303:
                self.errors.append(f"{title}: {reply.status}")
                return
            with self.lock:
                self.writes.append((title, sent, time.monotonic()))

    def acknowledged(self) -> int:
        with self.lock:
            return len(self.writes)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.acknowledged() < count:
            assert not self.errors, self.errors
            assert time.monotonic() < deadline, f"only {self.acknowledged()} writes in {timeout} s"
            time.sleep(0.05)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)
        assert not self.errors, self.errors


def titles_in(database_url: str) -> set[str]:
    app = create_app(app_config(database_url))
    with app.app_context():
        titles = set(db.session.scalars(select(Discussion.title)))
        db.session.remove()
        db.engine.dispose()
    return titles


def test_backup_during_writes_restores_every_write_committed_before_it(database_factory, mailbox, tmp_path):
    url = database_factory("_live")
    upgraded(url)
    emails = _circle_with_writers(url)
    served = serve(url, tmp_path, workers=2, mail_port=mailbox.port)
    copied = tmp_path / "copied.db"
    backup_path = tmp_path / ("backup.sqlite3" if is_sqlite(url) else "backup.dump")
    try:
        stream = Stream(served.base_url, emails)
        stream.start()
        stream.wait_for(20)
        if is_sqlite(url):  # the negative control: a file copy, as `cp` would make it
            copy_started = time.monotonic()
            shutil.copyfile(make_url(url).database, copied)
            stream.wait_for(stream.acknowledged() + 5)
        started = time.monotonic()
        done = flask(url, "backup", "--to", str(backup_path))
        finished = time.monotonic()
        assert done.returncode == 0, done.stderr
        assert "Backed up" in done.stdout
        stream.wait_for(stream.acknowledged() + 10)
        stream.finish()
    finally:
        served.stop()
    writes = stream.writes
    before = {title for title, _sent, acked in writes if acked < started}
    after = {title for title, sent, _acked in writes if sent > finished}
    during = [title for title, sent, acked in writes if acked >= started and sent <= finished]
    print(f"{len(writes)} writes: {len(before)} acknowledged before the backup began, {len(during)} during it, "
          f"{len(after)} sent after it ended")
    assert before and after, "the backup was not taken in the middle of the writes"

    restored = database_factory("_restored")
    done = flask(restored, "restore", str(backup_path))
    assert done.returncode == 0, done.stderr
    assert integrity(restored, "sqlite" if is_sqlite(url) else "postgresql").startswith("ok")
    in_backup = titles_in(restored)
    assert before <= in_backup, f"lost {len(before - in_backup)} acknowledged writes"
    assert not in_backup & after, "writes sent after the backup ended are in it"
    assert in_backup <= {title for title, _, _ in writes}
    app = create_app(app_config(restored))
    assert schema_problem(app) is None
    with app.app_context():
        db.engine.dispose()

    # A second restore into the now filled database is refused and changes nothing.
    again = flask(restored, "restore", str(backup_path))
    assert again.returncode != 0
    assert "is not empty" in again.stderr and "only fills an empty database" in again.stderr
    assert titles_in(restored) == in_backup

    if is_sqlite(url):
        before_copy = {title for title, _sent, acked in writes if acked < copy_started}
        lost = before_copy - titles_in(f"sqlite:///{copied}")
        print(f"negative control: a copy of the live file lost {len(lost)} of {len(before_copy)} acknowledged writes")
        assert lost


def test_restore_refuses_a_backup_of_the_other_database_and_a_file_that_is_none(database_factory, tmp_path):
    url = database_factory("_kind")
    stray = tmp_path / "notes.txt"
    stray.write_text("not a backup")
    done = flask(url, "restore", str(stray))
    assert done.returncode != 0 and "is not a backup made by flask backup" in done.stderr
    other = tmp_path / "other"
    if is_sqlite(url):
        other.write_bytes(b"PGDMP" + bytes(100))
        expected = "is a backup of a postgresql database"
    else:
        sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
        expected = "is a backup of a sqlite database"
    done = flask(url, "restore", str(other))
    assert done.returncode != 0 and expected in done.stderr


# --- upgrades that migrate once ------------------------------------------------------------

RUNNING = re.compile(r"Running upgrade", re.MULTILINE)


def _two_upgrades(url: str, tmp_path: Path, unguarded: bool) -> list[tuple[int, int, str]]:
    """Two upgrade processes released at the same moment: (exit code, migrations applied, output) of each."""
    start_at = time.time() + 10  # both have imported the app by then, even on a busy machine
    logs = [tmp_path / f"upgrade{n}.log" for n in range(2)]
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    processes = [subprocess.Popen([sys.executable, "-m", "tests.upgrade_worker", url, str(start_at)]
                                  + (["unguarded"] if unguarded else []),
                                  cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
                 for log in logs]
    for process in processes:
        process.wait(timeout=180)
    outcomes = []
    for process, log in zip(processes, logs):
        text = log.read_text()
        outcomes.append((process.returncode, len(RUNNING.findall(text)), text))
    assert time.time() > start_at
    return outcomes


def test_two_upgrades_started_at_once_apply_each_migration_once(database_factory, tmp_path):
    url = database_factory("_up2")
    ordered, head = revisions()
    outcomes = _two_upgrades(url, tmp_path, unguarded=False)
    assert [code for code, _, _ in outcomes] == [0, 0], [text for _, _, text in outcomes]
    assert sorted(applied for _, applied, _ in outcomes) == [0, len(ordered)], [text for _, _, text in outcomes]
    app = create_app(app_config(url))
    with app.app_context():
        assert schema_revisions(db.engine) == (head,)
        db.engine.dispose()


def test_negative_control_two_upgrades_without_the_lock_go_wrong(database_factory, tmp_path):
    url = database_factory("_up2bad")
    ordered, _head = revisions()
    outcomes = _two_upgrades(url, tmp_path, unguarded=True)
    codes = [code for code, _, _ in outcomes]
    applied = sorted(applied for _, applied, _ in outcomes)
    print(f"negative control: exit codes {codes}, migrations applied {applied}")
    # One failing halfway, or both applying migrations: either way not "one all, the other none".
    assert not (codes == [0, 0] and applied == [0, len(ordered)])


def test_servers_refuse_a_schema_older_than_their_code(database_factory, tmp_path):
    url = database_factory("_old")
    ordered, head = revisions()
    runner = flask(url, "jobs", "run")
    assert runner.returncode != 0 and "has no schema yet" in runner.stderr

    upgraded(url, ordered[-2])
    with pytest.raises(RuntimeError) as refused:
        serve(url, tmp_path)
    assert f"is at revision {ordered[-2]}, older than this code ({head})" in str(refused.value)
    assert "flask db upgrade" in str(refused.value) and "Worker failed to boot" in str(refused.value)
    runner = flask(url, "jobs", "run")
    assert runner.returncode != 0 and "older than this code" in runner.stderr

    upgraded(url)
    served = serve(url, tmp_path)
    served.stop()

    # A schema a newer release upgraded (a revision this code has never heard of) is refused too.
    app = create_app(app_config(url))
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfacade42'"))
        db.engine.dispose()
    runner = flask(url, "jobs", "run")
    assert runner.returncode != 0 and "is at revision f00dfacade42, which this code does not know" in runner.stderr
