"""Gatherings through the test client, as the neighbours see them: posting,
answers with seats, waitlists and guests, approval, what hosts can do, mail
on changes that matter, slots, the lists, htmx. Both databases."""

from __future__ import annotations

import datetime as dt
import random
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.circles.models import Circle, LogEntry
from app.extensions import db
from app.database import write_unit
from app.gatherings import domain, queries, seats, slots
from app.gatherings.models import Answer, Cohost, Gathering, Slot
from app.mail import OutboxMail

from .circles_helpers import add_member, make_circle
from .gatherings_helpers import (
    WHEN,
    answer,
    count,
    days_ahead,
    email,
    field_error,
    gathering_row,
    make_gathering,
    neighbourhood,
    new_form,
    seen,
    signed_in,
    state_of,
    winter_evening,
    states,
    subjects,
    waitlist_names,
    who_is_coming,
)
from .helpers import PASSWORD, login, make_user, post

UTC = dt.UTC
FULL = "Full: you would join the waitlist, and move up when a seat frees."


def answer_id(app, gathering_id: int, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Answer.id).join(User, User.id == Answer.user_id).where(
            Answer.gathering_id == gathering_id, User.email == email(name)))


def edit_form(app, gathering_id: int, **changes) -> dict:
    """The edit form as the page fills it in, with some fields changed."""
    with app.app_context():
        g = db.session.get(Gathering, gathering_id)
        data = {"title": g.title, "description": g.description_source,
                "starts_local": g.starts_local.strftime(WHEN), "ends_local": g.ends_local.strftime(WHEN),
                "time_zone": g.time_zone, "place": g.place, "online_url": g.online_url,
                "capacity": "" if g.capacity is None else str(g.capacity), "max_guests": str(g.max_guests),
                "status": g.status if g.status != "cancelled" else "confirmed",
                "cohosts": [u.id for u in queries.cohosts(g)]}
        if g.needs_approval:
            data["needs_approval"] = "y"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def log_text(client, slug="elm-street") -> str:
    return seen(client.get(f"/c/{slug}/log"))


def mails_to(mailbox, name) -> list:
    return mailbox.to(email(name))


# --- posting ----------------------------------------------------------------------------

def test_posting_with_every_field(app, mailbox):
    with app.app_context():
        ada = make_user(email("Ada"), "Ada")
        bruno = make_user(email("Bruno"), "Bruno")
        circle = make_circle(ada)
        add_member(circle, bruno)
        bruno_id = bruno.id
    client = signed_in(app, "Ada")
    form_page = seen(client.get("/c/elm-street/gatherings/new"))
    assert "Plan a gathering" in form_page and "Bruno" in form_page  # co-hosts to choose from

    response = post(client, "/c/elm-street/gatherings/new", new_form(
        online_url="https://meet.example.org/soup", capacity="12", max_guests="2", needs_approval="y",
        status="tentative", cohosts=[bruno_id]))
    assert response.status_code == 303
    with app.app_context():
        g = db.session.scalar(select(Gathering))
        assert response.location == f"/c/elm-street/gatherings/{g.id}"
        assert g.title == "Soup evening"
        assert "<strong>bowl</strong>" in g.description_html
        # The wall time and its zone are the truth; the UTC instant is derived (CET is UTC+1).
        assert g.time_zone == "Europe/Berlin"
        assert g.starts_local == winter_evening()
        assert g.starts_at == dt.datetime(winter_evening().year, 1, 15, 17, 30, tzinfo=UTC)
        assert g.ends_at == dt.datetime(winter_evening().year, 1, 15, 20, 0, tzinfo=UTC)
        assert (g.place, g.online_url) == ("Kastanienallee 12, Berlin", "https://meet.example.org/soup")
        assert (g.capacity, g.max_guests, g.needs_approval, g.status) == (12, 2, True, "tentative")
        assert db.session.scalars(select(Cohost.user_id)).all() == [bruno_id]
        # The host is going and holds a seat.
        assert db.session.scalar(select(Answer.state)) == "seated" and g.seats_taken == 1

    page = seen(client.get(response.location))
    assert "Posted. Your neighbours can answer now." in page
    assert "Soup evening" in page and "not yet certain" in page.lower()
    starts = winter_evening()
    weekday = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[starts.weekday()]
    assert f"When {weekday} 15 Jan {starts.year}, 18:30–21:00 " in page
    assert "(Europe/Berlin)" not in page  # Ada lives in that zone: no need to name it
    assert "Kastanienallee 12, Berlin" in page and "https://meet.example.org/soup" in page
    assert "Hosts" in page and "Ada, Bruno" in page
    assert "11 seats left" in page
    assert "Guests I bring (up to 2)" in page
    # The co-host manages it too.
    assert "Manage this gathering" in seen(signed_in(app, "Bruno").get(response.location))


def test_summer_time_is_derived_from_the_zone_too(app):
    ids = neighbourhood(app, people=("Ada",))
    client = signed_in(app, "Ada")
    year = dt.date.today().year + 1
    response = post(client, "/c/elm-street/gatherings/new", new_form(
        starts_local=f"{year}-07-15T18:30", ends_local=f"{year}-07-15T21:00"))
    assert response.status_code == 303
    with app.app_context():
        g = db.session.scalar(select(Gathering).where(Gathering.id != ids["gathering"]))
        assert g.starts_at == dt.datetime(year, 7, 15, 16, 30, tzinfo=UTC)  # CEST is UTC+2


def test_a_gathering_elsewhere_names_its_zone_to_those_living_elsewhere(app):
    with app.app_context():
        ada = make_user(email("Ada"), "Ada")  # Europe/Berlin
        bruno = make_user(email("Bruno"), "Bruno", time_zone="America/New_York")
        circle = make_circle(ada)
        add_member(circle, bruno)
    ada_client = signed_in(app, "Ada")
    response = post(ada_client, "/c/elm-street/gatherings/new", new_form(time_zone="America/New_York"))
    assert response.status_code == 303
    with app.app_context():
        g = db.session.scalar(select(Gathering))
        # 18:30 in New York in January is EST, UTC-5.
        assert g.starts_at == dt.datetime(winter_evening().year, 1, 15, 23, 30, tzinfo=UTC)
    # Ada lives in Berlin: she reads the wall time where it happens, with the zone named.
    page = seen(ada_client.get(response.location))
    assert "18:30–21:00 (America/New York)" in page
    # Bruno lives in New York: the same time, no zone needed.
    page = seen(signed_in(app, "Bruno").get(response.location))
    assert "18:30–21:00" in page and "America/New York" not in page


def test_map_link_url_encodes_the_address(app):
    ids = neighbourhood(app, people=("Ada",), place="Kastanienallee 12 & Hof, 10435 Berlin")
    page = signed_in(app, "Ada").get(ids["path"]).get_data(as_text=True)
    assert 'href="https://www.openstreetmap.org/search?query=Kastanienallee+12+%26+Hof%2C+10435+Berlin"' in page


def _yesterday(hour):
    return (dt.datetime.now() - dt.timedelta(days=1)).replace(hour=hour, minute=0).strftime(WHEN)


BAD_POSTS = [
    ("end before start", {"ends_local": winter_evening().replace(hour=17).strftime(WHEN)}, "ends_local",
     "That ends before it starts: choose an end after 18:30."),
    ("end equal to start", {"ends_local": winter_evening().strftime(WHEN)}, "ends_local",
     "That ends before it starts: choose an end after 18:30."),
    ("start in the past", {"starts_local": _yesterday(10), "ends_local": _yesterday(12)}, "starts_local",
     "That time has passed: choose a time still to come."),
    ("unknown zone", {"time_zone": "Mars/Olympus_Mons"}, "time_zone",
     "We don't know that time zone. Pick one from the list."),
    ("javascript link", {"online_url": "javascript:alert(1)"}, "online_url",
     "A link must start with http:// or https://."),
    ("link without host", {"online_url": "https://"}, "online_url", "A link must start with http:// or https://."),
    ("capacity 0", {"capacity": "0"}, "capacity", "At least 1 seat."),
    ("no title", {"title": ""}, "title", "Give the gathering a name."),
    ("blank title", {"title": "   "}, "title", "Give the gathering a name."),
    ("no start", {"starts_local": ""}, "starts_local", "Choose when it starts."),
]


