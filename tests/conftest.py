"""Fixtures: a database of this run's own (SQLite file, or a fresh PostgreSQL
database when TEST_DATABASE_URL is set), a real SMTP server, the app and its
test client. Helpers live in helpers.py."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db, limiter
from app.ops import mark_current

from .helpers import LIMIT_NAMES, MailBox, cheap_config

pytest_plugins = []


def _postgres_admin_url(url: str):
    return make_url(url).set(database="postgres")


def _create_database(base_url: str, suffix: str) -> str:
    """A database of this run's own on the PostgreSQL server of TEST_DATABASE_URL."""
    import psycopg

    url = make_url(base_url)
    name = f"test_{uuid.uuid4().hex[:12]}{suffix}"
    admin = _postgres_admin_url(base_url)
    with psycopg.connect(host=admin.host, port=admin.port or 5432, user=admin.username,
                         password=admin.password, dbname=admin.database, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_database(url_string: str) -> None:
    import psycopg

    url = make_url(url_string)
    admin = _postgres_admin_url(url_string)
    with psycopg.connect(host=admin.host, port=admin.port or 5432, user=admin.username,
                         password=admin.password, dbname=admin.database, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory):
    """Makes empty databases of the run's kind; drops them all at the end."""
    base = os.environ.get("TEST_DATABASE_URL")
    made: list[str] = []

    def make(suffix: str = "") -> str:
        if base:
            url = _create_database(base, suffix)
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('db') / ('test' + suffix + '.db')}"
        made.append(url)
        return url

    yield make
    if base:
        for url in made:
            _drop_database(url)


@pytest.fixture(scope="session")
def database_url(database_factory):
    return database_factory()


@pytest.fixture(scope="session")
def mailbox():
    box = MailBox()
    box.start()
    yield box
    box.stop()


@pytest.fixture(scope="session")
def app(database_url, mailbox, tmp_path_factory):
    app = create_app(cheap_config(database_url, mailbox, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        db.create_all()
        # As `flask db stamp head` would: servers started on this database
        # (tests/test_server.py) refuse a schema without its revision.
        mark_current(db.engine)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean(request, mailbox):
    """Every test starts with empty tables, an empty mailbox and fresh limits."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(table.delete())
        limiter.reset()
    mailbox.clear()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An application context, for tests that call domain functions directly."""
    with app.test_request_context():
        yield
        db.session.remove()


@pytest.fixture
def make_app(app, database_url, mailbox, tmp_path, monkeypatch):
    """An app with its own limits on the session's database (whose tables the
    session app made, and the autouse fixture empties after each test).
    ``defaults=True`` leaves every limit at its default, ``cheap=False`` the password
    hashing at its production cost; a dict or keyword arguments set anything else."""
    for name in LIMIT_NAMES:
        monkeypatch.delenv(name, raising=False)
    made = []

    def make(extra: dict | None = None, *, defaults: bool = False, cheap: bool = True, **config):
        base = cheap_config(database_url, mailbox, tmp_path)
        if defaults:
            base = {k: v for k, v in base.items() if k not in LIMIT_NAMES}
        if not cheap:
            base = {k: v for k, v in base.items() if not k.startswith("ARGON2_")}
        new = create_app(base | (extra or {}) | config)
        made.append(new)
        limiter.reset()
        return new

    limiter.reset()
    yield make
    limiter.reset()
    for made_app in made:
        with made_app.app_context():
            db.session.remove()
            db.engine.dispose()


# Property-based tests (hypothesis): the "ci" profile has no deadline (a busy
# machine is not a failure) and a fixed seed (derandomize), so every run tries
# the same inputs; no example database is written into the repository.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, database=None)
_hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
