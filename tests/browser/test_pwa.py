"""The app as an installable, offline-aware PWA, in a real browser: the
manifest and its icons, the service worker and its scope, installability,
the offline page, pages kept on purpose (and only those), an htmx request
that fails offline, signing out (here or everywhere) leaving nothing private
behind, and static files cached for good."""

import json
import re
import struct
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from app.assets import IMMUTABLE

from ..crawl import decoded, fetch
from .conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, signed_in_context
from .support import (
    KEPT_TEXT,
    cache_contents,
    kept_urls,
    mail_link,
    make_account,
    make_gathering,
    settle,
    unique,
    until_controlled,
)

SIGNED_OUT = ["/", "/auth/login", "/auth/register", "/auth/reset", "/auth/check-email", "/offline"]
MANIFEST_LINK = re.compile(r'<link rel="manifest" href="([^"]+)"')


def png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert body[12:16] == b"IHDR"
    return struct.unpack(">II", body[16:24])


# --- the manifest and the worker ------------------------------------------------------

def test_manifest_is_served_linked_and_complete(phone, demo_site, demo_pages, join_path):
    page = phone.new_page()
    page.goto("/auth/login")
    href = page.eval_on_selector('link[rel="manifest"]', "link => link.getAttribute('href')")
    response = phone.request.get(href)
    assert response.status == 200
    assert response.headers["content-type"].split(";")[0] == "application/manifest+json"
    manifest = json.loads(response.text())

    # Linked from every page: each a signed-in member reaches, and the signed-out ones.
    pages = [(p.url, decoded(p)) for p in demo_pages if "text/html" in p.headers.get("Content-Type", "")]
    pages += [(path, decoded(fetch(demo_site.base_url, path))) for path in SIGNED_OUT + [join_path]]
    assert len(pages) >= 15
    unlinked = [path for path, html in pages if MANIFEST_LINK.findall(html) != [href]]
    assert unlinked == []

    assert manifest["name"] == "Communitarium" and manifest["short_name"]
    assert manifest["id"] == "/" and manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    for colour in ("theme_color", "background_color"):
        assert re.fullmatch(r"#[0-9a-f]{6}", manifest[colour]), colour

    sizes = {}
    for icon in manifest["icons"]:
        got = phone.request.get(icon["src"])
        assert got.status == 200, icon
        assert got.headers["content-type"] == icon["type"] == "image/png"
        width, height = png_size(got.body())
        assert f"{width}x{height}" == icon["sizes"], icon
        # And the browser draws it at that size.
        drawn = page.evaluate("""(src) => new Promise((resolve, reject) => {
            const image = new Image(); image.onload = () => resolve([image.naturalWidth, image.naturalHeight]);
            image.onerror = reject; image.src = src; })""", icon["src"])
        assert drawn == [width, height], icon
        for purpose in icon.get("purpose", "any").split():
            sizes.setdefault(purpose, set()).add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes["any"]
    assert sizes["maskable"]


def test_service_worker_is_never_cached_and_controls_everything(phone, demo_site):
    response = phone.request.get("/sw.js")
    assert response.status == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("text/javascript")

    page = phone.new_page()
    page.goto("/auth/login")
    until_controlled(page)
    registration = page.evaluate("""async () => {
        const registration = await navigator.serviceWorker.getRegistration();
        return {scope: registration.scope, state: registration.active.state,
                script: navigator.serviceWorker.controller.scriptURL};
    }""")
    assert registration == {"scope": demo_site.base_url + "/", "state": "activated",
                            "script": demo_site.base_url + "/sw.js"}


def test_installable(playwright_instance, demo_site, tmp_path):
    """Chromium itself says the app can be installed. Only a persistent
    profile can install: an incognito context always answers "in-incognito"."""
    context = playwright_instance.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, base_url=demo_site.base_url,
        viewport=PHONE)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto("/")
        page.wait_for_load_state("load")
        until_controlled(page)
        cdp = context.new_cdp_session(page)
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        if errors:
            print("installability errors:", json.dumps(errors, indent=2))
        assert errors == []
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["errors"] == [], manifest["errors"]
        assert manifest["url"] == demo_site.base_url + "/manifest.webmanifest"
    finally:
        context.close()


# --- offline ----------------------------------------------------------------------

