"""The account page: changing your name, and changing your email address by
a link to the new address with an undo link to the old one. Through the test
client and the real SMTP server, as plain form posts (no JavaScript); every
test runs on SQLite and on PostgreSQL."""

from sqlalchemy import select

from app.auth.models import User
from app.extensions import db

from .helpers import add_user, login, post, text_of


def get_user(app, user_id) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge_all()
        return user


def signed_in(app, email="ada@example.org"):
    client = app.test_client()
    assert login(client, email).status_code == 303
    return client


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
