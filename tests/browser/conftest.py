"""Real-browser tests: Debian's chromium driven by Playwright against the app
served by gunicorn with 3 workers. Skipped plainly when chromium is missing;
with CI=true that is a failure."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ..served import prepare, serve, session_cookie

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps"]
PHONE = {"width": 360, "height": 740}


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
    """The demo data served by gunicorn (3 workers), with mail to the test SMTP server."""
    url = database_factory("_demo")
    accounts = prepare(url, scale=1)
    served = serve(url, tmp_path_factory.mktemp("served"), workers=3, mail_port=mailbox.port)
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
