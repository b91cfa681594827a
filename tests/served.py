"""The app really served: gunicorn in a subprocess on a database of its own,
for browser, budget and concurrency tests. Plain functions, used by fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .helpers import HIGH_LIMIT, free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET = "served-test-secret"
# Seconds gunicorn may take to answer its first request. Each worker imports
# the app; on a loaded machine 16 of them took more than 30 s.
READY_WITHIN = 120


@dataclass
class Served:
    base_url: str
    database_url: str
    process: subprocess.Popen
    log_path: Path
    accounts: list[tuple[str, str]] = field(default_factory=list)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def app_config(database_url: str, mail_port: int | None = None) -> dict:
    """The configuration the served app runs with, for building the same app in-process."""
    return {
        "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET,
        "SMTP_HOST": "127.0.0.1" if mail_port else None, "SMTP_PORT": mail_port or 25, "SMTP_STARTTLS": False,
        "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1,
    }


def prepare(database_url: str, scale: int | None = 1) -> list[tuple[str, str]]:
    """Create the schema (marked as the latest revision), and fill it with the demo data at ``scale`` (None: empty)."""
    from app import create_app
    from app.cli import seed_demo
    from app.extensions import db
    from app.ops import mark_current

    app = create_app(app_config(database_url))
    with app.app_context():
        db.create_all()
        mark_current(db.engine)  # the served app refuses a schema without its revision
        accounts = seed_demo(scale) if scale else []
        db.session.remove()
        db.engine.dispose()
    return accounts


def serve(database_url: str, log_dir: Path, workers: int = 2, mail_port: int | None = None,
          extra_env: dict | None = None, app_module: str = "wsgi:app") -> Served:
    """Start gunicorn as `make run` would (sync workers, separate processes).
    Two workers unless a test needs more: every worker is a process booting
    the app, on a machine the tests share. ``app_module`` names another WSGI
    app (tests/unsafe_wsgi.py).

    :raise RuntimeError: gunicorn exited, or did not answer within READY_WITHIN.
    """
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url, "SECRET_KEY": SECRET, "BASE_URL": f"http://127.0.0.1:{port}",
        "LIMIT_LOGIN_PER_EMAIL": HIGH_LIMIT, "LIMIT_LOGIN_PER_IP": HIGH_LIMIT, "LIMIT_RESET_PER_EMAIL": HIGH_LIMIT,
        "LIMIT_REGISTER_PER_IP": HIGH_LIMIT, "LIMIT_REGISTER_PER_EMAIL": HIGH_LIMIT,
        "LIMIT_RESEND_PER_ACCOUNT": HIGH_LIMIT,
        "LIMIT_GUEST_PER_EMAIL": HIGH_LIMIT, "LIMIT_GUEST_PER_IP": HIGH_LIMIT,
        "SMTP_STARTTLS": "0", "PYTHONUNBUFFERED": "1",
        # Mail comes right away whatever the hour the tests run at (as tests/helpers.py's config): with
        # quiet hours from 21:00 Berlin, a seat's mail waited until morning in runs after 20:00 UTC.
        "QUIET_HOURS": "0-0",
    }
    if mail_port:
        env |= {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail_port)}
    env |= extra_env or {}
    log_path = log_dir / f"gunicorn-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--timeout", "60", "--graceful-timeout", "2", "--no-control-socket", app_module],
        cwd=ROOT, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    served = Served(f"http://127.0.0.1:{port}", database_url, process, log_path)
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        try:
            # Wait as long as the deadline allows: a request given up on would
            # still be served later, by a worker busy booting on a loaded machine.
            urllib.request.urlopen(served.base_url + "/auth/login",
                                   timeout=max(1.0, deadline - time.monotonic())).read()
            return served
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    served.stop()
    raise RuntimeError(f"gunicorn did not answer within {READY_WITHIN} s:\n" + served.log())


def session_cookie(database_url: str, email: str) -> str:
    """Sign someone in without the form: a server-side session row and the
    signed cookie that names it, as the login view would make."""
    from flask import session
    from sqlalchemy import select

    from app import create_app
    from app.auth import domain
    from app.auth.models import User
    from app.extensions import db

    app = create_app(app_config(database_url))
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.email == email))
        token = domain.start_session(user)
        db.session.commit()
        session["_user_id"] = token
        session["_fresh"] = True
        value = app.session_interface.get_signing_serializer(app).dumps(dict(session))
        db.session.remove()
        db.engine.dispose()
    return value
