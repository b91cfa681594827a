"""Shared meals in a 360-pixel browser: axe in both colour schemes on every
meal page, signing up with a party by keyboard alone, and claiming a
potluck need with JavaScript off (every meal form is a plain post)."""

from playwright.sync_api import expect

from .conftest import SQLITE_ONLY, signed_in_context
from .test_a11y import in_both_schemes, settled
from .test_keyboard import button, tab_to

pytestmark = SQLITE_ONLY

# The demo's meals (app/meals/demo.py; tests/test_meals_demo.py checks the ids).
POTLUCK, COOKED, SPLIT = 13, 14, 15
PAGES = [f"/c/elm-street/gatherings/{COOKED}", f"/c/elm-street/gatherings/{POTLUCK}",
         f"/c/elm-street/meals/{POTLUCK}/potluck", f"/c/elm-street/meals/{SPLIT}/costs",
         f"/c/elm-street/meals/{POTLUCK}/costs", f"/c/elm-street/meals/{COOKED}/menu",
         "/c/elm-street/meals/new", "/account/dietary", f"/c/elm-street/meals/{POTLUCK}/dishes/1"]


def test_every_meal_page_passes_axe_in_both_schemes(browser, demo_site):
    for who in ("ada@example.org", "elif@example.org"):
        context = signed_in_context(browser, demo_site, who)
        page = context.new_page()
        found = []
        for path in PAGES:
            settled(page, path)
            found += in_both_schemes(page)
        # A form with its errors: a meal with no title, a party too big.
        page.goto("/c/elm-street/meals/new")
        page.get_by_role("button", name="Post it").click()
        expect(page.locator(".error").first).to_be_visible()
        found += in_both_schemes(page)
        assert found == [], found
        context.close()


def test_sign_up_with_a_party_by_keyboard(browser, demo_site):
    context = signed_in_context(browser, demo_site, "ada@example.org")
    page = context.new_page()
    page.goto(f"/c/elm-street/gatherings/{COOKED}")
    tab_to(page, lambda f: f["tag"] == "input" and f["label"].startswith("Adults"))
    page.keyboard.press("Control+a")
    page.keyboard.type("2")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+a")
    page.keyboard.type("1")
    tab_to(page, button("Save my party"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("You are coming. Enjoy the meal!")).to_be_visible()
    expect(page.get_by_text("Coming: 9 people, 6 adults and 3 children, 7.5 portions.")).to_be_visible()
    expect(page.get_by_text("Portions left: 6.5 of 14")).to_be_visible()
    context.close()


def test_claim_a_dessert_without_javascript(browser, demo_site):
    context = signed_in_context(browser, demo_site, "gus@example.org", java_script_enabled=False)
    page = context.new_page()
    page.goto(f"/c/elm-street/meals/{POTLUCK}/potluck")
    page.get_by_label("What it is for").select_option(label="dessert (2 open)")
    page.get_by_label("Your dish").fill("Plum crumble")
    page.get_by_label("How many it feeds").fill("8")
    page.get_by_label("gluten").first.check()
    page.get_by_role("button", name="I’ll bring it").click()
    expect(page.get_by_text("Thank you! Your dish is on the list.")).to_be_visible()
    expect(page.get_by_text("Plum crumble")).to_be_visible()
    expect(page.get_by_text("1 still needed").nth(1)).to_be_visible()
    page.goto(f"/c/elm-street/gatherings/{POTLUCK}")
    expect(page.get_by_text("1 dessert", exact=False).first).to_be_visible()
    context.close()


def test_answering_a_meal_by_htmx_refreshes_its_portions(browser, demo_site, neighbour):
    """The gathering's answer card on a meal's page: the meal part (portions
    left) changes with the answer, and htmx swaps it as a reload shows it."""
    from .test_htmx import answer_and_compare

    context = signed_in_context(browser, demo_site, neighbour)
    page = context.new_page()
    page.goto(f"/c/elm-street/gatherings/{POTLUCK}")
    before = page.inner_text("#meal")
    answer_and_compare(page, "I’m coming", "You are coming.")
    after = page.inner_text("#meal")
    assert before != after and "Change my party" in after
    page.reload()
    assert page.inner_text("#meal") == after
    answer_and_compare(page, "I can’t come", "You said you can’t come.")
    assert page.inner_text("#meal") == before.replace("Sign up with my party", "Sign up with my party")
    page.reload()
    assert page.inner_text("#meal") == before
    context.close()
