"""Running an instance: backups that restore, upgrades that migrate once,
servers that refuse a schema older than their code.

``flask backup`` writes a consistent copy while the app serves writes:
SQLite's online backup API (one read transaction, so one snapshot; in WAL
mode writers go on meanwhile), and on PostgreSQL ``pg_dump`` (one
repeatable-read snapshot). ``flask restore`` brings a backup back into an
empty database only: nothing is ever overwritten.

Every migration run (``flask db upgrade``, ``make migrate``) holds the
database's upgrade lock from before it reads the schema's revision until it
commits (``upgrade_lock``, called by migrations/env.py): on PostgreSQL a
transaction-level advisory lock, on SQLite the one write lock (BEGIN
IMMEDIATE). Two upgrades started at once queue up; the second reads the
revision the first committed and applies nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sqlite3
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
from flask import Flask, current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import OperationalError

from .database import IMMEDIATE
from .extensions import db

log = logging.getLogger(__name__)

# The key of PostgreSQL's advisory lock that every upgrade takes: any fixed
# 64-bit number that nothing else in the database uses ("Communit" in ASCII).
UPGRADE_LOCK_KEY = 0x436F6D6D756E6974
# How long an upgrade waits for another one on SQLite before giving up.
SQLITE_UPGRADE_WAIT = 600  # seconds

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


# --- upgrades that migrate once -----------------------------------------------------


@contextmanager
def upgrade_lock(connection: Connection) -> Iterator[None]:
    """One transaction for a whole migration run, holding the upgrade lock
    from before Alembic reads the current revision until the commit. A
    second run waits for the first, then finds the schema current.

    Alembic sees a transaction already begun and leaves it to us (it
    neither begins nor commits one of its own), so the revision it reads,
    the DDL and the new revision are one unit.
    """
    if connection.dialect.name == "postgresql":
        with connection.begin():
            if not connection.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK_KEY}):
                log.warning("Another upgrade of this database is running: waiting for it to finish.")
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK_KEY})
            yield
        return
    if connection.dialect.name == "sqlite":
        # BEGIN IMMEDIATE (the recipe in database.py) takes SQLite's only write
        # lock; it waits busy_timeout, then says "locked": wait on, up to a limit.
        connection.execution_options(**{IMMEDIATE: True})
        # Alembic's batch mode rebuilds a table on SQLite (copy, drop, rename). With
        # foreign keys on, dropping the old table deletes its rows first, and ON
        # DELETE CASCADE empties every table that refers to it (adding a column to
        # users once took every membership with it). SQLite's own advice: keys off
        # for the migration (the pragma works only outside a transaction, so on the
        # driver's connection before BEGIN), then foreign_key_check before the commit.
        raw = connection.connection.dbapi_connection
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            deadline = time.monotonic() + SQLITE_UPGRADE_WAIT
            told = False
            while True:
                try:
                    transaction = connection.begin()
                    break
                except OperationalError as error:
                    connection.rollback()
                    if "locked" not in str(error) or time.monotonic() > deadline:
                        raise
                    if not told:
                        log.warning("The database is locked (another upgrade, or a long write): waiting.")
                        told = True
            with transaction:
                yield
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"The migration left rows pointing at nothing ({broken[:5]}); "
                                       "nothing was changed.")
        finally:
            raw.execute("PRAGMA foreign_keys=ON")
        return
    with connection.begin():  # pragma: no cover - only SQLite and PostgreSQL are supported
        yield


def _script_directory(app: Flask):
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


def schema_revisions(engine: Engine) -> tuple[str, ...]:
    """The revisions the database is at (empty: never migrated)."""
    from alembic.migration import MigrationContext

    # Alembic says which dialect it found at INFO; every worker checks at start, so not here.
    chatty = logging.getLogger("alembic.runtime.migration")
    level = chatty.level
    chatty.setLevel(logging.WARNING)
    try:
        with engine.connect() as connection:
            return tuple(MigrationContext.configure(connection).get_current_heads())
    finally:
        chatty.setLevel(level)


class SchemaNotCurrent(RuntimeError):
    """The database's schema is not the one this code was written for."""


