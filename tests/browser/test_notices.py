"""A notice for the stairwell, as a steward makes and prints it: the form on a
phone, the page as chromium prints it (one page, of the chosen size), and the
QR code a phone can scan."""

from __future__ import annotations

import re

from .conftest import signed_in_context

# PDF page sizes in points (1/72 inch).
A4 = (595, 842)
A5 = (420, 595)


def _pages(pdf: bytes) -> list[tuple[int, int]]:
    """The size of each page of a PDF chromium printed."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    return [(round(float(w)), round(float(h))) for w, h in boxes]


def test_a_steward_makes_and_prints_a_notice_on_one_page(browser, demo_site, tmp_path):
    context = signed_in_context(browser, demo_site, "ada@example.org")
    page = context.new_page()
    page.goto("/c/elm-street/invitations")
    page.get_by_role("link", name="Make a notice to print").click()
    page.screenshot(path=str(tmp_path / "notice-form-360.png"), full_page=True)
    assert page.get_by_label("Ask the circle's question first, and let a steward welcome them").is_checked()
    page.get_by_label("A few words for your neighbours").fill(
        "We are the neighbours of Elm Street. Soup on Fridays, a tool shelf, a garden. Come and say hello.")
    page.get_by_role("button", name="Make the notice").click()
    assert re.search(r"/notice/[A-Za-z0-9_-]{20,}\?size=a4$", page.url)
    assert page.locator("article.notice svg[role=img]").count() == 1
    link = page.locator(".notice-link").inner_text()
    assert "/join/" in link
    page.screenshot(path=str(tmp_path / "notice-360.png"), full_page=True)

    sizes = _pages(page.pdf(prefer_css_page_size=True, print_background=True))
    assert sizes == [A4], sizes
    page.goto(page.url.replace("size=a4", "size=a5"))
    sizes = _pages(page.pdf(prefer_css_page_size=True, print_background=True))
    assert sizes == [A5], sizes
    # Printed, the page is the notice alone: no header, no buttons, no note.
    page.emulate_media(media="print")
    assert not page.locator("header.bar").is_visible()
    assert not page.locator(".no-print").is_visible()
    assert page.locator("article.notice").is_visible()
    context.close()


def test_a_calendar_is_one_tap_away_and_replacing_its_address_asks_first(browser, demo_site, neighbour, tmp_path):
    context = signed_in_context(browser, demo_site, neighbour)
    page = context.new_page()
    page.goto("/c/elm-street/calendar")
    page.get_by_role("button", name="Make my calendar address").click()
    subscribe = page.get_by_role("link", name="Subscribe in my calendar app").first
    address = page.get_by_label("My calendar address").input_value()
    assert subscribe.get_attribute("href") == "webcal://" + address.split("://", 1)[1]
    page.screenshot(path=str(tmp_path / "calendars-360.png"), full_page=True)
    # Replacing without the tick changes nothing and says why, beside the box.
    page.locator("summary", has_text="Make a new address").first.click()
    page.get_by_role("button", name="Replace the address").first.click()
    assert "Tick the box to replace the address" in page.inner_text("main")
    assert page.get_by_label("My calendar address").input_value() == address
    page.get_by_label("Yes: calendars that use the old address stop getting updates").first.check()
    page.get_by_role("button", name="Replace the address").first.click()
    assert "The old one no longer works" in page.inner_text("main")
    assert page.get_by_label("My calendar address").input_value() != address
    context.close()


def test_a_host_prints_a_gatherings_guest_link_notice_on_one_page(browser, demo_site, demo_app, tmp_path):
    """The gathering's own notice (its link for people outside the circle, as a
    QR code), printed as the circle's is: one page of the chosen size."""
    from .support import make_gathering, unique

    title = unique("Street breakfast")
    path = make_gathering(demo_app, "elm-street", "ada@example.org", title, place="Elm Street 12, courtyard")
    context = signed_in_context(browser, demo_site, "ada@example.org")
    page = context.new_page()
    page.goto(path + "/manage")
    page.get_by_role("button", name="Share with people outside the circle").click()
    page.get_by_role("link", name="Print a notice").click()
    page.get_by_label("A few words for the notice (optional)").fill(
        "Bring a cup and something to share. Everyone from the street is welcome, children too.")
    page.get_by_role("button", name="Make the notice").click()
    assert re.search(r"/notice\?(.*&)?size=a4", page.url), page.url
    main = page.inner_text("main")
    assert title in main and "Elm Street 12, courtyard" in main and "Bring a cup" in main
    assert page.locator("main svg.qr[role=img]").count() == 1
    page.screenshot(path=str(tmp_path / "gathering-notice-360.png"), full_page=True)

    sizes = _pages(page.pdf(prefer_css_page_size=True, print_background=True))
    assert sizes == [A4], sizes
    page.goto(page.url.replace("size=a4", "size=a5"))
    sizes = _pages(page.pdf(prefer_css_page_size=True, print_background=True))
    assert sizes == [A5], sizes
    page.emulate_media(media="print")
    assert not page.locator("header.bar").is_visible()
    assert not page.locator(".no-print").is_visible()
    assert page.locator("article.notice").is_visible()
    context.close()
