"""Database plumbing shared by every area: the UTC type, SQLite done right,
the one unit of work that writes, row locks, and counted resources."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import DateTime, event, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
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


def _use_wal(cursor, within: float = 10.0) -> None:
    """WAL mode, kept in the file once set. Setting it needs the file to itself
    for a moment, and SQLite answers "database is locked" at once, without the
    busy timeout, while another connection holds it: two processes opening a
    new file together (two upgrades started at once) saw that. So: try again."""
    deadline = time.monotonic() + within
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def install_sqlite_recipe(engine: Engine) -> None:
    """SQLAlchemy's documented pysqlite recipe for real transactions.

    Python 3.11's sqlite3 driver opens no transaction before a SELECT, so a
    read-check-write is not isolated and overbooks silently. We take the
    driver's transaction handling away and emit BEGIN ourselves: BEGIN
    IMMEDIATE for transactions that will write (see ``write_unit``),
    so the write lock is taken before the first read.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=10000")
        _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
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


_IN_UNIT = "communitarium_write_unit"


@contextmanager
def write_unit() -> Iterator[None]:
    """One unit of work that writes: the caller (a route, a command, a test)
    opens it, calls as many domain functions as the change needs, and it
    commits at the end or rolls everything back on an error. Domain functions
    never commit.

    On SQLite it begins the transaction IMMEDIATE, so the write lock is taken
    before the first read and concurrent writers queue up (busy timeout)
    instead of reading stale rows; on PostgreSQL the reads that a rule checks
    lock their rows (``lock``). Inside a request the session and user lookups
    have already opened a read transaction; it is ended first, since a
    deferred transaction cannot be upgraded to a writer safely. Slow work
    (password hashing, sending mail) belongs before or after the unit: on
    SQLite the unit holds the only write lock.

    :raise RuntimeError: if the session holds changes made outside any unit
        (which would be committed by surprise), or if units are nested.
    """
    session = db.session()  # the real Session behind the scoped proxy
    if session.info.get(_IN_UNIT):
        raise RuntimeError("write_unit() inside a write unit: the outer one owns the commit")
    if session.new or session.dirty or session.deleted or session.info.get(_FLUSHED):
        raise RuntimeError("write_unit() called with changes made outside a write unit")
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={IMMEDIATE: True})
    session.info[_IN_UNIT] = True
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_IN_UNIT, None)


def in_write_unit() -> bool:
    return bool(db.session().info.get(_IN_UNIT))


def _require_unit(what: str) -> None:
    if not in_write_unit():
        raise RuntimeError(f"{what} outside a write unit: open one with write_unit()")


def lock(model, row_id):
    """The row of ``model`` with this id, read afresh and locked until the
    write unit ends (on SQLite the unit already holds the only write lock).
    None if there is no such row.

    On PostgreSQL it is FOR NO KEY UPDATE, not FOR UPDATE: writers of the row
    queue up just the same, but the foreign-key checks of other writers (FOR
    KEY SHARE) pass. PostgreSQL runs those checks even for unchanged keys when
    a transaction updates a row it has already updated, so FOR UPDATE on a
    circle deadlocked a member leaving it against neighbours answering.
    """
    _require_unit("lock()")
    return db.session.scalars(select(model).where(model.id == row_id).with_for_update(key_share=True)
                              .execution_options(populate_existing=True)).one_or_none()


# --- counted resources ---------------------------------------------------------------

@dataclass(frozen=True)
class Counter:
    """How a model counts what is taken of it: ``taken`` is the counter column,
    ``limit`` the columns whose sum is how many there are (NULL in any: no
    limit). A CHECK constraint on the table must say ``taken <= limit`` too."""

    taken: str
    limit: tuple[str, ...]

    def limit_of(self, row) -> int | None:
        values = [getattr(row, name) for name in self.limit]
        return None if any(v is None for v in values) else sum(values)


def room(row) -> int | None:
    """How many are still free on this row, from its loaded values (None: no limit)."""
    counter: Counter = type(row).counter
    limit = counter.limit_of(row)
    return None if limit is None else max(0, limit - getattr(row, counter.taken))


def take(row, n: int) -> bool:
    """Take ``n`` of a counted resource (seats, slot places, portions) if that
    many are free: the check and the write are one conditional UPDATE, so two
    parties can never both take the last ones, whatever else locked or not.
    Returns False, changing nothing, when they do not fit."""
    return _count(row, n, only_if_room=True)


def give_back(row, n: int) -> None:
    """Return ``n`` taken with ``take``."""
    _count(row, -n, only_if_room=False)


def _count(row, n: int, only_if_room: bool) -> bool:
    _require_unit("take()" if only_if_room else "give_back()")
    model = type(row)
    counter: Counter = model.counter
    taken = getattr(model, counter.taken)
    statement = update(model).where(model.id == row.id)
    if only_if_room:
        limit = None
        for name in counter.limit:
            column = getattr(model, name)
            limit = column if limit is None else limit + column
        # NULL in any part of the limit makes the sum NULL: no limit.
        statement = statement.where(or_(limit.is_(None), taken + n <= limit))
    new = db.session.execute(statement.values({counter.taken: taken + n}).returning(taken)
                             .execution_options(synchronize_session=False)).scalar_one_or_none()
    if new is None:
        return False
    set_committed_value(row, counter.taken, new)
    return True


def render_item(type_, obj, autogen_context):
    """Migrations spell our UTC type as the column type it stores, so they
    never import application code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