@pytest.mark.parametrize("case, changes, field, message", BAD_POSTS)
def test_bad_input_is_shown_at_its_field_and_saves_nothing(app, case, changes, field, message):
    neighbourhood(app, people=("Ada",))
    client = signed_in(app, "Ada")
    response = post(client, "/c/elm-street/gatherings/new", new_form(**changes))
    assert response.status_code == 422
    assert field_error(response, field) == message
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert count(app, Gathering) == 1  # only the one neighbourhood() made


def test_capacity_cannot_be_edited_below_those_going(app):
    ids = neighbourhood(app, capacity=5, max_guests=1)
    for name, guests in (("Bruno", 1), ("Chiara", 0)):
        assert answer(signed_in(app, name), ids["path"], guests=guests).status_code == 303
    assert gathering_row(app, ids["gathering"]).seats_taken == 4  # Ada, Bruno and his guest, Chiara
    ada = signed_in(app, "Ada")
    response = post(ada, ids["path"] + "/edit", edit_form(app, ids["gathering"], capacity="3"))
    assert response.status_code == 422
    assert field_error(response, "capacity") == "4 seats are already taken: the capacity cannot be lower."
    assert gathering_row(app, ids["gathering"]).capacity == 5
    response = post(ada, ids["path"] + "/edit", edit_form(app, ids["gathering"], capacity="0"))
    assert response.status_code == 422 and field_error(response, "capacity") == "At least 1 seat."
    # Down to exactly those going is fine.
    assert post(ada, ids["path"] + "/edit", edit_form(app, ids["gathering"], capacity="4")).status_code == 303
    assert gathering_row(app, ids["gathering"]).capacity == 4
    assert FULL in seen(signed_in(app, "Eve").get(ids["path"]))  # full, for someone not yet coming


# --- answers, seats and the waitlist --------------------------------------------------------

def test_going_maybe_and_cant(app):
    ids = neighbourhood(app, capacity=10)
    bruno = signed_in(app, "Bruno")
    response = answer(bruno, ids["path"], "going")
    assert response.status_code == 303 and response.location == ids["path"]
    page = seen(bruno.get(ids["path"]))
    assert "You are coming." in page and "8 seats left" in page
    answer(bruno, ids["path"], "maybe")
    page = seen(bruno.get(ids["path"]))
    assert "You said maybe." in page and "Maybe: Bruno" in page and "9 seats left" in page
    answer(bruno, ids["path"], "cant")
    page = seen(bruno.get(ids["path"]))
    assert "You said you can’t come." in page and "Maybe:" not in page
    assert state_of(app, ids["gathering"], "Bruno") == "none"
    assert gathering_row(app, ids["gathering"]).seats_taken == 1
    # One way to say no: "I can't come" (there is no "withdraw" beside it).
    html = bruno.get(ids["path"]).get_data(as_text=True)
    assert html.count('name="response"') == 3 and "Withdraw" not in html
    for value, label in (("going", "I’m coming"), ("maybe", "Maybe"), ("cant", "I can’t come")):
        assert re.search(rf'<button type="submit" name="response" value="{value}"[^>]*>{label}</button>', html)
    assert post(bruno, ids["path"] + "/withdraw").status_code == 404


def test_lists_show_my_own_answer_beside_each_gathering(app):
    ids = neighbourhood(app, capacity=1)
    with app.app_context():
        circle = db.session.get(Circle, ids["circle"])
        ada = db.session.get(User, ids["Ada"])
        later = make_gathering(circle, ada, "Repair evening", starts=days_ahead(12)).id
    answer(signed_in(app, "Chiara"), ids["path"])  # takes the only seat
    bruno = signed_in(app, "Bruno")
    answer(bruno, ids["path"])
    answer(bruno, f"/c/elm-street/gatherings/{later}")
    for path in ("/c/elm-street/", "/c/elm-street/gatherings"):
        items = re.findall(r"<li class=\"gathering.*?</li>", bruno.get(path).get_data(as_text=True), re.S)
        assert len(items) == 2
        assert "Soup evening" in items[0] and "you are on the waitlist" in items[0]
        assert "Repair evening" in items[1] and "you are coming" in items[1]
    # Another member's answers are not mine.
    assert "you are" not in seen(signed_in(app, "Eve").get("/c/elm-street/gatherings"))


def test_seats_left_only_where_there_is_a_capacity(app):
    ids = neighbourhood(app)
    bruno = signed_in(app, "Bruno")
    answer(bruno, ids["path"])
    page = seen(bruno.get(ids["path"]))
    assert "You are coming." in page
    assert "seat left" not in page and "seats left" not in page and "Full" not in page
    assert "seats left" not in seen(bruno.get("/c/elm-street/gatherings"))

    with app.app_context():
        circle = db.session.get(Circle, ids["circle"])
        ada = db.session.get(User, ids["Ada"])
        small = make_gathering(circle, ada, "Small supper", capacity=3).id
    path = f"/c/elm-street/gatherings/{small}"
    assert "2 seats left" in seen(bruno.get(path))
    answer(bruno, path)
    assert "1 seat left" in seen(bruno.get(path))
    answer(signed_in(app, "Chiara"), path)
    assert "Are you coming? Full You are coming." in seen(bruno.get(path))
    assert FULL in seen(signed_in(app, "Dmitri").get(path))
    listing = seen(bruno.get("/c/elm-street/gatherings"))
    assert "Full: new answers join the waitlist" in listing


def test_waitlist_is_first_come_first_served(app):
    ids = neighbourhood(app, capacity=2)
    answer(signed_in(app, "Bruno"), ids["path"])
    clients = {}
    for name in ("Chiara", "Dmitri", "Eve"):
        clients[name] = signed_in(app, name)
        assert answer(clients[name], ids["path"]).status_code == 303
    assert states(app, ids["gathering"]) == {"Ada": "seated", "Bruno": "seated", "Chiara": "waiting",
                                             "Dmitri": "waiting", "Eve": "waiting"}
    for position, name in enumerate(("Chiara", "Dmitri", "Eve"), start=1):
        page = seen(clients[name].get(ids["path"]))
        assert f"You are number {position} on the waitlist." in page, name
    assert waitlist_names(clients["Eve"].get(ids["path"])) == ["Chiara", "Dmitri", "Eve"]
    # Saying "going" again keeps one's place in line.
    answer(clients["Chiara"], ids["path"])
    assert "You are number 1 on the waitlist." in seen(clients["Chiara"].get(ids["path"]))
    # Leaving the waitlist closes the gap.
    answer(clients["Dmitri"], ids["path"], "cant")
    assert "You are number 2 on the waitlist." in seen(clients["Eve"].get(ids["path"]))


