"""Accounts through the test client: register, verify, sign in and out,
passwords, reset, deletion. Every test runs on SQLite and on PostgreSQL."""

import datetime as dt
import re

import time_machine
from sqlalchemy import func, select

from app.auth.models import AccountToken, LoginSession, User
from app.extensions import db

from .helpers import PASSWORD, add_user, login, post, text_of


def register(client, email="ada@example.org", name="Ada", password=PASSWORD, time_zone="Europe/Berlin"):
    return post(client, "/auth/register",
                {"email": email, "display_name": name, "password": password, "time_zone": time_zone})


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def get_user(app, email):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge_all()
        return user


# --- registering and confirming ---------------------------------------------

def test_register_verify_and_sign_in(app, client, mailbox):
    response = register(client)
    assert response.status_code == 303 and response.location.endswith("/auth/check-email")
    assert "We sent a message to ada@example.org" in text_of(client.get("/auth/check-email"))
    assert get_user(app, "ada@example.org").email_verified_at is None

    link = mailbox.last_link("ada@example.org", "/auth/verify/")
    assert "Confirm my email address" in text_of(client.get(link))
    # Opening the link does not spend it (mail scanners open links); the button does.
    assert get_user(app, "ada@example.org").email_verified_at is None
    response = post(client, link)
    assert response.status_code == 303
    assert get_user(app, "ada@example.org").email_verified_at is not None

    response = login(client)
    assert response.status_code == 303 and response.location == "/"
    home = text_of(client.get("/"))
    assert "Hello, Ada" in home and "One step left" not in home


def test_unverified_account_can_sign_in_and_sees_what_awaits(app, client, mailbox):
    register(client)
    login(client)
    home = text_of(client.get("/"))
    assert "One step left: confirm your email" in home
    mailbox.clear()
    response = post(client, "/auth/verify/resend", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "We sent a new link to ada@example.org" in text_of(response)
    assert "<html" not in text_of(response)  # a partial for htmx
    # It replaces the button that asked: focus moves to the news.
    assert 'role="status" tabindex="-1" autofocus' in response.get_data(as_text=True)
    assert mailbox.last("ada@example.org")
    # Without JavaScript: the same post redirects home with a message.
    response = post(client, "/auth/verify/resend", follow_redirects=True)
    assert "We sent a new link" in text_of(response)


def test_verify_link_expires_after_24_hours(app, client, mailbox):
    register(client)
    link = mailbox.last_link("ada@example.org", "/auth/verify/")
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=24, minutes=1)):
        response = post(client, link)
    assert response.status_code == 410
    assert "This link no longer works" in text_of(response)
    assert get_user(app, "ada@example.org").email_verified_at is None


def test_time_zone_comes_from_the_browser(app, client):
    register(client, time_zone="America/New_York")
    assert get_user(app, "ada@example.org").time_zone == "America/New_York"
    register(client, email="bruno@example.org", time_zone="Mars/Olympus")
    assert get_user(app, "bruno@example.org").time_zone is None


def test_register_bad_input_saves_nothing(app, client):
    cases = [
        ({"email": "not-an-email"}, "doesn't look like an email address"),
        ({"password": "short"}, "at least 8 characters"),
        ({"password": "password123"}, "list of passwords people guess first"),
        ({"password": "x" * 129}, "under 128 characters"),
        ({"display_name": ""}, "what to call you"),
    ]
    for change, message in cases:
        data = {"email": "ada@example.org", "name": "Ada", "password": PASSWORD, "time_zone": "UTC"} | change
        response = register(client, email=data["email"], name=data.get("display_name", "Ada"),
                            password=data["password"], time_zone=data["time_zone"])
        assert response.status_code == 422, change
        assert message in text_of(response), change
    assert count(app, User) == 0


def test_long_passphrase_and_paste_allowed(app, client):
    phrase = "the quick brown fox jumps over the lazy dog on elm street"  # 57 chars
    assert register(client, password=phrase + "1234567").status_code == 303  # 64 chars
    assert get_user(app, "ada@example.org") is not None


def test_register_does_not_tell_who_has_an_account(app, client, mailbox):
    add_user(app, email="ada@example.org", name="Ada")
    taken = register(client, email="ada@example.org", name="Someone")
    fresh = register(client, email="bruno@example.org", name="Bruno")
    assert taken.status_code == fresh.status_code == 303
    assert taken.location == fresh.location
    # One mail each: the owner of the taken address learns someone tried.
    assert "already has one" in mailbox.last("ada@example.org").get_content()
    assert "/auth/verify/" in mailbox.last("bruno@example.org").get_content()
    assert count(app, User) == 2


# --- signing in and out -------------------------------------------------------

def test_login_wrong_password_and_unknown_email_answer_alike(app, client):
    add_user(app)
    wrong = login(client, password="not the password")
    unknown = login(client, email="nobody@example.org", password="not the password")
    assert wrong.status_code == unknown.status_code == 422
    message = "That email and password don't match"
    assert message in text_of(wrong) and message in text_of(unknown)
    assert count(app, LoginSession) == 0


def test_login_redirects_to_next_only_on_this_site(app, client):
    add_user(app)
    response = post(client, "/auth/login?next=/auth/account", {"email": "ada@example.org", "password": PASSWORD})
    assert response.location == "/auth/account"
    client.post  # new client for the other case
    other = app.test_client()
    response = post(other, "/auth/login?next=https://evil.example/", {"email": "ada@example.org", "password": PASSWORD})
    assert response.location == "/"


