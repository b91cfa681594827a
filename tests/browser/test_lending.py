"""The lending loop in a phone-sized browser (360 px), with JavaScript and
without: a neighbour lists a thing, Gus asks for it with the native date
inputs, the owner accepts and hands it over, both confirm the return."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
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


# --- the rest of the loop: decline, extend, waitlist, repair, photo ---------------------

def shot_and_axe(page, tmp_path, label: str, found: list[str], checker=None) -> None:
    """Look at one page state: it fits 360 px, a full-page screenshot to look
    at (in tmp_path), and axe in both colour schemes (in the SQLite run: the
    same pages from the same code on PostgreSQL, as tests/browser/test_a11y.py).

    axe is a script: in a page with JavaScript off it never finishes. There the
    state's HTML, as that page shows it and without its scripts, is checked in
    ``checker``, a page with JavaScript on (the stylesheet loads from the site)."""
    from .test_a11y import in_both_schemes

    fits(page)
    page.screenshot(path=str(tmp_path / f"{label}-360.png"), full_page=True)
    if os.environ.get("TEST_DATABASE_URL"):
        return
    target = page
    if checker is not None:
        html = re.sub(r"<script\b.*?</script>", "", page.content(), flags=re.DOTALL)
        checker.set_content(html.replace("<head>", f'<head><base href="{page.url}">', 1))
        assert checker.locator("script").count() == 0
        target = checker
    found += [f"{label}: {v}" for v in in_both_schemes(target)]
    target.emulate_media(color_scheme="light")


def photo_loaded(page, timeout: float = 10) -> bool:
    """The thing's photo has loaded and has pixels (polled from here: with
    JavaScript off, wait_for_function's polling never runs in the page)."""
    deadline = time.monotonic() + timeout
    while True:
        if page.evaluate("() => { const i = document.querySelector('img.photo');"
                         " return !!i && i.complete && i.naturalWidth > 0; }"):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_photo_decline_extend_waitlist_and_repair(browser, demo_site, demo_app, mailbox, neighbour, javascript,
                                                  tmp_path):
    """An owner lists a thing and adds a photo; declines Una's first request
    and accepts her second; Una extends the loan; Vic finds the days taken and
    joins the waitlist, is offered the thing when it comes back and takes the
    offer; the owner puts the thing in repair (new requests blocked, with the
    reason; Vic's reservation shown to resolve), then back. Every state is
    looked at in a 360-px browser, with axe."""
    from ..lending_helpers import jpeg_with_location
    from .support import make_account

    options = {"java_script_enabled": javascript}
    found: list[str] = []
    una_email = make_account(demo_app, f"{unique('una')}@example.org", name="Una Borrower", circle="elm-street")
    vic_email = make_account(demo_app, f"{unique('vic')}@example.org", name="Vic Waiter", circle="elm-street")
    owner = signed_in_context(browser, demo_site, neighbour, **options).new_page()
    una = signed_in_context(browser, demo_site, una_email, **options).new_page()
    vic = signed_in_context(browser, demo_site, vic_email, **options).new_page()
    # Without JavaScript, axe checks each state's HTML in a page of its own (see shot_and_axe).
    checker = None if javascript else browser.new_context(base_url=demo_site.base_url, viewport=PHONE).new_page()
    today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date()

    def day(n: int) -> str:
        return (today + dt.timedelta(days=n)).isoformat()

    def ask(page, first: int, last: int) -> None:
        page.get_by_label("First day").first.fill(day(first))
        page.get_by_label("Last day").first.fill(day(last))
        page.get_by_role("button", name="Ask to borrow it").click()

    # List it.
    name = unique("Drill")
    owner.goto("/c/elm-street/library/new")
    owner.get_by_label("What is it?").fill(name)
    owner.get_by_label("Longest loan, in days").fill("5")
    owner.get_by_role("button", name="List it").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(name)
    thing_url = owner.url

    # The photo: something that is not one is refused beside the field; a phone photo is taken.
    owner.get_by_role("link", name="Change this thing").click()
    photo = owner.get_by_label("Photo (JPEG, PNG or WebP, up to 10 MB)")
    photo.set_input_files({"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not a photo at all"})
    owner.get_by_role("button", name="Save the photo").click()
    expect(owner.locator("main")).to_contain_text("That file is not a photo we can read")
    shot_and_axe(owner, tmp_path, "photo-refused", found, checker)
    owner.get_by_label("Photo (JPEG, PNG or WebP, up to 10 MB)").set_input_files(
        {"name": "drill.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_location(1200, 900)})
    owner.get_by_role("button", name="Save the photo").click()
    expect(owner.locator("main")).to_contain_text("Photo saved.")
    assert owner.url == thing_url
    assert photo_loaded(owner)
    src = owner.locator("img.photo").get_attribute("src")
    served = owner.context.request.get(src)
    assert served.status == 200 and served.headers["content-type"] == "image/webp"
    shot_and_axe(owner, tmp_path, "photo-shown", found, checker)
    una.goto(thing_url)
    assert photo_loaded(una)
    # Anyone not a member, signed out included: 404.
    visitor = browser.new_context(base_url=demo_site.base_url, viewport=PHONE)
    assert visitor.request.get(src, max_redirects=0).status == 404
    visitor.close()

    # Decline, with a note: Una is told by mail.
    ask(una, 0, 1)
    expect(una.locator("main")).to_contain_text("Asked. You will hear by mail when the owner answers.")
    owner.goto(thing_url)
    expect(owner.locator("main")).to_contain_text("Una Borrower")
    shot_and_axe(owner, tmp_path, "owner-sees-a-request", found, checker)
    owner.locator("input[id$='-decline']").fill("Not this week, sorry")
    owner.get_by_role("button", name="Decline").click()
    expect(owner.locator("main")).to_contain_text("Declined. The borrower is told.")
    expect(owner.locator("main")).to_contain_text("No requests yet.")
    shot_and_axe(owner, tmp_path, "declined", found, checker)
    deadline = time.monotonic() + 10
    while not [m for m in mailbox.to(una_email) if m["Subject"] == f"Not this time: {name}"]:
        assert time.monotonic() < deadline, "no mail to Una about the decline"
        time.sleep(0.1)
    mail = [m for m in mailbox.to(una_email) if m["Subject"] == f"Not this time: {name}"][-1]
    assert "Not this week, sorry" in mail.get_content()

    # Asked again, accepted, handed over; Una extends the loan.
    una.goto(thing_url)
    ask(una, 0, 1)
    owner.goto(thing_url)
    owner.get_by_role("button", name="Accept").click()
    expect(owner.locator("main")).to_contain_text("Accepted. The borrower is told.")
    owner.get_by_role("button", name="Handed over").click()
    expect(owner.locator("main")).to_contain_text("Handed over. Enjoy it.")
    una.goto(thing_url)
    una.get_by_label("Keep it until").fill(day(7))  # longer than the longest loan: refused beside the field
    una.get_by_role("button", name="Extend").click()
    expect(una.locator("main")).to_contain_text("The longest loan of this thing is 5 days.")
    shot_and_axe(una, tmp_path, "extend-refused", found, checker)
    una.get_by_label("Keep it until").fill(day(2))
    una.get_by_role("button", name="Extend").click()
    expect(una.locator("main")).to_contain_text("Extended.")
    expect(una.locator("main")).to_contain_text(day_in_words(today + dt.timedelta(days=2)))
    shot_and_axe(una, tmp_path, "extended", found, checker)

    # Vic wants days the loan holds: refused with the next free ones, and joins the waitlist.
    vic.goto(thing_url)
    ask(vic, 1, 2)
    expect(vic.locator("#start_date-error")).to_contain_text("Those dates are not free.")
    expect(vic.get_by_text("Dates taken? Join the waitlist")).to_be_visible()
    shot_and_axe(vic, tmp_path, "dates-taken", found, checker)
    vic.locator("#wait-start").fill(day(1))
    vic.locator("#wait-end").fill(day(2))
    vic.get_by_role("button", name="Wait for it").click()
    expect(vic.locator("main")).to_contain_text("You are on the waitlist.")
    expect(vic.locator("main")).to_contain_text("Number 1 in line.")
    shot_and_axe(vic, tmp_path, "on-the-waitlist", found, checker)
    # While Vic waits, no more extending.
    una.goto(thing_url)
    una.get_by_label("Keep it until").fill(day(3))
    una.get_by_role("button", name="Extend").click()
    expect(una.locator("main")).to_contain_text("Someone is waiting for this thing")
    owner.goto(thing_url)
    expect(owner.locator("main")).to_contain_text("Vic Waiter")
    shot_and_axe(owner, tmp_path, "owner-sees-the-waitlist", found, checker)

    # Back early: both confirm, and Vic is offered it.
    una.goto(thing_url)
    una.get_by_role("button", name="I have brought it back").click()
    owner.goto(thing_url)
    owner.get_by_role("button", name="I have it back").click()
    expect(owner.locator("main")).to_contain_text("No requests yet.")
    vic.goto(thing_url)
    expect(vic.locator("main")).to_contain_text("It is free for you until")
    shot_and_axe(vic, tmp_path, "offered", found, checker)
    vic.get_by_role("button", name="Ask for these dates").click()
    expect(vic.locator("main")).to_contain_text("Asked for your dates.")
    owner.goto(thing_url)
    owner.get_by_role("button", name="Accept").click()
    expect(owner.locator("main")).to_contain_text("Accepted. The borrower is told.")
    vic.goto(thing_url)
    expect(vic.locator("main")).to_contain_text("reserved")

    # In repair: the reason is shown, nobody can ask; Vic's reservation is the owner's to resolve.
    owner.get_by_role("link", name="Change this thing").click()
    owner.get_by_label("State", exact=True).select_option("repair")
    owner.get_by_label("Why (shown to borrowers)").fill("The chuck is loose")
    owner.get_by_role("button", name="Save the state").click()
    expect(owner.locator("main")).to_contain_text("cancel or keep each one")
    expect(owner.locator("main")).to_contain_text("In repair: The chuck is loose")
    expect(owner.locator("main")).to_contain_text("It cannot be lent now: cancel or keep each reservation below.")
    shot_and_axe(owner, tmp_path, "repair-owner", found, checker)
    una.goto(thing_url)
    expect(una.locator("main")).to_contain_text("In repair: The chuck is loose")
    expect(una.get_by_role("button", name="Ask to borrow it")).to_have_count(0)
    shot_and_axe(una, tmp_path, "repair-borrower", found, checker)
    owner.locator("input[id$='-cancel']").fill("Sorry: it is in repair")
    owner.get_by_role("button", name="Cancel this reservation").click()
    expect(owner.locator("main")).to_contain_text("Cancelled.")
    vic.goto(thing_url)
    expect(vic.locator("main")).not_to_contain_text("reserved")

    # Back from repair: it can be asked for again.
    owner.goto(thing_url)
    owner.get_by_role("link", name="Change this thing").click()
    owner.get_by_label("State", exact=True).select_option("available")
    owner.get_by_label("Why (shown to borrowers)").fill("")
    owner.get_by_role("button", name="Save the state").click()
    expect(owner.locator("main")).to_contain_text("Saved.")
    expect(owner.locator("main")).not_to_contain_text("In repair")
    una.goto(thing_url)
    ask(una, 3, 4)
    expect(una.locator("main")).to_contain_text("Asked. You will hear by mail when the owner answers.")
    shot_and_axe(una, tmp_path, "back-from-repair", found, checker)
    assert found == []
    for page in (owner, una, vic, *([checker] if checker else [])):
        page.context.close()
