"""Pages seen again, unchanged, are not made again.

A circle reads far more than it writes: the meal page is opened many times
between two sign-ups, the same person comes back to the same list. Each
worker keeps the pages it rendered lately, keyed by everything a page can
depend on besides the data (the address, every cookie, the language the
browser asks for, htmx's headers, the minute) and by the **page generation**,
one number in the database that every committed write raises.

Why it cannot serve a stale page, whatever the view reads:
- every transaction that changed a row (an INSERT, UPDATE or DELETE that
  touched one) raises the generation in the same transaction, just before its
  COMMIT (``_raise_generation``), on every process that uses this app: web
  workers, the job runner, commands, tests;
- a request reads the generation before anything else it reads, so a page
  kept under generation g holds every write that raised it to g or below;
- the minute is in the key, so what the time alone changes ("closes in
  5 minutes", "due today") and writes made outside the app (psql) are at most
  a minute old;
- only a plain 200 HTML answer for a signed-in person, to a GET that neither
  wrote nor set a cookie, is kept, and it goes back only to a request with
  the same cookies: the same session, which nothing has ended since (ending
  one is a write; one that merely expired is at most a minute late).

A kept page goes back byte for byte, compressed as it was and with the CSP
nonce it was made with: a nonce guards against markup injected into a page,
and no page with anything new in it ever shares one (any write makes the
page anew, with a new nonce). ``PAGE_CACHE=0`` in the environment turns it
off (the benchmark's "made" figures do).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import Flask, Response, has_request_context, request, session
from flask_login import current_user
from sqlalchemy import BigInteger, Integer, event
from sqlalchemy.orm import Mapped, mapped_column

from .database import utcnow
from .extensions import db

PAGES_KEPT = 300  # per worker; a page is 4-30 KB before compression
LARGEST_PAGE = 256 * 1024
_KEY_HEADERS = ("Cookie", "Accept-Language", "Accept", "Accept-Encoding", "HX-Request", "HX-Boosted", "HX-Target",
                "HX-Trigger", "HX-Trigger-Name", "HX-History-Restore-Request", "HX-Current-URL")
_WROTE = "communitarium_wrote"


class PageGeneration(db.Model):
    """One row: raised by every committed write (see the module's docstring)."""

    __tablename__ = "page_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


# --- the generation ------------------------------------------------------------------

def _raise_sql() -> str:
    # Never back to a number a kept page may hold, even after the table was
    # emptied or a backup restored: the generation is at least the time of
    # the latest write, in microseconds, and one more than before.
    now = int(utcnow().timestamp() * 1_000_000)
    return (f"INSERT INTO page_generation (id, n) VALUES (1, {now}) ON CONFLICT (id) DO UPDATE "
            f"SET n = CASE WHEN page_generation.n >= {now} THEN page_generation.n + 1 ELSE {now} END")


def _note_write(conn, cursor, statement, _parameters, _context, _executemany):
    if cursor.rowcount != 0 and statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
        conn.info[_WROTE] = True


def _raise_generation(conn):
    if not conn.info.pop(_WROTE, False):
        return
    if has_request_context():
        request.environ[_WROTE_IN_REQUEST] = True  # its page is older than the generation it raises
    # The DBAPI cursor, not conn.execute: this runs inside SQLAlchemy's commit.
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            # Before its migration (and after a downgrade) the table is missing:
            # a savepoint keeps that error from failing the write it follows.
            try:
                cursor.execute(f"SAVEPOINT page_generation; {_raise_sql()}; RELEASE SAVEPOINT page_generation")
            except Exception:
                cursor.execute("ROLLBACK TO SAVEPOINT page_generation")
        else:
            try:
                cursor.execute(_raise_sql())
            except Exception:  # no table yet: SQLite's transaction goes on unharmed
                pass
    finally:
        cursor.close()


def _forget_write(conn):
    conn.info.pop(_WROTE, None)


def watch(engine) -> None:
    """Every committed write through ``engine`` raises the generation."""
    if not event.contains(engine, "after_cursor_execute", _note_write):
        event.listen(engine, "after_cursor_execute", _note_write)
        event.listen(engine, "commit", _raise_generation)
        event.listen(engine, "rollback", _forget_write)


def generation(engine) -> int | None:
    """The generation now (None: no row yet, or no table before the
    migration), on the driver's own connection: a request reads it before
    its session reads anything."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT n FROM page_generation WHERE id = 1")
        row = cursor.fetchone()
        cursor.close()
        return None if row is None else row[0]
    except Exception:
        return None
    finally:
        connection.close()


# --- the pages -------------------------------------------------------------------------

class _Pages:
    def __init__(self, size: int):
        self.size = size
        self.kept: OrderedDict = OrderedDict()
        self.lock = threading.Lock()  # `make run` serves from threads

    def get(self, key):
        with self.lock:
            entry = self.kept.get(key)
            if entry is not None:
                self.kept.move_to_end(key)
            return entry

    def put(self, key, entry) -> None:
        with self.lock:
            self.kept[key] = entry
            self.kept.move_to_end(key)
            while len(self.kept) > self.size:
                self.kept.popitem(last=False)


_MINUTE = "%Y%m%d%H%M"
_KEEP = "communitarium.keep_page"
_WROTE_IN_REQUEST = "communitarium.wrote"


class KeptPages:
    """WSGI middleware, inside the proxy fix and outside everything else: a
    page seen again goes back byte for byte, headers included, before Flask
    does any work (no session, no person, no hooks: all were done when it was
    made, for this very cookie)."""

    def __init__(self, wsgi_app, app: Flask):
        self.wsgi_app = wsgi_app
        self.app = app
        self.pages = _Pages(app.config.get("PAGES_KEPT", PAGES_KEPT))
        self.engine = None

    def __call__(self, environ, start_response):
        if (environ.get("REQUEST_METHOD") != "GET" or not self.app.config.get("PAGE_CACHE", True)
                or f"{self.app.config['SESSION_COOKIE_NAME']}=" not in environ.get("HTTP_COOKIE", "")):
            return self.wsgi_app(environ, start_response)  # no session: nothing a member sees again
        gen = self.generation()
        if gen is None:
            return self.wsgi_app(environ, start_response)
        key = (gen, utcnow().strftime(_MINUTE), environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"),
               environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO"), environ.get("QUERY_STRING", ""),
               tuple(environ.get(name, "") for name in _KEY_ENVIRON))
        entry = self.pages.get(key)
        if entry is not None:
            status, headers, body = entry
            start_response(status, list(headers))
            return [body]
        said = {}

        def noting(status, headers, exc_info=None):
            said["status"], said["headers"] = status, headers
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, noting)
        if not environ.get(_KEEP) or environ.get(_WROTE_IN_REQUEST):
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        headers = said.get("headers", [])
        if (said.get("status", "").startswith("200") and len(body) <= LARGEST_PAGE
                and not any(name.lower() == "set-cookie" for name, _value in headers)):
            self.pages.put(key, (said["status"], tuple(headers), body))
        return [body]

    def generation(self) -> int | None:
        if self.engine is None:
            with self.app.app_context():
                self.engine = db.engine
        return generation(self.engine)


_KEY_ENVIRON = tuple("HTTP_" + name.upper().replace("-", "_") for name in _KEY_HEADERS)


def _mark_keepable(response: Response) -> Response:
    """The last word on whether this page may be kept: a plain page for a
    signed-in person, made by a GET that wrote nothing and left the session
    as it was (the middleware also refuses one whose answer sets a cookie)."""
    if (response.status_code == 200 and response.mimetype == "text/html" and not response.direct_passthrough
            and not response.is_streamed and not session.modified and current_user.is_authenticated):
        request.environ[_KEEP] = True
    return response


def init_app(app: Flask) -> None:
    """Before the proxy fix is put around the app (create_app): kept pages
    are keyed by the address as the proxy says it was asked for."""
    with app.app_context():
        watch(db.engine)
    app.after_request(_mark_keepable)
    app.wsgi_app = KeptPages(app.wsgi_app, app)
