"""axe-core finds nothing, in light and dark: one page of each route a signed-in
member reaches (the crawl, so later areas are covered), the signed-out pages,
forms showing their errors, and the invitation link htmx puts in place.

Each page is loaded once and checked in both colour schemes: the browser
switches ``prefers-color-scheme`` in place (as a phone does at dusk)."""

from axe_playwright_python.base import AxeResults
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from ..crawl import one_per_route
from .conftest import PHONE, SQLITE_ONLY, signed_in_context

pytestmark = SQLITE_ONLY

# Rules switched off, each with the reason. Empty: every rule runs.
DISABLED_RULES: dict[str, str] = {}

SIGNED_OUT = ["/", "/auth/login", "/auth/register", "/auth/reset", "/auth/check-email", "/offline"]
# What the page's own CSS gives the body in each scheme (app.css :root).
BODY_BACKGROUND = {"light": "rgb(251, 248, 243)", "dark": "rgb(24, 23, 21)"}
OPTIONS = {"resultTypes": ["violations"], "rules": {rule: {"enabled": False} for rule in DISABLED_RULES}}


class PageAxe(Axe):
    """axe-playwright-python's runner, injecting axe-core once per document
    rather than before every run (each page is checked twice)."""

    def run(self, page, context=None, options=None) -> AxeResults:
        if not page.evaluate("typeof window.axe === 'object'"):
            page.evaluate(self.axe_script)
        return AxeResults(page.evaluate("(options) => axe.run(document, options)", options))


axe = PageAxe()


def violations(page, label: str = "") -> list[str]:
    results = axe.run(page, options=OPTIONS)
    return [f"{page.url} {label}{v['id']} ({v['impact']}): {v['help']} at "
            f"{[node['target'] for node in v['nodes']][:5]}" for v in results.response["violations"]]


def in_both_schemes(page) -> list[str]:
    """The page's violations in light, then in dark."""
    found = []
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == BODY_BACKGROUND[scheme]
        found += violations(page, f"[{scheme}] ")
    return found


def settled(page, path: str) -> None:
    """Open a page and let its scripts finish what they show (the keep button)."""
    page.goto(path)
    keep = page.locator("[data-keep]")
    if keep.count():
        expect(keep).to_be_visible()


def test_signed_in_pages(browser, demo_site, demo_pages):
    context = signed_in_context(browser, demo_site, "ada@example.org")
    page = context.new_page()
    found = []
    chosen = [p.url for p in one_per_route(demo_pages) if "text/html" in p.headers.get("Content-Type", "")]
    assert len(chosen) >= 10, chosen
    for path in chosen:
        settled(page, path)
        found += in_both_schemes(page)
    # The link htmx swaps in after "Make a link".
    page.goto("/c/elm-street/invitations")
    page.get_by_role("button", name="Make a link").click()
    expect(page.get_by_label("Invitation link")).to_be_visible()
    found += in_both_schemes(page)
    assert found == []
    context.close()


def test_signed_out_pages_and_forms_with_errors(browser, demo_site, join_path):
    context = browser.new_context(base_url=demo_site.base_url, viewport=PHONE)
    page = context.new_page()
    found = []
    for path in SIGNED_OUT + [join_path]:
        settled(page, path)
        found += in_both_schemes(page)
    for path, submit in [("/auth/register", "Create my account"), ("/auth/login", "Sign in"),
                         ("/auth/reset", None)]:
        page.goto(path)
        form = page.locator("main form")
        (form.get_by_role("button", name=submit) if submit else form.get_by_role("button")).click()
        expect(page.locator(".error").first).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("Please look at the marked fields below.")
        found += in_both_schemes(page)
    assert found == []
    context.close()


def test_dark_context_option(browser, demo_site):
    """A context made with color_scheme="dark" gets the dark colours from the
    first paint, as a phone set to dark does."""
    context = browser.new_context(base_url=demo_site.base_url, viewport=PHONE, color_scheme="dark")
    page = context.new_page()
    page.goto("/auth/login")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == BODY_BACKGROUND["dark"]
    assert violations(page) == []
    context.close()


def test_axe_reports_what_it_finds(phone):
    """The check works: a field that loses its label is a violation."""
    page = phone.new_page()
    page.goto("/auth/login")
    page.evaluate("document.querySelectorAll('label').forEach((label) => label.remove())")
    assert any(" label " in line for line in violations(page))
