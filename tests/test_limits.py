"""Rate limits as someone guessing passwords, or flooding a mailbox, meets
them. The session app raises every limit; each test here makes its own app
with low ones, on the same database. Every test runs on SQLite and on
PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import func, select

from app.auth.models import LoginSession, User
from app.extensions import db

from .helpers import PASSWORD, add_user, login, post, text_of

SLOW_DOWN = "Let's slow down a little"


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def from_address(app, address: str):
    """A browser at another address (its own cookies)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def assert_slowed_down(response) -> None:
    page = text_of(response)
    assert response.status_code == 429, (response.status_code, page[:300])
    assert SLOW_DOWN in page and '<header class="bar">' in page
    assert "Traceback" not in page and "Too Many Requests" not in page


def register(client, email, password=PASSWORD):
    return post(client, "/auth/register", {"email": email, "display_name": "Someone",
                                           "password": password, "time_zone": "UTC"})


def later(**delta):
    return time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta))


# --- signing in ---------------------------------------------------------------------

@pytest.mark.parametrize("email", ["ada@example.org", "nobody@example.org"])
def test_login_is_limited_per_email_typed(make_app, email):
    app = make_app(LIMIT_LOGIN_PER_EMAIL="3 per hour")
    add_user(app, email="ada@example.org")
    client = app.test_client()
    for _ in range(3):
        assert login(client, email=email, password="a wrong guess").status_code == 422
    # The fourth try is refused before the password is looked at: even the
    # right one (for the account that exists) does not get in.
    assert_slowed_down(login(client, email=email, password=PASSWORD))
    assert count(app, LoginSession) == 0
    # Another spelling of the same address, or another computer, is the same account.
    assert_slowed_down(login(client, email=f"  {email.upper()} ", password=PASSWORD))
    assert_slowed_down(login(from_address(app, "198.51.100.7"), email=email, password=PASSWORD))
    assert count(app, LoginSession) == 0
    # A different address from the same client is still allowed.
    assert login(client, email="bruno@example.org", password="a wrong guess").status_code == 422


def test_existing_and_unknown_emails_are_limited_alike(make_app):
    app = make_app(LIMIT_LOGIN_PER_EMAIL="3 per hour")
    add_user(app, email="ada@example.org")
    answers = {}
    for email in ("ada@example.org", "nobody@example.org"):
        client = app.test_client()
        answers[email] = [login(client, email=email, password="a wrong guess").status_code for _ in range(5)]
    assert answers["ada@example.org"] == answers["nobody@example.org"] == [422, 422, 422, 429, 429]


def test_showing_the_login_page_is_not_counted(make_app):
    app = make_app(LIMIT_LOGIN_PER_EMAIL="3 per hour", LIMIT_LOGIN_PER_IP="3 per hour")
    add_user(app)
    client = app.test_client()
    for _ in range(10):
        assert client.get("/auth/login").status_code == 200
    assert login(client, password="a wrong guess").status_code == 422
    assert login(client, password="a wrong guess").status_code == 422
    assert login(client).status_code == 303


def test_login_is_limited_per_client_address(make_app):
    app = make_app(LIMIT_LOGIN_PER_IP="3 per hour")
    hall = from_address(app, "203.0.113.5")
    for n in range(3):
        assert login(hall, email=f"guess{n}@example.org", password="wrong").status_code == 422
    assert_slowed_down(login(hall, email="guess9@example.org", password="wrong"))
    # Another address is not held back by this one.
    assert login(from_address(app, "203.0.113.6"), email="guess9@example.org", password="wrong").status_code == 422


def test_login_limit_ends_after_its_window(make_app):
    app = make_app(LIMIT_LOGIN_PER_EMAIL="2 per hour")
    add_user(app)
    client = app.test_client()
    for _ in range(2):
        assert login(client, password="a wrong guess").status_code == 422
    assert_slowed_down(login(client))
    with later(minutes=59):
        assert_slowed_down(login(client))
    with later(hours=1, seconds=5):
        assert login(client).status_code == 303


# --- password resets -----------------------------------------------------------------

def test_reset_requests_are_limited_per_email(make_app, mailbox):
    app = make_app(LIMIT_RESET_PER_EMAIL="2 per 30 minutes")
    add_user(app)
    client = app.test_client()
    for email in ("ada@example.org", "nobody@example.org"):
        for _ in range(2):
            assert post(client, "/auth/reset", {"email": email}).status_code == 200
        assert_slowed_down(post(from_address(app, "198.51.100.7"), "/auth/reset", {"email": email.upper()}))
        assert len(mailbox.to(email)) == 2, email  # no third mail in that inbox
    assert post(client, "/auth/reset", {"email": "bruno@example.org"}).status_code == 200
    assert len(mailbox.to("bruno@example.org")) == 1

    with later(minutes=29):
        assert_slowed_down(post(client, "/auth/reset", {"email": "ada@example.org"}))
    with later(minutes=30, seconds=5):
        assert post(client, "/auth/reset", {"email": "ada@example.org"}).status_code == 200
    assert len(mailbox.to("ada@example.org")) == 3


