"""A phone's view of the circle and of a new link, in a 360-pixel browser: the
circle's tabs (Talk and Library among them) stay on one line on every circle
page, with the current one in view; the Copy button copies the link, and Share
is offered only where the browser can share (navigator.share)."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect

from .conftest import PHONE, SQLITE_ONLY, signed_in_context

pytestmark = SQLITE_ONLY

# Each tab's box, the strip's, and where the page itself ends.
TABS = """() => {
  const nav = document.querySelector("nav.tabs");
  if (!nav) { return null; }
  const strip = nav.getBoundingClientRect();
  return {
    labels: [...nav.querySelectorAll("a")].map((a) => a.textContent.trim()),
    tops: [...nav.querySelectorAll("a")].map((a) => Math.round(a.getBoundingClientRect().top)),
    height: Math.round(strip.height), tallest: Math.max(...[...nav.querySelectorAll("a")].map(
      (a) => Math.round(a.getBoundingClientRect().height))),
    current: (() => { const c = nav.querySelector("[aria-current=page]"); if (!c) { return null; }
      const r = c.getBoundingClientRect(); return {label: c.textContent.trim(), left: r.left, right: r.right}; })(),
    strip: {left: strip.left, right: strip.right},
    pageWidth: document.documentElement.scrollWidth,
  };
}"""


def one_line(measured) -> list[str]:
    """What is wrong with a tab strip: nothing, for tabs on one line with the current one in view."""
    problems = []
    if len(set(measured["tops"])) != 1:
        problems.append(f"tabs on {len(set(measured['tops']))} lines: {list(zip(measured['labels'], measured['tops']))}")
    if measured["height"] > measured["tallest"] + 2:
        problems.append(f"the strip is {measured['height']} px high for tabs of {measured['tallest']} px")
    if measured["pageWidth"] > PHONE["width"]:
        problems.append(f"the page is {measured['pageWidth']} px wide")
    current = measured["current"]
    if current and (current["left"] < measured["strip"]["left"] - 1 or current["right"] > measured["strip"]["right"] + 1):
        problems.append(f"the current tab {current['label']!r} is out of view")
    return problems


def test_the_circles_tabs_are_on_one_line_on_every_circle_page(browser, demo_site, demo_pages):
    paths = [p.url for p in demo_pages if urlsplit(p.url).path.startswith("/c/elm-street/")
             and "text/html" in p.headers.get("Content-Type", "")]
    context = signed_in_context(browser, demo_site, "ada@example.org")
    page = context.new_page()
    found, seen_current = {}, set()
    for path in paths:
        page.goto(path)
        measured = page.evaluate(TABS)
        if measured is None:
            continue  # a page of its own (a printable notice), not a tab of the circle
        assert {"Talk", "Library"} <= set(measured["labels"]), (path, measured["labels"])
        if problems := one_line(measured):
            found[path] = problems
        if measured["current"]:
            seen_current.add(measured["current"]["label"])
    assert not found, found
    # Every tab was the current one somewhere, so each was checked in view, the last ones too.
    assert seen_current >= {"Talk", "Library"}, seen_current
    context.close()


def test_tabs_on_two_lines_are_caught(browser, demo_site):
    """The measure works: a strip allowed to wrap in a narrow column is reported."""
    context = signed_in_context(browser, demo_site, "ada@example.org")
    page = context.new_page()
    page.goto("/c/elm-street/talk")
    assert one_line(page.evaluate(TABS)) == []
    page.evaluate("""() => Object.assign(document.querySelector("nav.tabs").style,
                                         {flexWrap: "wrap", width: "200px", overflow: "visible"})""")
    assert any("lines" in p for p in one_line(page.evaluate(TABS)))
    context.close()


def _new_link(page) -> str:
    page.goto("/c/elm-street/invitations")
    page.get_by_role("button", name="Make a link").click()
    field = page.get_by_label("Invitation link")
    expect(field).to_be_visible()
    return field.input_value()


def test_copy_puts_the_link_on_the_clipboard(browser, demo_site):
    context = signed_in_context(browser, demo_site, "ada@example.org")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=demo_site.base_url)
    page = context.new_page()
    link = _new_link(page)
    assert "/join/" in link
    copy = page.locator("#new-link").get_by_role("button", name="Copy")
    expect(copy).to_be_visible()
    page.evaluate("navigator.clipboard.writeText('something else')")
    copy.click()
    expect(page.locator("#new-link").get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link
    context.close()


def test_share_is_offered_only_where_the_browser_can_share(browser, demo_site):
    # Without navigator.share (taken away, whatever this chromium has): no Share button.
    context = signed_in_context(browser, demo_site, "ada@example.org")
    context.add_init_script("delete Navigator.prototype.share; delete navigator.share;")
    page = context.new_page()
    _new_link(page)
    assert page.evaluate("typeof navigator.share") == "undefined"
    expect(page.locator("#new-link [data-share]")).to_be_hidden()
    expect(page.locator("#new-link").get_by_role("button", name="Copy")).to_be_visible()
    context.close()

    # With it (as on a phone): offered, and it shares the new link with the circle's name.
    context = signed_in_context(browser, demo_site, "ada@example.org")
    context.add_init_script("""
      Object.defineProperty(Navigator.prototype, "share", {configurable: true, value: function (data) {
        window.__shared = data; return Promise.resolve(); }});
    """)
    page = context.new_page()
    link = _new_link(page)
    share = page.locator("#new-link").get_by_role("button", name="Share")
    expect(share).to_be_visible()
    share.click()
    shared = page.evaluate("window.__shared")
    assert shared == {"title": "Join Elm Street", "url": link}, shared
    context.close()
