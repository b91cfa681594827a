"""Shared meals in a 360-pixel browser: axe in both colour schemes on every
meal page, signing up with a party by keyboard alone, claiming a potluck
need with JavaScript off (every meal form is a plain post), answering by
htmx, and a cooked meal from its menu to its split costs without JavaScript.

Only the axe sweep over the demo's meal pages is presentation (the same HTML
from the same data on either database): it runs in the SQLite run alone.
Everything that writes runs on both databases."""

import datetime as dt
import re

from playwright.sync_api import expect

from .conftest import SQLITE_ONLY, signed_in_context
from .support import make_account, unique
from .test_a11y import in_both_schemes, settled
from .test_keyboard import button, tab_to

# The demo's meals (app/meals/demo.py; tests/test_meals_demo.py checks the ids).
POTLUCK, COOKED, SPLIT = 13, 14, 15
PAGES = [f"/c/elm-street/gatherings/{COOKED}", f"/c/elm-street/gatherings/{POTLUCK}",
         f"/c/elm-street/meals/{POTLUCK}/potluck", f"/c/elm-street/meals/{SPLIT}/costs",
         f"/c/elm-street/meals/{POTLUCK}/costs", f"/c/elm-street/meals/{COOKED}/menu",
         "/c/elm-street/meals/new", "/account/dietary", f"/c/elm-street/meals/{POTLUCK}/dishes/1"]


@SQLITE_ONLY
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


def test_a_cooked_meal_from_its_menu_to_split_costs_without_javascript(browser, demo_site, demo_app, neighbour):
    """A neighbour cooks: posts the meal with its menu, allergens and diet; a
    second neighbour signs up with a child and sees what the menu declares;
    both record what they spent; the cook closes sign-ups and makes the costs
    final, and each sees their share and who pays whom. No JavaScript, 360
    px. axe finds nothing on any page on the way: it runs in a second,
    scripted context of the same person on the same address (a page without
    JavaScript cannot run axe), so it sees what the plain page showed."""
    diner = make_account(demo_app, f"{unique('diner')}@example.org", circle="elm-street")
    with demo_app.app_context():  # the diner has recorded what they avoid
        from sqlalchemy import select

        from app.auth.models import User
        from app.database import write_unit
        from app.extensions import db
        from app.meals import domain

        with write_unit():
            domain.save_needs(db.session.scalar(select(User).where(User.email == diner)), ["mustard"], [])
        db.session.remove()
    found = []
    cook = signed_in_context(browser, demo_site, neighbour, java_script_enabled=False)
    checker = {who: signed_in_context(browser, demo_site, who) for who in (neighbour, diner)}

    def axe_on(who, path):
        seen_by = checker[who].new_page()
        seen_by.goto(path)
        found.extend(in_both_schemes(seen_by))
        seen_by.close()

    page = cook.new_page()
    page.goto("/c/elm-street/meals/new")
    page.get_by_label("Cooked: a cook (or a team) makes it").check()
    page.get_by_label("What", exact=True).fill("Dal night")
    day = (dt.date.today() + dt.timedelta(days=9)).isoformat()
    page.get_by_label("Starts").fill(f"{day}T19:00")
    page.get_by_label("Ends").fill(f"{day}T21:00")
    page.get_by_label("Where (an address)").fill("Elm Street 7, kitchen")
    page.get_by_label("Guests each person may bring").fill("2")
    page.get_by_label("Portions (leave empty for no limit)").fill("10")
    page.get_by_label("Menu", exact=True).fill("**Red lentil dal** with rice and a mustard-seed tadka.")
    page.get_by_label("celery", exact=True).check()
    page.get_by_label("mustard", exact=True).check()
    page.get_by_label("vegan", exact=True).check()
    page.get_by_role("button", name="Post it").click()
    expect(page.get_by_text("Posted. Your neighbours can sign up now.")).to_be_visible()
    meal = page.locator("#meal")
    expect(meal.locator("strong", has_text="Red lentil dal")).to_be_visible()
    expect(meal).to_contain_text("Contains: celery, mustard")
    expect(meal).to_contain_text("a declaration, not a guarantee")
    gathering_path = re.sub(r"^https?://[^/]+", "", page.url)
    meal_path = gathering_path.replace("/gatherings/", "/meals/")
    axe_on(neighbour, gathering_path)
    page.screenshot(path="/tmp/meals-cooked-menu-360.png", full_page=True)

    guest = signed_in_context(browser, demo_site, diner, java_script_enabled=False)
    other = guest.new_page()
    other.goto(gathering_path)
    expect(other.locator("#meal")).to_contain_text("For you: contains mustard")
    other.get_by_label("Adults (you too)").fill("1")
    other.get_by_label("Children (half a portion each)").fill("1")
    other.get_by_role("button", name="Sign up", exact=True).click()
    expect(other.get_by_text("You are coming. Enjoy the meal!")).to_be_visible()
    other.goto(meal_path + "/costs")
    other.get_by_label("Amount").fill("6")
    other.get_by_label("What for (optional)").fill("rice")
    other.get_by_role("button", name="Record it").click()
    expect(other.locator("main")).to_contain_text("€6.00 · rice")
    axe_on(diner, meal_path + "/costs")

    page.goto(gathering_path)
    expect(page.locator("#meal")).to_contain_text("Coming: 3 people, 2 adults and 1 child, 2.5 portions.")
    page.get_by_role("button", name="Close sign-ups now").click()
    expect(page.locator("#meal")).to_contain_text("Sign-ups are closed.")
    page.goto(meal_path + "/costs")
    page.get_by_label("Amount").fill("twenty")  # a clear message beside the field, nothing saved
    page.get_by_role("button", name="Record it").click()
    expect(page.locator(".error").first).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("€24.00")
    errors = checker[neighbour].new_page()  # the same refusal, for axe
    errors.goto(meal_path + "/costs")
    errors.get_by_label("Amount").fill("twenty")
    errors.get_by_role("button", name="Record it").click()
    expect(errors.locator(".error").first).to_be_visible()
    found += in_both_schemes(errors)
    errors.close()
    page.get_by_label("Amount").fill("24.00")
    page.get_by_label("What for (optional)").fill("lentils, spices")
    page.get_by_role("button", name="Record it").click()
    expect(page.locator("main")).to_contain_text("€24.00")
    page.get_by_role("button", name="Split the costs and make them final").click()
    main = page.locator("main")
    # 30.00 over 5 half portions (the cook 2, the diner's adult and child 3): 6.00 a half.
    expect(main).to_contain_text("Final. Total: €30.00")
    expect(main).to_contain_text("Your share: €12.00; you paid €24.00.")
    expect(main).to_contain_text(re.compile(r"pays you €12\.00"))
    axe_on(neighbour, meal_path + "/costs")
    other.goto(meal_path + "/costs")
    expect(other.locator("main")).to_contain_text("Your share: €18.00; you paid €6.00.")
    expect(other.locator("main")).to_contain_text(re.compile(r"You pay .+ €12\.00"))
    axe_on(diner, meal_path + "/costs")
    axe_on(diner, gathering_path)
    page.screenshot(path="/tmp/meals-costs-final-360.png", full_page=True)
    assert found == [], found
    for context in (cook, guest, *checker.values()):
        context.close()
