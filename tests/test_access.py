"""Nobody outside a circle sees anything: every route in the app has an entry
in the access table below, proved with real ids taken from another circle.

A new route without an entry fails ``test_every_route_has_an_entry``: later
areas add their routes (and the ids their URLs take) here.
"""

import datetime as dt
import html
import re

import pytest
from sqlalchemy import func, select

from app.circles.models import Invitation, JoinRequest
from app.extensions import db
from app.gatherings import domain as gatherings
from app.gatherings import series, slots
from app.gatherings.models import Answer
from app.text import render_markdown

from .circles_helpers import two_circles
from .gatherings_helpers import seen
from .helpers import add_user, csrf_token, login, make_user
from .lending_helpers import lending_world

# Circle routes and who may use them: "member" (any member of the circle),
# "steward" (stewards only; a member gets 403), "inviter" (stewards, or any
# member where the circle allows members to invite), "host" (the gathering's
# host, co-hosts and the circle's stewards; another member gets 403).
CIRCLE_ROUTES = {
    "home.circle": "member",
    "circles.members": "member",
    "circles.my_offers": "member",
    "circles.log": "member",
    "circles.leave": "member",
    "circles.settings": "steward",
    "circles.export": "steward",
    "closing.close": "steward",
    "circles.decide": "steward",
    "circles.invitations": "inviter",
    "circles.revoke_invitation": "inviter",
    "circles.new_notice": "inviter",
    "gatherings.upcoming": "member",
    "gatherings.past": "member",
    "gatherings.new": "member",
    "gatherings.detail": "member",
    "gatherings.answer": "member",
    "gatherings.ics": "member",
    "gatherings.slot": "member",
    "gatherings.calendars": "member",
    "gatherings.manage": "host",
    "gatherings.edit": "host",
    "gatherings.cancel": "host",
    "gatherings.skip": "host",
    "gatherings.edit_series": "host",
    "gatherings.decide": "host",
    "gatherings.move": "host",
    "gatherings.close": "host",
    "gatherings.attendance": "host",
    "gatherings.share": "host",
    "gatherings.notice": "host",
    "gatherings.add_slot": "host",
    # Lending: requests and waitlist places answer only their own two sides
    # (404 to any other member, tested in test_lending).
    "lending.library": "member",
    "lending.new": "member",
    "lending.thing": "member",
    "lending.ask": "member",
    "lending.wait": "member",
    "lending.waitlist_place": "member",
    "lending.act": "member",
    "lending.photo_file": "member",
    "lending.edit": "host",
    "lending.set_status": "host",
    "lending.photo": "host",
    # Talk: "host" here is the reply's author (edit, remove; stewards remove too)
    # or the proposal's proposer (outcome, time poll to gathering; stewards too).
    "talk.discussions": "member",
    "talk.new_discussion": "member",
    "talk.discussion": "member",
    "talk.reply": "member",
    "talk.read": "member",
    "talk.gathering_reply": "member",
    "talk.thing_reply": "member",
    "talk.new_proposal": "member",
    "talk.proposal": "member",
    "talk.position": "member",
    "talk.poll": "member",
    "talk.edit_reply": "host",
    "talk.remove_reply": "host",
    "talk.outcome": "host",
    "talk.make_gathering": "host",
    "meals.new": "member",
    "meals.party": "member",
    "meals.potluck": "member",
    "meals.bring": "member",
    "meals.dish": "member",  # one's own dish (the world's is Dmitri's)
    "meals.release": "member",
    "meals.costs": "member",
    "meals.expense": "member",
    "meals.remove_expense": "member",  # one's own expense (the world's is Dmitri's)
    "meals.signups": "host",
    "meals.menu": "host",
    "meals.finalize": "host",
    "meals.reopen": "host",
    "trust.vouching": "member",
    "trust.help": "member",
    "trust.report": "member",
    "trust.report_member": "member",
    "trust.agreements_page": "member",
    "trust.agreement_version": "member",
    "trust.change_agreements": "member",
    "trust.removal_page": "steward",
    "trust.queue": "steward",
    "trust.act": "steward",
}

# Member routes that answer with a file, not a page that names the circle.
MEMBER_FILES = {"lending.photo_file": "a thing's photo"}

