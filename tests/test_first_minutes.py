"""A newcomer's first five minutes: links that follow the port, a circle's
web address made from its name, sentences that read right."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import select

from app.circles.models import Circle
from app.config import from_environment
from app.extensions import db

from .helpers import add_user, login, post, text_of

ROOT = Path(__file__).resolve().parent.parent


def new_circle(client, **changes):
    data = {"name": "Elm Street", "slug": "", "description": "", "area": "", "time_zone": "Europe/Berlin",
            "language": "en", "join_mode": "open"} | changes
    return post(client, "/circles/new", data)


def slugs(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Circle.slug).order_by(Circle.id)))


def test_an_empty_web_address_is_made_from_the_name(app, client):
    add_user(app)
    login(client)
    assert new_circle(client, name="Rue de l'Été 12").status_code == 303
    assert new_circle(client, name="Rue de l’Été 12!").status_code == 303  # the same address, taken: -2
    assert new_circle(client, name="Öz").status_code == 303  # too short alone
    assert slugs(app) == ["rue-de-l-ete-12", "rue-de-l-ete-12-2", "oz-circle"]
    assert text_of(client.get("/c/rue-de-l-ete-12/")).count("Rue de l'Été 12") >= 1


def test_a_typed_web_address_is_kept_and_checked(app, client):
    add_user(app)
    login(client)
    assert new_circle(client, slug="our-yard").status_code == 303
    response = new_circle(client, slug="Not an address!")
    assert response.status_code == 422 and "lowercase letters, digits and dashes" in text_of(response)
    assert slugs(app) == ["our-yard"]


def test_the_new_circle_page_fills_the_address_as_the_name_is_typed(app, client):
    add_user(app)
    login(client)
    page = text_of(client.get("/circles/new"))
    assert 'data-slug-from="name"' in page and "Leave it empty to make it from the name" in page
    assert "data-slug-from" in (ROOT / "static" / "app.js").read_text()


def test_links_follow_the_port_when_base_url_is_unset(monkeypatch, tmp_path):
    monkeypatch.delenv("BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "8301")
    assert from_environment(str(tmp_path))["BASE_URL"] == "http://127.0.0.1:8301"
    monkeypatch.setenv("BASE_URL", "https://ourstreet.example")
    assert from_environment(str(tmp_path))["BASE_URL"] == "https://ourstreet.example"


def _gunicorn_conf(monkeypatch, **env):
    for name in ("BASE_URL", "PORT", "PROXY_COUNT", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _warnings(module, bind: str) -> list[str]:
    said = []
    server = SimpleNamespace(cfg=SimpleNamespace(bind=[bind]),
                             log=SimpleNamespace(warning=lambda text, *args: said.append(text % args)))
    module.when_ready(server)
    return said


def test_gunicorn_warns_when_links_would_not_reach_the_app(monkeypatch):
    assert _warnings(_gunicorn_conf(monkeypatch, PORT="8301"), "127.0.0.1:8301") == []
    said = _warnings(_gunicorn_conf(monkeypatch, PORT="8301", BASE_URL="http://127.0.0.1:8000"), "127.0.0.1:8301")
    assert len(said) == 1 and "http://127.0.0.1:8000" in said[0] and "127.0.0.1:8301" in said[0]
    assert _warnings(_gunicorn_conf(monkeypatch, BASE_URL="http://localhost:8000"), "127.0.0.1:8000") == []
    # Behind a proxy BASE_URL is the public address: nothing to compare.
    assert _warnings(_gunicorn_conf(monkeypatch, PROXY_COUNT="1", BASE_URL="https://ourstreet.example"),
                     "127.0.0.1:8000") == []


def test_check_email_sentences_are_apart(app, client):
    response = post(client, "/auth/register", {"display_name": "Maya", "email": "maya@example.net",
                                               "password": "correct horse battery staple"},
                    follow_redirects=True)
    assert "We sent a message to maya@example.net. It has a link" in " ".join(text_of(response).split())


def test_the_home_page_title_is_short(app, client):
    add_user(app)
    login(client)
    page = text_of(client.get("/"))
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.startswith("Home") and "<" not in title and len(title) < 60, title


def test_when_names_the_zone_and_how_soon_in_one_bracket_and_mail_says_only_the_date():
    import datetime as dt

    from app import create_app
    from app.templating import when

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    now = dt.datetime(2027, 3, 6, 12, 0, tzinfo=dt.timezone.utc)
    starts, ends = dt.datetime(2027, 3, 10, 18, 30), dt.datetime(2027, 3, 10, 20, 0)
    with app.test_request_context():
        assert when(starts, ends, "Europe/London", "Europe/Berlin", now=now) == \
            "Wed 10 Mar 2027, 18:30–20:00 (Europe/London, in 4 days)"
        assert when(starts, ends, "Europe/London", "Europe/London", now=now) == "Wed 10 Mar 2027, 18:30–20:00 (in 4 days)"
        assert when(starts, ends, "Europe/London", None, now=now, relative=False) == "Wed 10 Mar 2027, 18:30–20:00"


def test_a_list_item_sets_its_notes_apart_only_between_them(app, client):
    from .gatherings_helpers import email, neighbourhood

    neighbourhood(app, capacity=14, status="tentative")
    login(client, email("Ada"))
    page = " ".join(text_of(client.get("/c/elm-street/gatherings")).split())
    assert "not yet certain</span> · 13 seats left · <strong>you are coming</strong>" in page
    assert "certain14" not in page and "<p class=\"hint\"> ·" not in page


def test_the_headers_create_an_account_keeps_the_invitation(app, client, mailbox):
    import re

    from .circles_helpers import make_invitation_link
    from .helpers import PASSWORD

    add_user(app)
    login(client)
    assert new_circle(client).status_code == 303
    link = make_invitation_link(client, "elm-street")

    neighbour = app.test_client()
    page = neighbour.get(link).get_data(as_text=True)
    header = page.split("<header", 1)[1].split("</header>", 1)[0]
    found = re.search(r'<a href="([^"]+)">Sign up</a>', header)
    assert found, header
    register = found.group(1).replace("&#39;", "'")
    assert register == "/auth/register?next=" + link
    assert '<a href="/auth/login?next=' in header
    assert ">Join<" not in header  # joining the circle is the page's own button, named after the circle
    assert post(neighbour, register, {"email": "maya@example.net", "display_name": "Maya",
                                      "password": PASSWORD}).status_code == 303
    response = post(neighbour, mailbox.last_link("maya@example.net", "/auth/verify/"))
    assert response.status_code == 303 and response.location == "/auth/login?next=/c/elm-street/"
    response = post(neighbour, response.location, {"email": "maya@example.net", "password": PASSWORD})
    assert response.location == "/c/elm-street/"
    assert "Maya" in text_of(neighbour.get("/c/elm-street/members"))


def test_an_unconfirmed_person_keeps_an_invitation_with_a_button_and_a_get_writes_nothing(app, client, mailbox):
    from sqlalchemy import func

    from app.circles.models import PendingJoin

    from .circles_helpers import make_invitation_link

    add_user(app)
    login(client)
    assert new_circle(client).status_code == 303
    link = make_invitation_link(client, "elm-street")
    add_user(app, email="maya@example.net", name="Maya", verified=False)
    maya = app.test_client()
    login(maya, email="maya@example.net")

    def kept() -> int:
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(PendingJoin))

    page = text_of(maya.get(link))
    assert kept() == 0 and "Keep this invitation" in page
    assert post(maya, link).status_code == 200
    assert kept() == 1 and "We keep this invitation for you." in text_of(maya.get(link))
    with app.app_context():
        from app.auth import domain as accounts
        from app.auth.models import User
        from app.database import write_unit

        with write_unit():
            raw = accounts._issue_token(db.session.scalar(select(User).where(User.email == "maya@example.net")),
                                        "verify", dt.timedelta(hours=1))
    response = post(maya, f"/auth/verify/{raw}")
    assert response.status_code == 303 and response.location == "/c/elm-street/"