def schema_problem(app: Flask) -> str | None:
    """What keeps a server from starting on this database, in words, or None."""
    with app.app_context():
        script = _script_directory(app)
        heads = set(script.get_heads())
        current = set(schema_revisions(db.engine))
        where = shown_url(db.engine.url)
    if current == heads:
        return None
    upgrade = ("Upgrade it once for this deploy: back up (flask backup), run the guarded upgrade "
               "(flask db upgrade, or make migrate), then start the servers (README, Deployment).")
    if not current:
        return (f"The database {where} has no schema yet. Make it once: run the guarded upgrade (flask db "
                f"upgrade, or make migrate), then start the servers (README, Deployment).")
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = current - known
    if unknown:
        return (f"The database {where} is at revision {', '.join(sorted(unknown))}, which this code does not "
                f"know (its latest is {', '.join(sorted(heads))}): a newer release upgraded it. Start that "
                f"release, or restore the backup taken before its upgrade into an empty database.")
    return (f"The database {where} is at revision {', '.join(sorted(current))}, older than this code "
            f"({', '.join(sorted(heads))}). {upgrade}")


def require_current_schema(app: Flask) -> None:
    """Refuse to serve against a schema older (or newer) than the code.

    :raise SchemaNotCurrent: with what to do, in words.
    """
    problem = schema_problem(app)
    if problem:
        log.error("Not starting: %s", problem)
        raise SchemaNotCurrent(problem)


def mark_current(engine: Engine) -> None:
    """Record that a schema made by ``create_all()`` is the latest revision
    (``flask db stamp head``), for databases the tests make without migrating."""
    from alembic.migration import MigrationContext

    with engine.begin() as connection:
        MigrationContext.configure(connection).stamp(_script_directory(current_app), "head")


# --- backups that restore -----------------------------------------------------------


def shown_url(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _pg_environment(url: URL) -> tuple[list[str], dict]:
    """libpq's connection options for pg_dump and pg_restore (the password in
    the environment, never on a command line that ps shows)."""
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    env = os.environ.copy()
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise click.ClickException("An SQLite database in memory has nothing to back up or restore into.")
    return Path(url.database)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise click.ClickException(f"{name} was not found: install PostgreSQL's client programs "
                                   "(Debian: apt-get install postgresql-client, or scripts/install-system-packages.sh).")
    return found


def default_backup_path(instance_path: str, url: URL, now: dt.datetime | None = None) -> Path:
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    suffix = "sqlite3" if url.get_backend_name() == "sqlite" else "dump"
    return Path(instance_path) / "backups" / f"communitarium-{stamp}.{suffix}"


def backup(url: URL, path: Path) -> Path:
    """Write a consistent backup of the database at ``url`` to ``path``.

    Written beside its final name and renamed when whole and checked, so a
    file with the final name is always a complete backup.

    :raise click.ClickException: if the backup cannot be made or fails its check.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        raise click.ClickException(f"{path} exists already; a backup never overwrites a file.")
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if url.get_backend_name() == "sqlite":
            _backup_sqlite(_sqlite_path(url), partial)
        elif url.get_backend_name() == "postgresql":
            _backup_postgresql(url, partial)
        else:
            raise click.ClickException(f"Backups of {url.get_backend_name()} are not supported.")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _backup_sqlite(database: Path, out: Path) -> None:
    if not database.exists():
        raise click.ClickException(f"There is no database at {database}.")
    source = sqlite3.connect(database, timeout=30)
    target = sqlite3.connect(out)
    try:
        source.execute("PRAGMA busy_timeout=30000")
        # pages=-1 (the default): every page in one step, within one read
        # transaction, so the copy is one moment of the database; in WAL mode
        # the app's writers carry on meanwhile.
        source.backup(target)
        # A backup is one self-contained file, without a -wal beside it.
        target.execute("PRAGMA journal_mode=DELETE")
        problems = _sqlite_problems(target)
    finally:
        target.close()
        source.close()
    if problems:
        raise click.ClickException("The backup failed its check: " + "; ".join(problems))


def _sqlite_problems(connection: sqlite3.Connection) -> list[str]:
    integrity = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    problems = [] if integrity == ["ok"] else integrity[:5]
    foreign = connection.execute("PRAGMA foreign_key_check").fetchall()
    if foreign:
        problems.append(f"{len(foreign)} rows point at rows that are not there, in {sorted({r[0] for r in foreign})}")
    return problems


def pg_dump_command(url: URL, out: Path) -> tuple[list[str], dict]:
    """The documented command (README, Deployment): the custom format (compressed,
    restored by pg_restore), without owners or grants, so it restores into a
    database owned by any user."""
    args, env = _pg_environment(url)
    return [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={out}",
            *args, "--dbname", url.database or "postgres"], env


def _backup_postgresql(url: URL, out: Path) -> None:
    # pg_dump reads everything in one REPEATABLE READ transaction: a snapshot,
    # while the app goes on writing.
    command, env = pg_dump_command(url, out)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise click.ClickException(f"pg_dump failed: {done.stderr.strip()}")
    listed = subprocess.run([_tool("pg_restore"), "--list", str(out)], capture_output=True, text=True, check=False)
    if listed.returncode or "TABLE DATA" not in listed.stdout:
        raise click.ClickException(f"The backup failed its check (pg_restore --list): {listed.stderr.strip()}")


def kind_of_backup(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "postgresql"
    raise click.ClickException(f"{path} is not a backup made by flask backup (neither an SQLite database "
                               "nor a pg_dump file in the custom format).")


def tables_in(engine: Engine) -> list[str]:
    """Every table and view in the database (any schema but the system's)."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            return list(connection.scalars(text(
                "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', "
                "'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1")))
        names = inspect(connection).get_table_names() + inspect(connection).get_view_names()
        return sorted(names)