# Routes that are not a circle's pages, each with the reason it is safe.
EXEMPT = {
    "static": "public assets, the same for everyone",
    "home.index": "a person's own home: lists only circles they belong to (tested in test_circles)",
    "auth.register": "account pages hold no circle content",
    "auth.check_email": "account pages hold no circle content",
    "auth.login": "account pages hold no circle content",
    "auth.logout": "account pages hold no circle content",
    "auth.verify": "account pages hold no circle content",
    "auth.resend_verification": "account pages hold no circle content",
    "auth.reset_request": "account pages hold no circle content",
    "auth.reset_password": "account pages hold no circle content",
    "auth.account": "the person's own account",
    "auth.my_data": "the person's own data (tested in test_export_personal)",
    "lending.mine": "the person's own things and loans, in circles they belong to (tested in test_lending)",
    "auth.set_time_zone": "the person's own account",
    "auth.set_language": "the person's own account",
    "auth.change_password": "the person's own account",
    "auth.sign_out_everywhere": "the person's own account",
    "auth.delete_account": "the person's own account",
    "auth.change_name": "the person's own account",
    "auth.change_email": "the person's own account",
    "auth.confirm_email": "a secret link mailed to the new address; account pages hold no circle content",
    "auth.undo_email_change": "a secret link mailed to the old address; account pages hold no circle content",
    "pwa.manifest": "the web app manifest, the same for everyone",
    "pwa.service_worker": "the service worker script, the same for everyone",
    "pwa.offline": "the offline page, the same for everyone: it names nobody",
    "pwa.pages": "the signed-in person's own list of their next gatherings' paths, from their circles only "
                 "(tested in test_pwa_pages)",
    "gatherings.feed": "calendar apps cannot sign in, so feeds live outside the circle's pages: the "
                       "unguessable, resettable token is the key, and a circle feed shows nothing once its "
                       "owner has left the circle (tested in test_gatherings_calendar)",
    "gatherings.public": "a gathering a host opened to outsiders on purpose, by an unguessable link; it shows "
                         "that gathering only, never the circle (tested in test_gatherings_guests)",
    "gatherings.guest": "a guest's own confirm/cancel link, keyed by the gathering's public token and the "
                        "guest's secret token",
    "circles.new_circle": "founds a new circle; shows no existing one",
    "circles.join_link": "outside the circle's pages by design: the unguessable invitation token is the key, "
                         "and the page shows only the circle's name and description (tested in test_circles)",
    "circles.notice": "a printable notice, by its invitation's unguessable token, shown only to those who may "
                      "invite to its circle (others get 404) and naming nothing once the link no longer "
                      "works (tested in test_notices)",
    "circles.join_pending": "the signed-in person's own kept invitation; shows only name and description",
    "circles.claim": "a place in an imported circle, by the unguessable link mailed to its owner; only an "
                     "account with the address it was mailed to may take it (tested in test_import)",
    "notify.inbox": "the signed-in person's own notices only, read and unread private to them (tested in "
                    "test_notify)",
    "notify.mark_read": "marks the signed-in person's own notices only",
    "notify.settings": "the person's own settings; lists only circles they belong to",
    "notify.add_device": "subscribes the signed-in person's own device to their pushes; shows their devices only",
    "notify.remove_device": "removes one of the signed-in person's own devices (another's id changes nothing)",
    "notify.unsubscribe": "a signed token mailed to the person, so it works without signing in; it names no "
                          "circle and changes only that person's settings (tested in test_notify)",
    "meals.dietary": "the person's own dietary needs, for every circle; shows nobody else's",
}


# Routes whose control a steward or host sees only in a state the world below
# does not have, each with that state.
CONTROL_SHOWN_LATER = {
    "gatherings.decide": "a gathering that asks hosts to approve answers",
    "gatherings.attendance": "a gathering that has started",
    "gatherings.notice": "a gathering shared with people outside the circle",
    "talk.outcome": "a proposal that has closed",
    "talk.make_gathering": "a time poll that has closed with a time chosen",
    "meals.reopen": "a meal whose costs are final",
}

HARBOUR_DESCRIPTION = "Bins go out on Tuesday night."
# What Harbour holds (see ``world``): its name and description, its
# gathering and slot, its people, and a join request with its question.
# None of it may reach anyone outside the circle.
HARBOUR_CONTENT = ("Harbour", HARBOUR_DESCRIPTION, "House meeting", "Chairs", "Chiara", "Dmitri",
                   "Which flat?", "Flat 3", "Harbour bins", "I do, on Tuesdays.")
