"""`make two-servers`: two app servers behind nginx, sharing one PostgreSQL
database and Redis, proved rather than promised (docs/scaling.md).

The layout, on this one machine: Debian's nginx on a free port, balancing
round-robin over two gunicorn app servers (nodes A and B, NODE_WORKERS sync
workers each) on two other ports, each with its own job runner
(`flask jobs run`); one PostgreSQL database made for the run (dropped at the
end), Redis for the rate-limit counters, an SMTP sink (aiosmtpd) for mail.
Both nodes get the same SECRET_KEY, BASE_URL (nginx's address), REDIS_URL and
DATABASE_URL, and PROXY_COUNT=1, as docs/scaling.md says every server must.

1. Both nodes start at the same moment, each running the guarded upgrade
   first (`flask db upgrade`, as `make run` does) on the empty database: one
   applies every migration, the other none.
2. A session made on one works on the other: someone signs in through the
   form on node A; node B shows their account page to that cookie.
3. Rate limits count across both: RATE_ATTEMPTS wrong passwords for one
   address, alternately on A and B, with LIMIT_LOGIN_PER_EMAIL at RATE_LIMIT:
   the attempts past the limit are answered 429, on either node.
4. The seat race holds across both: SEAT_PEOPLE members sign in through the
   form (via nginx), then all answer "going" to a gathering of CAPACITY seats
   at once through nginx (last-byte sync, tests/concurrency.py); both nodes
   serve some of the posts; exactly CAPACITY are seated, the rest wait.
5. The job runners on both nodes lose no notice and record none twice:
   READERS people each have NOTICES_EACH digest notices due when the nodes
   start; both runners (one pass every RUNNER_PAUSE seconds) compose and send:
   each person gets exactly one digest, every outbox mail reaches the sink
   once, by its Message-ID, and no notice is left unmailed.

Then the negative controls, on a fresh database with nodes that do each thing
the wrong way, to show each check can fail: a third server with a SECRET_KEY
of its own does not know the session (2); without REDIS_URL (counters in
each server's memory) nobody gets a 429 (3); the test-only unsafe seating
(tests/unsafe_wsgi.py) overbooks (4, up to NEGATIVE_SEAT_TRIES bursts); job
runners that send without the atomic claim (tests/notify_worker.py) mail
notices twice (5).

Writes docs/two-servers.md and, in bench/results/two-servers-<time>/, the
logs of nginx, the nodes and the runners. Exits 1 if any check fails. Nothing
here measures throughput: both servers share this machine's cores.
Settings from the environment: BENCH_POSTGRES_URL (default TEST_DATABASE_URL,
else postgresql+psycopg://postgres@127.0.0.1:5432/test), TWO_SERVERS_REDIS_URL
(default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.concurrency import ACCESS_LOG_ARGS, Client, burst, sign_in, warm_up  # noqa: E402
from tests.helpers import MailBox, free_port  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
NODE_WORKERS = 8  # sync workers per node: 16 in all, more than CAPACITY (tests/test_gatherings_concurrency.py)
RUNNER_PAUSE = "0.5"  # seconds between a job runner's passes
CAPACITY = 10
SEAT_PEOPLE = 50
RATE_LIMIT = 10
RATE_ATTEMPTS = 14
READERS = 60
NOTICES_EACH = 3
NEGATIVE_SEAT_TRIES = 3
PASSWORD = "two servers, one street"
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "two-servers.md"


logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's every line, otherwise (the app logs at INFO)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the pieces ------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    process: subprocess.Popen
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start(name: str, command: list[str], env: dict, out: Path) -> Proc:
    log_path = out / f"{name}.log"
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    return Proc(name, process, log_path)


def node_env(database_url: str, secret: str, base_url: str, mail_port: int, redis_url: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIMIT_", "REDIS_URL", "SMTP_"))}
    env |= {"FLASK_APP": "wsgi:app", "DATABASE_URL": database_url, "SECRET_KEY": secret, "BASE_URL": base_url,
            "PROXY_COUNT": "1", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail_port), "SMTP_STARTTLS": "0",
            "LIMIT_LOGIN_PER_EMAIL": f"{RATE_LIMIT} per hour", "PYTHONUNBUFFERED": "1",
            "GUNICORN_CMD_ARGS": ACCESS_LOG_ARGS, "PYTHONPATH": str(ROOT)}
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def gunicorn(name: str, port: int, env: dict, out: Path, module: str = "wsgi:app", workers: int = NODE_WORKERS) -> Proc:
    return start(name, [PYTHON, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                        "--timeout", "60", "--graceful-timeout", "2", "--no-control-socket", module], env, out)


def wait_ready(proc: Proc, port: int, workers: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=30).read()
            break
        except OSError:
            if not proc.alive():
                raise SystemExit(f"{proc.name} exited:\n{proc.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{proc.name} did not answer within {timeout} s")
            time.sleep(0.3)
    warm_up(f"http://127.0.0.1:{port}", proc.text, workers, timeout=timeout)


NGINX_CONF = """
worker_processes 1;
{user}
pid {d}/nginx.pid;
error_log {d}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    log_format upstream '$request $status upstream=$upstream_addr';
    access_log {d}/nginx-access.log upstream;
    client_body_temp_path {d}/nginx-body;
    proxy_temp_path {d}/nginx-proxy;
    fastcgi_temp_path {d}/nginx-fastcgi;
    uwsgi_temp_path {d}/nginx-uwsgi;
    scgi_temp_path {d}/nginx-scgi;
    upstream communitarium {{
        server 127.0.0.1:{a};
        server 127.0.0.1:{b};
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://communitarium;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


def nginx(out: Path, port: int, a: int, b: int) -> Proc:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        raise SystemExit("nginx is missing: run scripts/install-system-packages.sh (make two-servers does)")
    conf = out / f"nginx-{port}.conf"
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(NGINX_CONF.format(user=user, d=out, a=a, b=b, port=port))
    proc = start(f"nginx-{port}", [binary, "-p", str(out), "-e", str(out / "nginx-error.log"), "-c", str(conf),
                                   "-g", "daemon off;"], os.environ.copy(), out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=10).read()
            return proc
        except OSError:
            if not proc.alive():
                raise SystemExit(f"nginx exited:\n{proc.text()}\n{(out / 'nginx-error.log').read_text()}")
            time.sleep(0.2)
    raise SystemExit("nginx did not answer")


# --- the database and the world in it ---------------------------------------------------------


def create_database(base: str) -> str:
    url = make_url(base)
    name = f"two_servers_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(url_string: str) -> None:
    url = make_url(url_string)
    with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def two_upgrades(database_url: str, out: Path, tag: str) -> list[int]:
    """Both nodes' upgrade step, started together: migrations applied by each."""
    env = node_env(database_url, "x", "http://127.0.0.1", 25, None)
    procs = [start(f"{tag}-upgrade-{n}", [PYTHON, "-m", "flask", "db", "upgrade"], env, out) for n in "AB"]
    for proc in procs:
        proc.process.wait(timeout=300)
        if proc.process.returncode:
            raise SystemExit(f"{proc.name} failed:\n{proc.text()}")
    return [len(re.findall(r"Running upgrade", proc.text())) for proc in procs]


def build_app(database_url: str):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "harness",
                       "RATELIMIT_STORAGE_URI": "memory://"})


