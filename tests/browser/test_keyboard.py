"""The main flows by keyboard alone: Tab to move, Enter or Space to act, and
typing into fields; never a click. Every place focus stops must show it."""

import re

from playwright.sync_api import expect

from .conftest import PHONE

# What has focus, and whether it shows: an outline or a box shadow.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) { return null; }
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== "" && style.boxShadow !== "none";
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), type: el.getAttribute("type") || "",
    text: (el.innerText || el.value || "").trim().replace(/\\s+/g, " ").slice(0, 60),
    label: el.labels && el.labels.length ? el.labels[0].innerText.trim() : "",
    visible: (outline || shadow) && box.width > 0 && box.height > 0,
    outline: style.outlineStyle + " " + style.outlineWidth + " " + style.outlineColor, shadow: style.boxShadow,
  };
}"""


def tab_to(page, wanted, limit: int = 60) -> dict:
    """Press Tab until ``wanted(focused)`` holds; every stop on the way must
    show its focus."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:  # past the last element: the document itself
            continue
        stops.append(focused)
        assert focused["visible"], f"focus is not visible on {focused}"
        if wanted(focused):
            return focused
    raise AssertionError(f"Tab never reached it; focus went through {[(s['tag'], s['text'], s['label']) for s in stops]}")


def link(text):
    return lambda f: f["tag"] == "a" and f["text"] == text


def button(text):
    return lambda f: f["tag"] == "button" and f["text"] == text


def field(label):
    return lambda f: f["tag"] in ("input", "select", "textarea") and f["label"] == label


def test_sign_in_invite_and_sign_out_by_keyboard(browser, demo_site):
    context = browser.new_context(base_url=demo_site.base_url, viewport=PHONE)
    page = context.new_page()
    page.goto("/")

    # The first Tab reaches the skip link, shown when focused.
    skip = tab_to(page, link("Skip to content"), limit=1)
    assert skip["visible"]
    tab_to(page, link("Sign in"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/auth/login$"))

    tab_to(page, field("Email"))
    page.keyboard.type("ada@example.org")
    tab_to(page, field("Password"), limit=1)
    page.keyboard.type("bring-a-dish-and-a-friend")
    tab_to(page, field("Keep me signed in on this device"), limit=1)
    tab_to(page, button("Sign in"), limit=1)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada Okafor")

    tab_to(page, link("Elm Street"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{demo_site.base_url}/c/elm-street/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Elm Street")

    tab_to(page, link("Invite"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{demo_site.base_url}/c/elm-street/invitations")
    tab_to(page, field("A note for yourselves (who it is for)"))
    page.keyboard.type("keyboard")
    tab_to(page, button("Make a link"))
    page.keyboard.press("Space")
    expect(page.get_by_label("Invitation link")).to_have_value(re.compile(r"/join/[A-Za-z0-9_-]{20,}$"))

    tab_to(page, button("Sign out"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(page.locator("main")).to_contain_text("You are signed out.")
    page.goto("/c/elm-street/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    context.close()
