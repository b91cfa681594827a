"""Circles through the test client: founding, inviting, joining, stewards,
leaving, the log. Both databases."""

import datetime as dt
import re

import time_machine
from sqlalchemy import func, select

from app.auth.models import User
from app.circles.models import Circle, Invitation, JoinRequest, LogEntry, Membership
from app.extensions import db

from .circles_helpers import add_member, make_circle, make_invitation_link
from .helpers import PASSWORD, add_user, login, make_user, post, text_of


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def new_circle(client, **changes):
    data = {"name": "Elm Street", "slug": "elm-street", "description": "We share **tools**.",
            "area": "Elm Street", "time_zone": "Europe/Berlin", "language": "en", "join_mode": "open"} | changes
    return post(client, "/circles/new", data)


def test_the_walk(app, client, mailbox):
    """Create a circle, invite, a second account joins through the link, both
    read the log, a third account outside gets 404 everywhere."""
    add_user(app, email="ada@example.org", name="Ada")
    login(client)
    response = new_circle(client)
    assert response.status_code == 303 and response.location == "/c/elm-street/invitations"
    link = make_invitation_link(client, "elm-street")

    neighbour = app.test_client()
    page = text_of(neighbour.get(link))
    assert "Join Elm Street" in page and "We share" in page
    response = post(neighbour, f"/auth/register?next={link}",
                    {"email": "bruno@example.org", "display_name": "Bruno", "password": PASSWORD})
    assert response.status_code == 303
    # Signed in before confirming his address, Bruno finds the invitation kept on his home page.
    post(neighbour, f"/auth/login?next={link}", {"email": "bruno@example.org", "password": PASSWORD})
    home = text_of(neighbour.get("/"))
    assert "You are invited to Elm Street." in home and "Confirm your email address to join." in home
    # Verifying on another device still lands Bruno in the circle.
    other_device = app.test_client()
    verify = mailbox.last_link("bruno@example.org", "/auth/verify/")
    response = post(other_device, verify)
    assert response.status_code == 303
    assert "next=/c/elm-street/" in response.location
    response = post(other_device, "/auth/login?next=/c/elm-street/", {"email": "bruno@example.org", "password": PASSWORD})
    assert response.location == "/c/elm-street/"
    overview = text_of(other_device.get("/c/elm-street/"))
    assert "Elm Street" in overview and "What is next" in overview
    assert "Bruno" in text_of(other_device.get("/c/elm-street/members"))

    for reader in (client, other_device):
        log = text_of(reader.get("/c/elm-street/log"))
        assert "Ada started the circle." in log
        assert "Ada made an invitation link for 10 people, for 7 days." in log

    add_user(app, email="chiara@example.org", name="Chiara")
    outsider = app.test_client()
    login(outsider, email="chiara@example.org")
    for path in ("/c/elm-street/", "/c/elm-street/members", "/c/elm-street/log", "/c/elm-street/settings",
                 "/c/elm-street/invitations", "/c/elm-street/me", "/c/elm-street/leave"):
        assert outsider.get(path).status_code == 404, path


def test_signed_in_member_joins_with_one_button(app, client):
    with app.app_context():
        ada = make_user("ada@example.org", "Ada")
        make_circle(ada)
        make_user("bruno@example.org", "Bruno", time_zone=None)
    login(client)
    link = make_invitation_link(client, "elm-street", max_uses=1)
    bruno = app.test_client()
    login(bruno, email="bruno@example.org")
    assert "Join Elm Street" in text_of(bruno.get(link))
    response = post(bruno, link)
    assert response.status_code == 303 and response.location == "/c/elm-street/"
    # Bruno had no time zone: he now lives where his first circle does.
    with app.app_context():
        assert db.session.scalar(select(User.time_zone).where(User.email == "bruno@example.org")) == "Europe/Berlin"
    # The link allowed one person: the next visitor is told so.
    add_user(app, email="chiara@example.org", name="Chiara")
    chiara = app.test_client()
    login(chiara, email="chiara@example.org")
    page = text_of(chiara.get(link))
    assert "used as many times as it allows" in page
    assert post(chiara, link).status_code == 409
    assert count(app, Membership) == 2