@dataclass
class World:
    slug: str
    host_email: str
    people: list[str]
    readers: list[str]


def fill(database_url: str) -> World:
    """A circle with a host and SEAT_PEOPLE members (all with PASSWORD), and
    READERS people with NOTICES_EACH digest notices due now."""
    from app.auth import passwords
    from app.auth.models import User
    from app.circles import domain as circles
    from app.circles.models import Membership
    from app.database import utcnow
    from app.extensions import db
    from app.notify.models import Notice

    app = build_app(database_url)
    slug = "two-servers-street"
    with app.test_request_context():
        hashed = passwords.hash_password(PASSWORD)

        def person(email: str, name: str) -> User:
            user = User(email=email, display_name=name, password_hash=hashed, email_verified_at=utcnow(),
                        time_zone="Europe/Berlin")
            db.session.add(user)
            db.session.flush()
            return user

        host = person("host@two.example.org", "Host")
        circle = circles.create_circle(host, name="Two Servers Street", slug=slug, time_zone="Europe/Berlin")
        db.session.flush()
        people = [f"seat{n:02d}@two.example.org" for n in range(SEAT_PEOPLE)]
        for n, email in enumerate(people):
            db.session.add(Membership(circle_id=circle.id, user_id=person(email, f"Neighbour {n}").id))
        readers = [f"reader{n:02d}@two.example.org" for n in range(READERS)]
        due = utcnow() - dt.timedelta(minutes=1)
        for n, email in enumerate(readers):
            user = person(email, f"Reader {n}")
            for k in range(NOTICES_EACH):
                db.session.add(Notice(user_id=user.id, kind="gathering_changed", occasion=f"o{k}",
                                      subject=f"Thing {k} for {n}", body="It changed.", channel="digest",
                                      mail_due_at=due))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return World(slug, "host@two.example.org", people, readers)


