"""Plain helper functions for tests (CTFd style): easy to read and compose."""

from __future__ import annotations

import copy
import html
import re
import socket
import threading
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.contentmanager import raw_data_manager
from email.message import Message

from aiosmtpd.controller import Controller

from app.auth import passwords
from app.auth.models import User
from app.database import utcnow
from app.extensions import db

PASSWORD = "correct horse battery staple"

HIGH_LIMIT = "10000 per minute"
LIMIT_NAMES = ("LIMIT_LOGIN_PER_EMAIL", "LIMIT_LOGIN_PER_IP", "LIMIT_RESET_PER_EMAIL", "LIMIT_REGISTER_PER_IP",
               "LIMIT_REGISTER_PER_EMAIL", "LIMIT_RESEND_PER_ACCOUNT", "LIMIT_EMAIL_CHANGE_PER_ACCOUNT",
               "LIMIT_GUEST_PER_EMAIL", "LIMIT_GUEST_PER_IP", "LIMIT_REPLY_PER_DISCUSSION",
               "LIMIT_REPORTS_PER_MEMBER")


def day_in_words(day) -> str:
    """A day as English pages write it: "Thu 4 Dec", with the year when it is not this one."""
    import datetime as dt
    year = f" {day.year}" if day.year != dt.date.today().year else ""
    return f"{day:%a} {day.day} {day:%b}{year}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _plain_of_alternative(message):
    """A mail with a text and an HTML part reads as its text (``get_content()``)."""
    return message.get_body(("plain",)).get_content()


_CONTENT = copy.deepcopy(raw_data_manager)
_CONTENT.add_get_handler("multipart/alternative", _plain_of_alternative)
MAIL_POLICY = policy.default.clone(content_manager=_CONTENT)


class MailBox:
    """A real SMTP server on localhost that keeps what it receives."""

    def __init__(self):
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    delay = 0.0  # seconds each mail takes to be accepted (a slow server, for kill tests)

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            import asyncio
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.content, policy=MAIL_POLICY)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def start(self):
        self._controller.start()

    def stop(self):
        self._controller.stop()

    def clear(self):
        with self._lock:
            self.messages.clear()

    def to(self, address: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def last(self, address: str) -> Message:
        """The last mail to an address; fails the test if there is none."""
        mails = self.to(address)
        assert mails, f"no mail to {address}; got mail to {[m['To'] for m in self.messages]}"
        return mails[-1]

    def last_link(self, address: str, path_part: str) -> str:
        """The path of the last link in the last mail to an address."""
        body = self.last(address).get_content()
        links = [p for p in re.findall(r"https?://[^\s/]+(/\S*)", body) if path_part in p]
        assert links, f"no link with {path_part!r} in: {body}"
        return links[-1]


def cheap_config(database_url: str, mailbox: MailBox, instance_path) -> dict:
    """Test settings: cheap hashing (one test checks the real parameters),
    the real SMTP server, and limits raised for tests that are not about them."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 8,
        "ARGON2_PARALLELISM": 1,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": mailbox.port,
        "SMTP_STARTTLS": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "LIMIT_LOGIN_PER_EMAIL": HIGH_LIMIT,
        "LIMIT_LOGIN_PER_IP": HIGH_LIMIT,
        "LIMIT_RESET_PER_EMAIL": HIGH_LIMIT,
        "LIMIT_REGISTER_PER_IP": HIGH_LIMIT, "LIMIT_REGISTER_PER_EMAIL": HIGH_LIMIT,
        "LIMIT_RESEND_PER_ACCOUNT": HIGH_LIMIT,
        "LIMIT_EMAIL_CHANGE_PER_ACCOUNT": HIGH_LIMIT,
        "LIMIT_GUEST_PER_EMAIL": HIGH_LIMIT,
        "LIMIT_GUEST_PER_IP": HIGH_LIMIT,
        "LIMIT_REPLY_PER_DISCUSSION": HIGH_LIMIT,
        "LIMIT_REPORTS_PER_MEMBER": HIGH_LIMIT,
        # Mail comes right away whatever the hour the tests run at; the tests
        # of quiet hours set them (tests/test_notify.py).
        "QUIET_HOURS": (0, 0),
    }


def csrf_token(client) -> str:
    """The CSRF token of the client's session, read from a page as a browser would."""
    page = client.get("/auth/login", follow_redirects=True).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def post(client, url: str, data: dict | None = None, **kwargs):
    """Post a form as a browser does: with the session's CSRF token."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(client))
    return client.post(url, data=data, **kwargs)


def make_user(email: str = "ada@example.org", name: str = "Ada", verified: bool = True,
              password: str = PASSWORD, time_zone: str | None = "Europe/Berlin") -> User:
    """An account straight in the database (inside an app context)."""
    user = User(email=email, display_name=name, password_hash=passwords.hash_password(password),
                email_verified_at=utcnow() if verified else None, time_zone=time_zone)
    db.session.add(user)
    db.session.commit()
    return user


def add_user(app, **kwargs) -> int:
    with app.app_context():
        return make_user(**kwargs).id


def login(client, email: str = "ada@example.org", password: str = PASSWORD, remember: bool = False):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return post(client, "/auth/login", data)


def text_of(response) -> str:
    """The page as a person reads it: HTML entities unescaped."""
    return html.unescape(response.get_data(as_text=True))


@contextmanager
def plain_transaction():
    """TEST ONLY, for negative controls: what a view's write unit becomes when
    patched away: whatever transaction is open carries on (a deferred one on
    SQLite, no IMMEDIATE) and commits at the end."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
