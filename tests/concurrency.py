"""Bursts of simultaneous requests against the served app.

Each client is a person with a session (minted, or signed in through the
real form by ``sign_in``) and one ``http.client`` connection of its own,
driven by a thread of its own. A burst has three
steps, the first two ended by a ``threading.Barrier``:

1. every client fetches the page (as a browser would; it also puts the
   CSRF token in the client's session);
2. every client opens its connection and sends its post but for the last
   byte of the body; a worker that took the connection has parsed the
   request and waits in the form's parsing for that byte;
3. the barrier's action, run once when the last client arrives and before
   any is let go, sends every post's last byte in one tight loop; then each
   thread reads its answer.

Holding back the last byte ("last-byte sync") keeps what happens after the
barrier to one small send per post, so the posts reach the server within a
millisecond, where 50 threads building and sending whole requests after
their release spread them over tens of milliseconds on a busy machine.
Everything has a timeout: each request, each barrier, the join.
"""

from __future__ import annotations

import html
import http.client
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Callable

from sqlalchemy import select

REQUEST_TIMEOUT = 30  # seconds, for each request
BURST_TIMEOUT = 90  # seconds, for a whole burst (every thread joined)

CSRF_PATTERNS = (re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"'),
                 re.compile(r'name="csrf_token" value="([^"]+)"'),
                 re.compile(r'value="([^"]+)"[^>]*name="csrf_token"'))


def mint_sessions(app, emails: list[str]) -> dict[str, str]:
    """Sign many people in at once, as ``tests.served.session_cookie`` does
    for one (a server-side session row and the signed cookie naming it), with
    one app instead of one app per person."""
    from app.auth import domain
    from app.auth.models import User
    from app.extensions import db

    serializer = app.session_interface.get_signing_serializer(app)
    with app.app_context():
        users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(emails)))}
        tokens = {email: domain.start_session(users[email]) for email in emails}
        db.session.commit()
        db.session.remove()
    return {email: serializer.dumps({"_user_id": token, "_fresh": True}) for email, token in tokens.items()}


