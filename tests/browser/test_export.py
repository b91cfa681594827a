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


def test_a_moved_member_takes_their_place_on_a_phone(browser, demo_site, demo_app, tmp_path):
    """The page a claim link opens: what it is, one button; axe finds nothing."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.circles.models import Circle, Place
    from app.extensions import db
    from app.tokens import new_token

    from .support import make_account, unique

    email = make_account(demo_app, f"{unique('moved')}@example.org", "Moved Neighbour")
    with demo_app.app_context():
        placeholder = User(email=None, display_name="Moved Neighbour", password_hash=None)
        db.session.add(placeholder)
        db.session.flush()
        raw, hashed = new_token()
        circle_id = db.session.scalar(select(Circle.id).where(Circle.slug == "harbour-coop"))
        db.session.add(Place(circle_id=circle_id, user_id=placeholder.id, token_hash=hashed, email=email))
        db.session.commit()
        db.session.remove()
    context = signed_in_context(browser, demo_site, email)
    page = context.new_page()
    page.goto(f"/claim/{raw}")
    page.screenshot(path=str(tmp_path / "claim-360.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert in_both_schemes(page) == []
    page.get_by_role("button", name="Take my place").click()
    assert page.url.endswith("/c/harbour-coop/")
    assert "your place in Harbour Housing Co-op is yours again" in page.content()
    context.close()


def test_closing_a_circle_reads_well_on_a_phone(browser, demo_site, demo_app, tmp_path):
    """The page that proposes closing, and what a closed circle's link answers."""
    from app.closing.domain import key_of
    from app.closing.models import ClosedLink
    from app.extensions import db
    import datetime as dt

    context = signed_in_context(browser, demo_site, "bruno@example.org")
    page = context.new_page()
    page.goto("/c/harbour-coop/")
    page.get_by_role("link", name="Close the circle").click()
    assert page.url.endswith("/c/harbour-coop/close")
    page.screenshot(path=str(tmp_path / "close-360.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert in_both_schemes(page) == []
    # Refused without the tick, beside the box.
    page.get_by_role("button", name="Propose closing the circle").click()
    assert "Download the export first" in page.content()
    assert in_both_schemes(page) == []
    # A feed of a circle that has closed.
    with demo_app.app_context():
        db.session.merge(ClosedLink(key=key_of("feed", "gone-feed-token"), closed_on=dt.date.today()))
        db.session.commit()
        db.session.remove()
    response = page.goto("/feeds/gone-feed-token.ics")
    assert response.status == 410
    page.screenshot(path=str(tmp_path / "closed-360.png"), full_page=True)
    assert in_both_schemes(page) == []
    context.close()