def test_expired_and_revoked_invitations(app, client):
    with app.app_context():
        ada = make_user("ada@example.org", "Ada")
        make_circle(ada)
        make_user("bruno@example.org", "Bruno")
    login(client)
    link = make_invitation_link(client, "elm-street", days=1)
    bruno = app.test_client()
    login(bruno, email="bruno@example.org")
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1, minutes=1)):
        assert "has expired" in text_of(bruno.get(link))
        assert post(bruno, link).status_code == 409
    # Cookies signed in the future are refused back in the present: sign in again.
    bruno = app.test_client()
    login(bruno, email="bruno@example.org")
    link2 = make_invitation_link(client, "elm-street")
    with app.app_context():
        invitation_id = db.session.scalar(select(Invitation.id).order_by(Invitation.id.desc()))
    assert post(client, f"/c/elm-street/invitations/{invitation_id}/revoke").status_code == 303
    assert "was withdrawn" in text_of(bruno.get(link2))
    assert post(bruno, link2).status_code == 409
    assert "not valid" in text_of(bruno.get("/join/" + "x" * 43))
    assert count(app, Membership) == 1


def test_making_a_link_with_htmx_refreshes_the_list_and_focuses_the_link(app, client):
    """The enhanced path is never worse than the plain one: the new link, an
    empty form again, and "Links made" with the new link, at once."""
    with app.app_context():
        make_circle(make_user("ada@example.org", "Ada"))
    login(client)
    assert "No links yet." in text_of(client.get("/c/elm-street/invitations"))
    htmx = {"HX-Request": "true"}
    response = post(client, "/c/elm-street/invitations", {"days": 7, "max_uses": 5, "note": "stairwell"},
                    headers=htmx)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="invite">') and "<html" not in body
    assert re.search(r'<p role="status" tabindex="-1" autofocus>Copy it now', body)
    assert body.count("autofocus") == 1
    assert 'name="note" type="text" value=""' in body  # the form comes back empty
    links = re.search(r'<ul class="people" id="links-made" data-hx-swap-oob="true">(.*?)</ul>', body, re.S)
    assert links and "stairwell" in links.group(1) and "No links yet." not in links.group(1)
    # The same list as the page reloaded.
    page = client.get("/c/elm-street/invitations").get_data(as_text=True)
    strip = lambda html: re.sub(r'<input[^>]*name="csrf_token"[^>]*>', "", html)
    reloaded = re.search(r'<ul class="people" id="links-made">(.*?)</ul>', page, re.S)
    assert strip(links.group(1)) == strip(reloaded.group(1))
    # A form with a mistake: its messages in place (422), focus on the note, no list.
    response = post(client, "/c/elm-street/invitations", {"days": 7, "max_uses": 0}, headers=htmx)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<html" not in body and "links-made" not in body and "Between 1 and 500 people." in text_of(response)
    assert re.search(r'role="alert" tabindex="-1" autofocus>Please look at the marked fields below\.', body)
    assert count(app, Invitation) == 1


def test_circle_with_a_question(app, client):
    with app.app_context():
        ada = make_user("ada@example.org", "Ada")
        make_circle(ada, join_mode="question", join_question="Which house are you in?")
        make_user("bruno@example.org", "Bruno")
    login(client)
    link = make_invitation_link(client, "elm-street")
    bruno = app.test_client()
    login(bruno, email="bruno@example.org")
    assert "Which house are you in?" in text_of(bruno.get(link))
    assert post(bruno, link, {"answer": ""}).status_code == 409
    response = post(bruno, link, {"answer": "Number 12, the blue door"})
    assert response.status_code == 303
    assert "waiting for a steward" in text_of(bruno.get("/"))
    assert bruno.get("/c/elm-street/").status_code == 404
    overview = text_of(client.get("/c/elm-street/"))
    assert "Number 12, the blue door" in overview
    with app.app_context():
        request_id = db.session.scalar(select(JoinRequest.id))
    assert post(client, f"/c/elm-street/requests/{request_id}/approve").status_code == 303
    assert bruno.get("/c/elm-street/").status_code == 200
    # Approving twice: a clear message, nothing saved twice.
    response = post(client, f"/c/elm-street/requests/{request_id}/approve", follow_redirects=True)
    assert "already approved" in text_of(response)
    assert count(app, Membership) == 2
    assert count(app, LogEntry, LogEntry.action == "member_approved") == 1


