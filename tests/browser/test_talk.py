"""Talk in a real browser: a reply with htmx is appended in place and the
page reads as a reload would show it; without JavaScript the same form works;
a thing's own discussion, with htmx and without; a position on a proposal and
a time poll answered and made a gathering, with JavaScript and without;
and a corpus of XSS payloads entered through every text form of the app
(a person's name; a circle's name, description, area and join question; what
a member offers; an invitation's note; a gathering's title, description, place,
slot and cancel reason; a discussion, a reply and its edit, a gathering's own
discussion, a proposal, a position's reason, an outcome) never runs: no dialog, no request to a
payload's address, no element a payload tried to inject."""

from __future__ import annotations

import datetime as dt

import pytest
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
# The app's own QR codes (a printed notice, a new link) are the one svg a page may have.
INJECTED = ("main script, main style, main img, main svg:not(.qr), main math, main iframe, main object, main embed, "
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
    page.fill("#own-reply", LONG)
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


def test_xss_payloads_through_meal_lending_and_notice_forms_never_run(browser, demo_site, demo_app):
    """The rest of the app's text forms, the same way (entered without
    JavaScript, read with it, watched as above): a meal's menu (when it is
    planned and on its own page), a potluck need's label, a dish, an expense's
    note; a thing's name, description and house rules, a request's message, the
    notes at accepting, handing over and return, a decline's note, a repair's
    reason; a printed notice's text. Read by the owner and by the borrower."""
    email = make_account(demo_app, f"{unique('mallory')}@example.org", name="Mallory")
    entering = signed_in_context(browser, demo_site, email, java_script_enabled=False)
    page = entering.new_page()
    slug = unique("mallory-lane")
    short = "\n".join(PAYLOADS[:5])

    page.goto("/circles/new")
    page.fill("#name", "Mallory Lane")
    page.fill("#slug", slug)
    page.select_option("#time_zone", "Europe/Berlin")
    submit(page)
    borrower = make_account(demo_app, f"{unique('trudy')}@example.org", name="Trudy", circle=slug)

    # A meal: the menu, a need's label, a dish for it, an expense.
    starts = dt.datetime.now() + dt.timedelta(days=10)
    page.goto(f"/c/{slug}/meals/new")
    page.fill("#title", "Soup")
    page.fill("#starts_local", starts.strftime("%Y-%m-%dT18:00"))
    page.fill("#ends_local", starts.strftime("%Y-%m-%dT20:00"))
    page.fill("#menu", LONG[:3000])
    page.check("#no_allergens")
    page.fill("#other", PAYLOADS[0][:80])
    submit(page)
    meal = page.url.split("#")[0]
    meal_id = meal.rstrip("/").rsplit("/", 1)[1]
    page.goto(f"/c/{slug}/meals/{meal_id}/menu")
    page.fill("#menu", PAYLOADS[13] + "\n\n" + LONG[:2000])
    submit(page)
    page.goto(f"/c/{slug}/meals/{meal_id}/potluck")
    page.select_option("#need", index=1)
    page.fill("#name", PAYLOADS[2][:80])
    page.check("#no_allergens")
    submit(page)
    page.goto(f"/c/{slug}/meals/{meal_id}/costs")
    page.fill("#amount", "12.50")
    page.fill("#note", PAYLOADS[4][:200])
    submit(page, "form:has(#note)")

    # A thing: listed, asked for twice, one declined, one lent and brought back, then in repair.
    page.goto(f"/c/{slug}/library/new")
    page.fill("#name", PAYLOADS[1][:120])
    page.fill("#description", LONG[:3000])
    page.fill("#house_rules", short[:500])
    submit(page)
    thing = page.url.split("#")[0]
    asking = signed_in_context(browser, demo_site, borrower, java_script_enabled=False)
    ask = asking.new_page()
    today = dt.date.today()
    for first, message in ((1, PAYLOADS[3]), (8, PAYLOADS[9])):
        ask.goto(thing)
        ask.fill("form[action$='/request'] #start_date", str(today + dt.timedelta(days=first)))
        ask.fill("form[action$='/request'] #end_date", str(today + dt.timedelta(days=first + 2)))
        ask.fill("form[action$='/request'] #message", message)
        submit(ask, "form[action$='/request']")

    def step(name: str, note: str, which: int = 0) -> None:
        page.goto(thing)
        form = page.locator(f"form[action$='/{name}']").nth(which)
        form.locator("input[name=note]").fill(note)
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        assert page.locator(".error").count() == 0, page.inner_text("main")

    step("decline", PAYLOADS[10], which=1)
    step("accept", PAYLOADS[11])
    with demo_app.app_context():  # test setup: the loan's first day is today
        from sqlalchemy import update

        from app.extensions import db
        from app.lending.models import Reservation

        db.session.execute(update(Reservation).where(Reservation.status == "accepted",
                                                     Reservation.message == PAYLOADS[3])
                           .values(start_date=today))
        db.session.commit()
        db.session.remove()
    step("pickup", PAYLOADS[12])
    step("return", PAYLOADS[14])  # the owner has it back; the borrower has yet to say so: the notes stay shown
    page.goto(thing + "/edit")
    page.select_option("#status", "repair")
    page.fill("#reason", PAYLOADS[5][:300])
    submit(page, "form[action$='/status']")

    # A printed notice's own words.
    page.goto(f"/c/{slug}/invitations/notice")
    page.fill("#text", short[:500])
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()
    notice = page.url
    assert "/notice/" in notice
    entering.close()
    asking.close()

    found, dialogs, requests = {}, [], []
    for who, pages in ((email, [meal, f"/c/{slug}/meals/{meal_id}/potluck", f"/c/{slug}/meals/{meal_id}/costs",
                                f"/c/{slug}/meals/{meal_id}/menu", f"/c/{slug}/library", thing, thing + "/edit",
                                "/lending/mine", notice, f"/c/{slug}/log", f"/c/{slug}/invitations", "/",
                                "/notices"]),
                       (borrower, [meal, f"/c/{slug}/library", thing, "/lending/mine", "/notices", "/"])):
        reading = signed_in_context(browser, demo_site, who)
        watch = Watch(reading)
        page = reading.new_page()
        for path in pages:
            page.goto(path)
            page.wait_for_load_state("networkidle")
            if injected(page):
                found[f"{who} {path}"] = injected(page)
        dialogs += watch.dialogs
        requests += watch.requests
        if who == borrower:
            # The payloads are there, as text: entered, and shown harmlessly.
            page.goto("/notices")  # the decline's and the acceptance's notes, in the inbox
            assert "alert(11)" in page.inner_text("main") and "![twelve]" in page.inner_text("main")
        else:
            page.goto(thing)  # the notes at hand-over and return, for the owner
            assert "xss.invalid/13" in page.inner_text("main") and "alert(15)" in page.inner_text("main")
        reading.close()
    assert not found, found
    assert not dialogs, dialogs
    assert not requests, requests


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


def _a_thing_path(app) -> str:
    """A thing of Elm Street's library, from the demo."""
    from sqlalchemy import select

    from app.circles.models import Circle
    from app.extensions import db
    from app.lending.models import Thing

    with app.app_context():
        circle = db.session.scalar(select(Circle).where(Circle.slug == "elm-street"))
        thing = db.session.scalar(select(Thing).where(Thing.circle_id == circle.id, Thing.status == "available")
                                  .order_by(Thing.id))
        db.session.remove()
        return f"/c/elm-street/library/{thing.id}"


def test_a_things_own_discussion_with_htmx_and_without(browser, demo_site, demo_app):
    from .test_a11y import in_both_schemes

    thing = _a_thing_path(demo_app)
    member = make_account(demo_app, f"{unique('asker')}@example.org", name="Asa", circle="elm-street")
    context = signed_in_context(browser, demo_site, member)
    page = context.new_page()
    page.goto(thing)
    page.evaluate(MARK)
    words = unique("Does it come with a case")
    page.get_by_label("Your reply").fill(words)
    page.locator("#own-talk button[type=submit]").click()
    expect(page.locator("#own-talk [role=status]")).to_contain_text("Your reply is added.")
    expect(page.locator("#own-talk ol")).to_contain_text(words)
    assert page.evaluate(NOT_RELOADED), "the reply was not made with htmx"
    assert page.input_value("#own-reply") == ""
    expect(page.locator("#own-talk").get_by_role("link", name="Open the discussion")).to_be_visible()
    # An empty reply: the reason beside the field, nothing added, still no reload.
    page.locator("#own-talk button[type=submit]").click()
    expect(page.locator("#own-reply-error")).to_contain_text("Write something first.")
    assert page.evaluate(NOT_RELOADED)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    page.screenshot(path="/tmp/talkgaps-thing-panel.png", full_page=True)
    assert in_both_schemes(page) == []
    # What htmx showed is what a reload shows.
    shown = page.inner_text("#own-talk ol")
    page.reload()
    assert page.inner_text("#own-talk ol") == shown
    context.close()

    plain = signed_in_context(browser, demo_site, member, java_script_enabled=False).new_page()
    plain.goto(thing)
    plain.get_by_label("Your reply").fill("Asked without JavaScript.")
    with plain.expect_navigation():
        plain.locator("#own-talk button[type=submit]").click()
    expect(plain.get_by_text("About the thing")).to_be_visible()
    expect(plain.locator("#replies")).to_contain_text("Asked without JavaScript.")
    plain.goto(thing)
    expect(plain.locator("#own-talk")).to_contain_text("Asked without JavaScript.")
    plain.context.close()


def _open_proposal(page, kind: str, title: str, times: list[dt.datetime] | None = None) -> str:
    """Through the form, in the demo's first discussion; the proposal's address."""
    page.goto("/c/elm-street/talk/1/propose")
    page.check(f"input[name=kind][value={kind}]")
    page.fill("#title", title)
    page.fill("#closes_local", (dt.datetime.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    for n, when in enumerate(times or [], start=1):
        page.fill(f"#option{n}", when.strftime("%Y-%m-%dT%H:%M"))
    submit(page)
    assert "/proposals/" in page.url, page.inner_text("main")
    return page.url.split("#")[0]


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_take_a_position_on_a_proposal(browser, demo_site, demo_app, javascript):
    from .test_a11y import in_both_schemes

    proposer = make_account(demo_app, f"{unique('proposer')}@example.org", name="Petra", circle="elm-street")
    voter = make_account(demo_app, f"{unique('voter')}@example.org", name="Vito", circle="elm-street")
    options = {"java_script_enabled": javascript}
    making = signed_in_context(browser, demo_site, proposer, **options)
    proposal = _open_proposal(making.new_page(), "consensus", unique("Paint the railings blue"))
    making.close()

    context = signed_in_context(browser, demo_site, voter, **options)
    page = context.new_page()
    page.goto(proposal)
    mine = page.locator("#my-position")
    # A block without a reason: said beside the field, nothing taken.
    mine.get_by_role("radio", name="Block", exact=True).check()
    with page.expect_navigation():
        mine.get_by_role("button", name="Give my position").click()
    expect(page.locator("#reason-error")).to_contain_text("needs a reason")
    expect(page.locator("#my-position [role=status]")).to_have_count(0)
    page.locator("#my-position").get_by_label("Why (needed for an objection or a block)").fill(
        "The railings were painted last spring.")
    with page.expect_navigation():
        page.locator("#my-position").get_by_role("button", name="Give my position").click()
    expect(page.get_by_text("Your position is noted.")).to_be_visible()
    expect(page.locator("#my-position").get_by_role("radio", name="Block", exact=True)).to_be_checked()
    # Hidden until it closes: not even one's own name in a list.
    expect(page.locator("main")).not_to_contain_text("Vito: blocks")
    # Changed, still one position.
    page.locator("#my-position").get_by_role("radio", name="Agree", exact=True).check()
    with page.expect_navigation():
        page.locator("#my-position").get_by_role("button", name="Give my position").click()
    expect(page.locator("#my-position").get_by_role("radio", name="Agree", exact=True)).to_be_checked()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    if javascript:
        page.screenshot(path="/tmp/talkgaps-proposal.png", full_page=True)
        assert in_both_schemes(page) == []
    close_early(demo_app, int(proposal.rsplit("/", 1)[1]))
    page.goto(proposal)
    result = page.locator("#result")
    expect(result).to_contain_text("passed")
    expect(page.locator("main")).to_contain_text("Vito: agrees")
    expect(page.locator("main")).not_to_contain_text("Vito: blocks")
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_time_poll_is_answered_and_becomes_a_gathering(browser, demo_site, demo_app, javascript):
    proposer = make_account(demo_app, f"{unique('poller')}@example.org", name="Polly", circle="elm-street")
    voter = make_account(demo_app, f"{unique('answerer')}@example.org", name="Ansel", circle="elm-street")
    options = {"java_script_enabled": javascript}
    base = (dt.datetime.now() + dt.timedelta(days=9)).replace(hour=18, minute=0, second=0, microsecond=0)
    times = [base, base + dt.timedelta(days=1), base + dt.timedelta(days=2, hours=-7)]
    title = unique("When do we clean the yard")
    making = signed_in_context(browser, demo_site, proposer, **options)
    page = making.new_page()
    poll = _open_proposal(page, "time_poll", title, times)

    answering = signed_in_context(browser, demo_site, voter, **options).new_page()
    answering.goto(poll)
    fieldsets = answering.locator("section[aria-labelledby=times-heading] fieldset")
    expect(fieldsets).to_have_count(3)
    for n, answer in enumerate(("If need be", "Yes", "No")):
        fieldsets.nth(n).get_by_role("radio", name=answer, exact=True).check()
    with answering.expect_navigation():
        answering.get_by_role("button", name="Send my answers").click()
    expect(answering.get_by_text("Your answers are noted.")).to_be_visible()
    expect(fieldsets.nth(1)).to_contain_text("Yes: Ansel")
    expect(fieldsets.nth(1).get_by_role("radio", name="Yes", exact=True)).to_be_checked()
    answering.context.close()

    page.goto(poll)
    page.locator("section[aria-labelledby=times-heading] fieldset").nth(1).get_by_role("radio", name="Yes", exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Send my answers").click()
    close_early(demo_app, int(poll.rsplit("/", 1)[1]))
    page.goto(poll)
    # The second time has both yeses: chosen, and the form comes prefilled with it and the poll's title.
    expect(page.locator("section[aria-labelledby=times-heading] fieldset").nth(1)).to_contain_text("chosen")
    make = page.locator("section[aria-labelledby=make-heading]")
    expect(make.locator("input[name=option]:checked")).to_have_count(1)
    assert make.locator("input[name=option]:checked").get_attribute("value") == \
        make.locator("input[name=option]").nth(1).get_attribute("value")
    expect(make.get_by_label("What", exact=True)).to_have_value(title)
    make.get_by_label("Where (an address)").fill("The yard behind number 12")
    with page.expect_navigation():
        make.get_by_role("button", name="Post the gathering").click()
    assert "/gatherings/" in page.url
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    main = page.inner_text("main")
    assert "The yard behind number 12" in main and f"{times[1].day} " in main and "18:00" in main, main
    page.goto(poll)
    expect(page.get_by_role("link", name="The gathering this poll became")).to_be_visible()
    making.close()
