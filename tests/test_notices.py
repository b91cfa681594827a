"""Invitations to hand out: a QR code beside a new link, a printable notice with
an invitation of its own, and the inviter named only when they choose."""

from __future__ import annotations

import datetime as dt
import re

import time_machine
from sqlalchemy import select

from app.circles.models import Invitation, JoinRequest, Membership
from app.extensions import db

from .circles_helpers import add_member, make_circle
from .gatherings_helpers import count
from .helpers import PASSWORD, login, make_user, post, text_of


def _notice(client, slug="elm-street", **changes):
    data = {"text": "We are the neighbours of Elm Street: soup on Fridays, tools to share.", "days": 30,
            "max_uses": 20, "asks_question": "y", "size": "a4"}
    data.update(changes)
    return post(client, f"/c/{slug}/invitations/notice", {k: v for k, v in data.items() if v is not None})


def _steward_and_bruno(app, **settings):
    with app.app_context():
        ada = make_user("ada@example.org", "Ada")
        circle = make_circle(ada, area="Elm Street 1-30", **settings)
        add_member(circle, make_user("bruno@example.org", "Bruno"))
        make_user("chiara@example.org", "Chiara")


def test_a_new_link_comes_with_a_qr_code_and_copy_and_share_buttons(app, client):
    _steward_and_bruno(app)
    login(client)
    page = post(client, "/c/elm-street/invitations", {"days": 7, "max_uses": 5, "note": ""}).get_data(as_text=True)
    link = re.search(r'id="invite-link" type="text" readonly value="([^"]+)"', page).group(1)
    svg = re.search(r"<svg [^>]*>.*?</svg>", page, re.S).group(0)
    assert 'role="img"' in svg and 'aria-label="QR code to scan with a phone"' in svg
    # The code encodes the link itself: segno draws the same code for the same link.
    from app.qr import qr_svg
    assert qr_svg(link, "QR code to scan with a phone") == svg
    # Without JavaScript the buttons stay hidden: the field is there to copy from.
    assert re.search(r'<button type="button" class="secondary" data-copy="invite-link"[^>]* hidden>', page)
    assert re.search(r'<button type="button" class="secondary" data-share="invite-link"[^>]* hidden>', page)


def test_a_printable_notice_has_its_own_invitation_that_asks_the_question(app, client):
    _steward_and_bruno(app)
    login(client)
    form = client.get("/c/elm-street/invitations/notice")
    assert form.status_code == 200 and "A notice to print" in text_of(form)
    response = _notice(client)
    assert response.status_code == 303
    notice_path = response.location.split("?")[0]
    assert re.fullmatch(r"/notice/[A-Za-z0-9_-]{20,}", notice_path) and response.location.endswith("size=a4")
    page = client.get(response.location)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "no-store" in page.headers["Cache-Control"]
    text = text_of(page)
    assert "Elm Street" in text and "soup on Fridays" in text and "Elm Street 1-30" in text
    join_path = "/join/" + notice_path.rsplit("/", 1)[1]
    assert join_path in html and "<svg " in html
    assert "Put up by" not in text  # nobody named unless they tick it
    with app.app_context():
        invitation = db.session.scalar(select(Invitation))
        assert invitation.notice_text.startswith("We are the neighbours")
        assert invitation.max_uses == 20 and invitation.asks_question and not invitation.names_inviter
    assert "Ada made a notice to print, with a link for 20 people, for 30 days." in text_of(client.get("/c/elm-street/log"))

    # The circle lets people in by link alone, but a printed link asks first.
    chiara = app.test_client()
    login(chiara, email="chiara@example.org")
    join_page = text_of(chiara.get(join_path))
    assert "The circle asks:" in join_page and "Who are you, and how do you know the circle?" in join_page
    assert post(chiara, join_path, {"answer": ""}).status_code == 409
    assert post(chiara, join_path, {"answer": "Flat 12, I fix bikes"}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(JoinRequest.status)) == "pending"
        assert db.session.scalar(select(Invitation.uses)) == 1
    assert count(app, Membership) == 2


def test_a_plain_link_still_lets_people_in_at_once(app, client):
    _steward_and_bruno(app)
    login(client)
    response = _notice(client, asks_question=None)
    join_path = "/join/" + response.location.split("?")[0].rsplit("/", 1)[1]
    chiara = app.test_client()
    login(chiara, email="chiara@example.org")
    assert "The circle asks:" not in text_of(chiara.get(join_path))
    assert post(chiara, join_path).status_code == 303
    assert count(app, Membership) == 3


def test_the_inviter_is_named_on_the_notice_the_join_page_and_the_confirmation_mail_only_when_they_choose(
        app, client, mailbox):
    _steward_and_bruno(app)
    login(client)
    named = _notice(client, names_inviter="y", size="a5")
    assert "Put up by Ada, a neighbour." in text_of(client.get(named.location))
    assert "notice-a5" in client.get(named.location).get_data(as_text=True)
    join_path = "/join/" + named.location.split("?")[0].rsplit("/", 1)[1]
    stranger = app.test_client()
    assert "Ada invited you." in text_of(stranger.get(join_path))
    registered = post(stranger, "/auth/register?next=" + join_path,
                      {"email": "dmitri@example.org", "display_name": "Dmitri", "password": PASSWORD,
                       "time_zone": "Europe/Berlin"})
    assert registered.status_code == 303
    assert "Ada invited you to Elm Street." in mailbox.last("dmitri@example.org").get_content()

    unnamed = post(client, "/c/elm-street/invitations", {"days": 7, "max_uses": 5}).get_data(as_text=True)
    plain_path = re.search(r'value="https?://[^/"]+(/join/[^"]+)"', unnamed).group(1)
    other = app.test_client()
    assert "invited you" not in text_of(other.get(plain_path))
    post(other, "/auth/register?next=" + plain_path,
         {"email": "erin@example.org", "display_name": "Erin", "password": PASSWORD, "time_zone": "Europe/Berlin"})
    assert "invited you" not in mailbox.last("erin@example.org").get_content()


