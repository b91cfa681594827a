"""The foundation and circles, walked in a phone-sized browser through the
forms, once with JavaScript and once without: sign up, confirm by mail, sign
in, start a circle, invite; a neighbour follows the link, signs up, confirms,
signs in and lands in the circle; both read the log.

The one test that signs in through the form (the others mint a session)."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import PHONE
from .support import PASSWORD, mail_link, unique


def sign_up(page, name: str, email: str) -> None:
    page.get_by_label("Your name, as neighbours know you").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    expect(page.locator("main")).to_contain_text(f"We sent a message to {email}.")


def confirm_by_mail(page, mailbox, email: str) -> None:
    page.goto(mail_link(mailbox, email, "/auth/verify/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your address")
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page.locator("main")).to_contain_text("Thank you: your email address is confirmed.")


def sign_in(page, email: str) -> None:
    """On the sign-in page (where confirming sends you), through the form."""
    expect(page).to_have_url(re.compile(r"/auth/login"))
    form = page.locator("main form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()


def log_lines(page, slug: str) -> str:
    page.goto(f"/c/{slug}/log")
    expect(page.get_by_role("heading", level=2)).to_have_text("What stewards and members changed")
    return page.locator("ol.log").inner_text()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_found_a_circle_and_bring_a_neighbour(browser, demo_site, mailbox, javascript):
    founder_name, joiner_name = unique("Walker"), unique("Joiner")
    founder, joiner = f"{founder_name.lower()}@example.org", f"{joiner_name.lower()}@example.org"
    slug, circle_name = unique("walk"), f"Walk {unique('street')}"
    options = {"base_url": demo_site.base_url, "viewport": PHONE, "java_script_enabled": javascript}

    first = browser.new_context(**options)
    page = first.new_page()
    page.goto("/")
    page.locator("main").get_by_role("link", name="Create an account").click()
    sign_up(page, founder_name, founder)
    confirm_by_mail(page, mailbox, founder)
    sign_in(page, founder)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {founder_name}")
    assert page.evaluate("document.body.hasAttribute('data-signed-in')")

    page.get_by_role("link", name="Start a circle").click()
    page.get_by_label("Name", exact=True).fill(circle_name)
    page.get_by_label("Web address").fill(slug)
    page.get_by_role("button", name="Start the circle").click()
    expect(page).to_have_url(re.compile(rf"/c/{slug}/invitations$"))
    expect(page.locator("main")).to_contain_text("Your circle is ready. Invite your neighbours next.")

    page.get_by_label("A note for yourselves (who it is for)").fill("the walk")
    page.get_by_role("button", name="Make a link").click()
    link = page.get_by_label("Invitation link")
    expect(link).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/join/[A-Za-z0-9_-]{20,}$"))
    invitation = link.input_value()
    assert invitation.startswith(demo_site.base_url)

    second = browser.new_context(**options)
    other = second.new_page()
    other.goto(invitation)
    expect(other.get_by_role("heading", level=1)).to_have_text(f"Join {circle_name}")
    # The header's button, not the page's: it keeps the invitation just the same.
    other.get_by_role("banner").get_by_role("link", name="Sign up").click()
    sign_up(other, joiner_name, joiner)
    confirm_by_mail(other, mailbox, joiner)
    sign_in(other, joiner)
    expect(other).to_have_url(f"{demo_site.base_url}/c/{slug}/")
    expect(other.get_by_role("heading", level=1)).to_have_text(circle_name)

    for reader in (page, other):
        lines = log_lines(reader, slug)
        assert f"{founder_name} started the circle." in lines
        assert f"{founder_name} made an invitation link for 10 people, for 7 days. (the walk)" in lines
    other.goto(f"/c/{slug}/members")
    expect(other.locator("ul.people")).to_contain_text(joiner_name)
    expect(other.locator("ul.people")).to_contain_text(founder_name)
    first.close()
    second.close()