def new_gathering(database_url: str, world: World, title: str) -> int:
    """A gathering next week with CAPACITY seats, all free (its host withdraws)."""
    from app.auth.models import User
    from app.circles import domain as circles
    from app.database import write_unit
    from app.extensions import db
    from app.gatherings import domain, seats

    app = build_app(database_url)
    with app.test_request_context():
        host = db.session.scalar(select(User).where(User.email == world.host_email))
        circle, _ = circles.find_circle_for_member(world.slug, host)
        starts = (dt.datetime.now() + dt.timedelta(days=7)).replace(second=0, microsecond=0)
        gathering = domain.create_gathering(circle, host, title=title, starts_local=starts,
                                            ends_local=starts + dt.timedelta(hours=2), capacity=CAPACITY)
        db.session.commit()
        gathering_id = gathering.id
        with write_unit():
            seats.withdraw(gathering_id, host)
        db.session.remove()
        db.engine.dispose()
    return gathering_id


def seating(database_url: str, gathering_id: int) -> dict:
    from app.extensions import db
    from app.gatherings.models import Answer, Gathering

    app = build_app(database_url)
    with app.app_context():
        states = collections.Counter(db.session.scalars(select(Answer.state).where(
            Answer.gathering_id == gathering_id, Answer.response == "going")))
        taken = db.session.get(Gathering, gathering_id).seats_taken
        db.session.remove()
        db.engine.dispose()
    return {"seated": states.get("seated", 0), "waiting": states.get("waiting", 0), "seats_taken": taken}


def mail_outcome(database_url: str, box: MailBox, readers: list[str]) -> dict:
    from app.auth.models import User
    from app.extensions import db
    from app.mail import OutboxMail
    from app.notify.models import Notice

    app = build_app(database_url)
    with app.app_context():
        outbox = list(db.session.execute(select(OutboxMail.to_address, OutboxMail.message_id, OutboxMail.sent_at)))
        unmailed = db.session.scalar(select(func.count()).select_from(Notice).join(User, User.id == Notice.user_id)
                                     .where(Notice.mailed_at.is_(None), User.email.in_(readers)))
        db.session.remove()
        db.engine.dispose()
    received = collections.Counter(m["Message-ID"] for m in box.messages)
    queued = {row.message_id for row in outbox}
    digests = collections.Counter(row.to_address for row in outbox if row.to_address in set(readers))
    return {"digests": digests, "unsent": sum(1 for row in outbox if row.sent_at is None),
            "unmailed": unmailed, "lost": len(queued - set(received)), "strangers": len(set(received) - queued),
            "duplicates": sum(n - 1 for n in received.values()), "mails": len(queued)}


def wait_for_mail(database_url: str, box: MailBox, readers: list[str], timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        outcome = mail_outcome(database_url, box, readers)
        if outcome["unsent"] == 0 and outcome["unmailed"] == 0 and len(outcome["digests"]) == len(readers):
            time.sleep(3)  # let a straggling duplicate arrive
            return mail_outcome(database_url, box, readers)
        if time.monotonic() > deadline:
            return outcome
        time.sleep(1)


# --- the claims ---------------------------------------------------------------------------


@dataclass
class Check:
    claim: str
    held: bool
    shown: str
    negative: str = ""
    negative_held: bool | None = None  # True: the negative control failed the check, as it must


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)