# --- registering ------------------------------------------------------------------------

def test_registrations_are_limited_per_client_address(make_app, mailbox):
    app = make_app(LIMIT_REGISTER_PER_IP="2 per hour")
    bot = from_address(app, "203.0.113.5")
    assert register(bot, "one@example.org").status_code == 303
    assert register(bot, "two@example.org").status_code == 303
    assert_slowed_down(register(bot, "three@example.org"))
    assert count(app, User) == 2
    assert mailbox.to("three@example.org") == []
    # The page itself still shows; a neighbour elsewhere can still join.
    assert bot.get("/auth/register").status_code == 200
    assert register(from_address(app, "198.51.100.7"), "three@example.org").status_code == 303
    assert count(app, User) == 3
    with later(hours=1, seconds=5):
        assert register(bot, "four@example.org").status_code == 303
    assert count(app, User) == 4


def test_ipv6_addresses_count_per_64(make_app):
    app = make_app(LIMIT_REGISTER_PER_IP="2 per hour")
    assert register(from_address(app, "2001:db8:1:2::1"), "one@example.org").status_code == 303
    assert register(from_address(app, "2001:db8:1:2::ffff"), "two@example.org").status_code == 303
    # A third address of the same /64 is the same household.
    assert_slowed_down(register(from_address(app, "2001:db8:1:2:abcd::9"), "three@example.org"))
    assert register(from_address(app, "2001:db8:1:3::1"), "three@example.org").status_code == 303


# --- proxies --------------------------------------------------------------------------------

def test_forwarded_for_cannot_be_used_to_escape_a_limit(make_app):
    direct = make_app(LIMIT_REGISTER_PER_IP="1 per hour")
    client = from_address(direct, "203.0.113.5")
    assert register(client, "one@example.org").status_code == 303
    # Without a proxy, X-Forwarded-For is the client's own say-so.
    response = post(client, "/auth/register", {"email": "two@example.org", "display_name": "B",
                                               "password": PASSWORD, "time_zone": "UTC"},
                    headers={"X-Forwarded-For": "192.0.2.1"})
    assert_slowed_down(response)


def test_behind_one_proxy_only_the_address_it_saw_counts(make_app):
    proxied = make_app(LIMIT_REGISTER_PER_IP="1 per hour", PROXY_COUNT=1)
    proxy = from_address(proxied, "10.0.0.2")

    def register_via_proxy(email, claimed=None):
        # The proxy appends the address it saw; whatever the client claimed comes before it.
        forwarded = ", ".join(filter(None, [claimed, "203.0.113.5"]))
        return post(proxy, "/auth/register", {"email": email, "display_name": "B", "password": PASSWORD,
                                              "time_zone": "UTC"}, headers={"X-Forwarded-For": forwarded})

    assert register_via_proxy("one@example.org").status_code == 303
    assert_slowed_down(register_via_proxy("two@example.org", claimed="192.0.2.1"))
    # Another client behind the same proxy is someone else.
    response = post(proxy, "/auth/register", {"email": "three@example.org", "display_name": "C",
                                              "password": PASSWORD, "time_zone": "UTC"},
                    headers={"X-Forwarded-For": "203.0.113.77"})
    assert response.status_code == 303


# --- the defaults -----------------------------------------------------------------------------

def test_documented_defaults_apply_when_nothing_is_configured(make_app, mailbox):
    app = make_app(defaults=True)
    assert app.config["LIMIT_LOGIN_PER_EMAIL"] == "25 per hour"
    assert app.config["LIMIT_RESET_PER_EMAIL"] == "5 per 30 minutes"

    add_user(app)
    client = app.test_client()
    for n in range(25):
        assert login(client, password="a wrong guess").status_code == 422, n
    assert_slowed_down(login(client))
    assert login(client, email="bruno@example.org", password="a wrong guess").status_code == 422

    for n in range(5):
        assert post(client, "/auth/reset", {"email": "ada@example.org"}).status_code == 200, n
    assert_slowed_down(post(client, "/auth/reset", {"email": "ada@example.org"}))
    assert len(mailbox.to("ada@example.org")) == 5

    with later(minutes=30, seconds=5):
        assert_slowed_down(login(client))  # an hour's limit, not half an hour's
        assert post(client, "/auth/reset", {"email": "ada@example.org"}).status_code == 200
    with later(hours=1, seconds=5):
        assert login(client).status_code == 303
