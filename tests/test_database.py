"""Database plumbing: migrations match the models, ``write_unit``
serialises a read-check-write across processes, ``UTCDateTime`` keeps
instants, and SQLite connections are set up for real transactions. Every test
runs on SQLite and on PostgreSQL (TEST_DATABASE_URL), except the SQLite-only
connection checks."""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
import queue
import sqlite3
import time
import traceback
import warnings
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (CheckConstraint, Column, ForeignKey, ForeignKeyConstraint, Integer, MetaData,
                        PrimaryKeyConstraint, Table, UniqueConstraint, func, insert, inspect, select, text)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, StatementError

from app import create_app
from app.auth.models import LoginSession
from app.database import UTC, render_item, utcnow, write_unit
from app.extensions import db
from app.mail import OutboxMail

from .helpers import cheap_config

# --- helpers ------------------------------------------------------------------


def is_sqlite(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "sqlite"


@contextmanager
def logging_kept():
    """Alembic's env.py runs ``logging.config.fileConfig``, which disables every
    logger it does not name and replaces the root handlers. Put it all back,
    so tests after this one still see the app's log records."""
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    saved = [(lg, lg.disabled, lg.level, lg.propagate, lg.handlers[:]) for lg in loggers]
    try:
        yield
    finally:
        for lg, disabled, level, propagate, handlers in saved:
            lg.disabled, lg.propagate = disabled, propagate
            lg.setLevel(level)
            lg.handlers[:] = handlers


@pytest.fixture(scope="module")
def migrated_app(database_factory, mailbox, tmp_path_factory):
    """An app on a fresh database of this run's kind, brought up by the migrations."""
    app = create_app(cheap_config(database_factory("_mig"), mailbox, tmp_path_factory.mktemp("mig")))
    with app.app_context():
        with logging_kept():
            flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def declared_names(table: Table, dialect: str) -> set[tuple[str, str]]:
    """(kind, name) of every named constraint and index the model declares
    for this database (an exclusion constraint is PostgreSQL's only)."""
    kinds = {PrimaryKeyConstraint: "pk", UniqueConstraint: "uq", CheckConstraint: "ck",
             ForeignKeyConstraint: "fk", ExcludeConstraint: "ex"}
    names = set()
    for constraint in table.constraints:
        only = getattr(constraint, "_ddl_if", None)
        if only is not None and only.dialect and only.dialect != dialect:
            continue
        kind = kinds[type(constraint)]
        assert constraint.name, f"{table.name}: unnamed {kind} constraint {constraint!r}"
        names.add((kind, str(constraint.name)))
    for index in table.indexes:
        assert index.name, f"{table.name}: unnamed index {index!r}"
        names.add(("ix", str(index.name)))
    return names


# SQLAlchemy cannot reflect expression-based indexes on SQLite (so neither can
# autogenerate); reflected_names reads their names from SQLite itself instead.
EXPRESSION_INDEX_WARNINGS = ("Skipped unsupported reflection of expression-based index",
                             "autogenerate skipping metadata-specified expression-based index")


@contextmanager
def expression_index_warnings_ignored():
    with warnings.catch_warnings():
        for message in EXPRESSION_INDEX_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        yield


def reflected_names(conn, table_name: str) -> set[tuple[str, str]]:
    inspector = inspect(conn)
    with expression_index_warnings_ignored():
        names = {("uq", c["name"]) for c in inspector.get_unique_constraints(table_name)}
        names |= {("ck", c["name"]) for c in inspector.get_check_constraints(table_name)}
        names |= {("fk", c["name"]) for c in inspector.get_foreign_keys(table_name)}
        if conn.dialect.name == "sqlite":
            # Origin "c": made by CREATE INDEX (not a UNIQUE or PRIMARY KEY constraint).
            quoted = conn.dialect.identifier_preparer.quote(table_name)
            names |= {("ix", row[1]) for row in conn.exec_driver_sql(f"PRAGMA index_list({quoted})")
                      if row[3] == "c"}
        else:
            # PostgreSQL also lists the index behind each unique constraint.
            names |= {("ix", i["name"]) for i in inspector.get_indexes(table_name)
                      if not i.get("duplicates_constraint")}
            # Exclusion constraints (SQLAlchemy does not reflect them), with their definition
            # compared in test_exclusion_constraints_match_the_models.
            names |= {("ex", row[0]) for row in conn.exec_driver_sql(
                "SELECT conname FROM pg_constraint WHERE contype = 'x' AND conrelid = %(t)s::regclass",
                {"t": table_name})}
    pk = inspector.get_pk_constraint(table_name)
    if pk["constrained_columns"]:
        names.add(("pk", pk["name"]))
    return names


def schema_differences(connection) -> list:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_item": render_item})
    with expression_index_warnings_ignored():
        return compare_metadata(context, db.metadata)


# --- migrations equal the models -----------------------------------------------


def test_migrations_have_a_single_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several migration heads, merge them: {heads}"


def test_migrations_create_exactly_the_models(migrated_app):
    with migrated_app.app_context():
        config = migrated_app.extensions["migrate"].migrate.get_config()
        heads = ScriptDirectory.from_config(config).get_heads()
        with db.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_heads() == tuple(heads)

            # (a) columns, types, nullability, tables, indexes, unique and foreign keys
            assert schema_differences(conn) == []

            # (b) names, CHECK constraints included (autogenerate cannot see those)
            assert set(inspect(conn).get_table_names()) == {t.name for t in db.metadata.sorted_tables} | {
                "alembic_version"}
            declared_checks = 0
            for table in db.metadata.sorted_tables:
                declared = declared_names(table, conn.dialect.name)
                declared_checks += sum(kind == "ck" for kind, _ in declared)
                assert reflected_names(conn, table.name) == declared, (
                    f"{table.name}: migrated database (left) vs models (right)")
            # The comparison is not vacuous: the models do declare CHECK constraints.
            assert declared_checks > 0


def test_exclusion_constraints_match_the_models(migrated_app, app):
    """The migration's hand-written exclusion constraint is the model's, word
    for word as PostgreSQL reads it back, on the migrated and the created schema."""
    if is_sqlite(migrated_app):
        pytest.skip("exclusion constraints are PostgreSQL's")
    definition = ("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'x' "
                  "ORDER BY conname")
    with migrated_app.app_context(), db.engine.connect() as conn:
        migrated = conn.exec_driver_sql(definition).all()
    with app.app_context(), db.engine.connect() as conn:
        created = conn.exec_driver_sql(definition).all()
    assert migrated == created
    assert [name for name, _ in migrated] == ["ex_reservations_no_overlap"]


def test_migrations_downgrade_to_nothing_and_upgrade_again(migrated_app):
    with migrated_app.app_context():
        with logging_kept():
            flask_migrate.downgrade(revision="base")
        with db.engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == {"alembic_version"}
        with logging_kept():
            flask_migrate.upgrade()
        with db.engine.connect() as conn:
            assert schema_differences(conn) == []
        db.session.remove()


# --- write_unit across processes ------------------------------------------

# Test-only tables on their own metadata: never part of the app's schema.
BURST_METADATA = MetaData()
POOLS = Table("test_burst_pools", BURST_METADATA,
              Column("id", Integer, primary_key=True),
              Column("capacity", Integer, nullable=False))
SEATS = Table("test_burst_seats", BURST_METADATA,
              Column("id", Integer, primary_key=True),
              Column("pool_id", Integer, ForeignKey("test_burst_pools.id"), nullable=False))

PROCESSES = 8
ATTEMPTS = 5
CAPACITY = 10
STARTUP_DEADLINE = 120  # seconds for the processes to import and create the app (~1 s each)
BURST_DEADLINE = 30  # seconds for a burst once they are up; it takes well under one


def _seats_taken(pool_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(SEATS).where(SEATS.c.pool_id == pool_id))


def _guarded_attempt() -> int:
    # What a request has done before: the session and user lookups read, and
    # that read transaction is still open (a snapshot on SQLite).
    db.session.execute(select(func.count()).select_from(SEATS)).scalar()
    assert db.session().in_transaction()
    with write_unit():
        pool = db.session.execute(select(POOLS).where(POOLS.c.id == 1).with_for_update()).one()
        if _seats_taken(pool.id) >= pool.capacity:
            return 0
        time.sleep(0.005)
        db.session.execute(insert(SEATS).values(pool_id=pool.id))
    return 1


def _unguarded_attempt() -> int:
    """The same check without the helper: read and check, commit, then write."""
    pool = db.session.execute(select(POOLS).where(POOLS.c.id == 1)).one()
    taken = _seats_taken(pool.id)
    db.session.commit()
    if taken >= pool.capacity:
        return 0
    time.sleep(0.005)
    db.session.execute(insert(SEATS).values(pool_id=pool.id))
    db.session.commit()
    return 1


def _burst_worker(index, config, commands, barrier, results):
    """One OS process with its own app on the shared database. For each burst
    it is told to run, it waits for the others, then tries ATTEMPTS bookings."""
    try:
        app = create_app(config)
    except BaseException:
        results.put((index, None, traceback.format_exc()))
        return
    results.put((index, "ready", None))
    while (guarded := commands.get()) is not None:
        try:
            inserted = 0
            with app.test_request_context():
                barrier.wait(timeout=BURST_DEADLINE)
                for _ in range(ATTEMPTS):
                    inserted += _guarded_attempt() if guarded else _unguarded_attempt()
                db.session.remove()
            results.put((index, inserted, None))
        except BaseException:
            results.put((index, None, traceback.format_exc()))
    with app.app_context():
        db.engine.dispose()
    # Skip the interpreter's teardown of every imported module, which takes
    # seconds when eight processes do it at once; flush the results first.
    results.close()
    results.join_thread()
    os._exit(0)


class BurstWorkers:
    """PROCESSES spawned processes, started once for the bursts of this module
    (starting a process that imports the app is what takes the time)."""

    def __init__(self, config: dict):
        spawn = multiprocessing.get_context("spawn")
        self.barrier = spawn.Barrier(PROCESSES)
        self.results = spawn.Queue()
        self.commands = [spawn.Queue() for _ in range(PROCESSES)]
        self.broken = False
        self.ready = False
        self.processes = [
            spawn.Process(target=_burst_worker, args=(i, config, self.commands[i], self.barrier, self.results),
                          daemon=True)
            for i in range(PROCESSES)]
        for process in self.processes:
            process.start()

    def burst(self, guarded: bool) -> int:
        """Releases every process at once; returns how many seats they say they took."""
        assert not self.broken, "an earlier burst failed; its processes were stopped"
        self.broken = True  # until this burst has fully succeeded
        try:
            if not self.ready:
                self._collect("start", STARTUP_DEADLINE)
                self.ready = True
            for commands in self.commands:
                commands.put(guarded)
            reports = self._collect("burst", BURST_DEADLINE)
        except BaseException:
            self.stop(wait=0)  # none of them may go on holding locks
            raise
        self.broken = False
        return sum(inserted for _, inserted, _ in reports)

    def _collect(self, what: str, seconds: float) -> list:
        """One report from every process, within the time given."""
        deadline = time.monotonic() + seconds
        reports = []
        while len(reports) < PROCESSES:
            try:
                reports.append(self.results.get(timeout=0.5))
            except queue.Empty:
                dead = [p.exitcode for p in self.processes if not p.is_alive()]
                if dead:
                    pytest.fail(f"{len(dead)} process(es) died (exit codes {dead})")
                if time.monotonic() > deadline:
                    pytest.fail(f"only {len(reports)} of {PROCESSES} processes finished the {what} "
                                f"in {seconds} s")
        errors = [error for _, _, error in reports if error]
        assert not errors, f"a process failed the {what}:\n" + "\n".join(errors)
        return reports

    def stop(self, wait: float = 10):
        for commands in self.commands:
            commands.put(None)
        deadline = time.monotonic() + wait
        for process in self.processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in self.processes:
            if process.is_alive():
                process.kill()
                process.join(5)


@pytest.fixture(scope="module")
def burst_workers(app, database_url, mailbox, tmp_path_factory):
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database and url.database != ":memory:", "processes need a FILE database"
    workers = BurstWorkers(cheap_config(database_url, mailbox, tmp_path_factory.mktemp("burst")))
    yield workers
    workers.stop()


@pytest.fixture
def pool_tables(app):
    """The test-only tables, with one pool of CAPACITY seats; dropped after the test."""
    with app.app_context():
        BURST_METADATA.drop_all(db.engine)
        BURST_METADATA.create_all(db.engine)
        with db.engine.begin() as conn:
            conn.execute(insert(POOLS).values(id=1, capacity=CAPACITY))
    yield
    with app.app_context():
        db.session.remove()
        BURST_METADATA.drop_all(db.engine)


def seats_in_table(app) -> int:
    with app.app_context():
        with db.engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(SEATS))