def restore(engine: Engine, path: Path) -> None:
    """Bring the backup at ``path`` back into the empty database of ``engine``.

    :raise click.ClickException: the database is not empty, the backup is of
        the other kind of database, or the restore failed (nothing is left
        half-restored: PostgreSQL restores in one transaction, SQLite by its
        backup API, which replaces the whole file at once).
    """
    url = engine.url
    if not path.is_file():
        raise click.ClickException(f"There is no backup at {path}.")
    kind = kind_of_backup(path)
    backend = url.get_backend_name()
    if kind != backend:
        raise click.ClickException(f"{path} is a backup of a {kind} database; DATABASE_URL names a {backend} one.")
    present = tables_in(engine)
    if present:
        shown = ", ".join(present[:5]) + (f" and {len(present) - 5} more" if len(present) > 5 else "")
        raise click.ClickException(
            f"The database {shown_url(url)} is not empty: it has {len(present)} tables ({shown}). flask restore "
            "only fills an empty database, so that nothing is ever overwritten. Create a new, empty database, "
            "point DATABASE_URL at it, and run flask restore again.")
    engine.dispose()
    if backend == "sqlite":
        _restore_sqlite(path, _sqlite_path(url))
    else:
        args, env = _pg_environment(url)
        done = subprocess.run(
            [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
             *args, "--dbname", url.database or "postgres", str(path)],
            env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            raise click.ClickException(f"pg_restore failed, and restored nothing: {done.stderr.strip()}")
    engine.dispose()


def _restore_sqlite(path: Path, database: Path) -> None:
    database.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(database, timeout=30)
    try:
        problems = _sqlite_problems(source)
        if problems:
            raise click.ClickException(f"{path} fails its check, so it is not restored: " + "; ".join(problems))
        source.backup(target)
        target.execute("PRAGMA journal_mode=WAL")  # as the app runs it
    finally:
        target.close()
        source.close()


def init_app(app: Flask) -> None:
    @app.cli.command("backup")
    @click.option("--to", "to", type=click.Path(dir_okay=True, path_type=Path),
                  help="The file to write, or a folder for it (default: instance/backups/).")
    def backup_command(to: Path | None):
        """Write a consistent backup of the database, while the app serves."""
        url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        path = default_backup_path(app.instance_path, url)
        if to is not None:
            path = to / path.name if to.is_dir() else to
        started = time.monotonic()
        backup(url, path)
        click.echo(f"Backed up {shown_url(url)} to {path} ({path.stat().st_size:,} bytes, "
                   f"{time.monotonic() - started:.1f} s).")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    def restore_command(path: Path):
        """Restore a backup into an empty database (DATABASE_URL)."""
        with app.app_context():
            restore(db.engine, path)
            problem = schema_problem(app)
        click.echo(f"Restored {path} into {shown_url(db.engine.url)}.")
        if problem:
            click.echo(f"Before serving it: {problem}")