def test_logout_ends_the_session_on_the_server(app, client):
    add_user(app)
    login(client, remember=True)
    assert count(app, LoginSession) == 1
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    response = post(client, "/auth/logout")
    assert response.status_code == 303
    assert response.headers["Clear-Site-Data"] == '"cache"'
    assert count(app, LoginSession) == 0
    # A copy of the old remember cookie no longer signs anyone in.
    thief = app.test_client()
    thief.set_cookie("remember_token", cookie.value)
    assert client.get("/auth/account").status_code == 303
    assert thief.get("/auth/account").status_code == 303


def test_sign_out_everywhere_ends_every_session(app, client):
    add_user(app)
    phone, laptop = app.test_client(), app.test_client()
    login(phone, remember=True)
    login(laptop)
    assert phone.get("/auth/account").status_code == 200
    response = post(laptop, "/auth/account/sign-out-everywhere")
    assert response.status_code == 303
    assert count(app, LoginSession) == 0
    assert phone.get("/auth/account").status_code == 303
    assert laptop.get("/auth/account").status_code == 303
    # Not even the remember cookie brings the phone back.
    phone.set_cookie("session", "")
    assert phone.get("/auth/account").status_code == 303


def test_signed_in_pages_are_not_stored(app, client):
    add_user(app)
    login(client)
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert client.get("/auth/account").headers["Cache-Control"] == "no-store"


def test_session_cookie_is_renewed_at_sign_in(app, client):
    add_user(app)
    client.get("/auth/login")
    before = client.get_cookie("session").value
    login(client)
    assert client.get_cookie("session").value != before


# --- changing and resetting passwords ---------------------------------------

def test_change_password_signs_out_other_devices(app, client):
    add_user(app)
    other = app.test_client()
    login(client)
    login(other)
    response = post(client, "/auth/account/password",
                    {"current_password": PASSWORD, "password": "a brand new passphrase"})
    assert response.status_code == 303
    assert client.get("/auth/account").status_code == 200
    assert other.get("/auth/account").status_code == 303
    assert login(app.test_client(), password=PASSWORD).status_code == 422
    assert login(app.test_client(), password="a brand new passphrase").status_code == 303


def test_change_password_needs_the_current_one(app, client):
    add_user(app)
    login(client)
    response = post(client, "/auth/account/password", {"current_password": "wrong one", "password": "another good one"})
    assert response.status_code == 422
    assert "not your current password" in text_of(response)


def test_reset_password_by_mail(app, client, mailbox):
    add_user(app)
    laptop = app.test_client()
    login(laptop)
    response = post(client, "/auth/reset", {"email": "Ada@Example.org "})
    assert response.status_code == 200 and "Check your email" in text_of(response)
    link = mailbox.last_link("ada@example.org", "/auth/reset/")
    assert client.get(link).status_code == 200
    response = post(client, link, {"password": "my new long password"})
    assert response.status_code == 303
    assert laptop.get("/auth/account").status_code == 303  # every session ended
    assert login(client, password="my new long password").status_code == 303
    # Single use.
    assert app.test_client().get(link).status_code == 410


def test_reset_link_expires_within_30_minutes(app, client, mailbox):
    add_user(app)
    post(client, "/auth/reset", {"email": "ada@example.org"})
    link = mailbox.last_link("ada@example.org", "/auth/reset/")
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30, seconds=1)):
        response = post(client, link, {"password": "my new long password"})
    assert response.status_code == 410
    assert login(app.test_client()).status_code == 303


def test_reset_answers_alike_for_unknown_addresses(app, client, mailbox):
    add_user(app)
    known = post(client, "/auth/reset", {"email": "ada@example.org"})
    unknown = post(client, "/auth/reset", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    def page(response, address):
        return re.sub(r'nonce="[^"]+"', "", text_of(response).replace(address, "X"))

    assert page(known, "ada@example.org") == page(unknown, "nobody@example.org")
    assert len(mailbox.to("ada@example.org")) == 1
    assert len(mailbox.to("nobody@example.org")) == 1
    assert "there is no account" in mailbox.last("nobody@example.org").get_content()
    assert count(app, AccountToken) == 1


# --- time zone ------------------------------------------------------------------

def test_choose_time_zone(app, client):
    add_user(app, time_zone=None)
    login(client)
    assert post(client, "/auth/account/time-zone", {"time_zone": "Asia/Tokyo"}).status_code == 303
    assert get_user(app, "ada@example.org").time_zone == "Asia/Tokyo"
    response = post(client, "/auth/account/time-zone", {"time_zone": "Nowhere/Special"})
    assert response.status_code == 422
    assert get_user(app, "ada@example.org").time_zone == "Asia/Tokyo"


# --- deleting an account ---------------------------------------------------------

def test_delete_account(app, client, mailbox):
    user_id = add_user(app)
    other = app.test_client()
    login(client, remember=True)
    login(other)
    page = text_of(client.get("/auth/account/delete"))
    assert "a former member" in page and "withdrawn" in page
    assert post(client, "/auth/account/delete", {"password": "wrong"}).status_code == 422
    response = post(client, "/auth/account/delete", {"password": PASSWORD})
    assert response.status_code == 303
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.is_deleted and user.email is None and user.password_hash is None
        assert user.shown_name == "a former member"
    assert count(app, LoginSession) == 0
    assert other.get("/auth/account").status_code == 303
    assert login(app.test_client()).status_code == 422
    # A reset link cannot bring it back.
    post(app.test_client(), "/auth/reset", {"email": "ada@example.org"})
    assert "there is no account" in mailbox.last("ada@example.org").get_content()
    # The address is free for a new account.
    assert register(app.test_client()).status_code == 303
    assert count(app, User) == 2
