"""Every htmx action leaves the page as a reload would show it, and moves
focus to the result: each action is performed in the browser, the parts of the
page it changed are read, the page is reloaded and read again.

The actions: answering a gathering (the answer card, who is coming, the
waitlist), making an invitation link ("Links made"), and sending the
confirmation link again. A mark on ``window`` proves htmx did the work (the
plain form would have loaded a new page)."""

import re

from playwright.sync_api import expect

from .conftest import signed_in_context
from .support import MARK, NOT_RELOADED, focused_matches, make_account, make_gathering, unique

PARTS = ("#answer", "#who-is-coming")


def texts(page, selectors=PARTS) -> dict[str, str]:
    return {s: page.inner_text(s) for s in selectors}


def answer_and_compare(page, button: str, news: str) -> dict[str, str]:
    """Press an answer button, wait for the news, and check the page against a reload."""
    page.evaluate(MARK)
    page.locator("#answer").get_by_role("button", name=button, exact=True).click()
    expect(page.locator("#answer [role=status]")).to_contain_text(news)
    assert page.evaluate(NOT_RELOADED), "the answer was not made with htmx"
    assert focused_matches(page, "#answer p.status[role=status]"), page.evaluate(
        "document.activeElement.outerHTML")
    swapped = texts(page)
    page.reload()
    assert texts(page) == swapped
    return swapped


def test_answering_refreshes_who_is_coming_and_the_waitlist(browser, demo_site, demo_app, neighbour):
    other = make_account(demo_app, f"{unique('other')}@example.org", name="Otto", circle="elm-street")
    path = make_gathering(demo_app, "elm-street", "ada@example.org", unique("Tea"), capacity=2)
    me = signed_in_context(browser, demo_site, neighbour)
    them = signed_in_context(browser, demo_site, other)
    page, their_page = me.new_page(), them.new_page()
    name = neighbour.split("@")[0].title()

    page.goto(path)
    assert "1 seat left" in page.inner_text("#answer")
    seen = answer_and_compare(page, "I’m coming", "You are coming.")
    assert name in seen["#who-is-coming"] and "Full" in seen["#answer"]

    their_page.goto(path)
    seen = answer_and_compare(their_page, "I’m coming", "You are number 1 on the waitlist.")
    assert "Otto" in seen["#who-is-coming"].split("Waitlist")[1]

    # "I can't come" frees the seat: Otto moves up, and the page says so at once.
    seen = answer_and_compare(page, "I can’t come", "You said you can’t come.")
    assert "Otto" in seen["#who-is-coming"] and name not in seen["#who-is-coming"]
    assert "Waitlist" not in seen["#who-is-coming"]

    seen = answer_and_compare(page, "Maybe", "You said maybe.")
    assert f"Maybe: {name}" in seen["#who-is-coming"]
    me.close()
    them.close()


def test_a_mistake_in_an_answer_takes_focus_and_changes_nothing(browser, demo_site, demo_app, neighbour):
    path = make_gathering(demo_app, "elm-street", "ada@example.org", unique("Walk"), max_guests=1)
    context = signed_in_context(browser, demo_site, neighbour)
    page = context.new_page()
    page.goto(path)
    before = page.inner_text("#who-is-coming")
    page.evaluate(MARK)
    page.get_by_label("Guests I bring").fill("5")
    page.get_by_role("button", name="I’m coming", exact=True).click()
    expect(page.locator("#guests-error")).to_be_visible()
    assert page.evaluate(NOT_RELOADED)
    assert focused_matches(page, "#answer [role=alert]")
    assert page.inner_text("#who-is-coming") == before
    page.reload()
    assert page.inner_text("#who-is-coming") == before
    context.close()


def test_making_a_link_shows_it_in_links_made_at_once(browser, demo_site):
    context = signed_in_context(browser, demo_site, "ada@example.org")
    page = context.new_page()
    page.goto("/c/elm-street/invitations")
    note = unique("for the corner house")
    page.evaluate(MARK)
    page.get_by_label("A note for yourselves (who it is for)").fill(note)
    page.get_by_role("button", name="Make a link").click()
    expect(page.get_by_label("Invitation link")).to_have_value(re.compile(r"/join/[A-Za-z0-9_-]{20,}$"))
    assert page.evaluate(NOT_RELOADED)
    assert focused_matches(page, "#new-link [role=status]")
    listed = page.inner_text("#links-made")
    assert note in listed and "No links yet." not in listed
    assert page.get_by_label("A note for yourselves (who it is for)").input_value() == ""  # as after a reload
    page.reload()
    assert page.inner_text("#links-made") == listed

    # A mistake: the form comes back in place with its message, focus on it; the list unchanged.
    page.evaluate(MARK)
    page.get_by_label("How many people can use it").fill("0")
    page.get_by_role("button", name="Make a link").click()
    expect(page.locator("#max_uses-error")).to_have_text("Between 1 and 500 people.")
    assert page.evaluate(NOT_RELOADED)
    assert focused_matches(page, "#invite [role=alert]")
    assert page.locator("main").count() == 1 and page.locator("#invite").count() == 1
    assert page.inner_text("#links-made") == listed
    context.close()


def test_sending_the_confirmation_again_says_so_where_focus_is(browser, demo_site, demo_app):
    email = make_account(demo_app, f"{unique('new')}@example.org", verified=False)
    context = signed_in_context(browser, demo_site, email)
    page = context.new_page()
    page.goto("/")
    page.evaluate(MARK)
    page.get_by_role("button", name="Send the link again").click()
    expect(page.locator("#verify [role=status]")).to_contain_text("We sent a new link")
    assert page.evaluate(NOT_RELOADED)
    assert focused_matches(page, "#verify [role=status]")
    context.close()