def warm_up(base_url: str, log, workers: int, timeout: float = 90) -> None:
    """Wait until every worker has booted and answered (``log`` returns the
    access log, one ``pid=N "GET ..."`` line per request): a burst sent while
    some workers still load the app would meet fewer of them."""
    parts = urllib.parse.urlsplit(base_url)
    deadline = time.monotonic() + timeout

    def fetch():
        try:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=REQUEST_TIMEOUT)
            connection.request("GET", "/auth/login")
            connection.getresponse().read()
            connection.close()
        except OSError:
            pass

    while True:
        seen = set(re.findall(r'^pid=<?(\d+)>? "GET /auth/login', log(), re.MULTILINE))
        if len(seen) >= workers:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"only {len(seen)} of {workers} workers answered within {timeout} s")
        threads = [threading.Thread(target=fetch, daemon=True) for _ in range(2 * workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(REQUEST_TIMEOUT)


@dataclass
class Reply:
    status: int
    location: str
    body: str


class Client:
    """One person: their cookies and one HTTP connection (gunicorn's sync
    workers close it after each answer; it is opened again for the next)."""

    def __init__(self, base_url: str, cookie: str | None, name: str = ""):
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port, self.name = parts.hostname, parts.port, name
        # No cookie: someone not signed in yet, who gets one from the first page.
        self.cookies = {"session": cookie} if cookie else {}
        self.headers: dict[str, str] = {}  # sent with every request (one for the access log, say)
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        self.csrf: str | None = None
        self._last_byte = b""

    def _headers(self) -> dict[str, str]:
        if not self.cookies:
            return dict(self.headers)
        return {**self.headers, "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def _reply(self) -> Reply:
        try:
            response = self.connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            self.connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Reply(response.status, response.getheader("Location") or "", text)

    def get(self, path: str) -> Reply:
        self.connection.close()
        self.connection.request("GET", path, headers=self._headers())
        return self._reply()

    def post(self, path: str, form: dict | None = None) -> Reply:
        self.begin_post(path, form)
        self.send_last_byte()
        return self._reply()

    def begin_post(self, path: str, form: dict | None = None) -> None:
        """Open the connection and send the post but for its last byte."""
        assert self.csrf, "fetch a page first: a post needs the session's CSRF token"
        body = urllib.parse.urlencode({"csrf_token": self.csrf, **(form or {})}).encode()
        self.connection.close()
        self.connection.putrequest("POST", path)
        for name, value in {**self._headers(), "Content-Type": "application/x-www-form-urlencoded",
                            "Content-Length": str(len(body))}.items():
            self.connection.putheader(name, value)
        self.connection.endheaders(body[:-1])
        self._last_byte = body[-1:]

    def send_last_byte(self) -> None:
        try:
            self.connection.send(self._last_byte)
        except BaseException:
            self.connection.close()
            raise

    def read_reply(self) -> Reply:
        return self._reply()

    def fetch_token(self, path: str) -> Reply:
        """Fetch a page and keep the CSRF token of its forms."""
        reply = self.get(path)
        if reply.status != 200:
            raise AssertionError(f"{self.name}: GET {path} gave {reply.status}")
        for pattern in CSRF_PATTERNS:
            match = pattern.search(reply.body)
            if match:
                self.csrf = html.unescape(match.group(1))
                return reply
        raise AssertionError(f"{self.name}: no CSRF token on {path}")


@dataclass
class Outcome:
    client: Client
    reply: Reply | None = None
    error: str = ""
    sent_at: float = 0.0  # when its last byte went out
    seconds: float = 0.0  # from then to the whole answer
    again: list[Reply] = field(default_factory=list)  # answers to the posts sent again (``Post.again``)


@dataclass
class Burst:
    outcomes: list[Outcome] = field(default_factory=list)
    spread: float = 0.0  # seconds between the first and the last byte sent

    def statuses(self) -> dict[int | str, int]:
        counts: dict[int | str, int] = {}
        for o in self.outcomes:
            key = o.reply.status if o.reply else "error"
            counts[key] = counts.get(key, 0) + 1
        return counts

    def problems(self, expected_status: int = 303) -> list[str]:
        return [f"{o.client.name}: {o.error or o.reply.status}" for o in self.outcomes
                if o.error or o.reply is None or o.reply.status != expected_status]

    def describe(self) -> str:
        slowest = max((o.seconds for o in self.outcomes), default=0.0)
        again = sum(len(o.again) for o in self.outcomes)
        return (f"{len(self.outcomes)} posts released within {self.spread * 1000:.1f} ms, "
                f"statuses {self.statuses()}, slowest answer {slowest:.2f} s"
                + (f", then {again} posts sent again" if again else ""))


@dataclass
class Post:
    """One post of a mixed burst: who sends it, the page they fetch first (for
    the CSRF token), where the post goes and with which form. With ``again``,
    the client goes on posting to the same place after its first answer, the
    form of its n-th post after the first being ``again(n)``, ``pause``
    seconds apart, until the posts the burst awaits have their answers:
    requests that keep coming for as long as the ones under test take,
    however long that is."""
    client: Client
    page: str
    action: str
    form: dict | None = None
    again: Callable[[int], dict] | None = None
    pause: float = 0.0


# What one client does in a mixed burst (tests/test_signin_concurrency.py's word for a Post).
Plan = Post


def burst(clients: list[Client], page: str, action: str, form: dict | None = None,
          timeout: float = BURST_TIMEOUT) -> Burst:
    """Every client fetches ``page``; once all have, each sends its post to
    ``action`` but for the last byte; once all have, the barrier sends every
    last byte and lets them read their answers.

    The first barrier matters too: a sync worker that takes a connection
    waits on it until the request is whole, so posts begun while some client
    still waits for its page could hold every worker, and that page never come.
    """
    return burst_of([Post(c, page, action, form) for c in clients], timeout)


def burst_of(posts: list[Post], timeout: float = BURST_TIMEOUT, awaited: list[int] | None = None) -> Burst:
    """A burst (see ``burst``) where each client has a page, an action and a
    form of its own: different requests raced against each other. Posts with
    ``again`` go on after the burst (see ``Post``) until the posts ``awaited``
    (their indexes; by default every post without ``again``) have their
    answers. The outcomes are in the order of ``posts``."""
    result = Burst([Outcome(p.client) for p in posts])
    awaited = set(range(len(posts)) if awaited is None else awaited)
    awaited -= {i for i, p in enumerate(posts) if p.again is not None}
    answered = threading.Semaphore(0)  # one release for each awaited post that is done
    settled = threading.Event()
    deadline = time.monotonic() + timeout

    def release() -> None:  # run by one thread, all others waiting
        for outcome in result.outcomes:
            outcome.sent_at = time.monotonic()
            try:
                outcome.client.send_last_byte()
            except Exception as error:  # noqa: BLE001 - reported with the rest
                outcome.error = f"{type(error).__name__}: {error}"

    fetched = threading.Barrier(len(posts), timeout=timeout / 3)
    ready = threading.Barrier(len(posts), action=release, timeout=timeout / 3)

    def run(post: Post, outcome: Outcome, index: int) -> None:
        try:
            outcome.client.fetch_token(post.page)
            fetched.wait()
            outcome.client.begin_post(post.action, post.form)
            ready.wait()
            if not outcome.error:
                outcome.reply = outcome.client.read_reply()
                outcome.seconds = time.monotonic() - outcome.sent_at
            if post.again is not None:
                while not settled.wait(post.pause) and time.monotonic() < deadline:
                    outcome.again.append(outcome.client.post(post.action, post.again(len(outcome.again) + 1)))
        except threading.BrokenBarrierError:
            outcome.error = outcome.error or "a barrier broke (another client failed first)"
        except BaseException as error:  # noqa: BLE001 - reported with the rest
            outcome.error = f"{type(error).__name__}: {error}"
            fetched.abort()
            ready.abort()
        finally:
            if index in awaited:
                answered.release()

    def settle() -> None:
        for _ in awaited:
            answered.acquire(timeout=max(0.0, deadline - time.monotonic()))
        settled.set()

    threads = [threading.Thread(target=run, args=(p, o, i), daemon=True, name=o.client.name)
               for i, (p, o) in enumerate(zip(posts, result.outcomes))]
    threads.append(threading.Thread(target=settle, daemon=True, name="settle"))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        settled.set()
        fetched.abort()
        ready.abort()
        raise AssertionError(f"{len(stuck)} clients still running after {timeout} s: {stuck[:5]}")
    sent = [o.sent_at for o in result.outcomes if o.sent_at]
    result.spread = max(sent) - min(sent) if sent else 0.0
    return result


def sign_in(base_url: str, email: str, password: str, name: str = "") -> Client:
    """Sign someone in through the real form, as a browser does: fetch the
    page (a session cookie and its CSRF token), post the email and password.
    One at a time: simultaneous sign-ins are not what these helpers test.

    :raise AssertionError: if the form does not answer with a redirect and a session cookie.
    """
    client = Client(base_url, "", name=name or email)
    client.cookies.clear()
    client.fetch_token("/auth/login")
    reply = client.post("/auth/login", {"email": email, "password": password})
    if reply.status != 303 or not client.cookies.get("session"):
        raise AssertionError(f"{client.name}: signing in gave {reply.status}, cookies {sorted(client.cookies)}")
    return client


def mixed_burst(plans: list[Post], timeout: float = BURST_TIMEOUT) -> Burst:
    """``burst`` with a page, an action and a form of each client's own (sign-ins,
    registrations and seat answers released together), in the order of ``plans``."""
    return burst_of(plans, timeout)


# gunicorn's access log as these tests read it: the worker's pid, the request, its status and seconds.
ACCESS_LOG_ARGS = "--access-logfile - --access-logformat 'pid=%(p)s \"%(r)s\" %(s)s %(L)s'"


def serve_warm(database_url: str, log_dir, mail_port: int, workers: int, app_module: str = "wsgi:app"):
    """gunicorn with ``workers`` sync workers on ``app_module`` (a negative
    control's module, or the app), each worker answering before it returns."""
    from .served import serve

    served = serve(database_url, log_dir, workers=workers, mail_port=mail_port,
                   extra_env={"GUNICORN_CMD_ARGS": ACCESS_LOG_ARGS}, app_module=app_module)
    try:
        warm_up(served.base_url, served.log, workers)
    except BaseException:
        served.stop()
        raise
    return served

