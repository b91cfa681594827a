"""What `make bench` and `make lighthouse` share: the machine, a database with
the demo data, a signed-in cookie, gunicorn, and the sections of
docs/performance.md each of them owns."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import os
import platform
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "performance.md"
PYTHON = sys.executable
HIGH_LIMIT = "1000000 per minute"
# The server the PostgreSQL column uses; a database bench_<random> is made on it and dropped after.
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", flush=True)


def median(values):
    return statistics.median(values)


# -- the machine ---------------------------------------------------------------

def cores() -> int:
    return len(os.sched_getaffinity(0))


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    mhz = re.search(r"^cpu MHz\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text()
    mem_kb = int(re.search(r"^MemTotal:\s*(\d+)", meminfo, re.MULTILINE).group(1))
    return {
        "cores": cores(),
        "cpu": model.group(1).strip() if model else platform.processor() or "unknown",
        "mhz": float(mhz.group(1)) if mhz else None,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "commit": app_commit(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def app_commit() -> str:
    """The commit measured, and whether the working tree differed from it."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown"
    changed = git("status", "--porcelain", "--untracked-files=no", "--", "app", "templates", "static", "migrations")
    return commit + (" with uncommitted changes to the app" if changed else "")


def machine_line(m: dict) -> str:
    mhz = f" at {m['mhz']:.0f} MHz" if m.get("mhz") else ""
    return (f"{m['cores']} cores ({m['cpu']}{mhz}), {m['memory_gib']} GiB, Linux {m['kernel']}, "
            f"Python {m['python']}; load average before the run {' / '.join(m['loadavg'])}; "
            f"app at commit {m.get('commit', 'unknown')}")


# -- how busy the machine is -----------------------------------------------------
# Other people's processes on the machine (a test suite, a build) skew a
# benchmark. Before each page we wait until the machine is quiet, and during
# each run we measure what share of the CPU went to processes other than the
# server and wrk.

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_busy_seconds() -> float:
    """CPU seconds spent busy, all cores together, since boot."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of a process and of each of its descendants alive now, by id."""
    found = {}
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            found[current] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
            children = []
            for task in Path(f"/proc/{current}/task").iterdir():
                children += (task / "children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        pending += [int(c) for c in children]
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its descendants that are alive now."""
    return sum(tree_cpu(pid).values())


def run_sampled(command: list[str], **kwargs) -> tuple[subprocess.CompletedProcess, float]:
    """Run a command; also return the CPU seconds it and all its descendants
    used, sampled while they run (a browser's processes are not all reaped by
    their parent, so the kernel's children usage misses them)."""
    seen: dict[int, float] = {}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          **kwargs) as process:
        output = {}
        readers = [threading.Thread(target=lambda n, f: output.__setitem__(n, f.read()), args=(n, f))
                   for n, f in (("stdout", process.stdout), ("stderr", process.stderr))]
        for reader in readers:
            reader.start()
        while process.poll() is None:
            seen |= tree_cpu(process.pid)
            time.sleep(0.2)
        for reader in readers:
            reader.join()
    done = subprocess.CompletedProcess(command, process.returncode, output.get("stdout", ""),
                                       output.get("stderr", ""))
    return done, sum(seen.values())


def companion_cpu_seconds(marker: str | None) -> float:
    """CPU seconds of the processes whose command line names ``marker``: the
    PostgreSQL backends serving the benchmark's own database are part of its
    work, not someone else's."""
    if not marker:
        return 0.0
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() not in (entry / "cmdline").read_bytes():
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def others_busy(seconds: float = 1.0) -> float:
    """Share of the machine busy over ``seconds`` while we do nothing."""
    before = cpu_busy_seconds()
    time.sleep(seconds)
    return (cpu_busy_seconds() - before) / (seconds * cores())


QUIET_SHARE = float(os.environ.get("BENCH_QUIET_SHARE", "0.15"))
QUIET_WAIT = float(os.environ.get("BENCH_QUIET_WAIT", "300"))


def wait_until_quiet() -> float:
    """Wait (up to BENCH_QUIET_WAIT seconds) until others use less than
    BENCH_QUIET_SHARE of the machine; returns the share last seen."""
    deadline = time.monotonic() + QUIET_WAIT
    busy = others_busy(2.0)
    if busy >= QUIET_SHARE:
        log(f"  the machine is busy ({busy:.0%} of it used by others); waiting up to {QUIET_WAIT:.0f} s")
    while busy >= QUIET_SHARE and time.monotonic() < deadline:
        busy = others_busy(3.0)
    if busy >= QUIET_SHARE:
        log(f"  still busy ({busy:.0%}); measuring anyway")
    return busy


# -- databases -----------------------------------------------------------------

@contextlib.contextmanager
def sqlite_database(folder: Path):
    """A fresh SQLite file (the app switches every connection to WAL)."""
    path = folder / "bench.db"
    yield f"sqlite:///{path}"


def _admin_connect(url: str):
    import psycopg

    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    return psycopg.connect(urlunsplit(parts), autocommit=True, connect_timeout=5)


def postgres_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        with _admin_connect(POSTGRES_URL):
            return None
    except Exception as error:  # noqa: BLE001 - any reason is reported as is
        return f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"


@contextlib.contextmanager
def postgres_database(prefix: str = "bench"):
    """A fresh database <prefix>_<random> on the server, dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with _admin_connect(POSTGRES_URL) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(POSTGRES_URL)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        with _admin_connect(POSTGRES_URL) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"dropped database {name}")


def raised_limits() -> dict:
    """Every LIMIT_* the app reads, set so high that the benchmark never meets it."""
    names = set(re.findall(r'"(LIMIT_[A-Z_]+)"', (ROOT / "app" / "config.py").read_text()))
    return {name: HIGH_LIMIT for name in sorted(names)}


def app_env(database_url: str, secret: str, base_url: str = "http://127.0.0.1:8000", **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}}
    env |= {"DATABASE_URL": database_url, "SECRET_KEY": secret, "BASE_URL": base_url,
            "FLASK_APP": "wsgi:app", "PYTHONUNBUFFERED": "1"}
    env |= raised_limits()
    env |= {k: v for k, v in extra.items() if v is not None}
    return env


def prepare(database_url: str, secret: str, scale: int, log_path: Path) -> None:
    """The schema by the migrations (as deployed), then the demo data at ``scale``."""
    env = app_env(database_url, secret)
    flask = [PYTHON, "-m", "flask"]
    with log_path.open("a") as out:
        for command in (["db", "upgrade"], ["seed-demo", "--scale", str(scale)]):
            done = subprocess.run(flask + command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
            if done.returncode:
                raise SystemExit(f"`flask {' '.join(command)}` failed; see {log_path}")


def build_app(database_url: str, secret: str):
    """The app in this process, on the same database (for the cookie and profiles)."""
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secret,
                       "RATELIMIT_STORAGE_URI": "memory://"})


def _identifier_of_wrk() -> str:
    """What Flask-Login's session protection remembers of the browser that
    signed in, here wrk's (127.0.0.1, no User-Agent): a cookie without it is
    marked not fresh on its first request, which a browser stores and wrk,
    sending the same cookie again, never would, so every page would set the
    cookie anew and none could be served from the page cache."""
    from flask import current_app
    from flask_login.utils import _create_identifier

    with current_app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"}) as context:
        context.request.environ.pop("HTTP_USER_AGENT", None)
        return _create_identifier()


def session_cookie(database_url: str, secret: str, email: str) -> str:
    """A signed-in session without the form, as tests/served.py mints it: a
    session row, and the signed cookie that names it."""
    from flask import session
    from flask_wtf.csrf import generate_csrf
    from sqlalchemy import select

    from app.auth import domain
    from app.auth.models import User
    from app.extensions import db

    app = build_app(database_url, secret)
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            raise SystemExit(f"no account {email} in the demo data")
        token = domain.start_session(user)
        db.session.commit()
        session["_user_id"] = token
        session["_fresh"] = True
        session["_id"] = _identifier_of_wrk()
        generate_csrf()  # as a browser's cookie holds it after its first form
        value = app.session_interface.get_signing_serializer(app).dumps(dict(session))
        db.session.remove()
        db.engine.dispose()
    return value


# -- the server ----------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(base_url: str, path: str, cookie: str | None = None) -> tuple[int, dict, bytes]:
    """One GET, redirects not followed."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Accept": "text/html"}
    if cookie:
        headers["Cookie"] = f"session={cookie}"
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


