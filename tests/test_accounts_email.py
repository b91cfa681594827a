"""The account page: changing your name, and changing your email address by
a link to the new address with an undo link to the old one. Through the test
client and the real SMTP server, as plain form posts (no JavaScript); every
test runs on SQLite and on PostgreSQL."""

import datetime as dt
import re

import time_machine
from sqlalchemy import func, select

from app.auth import domain
from app.auth.models import AccountToken, LoginSession, User
from app.extensions import db

from .helpers import PASSWORD, add_user, login, post, text_of

NEW = "ada.new@example.org"
CONFIRM = "/auth/email/confirm/"
UNDO = "/auth/email/undo/"


def get_user(app, user_id) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge_all()
        return user


def signed_in(app, email="ada@example.org", password=PASSWORD):
    client = app.test_client()
    assert login(client, email, password).status_code == 303
    return client


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def ask_to_change(client, email=NEW, password=PASSWORD):
    return post(client, "/auth/account/email", {"email": email, "current_password": password})


def later(**delta):
    return time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta))


def page_without_secrets(text: str) -> str:
    """A page with what differs on every request (nonces, CSRF tokens) taken out."""
    text = re.sub(r'nonce="[^"]+"', "", text)
    text = re.sub(r'"X-CSRFToken": "[^"]+"', "", text)
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"|value="[^"]+"[^>]*name="csrf_token"', "", text)


# --- your name -------------------------------------------------------------------

def test_change_name(app):
    user_id = add_user(app)
    client = signed_in(app)
    page = text_of(client.get("/auth/account"))
    assert 'action="/auth/account/name"' in page and 'value="Ada"' in page
    response = post(client, "/auth/account/name", {"display_name": "  Ada Lovelace  "})
    assert response.status_code == 303 and response.location == "/auth/account"
    assert get_user(app, user_id).display_name == "Ada Lovelace"
    page = text_of(client.get("/auth/account"))
    assert "neighbours now see you as Ada Lovelace" in page and 'value="Ada Lovelace"' in page


def test_change_name_refuses_control_characters_and_bad_lengths(app):
    user_id = add_user(app)
    client = signed_in(app)
    cases = [
        ("Ada\x00Lovelace", "control characters"),
        ("Ada\nLovelace", "control characters"),
        ("Ada\tLovelace", "control characters"),
        ("Ada\x1bLovelace", "control characters"),
        ("Ada\x7fLovelace", "control characters"),
        ("Ada\x85Lovelace", "control characters"),
        ("", "what to call you"),
        ("   ", "what to call you"),
        ("x" * 81, "under 80 characters"),
    ]
    for name, message in cases:
        response = post(client, "/auth/account/name", {"display_name": name})
        assert response.status_code == 422, repr(name)
        page = text_of(response)
        assert message in page, repr(name)
        assert "<h1>Your account</h1>" in page  # the account page again, message beside the field
    assert get_user(app, user_id).display_name == "Ada"
    # Spaces, letters of any script and 80 characters are fine; the edge of the
    # refused range (U+0020, U+00A0) is not a control character.
    for name in ["Ada " * 19 + "Ada", "Ada\u00a0L. 🙂", "Élif Şahin", "x" * 80]:
        assert post(client, "/auth/account/name", {"display_name": name}).status_code == 303, repr(name)
        assert get_user(app, user_id).display_name == name.strip()


def test_register_refuses_control_characters_in_the_name_too(app, client):
    response = post(client, "/auth/register", {"email": "ada@example.org", "display_name": "Ada\x00",
                                               "password": "correct horse battery staple", "time_zone": "UTC"})
    assert response.status_code == 422 and "control characters" in text_of(response)
    with app.app_context():
        assert db.session.scalar(select(User)) is None


def test_change_name_needs_signing_in(app, client):
    add_user(app)
    response = post(client, "/auth/account/name", {"display_name": "Mallory"})
    assert response.status_code == 303 and "/auth/login" in response.location


# --- your email address: the whole change ------------------------------------------------

def test_change_email_by_a_link_to_the_new_address(app, mailbox):
    user_id = add_user(app)
    here, phone = signed_in(app), signed_in(app)
    page = text_of(here.get("/auth/account"))
    assert 'action="/auth/account/email"' in page and 'type="email"' in page

    response = ask_to_change(here, email="  Ada.New@Example.ORG ")
    assert response.status_code == 303 and response.location == "/auth/account"
    assert f"We sent a link to {NEW}" in text_of(here.get("/auth/account"))
    # The new address gets the link; the old one a notice naming the new
    # address, with a link to undo.
    link = mailbox.last_link(NEW, CONFIRM)
    notice = mailbox.last("ada@example.org")
    assert "about to change" in notice["Subject"] and NEW in notice.get_content()
    assert mailbox.last_link("ada@example.org", UNDO)
    assert len(mailbox.messages) == 2
    # Nothing changes until the link is opened: the old address still signs in.
    assert get_user(app, user_id).email == "ada@example.org"
    assert login(app.test_client()).status_code == 303

    # Opening the link shows a button and spends nothing (mail scanners open links).
    page = text_of(here.get(link))
    assert "Use this address" in page and NEW in page
    assert get_user(app, user_id).email == "ada@example.org"

    response = post(here, link)
    assert response.status_code == 303 and response.location == "/auth/account"
    user = get_user(app, user_id)
    assert user.email == NEW and user.is_verified
    # This browser carries on, in a new session; every other one is signed out.
    page = text_of(here.get("/auth/account"))
    assert f"Your email address is now {NEW}" in page
    assert phone.get("/auth/account").status_code == 303
    assert count(app, LoginSession) == 1

    assert login(app.test_client()).status_code == 422  # the old address signs in no more
    assert login(app.test_client(), NEW).status_code == 303
    # The link works once.
    assert here.get(link).status_code == 410
    assert post(app.test_client(), link).status_code == 410


def test_confirming_in_a_signed_out_browser_signs_out_everywhere(app, mailbox):
    user_id = add_user(app)
    here = signed_in(app)
    ask_to_change(here)
    mail_app = app.test_client()  # the link opened from the mail app, on another device
    response = post(mail_app, mailbox.last_link(NEW, CONFIRM))
    assert response.status_code == 303 and response.location == "/auth/login"
    assert f"Your email address is now {NEW}" in text_of(mail_app.get("/auth/login"))
    assert get_user(app, user_id).email == NEW
    assert count(app, LoginSession) == 0
    assert here.get("/auth/account").status_code == 303


def test_change_email_needs_the_password(app, mailbox):
    user_id = add_user(app)
    client = signed_in(app)
    response = ask_to_change(client, password="not my password")
    assert response.status_code == 422
    page = text_of(response)
    assert "That is not your password" in page and "<h1>Your account</h1>" in page
    assert f'value="{NEW}"' in page  # what was typed stays
    assert mailbox.messages == []
    assert count(app, AccountToken) == 0
    assert get_user(app, user_id).email == "ada@example.org"


def test_change_email_refuses_bad_input(app, mailbox):
    add_user(app)
    client = signed_in(app)
    cases = [
        ({"email": "not-an-email", "current_password": PASSWORD}, "doesn't look like an email address"),
        ({"email": "", "current_password": PASSWORD}, "Please give your email address"),
        ({"email": NEW, "current_password": ""}, "Please give your password"),
        ({"email": " ADA@example.org", "current_password": PASSWORD}, "That is already your address"),
        ({"email": "ada\x00@example.org", "current_password": PASSWORD}, "leave out control characters"),
        ({"email": "a" * 320 + "@example.org", "current_password": PASSWORD}, ""),
    ]
    for data, message in cases:
        response = post(client, "/auth/account/email", data)
        assert response.status_code == 422, data
        assert message in text_of(response), data
    assert mailbox.messages == []
    assert count(app, AccountToken) == 0


def test_change_email_needs_signing_in(app, client, mailbox):
    add_user(app)
    response = ask_to_change(client)
    assert response.status_code == 303 and "/auth/login" in response.location
    assert mailbox.messages == []


def test_a_taken_address_answers_alike_and_changes_nothing(app, mailbox):
    ada_id = add_user(app)
    bruno_id = add_user(app, email="bruno@example.org", name="Bruno")
    client = signed_in(app)

    free = ask_to_change(client, email="free@example.org")
    free_page = text_of(client.get(free.location))
    taken = ask_to_change(client, email="bruno@example.org")
    taken_page = text_of(client.get(taken.location))
    assert free.status_code == taken.status_code == 303 and free.location == taken.location
    assert (page_without_secrets(free_page.replace("free@example.org", "X"))
            == page_without_secrets(taken_page.replace("bruno@example.org", "X")))

    # Two mails each time; the taken address hears that it has an account, with no link.
    assert len(mailbox.messages) == 4
    note = mailbox.last("bruno@example.org")
    assert "already has an account of its own" in note.get_content()
    assert CONFIRM not in note.get_content()
    assert mailbox.last_link("free@example.org", CONFIRM)
    # The old address gets the same notice either way.
    first, second = mailbox.to("ada@example.org")
    assert first["Subject"] == second["Subject"]

    def notice(mail, address):
        return re.sub(r"/auth/email/undo/\S+", "LINK", mail.get_content().replace(address, "X"))

    assert notice(first, "free@example.org") == notice(second, "bruno@example.org")
    assert get_user(app, ada_id).email == "ada@example.org"
    assert get_user(app, bruno_id).email == "bruno@example.org"
    assert count(app, AccountToken, AccountToken.purpose == "change") == 1  # the free one's
    assert login(app.test_client(), "bruno@example.org").status_code == 303


def test_an_address_taken_before_confirming_is_a_clear_page(app, mailbox):
    ada_id = add_user(app)
    client = signed_in(app)
    ask_to_change(client)
    link = mailbox.last_link(NEW, CONFIRM)
    add_user(app, email=NEW, name="Someone quicker")
    response = post(client, link)
    assert response.status_code == 409
    assert f"{NEW} belongs to another account now, so your address stays ada@example.org" in text_of(response)
    assert get_user(app, ada_id).email == "ada@example.org"
    assert client.get("/auth/account").status_code == 200  # nothing ended


def test_the_unique_constraint_is_the_last_guard(app, mailbox, monkeypatch):
    ada_id = add_user(app)
    client = signed_in(app)
    ask_to_change(client)
    link = mailbox.last_link(NEW, CONFIRM)
    add_user(app, email=NEW, name="Someone quicker")
    # As if that account had been written by a writer this unit could not see.
    monkeypatch.setattr(domain, "address_holder", lambda email, but_not=None: None)
    response = post(client, link)
    assert response.status_code == 409
    assert "belongs to another account now" in text_of(response)
    assert get_user(app, ada_id).email == "ada@example.org"
    monkeypatch.undo()
    assert client.get("/auth/account").status_code == 200


# --- links that no longer work ------------------------------------------------------------

def test_change_link_expires_after_24_hours(app, mailbox):
    user_id = add_user(app)
    client = signed_in(app)
    ask_to_change(client)
    link = mailbox.last_link(NEW, CONFIRM)
    with later(hours=24, minutes=1):
        assert client.get(link).status_code == 410
        response = post(client, link)
    assert response.status_code == 410
    assert "This link no longer works" in text_of(response)
    assert get_user(app, user_id).email == "ada@example.org"


def test_made_up_links_are_410(app, client):
    for path in [CONFIRM + "x" * 43, UNDO + "x" * 43]:
        assert client.get(path).status_code == 410
        response = post(client, path)
        assert response.status_code == 410 and "This link no longer works" in text_of(response)


def test_undo_link_works_for_7_days_then_no_more(app, mailbox):
    add_user(app)
    client = signed_in(app)
    ask_to_change(client)
    post(client, mailbox.last_link(NEW, CONFIRM))
    undo = mailbox.last_link("ada@example.org", UNDO)
    with later(days=6, hours=23):
        assert "Give me back my address" in text_of(app.test_client().get(undo))
    with later(days=7, minutes=1):
        assert app.test_client().get(undo).status_code == 410
        response = post(app.test_client(), undo)
    assert response.status_code == 410
    assert "This link no longer works" in text_of(response)
    assert login(app.test_client(), NEW).status_code == 303


# --- undoing a change ------------------------------------------------------------------------

def test_undo_gives_the_address_back_and_locks_out_whoever_changed_it(app, mailbox):
    user_id = add_user(app)
    ada = signed_in(app)
    # Someone who knows Ada's password moves the account to their own address,
    # and asks for a reset link there.
    mallory = signed_in(app)
    ask_to_change(mallory, email="mallory@example.net")
    undo = mailbox.last_link("ada@example.org", UNDO)
    post(mallory, mailbox.last_link("mallory@example.net", CONFIRM))
    assert get_user(app, user_id).email == "mallory@example.net"
    assert ada.get("/auth/account").status_code == 303
    post(app.test_client(), "/auth/reset", {"email": "mallory@example.net"})
    reset_for_mallory = mailbox.last_link("mallory@example.net", "/auth/reset/")
    ask_to_change(mallory, email="mallory2@example.net")
    change_for_mallory = mailbox.last_link("mallory2@example.net", CONFIRM)

    # Meanwhile Ada's old address is held for her: nobody can take it.
    assert post(app.test_client(), "/auth/register", {
        "email": "ada@example.org", "display_name": "Not Ada", "password": "another good passphrase",
        "time_zone": "UTC"}).status_code == 303
    assert "already has one" in mailbox.last("ada@example.org").get_content()
    assert count(app, User) == 1

    # Ada opens the undo link from her mail: a page that says what it does, then the button.
    page = text_of(ada.get(undo))
    assert "ada@example.org is your address again" in page and "Give me back my address" in page
    assert get_user(app, user_id).email == "mallory@example.net"  # opening spends nothing
    response = post(ada, undo)
    assert response.status_code == 303 and response.location == "/auth/login"
    assert "Your address is ada@example.org again" in text_of(ada.get("/auth/login"))

    user = get_user(app, user_id)
    assert user.email == "ada@example.org" and user.is_verified
    assert count(app, LoginSession) == 0
    assert mallory.get("/auth/account").status_code == 303
    # Every link Mallory held is spent, and the password Mallory knew no longer works.
    assert mallory.get(reset_for_mallory).status_code == 410
    assert post(mallory, change_for_mallory).status_code == 410
    assert login(app.test_client(), "ada@example.org").status_code == 422
    assert login(app.test_client(), "mallory@example.net").status_code == 422
    assert post(ada, undo).status_code == 410  # the undo link works once

    # Ada chooses a new password from the link that came with the undo.
    mail = mailbox.last("ada@example.org")
    assert "choose a new password" in mail["Subject"]
    reset = mailbox.last_link("ada@example.org", "/auth/reset/")
    assert post(ada, reset, {"password": "a fresh start for ada"}).status_code == 303
    assert login(ada, "ada@example.org", "a fresh start for ada").status_code == 303


def test_undo_before_the_change_is_confirmed(app, mailbox):
    user_id = add_user(app)
    client = signed_in(app)
    ask_to_change(client)
    link = mailbox.last_link(NEW, CONFIRM)
    undo = mailbox.last_link("ada@example.org", UNDO)
    response = post(client, undo)  # "It was not me", from a browser signed in to the account
    assert response.status_code == 303
    assert client.get("/auth/account").status_code == 303  # signed out here too
    assert count(app, LoginSession) == 0
    assert get_user(app, user_id).email == "ada@example.org"
    assert post(app.test_client(), link).status_code == 410
    assert get_user(app, user_id).email == "ada@example.org"


def test_going_back_to_your_own_held_address(app, mailbox):
    user_id = add_user(app)
    client = signed_in(app)
    ask_to_change(client)
    post(client, mailbox.last_link(NEW, CONFIRM))
    # The old address is held for Ada, not against her.
    ask_to_change(client, email="ada@example.org")
    post(client, mailbox.last_link("ada@example.org", CONFIRM))
    assert get_user(app, user_id).email == "ada@example.org"


# --- the limit ----------------------------------------------------------------------------

def test_change_requests_are_limited_per_account(make_app, mailbox):
    app = make_app(LIMIT_EMAIL_CHANGE_PER_ACCOUNT="2 per hour")
    add_user(app)
    add_user(app, email="bruno@example.org", name="Bruno")
    ada = signed_in(app)
    assert ask_to_change(ada, email="one@example.org").status_code == 303
    assert ask_to_change(ada, email="two@example.org", password="a wrong guess").status_code == 422
    response = ask_to_change(ada, email="three@example.org")
    assert response.status_code == 429
    assert "Let's slow down a little" in text_of(response)
    assert mailbox.to("three@example.org") == []
    # Another browser of the same account counts with it; another account does not.
    assert ask_to_change(signed_in(app), email="three@example.org").status_code == 429
    assert ask_to_change(signed_in(app, "bruno@example.org"), email="four@example.org").status_code == 303
    with later(hours=1, seconds=5):
        assert ask_to_change(ada, email="three@example.org").status_code == 303


def test_the_default_limit_is_5_per_hour(make_app):
    app = make_app(defaults=True)
    assert app.config["LIMIT_EMAIL_CHANGE_PER_ACCOUNT"] == "5 per hour"


# --- without JavaScript ---------------------------------------------------------------------

def forms_of(page: str) -> list[str]:
    return re.findall(r"<form\b[^>]*>.*?</form>", page, flags=re.S)


def test_every_form_here_is_a_plain_post(app, mailbox):
    add_user(app)
    client = signed_in(app)
    ask_to_change(client)
    pages = [client.get("/auth/account"), client.get(mailbox.last_link(NEW, CONFIRM)),
             client.get(mailbox.last_link("ada@example.org", UNDO))]
    for response in pages:
        assert response.status_code == 200
        forms = forms_of(response.get_data(as_text=True))
        assert forms, response.request.path
        for form in forms:
            assert 'method="post"' in form and 'name="csrf_token"' in form and "<button" in form, form
            assert "hx-" not in form, form
    account = pages[0].get_data(as_text=True)
    for action in ("/auth/account/name", "/auth/account/email"):
        assert f'action="{action}"' in account
    assert "you ask to change your email address" in text_of(pages[0])
