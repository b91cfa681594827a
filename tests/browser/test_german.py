"""German in a real browser: the language chosen on the account page, with
JavaScript and without; and every page a member reaches, in German, on a
360 px phone without scrolling sideways (German words run long)."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import PHONE, SQLITE_ONLY, signed_in_context
from .test_a11y import in_both_schemes
from .test_layout import SIGNED_OUT, overflowing


def _choose(page, option: str) -> None:
    page.goto("/auth/account")
    page.locator("#language").select_option(label=option)
    page.locator("#language").locator("xpath=ancestor::form").get_by_role("button").click()


def test_choosing_german_with_javascript(browser, demo_site, neighbour, tmp_path):
    context = signed_in_context(browser, demo_site, neighbour, locale="en-GB")
    page = context.new_page()
    page.goto("/auth/account")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("combobox", name="Language")).to_have_value("browser")
    _choose(page, "Deutsch")
    expect(page.locator("main")).to_contain_text("Seiten und Mails kommen jetzt auf Deutsch.")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("combobox", name="Sprache")).to_have_value("de")
    page.screenshot(path=str(tmp_path / "account-de.png"), full_page=True)
    assert in_both_schemes(page) == []
    page.goto("/")  # every page now, though the browser asks for English
    expect(page.locator("html")).to_have_attribute("lang", "de")
    _choose(page, "Wie mein Browser (jetzt English)")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main")).to_contain_text("Pages now follow your browser's language")
    context.close()


def test_choosing_a_language_without_javascript(browser, demo_site, neighbour):
    context = signed_in_context(browser, demo_site, neighbour, locale="de-DE", java_script_enabled=False)
    page = context.new_page()
    page.goto("/auth/account")
    expect(page.locator("html")).to_have_attribute("lang", "de")  # following the German browser
    _choose(page, "English")
    expect(page.locator("main")).to_contain_text("Pages and mail now come in English.")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    _choose(page, "Follow my browser (now Deutsch)")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    context.close()


@SQLITE_ONLY
def test_german_pages_fit_a_phone(browser, demo_site, demo_pages, join_path):
    paths = [p.url for p in demo_pages if "text/html" in p.headers.get("Content-Type", "")]
    context = signed_in_context(browser, demo_site, "ada@example.org", locale="de-DE")
    page = context.new_page()
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    assert overflowing(page, paths) == []
    context.close()
    context = browser.new_context(base_url=demo_site.base_url, viewport=PHONE, locale="de-DE")
    page = context.new_page()
    assert overflowing(page, SIGNED_OUT + [join_path]) == []
    context.close()