def test_a_notice_that_no_longer_works_says_so_and_shows_nothing_of_the_circle(app, client):
    _steward_and_bruno(app)
    login(client)
    spent = _notice(client, max_uses=1, asks_question=None)
    chiara = app.test_client()
    login(chiara, email="chiara@example.org")
    post(chiara, "/join/" + spent.location.split("?")[0].rsplit("/", 1)[1])
    page = client.get(spent.location)
    assert page.status_code == 410
    assert "used as many times" in text_of(page) and "Elm Street" not in text_of(page)

    expiring = _notice(client, days=7)
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=8)):
        stale = app.test_client()
        login(stale)
        page = stale.get(expiring.location)
        assert page.status_code == 410 and "has expired" in text_of(page) and "Elm Street" not in text_of(page)

    withdrawn = _notice(client)
    with app.app_context():
        invitation_id = db.session.scalar(select(Invitation.id).order_by(Invitation.id.desc()))
    assert post(client, f"/c/elm-street/invitations/{invitation_id}/revoke").status_code == 303
    page = client.get(withdrawn.location)
    assert page.status_code == 410 and "was withdrawn" in text_of(page) and "Elm Street" not in text_of(page)


def test_only_those_who_may_invite_see_a_notice(app, client):
    _steward_and_bruno(app)
    login(client)
    made = _notice(client)
    bruno = app.test_client()
    login(bruno, email="bruno@example.org")  # members may not invite in this circle
    assert bruno.get(made.location).status_code == 404
    assert bruno.get("/c/elm-street/invitations/notice").status_code == 403
    chiara = app.test_client()
    login(chiara, email="chiara@example.org")
    assert chiara.get(made.location).status_code == 404
    assert app.test_client().get(made.location).status_code in (302, 303)  # sign in first
    assert client.get("/notice/" + "x" * 43).status_code == 404


def test_bad_notices_are_refused_beside_the_field_and_nothing_is_made(app, client):
    _steward_and_bruno(app)
    login(client)
    for changes, field, message in [
        ({"text": "x" * 301}, "text", "At most 300 characters"),
        ({"text": ""}, "text", "Write a few words"),
        ({"text": "Soup\x07 on Fridays"}, "text", "control characters"),
        ({"max_uses": 0}, "max_uses", "Between 1 and 500"),
        ({"max_uses": "many"}, "max_uses", ""),
        ({"days": 365}, "days", ""),
        ({"size": "a3"}, "size", ""),
    ]:
        response = _notice(client, **changes)
        assert response.status_code == 422, changes
        assert message in text_of(response)
        assert f'id="{field}-error"' in response.get_data(as_text=True), changes
    assert count(app, Invitation) == 0


def test_a_shared_gathering_gets_a_printable_notice_for_its_hosts(app, client):
    from .gatherings_helpers import make_gathering, winter_evening
    _steward_and_bruno(app)
    with app.app_context():
        from app.circles.models import Circle
        from app.auth.models import User
        circle = db.session.scalar(select(Circle))
        bruno = db.session.scalar(select(User).where(User.display_name == "Bruno"))
        gathering = make_gathering(circle, bruno, "Soup evening", starts=winter_evening(), place="Garden shed")
        gathering_id = gathering.id
    path = f"/c/elm-street/gatherings/{gathering_id}/notice"
    login(client)
    unshared = client.get(path)
    assert "not shared with people outside" in text_of(unshared) and "<svg" not in unshared.get_data(as_text=True)
    assert post(client, f"/c/elm-street/gatherings/{gathering_id}/share").status_code == 303
    assert "Print a notice" in text_of(client.get(f"/c/elm-street/gatherings/{gathering_id}/manage"))
    assert "A few words for the notice" in text_of(client.get(path))
    page = client.get(path + "?text=Bring+a+bowl&size=a5")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    with app.app_context():
        token = db.session.get(type(gathering), gathering_id).public_token
    assert f"/g/{token}" in html and "<svg " in html and "notice-a5" in html
    assert "Soup evening" in text_of(page) and "Garden shed" in text_of(page) and "Bring a bowl" in text_of(page)
    assert "Elm Street" not in text_of(page)  # the circle is not named to outsiders
    for bad, message in (("x" * 301, "At most 300"), ("a\x07b", "control characters")):
        refused = client.get(path, query_string={"text": bad, "size": "a4"})
        assert refused.status_code == 422 and message in text_of(refused)
    assert client.get(path, query_string={"size": "a0"}).status_code == 422
    chiara = app.test_client()
    login(chiara, email="chiara@example.org")
    assert chiara.get(path).status_code == 404
    other_member = app.test_client()
    login(other_member, email="bruno@example.org")  # the host
    assert other_member.get(path).status_code == 200