def test_write_unit_serialises_a_read_check_write_across_processes(app, burst_workers, pool_tables):
    assert PROCESSES >= 8 and PROCESSES * ATTEMPTS >= 4 * CAPACITY
    reported = burst_workers.burst(guarded=True)
    assert seats_in_table(app) == CAPACITY
    assert reported == CAPACITY


def test_without_write_unit_the_same_burst_overbooks(app, burst_workers, pool_tables):
    """The negative control: it shows the burst is fierce enough to catch a race."""
    reported = burst_workers.burst(guarded=False)
    seats = seats_in_table(app)
    assert reported == seats
    assert seats > CAPACITY


# --- write_unit, one process ---------------------------------------------------


def outbox_count() -> int:
    with db.engine.connect() as conn:  # its own connection: sees committed rows only
        return conn.scalar(select(func.count()).select_from(OutboxMail))


def a_mail(**kwargs) -> OutboxMail:
    return OutboxMail(to_address="ada@example.org", subject="Hello", body="Hi", **kwargs)


def test_write_unit_commits_at_the_end(app, ctx):
    db.session.execute(select(OutboxMail.id)).all()  # an earlier read, still open
    with write_unit():
        db.session.add(a_mail())
        db.session.flush()
        assert outbox_count() == 0
    assert not db.session().in_transaction()
    assert outbox_count() == 1