def session_across(base_a: str, base_b: str, email: str) -> tuple[bool, str]:
    client = sign_in(base_a, email, PASSWORD, name="session")
    on_b = Client(base_b, client.cookies["session"], name="session on B")
    reply = on_b.get("/auth/account")
    ok = reply.status == 200 and email in reply.body
    return ok, f"signed in on A; B answered /auth/account with {reply.status}" + (
        f" (to {reply.location})" if reply.location else ", showing the account")


def rate_across(base_a: str, base_b: str) -> tuple[list[tuple[str, int]], str]:
    email = f"nobody-{uuid.uuid4().hex[:8]}@two.example.org"  # counters of this run only
    answers = []
    for n in range(RATE_ATTEMPTS):
        node, base = ("A", base_a) if n % 2 == 0 else ("B", base_b)
        client = Client(base, "", name=f"attempt {n}")
        client.fetch_token("/auth/login")
        reply = client.post("/auth/login", {"email": email, "password": "not the password"})
        answers.append((node, reply.status))
    shown = ", ".join(f"{node}:{status}" for node, status in answers)
    return answers, shown


def seat_race(nginx_base: str, database_url: str, world: World, nodes: list[Proc], title: str) -> tuple[dict, str]:
    gathering_id = new_gathering(database_url, world, title)
    page = f"/c/{world.slug}/gatherings/{gathering_id}"
    clients = [sign_in(nginx_base, email, PASSWORD, name=email) for email in world.people]
    counted = [n.text().count(f"POST {page}/answer") for n in nodes]
    result = burst(clients, page, page + "/answer", {"response": "going", "guests": "0"})
    served = [n.text().count(f"POST {page}/answer") - c for n, c in zip(nodes, counted)]
    seats = seating(database_url, gathering_id)
    seats |= {"statuses": result.statuses(), "served_by": served, "spread_ms": round(result.spread * 1000, 1)}
    return seats, (f"{SEAT_PEOPLE} people signed in through the form via nginx; their posts released within "
                   f"{seats['spread_ms']} ms, answered {seats['statuses']}, served {served[0]} by A and "
                   f"{served[1]} by B; {seats['seated']} seated, {seats['waiting']} waiting, "
                   f"seats_taken {seats['seats_taken']}, capacity {CAPACITY}")