# What only Harbour's stewards see: Eve's answer in her request to join.
JOIN_REQUEST = "Flat 3"

LINK = re.compile(r'\b(?:href|action|formaction|(?:data-)?hx-(?:get|post))="([^"?#]+)')


def shown(response, words) -> list[str]:
    """Which of ``words`` the response carries (markup included)."""
    body = html.unescape(response.get_data(as_text=True))
    return [w for w in words if w in body]


def linked(response) -> set[str]:
    """Every address a page links to or posts to, without its query."""
    return {html.unescape(u) for u in LINK.findall(response.get_data(as_text=True))}


@pytest.fixture
def world(app):
    """Two circles with no member in common, and a row of every kind in the
    second one, whose ids the URLs take."""
    ids = two_circles(app)
    with app.app_context():
        from app.circles import domain as circles
        from app.circles.models import Circle
        from app.auth.models import User

        harbour = db.session.get(Circle, ids["harbour_id"])
        harbour.description_source = HARBOUR_DESCRIPTION
        harbour.description_html = render_markdown(HARBOUR_DESCRIPTION)
        chiara = db.session.scalar(select(User).where(User.email == "chiara@example.org"))
        circles.create_invitation(harbour, chiara, days=7, max_uses=5)
        applicant = make_user("eve@example.org", "Eve")
        db.session.add(JoinRequest(circle_id=harbour.id, user_id=applicant.id, answer="Flat 3"))
        db.session.commit()
        ids["invitation_id"] = db.session.scalar(select(Invitation.id).where(Invitation.circle_id == harbour.id))
        ids["request_id"] = db.session.scalar(select(JoinRequest.id))
        series_, made = series.create_series(
            harbour, chiara, freq="weekly", title="House meeting", capacity=10,
            starts_local=dt.datetime(2030, 1, 7, 19, 0), ends_local=dt.datetime(2030, 1, 7, 20, 0))
        occurrence = made[0] if made else None
        if occurrence is None:  # the first date lies beyond the weeks made ahead: make it now
            occurrence = gatherings.create_gathering(
                harbour, chiara, title="House meeting", series=series_, capacity=10,
                starts_local=dt.datetime(2030, 1, 7, 19, 0), ends_local=dt.datetime(2030, 1, 7, 20, 0))
        slot = slots.add_slot(occurrence, "Chairs", 2)
        db.session.commit()
        from app.database import write_unit
        from app.talk import domain as talk

        with write_unit():
            talk_discussion = talk.start_discussion(harbour, chiara, "Harbour bins", "Who takes them out?")
            talk_reply = talk.reply(talk_discussion.id, chiara, "I do, on Tuesdays.")
            talk_proposal = talk.open_proposal(talk_discussion, chiara, kind="consent", title="Harbour bins rota",
                                               closes_local=dt.datetime.now() + dt.timedelta(days=3))
        ids |= {"discussion_id": talk_discussion.id, "reply_id": talk_reply.id, "proposal_id": talk_proposal.id}
        ids |= {"gathering_id": occurrence.id, "series_id": series_.id, "slot_id": slot.id,
                "answer_id": db.session.scalar(select(Answer.id).where(Answer.gathering_id == occurrence.id))}
        # The gathering is a meal too, with Dmitri's dish and expense.
        from app.meals.models import Dish, Expense, Meal
        dmitri = db.session.scalar(select(User).where(User.email == "dmitri@example.org"))
        db.session.add(Meal(gathering_id=occurrence.id, style="potluck", halves_taken=0, diets=[]))
        dish = Dish(gathering_id=occurrence.id, user_id=dmitri.id, course="main", name="Fish pie", feeds=6,
                    allergens=["fish"], diets=[])
        expense = Expense(gathering_id=occurrence.id, user_id=dmitri.id, amount_minor=1250, note="fish")
        db.session.add_all([dish, expense])
        db.session.commit()
        ids |= {"dish_id": dish.id, "expense_id": expense.id}
        ids |= lending_world(harbour, chiara, dmitri)
        # Trust: Harbour's agreements, and a report of Chiara's reply (by Dmitri) waiting for a steward.
        from app.circles.models import Membership
        from app.trust import agreements, moderation

        with write_unit():
            agreements.change(harbour, db.session.scalar(select(Membership).where(
                Membership.circle_id == harbour.id, Membership.user_id == chiara.id)), "- Harbour bins on Tuesday",
                "First rules")
            report = moderation.report(harbour, dmitri, "reply", talk_reply.id, "Harbour bins are not mine")
        ids |= {"report_id": report.id, "number": 1}
    return ids


