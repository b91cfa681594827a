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
- only a plain 200 HTML answer to a GET that neither wrote nor changed the
  session is kept, and it goes back only to a request with the same cookies:
  the same session, which nothing has ended since (ending one is a write).

A page served from here gets a fresh CSP nonce, and every after-request hook
(compression, security headers, Vary) runs on it as on a page just made.
``PAGE_CACHE=0`` in the environment turns it off (the benchmark's "made" figures do).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import Flask, Response, current_app, g, has_request_context, request, session
from flask_login import current_user
from sqlalchemy import BigInteger, Integer, event
from sqlalchemy.orm import Mapped, mapped_column

from .database import utcnow
from .extensions import db

PAGES_KEPT = 300  # per worker; a page is 4-30 KB before compression
LARGEST_PAGE = 256 * 1024
_KEY_HEADERS = ("Cookie", "Accept-Language", "Accept", "HX-Request", "HX-Boosted", "HX-Target",
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
        g.page_wrote = True  # this request's page is older than the generation it raises
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


def generation() -> int | None:
    """The generation now (None: no row yet, or no table), read first in the request's transaction."""
    try:
        return db.session.connection().exec_driver_sql("SELECT n FROM page_generation WHERE id = 1").scalar()
    except Exception:
        db.session.rollback()
        return None


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


def _key(gen: int) -> tuple:
    return (gen, utcnow().strftime("%Y%m%d%H%M"), request.url,
            tuple(request.headers.get(name, "") for name in _KEY_HEADERS))


def _serve_kept():
    """First of all hooks: the generation is read before anything else (the
    person's row included), and a kept page needs nothing more. The key holds
    the session cookie, so the page goes back to the session it was made for;
    whatever would end that session (signing out, a steward removing the
    member, "sign out everywhere") is a write and raises the generation."""
    if request.method != "GET" or request.endpoint in (None, "static") or not _enabled():
        return None
    gen = generation()
    if gen is None:
        return None
    g.page_key = _key(gen)
    entry = _pages().get(g.page_key)
    if entry is None:
        return None
    code, body, nonce, status, headers = entry
    from .i18n import made_in
    from .security import csp_nonce

    made_in(code)  # the request's language is the page's (for its Vary), without loading the person
    session.get("_user_id")  # a page for a session varies on its cookie, as when it was made
    response = Response(body.replace(nonce, csp_nonce()) if nonce else body, status=status, headers=headers)
    g.page_served_kept = True
    return response


def _keep(response: Response) -> Response:
    """First of all after-request hooks: the page as its view made it."""
    key = g.pop("page_key", None)
    if (key is None or g.get("page_served_kept") or response.status_code != 200
            or response.mimetype != "text/html" or response.direct_passthrough or response.is_streamed
            or session.modified or "Set-Cookie" in response.headers or g.get("page_wrote")):
        return response
    body = response.get_data(as_text=True)
    if len(body) > LARGEST_PAGE:
        return response
    from .i18n import made_in

    headers = [(name, value) for name, value in response.headers if name.lower() != "content-length"]
    if current_user.is_authenticated and "Cache-Control" not in response.headers:
        headers.append(("Cache-Control", "no-store"))  # as app/security.py says for a signed-in page
    _pages().put(key, (made_in(), body, g.get("csp_nonce"), response.status_code, headers))
    return response


def _enabled() -> bool:
    return current_app.config.get("PAGE_CACHE", True)


def _pages() -> _Pages:
    return current_app.extensions["communitarium.pages"]


def init_app(app: Flask) -> None:
    """Call last: its before-request hook goes first, and its after-request
    hook, registered last, runs first."""
    app.extensions["communitarium.pages"] = _Pages(app.config.get("PAGES_KEPT", PAGES_KEPT))
    with app.app_context():
        watch(db.engine)
    app.before_request_funcs.setdefault(None, []).insert(0, _serve_kept)
    app.after_request(_keep)
