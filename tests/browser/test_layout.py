"""No page scrolls sideways on a 360×740 phone: every page a signed-in member
reaches by links (the crawl, so later areas' pages are covered too), the
signed-out pages, and forms showing their errors."""

import re

from .conftest import PHONE, SQLITE_ONLY, signed_in_context
from .support import gathering_path

pytestmark = SQLITE_ONLY

SIGNED_OUT = ["/", "/auth/login", "/auth/register", "/auth/reset", "/auth/check-email", "/offline"]
# The widest thing on the page, to say what overflows when something does.
WIDTH = """() => {
  const limit = document.documentElement.clientWidth;
  let widest = null;
  for (const el of document.body.querySelectorAll("*")) {
    const right = el.getBoundingClientRect().right;
    if (right > limit && (!widest || right > widest.right)) {
      widest = {right: Math.round(right), tag: el.tagName.toLowerCase(), cls: el.className, text: (el.textContent || "").trim().slice(0, 60)};
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, widest: widest};
}"""


def overflowing(page, paths) -> list:
    found = []
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, (path, response.status)
        measured = page.evaluate(WIDTH)
        if measured["scrollWidth"] > PHONE["width"]:
            found.append((path, measured))
    return found


def test_signed_in_pages_fit_a_phone(browser, demo_site, demo_pages):
    paths = [p.url for p in demo_pages if "text/html" in p.headers.get("Content-Type", "")]
    assert len(paths) >= 10, paths
    context = signed_in_context(browser, demo_site, "ada@example.org")
    page = context.new_page()
    assert overflowing(page, paths) == []
    context.close()


def test_signed_out_pages_fit_a_phone(phone, join_path):
    page = phone.new_page()
    assert overflowing(page, SIGNED_OUT + [join_path]) == []
    # Forms showing their messages.
    page.goto("/auth/register")
    page.get_by_label("Email").fill("not-an-address-but-a-very-long-string-without-any-spaces-at-all")
    page.get_by_role("button", name="Create my account").click()
    page.locator(".error").first.wait_for()
    assert page.evaluate(WIDTH)["scrollWidth"] <= PHONE["width"]


def test_a_wide_page_is_caught(phone):
    """The measure works: a page made wider than the phone is reported."""
    page = phone.new_page()
    page.goto("/auth/login")
    page.evaluate("document.querySelector('main').style.minWidth = '400px'")
    measured = page.evaluate(WIDTH)
    assert measured["scrollWidth"] > PHONE["width"] and measured["widest"]["tag"]


def test_account_forms_with_messages_fit_a_phone(browser, demo_site, neighbour):
    """The account page's name and email forms, sent with a long address and a
    wrong password, show their messages without scrolling sideways."""
    context = signed_in_context(browser, demo_site, neighbour)
    page = context.new_page()
    page.goto("/auth/account")
    assert page.evaluate(WIDTH)["scrollWidth"] <= PHONE["width"]
    page.get_by_label("New email address").fill("a-very-long-address-without-any-spaces-at-all-" * 2 + "@example.org")
    page.get_by_label("Your password").fill("not the password")
    page.get_by_role("button", name="Send me a link").click()
    page.locator(".error").first.wait_for()
    measured = page.evaluate(WIDTH)
    assert measured["scrollWidth"] <= PHONE["width"], measured
    context.close()


# Where something is on the first screen: its box, the page not scrolled.
BOX = """(selector) => {
  const el = document.querySelector(selector);
  if (!el) { return null; }
  const box = el.getBoundingClientRect();
  return {top: Math.round(box.top + window.scrollY), bottom: Math.round(box.bottom + window.scrollY)};
}"""
# The demo's coming gatherings in Elm Street, each a different case: guests
# allowed and a waitlist, slots and a series, approval asked with a word for the hosts.
FIRST_SCREEN = ["Soup evening", "Repair café", "Planning the courtyard garden"]


def test_a_guest_sees_who_is_coming_and_can_answer_within_the_first_screen(browser, demo_site, demo_app,
                                                                           neighbour):
    """On a 360×740 phone, a member who does not host it reads what, when,
    where and who is coming, and reaches the answer buttons, without scrolling."""
    context = signed_in_context(browser, demo_site, neighbour)
    page = context.new_page()
    found = {}
    for title in FIRST_SCREEN:
        page.goto(gathering_path(demo_app, "elm-street", title))
        assert page.locator("text=Manage this gathering").count() == 0
        boxes = {what: page.evaluate(BOX, selector) for what, selector in (
            ("what", "h1"), ("when and where", ".facts"), ("who is coming", "#who-heading"),
            ("the answer", "#answer .choices"))}
        assert all(boxes.values()), (title, boxes)
        low = {what: box["bottom"] for what, box in boxes.items() if box["bottom"] > PHONE["height"]}
        if low:
            found[title] = low
    assert found == {}, f"below the first screen ({PHONE['height']} px): {found}"
    context.close()


# Primary actions: filled buttons (not "secondary", not link-styled), visible on the page.
PRIMARY = """() => Array.from(document.querySelectorAll("main button, main a.button"))
  .filter((el) => !el.classList.contains("secondary") && !el.classList.contains("link")
                  && !el.classList.contains("danger") && el.offsetParent !== null)
  .map((el) => { const r = el.getBoundingClientRect();
                 return {text: el.textContent.trim(), width: Math.round(r.width), height: Math.round(r.height),
                         form: el.closest("form") ? el.closest("form").getAttribute("action") : null}; })"""


def test_one_primary_action_per_page_and_each_big_enough_to_tap(browser, demo_site, demo_pages):
    """A page asks one main thing of the person; lists of alike items (welcome
    each person waiting) repeat one action, which counts once."""
    paths = [p.url for p in demo_pages if "text/html" in p.headers.get("Content-Type", "")]
    context = signed_in_context(browser, demo_site, "ada@example.org")
    page = context.new_page()
    crowded, small = [], []
    for path in paths:
        page.goto(path)
        primary = page.evaluate(PRIMARY)
        kinds = {re.sub(r"\d+", "#", p["form"] or p["text"]) for p in primary}
        if len(kinds) > 1:
            crowded.append((path, [p["text"] for p in primary]))
        small += [(path, p) for p in primary if p["width"] < 44 or p["height"] < 44]
    context.close()
    assert crowded == [], "\n".join(map(str, crowded))
    assert small == []
