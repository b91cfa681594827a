"""The app as it is really served: gunicorn started as `make run` starts it,
spoken to over HTTP with nothing but the standard library, as a person's
browser would (cookies, forms with their CSRF tokens, compressed pages).

The servers use this run's database (tables made by the `app` fixture) and
the test SMTP server; password hashing runs at its real cost, since
gunicorn reads its settings from the environment only.
"""

from __future__ import annotations

import fcntl
import gzip
import html
import http.client
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import urllib.parse
import urllib.request
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import brotli
import pytest

from .helpers import PASSWORD, add_user, free_port
from .served import READY_WITHIN

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).parent / "gunicorn"
REDIS_URL = "redis://127.0.0.1:6379/15"

# Every variable app/config.py reads (read from its source, so a new one is
# covered too): none leaks in from the shell that runs the tests.
APP_ENV = set(re.findall(r'(?:environ\.get\(|environ\[|_bool\()\s*"([A-Z0-9_]+)"',
                         (ROOT / "app" / "config.py").read_text()))


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: a skipped test is a failure)", pytrace=False)
    pytest.skip(reason)


# --- the server -------------------------------------------------------------------

class Server:
    def __init__(self, process: subprocess.Popen, url: str, log: Path):
        self.process, self.url, self.log = process, url, log

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def pids_serving(self, request_line: str, count: int) -> list[str]:
        """Which worker served each of `count` requests, in order, from the
        access log (a worker logs a request just after answering it)."""
        deadline = time.monotonic() + 10
        while True:
            pids = re.findall(r"^pid=<?(\d+)>? \"" + re.escape(request_line), self.log_text(), re.M)
            if len(pids) >= count or time.monotonic() > deadline:
                return pids
            time.sleep(0.1)


def _wait_until_it_answers(process: subprocess.Popen, port: int, log: Path, timeout: float = READY_WITHIN) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-5000:]}", pytrace=False)
        try:
            # Once connected, wait as long as the deadline allows: a request given
            # up on is still served later, and with --max-requests 1 it would use
            # up each fresh worker while the next try waited behind it.
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=max(1.0, deadline - time.monotonic()))
            conn.request("GET", "/auth/login")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer within {timeout} s:\n{log.read_text()[-5000:]}", pytrace=False)