def test_declined_request(app, client):
    with app.app_context():
        ada = make_user("ada@example.org", "Ada")
        make_circle(ada, join_mode="question", join_question="Which house?")
        make_user("bruno@example.org", "Bruno")
    login(client)
    link = make_invitation_link(client, "elm-street")
    bruno = app.test_client()
    login(bruno, email="bruno@example.org")
    post(bruno, link, {"answer": "I just want to sell things"})
    with app.app_context():
        request_id = db.session.scalar(select(JoinRequest.id))
    post(client, f"/c/elm-street/requests/{request_id}/decline")
    assert bruno.get("/c/elm-street/").status_code == 404
    assert "declined the request of Bruno" in text_of(client.get("/c/elm-street/log"))


def test_bad_circle_input_saves_nothing(app, client):
    add_user(app)
    login(client)
    new_circle(client)
    cases = [
        ({"slug": "elm-street"}, "already has that address"),
        ({"slug": "Elm Street!"}, "lowercase letters, digits and dashes"),
        ({"slug": "-elm"}, "lowercase letters, digits and dashes"),
        ({"slug": "ab"}, "lowercase letters, digits and dashes"),
        ({"slug": "new-one", "time_zone": "Mars/Olympus"}, "don't know that time zone"),
        ({"slug": "new-one", "name": ""}, "give the circle a name"),
        ({"slug": "new-one", "join_mode": "question", "join_question": ""}, "question joiners should answer"),
    ]
    for change, message in cases:
        response = new_circle(client, **change)
        assert response.status_code == 422, change
        assert message in text_of(response), change
    assert count(app, Circle) == 1


def test_unverified_cannot_start_a_circle(app, client):
    add_user(app, verified=False)
    login(client)
    response = new_circle(client)
    assert response.status_code == 302
    assert count(app, Circle) == 0


def test_the_last_steward_may_leave_and_the_circle_keeps_a_steward(app, client):
    with app.app_context():
        ada = make_user("ada@example.org", "Ada")
        bruno = make_user("bruno@example.org", "Bruno")
        circle = make_circle(ada)
        add_member(circle, bruno)
        other = make_circle(make_user("olga@example.org", "Olga"), slug="harbour", name="Harbour")
        add_member(other, make_user("pia@example.org", "Pia"))
    login(client)
    # Stewards no longer appoint stewards: the old page is gone, trust decides.
    assert client.get("/c/elm-street/stewards").status_code == 404
    page = text_of(client.get("/c/elm-street/leave"))
    assert "if you are the last one, the circle’s trust chooses who carries on" in page
    assert post(client, "/c/elm-street/leave").status_code == 303
    assert client.get("/c/elm-street/").status_code == 404
    assert count(app, Membership) == 3
    bruno_client = app.test_client()
    login(bruno_client, email="bruno@example.org")
    assert "steward" in text_of(bruno_client.get("/c/elm-street/members")).split("Bruno")[1].split("Say what")[0]
    assert "Bruno is a steward so that the circle is not without one" in text_of(bruno_client.get("/c/elm-street/log"))


def test_last_steward_deletes_account(app, client):
    with app.app_context():
        ada = make_user("ada@example.org", "Ada")
        circle = make_circle(ada)
        add_member(circle, make_user("bruno@example.org", "Bruno"))
        add_member(circle, make_user("chiara@example.org", "Chiara"))
    login(client)
    page = text_of(client.get("/auth/account/delete"))
    assert "only steward of Elm Street: stewardship passes to Bruno" in page
    assert post(client, "/auth/account/delete", {"password": PASSWORD}).status_code == 303
    bruno = app.test_client()
    login(bruno, email="bruno@example.org")
    members = text_of(bruno.get("/c/elm-street/members"))
    assert "steward" in members.split("Bruno")[1].split("</li>")[0]
    log = text_of(bruno.get("/c/elm-street/log"))
    assert "Stewardship passed to Bruno" in log
    assert "a former member started the circle." in log