def run_layout(base_pg: str, redis_url: str, out: Path, report: Report) -> None:
    """The shared layout, every claim checked."""
    database_url = create_database(base_pg)
    box = MailBox()
    box.start()
    procs: list[Proc] = []
    try:
        a, b, front = free_port(), free_port(), free_port()
        base = f"http://127.0.0.1:{front}"
        env = node_env(database_url, secrets.token_hex(32), base, box.port, redis_url)

        log("nodes A and B start at once, each upgrading the empty database first")
        applied = two_upgrades(database_url, out, "layout")
        total = max(applied)
        report.checks.append(Check(
            "two upgrades at once: one applies every migration, the other none",
            sorted(applied) == [0, total] and total > 0, f"A applied {applied[0]}, B applied {applied[1]}",
            "in `make test` (tests/test_ops.py): without the upgrade lock the same race goes wrong "
            "(one of the two upgrades fails)"))
        world = fill(database_url)
        procs += [gunicorn("layout-node-A", a, env, out), gunicorn("layout-node-B", b, env, out),
                  start("layout-runner-A", [PYTHON, "-m", "flask", "jobs", "run", "--pause", RUNNER_PAUSE], env, out),
                  start("layout-runner-B", [PYTHON, "-m", "flask", "jobs", "run", "--pause", RUNNER_PAUSE], env, out)]
        for proc, port in ((procs[0], a), (procs[1], b)):
            wait_ready(proc, port, NODE_WORKERS)
        procs.append(nginx(out, front, a, b))
        log(f"serving: nginx {front} -> A {a}, B {b}")

        ok, shown = session_across(f"http://127.0.0.1:{a}", f"http://127.0.0.1:{b}", world.people[0])
        report.checks.append(Check("a session made on one server works on the other", ok, shown))
        log(f"session: {ok} ({shown})")

        answers, shown = rate_across(f"http://127.0.0.1:{a}", f"http://127.0.0.1:{b}")
        limited = [n for n, (_node, status) in enumerate(answers) if status == 429]
        ok = limited == list(range(RATE_LIMIT, RATE_ATTEMPTS)) and {answers[n][0] for n in limited} == {"A", "B"}
        report.checks.append(Check(
            f"rate limits count across both ({RATE_LIMIT} failed sign-ins per address per hour)", ok,
            f"{RATE_ATTEMPTS} wrong passwords for one address, alternating A and B: {shown}"))
        log(f"rate limits: {ok} ({shown})")

        seats, shown = seat_race(base, database_url, world, procs[:2], "Soup for ten")
        ok = (seats["seated"] == CAPACITY == seats["seats_taken"] and seats["waiting"] == SEAT_PEOPLE - CAPACITY
              and seats["statuses"] == {303: SEAT_PEOPLE} and min(seats["served_by"]) > 0)
        report.checks.append(Check("the seat race holds across both (no overbooking)", ok, shown))
        log(f"seat race: {ok} ({shown})")

        outcome = wait_for_mail(database_url, box, world.readers)
        per_person = collections.Counter(outcome["digests"].values())
        started = [p.name for p in procs[2:4] if "job worker" in p.text() and p.alive()]
        ok = (outcome["lost"] == 0 and outcome["strangers"] == 0 and outcome["unsent"] == 0
              and outcome["unmailed"] == 0 and outcome["duplicates"] == 0 and set(per_person) == {1}
              and len(outcome["digests"]) == READERS and len(started) == 2)
        report.checks.append(Check(
            "the job runners on both nodes lose no notice and record none twice", ok,
            f"{READERS} people with {NOTICES_EACH} digest notices each, both runners running ({', '.join(started)}): "
            f"digests per person {dict(per_person)}, {outcome['mails']} mails in the outbox, {outcome['unsent']} "
            f"unsent, {outcome['unmailed']} notices unmailed, {outcome['lost']} lost, {outcome['duplicates']} "
            f"received twice"))
        log(f"job runners: {ok}")
        report.facts.append(f"Shared layout: {NODE_WORKERS} sync workers per node, job runners passing every "
                            f"{RUNNER_PAUSE} s, PostgreSQL database {make_url(database_url).database}, "
                            f"Redis {redis_url}.")
    finally:
        for proc in reversed(procs):
            proc.stop()
        box.stop()
        drop_database(database_url)