@pytest.fixture
def member(browser, demo_site, neighbour):
    """A phone signed in as a neighbour of this test's own, its page on the
    home page and controlled by the service worker."""
    context = signed_in_context(browser, demo_site, neighbour)
    page = context.new_page()
    page.goto("/")
    until_controlled(page)
    yield context, page
    context.close()


def keep_home(page) -> None:
    page.goto("/")
    keep = page.locator("[data-keep]")
    expect(keep).to_be_visible()
    button = keep.get_by_role("button", name="Keep offline")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(keep).to_contain_text("Kept on this device: it opens even offline.")


def test_offline_navigation_shows_the_offline_page(member):
    context, page = member
    context.set_offline(True)
    try:
        response = page.goto("/c/elm-street/")
        assert response.ok
        expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
        # It names nobody and offers nothing of a signed-in person's.
        assert not page.evaluate("document.body.hasAttribute('data-signed-in')")
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    finally:
        context.set_offline(False)


def test_only_pages_kept_on_purpose_are_stored(member, demo_site, neighbour):
    context, page = member
    base = demo_site.base_url
    for path in ("/c/elm-street/", "/c/elm-street/members", "/c/elm-street/log", "/auth/account", "/"):
        page.goto(path)
    stored = cache_contents(page)
    static = [name for name in stored if name.startswith("static-")]
    assert len(static) == 1, stored
    # The worker's own files and the offline page, nothing a member sees.
    assert all(urlsplit(url).path.startswith("/static/") or url == base + "/offline" for url in stored[static[0]])
    assert base + "/offline" in stored[static[0]]
    # The device cache holds markers only (someone is signed in here), no page.
    assert set(stored) <= {static[0], "kept-pages", "device"} and not stored.get("kept-pages"), stored
    assert stored.get("device", []) in ([], [base + "/__signed-in"]), stored

    keep_home(page)
    stored = cache_contents(page)
    assert stored["kept-pages"] == [base + "/"]
    assert set(stored) == {static[0], "kept-pages", "device"}

    context.set_offline(True)
    try:
        page.goto("/")
        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Hello, "))
        note = page.locator("[data-saved-at]")
        expect(note).to_be_visible()
        expect(note).to_contain_text("You are offline. This is the copy saved at")
        saved = datetime.fromisoformat(note.get_attribute("data-saved-at"))
        assert timedelta(0) <= datetime.now(UTC) - saved < timedelta(minutes=2)
        # A member page nobody kept is not there.
        page.goto("/c/elm-street/members")
        expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
    finally:
        context.set_offline(False)


def test_forgetting_a_kept_page(member, demo_site):
    _, page = member
    keep_home(page)
    button = page.locator("[data-keep]").get_by_role("button", name="Keep offline")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "false")
    assert settle(page, lambda: kept_urls(page) == []), kept_urls(page)


def test_htmx_request_offline_says_so_in_place(browser, demo_site, demo_app, mailbox):
    email = make_account(demo_app, f"{unique('unverified')}@example.org", verified=False)
    context = signed_in_context(browser, demo_site, email)
    page = context.new_page()
    page.goto("/")
    until_controlled(page)
    section = page.locator("#verify")
    context.set_offline(True)
    try:
        section.get_by_role("button", name="Send the link again").click()
        alert = section.get_by_role("alert")
        expect(alert).to_be_visible()
        expect(alert).to_have_text("We could not reach Communitarium. Check your connection and try again.")
        assert mailbox.to(email) == []
    finally:
        context.set_offline(False)
    # Online again, the same button works in place.
    section.get_by_role("button", name="Send the link again").click()
    expect(section.get_by_role("status")).to_contain_text(f"We sent a new link to {email}.")
    assert "/auth/verify/" in mail_link(mailbox, email, "/auth/verify/")


# --- signing out leaves nothing private behind -----------------------------------------

def sign_out(page) -> None:
    page.goto("/")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(page.locator("main")).to_contain_text("You are signed out.")


def test_signing_out_forgets_kept_pages(member, demo_site):
    context, page = member
    keep_home(page)
    sign_out(page)
    assert settle(page, lambda: not kept_urls(page)), kept_urls(page)
    context.set_offline(True)
    try:
        page.goto("/")
        expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
    finally:
        context.set_offline(False)


def test_signing_out_removes_the_kept_pages_cache(member):
    _, page = member
    keep_home(page)
    sign_out(page)
    assert settle(page, lambda: "kept-pages" not in page.evaluate("caches.keys()")), page.evaluate("caches.keys()")