def test_members_list_shows_offers_not_counts(app, client):
    with app.app_context():
        ada = make_user("ada@example.org", "Ada")
        circle = make_circle(ada)
        add_member(circle, make_user("bruno@example.org", "Bruno"))
    login(client)
    post(client, "/c/elm-street/me", {"offers": "A ladder and a drill"})
    page = text_of(client.get("/c/elm-street/members"))
    assert "Glad to offer: A ladder and a drill" in page
    assert "Bruno" in page
    assert not re.search(r"\b\d+ members?\b", page)
    assert "last seen" not in page.lower()


def test_settings_change_is_logged(app, client):
    with app.app_context():
        make_circle(make_user("ada@example.org", "Ada"))
    login(client)
    data = {"name": "Elm Street Neighbours", "description": "New words", "area": "Elm St",
            "time_zone": "Europe/Berlin", "language": "de", "join_mode": "open", "members_may_share": "y"}
    assert post(client, "/c/elm-street/settings", data).status_code == 303
    assert "Ada changed the settings: name, description, area, language." in text_of(client.get("/c/elm-street/log"))
    assert post(client, "/c/elm-street/settings", data | {"time_zone": "Nowhere/Else"}).status_code == 422


def test_visitor_gets_303_to_login_for_any_circle_url(app, client):
    with app.app_context():
        make_circle(make_user("ada@example.org", "Ada"))
    for path in ("/c/elm-street/", "/c/no-such-circle/", "/c/elm-street/log?x=1", "/c/whatever/anything"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.location.startswith("/auth/login?next=")
    response = client.get("/c/elm-street/log")
    assert response.location == "/auth/login?next=/c/elm-street/log"
    # After signing in, the member gets back to where they were.
    response = post(client, response.location, {"email": "ada@example.org", "password": PASSWORD})
    assert response.location == "/c/elm-street/log"


def test_home_lists_my_circles(app, client):
    with app.app_context():
        ada = make_user("ada@example.org", "Ada")
        make_circle(ada, area="Elm Street 1-40")
    login(client)
    home = text_of(client.get("/"))
    assert "Elm Street" in home and "Nothing planned yet" in home
    fresh = app.test_client()
    add_user(app, email="bruno@example.org", name="Bruno")
    login(fresh, email="bruno@example.org")
    assert "You are not in a circle yet" in text_of(fresh.get("/"))


def test_circle_tabs_mark_the_page_and_offer_inviting_to_those_who_may(app, client):
    with app.app_context():
        ada = make_user("ada@example.org", "Ada")
        circle = make_circle(ada)
        add_member(circle, make_user("bruno@example.org", "Bruno"))
    login(client)
    bruno = app.test_client()
    login(bruno, email="bruno@example.org")

    def tabs(who, path):
        nav = re.search(r'<nav class="tabs".*?</nav>', who.get(path).get_data(as_text=True), re.S).group(0)
        return re.findall(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', nav)

    assert tabs(client, "/c/elm-street/members") == [
        ("/c/elm-street/", "", "Overview"), ("/c/elm-street/gatherings", "", "Gatherings"),
        ("/c/elm-street/talk", "", "Talk"), ("/c/elm-street/library", "", "Library"),
        ("/c/elm-street/members", ' aria-current="page"', "Members"), ("/c/elm-street/trust", "", "Trust"),
        ("/c/elm-street/log", "", "Log"), ("/c/elm-street/invitations", "", "Invite")]
    assert [t[2] for t in tabs(client, "/c/elm-street/gatherings/past") if t[1]] == ["Gatherings"]
    # Members invite only where the circle lets them.
    assert "Invite" not in [t[2] for t in tabs(bruno, "/c/elm-street/log")]
    post(client, "/c/elm-street/settings", {"name": "Elm Street", "time_zone": "Europe/Berlin", "language": "en",
                                            "join_mode": "open", "members_can_invite": "y"})
    assert [t[2] for t in tabs(bruno, "/c/elm-street/log")] == ["Overview", "Gatherings", "Talk", "Library", "Members",
                                                                "Trust", "Log", "Invite"]
