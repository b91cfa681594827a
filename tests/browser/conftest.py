"""Real-browser tests: Debian's chromium driven by Playwright against the app
served by gunicorn with 2 workers. Skipped plainly when chromium is missing;
with CI=true that is a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..served import prepare, serve, session_cookie

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps"]
PHONE = {"width": 360, "height": 740}

# Presentation-only checks (layout, axe) look at the same HTML from the same
# demo data on either database; the PostgreSQL run skips them to save CI time.
SQLITE_ONLY = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")),
    reason="presentation only (same pages, same data on either database): checked in the SQLite run, "
           "skipped on PostgreSQL for CI time")


def _require_chromium():
    if not Path(CHROMIUM).exists():
        message = f"browser tests need chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: " + message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def playwright_instance():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def demo_site(database_factory, mailbox, tmp_path_factory):
    """The demo data served by gunicorn (2 workers), with mail to the test SMTP server."""
    url = database_factory("_demo")
    accounts = prepare(url, scale=1)
    served = serve(url, tmp_path_factory.mktemp("served"), workers=2, mail_port=mailbox.port)
    served.accounts = accounts
    yield served
    served.stop()


def signed_in_context(browser, site, email: str, **options):
    """A browser context already signed in as ``email`` (a minted session)."""
    options.setdefault("viewport", PHONE)
    context = browser.new_context(base_url=site.base_url, **options)
    context.add_cookies([{"name": "session", "value": session_cookie(site.database_url, email),
                          "url": site.base_url, "httpOnly": True, "sameSite": "Lax"}])
    return context


@pytest.fixture
def phone(browser, demo_site):
    """A fresh, signed-out phone-sized browser context on the demo site."""
    context = browser.new_context(base_url=demo_site.base_url, viewport=PHONE)
    yield context
    context.close()


# --- shared by the walk, keyboard, layout, accessibility and PWA tests -------------

@pytest.fixture(scope="session")
def demo_app(demo_site):
    """The served app built in-process on the same database: for setting up
    accounts and invitations directly, where a test is not about making them."""
    from app import create_app

    from ..served import app_config

    app = create_app(app_config(demo_site.database_url))
    yield app
    with app.app_context():
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def demo_pages(demo_site, demo_app):
    """Every page Ada (steward of Elm Street) reaches by links from her home, over HTTP."""
    from ..crawl import crawl

    pages = crawl(demo_site.base_url, session_cookie(demo_site.database_url, "ada@example.org"), demo_app.url_map)
    assert all(p.status == 200 for p in pages), [(p.url, p.status) for p in pages if p.status != 200]
    return pages


@pytest.fixture(scope="session")
def join_path(demo_app):
    """The path of a working invitation link to Elm Street, made by Ada."""
    from .support import make_invitation

    return make_invitation(demo_app, "elm-street", "ada@example.org")


@pytest.fixture
def neighbour(demo_app):
    """A verified account of this test's own, member of Elm Street: for tests
    that sign out everywhere or fill the device's caches."""
    from .support import make_account, unique

    return make_account(demo_app, f"{unique('neighbour')}@example.org", circle="elm-street")