@contextmanager
def gunicorn(database_url: str, mailbox, log_folder: Path, workers: int = 1, threads: int = 8,
             env: dict | None = None, extra_args: tuple[str, ...] = ()):
    """gunicorn with the arguments of `make run`; stopped when the block ends."""
    assert GUNICORN.exists(), f"no gunicorn beside {sys.executable}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = log_folder / f"gunicorn-{port}.log"
    environment = {k: v for k, v in os.environ.items() if k not in APP_ENV}
    environment.update({
        "DATABASE_URL": database_url,
        "SECRET_KEY": "server-test-secret",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mailbox.port),
        "SMTP_STARTTLS": "0",
        "BASE_URL": url,
        "PYTHONUNBUFFERED": "1",
    })
    environment.update(env or {})
    command = [str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    if threads > 1:
        command += ["--threads", str(threads)]
    command += [*extra_args, "--access-logfile", "-", "--access-logformat", 'pid=%(p)s "%(r)s" %(s)s',
                "--graceful-timeout", "5",
                # Gunicorn 27 opens a control socket in ~/.gunicorn/ by default:
                # two servers at once (or a developer's `make run`) would share it.
                "--no-control-socket", "wsgi:app"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        _wait_until_it_answers(process, port, log)
        yield Server(process, url, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # its own session: gunicorn and its workers
                process.wait(timeout=5)


@pytest.fixture(scope="module")
def server(app, database_url, mailbox, tmp_path_factory):
    """As `make run` serves it without REDIS_URL: one worker, eight threads."""
    with gunicorn(database_url, mailbox, tmp_path_factory.mktemp("gunicorn")) as running:
        yield running


# --- a browser made of the standard library -----------------------------------------

class _KeepEveryResponse(urllib.request.HTTPErrorProcessor):
    """Hand back 3xx, 4xx and 5xx answers as they are: the test follows
    redirects itself, to see each step."""

    def http_response(self, request, response):
        return response

    https_response = http_response


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._button: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                               "fields": {}, "buttons": []})
        elif self.forms and tag in ("input", "select", "textarea") and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")
        elif self.forms and tag == "button":
            self._button = []

    def handle_data(self, data):
        if self._button is not None:
            self._button.append(data)

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None:
            self.forms[-1]["buttons"].append(" ".join("".join(self._button).split()))
            self._button = None


class Page:
    def __init__(self, url: str, status: int, headers, raw: bytes):
        self.url, self.status, self.headers, self.raw = url, status, headers, raw
        encoding = headers.get("Content-Encoding", "identity")
        if encoding == "br":
            body = brotli.decompress(raw)
        elif encoding == "gzip":
            body = gzip.decompress(raw)
        else:
            assert encoding == "identity", encoding
            body = raw
        self.html = body.decode("utf-8")
        self.text = html.unescape(self.html)

    @property
    def location(self) -> str:
        """The path a redirect points to."""
        return urllib.parse.urlsplit(urllib.parse.urljoin(self.url, self.headers["Location"])).path

    def form(self, action: str | None = None, button: str | None = None) -> dict:
        """The form that posts to `action`, or the one with a button that says `button`."""
        parser = _Forms()
        parser.feed(self.html)
        for form in parser.forms:
            target = urllib.parse.urljoin(self.url, html.unescape(form["action"]))
            if action is not None and urllib.parse.urlsplit(target).path != action:
                continue
            if button is not None and button not in form["buttons"]:
                continue
            return dict(form, url=target)
        raise AssertionError(f"no form for action={action!r} button={button!r} on {self.url}:\n{self.text}")


class Browser:
    """Cookies kept, one fresh connection per request (urllib never reuses one)."""

    def __init__(self, base_url: str):
        self.base = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies),
                                                  _KeepEveryResponse())

    def request(self, url: str, data: dict | None = None, headers: dict | None = None) -> Page:
        url = urllib.parse.urljoin(self.base, url)
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers=headers or {})
        with self.opener.open(request, timeout=60) as response:
            return Page(url, response.status, response.headers, response.read())

    def get(self, url: str, headers: dict | None = None) -> Page:
        return self.request(url, headers=headers)

    def follow(self, page: Page) -> Page:
        assert page.status in (301, 302, 303), f"{page.url} answered {page.status}, not a redirect"
        return self.get(urllib.parse.urljoin(page.url, page.headers["Location"]))

    def submit(self, form: dict, **values) -> Page:
        """Fill in a form as a person would (hidden fields, CSRF token included) and send it."""
        assert form["method"] == "post", form
        return self.request(form["url"], dict(form["fields"], **values))


# --- a person's walk through the real server ------------------------------------------

def test_a_person_joins_confirms_and_signs_in(server, mailbox):
    browser = Browser(server.url)

    page = browser.get("/auth/register")
    assert page.status == 200
    form = page.form(action="/auth/register")
    assert form["fields"].get("csrf_token"), "the form carries no CSRF token"
    # time_zone is a hidden field the page's script fills from the browser.
    response = browser.submit(form, display_name="Ada", email="ada@example.org", password=PASSWORD,
                              time_zone="Europe/Berlin")
    assert response.status == 303, response.text
    assert response.location == "/auth/check-email"
    assert "We sent a message to ada@example.org" in browser.follow(response).text

    mail = mailbox.last("ada@example.org").get_content()
    assert f"{server.url}/auth/verify/" in mail, f"the link is not built on BASE_URL:\n{mail}"
    link = mailbox.last_link("ada@example.org", "/auth/verify/")
    page = browser.get(link)
    assert page.status == 200
    response = browser.submit(page.form(button="Confirm my email address"))
    assert response.status == 303, response.text
    assert response.location == "/auth/login"
    page = browser.follow(response)
    assert "Thank you: your email address is confirmed." in page.text

    response = browser.submit(page.form(action="/auth/login"), email="ada@example.org", password=PASSWORD)
    assert response.status == 303, response.text
    assert response.location == "/"

    home = browser.get("/", headers={"Accept-Encoding": "br, gzip"})
    assert home.status == 200
    assert home.headers.get("Content-Encoding") == "br", dict(home.headers)  # brotli first when both will do
    assert "Accept-Encoding" in home.headers.get("Vary", "")
    assert "Hello, Ada" in home.text and "One step left" not in home.text
    assert home.headers["Cache-Control"] == "no-store"
    assert "nonce-" in home.headers["Content-Security-Policy"]

    response = browser.submit(home.form(button="Sign out"))
    assert response.status == 303
    assert "Hello, Ada" not in browser.get("/").text
    signed_out = browser.get("/auth/account")
    assert signed_out.status == 303 and signed_out.location == "/auth/login"


