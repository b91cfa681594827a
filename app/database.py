"""Database plumbing shared by every area: the UTC type, SQLite done right,
and the one helper that begins a write transaction."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from .extensions import db

UTC = dt.timezone.utc


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on both databases.

    SQLite hands back naive datetimes even for ``DateTime(timezone=True)`` and
    PostgreSQL aware ones, so a comparison could break on one database only.
    Values go in aware (naive ones are refused, not guessed) and come out aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


IMMEDIATE = "communitarium_immediate"


def install_sqlite_recipe(engine: Engine) -> None:
    """SQLAlchemy's documented pysqlite recipe for real transactions.

    Python 3.11's sqlite3 driver opens no transaction before a SELECT, so a
    read-check-write is not isolated and overbooks silently. We take the
    driver's transaction handling away and emit BEGIN ourselves: BEGIN
    IMMEDIATE for transactions that will write (see ``write_transaction``),
    so the write lock is taken before the first read.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get(IMMEDIATE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_FLUSHED = "communitarium_flushed"


@event.listens_for(Session, "after_flush")
def _note_flush(session, _context):
    # Changes already flushed are invisible to session.new/dirty, yet ending
    # the transaction would commit them: remember that there are some.
    session.info[_FLUSHED] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_flush(session, transaction):
    if transaction.parent is None:
        session.info.pop(_FLUSHED, None)


@contextmanager
def write_transaction() -> Iterator[None]:
    """Run a read-check-write as one transaction that holds the write lock.

    Call it before the first read of the check. On SQLite it begins the
    transaction IMMEDIATE, so concurrent writers queue up (busy timeout)
    instead of reading stale rows; on PostgreSQL the reads inside must lock
    what they check (``with_for_update()``, which SQLite ignores). Inside a
    request the session and user lookups have already opened a read
    transaction; it is ended first, since a deferred transaction cannot be
    upgraded to a writer safely. Commits at the end, rolls back on error.

    :raise RuntimeError: if the session holds changes not yet committed (flushed
        or not), which ending the read transaction would commit by surprise.
    """
    session = db.session()  # the real Session behind the scoped proxy
    if session.new or session.dirty or session.deleted or session.info.get(_FLUSHED):
        raise RuntimeError("write_transaction() called with uncommitted changes")
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={IMMEDIATE: True})
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise


def render_item(type_, obj, autogen_context):
    """Migrations spell our UTC type as the column type it stores, so they
    never import application code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