def test_write_unit_rolls_back_on_error(app, ctx):
    with pytest.raises(LookupError):
        with write_unit():
            db.session.add(a_mail())
            db.session.flush()
            raise LookupError("the check failed")
    assert not db.session().in_transaction()
    assert outbox_count() == 0


def test_write_unit_refuses_pending_changes(app, ctx):
    db.session.add(a_mail())
    with pytest.raises(RuntimeError, match="changes made outside a write unit"):
        with write_unit():
            pytest.fail("the body must not run")
    db.session.rollback()
    assert outbox_count() == 0


def test_foreign_keys_are_enforced(app, ctx):
    with pytest.raises(IntegrityError):
        db.session.execute(insert(LoginSession).values(
            user_id=987654, token_hash="x" * 64, remember=False, created_at=utcnow(),
            expires_at=utcnow()))
        db.session.commit()
    db.session.rollback()


# --- UTCDateTime -----------------------------------------------------------------------


def test_an_aware_datetime_comes_back_aware_in_utc(app, ctx):
    # 23:40 on 30 June in Newfoundland (-02:30 in summer time) is 02:10 UTC the next day.
    original = dt.datetime(2024, 6, 30, 23, 40, 5, 123456, tzinfo=ZoneInfo("America/St_Johns"))
    utc = dt.datetime(2024, 7, 1, 2, 10, 5, 123456, tzinfo=UTC)
    assert original == utc
    mail = a_mail(created_at=original)
    db.session.add(mail)
    db.session.commit()
    mail_id = mail.id
    db.session.remove()

    for session_time_zone in (None, "Asia/Kathmandu"):
        if session_time_zone and db.engine.dialect.name == "postgresql":
            # PostgreSQL then hands back +05:45 values; they must still come out in UTC.
            db.session.execute(text(f"SET LOCAL TIME ZONE '{session_time_zone}'"))
        loaded = db.session.get(OutboxMail, mail_id).created_at
        assert loaded == original
        assert loaded.tzinfo is not None and loaded.utcoffset() == dt.timedelta(0)
        assert loaded.tzinfo == UTC
        assert (loaded.year, loaded.month, loaded.day, loaded.hour, loaded.minute) == (2024, 7, 1, 2, 10)
        assert loaded.microsecond == 123456
        db.session.rollback()
        db.session.expunge_all()

    # Stored as the UTC instant, so SQLite's text comparison orders correctly.
    if db.engine.dialect.name == "sqlite":
        raw = db.session.execute(text("SELECT created_at FROM outbox_mail WHERE id = :id"),
                                 {"id": mail_id}).scalar()
        assert raw == "2024-07-01 02:10:05.123456"
    else:
        raw = db.session.execute(text("SELECT created_at AT TIME ZONE 'UTC' FROM outbox_mail WHERE id = :id"),
                                 {"id": mail_id}).scalar()
        assert raw == dt.datetime(2024, 7, 1, 2, 10, 5, 123456)