def test_pages_and_files_are_compressed(server):
    browser = Browser(server.url)
    plain = browser.get("/auth/login")
    assert "Content-Encoding" not in plain.headers
    for accept, expected in [("br, gzip", "br"), ("gzip", "gzip"), ("br", "br")]:
        page = browser.get("/auth/login", headers={"Accept-Encoding": accept})
        assert page.status == 200
        assert page.headers.get("Content-Encoding") == expected, (accept, dict(page.headers))
        assert len(page.raw) < len(plain.raw)
        assert "<h1>Sign in</h1>" in page.html
    css = browser.get("/static/app.css", headers={"Accept-Encoding": "br, gzip"})
    assert css.status == 200 and css.headers.get("Content-Encoding") == "br"


# --- rate limits shared by every worker through Redis ---------------------------------

@pytest.fixture
def redis_db():
    """Redis database 15, empty before and after; skipped (failed on CI) without Redis.

    Test runs side by side on one machine share that database: a file lock
    makes them take turns, so one run's flush never lands in another's count.
    """
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        _skip_or_fail(f"Redis is not reachable at {REDIS_URL}: {error}")
    with open(Path(tempfile.gettempdir()) / "communitarium-tests-redis-15.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        client.flushdb()
        try:
            yield client
        finally:
            client.flushdb()
            client.close()
            fcntl.flock(lock, fcntl.LOCK_UN)


def test_login_limit_holds_across_workers(app, database_url, mailbox, redis_db, tmp_path):
    """Six sign-in tries for one address, each served by a different worker
    process: only a count kept in Redis can refuse the sixth.

    `--max-requests 1` makes each worker serve one request and be replaced by
    a fresh process, so no request can reach a worker that counted an earlier
    one: with counters kept in the worker's memory, the sixth would pass.
    """
    env = {"REDIS_URL": REDIS_URL, "LIMIT_LOGIN_PER_EMAIL": "5 per hour"}
    with gunicorn(database_url, mailbox, tmp_path, workers=2, threads=1, env=env,
                  extra_args=("--max-requests", "1")) as server:
        browser = Browser(server.url)
        form = browser.get("/auth/login").form(action="/auth/login")
        email = f"ada-{uuid.uuid4().hex[:8]}@example.org"
        # Accounts with the tests' cheap hash: a wrong password is then told
        # in milliseconds, where an unknown address costs each fresh worker a
        # full argon2 hash (its dummy) at the real cost.
        add_user(app, email=email, name="Ada")
        add_user(app, email="bruno-" + email, name="Bruno")
        statuses = []
        for _ in range(6):
            # A fresh connection each time (urllib opens one per request).
            page = browser.submit(form, email=email, password="not the password")
            statuses.append(page.status)
        assert statuses == [422] * 5 + [429], statuses
        assert "Let's slow down a little" in page.text
        # The limit is Ada's address, not the client: another address still gets in line.
        assert browser.submit(form, email="bruno-" + email, password="not the password").status == 422

        workers = server.pids_serving("POST /auth/login", 7)
        assert len(workers) == 7, server.log_text()[-3000:]
        assert len(set(workers[:6])) == 6, f"a worker served two of the six tries: {workers}"
        assert redis_db.dbsize() > 0, "the limiter kept nothing in Redis"
