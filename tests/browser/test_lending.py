"""The lending loop in a phone-sized browser (360 px), with JavaScript and
without: a neighbour lists a thing, Gus asks for it with the native date
inputs, the owner accepts and hands it over, both confirm the return."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from .conftest import PHONE, signed_in_context
from .support import unique


def fits(page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_list_ask_accept_hand_over_and_return(browser, demo_site, neighbour, javascript):
    options = {"java_script_enabled": javascript}
    owner = signed_in_context(browser, demo_site, neighbour, **options).new_page()
    name = unique("Jigsaw")
    owner.goto("/c/elm-street/library")
    owner.get_by_role("link", name="Lend a thing").click()
    owner.get_by_label("What is it?").fill(name)
    owner.get_by_label("Category").select_option("tools")
    owner.get_by_label("Longest loan, in days").fill("5")
    fits(owner)
    owner.get_by_role("button", name="List it").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(name)
    thing_url = owner.url

    gus = signed_in_context(browser, demo_site, "gus@example.org", **options).new_page()
    gus.goto(thing_url)
    first, last = gus.get_by_label("First day").first, gus.get_by_label("Last day").first
    assert first.get_attribute("type") == "date" and last.get_attribute("type") == "date"
    today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date()
    # Refused first: the last day before the first, said beside the field.
    first.fill((today + dt.timedelta(days=2)).isoformat())
    last.fill(today.isoformat())
    gus.get_by_role("button", name="Ask to borrow it").click()
    expect(gus.locator("#end_date-error")).to_contain_text("The last day comes before the first.")
    gus.get_by_label("First day").first.fill(today.isoformat())
    gus.get_by_label("Last day").first.fill((today + dt.timedelta(days=1)).isoformat())
    gus.get_by_label("A word for the owner (optional)").fill("For a birdhouse")
    fits(gus)
    gus.get_by_role("button", name="Ask to borrow it").click()
    expect(gus.locator("main")).to_contain_text("Asked. You will hear by mail when the owner answers.")

    owner.goto(thing_url)
    expect(owner.locator("main")).to_contain_text("For a birdhouse")
    owner.get_by_role("button", name="Accept").click()
    expect(owner.locator("main")).to_contain_text("Accepted. The borrower is told.")
    owner.get_by_role("button", name="Handed over").click()
    expect(owner.locator("main")).to_contain_text("Handed over. Enjoy it.")
    fits(owner)

    gus.goto(thing_url)
    gus.get_by_role("button", name="I have brought it back").click()
    expect(gus.locator("main")).to_contain_text("Waiting for the owner to confirm the return.")
    owner.goto(thing_url)
    owner.get_by_role("button", name="I have it back").click()
    expect(owner.locator("main")).to_contain_text("No requests yet.")
    gus.goto("/lending/mine")
    expect(gus.locator("main")).not_to_contain_text(name)