def url_values(world) -> dict:
    """Real ids of the second circle (Harbour) for every URL parameter."""
    return {"slug": world["harbour"], "member_id": world["dmitri_membership"],
            "invitation_id": world["invitation_id"], "request_id": world["request_id"],
            "decision": "approve", "gathering_id": world["gathering_id"], "series_id": world["series_id"],
            "slot_id": world["slot_id"], "answer_id": world["answer_id"], "action": "take",
            **{k: world[k] for k in ("thing_id", "reservation_id", "entry_id", "content_hash", "size", "step")},
            "discussion_id": world["discussion_id"], "reply_id": world["reply_id"],
            "proposal_id": world["proposal_id"], "dish_id": world["dish_id"], "expense_id": world["expense_id"],
            "report_id": world["report_id"], "number": world["number"], "kind": "reply",
            "target_id": world["reply_id"]}


def circle_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in CIRCLE_ROUTES:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def build(rule, values) -> str:
    from werkzeug.routing import Map

    adapter = Map([rule.empty()]).bind("localhost")
    return adapter.build(rule.endpoint, {k: v for k, v in values.items() if k in rule.arguments})


def snapshot(app) -> dict:
    with app.app_context():
        return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def call(client, method, url):
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={"csrf_token": csrf_token(client), "answer": "x",
                                                 "offers": "x", "name": "x", "time_zone": "UTC",
                                                 "language": "en", "join_mode": "open", "days": 7,
                                                 "max_uses": 3, "response": "going", "title": "x",
                                                 "needed": 1, "reason": "x", "to": "seated",
                                                 "starts_local": "2031-01-01T10:00",
                                                 "ends_local": "2031-01-01T11:00"})