@pytest.mark.parametrize("how", ["cant", "maybe"])
def test_a_freed_seat_goes_to_the_first_in_line_who_is_mailed(app, mailbox, how):
    ids = neighbourhood(app, capacity=2)
    bruno = signed_in(app, "Bruno")
    answer(bruno, ids["path"])
    for name in ("Chiara", "Dmitri"):
        answer(signed_in(app, name), ids["path"])
    assert mailbox.messages == []
    answer(bruno, ids["path"], how)
    assert state_of(app, ids["gathering"], "Chiara") == "seated"
    assert state_of(app, ids["gathering"], "Dmitri") == "waiting"
    assert subjects(mailbox, "Chiara") == ["Soup evening: a seat for you"]
    body = mailbox.last(email("Chiara")).get_content()
    assert 'A seat is free at "Soup evening", and it is yours.' in body
    assert f"/c/elm-street/gatherings/{ids['gathering']}" in body
    assert mails_to(mailbox, "Dmitri") == [] and mails_to(mailbox, "Bruno") == []
    chiara_page = seen(signed_in(app, "Chiara").get(ids["path"]))
    assert "You are coming." in chiara_page
    assert "You are number 1 on the waitlist." in seen(signed_in(app, "Dmitri").get(ids["path"]))
    assert gathering_row(app, ids["gathering"]).seats_taken == 2


def test_guests_take_seats_with_the_person_all_or_nothing(app, mailbox):
    ids = neighbourhood(app, capacity=4, max_guests=2)
    c = {name: signed_in(app, name) for name in ("Bruno", "Chiara", "Dmitri", "Eve")}
    answer(c["Bruno"], ids["path"], guests=1)                       # Ada 1 + Bruno 2 = 3 of 4
    assert "1 seat left" in seen(c["Bruno"].get(ids["path"]))
    page = seen(c["Bruno"].get(ids["path"]))
    assert "You are coming. With 1 guest." in page and "Bruno +1 guest" in page
    answer(c["Chiara"], ids["path"], guests=2)                      # a party of 3 for 1 seat: waits
    assert state_of(app, ids["gathering"], "Chiara") == "waiting"
    answer(c["Dmitri"], ids["path"])                                # a later single takes the free seat
    assert state_of(app, ids["gathering"], "Dmitri") == "seated"
    answer(c["Eve"], ids["path"])                                   # full now: Eve waits behind Chiara
    assert waitlist_names(c["Eve"].get(ids["path"])) == ["Chiara", "Eve"]
    assert gathering_row(app, ids["gathering"]).seats_taken == 4

    # Bruno and his guest can't come: 2 seats free, Chiara's 3 still do not fit; Eve's 1 does.
    answer(c["Bruno"], ids["path"], "cant")
    assert states(app, ids["gathering"]) == {"Ada": "seated", "Bruno": "none", "Chiara": "waiting",
                                             "Dmitri": "seated", "Eve": "seated"}
    assert "You are number 1 on the waitlist." in seen(c["Chiara"].get(ids["path"]))
    assert subjects(mailbox, "Eve") == ["Soup evening: a seat for you"] and mails_to(mailbox, "Chiara") == []
    # Chiara brings one guest fewer; she keeps her place; when Dmitri cannot come, her party fits.
    answer(c["Chiara"], ids["path"], guests=1)
    assert state_of(app, ids["gathering"], "Chiara") == "waiting"
    answer(c["Dmitri"], ids["path"], "cant")
    assert state_of(app, ids["gathering"], "Chiara") == "seated"
    assert subjects(mailbox, "Chiara") == ["Soup evening: a seat for you"]
    page = seen(c["Chiara"].get(ids["path"]))
    assert "You are coming. With 1 guest." in page and "Chiara +1 guest" in page and "Full You are coming." in page
    assert gathering_row(app, ids["gathering"]).seats_taken == 4


def test_a_seated_person_asking_for_more_guests_than_fit_keeps_their_seat(app):
    ids = neighbourhood(app, capacity=3, max_guests=2)
    bruno = signed_in(app, "Bruno")
    answer(bruno, ids["path"])                                      # Ada, Bruno: 1 seat left
    response = answer(bruno, ids["path"], guests=2)
    assert response.status_code == 422
    assert field_error(response, "guests") == "There is no room for more guests right now; your own seat is kept."
    assert state_of(app, ids["gathering"], "Bruno") == "seated"
    page = seen(bruno.get(ids["path"]))
    assert "You are coming." in page and "With" not in page.split("You are coming.")[1][:20]
    assert gathering_row(app, ids["gathering"]).seats_taken == 2
    # One more guest fits.
    assert answer(bruno, ids["path"], guests=1).status_code == 303
    assert "You are coming. With 1 guest." in seen(bruno.get(ids["path"]))


def test_guests_beyond_the_limit_are_refused(app):
    ids = neighbourhood(app, capacity=10, max_guests=2)
    bruno = signed_in(app, "Bruno")
    response = answer(bruno, ids["path"], guests=3)
    assert response.status_code == 422
    assert field_error(response, "guests") == "You can bring up to 2 guests."
    assert state_of(app, ids["gathering"], "Bruno") is None
    assert answer(bruno, ids["path"], guests=2).status_code == 303
    assert gathering_row(app, ids["gathering"]).seats_taken == 4
    # Guests do not come along to "maybe".
    answer(bruno, ids["path"], "maybe", guests=2)
    with app.app_context():
        assert db.session.scalar(select(Answer.guests).where(Answer.user_id == ids["Bruno"])) == 0
    # Without guests allowed, the field is not offered.
    with app.app_context():
        circle = db.session.get(Circle, ids["circle"])
        alone = make_gathering(circle, db.session.get(User, ids["Ada"]), "Quiet walk").id
    page = seen(bruno.get(f"/c/elm-street/gatherings/{alone}"))
    assert "Guests I bring" not in page