def test_the_default_is_now_in_utc(app, ctx):
    before = utcnow()
    mail = a_mail()
    db.session.add(mail)
    db.session.commit()
    mail_id = mail.id
    db.session.remove()
    created = db.session.get(OutboxMail, mail_id).created_at
    assert created.tzinfo == UTC and before <= created <= utcnow()


def test_a_naive_datetime_is_refused(app, ctx):
    naive = dt.datetime(2024, 7, 1, 2, 10)
    db.session.add(a_mail(created_at=naive))
    with pytest.raises(StatementError, match="naive datetime") as error:
        db.session.flush()
    assert isinstance(error.value.orig, ValueError)
    db.session.rollback()

    with pytest.raises(StatementError, match="naive datetime"):
        db.session.scalars(select(OutboxMail).where(OutboxMail.created_at < naive)).all()
    db.session.rollback()
    assert outbox_count() == 0


def test_comparisons_in_sql_compare_instants(app, ctx):
    # Wall-clock order is the reverse of the order in time: a comparison of
    # local times (or of text in different offsets) gets these wrong.
    stamps = {
        "first": dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),  # 10:00Z
        "second": dt.datetime(2024, 6, 1, 11, 0, tzinfo=UTC),                                # 11:00Z
        "third": dt.datetime(2024, 6, 1, 7, 30, tzinfo=ZoneInfo("America/New_York")),        # 11:30Z
    }
    assert stamps["first"] < stamps["second"] < stamps["third"]
    for subject, stamp in stamps.items():
        db.session.add(OutboxMail(to_address="ada@example.org", subject=subject, body="", created_at=stamp))
    db.session.commit()

    def subjects(*where) -> list[str]:
        return list(db.session.scalars(
            select(OutboxMail.subject).where(*where).order_by(OutboxMail.created_at)))

    assert subjects() == ["first", "second", "third"]
    # 13:15 in Berlin (+02:00) is 11:15Z: after "second", before "third".
    berlin = dt.datetime(2024, 6, 1, 13, 15, tzinfo=ZoneInfo("Europe/Berlin"))
    assert subjects(OutboxMail.created_at < berlin) == ["first", "second"]
    assert subjects(OutboxMail.created_at > berlin) == ["third"]
    # The same instant, in a different zone, equals a stored value.
    assert subjects(OutboxMail.created_at == dt.datetime(2024, 6, 1, 20, 0, tzinfo=ZoneInfo("Asia/Tokyo"))) == [
        "second"]
    assert subjects(OutboxMail.created_at.between(
        dt.datetime(2024, 6, 1, 10, 0, 1, tzinfo=UTC), stamps["third"])) == ["second", "third"]