def test_every_route_has_an_entry(app):
    missing = [r.endpoint for r in app.url_map.iter_rules()
               if r.endpoint not in CIRCLE_ROUTES and r.endpoint not in EXEMPT]
    assert not missing, f"routes without an entry in the access table: {missing}"
    for endpoint, reason in EXEMPT.items():
        assert reason.strip(), f"{endpoint} is exempt without a reason"
    circle_urls = [r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/c/")]
    assert all(r.endpoint in CIRCLE_ROUTES for r in app.url_map.iter_rules() if r.rule in circle_urls)


def test_visitors_are_sent_to_sign_in(app, world):
    """Every circle address sends a visitor to sign in, but for a member's file (a photo): 404."""
    visitor = app.test_client()
    before = snapshot(app)
    for rule, method in circle_rules(app):
        url = build(rule, url_values(world))
        response = call(visitor, method, url)
        if rule.endpoint in MEMBER_FILES:
            # A file a page loads is not a page to sign in for: 404, as for anyone not a member.
            assert response.status_code == 404, (method, url)
            assert "Nothing here" in seen(response), (method, url)
            continue
        assert response.status_code == 303, (method, url)
        assert response.location.startswith("/auth/login?next=/c/"), (method, url)
        assert not shown(response, HARBOUR_CONTENT), (method, url, shown(response, HARBOUR_CONTENT))
    assert snapshot(app) == before


def test_members_of_another_circle_get_404(app, world):
    """Ada (steward of Elm Street) sees nothing of Harbour, and cannot change it."""
    ada = app.test_client()
    login(ada, email="ada@example.org")
    before = snapshot(app)
    for rule, method in circle_rules(app):
        url = build(rule, url_values(world))
        response = call(ada, method, url)
        assert response.status_code == 404, (method, url)
        assert "Nothing here" in seen(response), (method, url)
        assert not shown(response, HARBOUR_CONTENT), (method, url, shown(response, HARBOUR_CONTENT))
    assert snapshot(app) == before


def test_ids_from_another_circle_under_my_own_circle_get_404(app, world):
    """Ada, steward of Elm Street, using Harbour's ids under Elm Street's address."""
    ada = app.test_client()
    login(ada, email="ada@example.org")
    before = snapshot(app)
    values = url_values(world) | {"slug": world["elm"]}
    for rule, method in circle_rules(app):
        if method == "POST" and set(rule.arguments) - {"slug"}:
            response = call(ada, method, build(rule, values))
            assert response.status_code == 404, rule.rule
            assert not shown(response, HARBOUR_CONTENT), (rule.rule, shown(response, HARBOUR_CONTENT))
    assert snapshot(app) == before


def test_members_who_are_not_stewards_get_403(app, world):
    """Dmitri is a member of Harbour, not a steward (and Harbour does not let
    members invite)."""
    dmitri = app.test_client()
    login(dmitri, email="dmitri@example.org")
    before = snapshot(app)
    for rule, method in circle_rules(app):
        if CIRCLE_ROUTES[rule.endpoint] in ("steward", "inviter", "host"):
            url = build(rule, url_values(world))
            response = call(dmitri, method, url)
            assert response.status_code == 403, (method, url)
            assert not shown(response, [JOIN_REQUEST]), (method, url)
    assert snapshot(app) == before


def test_members_can_read_their_circle(app, world):
    """Every member page names the circle; a gathering's pages show its title;
    the overview shows the description."""
    dmitri = app.test_client()
    login(dmitri, email="dmitri@example.org")
    for rule, method in circle_rules(app):
        if CIRCLE_ROUTES[rule.endpoint] == "member" and method == "GET":
            url = build(rule, url_values(world))
            response = dmitri.get(url)
            assert response.status_code == 200, url
            if rule.endpoint in MEMBER_FILES:
                continue
            expected = ["House meeting"] if "gathering_id" in rule.arguments else ["Harbour"]
            if rule.endpoint == "home.circle":
                expected += ["House meeting", HARBOUR_DESCRIPTION]
            assert shown(response, expected) == expected, (url, expected)


def pages_read_by(app, world, email: str, kinds: set[str]) -> list:
    """Every GET page of Harbour whose route is for ``kinds``, as ``email`` sees it."""
    client = app.test_client()
    login(client, email=email)
    return [client.get(build(rule, url_values(world))) for rule, method in circle_rules(app)
            if CIRCLE_ROUTES[rule.endpoint] in kinds and method == "GET" and rule.endpoint not in MEMBER_FILES]


def test_steward_and_host_controls_show_only_to_stewards_and_hosts(app, world):
    """No page a plain member reads links or posts to a steward's or host's
    route, or shows the join request; Chiara (steward and host) finds each of
    those controls on the pages she reads."""
    guarded = {build(rule, url_values(world)): rule.endpoint for rule, method in circle_rules(app)
               if CIRCLE_ROUTES[rule.endpoint] != "member"}
    member_pages = pages_read_by(app, world, "dmitri@example.org", {"member"})
    member_sees = set().union(*(linked(r) for r in member_pages))
    assert not member_sees & guarded.keys(), sorted(member_sees & guarded.keys())
    assert not [r.request.path for r in member_pages if shown(r, [JOIN_REQUEST])]

    steward_pages = pages_read_by(app, world, "chiara@example.org", set(CIRCLE_ROUTES.values()))
    assert all(r.status_code == 200 for r in steward_pages)
    steward_sees = set().union(*(linked(r) for r in steward_pages))
    missing = {url for url, endpoint in guarded.items()
               if url not in steward_sees and endpoint not in CONTROL_SHOWN_LATER}
    assert not missing, sorted(missing)
    assert any(shown(r, [JOIN_REQUEST]) for r in steward_pages), "the steward does not see the join request"


def test_signed_in_outsider_gets_404_for_a_circle_that_does_not_exist(app, world):
    add_user(app, email="zoe@example.org", name="Zoe")
    zoe = app.test_client()
    login(zoe, email="zoe@example.org")
    for rule, method in circle_rules(app):
        missing = build(rule, url_values(world) | {"slug": "no-such-circle"})
        real = build(rule, url_values(world))
        missing_response, real_response = call(zoe, method, missing), call(zoe, method, real)
        assert missing_response.status_code == real_response.status_code == 404, rule.rule
        # The two answers are the same page: nothing tells a real circle from none.
        assert not shown(real_response, HARBOUR_CONTENT), (rule.rule, shown(real_response, HARBOUR_CONTENT))
        assert seen(real_response) == seen(missing_response), rule.rule
