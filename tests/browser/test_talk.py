"""Talk in a real browser: a reply with htmx is appended in place and the
page reads as a reload would show it; without JavaScript the same form works;
and a corpus of XSS payloads entered through every text form of the app
(a person's name; a circle's name, description, area and join question; what
a member offers; an invitation's note; a gathering's title, description, place,
slot and cancel reason; a discussion, a reply and its edit, a gathering's own
discussion, a proposal, a position's reason, an outcome) never runs: no dialog, no request to a
payload's address, no element a payload tried to inject."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from .conftest import signed_in_context
from .support import MARK, NOT_RELOADED, make_account, unique

# Each short enough for a one-line field (80 characters).
PAYLOADS = [
    '<img src="https://xss.invalid/1" onerror="alert(1)">',
    "<svg onload=alert(2)>",
    '"><script>alert(3)</script>',
    "<a href=javascript:alert(4)>four</a>",
    '<div hx-get="/xss/5" hx-trigger="load">five</div>',
    '<p data-hx-post="/xss/6" data-hx-trigger="load">six</p>',
    "[seven](javascript:alert(7))",
    '<math><mi xlink:href="javascript:alert(8)">m</mi></math>',
    '<iframe src="https://xss.invalid/9"></iframe>',
    "' onmouseover='alert(10)' x='",
    "<details open ontoggle=alert(11)>",
    "![twelve](https://xss.invalid/12)",
    "<style>@import 'https://xss.invalid/13';</style>",
    '<input autofocus onfocus="alert(14)">',
    "[fifteen](data:text/html,<script>alert(15)</script>)",
]
LONG = "\n\n".join(PAYLOADS)
# What a payload would have put on the page had it survived.
INJECTED = ("main script, main style, main img, main svg, main math, main iframe, main object, main embed, "
            "main video, main details, main input[autofocus], main base, main meta, main link, "
            "[onerror], [onload], [onclick], [onmouseover], [onfocus], [ontoggle], "
            "[hx-get], [hx-post], [data-hx-get*=xss], [data-hx-post*=xss], a[href^=javascript], a[href^=data]")


class Watch:
    """Dialogs and requests to a payload's address, on every page of a context."""

    def __init__(self, context):
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        context.on("page", self._page)
        context.on("request", lambda r: self.requests.append(r.url) if "xss" in r.url else None)

    def _page(self, page):
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))


def injected(page) -> list[str]:
    return page.eval_on_selector_all(INJECTED, "els => els.map(e => e.outerHTML.slice(0, 120))")


def submit(page, form: str = "main form") -> None:
    """Send a form and check it was taken (no message beside any field)."""
    with page.expect_navigation():
        page.locator(form).last.locator("button[type=submit]").last.click()
    assert page.locator(".error").count() == 0, page.inner_text("main")


def test_a_reply_with_htmx_is_appended_in_place(browser, demo_site, demo_app):
    member = make_account(demo_app, f"{unique('talker')}@example.org", name="Tala", circle="elm-street")
    context = signed_in_context(browser, demo_site, member)
    page = context.new_page()
    page.goto("/c/elm-street/talk/new")
    page.fill("#title", unique("Chairs for the party"))
    page.fill("#body", "Who can bring chairs?")
    submit(page)
    # A neighbour answers first: new to Tala until she replies.
    with demo_app.app_context():
        from app.auth.models import User
        from app.database import write_unit
        from app.extensions import db
        from app.talk import domain

        ada = db.session.scalar(db.select(User).where(User.email == "ada@example.org"))
        with write_unit():
            domain.reply(int(page.url.rsplit("/", 1)[1].split("?")[0]), ada, "I have six in the cellar.")
        db.session.remove()
    page.reload()
    expect(page.locator("#replies .tag")).to_have_text("new")
    page.evaluate(MARK)
    page.fill("#body", "I can bring **four**.")
    page.locator("#reply-form button[type=submit]").click()
    expect(page.locator("#replies li").last).to_contain_text("I can bring four.")
    expect(page.locator("#reply-form [role=status]")).to_contain_text("Your reply is added.")
    assert page.evaluate(NOT_RELOADED), "the reply was not made with htmx"
    assert page.input_value("#body") == ""
    assert page.locator("#replies .tag").count() == 0, "the neighbour's reply still marked new"
    replies = page.inner_text("#replies")
    page.reload()
    assert page.inner_text("#replies") == replies
    # A mistake comes back to the form, and nothing is added.
    page.locator("#reply-form button[type=submit]").click()
    expect(page.locator("#reply-form .error").first).to_be_visible()
    assert page.locator("#replies li").count() == 2
    context.close()


def test_a_reply_without_javascript(browser, demo_site, demo_app):
    member = make_account(demo_app, f"{unique('plain')}@example.org", name="Pia", circle="elm-street")
    context = signed_in_context(browser, demo_site, member, java_script_enabled=False)
    page = context.new_page()
    page.goto("/c/elm-street/talk/1")
    page.fill("#body", "Plain and simple.")
    submit(page, "#reply-form")
    expect(page.locator("#replies")).to_contain_text("Plain and simple.")
    context.close()