# --- SQLite connections --------------------------------------------------------------


def other_writer_error(path: str) -> str | None:
    """Try to take the write lock from a second, raw connection without waiting;
    the error message if it cannot, None if it can."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return None
    except sqlite3.OperationalError as error:
        return str(error)
    finally:
        conn.close()


@pytest.fixture
def sqlite_only(app):
    if not is_sqlite(app):
        pytest.skip("SQLite connection settings; this run is on PostgreSQL")


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(app, sqlite_only):
    with app.app_context():
        # Two connections at once: every connection of the pool, not just the first.
        with db.engine.connect() as first, db.engine.connect() as second:
            for conn in (first, second):
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0


def test_sqlite_write_unit_holds_the_write_lock(app, ctx, sqlite_only):
    path = db.engine.url.database
    assert other_writer_error(path) is None

    # A read transaction does not take the write lock...
    db.session.execute(select(OutboxMail.id)).all()
    assert db.session().in_transaction()
    assert other_writer_error(path) is None

    # ...write_unit does, before its first statement.
    with write_unit():
        assert other_writer_error(path) == "database is locked"
        db.session.execute(select(OutboxMail.id)).all()
        assert other_writer_error(path) == "database is locked"
    assert other_writer_error(path) is None

    # And lets it go on an error too.
    with pytest.raises(LookupError):
        with write_unit():
            assert other_writer_error(path) == "database is locked"
            raise LookupError
    assert other_writer_error(path) is None


def test_write_unit_refuses_flushed_changes(app):
    """A change already flushed (by a query) would be committed by surprise."""
    from app.mail import OutboxMail

    with app.test_request_context():
        db.session.add(OutboxMail(to_address="x@example.org", subject="s", body="b"))
        db.session.flush()
        with pytest.raises(RuntimeError, match="changes made outside a write unit"):
            with write_unit():
                pass
        db.session.rollback()
        with write_unit():  # after the rollback it works again
            pass