def run_negative(base_pg: str, out: Path, report: Report) -> None:
    """The same checks against servers that do each thing the wrong way."""
    database_url = create_database(base_pg)
    box = MailBox()
    box.delay = 0.05  # a real server takes a moment; the unsafe runners race in it
    box.start()
    procs: list[Proc] = []
    checks = {c.claim.split(" (")[0]: c for c in report.checks}
    try:
        a, b, c, front = free_port(), free_port(), free_port(), free_port()
        base = f"http://127.0.0.1:{front}"
        secret = secrets.token_hex(32)
        env = node_env(database_url, secret, base, box.port, None)  # no REDIS_URL: counters in memory
        two_upgrades(database_url, out, "negative")
        world = fill(database_url)
        unsafe_runner = [PYTHON, "-m", "tests.notify_worker", database_url, str(box.port), "unsafe"]
        procs += [gunicorn("negative-node-A", a, env, out, module="tests.unsafe_wsgi:app"),
                  gunicorn("negative-node-B", b, env, out, module="tests.unsafe_wsgi:app"),
                  gunicorn("negative-node-C-own-key", c, env | {"SECRET_KEY": secrets.token_hex(32)}, out, workers=1),
                  start("negative-runner-A", unsafe_runner, env, out),
                  start("negative-runner-B", unsafe_runner, env, out)]
        for proc, port, workers in ((procs[0], a, NODE_WORKERS), (procs[1], b, NODE_WORKERS), (procs[2], c, 1)):
            wait_ready(proc, port, workers)
        procs.append(nginx(out, front, a, b))

        ok, shown = session_across(f"http://127.0.0.1:{a}", f"http://127.0.0.1:{c}", world.people[0])
        check = checks["a session made on one server works on the other"]
        check.negative, check.negative_held = f"a server with a SECRET_KEY of its own: {shown}", not ok
        log(f"negative session: refused={not ok} ({shown})")

        answers, shown = rate_across(f"http://127.0.0.1:{a}", f"http://127.0.0.1:{b}")
        check = checks["rate limits count across both"]
        check.negative = f"without REDIS_URL (each server counts in its own memory): {shown}"
        check.negative_held = all(status != 429 for _node, status in answers)
        log(f"negative rate limits: no 429 = {check.negative_held}")

        check = checks["the seat race holds across both"]
        tries = []
        for n in range(NEGATIVE_SEAT_TRIES):
            seats, shown = seat_race(base, database_url, world, procs[:2], f"Unsafe soup {n + 1}")
            tries.append(shown)
            if seats["seated"] > CAPACITY or seats["seats_taken"] != seats["seated"]:
                check.negative_held = True
                break
        else:
            check.negative_held = False
        check.negative = f"the test-only unsafe seating (tests/unsafe_wsgi.py) on both, burst {len(tries)}: {tries[-1]}"
        log(f"negative seat race: overbooked = {check.negative_held}")

        outcome = wait_for_mail(database_url, box, world.readers)
        check = checks["the job runners on both nodes lose no notice and record none twice"]
        check.negative = (f"runners sending without the atomic claim (tests/notify_worker.py unsafe) on both: "
                          f"{outcome['mails']} mails in the outbox, {outcome['duplicates']} received twice, "
                          f"{outcome['lost']} lost")
        check.negative_held = outcome["duplicates"] > 0
        log(f"negative job runners: duplicates = {outcome['duplicates']}")
    finally:
        for proc in reversed(procs):
            proc.stop()
        box.stop()
        drop_database(database_url)


def write_doc(report: Report, seconds: float, out: Path) -> None:
    rows = []
    for check in report.checks:
        if check.negative_held is None:
            negative = check.negative or "none possible"
        else:
            negative = ("caught: " if check.negative_held else "NOT caught: ") + check.negative
        rows.append(f"| {check.claim} | {'held' if check.held else 'FAILED'}: {check.shown} | {negative} |")
    DOC.write_text(f"""# Two app servers, one database

Written by `make two-servers` (`bench/two_servers.py`) on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())},
in {seconds / 60:.1f} minutes. The layout and what every server must share: [scaling.md](scaling.md).

Two gunicorn app servers (A and B) started at the same moment on different ports of this machine, each with
its own job runner, behind Debian's nginx (round-robin), sharing one PostgreSQL database and Redis, with the
same `SECRET_KEY`, `BASE_URL` (nginx's address), `REDIS_URL` and `PROXY_COUNT=1`. Every request below went
through the real forms, sign-in included. Each claim's negative control runs servers that do that one thing
the wrong way, on a fresh database, to show the check can fail. Nothing here is a throughput figure: both
servers share this machine's two cores.

| claim | shared layout | negative control |
|---|---|---|
{chr(10).join(rows)}

{chr(10).join('- ' + fact for fact in report.facts)}
- Logs of this run (nginx, each node, each runner): `{out.relative_to(ROOT)}/` (not committed).
""")


def main() -> int:
    base_pg = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get(
        "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("TWO_SERVERS_REDIS_URL", "redis://127.0.0.1:6379/0")
    out = RESULTS / time.strftime("two-servers-%Y%m%dT%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    report = Report()
    log("the shared layout")
    run_layout(base_pg, redis_url, out, report)
    log("the negative controls")
    run_negative(base_pg, out, report)
    seconds = time.monotonic() - began
    write_doc(report, seconds, out)
    failed = [c.claim for c in report.checks if not c.held or c.negative_held is False]
    for check in report.checks:
        log(f"{'held' if check.held else 'FAILED'}: {check.claim}; negative control "
            f"{'caught' if check.negative_held else 'n/a' if check.negative_held is None else 'NOT caught'}")
    log(f"wrote {DOC.relative_to(ROOT)} in {seconds / 60:.1f} minutes")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
