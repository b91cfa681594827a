"""The notice settings on a phone, without JavaScript, by keyboard alone:
reach the page from the home page, choose a channel and quiet hours with
the arrow keys, save, and see it kept."""

import re

from playwright.sync_api import expect

from .conftest import PHONE
from .support import PASSWORD
from .test_keyboard import button, field, link, tab_to


def test_notice_settings_by_keyboard_on_a_phone_without_javascript(browser, demo_site, neighbour):
    context = browser.new_context(base_url=demo_site.base_url, viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto("/auth/login")
    form = page.locator("main form")
    form.get_by_label("Email").fill(neighbour)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")

    tab_to(page, link("Your notices"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/notices$"))
    tab_to(page, link("What you receive, and when"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/notices/settings$"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    tab_to(page, field("When a gathering you are going to or waiting for changes its time or place"))
    page.keyboard.press("ArrowDown")  # Right away -> In the daily digest
    quiet_from = int(page.locator("select[name=quiet_from]").input_value())  # the server's default
    tab_to(page, field("Quiet from"))
    page.keyboard.press("ArrowDown")  # the next hour
    tab_to(page, button("Save"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").or_(page.locator(".flash, .note")).first).to_contain_text("Saved")
    assert page.locator("select[name=kind-gathering_moved]").input_value() == "digest"
    assert page.locator("select[name=quiet_from]").input_value() == str(quiet_from + 1)
    context.close()
