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
from ..helpers import day_in_words


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


def test_ask_for_a_thing_by_keyboard(browser, demo_site, demo_app):
    """Tab to the request form, type the dates into the native date inputs, send with Enter."""
    from sqlalchemy import select

    from app.extensions import db
    from app.lending.models import Thing

    with demo_app.app_context():
        ladder = db.session.scalar(select(Thing.id).where(Thing.name == "Ladder (3 m)"))
        db.session.remove()
    page = signed_in_context(browser, demo_site, "gus@example.org",
                             locale="en-US").new_page()
    page.goto(f"/c/elm-street/library/{ladder}")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "start_date":
            break
    else:
        pytest.fail("Tab never reached the first day")
    first = dt.date.today() + dt.timedelta(days=40)
    def type_date(field: str, day: dt.date) -> None:
        # The native input's segments (month, day, year) take the digits in turn;
        # Tab may first walk the input's own segments, then goes on to the next field.
        page.keyboard.type(day.strftime("%m%d%Y"))
        assert page.locator(f"#{field}").input_value() == day.isoformat()
        for _ in range(4):
            if page.evaluate("document.activeElement.id") != field:
                break
            page.keyboard.press("Tab")

    type_date("start_date", first)
    assert page.evaluate("document.activeElement.id") == "end_date"
    type_date("end_date", first + dt.timedelta(days=1))
    assert page.evaluate("document.activeElement.id") == "message"
    page.keyboard.type("Gutters, by keyboard")
    while page.evaluate("document.activeElement.tagName") != "BUTTON":
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Ask to borrow it"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_contain_text("Asked. You will hear by mail when the owner answers.")
    expect(page.locator("main")).to_contain_text(day_in_words(first))