@pytest.mark.parametrize("next_visit", ["/", "/c/elm-street/"], ids=["home", "member-page"])
def test_signing_out_everywhere_elsewhere_drops_kept_pages(browser, demo_site, member, neighbour, next_visit):
    _, page = member
    keep_home(page)
    assert kept_urls(page) == [demo_site.base_url + "/"]

    elsewhere = signed_in_context(browser, demo_site, neighbour)
    other = elsewhere.new_page()
    other.goto("/auth/account")
    other.get_by_role("button", name="Sign out everywhere").click()
    expect(other.locator("main")).to_contain_text("You are signed out on every device, this one too.")
    elsewhere.close()

    page.goto(next_visit)
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()
    kept = settle(page, lambda: not kept_urls(page)) or page.evaluate(KEPT_TEXT, demo_site.base_url + "/")
    assert kept is True, "still kept: " + " ".join(re.findall(r"<h1>(.*?)</h1>", kept or ""))


def test_a_kept_page_is_refreshed_when_visited_online(member, demo_site):
    _, page = member
    keep_home(page)
    saved_at = """async () => (await caches.match("/", {cacheName: "kept-pages"})).headers.get("X-Saved-At")"""
    before = page.evaluate(saved_at)
    page.wait_for_timeout(50)
    page.goto("/")
    assert settle(page, lambda: page.evaluate(saved_at) != before), before


# --- static files ------------------------------------------------------------------

def test_static_files_are_versioned_immutable_and_compressed(phone, demo_site):
    page = phone.new_page()
    seen = {}
    page.on("response", lambda r: seen.setdefault(urlsplit(r.url).path, r) if "/static/" in r.url else None)
    page.goto("/auth/login")
    page.wait_for_load_state("load")
    urls = page.evaluate("""() => [...document.querySelectorAll(
        'link[rel=stylesheet], link[rel=icon], link[rel=apple-touch-icon], script[src]')]
        .map((el) => el.getAttribute('href') || el.getAttribute('src'))""")
    assert any(url.startswith("/static/app.css?v=") for url in urls), urls
    assert any(url.startswith("/static/app.js?v=") for url in urls), urls
    for url in urls:
        assert re.fullmatch(r"/static/[\w./-]+\?v=[0-9a-f]{10}", url), url
        plain = fetch(demo_site.base_url, url, encodings="identity")
        assert plain.status == 200 and plain.headers["Cache-Control"] == IMMUTABLE, url
        assert "Content-Encoding" not in plain.headers
        if url.split("?")[0].endswith((".css", ".js")):
            packed = fetch(demo_site.base_url, url, encodings="br")
            assert packed.headers.get("Content-Encoding") == "br", url
            assert packed.headers["Cache-Control"] == IMMUTABLE
            assert "Accept-Encoding" in packed.headers.get("Vary", "")
            assert decoded(packed).encode() == plain.body
            assert len(packed.body) < len(plain.body)
    # What the browser itself got for the stylesheet.
    css = seen["/static/app.css"]
    assert css.headers["cache-control"] == IMMUTABLE
    # Without the current version the file is not cached for good.
    for stale in ("/static/app.css", "/static/app.css?v=0000000000"):
        assert fetch(demo_site.base_url, stale).headers["Cache-Control"] == "no-cache", stale


# --- keep my next gatherings, by choice ------------------------------------------------

def _choice(page):
    choice = page.locator("[data-keep-next]")
    expect(choice).to_be_visible()
    return choice.get_by_role("button", name="Keep my next gatherings on this device")


