"""Gatherings opened to people outside the circle by a link: what a visitor
sees (that gathering, nothing of the circle), answering by name and email,
confirming and cancelling by mail, one answer per address, who may share,
and the limits that keep the form from mailing strangers. Both databases."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.gatherings.models import Answer, Gathering

from .gatherings_helpers import (
    answer,
    count,
    gathering_row,
    neighbourhood,
    seen,
    share,
    signed_in,
    state_of,
    subjects,
)
from .helpers import post

GUEST = "ada.lovelace@example.net"
PLACE = "Kastanienallee 12, 10435 Berlin"


def ask(client, link: str, name: str = "Ada Lovelace", address: str = GUEST, **kwargs):
    return post(client, link, {"name": name, "email": address}, **kwargs)


def confirm(app, mailbox, address: str = GUEST, action: str = "confirm"):
    """Open the link in the last mail and press its button, as the guest does."""
    path = mailbox.last_link(address, f"/{action}/")
    visitor = app.test_client()
    page = visitor.get(path)
    assert page.status_code == 200, page.status_code
    return post(visitor, path)


def guest_rows(app, gathering_id):
    with app.app_context():
        return db.session.execute(select(Answer.guest_name, Answer.guest_email, Answer.state).where(
            Answer.gathering_id == gathering_id, Answer.user_id.is_(None))).all()


# --- sharing and what a visitor sees ---------------------------------------------------

def test_a_host_shares_a_link_and_can_stop(app):
    ids = neighbourhood(app)
    ada = signed_in(app, "Ada")
    page = seen(ada.get(ids["path"] + "/manage"))
    assert "Guests from outside see this gathering only, never the circle." in page
    assert "Share with people outside the circle" in page
    link = share(app, ids)
    assert "Link for people outside the circle" in seen(ada.get(ids["path"] + "/manage"))
    assert app.test_client().get(link).status_code == 200
    # Sharing again stops it: the link no longer opens.
    post(ada, ids["path"] + "/share")
    assert "Share with people outside the circle" in seen(ada.get(ids["path"] + "/manage"))
    assert app.test_client().get(link).status_code == 404
    assert gathering_row(app, ids["gathering"]).public_token is None


def test_a_visitor_sees_that_gathering_and_nothing_of_the_circle(app, mailbox):
    ids = neighbourhood(app, place=PLACE, capacity=10, description="Bring a bowl.",
                        circle_settings={"description": "Neighbours of number 3.", "area": "Prenzlauer Berg"})
    answer(signed_in(app, "Bruno"), ids["path"])
    link = share(app, ids)
    visitor = app.test_client()
    response = visitor.get(link)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = seen(response)
    assert "Soup evening" in page and "18:30–20:30" in page and "(Europe/Berlin)" in page
    assert PLACE in page and "Bring a bowl." in page and "8 seats left" in page
    assert "openstreetmap.org/search?query=Kastanienallee+12%2C+10435+Berlin" in html
    for secret in ("Elm Street", "elm-street", "Neighbours of number 3", "Prenzlauer Berg",
                   "Ada", "Bruno", "Chiara", "example.org"):
        assert secret not in html, secret
    assert not re.search(r'(href|action|src)="[^"]*/c/', html)
    # The pages along the guest's way show nothing of the circle either.
    sent = ask(visitor, link)
    assert "Check your email" in seen(sent)
    for path in (link + "/confirm/x", link + "/cancel/x"):
        other = visitor.get(path).get_data(as_text=True)
        assert "Elm Street" not in other and "/c/" not in other
    done = confirm(app, mailbox)
    done_html = done.get_data(as_text=True)
    assert "You are coming. See you there!" in seen(done)
    assert "Elm Street" not in done_html and "/c/" not in done_html and "Bruno" not in done_html
    mail = mailbox.last(GUEST).get_content()
    assert "Elm Street" not in mail and "/c/" not in mail


# --- answering as a guest -----------------------------------------------------------------------

def test_a_guest_answers_by_mail_confirms_and_cancels(app, mailbox):
    ids = neighbourhood(app, capacity=3)
    link = share(app, ids)
    visitor = app.test_client()
    response = ask(visitor, link)
    assert response.status_code == 200
    assert f"We sent a link to {GUEST}. Open it to confirm your place at “Soup evening”." in seen(response)
    assert subjects(mailbox, GUEST) == ["Confirm your place: Soup evening"]
    body = mailbox.last(GUEST).get_content()
    assert "/confirm/" in body and "/cancel/" in body and "Hello Ada Lovelace" in body
    # Nothing is held until the guest confirms.
    assert guest_rows(app, ids["gathering"]) == [("Ada Lovelace", GUEST, "unconfirmed")]
    assert gathering_row(app, ids["gathering"]).seats_taken == 1
    assert "Ada Lovelace" not in seen(signed_in(app, "Bruno").get(ids["path"]))

    page = visitor.get(mailbox.last_link(GUEST, "/confirm/"))
    assert "Confirm my place" in seen(page)
    assert gathering_row(app, ids["gathering"]).seats_taken == 1  # opening the link holds nothing yet
    assert "You are coming. See you there!" in seen(post(visitor, mailbox.last_link(GUEST, "/confirm/")))
    assert guest_rows(app, ids["gathering"]) == [("Ada Lovelace", GUEST, "seated")]
    assert gathering_row(app, ids["gathering"]).seats_taken == 2
    member_page = seen(signed_in(app, "Bruno").get(ids["path"]))
    assert "Ada Lovelace guest" in member_page and "1 seat left" in member_page
    assert GUEST not in member_page  # the address stays private
    # Confirming twice is harmless.
    confirm(app, mailbox)
    assert gathering_row(app, ids["gathering"]).seats_taken == 2

    response = confirm(app, mailbox, action="cancel")
    assert "Your place is cancelled. Thank you for letting us know." in seen(response)
    assert guest_rows(app, ids["gathering"]) == []
    assert gathering_row(app, ids["gathering"]).seats_taken == 1
    # The links no longer work.
    response = confirm(app, mailbox, action="cancel")
    assert response.status_code == 409 and "This link does not work any more." in seen(response)


def test_a_guest_waits_when_full_and_a_cancelled_guest_frees_the_seat(app, mailbox):
    ids = neighbourhood(app, capacity=2)
    bruno = signed_in(app, "Bruno")
    answer(bruno, ids["path"])                                       # full: Ada and Bruno
    link = share(app, ids)
    ask(app.test_client(), link)
    response = confirm(app, mailbox)
    assert "It is full, so you are on the waitlist." in seen(response)
    assert guest_rows(app, ids["gathering"]) == [("Ada Lovelace", GUEST, "waiting")]
    answer(signed_in(app, "Chiara"), ids["path"])                     # behind the guest
    assert state_of(app, ids["gathering"], "Chiara") == "waiting"
    page = bruno.get(ids["path"])
    assert "Waitlist" in seen(page) and seen(page).index("Ada Lovelace") < seen(page).index("Chiara")

    # Bruno cannot come: the guest was first in line, gets the seat, and a mail with the guest's link.
    answer(bruno, ids["path"], "cant")
    assert guest_rows(app, ids["gathering"]) == [("Ada Lovelace", GUEST, "seated")]
    assert subjects(mailbox, GUEST)[-1] == "Soup evening: a seat for you"
    seat_mail = mailbox.last(GUEST).get_content()
    assert link in seat_mail and "/c/" not in seat_mail

    # The guest cancels with the first mail's link: Chiara moves up.
    confirm_mail_cancel = [m for m in mailbox.to(GUEST) if m["Subject"].startswith("Confirm")][-1]
    cancel_path = re.search(r"https?://[^\s/]+(/g/\S*/cancel/\S+)", confirm_mail_cancel.get_content()).group(1)
    visitor = app.test_client()
    assert "Your place is cancelled." in seen(post(visitor, cancel_path))
    assert state_of(app, ids["gathering"], "Chiara") == "seated"
    assert subjects(mailbox, "Chiara") == ["Soup evening: a seat for you"]


def test_one_answer_per_email_whatever_its_case(app, mailbox):
    ids = neighbourhood(app, capacity=5)
    link = share(app, ids)
    ask(app.test_client(), link, address="Ada.Lovelace@Example.NET")
    ask(app.test_client(), link, name="Ada L.", address="  ada.lovelace@example.net ")
    assert guest_rows(app, ids["gathering"]) == [("Ada L.", GUEST, "unconfirmed")]
    assert len(mailbox.to(GUEST)) == 2
    # The newest link is the one that works.
    assert "You are coming." in seen(confirm(app, mailbox))
    assert count(app, Answer, Answer.user_id.is_(None)) == 1
    # The database itself refuses a second answer for the same address in another case.
    with app.app_context():
        db.session.add(Answer(gathering_id=ids["gathering"], guest_email="ADA.LOVELACE@example.net",
                              guest_name="Again", response="going", state="unconfirmed"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
    assert count(app, Answer, Answer.user_id.is_(None)) == 1
    # Another address is another guest.
    ask(app.test_client(), link, name="Grace", address="grace@example.net")
    assert count(app, Answer, Answer.user_id.is_(None)) == 2


@pytest.mark.parametrize("changes, message", [
    ({"name": ""}, "Please tell us your name."),
    ({"email": "not an address"}, "That doesn't look like an email address."),
    ({"email": ""}, "Please give your email address."),
])
def test_bad_guest_input_is_refused_and_mails_nobody(app, mailbox, changes, message):
    ids = neighbourhood(app)
    link = share(app, ids)
    response = post(app.test_client(), link, {"name": "Ada Lovelace", "email": GUEST} | changes)
    assert response.status_code == 422 and message in seen(response)
    assert guest_rows(app, ids["gathering"]) == [] and mailbox.messages == []


def test_a_blank_guest_name_is_refused(app, mailbox):
    ids = neighbourhood(app)
    link = share(app, ids)
    response = ask(app.test_client(), link, name="   ")
    assert response.status_code == 422
    assert guest_rows(app, ids["gathering"]) == [] and mailbox.messages == []


def test_guests_cannot_answer_a_cancelled_gathering(app, mailbox):
    ids = neighbourhood(app)
    link = share(app, ids)
    visitor = app.test_client()
    ask(visitor, link)                                                # asked, not yet confirmed
    post(signed_in(app, "Ada"), ids["path"] + "/cancel", {"reason": "The hall is flooded."})
    page = seen(visitor.get(link))
    assert "Cancelled. The hall is flooded." in page and "I would like to come" not in page
    assert ask(visitor, link).status_code == 422
    assert len(mailbox.to(GUEST)) == 1
    response = confirm(app, mailbox)
    assert response.status_code == 409 and "This gathering is cancelled." in seen(response)
    assert guest_rows(app, ids["gathering"]) == [("Ada Lovelace", GUEST, "unconfirmed")]


def test_guests_cannot_answer_when_answers_are_closed(app, mailbox):
    ids = neighbourhood(app)
    link = share(app, ids)
    ada = signed_in(app, "Ada")
    post(ada, ids["path"] + "/close")
    visitor = app.test_client()
    assert "I would like to come" not in seen(visitor.get(link))
    assert ask(visitor, link).status_code == 422
    assert guest_rows(app, ids["gathering"]) == [] and mailbox.messages == []
    post(ada, ids["path"] + "/close")
    assert ask(visitor, link).status_code == 200


def test_a_visitor_is_told_that_answers_are_closed(app):
    ids = neighbourhood(app)
    link = share(app, ids)
    post(signed_in(app, "Ada"), ids["path"] + "/close")
    response = ask(app.test_client(), link)
    assert "closed answers" in seen(response)


# --- who may share ---------------------------------------------------------------------------

def test_when_members_may_not_share_only_stewards_can(app):
    ids = neighbourhood(app, host="Bruno", circle_settings={"members_may_share": False})
    bruno = signed_in(app, "Bruno")
    page = seen(bruno.get(ids["path"] + "/manage"))
    assert "Lend a hand" in page and "Share with people outside the circle" not in page
    assert post(bruno, ids["path"] + "/share").status_code == 403
    assert gathering_row(app, ids["gathering"]).public_token is None
    # A steward may.
    link = share(app, ids, who="Ada")
    assert app.test_client().get(link).status_code == 200
    # And a member who does not host it may not, whatever the setting.
    assert post(signed_in(app, "Chiara"), ids["path"] + "/share").status_code == 403
    assert gathering_row(app, ids["gathering"]).public_token is not None


def test_members_may_share_their_own_gatherings_by_default(app):
    ids = neighbourhood(app, host="Bruno")
    link = share(app, ids, who="Bruno")
    assert app.test_client().get(link).status_code == 200


def test_unknown_links_are_not_found(app):
    ids = neighbourhood(app)
    link = share(app, ids)
    visitor = app.test_client()
    for path in ("/g/" + "x" * 32, "/g/x", link + "x", link[:-1]):
        assert visitor.get(path).status_code == 404, path
        assert ask(visitor, path).status_code == 404, path
    assert visitor.get(link + "/confirm/whatever").status_code == 200  # a page saying the link is dead on use
    assert visitor.get("/g/nope/confirm/whatever").status_code == 404
    assert post(visitor, "/g/nope/cancel/whatever").status_code == 404
    assert guest_rows(app, ids["gathering"]) == []


def test_a_guest_is_never_mailed_a_link_into_the_circle(app, mailbox):
    ids = neighbourhood(app, place=PLACE)
    link = share(app, ids)
    ask(app.test_client(), link)
    confirm(app, mailbox)
    ada = signed_in(app, "Ada")
    post(ada, ids["path"] + "/share")                                 # stop sharing
    with app.app_context():
        g = db.session.get(Gathering, ids["gathering"])
        data = {"title": g.title, "description": "", "starts_local": g.starts_local.strftime("%Y-%m-%dT%H:%M"),
                "ends_local": g.ends_local.strftime("%Y-%m-%dT%H:%M"), "time_zone": g.time_zone,
                "place": "The community hall", "online_url": "", "capacity": "", "max_guests": "0",
                "status": "confirmed"}
    assert post(ada, ids["path"] + "/edit", data).status_code == 303
    mail = mailbox.last(GUEST)
    assert mail["Subject"] == "Soup evening: changed"
    assert "/c/" not in mail.get_content() and "elm-street" not in mail.get_content()


def test_a_seated_guest_can_still_cancel_after_sharing_stops(app, mailbox):
    ids = neighbourhood(app, capacity=2)
    link = share(app, ids)
    ask(app.test_client(), link)
    confirm(app, mailbox)
    answer(signed_in(app, "Bruno"), ids["path"])                      # waits behind the guest
    post(signed_in(app, "Ada"), ids["path"] + "/share")               # stop sharing
    response = post(app.test_client(), mailbox.last_link(GUEST, "/cancel/"))
    assert response.status_code == 200
    assert guest_rows(app, ids["gathering"]) == []
    assert state_of(app, ids["gathering"], "Bruno") == "seated"


# --- limits: the form cannot be used to mail strangers ---------------------------------------

SLOW_DOWN = "Let's slow down a little"


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def assert_slowed_down(response) -> None:
    page = seen(response)
    assert response.status_code == 429, (response.status_code, page[:300])
    assert SLOW_DOWN in page


def test_guest_answers_are_limited_per_email(make_app, mailbox):
    app = make_app(LIMIT_GUEST_PER_EMAIL="2 per hour")
    ids = neighbourhood(app)
    link = share(app, ids)
    for n in range(2):
        assert ask(from_address(app, f"203.0.113.{n + 1}"), link).status_code == 200
    # A third ask for the same inbox, in another spelling, from elsewhere: refused, no mail.
    assert_slowed_down(ask(from_address(app, "198.51.100.7"), link, address="  ADA.Lovelace@example.NET"))
    assert len(mailbox.to(GUEST)) == 2
    # Another address is still welcome; looking at the page is not counted.
    assert from_address(app, "198.51.100.7").get(link).status_code == 200
    assert ask(from_address(app, "198.51.100.7"), link, address="grace@example.net").status_code == 200
    assert len(mailbox.to("grace@example.net")) == 1


def test_guest_answers_are_limited_per_client_address(make_app, mailbox):
    app = make_app(LIMIT_GUEST_PER_IP="3 per hour")
    ids = neighbourhood(app)
    link = share(app, ids)
    bot = from_address(app, "203.0.113.5")
    for n in range(3):
        assert ask(bot, link, address=f"stranger{n}@example.net").status_code == 200
    assert_slowed_down(ask(bot, link, address="stranger9@example.net"))
    assert mailbox.to("stranger9@example.net") == []
    assert count(app, Answer, Answer.user_id.is_(None)) == 3
    # Someone elsewhere is not held back.
    assert ask(from_address(app, "198.51.100.7"), link, address="stranger9@example.net").status_code == 200
    assert len(mailbox.to("stranger9@example.net")) == 1
