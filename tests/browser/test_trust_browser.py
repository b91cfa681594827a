"""Trust in a 360-pixel browser: axe (both colour schemes) on the trust,
help, report, queue, removal and agreements pages; vouching and withdrawing
with JavaScript, the trust section swapped in place; and a report sent with
JavaScript off, which a steward answers, and which the log then shows."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from .conftest import PHONE, SQLITE_ONLY, signed_in_context
from .support import MARK, NOT_RELOADED, make_account, unique
from .test_a11y import in_both_schemes, settled


def _ids(demo_app) -> dict:
    """Demo rows the pages take: a reply by someone else than Ada, the removal proposal, a version."""
    from app.auth.models import User
    from app.extensions import db
    from app.talk.models import Proposal, Reply
    from app.trust.models import Report

    with demo_app.app_context():
        ada = db.session.scalar(select(User.id).where(User.email == "ada@example.org"))
        reply = db.session.scalar(select(Reply.id).where(Reply.author_id != ada, Reply.hidden_reason.is_(None))
                                  .order_by(Reply.id))
        removal = db.session.scalar(select(Proposal.id).where(Proposal.action == "remove_member"))
        waiting = db.session.scalar(select(Report.id).where(Report.resolved_at.is_(None)))
        db.session.remove()
    return {"reply": reply, "removal": removal, "waiting": waiting}


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


@SQLITE_ONLY
def test_trust_pages_pass_axe_at_360_pixels(browser, demo_site, demo_app):
    ids = _ids(demo_app)
    ada = signed_in_context(browser, demo_site, "ada@example.org")
    page = ada.new_page()
    found = []
    for path in ("/c/elm-street/trust", "/c/elm-street/help", f"/c/elm-street/report/reply/{ids['reply']}",
                 "/c/elm-street/report/member",
                 "/c/elm-street/moderation", "/c/elm-street/trust/removal", "/c/elm-street/agreements",
                 "/c/elm-street/agreements/1", "/c/elm-street/agreements/2", "/c/elm-street/agreements/change"):
        settled(page, path)
        _no_sideways_scroll(page)
        found += in_both_schemes(page)
    # Forms with their messages: a removal without a reason, an answer without one.
    page.goto("/c/elm-street/trust/removal")
    page.get_by_role("button", name="Open the removal proposal").click()
    expect(page.locator(".error").first).to_be_visible()
    found += in_both_schemes(page)
    page.goto("/c/elm-street/moderation")
    page.locator(f"#report-{ids['waiting']} button[type=submit]").click()
    expect(page.locator(".error").first).to_be_visible()
    found += in_both_schemes(page)
    ada.close()
    # The closed removal proposal, as a member of Harbour reads it.
    bruno = signed_in_context(browser, demo_site, "bruno@example.org")
    page = bruno.new_page()
    settled(page, f"/c/harbour-coop/proposals/{ids['removal']}")
    expect(page.get_by_text("It did not pass: Hana Takahashi stays a member.")).to_be_visible()
    _no_sideways_scroll(page)
    found += in_both_schemes(page)
    bruno.close()
    assert found == [], found


def test_vouch_and_withdraw_with_javascript_swap_the_section_in_place(browser, demo_site):
    context = signed_in_context(browser, demo_site, "elif@example.org")
    page = context.new_page()
    page.goto("/c/elm-street/trust")
    page.evaluate(MARK)
    gus = page.locator("#trust li", has_text="Gus Moreau")
    before = gus.locator(".hint").inner_text()
    page.get_by_role("button", name="Vouch for Gus Moreau").click()
    expect(page.locator("#trust [role=status]")).to_have_text("Your vouch is given.")
    expect(page.get_by_role("button", name="Withdraw my vouch for Gus Moreau")).to_be_visible()
    assert gus.locator(".hint").inner_text() != before
    assert page.evaluate(NOT_RELOADED), "the vouch was not made with htmx"
    def words():
        return " ".join(page.inner_text("#trust").replace("Your vouch is given.", "").split())

    shown = words()
    page.reload()
    assert words() == shown  # as a reload shows it
    page.evaluate(MARK)
    page.get_by_role("button", name="Withdraw my vouch for Gus Moreau").click()
    expect(page.locator("#trust [role=status]")).to_have_text("Your vouch is withdrawn.")
    expect(page.get_by_role("button", name="Vouch for Gus Moreau")).to_be_visible()
    assert gus.locator(".hint").inner_text() == before
    assert page.evaluate(NOT_RELOADED)
    context.close()


def test_a_report_without_javascript_the_steward_hides_it_and_the_log_says_why(browser, demo_site, demo_app):
    author = make_account(demo_app, f"{unique('loud')}@example.org", name="Lou", circle="elm-street")
    reporter = make_account(demo_app, f"{unique('quiet')}@example.org", name="Quinn", circle="elm-street")
    with demo_app.app_context():
        from app.auth.models import User
        from app.database import write_unit
        from app.extensions import db
        from app.talk import domain

        lou = db.session.scalar(select(User).where(User.email == author))
        with write_unit():
            reply_id = domain.reply(1, lou, "Whoever parks there is an idiot.").id
        db.session.remove()
    context = signed_in_context(browser, demo_site, reporter, java_script_enabled=False)
    page = context.new_page()
    page.goto("/c/elm-street/talk/1?page=1")
    page.goto(f"/c/elm-street/report/reply/{reply_id}")
    page.get_by_role("button", name="Send the report").click()
    expect(page.locator(".error").first).to_contain_text("Say what is wrong")
    page.get_by_label("What is wrong").fill("Name-calling a neighbour.")
    page.get_by_role("button", name="Send the report").click()
    expect(page.get_by_text("Thank you. The stewards will look at it")).to_be_visible()
    context.close()

    steward = signed_in_context(browser, demo_site, "ada@example.org", java_script_enabled=False)
    page = steward.new_page()
    page.goto("/c/elm-street/moderation")
    card = page.locator("li.card", has_text="Name-calling a neighbour.")
    expect(card).to_contain_text("Reported by Quinn")
    card.get_by_label("Hide it (its author still sees it, with your reason)").check()
    card.get_by_label("Your reason (it goes into the circle’s log)").fill("No name-calling, please.")
    card.get_by_role("button", name="Do it").click()
    expect(page.get_by_text("Done, and written in the circle’s log with your reason.")).to_be_visible()
    page.goto("/c/elm-street/log")
    expect(page.locator("ol.log li").first).to_contain_text("Ada Okafor hid a reply by Lou: No name-calling, please.")
    steward.close()

    reader = signed_in_context(browser, demo_site, reporter)
    page = reader.new_page()
    page.goto(f"/c/elm-street/talk/1?page=1#reply-{reply_id}")
    expect(page.locator(f"#reply-{reply_id}")).to_contain_text("Hidden by the stewards: No name-calling, please.")
    assert "idiot" not in page.inner_text(f"#reply-{reply_id}")
    reader.close()
