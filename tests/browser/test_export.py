"""A steward takes the circle with them, on a phone: the export page reads
well at 360 px, axe finds nothing, and the button downloads the zip."""

from __future__ import annotations

import json
import zipfile

from .conftest import signed_in_context
from .test_a11y import in_both_schemes


def test_a_steward_downloads_the_circle_on_a_phone(browser, demo_site, tmp_path):
    context = signed_in_context(browser, demo_site, "ada@example.org", accept_downloads=True)
    page = context.new_page()
    page.goto("/c/elm-street/")
    page.get_by_role("link", name="Export everything").click()
    assert page.url.endswith("/c/elm-street/export")
    page.screenshot(path=str(tmp_path / "export-360.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert in_both_schemes(page) == []
    with page.expect_download() as download:
        page.get_by_role("button", name="Download everything").click()
    path = tmp_path / "elm.zip"
    download.value.save_as(path)
    assert download.value.suggested_filename.startswith("elm-street-")
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read("circle.json"))["circle"][0]["name"] == "Elm Street"
    # The choice a member makes about their address reads well too.
    page.goto("/c/elm-street/me")
    page.screenshot(path=str(tmp_path / "me-360.png"), full_page=True)
    assert not page.get_by_label("My email address may leave in this circle's export").is_checked()
    assert in_both_schemes(page) == []
    context.close()