def test_a_double_submit_never_makes_two_answers(app, ctx):
    ids = neighbourhood(app, capacity=5)
    bruno = db.session.get(User, ids["Bruno"])
    for _twice in range(2):
        with write_unit():
            seats.answer(ids["gathering"], bruno, "going")
    assert count(app, Answer, Answer.user_id == ids["Bruno"]) == 1
    assert db.session.get(Gathering, ids["gathering"]).seats_taken == 2
    # The database itself refuses a second answer for the same person.
    db.session.add(Answer(gathering_id=ids["gathering"], user_id=ids["Bruno"], response="going", state="none"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert count(app, Answer, Answer.user_id == ids["Bruno"]) == 1


def test_two_clicks_through_the_page_make_one_answer(app):
    ids = neighbourhood(app, capacity=5)
    chiara = signed_in(app, "Chiara")
    assert answer(chiara, ids["path"]).status_code == 303
    assert answer(chiara, ids["path"]).status_code == 303
    assert count(app, Answer, Answer.user_id == ids["Chiara"]) == 1
    assert gathering_row(app, ids["gathering"]).seats_taken == 2


# --- approval -------------------------------------------------------------------------------

def test_hosts_approve_or_decline_answers(app, mailbox):
    ids = neighbourhood(app, capacity=2, needs_approval=True)
    c = {name: signed_in(app, name) for name in ("Ada", "Bruno", "Chiara", "Dmitri")}
    assert "A word for the hosts" in seen(c["Bruno"].get(ids["path"]))
    answer(c["Bruno"], ids["path"], message="I can bring bread.")
    answer(c["Chiara"], ids["path"], message="First time, may I come?")
    answer(c["Dmitri"], ids["path"])
    assert states(app, ids["gathering"]) == {"Ada": "seated", "Bruno": "asking", "Chiara": "asking",
                                             "Dmitri": "asking"}
    assert gathering_row(app, ids["gathering"]).seats_taken == 1  # asking holds no seat
    assert "The hosts will look at your answer." in seen(c["Bruno"].get(ids["path"]))
    assert "Waiting for your approval" not in seen(c["Bruno"].get(ids["path"]))
    assert "Someone is waiting for your approval." in seen(c["Ada"].get(ids["path"]))
    host_page = seen(c["Ada"].get(ids["path"] + "/manage"))
    assert "Waiting for your approval" in host_page
    assert "Bruno: “I can bring bread.”" in host_page and "Chiara: “First time, may I come?”" in host_page

    base = ids["path"] + "/answers/{}/{}"
    response = post(c["Ada"], base.format(answer_id(app, ids["gathering"], "Bruno"), "approve"))
    assert response.status_code == 303 and response.location == ids["path"] + "/manage"
    assert state_of(app, ids["gathering"], "Bruno") == "seated"
    assert subjects(mailbox, "Bruno") == ["Soup evening: a seat for you"]
    assert "You are coming." in seen(c["Bruno"].get(ids["path"]))

    # Approved when full: a waitlist place like anyone else's.
    post(c["Ada"], base.format(answer_id(app, ids["gathering"], "Chiara"), "approve"))
    assert state_of(app, ids["gathering"], "Chiara") == "waiting"
    assert "It is full for now, so you are on the waitlist." in mailbox.last(email("Chiara")).get_content()
    assert "You are number 1 on the waitlist." in seen(c["Chiara"].get(ids["path"]))

    dmitri_answer = answer_id(app, ids["gathering"], "Dmitri")
    post(c["Ada"], base.format(dmitri_answer, "decline"))
    assert state_of(app, ids["gathering"], "Dmitri") == "none"
    assert "You said you can’t come." in seen(c["Dmitri"].get(ids["path"]))
    # Deciding twice: a clear word, nothing changes.
    response = post(c["Ada"], base.format(dmitri_answer, "approve"), follow_redirects=True)
    assert "That answer was already decided." in seen(response)
    assert state_of(app, ids["gathering"], "Dmitri") == "none"
    assert "Waiting for your approval" not in seen(c["Ada"].get(ids["path"] + "/manage"))

    # Once approved, a later answer needs no approval again; a freed seat goes to Chiara.
    answer(c["Bruno"], ids["path"], "cant")
    assert state_of(app, ids["gathering"], "Chiara") == "seated"
    answer(c["Bruno"], ids["path"], "going")
    assert state_of(app, ids["gathering"], "Bruno") == "waiting"


# --- hosts ------------------------------------------------------------------------------------

def hosted_by_bruno(app, **fields):
    """Bruno hosts, Chiara co-hosts, Ada is the circle's steward, Dmitri a member."""
    ids = neighbourhood(app, host="Bruno", **fields)
    with app.app_context():
        gathering = db.session.get(Gathering, ids["gathering"])
        domain.set_cohosts(gathering, [db.session.get(User, ids["Chiara"])])
        db.session.commit()
    return ids


@pytest.mark.parametrize("who", ["Bruno", "Chiara", "Ada"], ids=["host", "co-host", "steward"])
def test_hosts_co_hosts_and_stewards_edit_and_cancel(app, mailbox, who):
    ids = hosted_by_bruno(app)
    client = signed_in(app, who)
    assert "Manage this gathering" in seen(client.get(ids["path"]))
    assert "Edit the details" in seen(client.get(ids["path"] + "/manage"))
    assert 'value="Soup evening"' in client.get(ids["path"] + "/edit").get_data(as_text=True)
    response = post(client, ids["path"] + "/edit", edit_form(app, ids["gathering"], title="Soup and bread"))
    assert response.status_code == 303 and response.location == ids["path"] + "/manage"
    assert "Saved." in seen(client.get(ids["path"]))
    assert gathering_row(app, ids["gathering"]).title == "Soup and bread"

    assert client.get(ids["path"] + "/cancel").status_code == 200
    response = post(client, ids["path"] + "/cancel", {"reason": ""})
    assert response.status_code == 422
    assert field_error(response, "reason") == "Say why, so people know what happened."
    assert gathering_row(app, ids["gathering"]).status == "confirmed"
    response = post(client, ids["path"] + "/cancel", {"reason": "The hall is flooded."})
    assert response.status_code == 303 and response.location == ids["path"] + "/manage"
    member_page = seen(signed_in(app, "Dmitri").get(ids["path"]))
    assert "Cancelled. The hall is flooded." in member_page
    assert "I’m coming" not in member_page
    row = gathering_row(app, ids["gathering"])
    assert (row.status, row.cancel_reason) == ("cancelled", "The hall is flooded.")
    if who == "Bruno":  # nobody is told what they did themselves
        assert not any(s.endswith("cancelled") for s in subjects(mailbox, "Bruno"))
    else:  # the host was going: told, with the reason
        assert subjects(mailbox, "Bruno")[-1] == "Soup and bread: cancelled"
        assert "is cancelled. The hall is flooded." in mailbox.last(email("Bruno")).get_content()
    # Answers are closed for good.
    assert answer(signed_in(app, "Eve"), ids["path"]).status_code == 422
    assert state_of(app, ids["gathering"], "Eve") is None


def test_other_members_may_not_manage(app):
    ids = hosted_by_bruno(app, capacity=1)
    answer(signed_in(app, "Eve"), ids["path"])  # on the waitlist
    eve_answer = answer_id(app, ids["gathering"], "Eve")
    dmitri = signed_in(app, "Dmitri")
    page = seen(dmitri.get(ids["path"]))
    assert "Manage this gathering" not in page and "Give a seat" not in page
    assert dmitri.get(ids["path"] + "/manage").status_code == 403
    assert dmitri.get(ids["path"] + "/edit").status_code == 403
    assert dmitri.get(ids["path"] + "/cancel").status_code == 403
    for path, data in [
        ("/edit", edit_form(app, ids["gathering"], title="Mine now")),
        ("/cancel", {"reason": "Because"}),
        ("/close", {}),
        ("/share", {}),
        ("/slots", {"title": "Chairs", "needed": "2"}),
        (f"/answers/{eve_answer}/move", {"to": "seated", "over_capacity": "y"}),
        (f"/answers/{eve_answer}/approve", {}),
        ("/attendance", {"came": [eve_answer]}),
    ]:
        assert post(dmitri, ids["path"] + path, data).status_code == 403, path
    row = gathering_row(app, ids["gathering"])
    assert (row.title, row.status, row.answers_closed, row.public_token) == ("Soup evening", "confirmed", False, None)
    assert state_of(app, ids["gathering"], "Eve") == "waiting"
    assert count(app, Slot) == 0


def test_a_stewards_edit_of_someone_elses_gathering_is_logged(app):
    ids = hosted_by_bruno(app)
    before = count(app, LogEntry)
    # The host and the co-host edit their own gathering: nothing for the log.
    post(signed_in(app, "Bruno"), ids["path"] + "/edit", edit_form(app, ids["gathering"], title="Soup"))
    post(signed_in(app, "Chiara"), ids["path"] + "/edit", edit_form(app, ids["gathering"], title="Soup night"))
    assert count(app, LogEntry) == before
    ada = signed_in(app, "Ada")
    response = post(ada, ids["path"] + "/edit", edit_form(app, ids["gathering"], title="Soup and bread",
                                                           place="Community hall"))
    assert response.status_code == 303
    with app.app_context():
        entries = db.session.scalars(select(LogEntry).where(LogEntry.action == "gathering_changed")).all()
        assert [(e.actor_id, e.subject_id) for e in entries] == [(ids["Ada"], ids["Bruno"])]
    line = "Ada, as a steward, changed “Soup and bread” by Bruno: title, place."
    assert line in log_text(signed_in(app, "Dmitri"))


def test_changing_only_the_co_hosts_says_saved(app):
    ids = neighbourhood(app)
    ada = signed_in(app, "Ada")
    post(ada, ids["path"] + "/edit", edit_form(app, ids["gathering"], cohosts=[ids["Chiara"]]))
    assert "Manage this gathering" in seen(signed_in(app, "Chiara").get(ids["path"]))  # saved, as it happens
    assert "Saved." in seen(ada.get(ids["path"]))


def test_closing_answers_stops_new_answers(app):
    ids = neighbourhood(app)
    ada, bruno = signed_in(app, "Ada"), signed_in(app, "Bruno")
    assert "Close answers" in seen(ada.get(ids["path"] + "/manage"))
    response = post(ada, ids["path"] + "/close")
    assert response.status_code == 303 and response.location == ids["path"] + "/manage"
    assert gathering_row(app, ids["gathering"]).answers_closed
    page = seen(bruno.get(ids["path"]))
    assert "The hosts have closed answers." in page and "I’m coming" not in page
    assert "I can’t come" not in page  # Bruno has no answer to take back
    response = answer(bruno, ids["path"])
    assert response.status_code == 422
    assert "The hosts have closed answers" in seen(response)
    assert state_of(app, ids["gathering"], "Bruno") is None
    # Saying "can't come" is still heard: it frees a seat.
    assert answer(signed_in(app, "Ada"), ids["path"], "cant").status_code == 303
    assert state_of(app, ids["gathering"], "Ada") == "none"
    assert "Open answers again" in seen(ada.get(ids["path"] + "/manage"))
    post(ada, ids["path"] + "/close")
    assert answer(bruno, ids["path"]).status_code == 303
    assert state_of(app, ids["gathering"], "Bruno") == "seated"


def test_a_seat_over_capacity_only_on_purpose_and_logged(app, mailbox):
    ids = neighbourhood(app, capacity=2)
    answer(signed_in(app, "Bruno"), ids["path"])
    answer(signed_in(app, "Chiara"), ids["path"])
    ada = signed_in(app, "Ada")
    page = seen(ada.get(ids["path"] + "/manage"))
    assert "Give a seat" in page and "Over capacity, on purpose" in page
    move = ids["path"] + f"/answers/{answer_id(app, ids['gathering'], 'Chiara')}/move"
    response = post(ada, move, {"to": "seated"}, follow_redirects=True)
    assert "No seat is free. Tick “over capacity” to give one anyway." in seen(response)
    assert state_of(app, ids["gathering"], "Chiara") == "waiting"
    assert count(app, LogEntry, LogEntry.action == "gathering_over_capacity") == 0

    assert post(ada, move, {"to": "seated", "over_capacity": "y"}).status_code == 303
    assert state_of(app, ids["gathering"], "Chiara") == "seated"
    row = gathering_row(app, ids["gathering"])
    assert (row.capacity, row.seats_taken, row.extra_seats) == (2, 3, 1)
    assert subjects(mailbox, "Chiara") == ["Soup evening: a seat for you"]
    assert "Ada gave Chiara a seat at “Soup evening” beyond its capacity." in log_text(signed_in(app, "Eve"))
    assert "You are coming." in seen(signed_in(app, "Chiara").get(ids["path"]))


def test_a_host_moves_someone_to_the_waitlist_and_the_first_in_line_gets_the_seat(app, mailbox):
    ids = neighbourhood(app, capacity=2)
    answer(signed_in(app, "Bruno"), ids["path"])
    answer(signed_in(app, "Chiara"), ids["path"])
    move = ids["path"] + f"/answers/{answer_id(app, ids['gathering'], 'Bruno')}/move"
    assert post(signed_in(app, "Ada"), move, {"to": "waiting"}).status_code == 303
    assert states(app, ids["gathering"]) == {"Ada": "seated", "Bruno": "waiting", "Chiara": "seated"}
    assert subjects(mailbox, "Chiara") == ["Soup evening: a seat for you"]
    assert mails_to(mailbox, "Bruno") == []


def test_moving_to_the_waitlist_when_nobody_else_waits(app, mailbox):
    ids = neighbourhood(app, capacity=2)
    answer(signed_in(app, "Bruno"), ids["path"])
    move = ids["path"] + f"/answers/{answer_id(app, ids['gathering'], 'Bruno')}/move"
    post(signed_in(app, "Ada"), move, {"to": "waiting"})
    assert mails_to(mailbox, "Bruno") == []  # no "a seat is free, and it is yours"
    assert state_of(app, ids["gathering"], "Bruno") == "waiting"


def test_an_extra_seat_given_on_purpose_is_not_handed_on(app, mailbox):
    ids = neighbourhood(app, capacity=2)
    for name in ("Bruno", "Chiara", "Dmitri"):
        answer(signed_in(app, name), ids["path"])
    move = ids["path"] + f"/answers/{answer_id(app, ids['gathering'], 'Chiara')}/move"
    post(signed_in(app, "Ada"), move, {"to": "seated", "over_capacity": "y"})
    # Ada, Bruno and Chiara (one over, on purpose). Bruno can't come: now 2 for 2 seats.
    answer(signed_in(app, "Bruno"), ids["path"], "cant")
    assert state_of(app, ids["gathering"], "Dmitri") == "waiting"
    row = gathering_row(app, ids["gathering"])
    assert row.seats_taken <= row.capacity


def test_after_the_gathering_hosts_mark_who_came_listed_by_name_whatever_its_case(app):
    """"Who was there" lists people by name, ignoring case (Ada, bea, Chiara),
    not in the order they answered (Chiara as host, then Ada, then bea) nor
    with capitals first (Ada, Chiara, bea); the list of what we did names nobody."""
    starts = (dt.datetime.now(ZoneInfo("Europe/Berlin")) + dt.timedelta(hours=1)).replace(
        tzinfo=None, second=0, microsecond=0)
    ids = neighbourhood(app, host="Chiara", people=("Ada", "Bruno", "Chiara", "Dmitri", "bea"), starts=starts)
    for name in ("Ada", "bea", "Bruno"):
        answer(signed_in(app, name), ids["path"])
    came = [answer_id(app, ids["gathering"], n) for n in ("Chiara", "Ada", "bea")]
    assert came == sorted(came)  # answered in this order
    chiara = signed_in(app, "Chiara")
    response = post(chiara, ids["path"] + "/attendance", {"came": came}, follow_redirects=True)
    assert "You can mark who came once the gathering has started." in seen(response)
    with time_machine.travel(dt.datetime.now(UTC) + dt.timedelta(hours=4)):
        page = seen(chiara.get(ids["path"]))
        assert "Who was there" in page and "I’m coming" not in page
        assert "The hosts have not noted who came yet." in page
        assert "Save who came" in seen(chiara.get(ids["path"] + "/manage"))
        response = post(chiara, ids["path"] + "/attendance", {"came": came}, follow_redirects=True)
        assert "Noted who came. Thank you for hosting." in seen(response)
        assert response.request.path == ids["path"] + "/manage"
        dmitri = signed_in(app, "Dmitri")
        # The circle's shared memory is on the gathering's page, by name.
        assert who_is_coming(dmitri.get(ids["path"])) == ["Ada", "bea", "Chiara"]
        # A list does not name who came: there it would read as a score of who did not.
        past = seen(dmitri.get("/c/elm-street/gatherings/past"))
        assert "Soup evening" in past
        assert not re.search(r"\b(Came|Ada|bea|Chiara|Bruno)\b", past), past
        # It is no longer coming up, and answers are over.
        assert "Soup evening" not in seen(dmitri.get("/c/elm-street/gatherings"))
        assert answer(dmitri, ids["path"]).status_code == 422
    with app.app_context():
        marked = dict(db.session.execute(select(User.display_name, Answer.attended)
                                         .join(User, User.id == Answer.user_id)).all())
    assert marked == {"Ada": True, "bea": True, "Bruno": False, "Chiara": True}


# --- each state shows only what makes sense in it -------------------------------------------

HOST_TOOLS = ("Move to the waitlist", "Give a seat", "Over capacity, on purpose", "Close answers",
              "Open answers again", "Add a slot", "Skip this date", "Share with people outside the circle",
              "Cancel the gathering", "Save who came", "Approve", "Edit the details")
ANSWERING = ("Are you coming?", "I’m coming", "I can’t come")


def _with_people(app, **fields):
    """Ada hosts with a slot; Bruno is seated, Chiara waits; Dmitri has not answered."""
    ids = neighbourhood(app, capacity=2, **fields)
    with app.app_context():
        slots.add_slot(db.session.get(Gathering, ids["gathering"]), "Chairs", 2)
        db.session.commit()
    answer(signed_in(app, "Bruno"), ids["path"])
    answer(signed_in(app, "Chiara"), ids["path"])
    return ids


def _absent(page: str, words) -> list[str]:
    return [w for w in words if w in page]


def test_an_upcoming_gathering_gives_guests_one_answer_and_hosts_their_own_page(app):
    ids = _with_people(app)
    guest = seen(signed_in(app, "Dmitri").get(ids["path"]))
    for words in ("Who is coming", "Waitlist", "Full", *ANSWERING, "Maybe",
                  "Lend a hand", "I’ll do it", "Add to my calendar"):
        assert words in guest, words
    assert _absent(guest, HOST_TOOLS + ("Manage this gathering", "Who was there")) == []
    # What a guest needs comes first: the answer before the details and the slots.
    assert guest.index("Who is coming") < guest.index("I’m coming") < guest.index("Lend a hand")

    ada = signed_in(app, "Ada")
    host = seen(ada.get(ids["path"]))
    assert "Manage this gathering" in host and "I’m coming" in host
    assert _absent(host, HOST_TOOLS) == []  # the host's own tools are on the manage page
    manage = seen(ada.get(ids["path"] + "/manage"))
    for words in ("Move to the waitlist", "Give a seat", "Over capacity, on purpose", "Close answers",
                  "Add a slot", "Share with people outside the circle", "Edit the details", "Cancel the gathering"):
        assert words in manage, words
    assert _absent(manage, ("Save who came", "Skip this date", "I’m coming")) == []


def test_a_cancelled_gathering_offers_nothing_to_do(app):
    ids = _with_people(app)
    ada = signed_in(app, "Ada")
    post(ada, ids["path"] + "/cancel", {"reason": "The hall is flooded."})
    for name in ("Bruno", "Chiara", "Dmitri"):  # seated, waiting, not answered
        page = seen(signed_in(app, name).get(ids["path"]))
        assert "Cancelled. The hall is flooded." in page, name
        assert _absent(page, ("You are", *ANSWERING, "Maybe", "Who is coming", "Waitlist", "seat left",
                              "seats left", "Full", "Lend a hand", "I’ll do it", *HOST_TOOLS,
                              "Manage this gathering")) == [], name
    host = seen(ada.get(ids["path"]))
    assert "Manage this gathering" in host and _absent(host, ("You are coming", *ANSWERING)) == []
    manage = seen(ada.get(ids["path"] + "/manage"))
    assert "Cancelled. The hall is flooded." in manage and "Edit the details" in manage
    assert _absent(manage, HOST_TOOLS[:-1]) == []
    # Nor can it be done by posting: no slot taken or added, nobody moved.
    with app.app_context():
        slot_id = db.session.scalar(select(Slot.id))
    response = post(signed_in(app, "Dmitri"), ids["path"] + f"/slots/{slot_id}/take", follow_redirects=True)
    assert "This gathering is cancelled." in seen(response)
    response = post(ada, ids["path"] + "/slots", {"title": "Umbrellas", "needed": "1"}, follow_redirects=True)
    assert "This gathering is cancelled." in seen(response)
    move = ids["path"] + f"/answers/{answer_id(app, ids['gathering'], 'Chiara')}/move"
    response = post(ada, move, {"to": "seated", "over_capacity": "y"}, follow_redirects=True)
    assert "This gathering is cancelled." in seen(response)
    assert state_of(app, ids["gathering"], "Chiara") == "waiting" and count(app, Slot) == 1
    with app.app_context():
        assert db.session.get(Slot, slot_id).taken == 0


def test_a_past_gathering_shows_who_was_there_and_no_answer(app):
    ids = _with_people(app)
    with time_machine.travel(dt.datetime.now(UTC) + dt.timedelta(days=11)):
        ada = signed_in(app, "Ada")
        for name in ("Bruno", "Dmitri"):
            page = seen(signed_in(app, name).get(ids["path"]))
            assert "Who was there" in page and "This gathering is over." in page, name
            assert _absent(page, ("Who is coming", *ANSWERING, "You are coming", "I’ll do it", *HOST_TOOLS,
                                  "Add to my calendar")) == [], name
        manage = seen(ada.get(ids["path"] + "/manage"))
        assert "Save who came" in manage and "Edit the details" in manage
        assert _absent(manage, ("Cancel the gathering", "Close answers", "Add a slot", "Move to the waitlist",
                                "Give a seat", "Share with people outside the circle")) == []
        post(ada, ids["path"] + "/attendance", {"came": [answer_id(app, ids["gathering"], "Bruno")]})
        page = signed_in(app, "Dmitri").get(ids["path"])
        assert who_is_coming(page) == ["Bruno"]  # who came: the circle's shared memory
        assert "The hosts have not noted who came yet." not in seen(page)


def test_gatherings_are_for_members_only(app, client):
    ids = neighbourhood(app)
    with app.app_context():
        make_user("olga@example.org", "Olga")
    outsider = app.test_client()
    login(outsider, email="olga@example.org")
    paths = ["/c/elm-street/gatherings", "/c/elm-street/gatherings/past", "/c/elm-street/gatherings/new",
             ids["path"], ids["path"] + "/edit", ids["path"] + "/cancel", ids["path"] + "/calendar.ics"]
    for path in paths:
        assert outsider.get(path).status_code == 404, path
        # A visitor is asked to sign in, whatever the path.
        response = client.get(path)
        assert response.status_code == 303 and response.location.startswith("/auth/login"), path
    assert answer(outsider, ids["path"]).status_code == 404
    assert outsider.get(ids["path"] + "/manage").status_code == 404
    assert state_of(app, ids["gathering"], "Olga") is None
    # A gathering of another circle is not reachable through this circle's address.
    with app.app_context():
        olga = db.session.scalar(select(User).where(User.email == "olga@example.org"))
        harbour = make_circle(olga, "harbour", "Harbour")
        theirs = make_gathering(harbour, olga, "Boat trip").id
    assert signed_in(app, "Bruno").get(f"/c/elm-street/gatherings/{theirs}").status_code == 404


# --- notifications ------------------------------------------------------------------------

def _crowd(app, **fields):
    """Ada hosts; Bruno is seated, Chiara waits, Dmitri says maybe, Eve can't."""
    ids = neighbourhood(app, capacity=2, **fields)
    for name, response in (("Bruno", "going"), ("Chiara", "going"), ("Dmitri", "maybe"), ("Eve", "cant")):
        answer(signed_in(app, name), ids["path"], response)
    return ids


CHANGES = [
    ("time", lambda g: {"starts_local": (g.starts_local + dt.timedelta(days=1)).strftime(WHEN),
                        "ends_local": (g.ends_local + dt.timedelta(days=1)).strftime(WHEN)},
     "Soup evening: changed", "(time)"),
    ("zone", lambda g: {"time_zone": "Europe/Lisbon"}, "Soup evening: changed", "(time)"),
    ("place", lambda g: {"place": "The community hall"}, "Soup evening: changed", "(place)"),
    ("online link", lambda g: {"online_url": "https://meet.example.org/x"}, "Soup evening: changed", "(place)"),
    ("status", lambda g: {"status": "tentative"}, "Soup evening: not yet certain", "(status)"),
]


@pytest.mark.parametrize("what, change, subject, words", CHANGES, ids=[c[0] for c in CHANGES])
def test_a_change_that_matters_mails_those_going_and_waiting(app, mailbox, what, change, subject, words):
    ids = _crowd(app)
    assert mailbox.messages == []
    row = gathering_row(app, ids["gathering"])
    response = post(signed_in(app, "Ada"), ids["path"] + "/edit", edit_form(app, ids["gathering"], **change(row)))
    assert response.status_code == 303
    for name in ("Bruno", "Chiara"):
        if what == "status":  # not time-critical: in the inbox now, in the evening's digest
            assert subjects(mailbox, name) == [], name
            assert subject in seen(signed_in(app, name).get("/notices"))
            continue
        assert subjects(mailbox, name) == [subject], name
        assert words in mailbox.last(email(name)).get_content()
    assert mails_to(mailbox, "Dmitri") == [] and mails_to(mailbox, "Eve") == []
    assert gathering_row(app, ids["gathering"]).sequence == 1


def test_a_small_edit_mails_nobody(app, mailbox):
    ids = _crowd(app)
    response = post(signed_in(app, "Ada"), ids["path"] + "/edit", edit_form(
        app, ids["gathering"], title="Soup and bread", description="Bring a *spoon* too."))
    assert response.status_code == 303
    row = gathering_row(app, ids["gathering"])
    assert row.title == "Soup and bread" and "<em>spoon</em>" in row.description_html
    assert row.sequence == 0
    assert count(app, OutboxMail) == 0 and mailbox.messages == []
    # Saving without a change says so.
    ada = signed_in(app, "Ada")
    post(ada, ids["path"] + "/edit", edit_form(app, ids["gathering"]))
    assert "Nothing changed." in seen(ada.get(ids["path"]))


def test_raising_the_capacity_seats_those_waiting(app, mailbox):
    ids = _crowd(app)
    post(signed_in(app, "Ada"), ids["path"] + "/edit", edit_form(app, ids["gathering"], capacity="3"))
    assert state_of(app, ids["gathering"], "Chiara") == "seated"
    assert subjects(mailbox, "Chiara") == ["Soup evening: a seat for you"]


# --- slots ----------------------------------------------------------------------------------

def test_slots(app):
    ids = neighbourhood(app)
    ada = signed_in(app, "Ada")
    assert "Lend a hand" not in seen(ada.get(ids["path"]))  # no slots: nothing for guests to see
    page = seen(ada.get(ids["path"] + "/manage"))
    assert "Lend a hand" in page and "No slots yet." in page
    response = post(ada, ids["path"] + "/slots", {"title": "Set up the chairs", "needed": "1"})
    assert response.status_code == 303 and response.location == ids["path"] + "/manage"
    bruno, chiara = signed_in(app, "Bruno"), signed_in(app, "Chiara")
    with app.app_context():
        slot_id = db.session.scalar(select(Slot.id))
    slot = ids["path"] + f"/slots/{slot_id}"
    assert "Set up the chairs · 0 of 1" in seen(bruno.get(ids["path"]))
    assert post(bruno, slot + "/take").status_code == 303
    assert "Set up the chairs · 1 of 1: Bruno" in seen(chiara.get(ids["path"]))
    assert "I’ll do it" not in seen(chiara.get(ids["path"]))
    response = post(chiara, slot + "/take", follow_redirects=True)
    assert "That slot is already full." in seen(response)
    assert "Set up the chairs · 1 of 1: Bruno" in seen(response)
    # Taking twice is harmless.
    post(bruno, slot + "/take")
    assert "I can’t after all" in seen(bruno.get(ids["path"]))
    assert post(bruno, slot + "/leave").status_code == 303
    assert "Set up the chairs · 0 of 1" in seen(chiara.get(ids["path"]))
    post(chiara, slot + "/take")
    assert "Set up the chairs · 1 of 1: Chiara" in seen(bruno.get(ids["path"]))
    with app.app_context():
        assert db.session.get(Slot, slot_id).taken == 1


def test_a_bad_slot_is_refused_with_its_message(app):
    ids = neighbourhood(app)
    ada = signed_in(app, "Ada")
    response = post(ada, ids["path"] + "/slots", {"title": "", "needed": "0"})
    assert response.status_code == 422  # the manage page again, each message beside its field
    assert "Say what the slot is for." in seen(response) and "Between 1 and 100 people." in seen(response)
    assert count(app, Slot) == 0


# Each form is shown again with its error beside the field (422): the cancel
# form on its page, a slot on the manage page.
@pytest.mark.parametrize("path, data, status, message", [
    ("/cancel", {"reason": "   "}, 422, "Say why, so people know what happened."),
    ("/slots", {"title": "   ", "needed": "1"}, 422, "Say what the slot is for."),
], ids=["cancel reason", "slot title"])
def test_a_blank_answer_in_host_forms_is_refused_not_a_500(app, path, data, status, message):
    ids = neighbourhood(app)
    response = post(signed_in(app, "Ada"), ids["path"] + path, data, follow_redirects=True)
    assert response.status_code == status
    assert message in seen(response)
    assert gathering_row(app, ids["gathering"]).status == "confirmed" and count(app, Slot) == 0


# --- lists ----------------------------------------------------------------------------------

RANKING_WORDS = ("popular", "trending", "top", "most", "hottest", "likes", "ranked", "ranking", "score",
                 "leaderboard", "best")


def test_coming_up_is_in_time_order_and_paginated(app):
    ids = neighbourhood(app, people=("Ada", "Bruno"), title="Day 00",
                        starts=days_ahead(60))  # the one neighbourhood() makes: after the 25 below
    days = list(range(1, 26))
    random.Random(7).shuffle(days)
    with app.app_context():
        circle = db.session.get(Circle, ids["circle"])
        bruno = db.session.get(User, ids["Bruno"])
        for day in days:
            make_gathering(circle, bruno, f"Day {day:02d}", starts=days_ahead(day))
        # Yesterday's is not coming up.
        make_gathering(circle, bruno, "Yesterday", starts=days_ahead(-1), allow_past=True)
    client = signed_in(app, "Ada")
    first = seen(client.get("/c/elm-street/gatherings"))
    second = seen(client.get("/c/elm-street/gatherings?page=2"))
    titles = lambda page: re.findall(r"Day \d\d", page)
    assert titles(first) == [f"Day {d:02d}" for d in range(1, 21)]
    assert titles(second) == [f"Day {d:02d}" for d in range(21, 26)] + ["Day 00"]
    assert "Later" in first and "Sooner" not in first
    assert "Sooner" in second and "Later" not in second
    assert "Yesterday" not in first + second
    for page in (first, second):
        words = set(re.findall(r"[a-z]+", page.lower()))
        assert not words & set(RANKING_WORDS), words & set(RANKING_WORDS)


def test_home_shows_my_next_gatherings_and_each_circles_next(app):
    with app.app_context():
        ada, bruno, chiara = (make_user(email(n), n) for n in ("Ada", "Bruno", "Chiara"))
        elm = make_circle(ada, "elm-street", "Elm Street")
        add_member(elm, bruno)
        harbour = make_circle(chiara, "harbour", "Harbour")
        add_member(harbour, ada)
        picnic = make_gathering(elm, bruno, "Picnic", starts=days_ahead(2))
        boat = make_gathering(harbour, chiara, "Boat trip", starts=days_ahead(3), capacity=1)
        make_gathering(elm, bruno, "Repair café", starts=days_ahead(4))
        soup = make_gathering(elm, bruno, "Soup evening", starts=days_ahead(5))
        make_gathering(harbour, chiara, "Sail repair", starts=days_ahead(9))
        ids = {"picnic": picnic.id, "boat": boat.id, "soup": soup.id}
    client = signed_in(app, "Ada")
    for key in ("picnic", "boat", "soup"):
        circle_slug = "harbour" if key == "boat" else "elm-street"
        answer(client, f"/c/{circle_slug}/gatherings/{ids[key]}")
    assert state_of(app, ids["boat"], "Ada") == "waiting"
    bruno_client = signed_in(app, "Bruno")
    post(bruno_client, f"/c/elm-street/gatherings/{ids['picnic']}/cancel", {"reason": "Rain all day."})

    home = client.get("/").get_data(as_text=True)
    mine = home.split("My next gatherings", 1)[1].split("Your circles", 1)[0]
    items = [seen(li) for li in re.findall(r"<li>(.*?)</li>", mine, re.DOTALL)]
    assert [i.split(" ")[0] for i in items] == ["Picnic", "Boat", "Soup"]
    assert "Elm Street · cancelled" in items[0]
    assert "Harbour" in items[1] and "cancelled" not in items[1]
    assert "Elm Street" in items[2] and "cancelled" not in items[2]
    assert "Repair café" not in mine  # Ada has not answered it
    circles = seen(home.split("Your circles", 1)[1])
    elm_card, harbour_card = circles.split("Harbour", 1)
    assert "Next: Repair café" in elm_card  # the cancelled picnic is not next
    assert "Next: Boat trip" in harbour_card
    # The circle's overview marks the cancelled one.
    overview = seen(client.get("/c/elm-street/"))
    picnic_item = overview.split("Picnic", 1)[1].split("</li>", 1)[0]
    assert "cancelled" in picnic_item


# --- htmx ------------------------------------------------------------------------------------

HTMX = {"HX-Request": "true"}


def part(html: str, opening: str, closing: str) -> str:
    """One part of a page (from its opening tag to its first closing tag), with
    what differs between two renderings of the same state taken out: the CSRF
    token's timestamp, and the attributes htmx acts on (oob, focus)."""
    match = re.search(re.escape(opening) + r".*?" + re.escape(closing), html, re.DOTALL)
    assert match, f"no {opening} in the page"
    found = re.sub(r'<input[^>]*name="csrf_token"[^>]*>', "", match.group(0))
    for attribute in (' data-hx-swap-oob="true"', ' tabindex="-1" autofocus'):
        found = found.replace(attribute, "")
    return found


ANSWER_CARD = ('<section id="answer"', "</section>")
WHO = ('<div id="who-is-coming"', "</div>")


def test_answering_with_htmx_refreshes_every_part_it_changed(app):
    ids = neighbourhood(app, capacity=2, max_guests=1)
    with app.app_context():
        slots.add_slot(db.session.get(Gathering, ids["gathering"]), "Chairs", 1)
        db.session.commit()
    chiara, bruno = signed_in(app, "Chiara"), signed_in(app, "Bruno")
    answer(chiara, ids["path"])                                     # Ada and Chiara: full
    response = answer(bruno, ids["path"], headers=HTMX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="answer"') and "<html" not in body
    # Only what an answer changes: the card, and who is coming with the waitlist (out of band).
    assert '<div id="who-is-coming" data-hx-swap-oob="true">' in body
    assert "<h1" not in body and "Lend a hand" not in body and "<dl" not in body
    assert waitlist_names(body) == ["Bruno"] and who_is_coming(body) == ["Ada", "Chiara"]
    # Focus moves to the news, and only there.
    assert re.search(r'<p class="status" role="status" tabindex="-1" autofocus><strong>\s*'
                     r"You are number 1 on the waitlist\.", body)
    assert body.count("autofocus") == 1
    # The same as the page reloaded.
    page = bruno.get(ids["path"]).get_data(as_text=True)
    for opening, closing in (ANSWER_CARD, WHO):
        assert part(body, opening, closing) == part(page, opening, closing)
    assert "autofocus" not in page  # a page load does not move focus

    # Chiara can't come: Bruno moves up, on her page as on his.
    response = answer(chiara, ids["path"], "cant", headers=HTMX)
    body = response.get_data(as_text=True)
    assert "You said you can’t come." in seen(part(body, *ANSWER_CARD))
    assert who_is_coming(body) == ["Ada", "Bruno"] and waitlist_names(body) == []
    page = chiara.get(ids["path"]).get_data(as_text=True)
    for opening, closing in (ANSWER_CARD, WHO):
        assert part(body, opening, closing) == part(page, opening, closing)
    assert state_of(app, ids["gathering"], "Bruno") == "seated"

    # No answer chosen: the message, with focus; nothing else changed, nothing else sent.
    response = post(bruno, ids["path"] + "/answer", {"guests": "0"}, headers=HTMX)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<html" not in body and "who-is-coming" not in body
    assert re.search(r'<p class="error" role="alert" tabindex="-1" autofocus>Choose an answer\.</p>', body)

    # Too many guests: the message at its field; focus on the note saying where to look.
    response = answer(bruno, ids["path"], guests=2, headers=HTMX)
    assert response.status_code == 422 and "<html" not in response.get_data(as_text=True)
    assert field_error(response, "guests") == "You can bring up to 1 guests."
    assert re.search(r'role="alert" tabindex="-1" autofocus>Please look at the marked fields below\.',
                     response.get_data(as_text=True))
    assert state_of(app, ids["gathering"], "Bruno") == "seated"

    # Without htmx: a redirect to the page.
    response = answer(bruno, ids["path"], "maybe")
    assert response.status_code == 303 and response.location == ids["path"]


def test_htmx_answer_to_a_cancelled_gathering_says_why(app):
    ids = neighbourhood(app)
    bruno = signed_in(app, "Bruno")
    bruno.get(ids["path"])  # the page open in a tab
    post(signed_in(app, "Ada"), ids["path"] + "/cancel", {"reason": "Rain."})
    response = answer(bruno, ids["path"], headers=HTMX)
    assert response.status_code == 422
    assert "This gathering is cancelled." in seen(response)


# --- accounts -------------------------------------------------------------------------------

def test_deleting_an_account_frees_the_seat_for_the_waitlist(app, mailbox):
    ids = neighbourhood(app, capacity=2)
    bruno = signed_in(app, "Bruno")
    answer(bruno, ids["path"])
    answer(signed_in(app, "Chiara"), ids["path"])
    with app.app_context():
        slot = slots.add_slot(db.session.get(Gathering, ids["gathering"]), "Chairs", 1)
        db.session.commit()
        slot_id = slot.id
    post(bruno, ids["path"] + f"/slots/{slot_id}/take")
    response = post(bruno, "/auth/account/delete", {"password": PASSWORD})
    assert response.status_code == 303
    assert count(app, Answer, Answer.user_id == ids["Bruno"]) == 0
    assert state_of(app, ids["gathering"], "Chiara") == "seated"
    assert subjects(mailbox, "Chiara") == ["Soup evening: a seat for you"]
    page = seen(signed_in(app, "Chiara").get(ids["path"]))
    assert "You are coming." in page and "a former member" not in page
    assert "Chairs · 0 of 1" in page
    assert gathering_row(app, ids["gathering"]).seats_taken == 2


def test_a_deleted_host_leaves_the_gathering_standing(app):
    ids = neighbourhood(app, host="Bruno")
    post(signed_in(app, "Bruno"), "/auth/account/delete", {"password": PASSWORD})
    page = seen(signed_in(app, "Ada").get(ids["path"]))
    assert "Soup evening" in page and "a former member" in page
    assert gathering_row(app, ids["gathering"]).seats_taken == 0