class Gunicorn:
    """gunicorn in a subprocess; stopped by its own process id."""

    def __init__(self, app: str, env: dict, log_path: Path, workers: int, threads: int = 1,
                 ready_path: str = "/", port: int | None = None):
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = env | {"BASE_URL": self.base_url}
        self.args = [PYTHON, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
                     "--worker-class", "gthread" if threads > 1 else "sync", "--threads", str(threads),
                     "--graceful-timeout", "5", app]
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=env, stdout=log_path.open("w"),
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                get(self.base_url, ready_path)
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn did not start; see {log_path}:\n{log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def check_pages(base_url: str, pages, cookie: str) -> None:
    """Every page answers 200 as it will be measured: signed in where it should be,
    not a redirect to the sign-in page (wrk would count a 302 as a success)."""
    for name, path, signed_in in pages:
        status, headers, _ = get(base_url, path, cookie if signed_in else None)
        if status != 200:
            raise SystemExit(f"{name} ({path}) answered {status} {headers.get('Location', '')}: not measurable")


def version_of(command: list[str]) -> str:
    if not shutil.which(command[0]):
        return "missing"
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    text = (done.stdout.strip() or done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


# -- docs/performance.md -------------------------------------------------------

DOC_HEAD = """# Performance

How fast Communitarium serves its main pages, measured on demo data at a realistic size
(`seed_demo(scale=38)`: Elm Street with about 150 members). Two commands write this file:

```sh
make bench        # load: wrk against gunicorn, on SQLite and on PostgreSQL (about 9 minutes)
make lighthouse   # a phone's first visit: Lighthouse 12.8.2, mobile preset (about 5 minutes)
```

Each replaces only its own section below (between its `<!-- ...:start/end -->` markers); the
rest of the file is written by hand. Raw output (wrk, Lighthouse JSON, profiles) goes to
`bench/results/`, which is not committed. The pages measured are listed in `bench/pages.py`:
when an area adds a main page, add its line there and both commands measure it.
"""


SECTIONS = [("bench", "Load benchmark"), ("lighthouse", "Lighthouse")]


def write_section(name: str, title: str, body: str) -> None:
    """Replace the section ``name`` of docs/performance.md, keeping everything else."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    if DOC.exists():
        text = DOC.read_text()
    else:
        text = DOC_HEAD + "".join(f"\n## {t}\n\n<!-- {n}:start -->\nNot measured yet.\n<!-- {n}:end -->\n"
                                  for n, t in SECTIONS)
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + block + after
    else:
        text = text.rstrip() + f"\n\n## {title}\n\n{block}\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
    log(f"wrote the {title.lower()} section of {DOC.relative_to(ROOT)}")