def test_xss_payloads_through_every_text_form_never_run(browser, demo_site, demo_app):
    """Entered without JavaScript (every form works so), then read with it."""
    email = make_account(demo_app, f"{unique('mallory')}@example.org", name="Mallory")
    entering = signed_in_context(browser, demo_site, email, java_script_enabled=False)
    page = entering.new_page()
    slug = unique("mallory-street")  # never "xss": the checks look for that word
    short = "\n".join(PAYLOADS[:5])  # for fields of a few hundred characters

    page.goto("/auth/account")
    page.fill("#display_name", PAYLOADS[1])
    submit(page, "form[action$='/account/name']")

    page.goto("/circles/new")
    page.fill("#name", PAYLOADS[0][:80])
    page.fill("#slug", slug)
    page.fill("#description", LONG)
    page.fill("#area", PAYLOADS[2])
    page.select_option("#time_zone", "Europe/Berlin")
    submit(page)

    page.goto(f"/c/{slug}/settings")
    page.check("input[name=join_mode][value=question]")
    page.fill("#join_question", short)
    submit(page, "form:has(#join_question)")

    page.goto(f"/c/{slug}/me")
    page.fill("#offers", short[:300])
    submit(page, "form:has(#offers)")

    page.goto(f"/c/{slug}/invitations")
    page.fill("#note", PAYLOADS[10][:120])
    submit(page, "form:has(#note)")

    starts = dt.datetime.now() + dt.timedelta(days=10)
    page.goto(f"/c/{slug}/gatherings/new")
    page.fill("#title", PAYLOADS[4][:120])
    page.fill("#description", LONG)
    page.fill("#starts_local", starts.strftime("%Y-%m-%dT18:00"))
    page.fill("#ends_local", starts.strftime("%Y-%m-%dT20:00"))
    page.fill("#place", PAYLOADS[3])
    submit(page)
    gathering = page.url

    page.goto(gathering + "/manage")
    page.fill("form[action$='/slots'] input[name=title]", PAYLOADS[6][:120])
    submit(page, "form[action$='/slots']")

    page.goto(gathering)
    page.fill("#gathering-reply", LONG)
    submit(page, "form[action$='/talk']")

    page.goto(f"/c/{slug}/talk/new")
    page.fill("#title", PAYLOADS[5][:120])
    page.fill("#body", LONG)
    submit(page)
    discussion = page.url.split("#")[0]
    page.fill("#body", LONG)
    submit(page, "#reply-form")
    with page.expect_navigation():
        page.locator("#replies li").last.get_by_role("link", name="Edit").click()
    page.fill("#body", PAYLOADS[8] + "\n\n" + LONG)
    submit(page)

    page.goto(discussion.rstrip("/") + "/propose")
    page.fill("#title", PAYLOADS[6][:120])
    page.fill("#body", LONG)
    page.fill("#closes_local", (dt.datetime.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    submit(page)
    proposal = page.url
    page.check("input[name=choice][value=object]")
    page.fill("#reason", LONG[:1000])
    submit(page, "form[action$='/position']")
    close_early(demo_app, int(proposal.rsplit("/", 1)[1]))
    page.goto(proposal)
    page.fill("#outcome", LONG)
    submit(page, "form[action$='/outcome']")

    page.goto(gathering + "/cancel")
    page.fill("#reason", PAYLOADS[7][:300])
    submit(page)
    entering.close()

    reading = signed_in_context(browser, demo_site, email)
    watch = Watch(reading)
    page = reading.new_page()
    pages = ["/", f"/c/{slug}/", f"/c/{slug}/gatherings", gathering, gathering + "/manage", f"/c/{slug}/talk",
             discussion, proposal, f"/c/{slug}/members", f"/c/{slug}/log", f"/c/{slug}/invitations", "/auth/account",
             f"/c/{slug}/settings", f"/c/{slug}/me"]
    found = {}
    for path in pages:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        if injected(page):
            found[path] = injected(page)
    assert not found, found
    assert not watch.dialogs, watch.dialogs
    assert not watch.requests, watch.requests
    # The payloads are there, as text: they were entered, and shown harmlessly.
    page.goto(proposal)
    assert "alert(1)" in page.inner_text("main") and "Outcome" in page.inner_text("main")
    reading.close()


def close_early(app, proposal_id: int) -> None:
    """Test setup, not text entry: the proposal's time runs out now."""
    from sqlalchemy import update

    from app.database import utcnow, write_unit
    from app.extensions import db
    from app.talk import domain
    from app.talk.models import Proposal

    with app.app_context():
        with write_unit():
            db.session.execute(update(Proposal).where(Proposal.id == proposal_id).values(
                opened_at=utcnow() - dt.timedelta(days=3), closes_at=utcnow() - dt.timedelta(minutes=1)))
            domain.close_due()
        db.session.remove()


def test_the_watch_sees_what_a_payload_would_do(browser, demo_site):
    """The negative control: had a payload survived, these checks would see it."""
    context = browser.new_context(base_url=demo_site.base_url)
    watch = Watch(context)
    page = context.new_page()
    page.goto("/auth/login")
    page.evaluate("""() => {
        const img = document.createElement('img');
        img.setAttribute('onerror', 'x'); img.src = '/xss/control';
        document.querySelector('main').append(img);
        alert('control');
    }""")
    page.wait_for_load_state("networkidle")
    assert injected(page) and watch.dialogs == ["control"] and any("/xss/control" in u for u in watch.requests)
    context.close()


def test_reply_by_keyboard(browser, demo_site, demo_app):
    """Tab to the reply box, write, Tab to the button, Enter."""
    member = make_account(demo_app, f"{unique('keys')}@example.org", name="Kai", circle="elm-street")
    context = signed_in_context(browser, demo_site, member)
    page = context.new_page()
    page.goto("/c/elm-street/talk/2")

    def tab_to(selector: str, limit: int = 80) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("#body")
    page.keyboard.type("Typed by keyboard.")
    tab_to("#reply-form button[type=submit]", limit=5)
    page.keyboard.press("Enter")
    expect(page.locator("#replies")).to_contain_text("Typed by keyboard.")
    context.close()
