"""`make crash`: acknowledged writes and mail survive SIGKILLed servers.

For each database (a fresh SQLite file in WAL mode, then a fresh PostgreSQL
database): the schema by the migrations, a circle with MEMBERS members and a
few gatherings of two to four seats (guests allowed, so parties differ), each
with a slot or two; an SMTP sink (aiosmtpd, answering each mail after
SMTP_DELAY seconds, as a real server takes a moment) as SMTP_HOST; gunicorn
with 2 x cores + 1 sync workers, as `make run` starts them.

Every member signs in through the real sign-in form. Then WRITERS threads, each
driving its own members one request at a time as a browser would, fetch a
gathering's page (its CSRF token, the slots it offers) and post one of its
forms: "I'm coming" (alone or with a guest), "Can't come", take or
give back a slot place, now and then post a new gathering and add a slot to it.
Small capacities make waitlists, and every seat given up goes to the first in
line, with an "a seat for you" mail. Each post is written in a ledger with what
the client was told: acknowledged (303 to the right page), refused (422, or a
flash saying the slot was full: nothing written), never sent (connection
refused: the server was down) or cut off (no answer: the worker died, so it may
or may not have been written).

Meanwhile a killer SIGKILLs a gunicorn worker every KILL_PAUSE seconds (one that
has already answered, so it is serving, not booting), and now and then
(MASTER_SHARE) the master with all its workers at once, as when the machine's
supervisor kills the whole service; gunicorn is then started again on the same
port and database. It stops after KILLS kills or MAX_SECONDS. Only processes
this script started are killed, found by their ids (a worker's parent is our
master; after a master is killed, its orphans are the processes bound to our
port).

At the end gunicorn is stopped, `flask mail send` runs as cron would, and then
``deliver_pending`` again with the clock moved past any lease a killed worker
left, until nothing is due. The checks:

- every acknowledged write is in the database: for each person and thing
  (an answer, a slot place, a gathering, a slot) the database holds what the
  last acknowledged post said, or what a later cut-off post said; and nothing
  that no post asked for;
- the seat invariants for every gathering (seats taken = the parties seated;
  never above capacity + extra seats; nobody waits whose party fits in the
  free seats), and every slot's counter equals its takers;
- no notice is lost: every outbox row is sent (none unsent, none given up),
  every "a seat for you" change has its mail in the outbox, and every outbox
  mail reached the sink (matched by Message-ID, fixed per row; a duplicate is
  allowed: delivery is at least once);
- SQLite: PRAGMA integrity_check is "ok" and foreign_key_check finds nothing;
  PostgreSQL: amcheck's bt_index_check passes on every index.

Writes docs/reliability.md and, in bench/results/crash-<time>/, the figures as
JSON and gunicorn's logs. Exits 1 if any check fails. Settings from the
environment: CRASH_DATABASES (sqlite,postgresql), CRASH_KILLS (110 per
database), CRASH_MAX_SECONDS (600 per database), CRASH_SEED (random),
BENCH_POSTGRES_URL (the server a crash_<random> database is made on and dropped).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import html
import http.client
import json
import logging
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from tests.concurrency import CSRF_PATTERNS, sign_in
from tests.helpers import MailBox

from . import common
from .common import ROOT, Gunicorn, log

DOC = ROOT / "docs" / "reliability.md"
DATABASES = [d.strip() for d in os.environ.get("CRASH_DATABASES", "sqlite,postgresql").split(",") if d.strip()]
KILLS = int(os.environ.get("CRASH_KILLS", "110"))  # per database, workers and masters together
CONTROL_KILLS = int(os.environ.get("CRASH_CONTROL_KILLS", "30"))  # the negative control's, on SQLite (0: none)
MAX_SECONDS = float(os.environ.get("CRASH_MAX_SECONDS", "600"))  # per database, for the killing
SEED = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(1_000_000))
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

WORKERS = 2 * common.cores() + 1  # as `make run` starts them (with Redis)
MEMBERS = 24
WRITERS = 8  # threads; each drives MEMBERS / WRITERS members, one request at a time
KILL_PAUSE = (0.3, 1.5)  # seconds between kills, uniformly
MASTER_SHARE = 0.06  # of the kills, the whole server (master and workers)
MAX_MASTER_KILLS = 8  # per database (each restart boots every worker: slow)
MAX_POSTS = 16  # gatherings posted through the form, per database
ACTIVE = 6  # the writers answer the newest ACTIVE gatherings: few, so they meet
SMTP_DELAY = 0.05  # seconds the sink takes to accept a mail
REQUEST_TIMEOUT = 45  # longer than gunicorn's worker timeout (30 s): a timed-out request's worker is dead
PASSWORD = "a crash test password"
SECRET = "crash-test-secret"
SLUG = "crash-street"
ZONE = "Europe/Berlin"
# An access log with each worker's pid: a worker that has answered has booted.
# No control socket: it lives at one path per user, shared with every other gunicorn of ours.
GUNICORN_ARGS = ("--timeout 30 --no-control-socket --access-logfile - "
                 "--access-logformat 'pid=%(p)s \"%(r)s\" %(s)s %(L)s'")

ABSENT = ("absent",)
EXISTS = ("exists",)
TAKEN = ("taken",)


def email_of(n: int) -> str:
    return f"member{n:02d}@crash.example.org"


def name_of(n: int) -> str:
    return f"Member {n:02d}"


# -- the ledger: what each client was told -------------------------------------------

@dataclass
class Event:
    seconds: float  # since the start of the loop
    action: str
    outcome: str  # acknowledged, refused, not sent, cut off
    detail: str
    state: tuple  # what the post asked for
    before: frozenset  # the states the database could hold before it


class Ledger:
    """For each thing a post writes (a key), the states the database may hold
    at the end: the state of the last acknowledged post, and of every post
    after it whose answer was cut off. A refused post, or one never sent,
    changes nothing."""

    def __init__(self):
        self._lock = threading.Lock()
        self.possible: dict[tuple, set[tuple]] = {}
        self.history: dict[tuple, list[Event]] = collections.defaultdict(list)
        self.start = time.monotonic()

    def note(self, key: tuple, state: tuple, outcome: str, action: str, detail: str = "") -> None:
        with self._lock:
            states = self.possible.setdefault(key, {ABSENT})
            self.history[key].append(Event(round(time.monotonic() - self.start, 2), action, outcome, detail,
                                           state, frozenset(states)))
            if outcome == "acknowledged":
                self.possible[key] = {state}
            elif outcome == "cut off":
                states.add(state)

    def known(self, key: tuple, state: tuple) -> None:
        """A state set up before the loop (the gatherings and slots of the start)."""
        with self._lock:
            self.possible[key] = {state}


@dataclass
class Tally:
    """What the clients saw, per database."""
    gets: int = 0
    posts: int = 0
    acknowledged: int = 0
    refused: int = 0
    not_sent: int = 0
    cut_off: int = 0
    cut_off_gets: int = 0
    timed_out: int = 0  # of the cut-off posts, those the client gave up waiting for (REQUEST_TIMEOUT)
    server_errors: int = 0  # 5xx to a post (counted as cut off: the outcome is unknown)
    server_errors_gets: int = 0  # 5xx to a page
    unexpected: list[str] = field(default_factory=list)  # any other answer, or a 303 elsewhere
    by_action: dict[str, dict[str, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, action: str, outcome: str) -> None:
        with self._lock:
            self.posts += 1
            attribute = outcome.replace(" ", "_")
            setattr(self, attribute, getattr(self, attribute) + 1)
            self.by_action.setdefault(action, collections.Counter())[outcome] += 1

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def strange(self, text: str) -> None:
        with self._lock:
            if len(self.unexpected) < 200:
                self.unexpected.append(text)

    def figures(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}


# -- the SMTP sink ------------------------------------------------------------------

def mail_sink():
    """A real SMTP server (tests/helpers.py's MailBox) that takes SMTP_DELAY
    seconds before it accepts each mail, as a real one does: the window in
    which a killed worker has handed a mail over but not yet marked it sent."""
    class SlowMailBox(MailBox):
        async def handle_DATA(self, server, session, envelope):
            await asyncio.sleep(SMTP_DELAY)
            return await super().handle_DATA(server, session, envelope)

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's log of every command
    return SlowMailBox()


# -- the server, started again after a crash -------------------------------------------

class Server:
    """gunicorn on one port and one database; killed and started again there."""

    def __init__(self, env: dict, folder: Path, app_module: str):
        self.env = env | {"GUNICORN_CMD_ARGS": GUNICORN_ARGS}
        self.folder, self.app_module = folder, app_module
        self.port = common.free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.starts = 0
        self.current: Gunicorn | None = None
        self._log_offset = 0
        self._answered: set[int] = set()
        self.start()

    def start(self) -> None:
        self.starts += 1
        self._log_offset, self._answered = 0, set()
        self.current = Gunicorn(self.app_module, self.env | {"BASE_URL": self.base_url},
                                self.folder / f"gunicorn-{self.starts}.log", WORKERS,
                                ready_path="/auth/login", port=self.port)

    @property
    def master(self) -> int:
        return self.current.process.pid

    def workers(self) -> list[int]:
        try:
            return [int(p) for p in Path(f"/proc/{self.master}/task/{self.master}/children").read_text().split()]
        except FileNotFoundError:
            return []

    def serving_workers(self) -> list[int]:
        """Workers alive that have answered a request (booted, serving)."""
        with self.current.log_path.open("rb") as f:
            f.seek(self._log_offset)
            data = f.read()
        complete = data.rfind(b"\n") + 1  # whole lines only
        self._log_offset += complete
        self._answered |= {int(p) for p in re.findall(rb'^pid=<?(\d+)>? "', data[:complete], re.MULTILINE)}
        return [p for p in self.workers() if p in self._answered]

    def orphans(self) -> list[int]:
        """Our gunicorn's processes left after the master died (its workers):
        those started with our exact bind argument."""
        bind = f"gunicorn\0--bind\0127.0.0.1:{self.port}\0".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    if bind in (entry / "cmdline").read_bytes() and _alive(int(entry.name)):
                        found.append(int(entry.name))
                except (FileNotFoundError, ProcessLookupError, PermissionError):
                    continue
        return found

    def kill_worker(self, pid: int) -> bool:
        try:
            os.kill(pid, signal.SIGKILL)
            return True
        except ProcessLookupError:
            return False

    def kill_all(self) -> int:
        """SIGKILL the master, then every worker it had; returns how many workers died with it."""
        workers = self.workers()
        os.kill(self.master, signal.SIGKILL)
        self.current.process.wait()
        killed = set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = [p for p in sorted(set(workers) | set(self.orphans())) if _alive(p)]
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        return len(killed)

    def stop(self) -> None:
        self.current.stop()
        for pid in self.orphans():  # nothing should be left; never leave a stray worker behind
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


# -- setting up ------------------------------------------------------------------------

@dataclass
class Site:
    gatherings: list[tuple[int, str]]  # (id, title), oldest first; the writers answer the newest ACTIVE
    lock: threading.Lock = field(default_factory=threading.Lock)
    posts: int = 0

    def pick(self, rng: random.Random) -> tuple[int, str]:
        with self.lock:
            return rng.choice(self.gatherings[-ACTIVE:])

    def add(self, gathering_id: int, title: str) -> None:
        with self.lock:
            self.gatherings.append((gathering_id, title))

    def may_post(self) -> bool:
        with self.lock:
            if self.posts >= MAX_POSTS:
                return False
            self.posts += 1
            return True


def when(days: int) -> dt.datetime:
    return (dt.datetime.now() + dt.timedelta(days=days)).replace(hour=18, minute=0, second=0, microsecond=0)


def migrate(env: dict, log_path: Path) -> None:
    with log_path.open("a") as out:
        done = subprocess.run([common.PYTHON, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env, stdout=out,
                              stderr=subprocess.STDOUT, check=False)
    if done.returncode:
        raise SystemExit(f"`flask db upgrade` failed; see {log_path}")


def build_app(database_url: str, mail_port: int):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET,
                       "RATELIMIT_STORAGE_URI": "memory://", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": mail_port,
                       "SMTP_STARTTLS": False})


def set_up(app, ledger: Ledger) -> Site:
    """A host, MEMBERS members with one password (hashed as the server checks
    it), a circle, and four gatherings of 2 to 4 seats, each with slots. The
    host takes back the seat a gathering gives its host, so all seats are free."""
    from app.auth import passwords
    from app.auth.models import User
    from app.circles import domain as circles
    from app.circles.models import Membership
    from app.database import utcnow, write_unit
    from app.extensions import db
    from app.gatherings import domain, seats, slots
    from app.gatherings.models import Gathering

    gatherings = []
    with app.test_request_context():
        password_hash = passwords.hash_password(PASSWORD)
        host = User(email="host@crash.example.org", display_name="Host", password_hash=password_hash,
                    email_verified_at=utcnow(), time_zone=ZONE)
        db.session.add(host)
        db.session.flush()
        circle = circles.create_circle(host, name="Crash Street", slug=SLUG, time_zone=ZONE)
        for n in range(MEMBERS):
            user = User(email=email_of(n), display_name=name_of(n), password_hash=password_hash,
                        email_verified_at=utcnow(), time_zone=ZONE)
            db.session.add(user)
            db.session.flush()
            db.session.add(Membership(circle_id=circle.id, user_id=user.id, role="member"))
        db.session.commit()
        for n, (capacity, needs) in enumerate([(2, (1, 2)), (3, (2,)), (3, (1, 3)), (4, (2,))]):
            title = f"Start {n + 1}"
            gathering = domain.create_gathering(circle, host, title=title, starts_local=when(n + 2),
                                                ends_local=when(n + 2) + dt.timedelta(hours=2),
                                                capacity=capacity, max_guests=1)
            db.session.commit()
            gathering_id = gathering.id
            with write_unit():
                seats.withdraw(gathering_id, host)
                for k, needed in enumerate(needs):
                    slots.add_slot(db.session.get(Gathering, gathering_id), f"Hands {k + 1}", needed)
                    ledger.known(("slot", title, f"Hands {k + 1}"), EXISTS)
            ledger.known(("gathering", title), EXISTS)
            gatherings.append((gathering_id, title))
        db.session.remove()
    return Site(gatherings)


# -- the writers -------------------------------------------------------------------------

SLOT_FORM = re.compile(r'action="(/c/[^"]+/gatherings/\d+/slots/(\d+)/(take|leave))"')
POSTED = re.compile(r"/c/" + SLUG + r"/gatherings/(\d+)$")


class Member:
    """One person signed in through the form, with their own cookies (tests/concurrency.py's Client)."""

    def __init__(self, base_url: str, n: int):
        self.n, self.email = n, email_of(n)
        self.client = sign_in(base_url, self.email, PASSWORD, name=self.email)
        self.client.connection.timeout = REQUEST_TIMEOUT


class Writer:
    """One thread's loop: its members fetch a page and post one of its forms."""

    def __init__(self, index: int, members: list[Member], site: Site, ledger: Ledger, tally: Tally,
                 serializer, stop: threading.Event, database: str):
        self.index, self.members, self.site, self.ledger, self.tally = index, members, site, ledger, tally
        self.serializer, self.stop, self.database = serializer, stop, database
        self.rng = random.Random(SEED * 100 + index)
        self.posted = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.step(self.rng.choice(self.members))
            except Exception as error:  # noqa: BLE001 - a bug in the loop is reported, not hidden
                self.tally.strange(f"writer {self.index}: {type(error).__name__}: {error}")
                time.sleep(0.5)

    def fetch(self, member: Member, path: str):
        """GET a page as a browser does (it also shows and clears any flash
        message); None if no page came back."""
        self.tally.add("gets")
        try:
            reply = member.client.get(path)
        except ConnectionRefusedError:
            time.sleep(0.2)  # the server is down, being started again
            return None
        except (OSError, http.client.HTTPException):
            self.tally.add("cut_off_gets")
            return None
        if reply.status >= 500:
            self.tally.add("server_errors_gets")
            return None
        if reply.status != 200:
            self.tally.strange(f"{member.email}: GET {path} gave {reply.status} {reply.location}")
            return None
        token = next((m for m in (p.search(reply.body) for p in CSRF_PATTERNS) if m), None)
        if token is None:
            self.tally.strange(f"{member.email}: no CSRF token on {path}")
            return None
        member.client.csrf = html.unescape(token.group(1))
        return reply

    def flashes(self, member: Member) -> list[str]:
        """The flash messages in the member's session cookie: what the page will tell them."""
        cookie = member.client.cookies.get("session")
        if not cookie:
            return []
        return [message for _category, message in self.serializer.loads(cookie).get("_flashes", [])]

    def post(self, member: Member, action: str, path: str, form: dict, expect: re.Pattern | str,
             refusal: str | None = None):
        """Post a form; returns the outcome, the reply (None when no answer came)
        and the flash messages it added. A 303 whose flash message contains
        ``refusal`` ("" for any) is a refusal: the rules said no, nothing written."""
        before = len(self.flashes(member))
        try:
            reply = member.client.post(path, form)
        except ConnectionRefusedError:
            self.tally.count(action, "not sent")
            time.sleep(0.2)
            return "not sent", None, []
        except TimeoutError:
            self.tally.add("timed_out")
            self.tally.count(action, "cut off")
            return "cut off", None, []
        except (OSError, http.client.HTTPException):
            self.tally.count(action, "cut off")
            return "cut off", None, []
        new_flashes = self.flashes(member)[before:]
        if reply.status == 303:
            matched = expect.search(reply.location) if isinstance(expect, re.Pattern) else (
                reply.location.endswith(expect))
            if matched and refusal is not None and any(refusal in f for f in new_flashes):
                self.tally.count(action, "refused")
                return "refused", reply, new_flashes
            if matched:
                self.tally.count(action, "acknowledged")
                return "acknowledged", reply, new_flashes
            self.tally.strange(f"{member.email}: {action} {path} redirected to {reply.location}")
        elif reply.status == 422:
            self.tally.count(action, "refused")
            return "refused", reply, new_flashes
        elif reply.status >= 500:
            self.tally.add("server_errors")
        else:
            self.tally.strange(f"{member.email}: {action} {path} gave {reply.status}")
        # A 5xx or anything unexpected: whether it was written is unknown.
        self.tally.count(action, "cut off")
        return "cut off", reply, new_flashes

    def step(self, member: Member) -> None:
        gathering_id, title = self.site.pick(self.rng)
        page = f"/c/{SLUG}/gatherings/{gathering_id}"
        reply = self.fetch(member, page)
        if reply is None:
            return
        offered = SLOT_FORM.findall(reply.body)
        roll = self.rng.random()
        if roll < 0.03 and self.site.may_post():
            self.post_gathering(member)
        elif roll < 0.33 and offered:
            path, slot_id, verb = self.rng.choice(offered)
            key = ("taker", member.email, int(slot_id))
            outcome, _, _ = self.post(member, f"slot {verb}", path, {}, page,
                                      refusal="already full" if verb == "take" else None)
            self.ledger.note(key, TAKEN if verb == "take" else ABSENT, outcome, f"slot {verb}", title)
        else:
            # Someone with a seat is likelier to give it up (and the first in line gets it, with a mail).
            cant = 0.65 if "You are coming." in reply.body else 0.40
            choice = self.rng.random()
            key = ("answer", member.email, title)
            if choice < cant:
                outcome, _, _ = self.post(member, "can't come", page + "/answer",
                                          {"response": "cant", "guests": "0", "message": ""}, page)
                self.ledger.note(key, ("cant", 0), outcome, "can't come", "")
            else:
                guests = 1 if self.rng.random() < 0.3 else 0
                outcome, _, _ = self.post(member, "going", page + "/answer",
                                          {"response": "going", "guests": str(guests), "message": ""}, page)
                self.ledger.note(key, ("going", guests), outcome, f"going with {guests} guest(s)", "")

    def post_gathering(self, member: Member) -> None:
        """Post a new gathering through the form, then add a slot to it (as its host)."""
        if self.fetch(member, f"/c/{SLUG}/gatherings/new") is None:
            return
        self.posted += 1
        title = f"Posted {self.database} {self.index}-{self.posted}"
        capacity = self.rng.choice([2, 3, 4])
        days = self.rng.randint(2, 20)
        form = {"title": title, "description": "", "starts_local": when(days).strftime("%Y-%m-%dT%H:%M"),
                "ends_local": (when(days) + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
                "time_zone": ZONE, "place": "", "online_url": "", "capacity": str(capacity), "max_guests": "1",
                "status": "confirmed", "repeat": "", "interval": "1", "setpos": "1", "until": ""}
        outcome, reply, _ = self.post(member, "post a gathering", f"/c/{SLUG}/gatherings/new", form, POSTED)
        self.ledger.note(("gathering", title), EXISTS, outcome, "post a gathering", f"capacity {capacity}")
        # Its host is going, with a seat, in the same write.
        self.ledger.note(("answer", member.email, title), ("going", 0), outcome, "post a gathering (host)", "")
        if outcome != "acknowledged":
            return  # its id is unknown: nobody answers it (the checks still find it, by its title)
        gathering_id = int(POSTED.search(reply.location).group(1))
        page = f"/c/{SLUG}/gatherings/{gathering_id}"
        needed = self.rng.choice([1, 2])
        # Hosts add slots from the manage page, and go back there.
        outcome, _, _ = self.post(member, "add a slot", page + "/slots", {"title": "Chairs", "needed": str(needed)},
                                  page + "/manage", refusal="")
        self.ledger.note(("slot", title, "Chairs"), EXISTS, outcome, "add a slot", f"{needed} needed")
        self.site.add(gathering_id, title)


# -- the killer --------------------------------------------------------------------------

@dataclass
class Kills:
    workers: int = 0  # single workers SIGKILLed
    masters: int = 0  # whole servers: the master SIGKILLed, then its workers
    workers_with_masters: int = 0
    restarts_seconds: list[float] = field(default_factory=list)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.workers + self.masters


def killer(server: Server, kills: Kills, target: int, rng: random.Random) -> None:
    start = time.monotonic()
    while kills.total < target and time.monotonic() - start < MAX_SECONDS:
        time.sleep(rng.uniform(*KILL_PAUSE))
        if kills.masters < MAX_MASTER_KILLS and rng.random() < MASTER_SHARE:
            kills.workers_with_masters += server.kill_all()
            kills.masters += 1
            began = time.monotonic()
            try:
                server.start()
            except SystemExit as error:  # gunicorn did not come back: a finding, reported
                kills.problems.append(f"gunicorn did not start again: {error}")
                break
            kills.restarts_seconds.append(round(time.monotonic() - began, 2))
            continue
        serving = server.serving_workers()
        if serving and server.kill_worker(rng.choice(serving)):
            kills.workers += 1
    kills.seconds = round(time.monotonic() - start, 1)


# -- after the crashes: the last mail, then the checks -------------------------------------

def send_remaining(env: dict, app, folder: Path) -> dict:
    """`flask mail send` as cron runs it; then deliver_pending with the clock
    moved past whatever still holds it back (a lease of a killed worker, a
    retry's wait), until nothing is left to send."""
    import time_machine
    from sqlalchemy import func, select

    from app.database import utcnow
    from app.extensions import db
    from app.mail import OutboxMail, deliver_pending

    figures = {}
    with app.app_context():
        waiting = select(func.count()).select_from(OutboxMail).where(OutboxMail.sent_at.is_(None),
                                                                     OutboxMail.given_up_at.is_(None))
        figures["unsent_after_the_run"] = db.session.scalar(waiting)
        figures["leased_after_the_run"] = db.session.scalar(waiting.where(OutboxMail.claimed_until.is_not(None)))
        db.session.remove()
    done = subprocess.run([common.PYTHON, "-m", "flask", "mail", "send"], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    (folder / "flask-mail-send.log").write_text(done.stdout + done.stderr)
    found = re.search(r"sent (\d+) mail", done.stdout)
    figures["sent_by_flask_mail_send"] = int(found.group(1)) if found else None
    figures["flask_mail_send_exit"] = done.returncode
    figures["sent_after_moving_the_clock"] = 0
    with app.app_context():
        for _ in range(20):
            rows = db.session.execute(select(OutboxMail.claimed_until, OutboxMail.next_attempt_at).where(
                OutboxMail.sent_at.is_(None), OutboxMail.given_up_at.is_(None))).all()
            db.session.commit()
            if not rows:
                break
            due = max([utcnow()] + [t for row in rows for t in row if t is not None]) + dt.timedelta(seconds=1)
            with time_machine.travel(due, tick=True):
                figures["sent_after_moving_the_clock"] += deliver_pending(limit=1000)
        db.session.remove()
    return figures


def database_state(app) -> dict:
    """What the checks read, in plain values."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.extensions import db
    from app.gatherings.models import Answer, Change, Gathering, Slot, SlotTaker
    from app.mail import OutboxMail

    with app.app_context():
        emails = dict(db.session.execute(select(User.id, User.email)).all())
        names = dict(db.session.execute(select(User.display_name, User.email)).all())
        gatherings = {g.id: g for g in db.session.scalars(select(Gathering))}
        state = {
            "gatherings": [{"id": g.id, "title": g.title, "capacity": g.capacity, "extra_seats": g.extra_seats,
                            "seats_taken": g.seats_taken} for g in gatherings.values()],
            "answers": [{"gathering": gatherings[a.gathering_id].title, "email": emails.get(a.user_id),
                         "response": a.response, "state": a.state, "guests": a.guests,
                         "gathering_id": a.gathering_id}
                        for a in db.session.scalars(select(Answer))],
            "slots": [{"id": s.id, "gathering": gatherings[s.gathering_id].title, "title": s.title,
                       "needed": s.needed, "taken": s.taken} for s in db.session.scalars(select(Slot))],
            "takers": [(t.slot_id, emails[t.user_id]) for t in db.session.scalars(select(SlotTaker))],
            "seat_changes": [(gatherings[c.gathering_id].title, names.get(c.details.get("who")))
                             for c in db.session.scalars(select(Change).where(Change.kind == "seat"))],
            "outbox": [{"id": m.id, "to": m.to_address, "subject": m.subject, "message_id": m.message_id,
                        "sent": m.sent_at is not None, "given_up": m.given_up_at is not None,
                        "attempts": m.attempts, "last_error": m.last_error}
                       for m in db.session.scalars(select(OutboxMail))],
        }
        db.session.remove()
    return state


def integrity(database_url: str, kind: str) -> str:
    """SQLite's own checks of the file; on PostgreSQL, amcheck on every index."""
    if kind == "sqlite":
        path = database_url.removeprefix("sqlite:///")
        connection = sqlite3.connect(path)
        try:
            result = [r[0] for r in connection.execute("PRAGMA integrity_check")]
            foreign = connection.execute("PRAGMA foreign_key_check").fetchall()
        finally:
            connection.close()
        verdict = "ok" if result == ["ok"] else "; ".join(result[:5])
        return verdict + ("" if not foreign else f"; {len(foreign)} rows fail foreign_key_check")
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                         dbname=url.database, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        indexes = connection.execute(
            "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE a.amname = 'btree' AND n.nspname = 'public'").fetchall()
        for (index,) in indexes:
            connection.execute("SELECT bt_index_check(%s::regclass, true)", (index,))
    return f"ok (amcheck: {len(indexes)} indexes)"


EXCEPTION_LINE = re.compile(r"^([\w.]+(?:Error|Exception|Failure|Exit)\b.*)$", re.MULTILINE)
APP_FRAME = re.compile(r'File "[^"]*/app/([\w/]+\.py)", line (\d+)')
NEXT_ENTRY = re.compile(r"^(?:pid=|\[\d{4}-|INFO:|ERROR:|WARNING:)", re.MULTILINE)


def logged(folder: Path) -> dict:
    """What gunicorn's logs say went wrong inside the app: each error with the
    exception that caused it (its first exception line)."""
    found: dict[str, collections.Counter] = {"outbox": collections.Counter(), "unhandled": collections.Counter()}
    timeouts = 0
    for path in sorted(folder.glob("gunicorn-*.log")):
        text = path.read_text(errors="replace")
        timeouts += text.count("WORKER TIMEOUT")
        for marker, name in (("ERROR:app.mail:delivering the outbox failed", "outbox"),
                             ("ERROR:app:unhandled error", "unhandled")):
            for block in text.split(marker)[1:]:
                block = NEXT_ENTRY.split(block, 1)[0]  # this traceback only
                cause = EXCEPTION_LINE.search(block)
                where = APP_FRAME.findall(block)
                found[name][(cause.group(1)[:120] if cause else "unknown")
                            + (f" at app/{where[-1][0]}:{where[-1][1]}" if where else "")] += 1
    return {"outbox_delivery_failed": dict(found["outbox"]), "unhandled_errors": dict(found["unhandled"]),
            "worker_timeouts": timeouts}


def describe(state: tuple) -> str:
    return {ABSENT: "nothing", EXISTS: "there", TAKEN: "a place taken"}.get(state, " ".join(map(str, state)))


def check(ledger: Ledger, state: dict, sink_ids: list[str]) -> tuple[dict, dict]:
    """Every check of the module's notes; returns figures and failures, and
    what the database holds for each thing."""
    failures: list[str] = []
    actual: dict[tuple, tuple] = {}
    slot_titles = {s["id"]: (s["gathering"], s["title"]) for s in state["slots"]}
    for g in state["gatherings"]:
        actual[("gathering", g["title"])] = EXISTS
    for s in state["slots"]:
        actual[("slot", s["gathering"], s["title"])] = EXISTS
    for a in state["answers"]:
        if a["response"] == "going" and a["state"] in ("seated", "waiting"):
            value = ("going", a["guests"])
        elif a["response"] == "cant" and a["state"] == "none" and a["guests"] == 0:
            value = ("cant", 0)
        else:
            value = (a["response"], a["state"], a["guests"])
        actual[("answer", a["email"], a["gathering"])] = value
    for slot_id, email in state["takers"]:
        actual[("taker", email, slot_id)] = TAKEN

    lost, phantom = [], []
    for key in sorted(set(ledger.possible) | set(actual), key=str):
        possible = ledger.possible.get(key, {ABSENT})
        found = actual.get(key, ABSENT)
        if found in possible:
            continue
        history = ledger.history.get(key, [])
        told = [e for e in history if e.outcome == "acknowledged"]
        line = (f"{key}: the database holds {describe(found)}, the clients allow "
                f"{' or '.join(sorted(describe(s) for s in possible))}; "
                + (f"slot {slot_titles.get(key[2])}; " if key[0] == "taker" else "")
                + "history: " + ", ".join(f"{e.seconds}s {e.action} {e.outcome}" for e in history[-6:]))
        (lost if told else phantom).append(line)
    failures += [f"lost write: {line}" for line in lost] + [f"write nobody made: {line}" for line in phantom]

    # Seats: the counter is the parties seated, never above capacity + extra
    # seats, and nobody waits whose party fits in the seats left.
    seats = collections.Counter()
    waiting = collections.defaultdict(list)
    for a in state["answers"]:
        if a["state"] == "seated":
            seats[a["gathering_id"]] += 1 + a["guests"]
        elif a["state"] == "waiting":
            waiting[a["gathering_id"]].append(1 + a["guests"])
    seat_problems = 0
    for g in state["gatherings"]:
        problems = []
        if g["seats_taken"] != seats[g["id"]]:
            problems.append(f"seats_taken {g['seats_taken']} but parties seated {seats[g['id']]}")
        if g["capacity"] is not None:
            limit = g["capacity"] + g["extra_seats"]
            if g["seats_taken"] > limit:
                problems.append(f"seats_taken {g['seats_taken']} above {limit}")
            left = limit - g["seats_taken"]
            fitting = [p for p in waiting[g["id"]] if p <= left]
            if fitting:
                problems.append(f"{len(fitting)} waiting whose party fits in the {left} seat(s) left")
        if problems:
            seat_problems += 1
            failures.append(f"seats of {g['title']!r}: " + "; ".join(problems))
    takers = collections.Counter(slot_id for slot_id, _ in state["takers"])
    slot_problems = 0
    for s in state["slots"]:
        if s["taken"] != takers[s["id"]] or s["taken"] > s["needed"]:
            slot_problems += 1
            failures.append(f"slot {s['title']!r} of {s['gathering']!r}: taken {s['taken']}, "
                            f"takers {takers[s['id']]}, needed {s['needed']}")

    # Mail: all sent, each seat given has its mail, every mail reached the sink.
    outbox = state["outbox"]
    unsent = [m for m in outbox if not m["sent"]]
    given_up = [m for m in outbox if m["given_up"]]
    failures += [f"mail {m['id']} to {m['to']} ({m['subject']!r}) not sent: given up {m['given_up']}, "
                 f"{m['attempts']} attempts, last error {m['last_error']!r}" for m in unsent]
    seat_mails = collections.Counter((m["to"], m["subject"]) for m in outbox if m["subject"].endswith(
        ": a seat for you"))
    seat_changes = collections.Counter((email, f"{title}: a seat for you") for title, email in state["seat_changes"])
    for (email, subject), n in seat_changes.items():
        if seat_mails[(email, subject)] != n:
            failures.append(f"{n} seat(s) given to {email} ({subject!r}) but {seat_mails[(email, subject)]} "
                            f"mail(s) in the outbox")
    received = collections.Counter(sink_ids)
    missing = [m for m in outbox if m["message_id"] not in received]
    failures += [f"mail {m['id']} to {m['to']} ({m['subject']!r}, {m['message_id']}) never reached the sink"
                 for m in missing]
    strangers = [i for i in received if i not in {m["message_id"] for m in outbox}]
    failures += [f"the sink received a mail the outbox does not hold: {i}" for i in strangers]

    return {
        "keys_checked": len(set(ledger.possible) | set(actual)),
        "lost_writes": len(lost), "writes_nobody_made": len(phantom),
        "gatherings": len(state["gatherings"]), "gatherings_seat_problems": seat_problems,
        "waiting_at_the_end": sum(len(v) for v in waiting.values()),
        "slots": len(state["slots"]), "slot_problems": slot_problems,
        "mails_queued": len(outbox), "mails_sent": len(outbox) - len(unsent), "mails_given_up": len(given_up),
        "seat_notices": sum(seat_changes.values()), "mails_received": sum(received.values()),
        "mails_received_distinct": len(received), "duplicates": sum(n - 1 for n in received.values() if n > 1),
        "mails_missing": len(missing),
        "failures": failures,
    }, actual


def outcomes_found(ledger: Ledger, actual: dict) -> dict:
    """Of the things whose last post was cut off and asked for something new,
    how many the database shows written and how many not: evidence that the
    kills landed on both sides of the commit."""
    written = not_written = 0
    for key, history in ledger.history.items():
        last = history[-1] if history else None
        if last is None or last.outcome != "cut off" or last.state in last.before:
            continue
        if actual.get(key, ABSENT) == last.state:
            written += 1
        else:
            not_written += 1
    return {"cut_off_last_seen_written": written, "cut_off_last_seen_not_written": not_written}


# -- one database ------------------------------------------------------------------------

def run_database(kind: str, database_url: str, folder: Path, target: int = KILLS,
                 app_module: str = "wsgi:app") -> dict:
    started = time.monotonic()
    log(f"{NAMES[kind]}: {database_url.rsplit('/', 1)[-1]}, {app_module}")
    sink = mail_sink()
    sink.start()
    # No quiet hours: every acknowledged "a seat for you" must reach the sink during the run, at any hour
    # (with the default 21-8 a run in the circle's evening held them until morning, as it should for people).
    env = common.app_env(database_url, SECRET, SMTP_HOST="127.0.0.1", SMTP_PORT=str(sink.port), SMTP_STARTTLS="0",
                         QUIET_HOURS="0-0")
    migrate(env, folder / "migrate.log")
    app = build_app(database_url, sink.port)
    ledger, tally, kills = Ledger(), Tally(), Kills()
    site = set_up(app, ledger)
    server = Server(env, folder, app_module)
    try:
        log(f"  gunicorn, {WORKERS} sync workers on {server.base_url}; signing {MEMBERS} members in through the form")
        members = [Member(server.base_url, n) for n in range(MEMBERS)]
        serializer = app.session_interface.get_signing_serializer(app)
        stop = threading.Event()
        writers = [Writer(i, members[i::WRITERS], site, ledger, tally, serializer, stop, kind)
                   for i in range(WRITERS)]
        threads = [threading.Thread(target=w.run, name=f"writer-{w.index}", daemon=True) for w in writers]
        loop_start = time.monotonic()
        ledger.start = loop_start
        for thread in threads:
            thread.start()
        time.sleep(2)  # the writers get going before the first kill
        log(f"  writing and killing (until {target} kills or {MAX_SECONDS:.0f} s)")
        killer(server, kills, target, random.Random(SEED + (0 if kind == "sqlite" else 1)))
        time.sleep(2)  # requests after the last kill
        stop.set()
        for thread in threads:
            thread.join(REQUEST_TIMEOUT + 5)
        loop_seconds = time.monotonic() - loop_start
        stuck = [t.name for t in threads if t.is_alive()]
        if stuck:
            tally.strange(f"writers still running after the stop: {stuck}")
    finally:
        server.stop()
    log(f"  {kills.workers} workers and {kills.masters} whole servers killed; {tally.posts} posts, "
        f"{tally.acknowledged} acknowledged, {tally.cut_off} cut off")
    mail = send_remaining(env, app, folder)
    time.sleep(SMTP_DELAY * 4)
    with sink._lock:
        sink_ids = [str(m["Message-ID"]) for m in sink.messages]
    sink.stop()
    state = database_state(app)
    results, actual = check(ledger, state, sink_ids)
    results["logged"] = logged(folder)
    results |= outcomes_found(ledger, actual)
    (folder / "database.json").write_text(json.dumps(state, indent=1, default=str))
    try:
        results["integrity"] = integrity(database_url, kind)
    except Exception as error:  # noqa: BLE001 - reported as the finding it is
        results["integrity"] = f"failed: {type(error).__name__}: {error}"
    if not results["integrity"].startswith("ok"):
        results["failures"].append(f"integrity: {results['integrity']}")
    results["failures"] += kills.problems + [f"unexpected: {u}" for u in tally.unexpected]
    from app.extensions import db
    with app.app_context():
        db.engine.dispose()
    tally_figures = tally.figures()
    return {"database": NAMES[kind], "seconds": round(time.monotonic() - started, 1),
            "loop_seconds": round(loop_seconds, 1), "kills": asdict(kills) | {"total": kills.total},
            "server_starts": server.starts, "members_signed_in": len(members),
            "requests": tally.gets + tally.posts, "tally": tally_figures, "mail": mail, **results}


# -- docs/reliability.md -------------------------------------------------------------------

DOC_TEXT = """# Reliability

What happens to Communitarium's data when its server processes die mid-request. `make crash`
(`bench/crash.py`, about {minutes} minutes; not part of `make test`) measures it and writes this file.
It needs PostgreSQL for the second column (`BENCH_POSTGRES_URL`; a `crash_<random>` database is
made and dropped).

## What the test does

For each database, a fresh one with the schema from the migrations: a circle of {members} members and
gatherings of 2 to 4 seats (each person may bring a guest), each with a slot or two. gunicorn serves the
app as `make run` does, with {workers} sync workers, and sends mail to a real SMTP server (aiosmtpd,
taking {smtp_ms} ms to accept each mail, as real ones take a moment). Every member signs in through the
sign-in form. Then {writers} clients, each driving its own members one request at a time, open a
gathering's page (its CSRF token, the slots it offers) and post one of its forms, as a browser does:
"I'm coming" (alone or with a guest), "I can't come", taking or giving back a slot place,
and now and then posting a new gathering and adding a slot to it. With so few seats, waitlists form,
and every seat given up goes to the first in line with an "a seat for you" mail.

Meanwhile the test **SIGKILLs** a gunicorn worker every {pause} seconds (one that is serving, not
booting), and about one kill in {master_every} is the whole server: the master and all its workers at
once, after which gunicorn is started again on the same database, as a supervisor would. SIGKILL
cannot be caught: the process stops wherever it is, in the middle of a transaction, between the
commit and the answer, or between handing a mail to the SMTP server and marking it sent.

The client writes down what it was told for every post: **acknowledged** (the 303 back to the page),
**refused** (a 422, or a page saying the slot was full: the rules said no, nothing written), **never
sent** (connection refused while the server was down) or **cut off** (the connection died with the
worker: it may or may not have been written). At the end, after a last `flask mail send` (run again
with the clock moved past the five-minute lease a killed worker leaves on a mail it had claimed), it checks:

- **No acknowledged write is lost.** For every answer, slot place, gathering and slot, the database
  holds what the last acknowledged post said, or what a later cut-off post said; and nothing no post
  asked for.
- **The rules still hold.** For every gathering the seats taken equal the parties seated, never more
  than the capacity (plus seats a host added on purpose), and nobody waits whose party fits in the free
  seats; every slot's counter equals its takers.
- **No notice is lost.** Every mail in the outbox is sent (none left, none given up), every seat given
  from the waitlist has its "a seat for you" mail, and every mail reached the SMTP server, matched by
  its `Message-ID`. A mail may arrive twice (a worker killed after the SMTP server took it but before
  it was marked sent): that is the promise, at least once, and the copy has the same `Message-ID`, so
  it can be recognised (many mail clients show it once).
- **The database is sound.** SQLite: `PRAGMA integrity_check` says `ok` and `foreign_key_check`
  finds nothing. PostgreSQL: amcheck's `bt_index_check` passes on every index.

## Latest run

{run}

## Can it fail? The negative control

The same test, on SQLite with {control_kills} kills, against the app changed from outside
(`bench/crash_unsafe_wsgi.py`, test only) so that the gathering pages answer first and commit
0.3 s later, as an app that acknowledged before its write was safe would. {control}

## What the numbers mean

- **Lost writes** is the figure that matters, and it must be 0: a member who saw the page come back
  after "I'm coming" has that answer in the database, whatever died afterwards. It holds because each
  change is one transaction committed before the answer is sent, and a transaction a worker did not
  commit is rolled back by the database (SQLite's write-ahead log, PostgreSQL when the connection drops).
- **Cut off** posts are the price of a crash: the member sees an error page (or a spinning phone) and
  does not know whether it worked. Some were written, some not; the page shows which when it is opened
  again. "Cut off, then found written" shows that kills landed on both sides of the commit.
- **Duplicates** are mails that went out twice, recognisable by their `Message-ID`; **given up** and
  **missing** must be 0. Mail a killed worker had claimed waits for its lease (five minutes), so run
  `flask mail send` from cron every few minutes: without it that mail waits for the next change that
  sends mail.
- **5xx** answers count as cut off (their outcome is unknown to the client); any other unexpected
  answer is a failure.

## What it does not test

- **Power loss or a kernel crash.** The test kills processes, and the operating system still writes
  what they handed it. SQLite runs with `synchronous=NORMAL` in WAL mode: a commit survives the app
  dying, but after a power loss the last transactions before it may be rolled back (the file stays
  sound). PostgreSQL with its default `fsync=on` and `synchronous_commit=on` keeps them. Put the SQLite
  file on a disk that honours flushes, and back it up with `sqlite3 db ".backup"`.
- **The database server dying.** Only the app is killed; PostgreSQL's own crash recovery is its own.
- **A full disk, a slow network, an SMTP server that refuses mail** (the outbox's retries and giving
  up): here the SMTP server takes every mail.
"""


def figures_table(runs: list[dict]) -> str:
    rows = [
        ("Time: writing and killing / whole run", lambda r: f"{r['loop_seconds']:.0f} s / {r['seconds']:.0f} s"),
        ("Kills: single workers", lambda r: r["kills"]["workers"]),
        ("Kills: whole server (master and workers; restarts)",
         lambda r: f"{r['kills']['masters']} ({r['kills']['workers_with_masters']} workers with them; "
                   f"back in {_span(r['kills']['restarts_seconds'])})"),
        ("Kills in total", lambda r: f"**{r['kills']['total']}**"),
        ("Members signed in through the form", lambda r: r["members_signed_in"]),
        ("Requests (pages and posts)", lambda r: r["requests"]),
        ("Posts (writes sent)", lambda r: r["tally"]["posts"]),
        ("Acknowledged writes", lambda r: f"**{r['tally']['acknowledged']}**"),
        ("Refused by the rules (nothing written)", lambda r: r["tally"]["refused"]),
        ("Never sent (server down)", lambda r: r["tally"]["not_sent"]),
        ("Cut off (outcome unknown to the client)", lambda r: r["tally"]["cut_off"]),
        ("5xx answers: to posts (counted as cut off) / to pages",
         lambda r: f"{r['tally']['server_errors']} / {r['tally']['server_errors_gets']}"),
        ("Cut off last, then found written / not written",
         lambda r: f"{r['cut_off_last_seen_written']} / {r['cut_off_last_seen_not_written']}"),
        ("Pages cut off", lambda r: r["tally"]["cut_off_gets"]),
        ("Things checked (answers, places, gatherings, slots)", lambda r: r["keys_checked"]),
        ("**Lost writes**", lambda r: f"**{r['lost_writes']}**"),
        ("Writes nobody made", lambda r: r["writes_nobody_made"]),
        ("Gatherings / with a seat rule broken", lambda r: f"{r['gatherings']} / {r['gatherings_seat_problems']}"),
        ("People on a waitlist at the end", lambda r: r["waiting_at_the_end"]),
        ("Slots / counter not equal to takers", lambda r: f"{r['slots']} / {r['slot_problems']}"),
        ("Mails queued (outbox rows)", lambda r: r["mails_queued"]),
        ("of them \"a seat for you\" (one per seat given)", lambda r: r["seat_notices"]),
        ("Unsent after the run / of them held by a lease (their worker died or failed)",
         lambda r: f"{r['mail']['unsent_after_the_run']} / {r['mail']['leased_after_the_run']}"),
        ("Sent by the last `flask mail send` / after the lease ran out",
         lambda r: f"{r['mail']['sent_by_flask_mail_send']} / {r['mail']['sent_after_moving_the_clock']}"),
        ("Mails sent / given up", lambda r: f"{r['mails_sent']} / {r['mails_given_up']}"),
        ("Mails received by the SMTP server (distinct Message-IDs)",
         lambda r: f"{r['mails_received']} ({r['mails_received_distinct']})"),
        ("Duplicates (same Message-ID, allowed)", lambda r: r["duplicates"]),
        ("Outbox deliveries that failed in a worker (logged)",
         lambda r: _causes(r["logged"]["outbox_delivery_failed"])),
        ("Errors logged by the app (5xx)", lambda r: _causes(r["logged"]["unhandled_errors"])),
        ("Mails missing", lambda r: f"**{r['mails_missing']}**"),
        ("Integrity", lambda r: r["integrity"]),
        ("Checks", lambda r: "**passed**" if not r["failures"] else f"**{len(r['failures'])} failed**"),
    ]
    head = "| | " + " | ".join(r["database"] for r in runs) + " |\n|---|" + "--:|" * len(runs) + "\n"
    return head + "\n".join(f"| {name} | " + " | ".join(str(value(r)) for r in runs) + " |" for name, value in rows)


def _causes(counts: dict[str, int]) -> str:
    if not counts:
        return "0"
    return f"{sum(counts.values())}: " + "; ".join(f"{n} × `{cause}`" for cause, n in counts.items())


def _span(values: list[float]) -> str:
    return "-" if not values else f"{min(values):.1f} to {max(values):.1f} s"


def control_text(control: dict | None) -> str:
    if control is None:
        return "Not run this time (`CRASH_CONTROL_KILLS=0`)."
    lost = [f for f in control["failures"] if f.startswith("lost write: ")]
    example = lost[0].removeprefix("lost write: ") if lost else ""
    verdict = (f"**{control['lost_writes']} of its {control['tally']['acknowledged']} acknowledged writes were "
               f"lost** in {control['kills']['total']} kills: the test sees a lost write when there is one."
               if control["lost_writes"] else
               "**No write was lost: the test could not see a loss, so its zeros above prove nothing.**")
    return verdict + (f" One of them: `{example}`" if example else "")


def render(runs: list[dict], control: dict | None, machine: dict, seconds: float) -> str:
    run = (f"Run {machine['date']} by `make crash` (seed {SEED}; `CRASH_SEED={SEED}` repeats the choices, "
           f"not the timing), {seconds / 60:.0f} minutes in all.\n\n"
           f"- **Machine:** {common.machine_line(machine)}.\n"
           f"- **Server:** gunicorn, {WORKERS} sync workers (2 × cores + 1), worker timeout 30 s; limits raised "
           f"so no post is refused for its rate.\n"
           f"- **Load:** {WRITERS} clients, {MEMBERS} members, kills every {KILL_PAUSE[0]} to {KILL_PAUSE[1]} s "
           f"until {KILLS} per database.\n\n" + figures_table(runs))
    for r in runs:
        failed = r["logged"]["outbox_delivery_failed"]
        if failed:
            causes = "; ".join(f"`{cause}` ({n})" for cause, n in failed.items())
            run += (f"\n\n**{r['database']}: {sum(failed.values())} outbox deliveries failed inside a worker** "
                    f"({causes}). A mail whose delivery fails after the SMTP server took it stays unmarked "
                    f"and goes again once its lease runs out (five minutes): a duplicate, and for the "
                    f"mails after it in that batch, a wait for the next delivery. Nothing is lost, but "
                    f"these failures are not caused by the kills"
                    + (": the mail is marked sent in a transaction that began with a read before the SMTP "
                       "conversation, and SQLite refuses to turn that read into a write once another worker "
                       "has written meanwhile (\"database is locked\" at once, without waiting)."
                       if any("database is locked" in cause for cause in failed) else "."))
    failures = [f"- {r['database']}: {f}" for r in runs for f in r["failures"]]
    if failures:
        run += "\n\n**Failures:**\n\n" + "\n".join(failures[:40])
        if len(failures) > 40:
            run += f"\n- ... and {len(failures) - 40} more (bench/results/)"
    else:
        run += ("\n\nEvery check passed on both databases: no acknowledged write lost, the seat and slot "
                "rules intact, every mail sent and received." if len(runs) > 1 else
                "\n\nEvery check passed.")
    return DOC_TEXT.format(minutes=max(1, round(seconds / 60)), members=MEMBERS, workers=WORKERS,
                           smtp_ms=round(SMTP_DELAY * 1000), writers=WRITERS,
                           pause=f"{KILL_PAUSE[0]} to {KILL_PAUSE[1]}", master_every=round(1 / MASTER_SHARE),
                           run=run, control_kills=CONTROL_KILLS or 30, control=control_text(control))


def main() -> int:
    started = time.monotonic()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = common.RESULTS / f"crash-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    machine = common.machine()
    log(f"crash test, seed {SEED}; results in {folder.relative_to(ROOT)}")
    runs = []
    for kind in DATABASES:
        sub = folder / kind
        sub.mkdir()
        if kind == "sqlite":
            with tempfile.TemporaryDirectory(prefix="crash-") as tmp:
                runs.append(run_database(kind, f"sqlite:///{Path(tmp) / 'crash.db'}", sub))
        else:
            problem = common.postgres_available()
            if problem:
                raise SystemExit(f"PostgreSQL at {common.POSTGRES_URL} cannot be reached: {problem}")
            with common.postgres_database("crash") as url:
                runs.append(run_database(kind, url, sub))
    control = None
    if CONTROL_KILLS:
        sub = folder / "control"
        sub.mkdir()
        log("negative control: the app answering before it commits (bench/crash_unsafe_wsgi.py)")
        with tempfile.TemporaryDirectory(prefix="crash-") as tmp:
            control = run_database("sqlite", f"sqlite:///{Path(tmp) / 'crash.db'}", sub, CONTROL_KILLS,
                                   "bench.crash_unsafe_wsgi:app")
        log(f"negative control: {control['lost_writes']} of {control['tally']['acknowledged']} acknowledged "
            f"writes lost in {control['kills']['total']} kills"
            + ("" if control["lost_writes"] else ": FAILED, the test did not see a loss"))
    seconds = time.monotonic() - started
    (folder / "report.json").write_text(json.dumps({"seed": SEED, "machine": machine, "runs": runs,
                                                    "control": control}, indent=2, default=str))
    for r in runs:
        log(f"{r['database']}: {r['kills']['total']} kills ({r['kills']['masters']} whole servers), "
            f"{r['requests']} requests, {r['tally']['acknowledged']} acknowledged writes, "
            f"{r['lost_writes']} lost, mails {r['mails_queued']} queued / {r['mails_sent']} sent / "
            f"{r['duplicates']} duplicates / {r['mails_missing']} missing, integrity {r['integrity']}")
        for failure in r["failures"][:30]:
            log(f"  FAILED {failure}")
    DOC.write_text(render(runs, control, machine, seconds))
    log(f"wrote {DOC.relative_to(ROOT)} ({seconds / 60:.1f} minutes)")
    return 1 if any(r["failures"] for r in runs) or (control is not None and not control["lost_writes"]) else 0


if __name__ == "__main__":
    sys.exit(main())