def test_keeping_my_next_gatherings_is_a_choice_that_signing_out_forgets(member, demo_site, demo_app, neighbour):
    context, page = member
    base = demo_site.base_url
    going = make_gathering(demo_app, "elm-street", "ada@example.org", unique("Soup"), days=2, place="Garden shed")
    helping = make_gathering(demo_app, "elm-street", "ada@example.org", unique("Walk"), days=3)
    page.goto(going)
    page.get_by_role("button", name="I’m coming").click()
    expect(page.locator("main")).to_contain_text("You are coming.")

    # Off by default: visiting pages keeps nothing.
    page.goto("/")
    button = _choice(page)
    expect(button).to_have_attribute("aria-pressed", "false")
    assert not kept_urls(page)

    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    assert settle(page, lambda: set(kept_urls(page) or []) >= {base + "/", base + going}), kept_urls(page)
    assert base + helping not in kept_urls(page)

    context.set_offline(True)
    try:
        page.goto(going)
        expect(page.locator("[data-saved-at]")).to_be_visible()
        expect(page.locator("main")).to_contain_text("Garden shed")
        # A page nobody kept: the offline page, which knows someone is signed in
        # here and lists what is kept.
        page.goto("/c/elm-street/members")
        expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
        expect(page.locator("header").get_by_role("link", name="Account")).to_be_visible()
        expect(page.locator("header").get_by_role("link", name="Sign in")).to_be_hidden()
        expect(page.locator("[data-offline-kept]").get_by_role("link")).not_to_have_count(0)
    finally:
        context.set_offline(False)

    # The account page shows the same choice, on; turning it off forgets those pages.
    page.goto("/auth/account")
    button = _choice(page)
    expect(button).to_have_attribute("aria-pressed", "true")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "false")
    assert settle(page, lambda: not kept_urls(page)), kept_urls(page)

    # On again, then signing out: the pages and the choice go.
    page.goto("/")
    _choice(page).click()
    assert settle(page, lambda: base + going in (kept_urls(page) or [])), kept_urls(page)
    sign_out(page)
    assert settle(page, lambda: "kept-pages" not in page.evaluate("caches.keys()")
                  and "device" not in page.evaluate("caches.keys()")), page.evaluate("caches.keys()")


def test_a_gathering_page_can_be_kept_by_hand(member, demo_site, demo_app):
    context, page = member
    path = make_gathering(demo_app, "elm-street", "ada@example.org", unique("Picnic"), days=4, place="The park")
    page.goto(path)
    keep = page.locator("[data-keep]")
    keep.get_by_role("button", name="Keep offline").click()
    expect(keep).to_contain_text("Kept on this device: it opens even offline.")
    context.set_offline(True)
    try:
        page.goto(path)
        expect(page.locator("main")).to_contain_text("The park")
        expect(page.locator("[data-saved-at]")).to_be_visible()
    finally:
        context.set_offline(False)


@pytest.mark.parametrize("next_visit", ["/", "kept gathering"], ids=["home", "kept-gathering"])
def test_a_session_ended_elsewhere_forgets_my_next_gatherings_and_the_choice(browser, demo_site, demo_app, member,
                                                                             neighbour, next_visit):
    """"Keep my next gatherings" on, then "Sign out everywhere" on another
    device: the next page this phone loads is a signed-out one, and the kept
    pages and the choice itself are gone (signing in again finds it off)."""
    from .conftest import session_cookie

    context, page = member
    base = demo_site.base_url
    going = make_gathering(demo_app, "elm-street", "ada@example.org", unique("Stew"), days=2, place="Cellar")
    page.goto(going)
    page.get_by_role("button", name="I’m coming").click()
    expect(page.locator("main")).to_contain_text("You are coming.")
    page.goto("/")
    _choice(page).click()
    expect(_choice(page)).to_have_attribute("aria-pressed", "true")
    assert settle(page, lambda: set(kept_urls(page) or []) >= {base + "/", base + going}), kept_urls(page)
    assert "device" in page.evaluate("caches.keys()")

    elsewhere = signed_in_context(browser, demo_site, neighbour)
    other = elsewhere.new_page()
    other.goto("/auth/account")
    other.get_by_role("button", name="Sign out everywhere").click()
    expect(other.locator("main")).to_contain_text("You are signed out on every device, this one too.")
    elsewhere.close()

    page.goto(going if next_visit == "kept gathering" else next_visit)
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()
    assert settle(page, lambda: not {"kept-pages", "device"} & set(page.evaluate("caches.keys()"))), \
        page.evaluate("caches.keys()")
    context.set_offline(True)
    try:
        page.goto(going)  # no copy of the gathering is left to show
        expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
        expect(page.locator("main")).not_to_contain_text("Cellar")
    finally:
        context.set_offline(False)
    # Signed in again on this phone: the choice is off until made again.
    context.add_cookies([{"name": "session", "value": session_cookie(demo_site.database_url, neighbour),
                          "url": base, "httpOnly": True, "sameSite": "Lax"}])
    page.goto("/")
    expect(_choice(page)).to_have_attribute("aria-pressed", "false")
    assert not kept_urls(page)
