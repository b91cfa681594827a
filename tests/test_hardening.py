"""The findings of the outside security review (made at 7f48906), each as
the person or the operator it hurt would see it: mail that a crashed sender
lost or a broken subject held back, line breaks in one-line fields,
invitation links that lifted the sign-up limit, a stranger renaming a
confirmed guest, calendar feeds broken by one gathering, a deleted host's
series, dead invitation links showing the circle, feeds that outlived
membership, sign-in limits that locked members out, secret pages kept in the
browser's cache, gunicorn trusting forwarded headers, and what ``flask
purge`` deletes.

Each test was run at 7f48906 too, and fails there for the reason the review
gave (the change-of-address pages and ``flask purge`` did not exist yet).
Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
import runpy
from pathlib import Path

import icalendar
import pytest
import time_machine
from sqlalchemy import func, select, update

from app import mail
from app.auth.models import AccountToken, LoginSession, User
from app.circles.models import Circle, Invitation
from app.extensions import db
from app.gatherings.models import Answer, Gathering, Slot
from app.mail import OutboxMail

from .circles_helpers import add_member, make_circle, make_invitation_link, two_circles
from .gatherings_helpers import (
    WHEN,
    count,
    days_ahead,
    email,
    field_error,
    gathering_row,
    make_gathering,
    neighbourhood,
    new_form,
    seen,
    share,
    signed_in,
)
from .helpers import PASSWORD, MailBox, add_user, login, make_user, post, text_of

ROOT = Path(__file__).resolve().parent.parent
CONTROLS = "Please leave out control characters such as tabs or line breaks."
GUEST = "ada.lovelace@example.net"


# --- small helpers --------------------------------------------------------------------

def later(**delta):
    """Time moves on (and keeps ticking) from now."""
    return time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(**delta))


def at(moment: dt.datetime):
    return time_machine.travel(moment)


def from_address(app, address: str):
    """A browser at another address (its own cookies)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def assert_slowed_down(response) -> None:
    assert response.status_code == 429, (response.status_code, text_of(response)[:300])
    assert "Let's slow down a little" in text_of(response)


def register(client, address: str, name: str = "Someone", next_path: str | None = None):
    url = "/auth/register" + (f"?next={next_path}" if next_path else "")
    return post(client, url, {"email": address, "display_name": name, "password": PASSWORD,
                              "time_zone": "UTC"})


def queue(app, to: str, subject: str = "Password reset requested"):
    """A mail queued as a request queues it (queue_mail, committed), not yet sent."""
    with app.test_request_context():
        mail.queue_mail(to, subject, "auth/mail/reset_unknown.txt", register_url="http://localhost/auth/register")
        db.session.commit()


def deliver(app, limit: int = 100) -> int:
    """One run of the sender (``flask mail send``, or the one after a request)."""
    with app.app_context():
        return mail.deliver_pending(limit=limit)


def arrived(mailbox, address: str) -> list:
    return mailbox.to(address)


def edit_form(app, gathering_id: int, **changes) -> dict:
    """The edit form as the page fills it in (no co-hosts), with some fields changed."""
    g = gathering_row(app, gathering_id)
    data = {"title": g.title, "description": g.description_source,
            "starts_local": g.starts_local.strftime(WHEN), "ends_local": g.ends_local.strftime(WHEN),
            "time_zone": g.time_zone, "place": g.place, "online_url": g.online_url,
            "capacity": "" if g.capacity is None else str(g.capacity), "max_guests": str(g.max_guests),
            "status": g.status}
    return data | changes


def settings_form(**changes) -> dict:
    data = {"name": "Elm Street", "description": "The neighbours of Elm Street.", "area": "",
            "time_zone": "Europe/Berlin", "language": "en", "join_mode": "open", "join_question": ""}
    return data | changes


def feed_path(client, slug: str, which: str) -> str:
    """Make a calendar address through the page (which: "mine" or "ours"); returns its path."""
    assert post(client, f"/c/{slug}/calendar", {"which": which}).status_code == 303
    page = client.get(f"/c/{slug}/calendar").get_data(as_text=True)
    match = re.search(rf'id="feed-{which}" type="text" readonly value="https?://[^/"]+(/feeds/[^"]+)"', page)
    assert match, f"no {which} feed address on the page"
    return match.group(1)


def content_lines(body: bytes) -> list[str]:
    """The unfolded lines of an iCalendar file; each must be one line."""
    text = body.decode()
    assert text.endswith("\r\n")
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def assert_calendar(body: bytes) -> icalendar.Calendar:
    """An iCalendar file a calendar app reads: every content line whole, parseable."""
    for line in content_lines(body):
        assert "\r" not in line and "\n" not in line, line
        assert re.match(r"^[A-Z][A-Z0-9-]*[;:]", line), line
    return icalendar.Calendar.from_ical(body)


class RefusingMailBox(MailBox):
    """A real SMTP server that refuses every address at refused.example (550,
    as for a mailbox that does not exist) and counts each refused try."""

    def __init__(self):
        super().__init__()
        self.refused: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            with self._lock:
                self.refused.append(address)
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def tries(self, address: str) -> int:
        with self._lock:
            return self.refused.count(address)


@pytest.fixture
def refusing():
    box = RefusingMailBox()
    box.start()
    yield box
    box.stop()


# --- 2. the outbox: a crashed sender loses nothing; failures back off -----------------

def test_a_sender_killed_after_claiming_leaves_the_mail_to_go_after_its_lease(app, mailbox, monkeypatch):
    for name in ("one", "two", "three"):
        queue(app, f"{name}@example.org")
    real_send, tries = mail._send_smtp, []

    def killed_on_the_second(message):
        tries.append(message["To"])
        if len(tries) == 2:
            raise KeyboardInterrupt  # the process is killed mid-batch, before this mail leaves
        real_send(message)

    monkeypatch.setattr(mail, "_send_smtp", killed_on_the_second)
    with app.app_context():
        with pytest.raises(KeyboardInterrupt):
            mail.deliver_pending()
        db.session.rollback()
    monkeypatch.setattr(mail, "_send_smtp", real_send)
    assert [m["To"] for m in mailbox.messages] == ["one@example.org"]

    # Another sender at once sends the third, not the second: a live lease might still be sending it.
    assert deliver(app) == 1
    assert [m["To"] for m in mailbox.messages] == ["one@example.org", "three@example.org"]
    with later(minutes=2):
        assert deliver(app) == 0
    # Once the lease (5 minutes) has run out, the mail goes, once.
    with later(minutes=6):
        assert deliver(app) == 1
    with later(minutes=20):
        assert deliver(app) == 0
    assert len(arrived(mailbox, "two@example.org")) == 1
    with app.app_context():
        stored = db.session.scalar(select(OutboxMail).where(OutboxMail.to_address == "two@example.org"))
        assert stored.sent_at is not None
        assert arrived(mailbox, "two@example.org")[0]["Message-ID"] == stored.message_id


def test_a_mail_sent_by_a_sender_killed_before_marking_it_goes_again_with_the_same_message_id(
        app, mailbox, monkeypatch):
    queue(app, "bruno@example.org")
    real_send = mail._send_smtp

    def killed_after_sending(message):
        real_send(message)
        raise KeyboardInterrupt  # killed after the server took it, before the row says so

    monkeypatch.setattr(mail, "_send_smtp", killed_after_sending)
    with app.app_context():
        with pytest.raises(KeyboardInterrupt):
            mail.deliver_pending()
        db.session.rollback()
    monkeypatch.setattr(mail, "_send_smtp", real_send)
    first = arrived(mailbox, "bruno@example.org")
    assert len(first) == 1
    assert deliver(app) == 0  # leased: nobody sends it again at once

    with later(minutes=6):
        assert deliver(app) == 1
    copies = arrived(mailbox, "bruno@example.org")
    # At least once: a second copy, recognisable as the same mail by its Message-ID.
    assert len(copies) == 2
    assert copies[0]["Message-ID"] and copies[1]["Message-ID"] == copies[0]["Message-ID"]
    assert copies[1]["Subject"] == copies[0]["Subject"] == "Password reset requested"
    with later(minutes=30):
        assert deliver(app) == 0
    assert len(arrived(mailbox, "bruno@example.org")) == 2


def test_a_refused_mail_is_tried_again_later_each_time_later_then_given_up(make_app, refusing):
    app = make_app(SMTP_PORT=refusing.port)
    start = dt.datetime.now(dt.UTC)
    with at(start):
        queue(app, "lost@refused.example")
        deliver(app)
    assert refusing.tries("lost@refused.example") == 1
    with at(start + dt.timedelta(seconds=30)):
        deliver(app)
    assert refusing.tries("lost@refused.example") == 1  # not hammered at once

    # Then 1, 2, 4 ... 64 minutes apart: eight tries in all (mail.MAX_ATTEMPTS).
    when = start
    for n in range(1, 8):
        wait = dt.timedelta(minutes=2 ** (n - 1))
        with at(when + wait - dt.timedelta(seconds=20)):
            deliver(app)
        assert refusing.tries("lost@refused.example") == n, f"tried before its wait of {wait} was over"
        when += wait + dt.timedelta(seconds=20)
        with at(when):
            deliver(app)
        assert refusing.tries("lost@refused.example") == n + 1, f"not tried again after {wait}"
    for days in (1, 7, 30):
        with at(when + dt.timedelta(days=days)):
            deliver(app)
    assert refusing.tries("lost@refused.example") == 8  # given up
    with app.app_context():
        row = db.session.scalar(select(OutboxMail))
        assert row.sent_at is None and row.attempts == 8 and "No such mailbox" in row.last_error
        assert row.given_up_at is not None


def test_failing_mail_never_holds_back_the_rest(make_app, refusing):
    app = make_app(SMTP_PORT=refusing.port)
    for n in range(150):
        queue(app, f"gone{n}@refused.example")
    queue(app, "ada@example.org", "Confirm your email address")
    # The 150 older ones fill the first batch; the good one goes in the next.
    deliver(app, limit=100)
    deliver(app, limit=100)
    assert [m["Subject"] for m in refusing.to("ada@example.org")] == ["Confirm your email address"]
    # While the failed ones wait for their next try, a new mail goes at the first run.
    queue(app, "bruno@example.org", "Reset your password")
    deliver(app, limit=100)
    assert [m["Subject"] for m in refusing.to("bruno@example.org")] == ["Reset your password"]
    assert len(refusing.refused) == 150  # each failed one was tried once, no more yet


# --- 3. a line break in a one-line field --------------------------------------------

@pytest.mark.parametrize("field, value", [
    ("title", "Soup\nBcc: eve@example.org"),
    ("title", "Soup\r\nBcc: eve@example.org"),
    ("title", "Soup\rBcc: eve@example.org"),
    ("place", "Elm Street 3\r\nBcc: eve@example.org"),
])
def test_posting_a_gathering_with_a_line_break_is_refused_at_its_field(app, mailbox, field, value):
    neighbourhood(app, people=("Ada", "Bruno"))
    response = post(signed_in(app, "Ada"), "/c/elm-street/gatherings/new", new_form(**{field: value}))
    assert response.status_code == 422
    assert field_error(response, field) == CONTROLS
    assert count(app, Gathering) == 1  # only the one neighbourhood() made


@pytest.mark.parametrize("field, value", [("title", "Soup\nBcc: eve@example.org"),
                                          ("place", "Elm Street 3\r\nBcc: eve@example.org")])
def test_editing_a_gathering_with_a_line_break_is_refused_at_its_field(app, field, value):
    ids = neighbourhood(app, people=("Ada", "Bruno"))
    response = post(signed_in(app, "Ada"), ids["path"] + "/edit", edit_form(app, ids["gathering"], **{field: value}))
    assert response.status_code == 422
    assert field_error(response, field) == CONTROLS
    row = gathering_row(app, ids["gathering"])
    assert (row.title, row.place) == ("Soup evening", "")


def test_a_circle_name_with_a_line_break_is_refused(app):
    neighbourhood(app, people=("Ada", "Bruno"))
    ada = signed_in(app, "Ada")
    response = post(ada, "/circles/new", settings_form(name="Harbour\nBcc: eve@example.org", slug="harbour"))
    assert response.status_code == 422 and field_error(response, "name") == CONTROLS
    response = post(ada, "/c/elm-street/settings", settings_form(name="Elm\r\nStreet"))
    assert response.status_code == 422 and field_error(response, "name") == CONTROLS
    with app.app_context():
        assert db.session.scalars(select(Circle.name)).all() == ["Elm Street"]


def test_a_slot_title_with_a_line_break_is_refused_with_its_message(app):
    # The slot form lives on the gathering's page: its messages come back there (303, then the page).
    ids = neighbourhood(app, people=("Ada", "Bruno"))
    response = post(signed_in(app, "Ada"), ids["path"] + "/slots", {"title": "Chairs\nBcc: x", "needed": "1"},
                    follow_redirects=True)
    assert response.status_code in (200, 422)
    assert CONTROLS in seen(response)
    assert count(app, Slot) == 0


def test_a_guest_name_with_a_line_break_is_refused_and_mails_nobody(app, mailbox):
    ids = neighbourhood(app, people=("Ada", "Bruno"))
    link = share(app, ids)
    response = post(app.test_client(), link, {"name": "Ada\nBcc: eve@example.org", "email": GUEST})
    assert response.status_code == 422 and field_error(response, "name") == CONTROLS
    assert count(app, Answer, Answer.user_id.is_(None)) == 0
    assert mailbox.to(GUEST) == []


def test_a_display_name_with_a_line_break_is_refused(app, mailbox):
    response = register(app.test_client(), "new@example.org", name="New\r\nBcc: eve@example.org")
    assert response.status_code == 422 and field_error(response, "display_name") == CONTROLS
    assert count(app, User) == 0 and mailbox.messages == []

    add_user(app, email="bruno@example.org", name="Bruno")
    client = app.test_client()
    login(client, email="bruno@example.org")
    response = post(client, "/auth/account/name", {"display_name": "Bruno\nBcc: eve@example.org"})
    assert response.status_code == 422 and field_error(response, "display_name") == CONTROLS
    with app.app_context():
        assert db.session.scalar(select(User.display_name)) == "Bruno"


def test_a_broken_subject_already_in_the_outbox_is_sent_on_one_line_and_holds_back_nothing(app, mailbox):
    # As a row written before the forms refused line breaks.
    with app.app_context():
        db.session.add(OutboxMail(to_address="bruno@example.org", subject="Soup\nBcc: eve@example.org",
                                  body="Soup is cancelled.", attempts=0))
        db.session.commit()
    queue(app, "chiara@example.org")
    assert deliver(app) == 2
    [broken] = arrived(mailbox, "bruno@example.org")
    assert broken["Subject"] == "Soup Bcc: eve@example.org"
    assert broken["Bcc"] is None and arrived(mailbox, "eve@example.org") == []
    assert len(arrived(mailbox, "chiara@example.org")) == 1


def test_a_title_with_a_line_break_from_before_still_lets_its_change_mail_go(app, mailbox):
    ids = neighbourhood(app, people=("Ada", "Bruno"))
    with app.app_context():
        db.session.execute(update(Gathering).values(title="Soup\nBcc: eve@example.org"))
        db.session.commit()
    assert post(signed_in(app, "Bruno"), ids["path"] + "/answer", {"response": "going", "guests": 0}).status_code == 303
    assert post(signed_in(app, "Ada"), ids["path"] + "/cancel", {"reason": "Rain."}).status_code == 303
    cancelled = mailbox.last(email("Bruno"))
    assert cancelled["Subject"].startswith("Soup Bcc: eve@example.org: ")
    assert cancelled["Bcc"] is None and arrived(mailbox, "eve@example.org") == []


# --- 5. sign-ups through an invitation link, and per email ----------------------------

def invitation(app, max_uses: int) -> str:
    """Elm Street with Ada as its steward; an invitation link she makes on the page."""
    with app.app_context():
        make_circle(make_user("ada@example.org", "Ada"))
    client = app.test_client()
    assert login(client).status_code == 303
    return make_invitation_link(client, "elm-street", max_uses=max_uses)


def test_an_invitation_lifts_the_address_limit_for_twice_its_uses_only(make_app):
    app = make_app(LIMIT_REGISTER_PER_IP="2 per hour")
    link = invitation(app, max_uses=2)
    hall = from_address(app, "203.0.113.5")
    assert register(hall, "one@example.org").status_code == 303
    assert register(hall, "two@example.org").status_code == 303
    assert_slowed_down(register(hall, "three@example.org"))
    # Neighbours on the hall's Wi-Fi sign up through the link: four (twice its two uses) may.
    for n in range(4):
        assert register(hall, f"neighbour{n}@example.org", next_path=link).status_code == 303, n
    assert_slowed_down(register(hall, "neighbour4@example.org", next_path=link))
    assert_slowed_down(register(hall, "neighbour5@example.org", next_path=link))
    assert count(app, User) == 1 + 2 + 4
    with app.app_context():
        assert db.session.scalar(select(Invitation.uses)) == 0  # nobody has joined: its uses are all left


def test_one_address_is_registered_at_most_three_times_an_hour_even_through_an_invitation(make_app, mailbox):
    app = make_app(defaults=True)
    link = invitation(app, max_uses=20)
    add_user(app, email="bruno@example.org", name="Bruno")
    for n in range(3):
        response = register(from_address(app, f"198.51.100.{n + 1}"), "bruno@example.org", next_path=link)
        assert response.status_code == 303, n
    assert_slowed_down(register(from_address(app, "198.51.100.9"), " Bruno@Example.org ", next_path=link))
    assert [m["Subject"] for m in mailbox.to("bruno@example.org")] == ["You already have an account"] * 3
    with later(hours=1, seconds=5):
        assert register(app.test_client(), "bruno@example.org", next_path=link).status_code == 303
    assert len(mailbox.to("bruno@example.org")) == 4


# --- 6. a confirmed guest keeps their name and links -----------------------------------

def test_answering_again_with_a_confirmed_guests_email_changes_nothing_of_theirs(app, mailbox):
    ids = neighbourhood(app, people=("Ada", "Bruno"), capacity=5)
    link = share(app, ids)
    assert post(app.test_client(), link, {"name": "Ada Lovelace", "email": GUEST}).status_code == 200
    confirm_path = mailbox.last_link(GUEST, "/confirm/")
    cancel_path = mailbox.last_link(GUEST, "/cancel/")
    assert "You are coming." in seen(post(app.test_client(), confirm_path))
    assert gathering_row(app, ids["gathering"]).seats_taken == 2

    # Someone else types her address with another name.
    response = post(app.test_client(), link, {"name": "Mallory", "email": GUEST.upper()})
    assert response.status_code == 200
    assert f"We sent a link to {GUEST.upper()}" in seen(response)  # the same answer as to anyone

    page = seen(signed_in(app, "Bruno").get(ids["path"]))
    assert "Ada Lovelace guest" in page and "Mallory" not in page
    # Her own links still work: the confirm link says she is coming, the cancel link frees her seat.
    assert "You are coming." in seen(post(app.test_client(), confirm_path))
    assert [m["Subject"] for m in mailbox.to(GUEST)] == ["Confirm your place: Soup evening",
                                                        "You already have your answer: Soup evening"]
    assert "/cancel/" not in mailbox.last(GUEST).get_content()
    response = post(app.test_client(), cancel_path)
    assert "Your place is cancelled." in seen(response)
    assert gathering_row(app, ids["gathering"]).seats_taken == 1
    assert count(app, Answer, Answer.user_id.is_(None)) == 0


# --- 7. dates are bounded; calendar text stays on one line ----------------------------

def test_posting_or_editing_a_gathering_for_year_9998_is_refused(app):
    ids = neighbourhood(app, people=("Ada", "Bruno"))
    ada = signed_in(app, "Ada")
    far = {"starts_local": "9998-01-15T18:30", "ends_local": "9998-01-15T21:00"}
    response = post(ada, "/c/elm-street/gatherings/new", new_form(**far))
    assert response.status_code == 422
    assert field_error(response, "starts_local") == "That date is too far ahead: plan at most 10 years ahead."
    assert count(app, Gathering) == 1
    response = post(ada, ids["path"] + "/edit", edit_form(app, ids["gathering"], **far))
    assert response.status_code == 422
    assert field_error(response, "starts_local") == "That date is too far ahead: plan at most 10 years ahead."
    assert gathering_row(app, ids["gathering"]).starts_local.year < 9998
    # An end far ahead is refused at the end.
    response = post(ada, "/c/elm-street/gatherings/new", new_form(ends_local="9998-01-15T21:00"))
    assert response.status_code == 422 and "too far ahead" in field_error(response, "ends_local")


@pytest.mark.parametrize("year", [9998, 9999])
def test_a_gathering_far_ahead_already_in_the_database_does_not_break_the_calendars(app, year):
    ids = neighbourhood(app, people=("Ada", "Bruno"))
    with app.app_context():
        far = make_gathering(db.session.get(Circle, ids["circle"]), db.session.get(User, ids["Bruno"]),
                             title="Far away", starts=days_ahead(20))
        starts = dt.datetime(year, 6, 1, 18, 0)
        db.session.execute(update(Gathering).where(Gathering.id == far.id).values(
            starts_local=starts, ends_local=starts + dt.timedelta(hours=2),
            starts_at=starts.replace(tzinfo=dt.UTC) - dt.timedelta(hours=2),
            ends_at=starts.replace(tzinfo=dt.UTC)))
        db.session.commit()
        far_id = far.id
    bruno = signed_in(app, "Bruno")
    ours = feed_path(bruno, "elm-street", "ours")
    response = app.test_client().get(ours)
    assert response.status_code == 200, text_of(response)[:300]
    events = assert_calendar(response.get_data()).walk("VEVENT")
    assert sorted(str(e["SUMMARY"]) for e in events) == ["Far away", "Soup evening"]
    assert {e.decoded("DTSTART").year for e in events} == {year, days_ahead().year}
    response = bruno.get(f"/c/elm-street/gatherings/{far_id}/calendar.ics")
    assert response.status_code == 200
    assert assert_calendar(response.get_data()).walk("VEVENT")[0].decoded("DTSTART").year == year


@pytest.mark.parametrize("broken", ["Elm\nStreet", "Elm\r\nStreet", "Elm\rStreet"])
def test_a_line_break_in_a_circle_name_or_title_does_not_break_the_calendars(app, broken):
    ids = neighbourhood(app, people=("Ada", "Bruno"))
    with app.app_context():
        db.session.execute(update(Circle).values(name=broken))
        db.session.execute(update(Gathering).values(title=broken.replace("Elm", "Soup"),
                                                    place=broken.replace("Elm", "Kastanienallee")))
        db.session.commit()
    bruno = signed_in(app, "Bruno")
    ours = feed_path(bruno, "elm-street", "ours")
    response = app.test_client().get(ours)
    assert response.status_code == 200, text_of(response)[:300]
    calendar = assert_calendar(response.get_data())
    assert str(calendar["X-WR-CALNAME"]) == "Elm Street"
    [event] = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Soup Street" and str(event["LOCATION"]) == "Kastanienallee Street"

    response = bruno.get(ids["path"] + "/calendar.ics")
    assert response.status_code == 200, text_of(response)[:300]
    calendar = assert_calendar(response.get_data())
    assert str(calendar["X-WR-CALNAME"]) == "Soup Street"


# --- 9. a deleted host's series stops ------------------------------------------------

def test_a_deleted_hosts_series_makes_no_more_dates(app):
    neighbourhood(app, people=("Ada", "Bruno", "Chiara"))
    bruno = signed_in(app, "Bruno")
    starts = days_ahead(3, hour=17, minute=0)
    response = post(bruno, "/c/elm-street/gatherings/new", new_form(
        title="Repair café", starts_local=starts.strftime(WHEN),
        ends_local=starts.replace(hour=19).strftime(WHEN), repeat="weekly"))
    assert response.status_code == 303
    with app.app_context():
        series_id = db.session.scalar(select(Gathering.series_id).where(Gathering.title == "Repair café"))
        bruno_id = db.session.scalar(select(User.id).where(User.email == email("Bruno")))
    made = count(app, Gathering, Gathering.series_id == series_id)
    assert made >= 8

    assert post(bruno, "/auth/account/delete", {"password": PASSWORD}).status_code == 303
    with later(weeks=5):
        result = app.test_cli_runner().invoke(args=["gatherings", "extend"])
        assert result.exit_code == 0, result.output
        assert "made 0 occurrence(s)" in result.output
    assert count(app, Gathering, Gathering.series_id == series_id) == made
    assert count(app, Answer, Answer.user_id == bruno_id) == 0
    assert count(app, Gathering, Gathering.host_id == bruno_id) == 0
    # The dates already made stay, hosted by a former member.
    page = seen(signed_in(app, "Chiara").get("/c/elm-street/gatherings"))
    assert "Repair café" in page


# --- 11. a dead invitation link shows nothing of the circle --------------------------

@pytest.mark.parametrize("how", ["revoked", "expired", "used up"])
def test_a_dead_invitation_link_shows_only_that_it_does_not_work(app, how):
    two_circles(app)
    with app.app_context():
        make_user("femi@example.org", "Femi")
    ada = app.test_client()
    login(ada)
    link = make_invitation_link(ada, "elm-street", max_uses=1, days=1)
    with app.app_context():
        invitation_id = db.session.scalar(select(Invitation.id))
    if how == "revoked":
        assert post(ada, f"/c/elm-street/invitations/{invitation_id}/revoke").status_code == 303
    elif how == "used up":
        femi = app.test_client()
        login(femi, email="femi@example.org")
        assert post(femi, link).status_code == 303
    new_words = "Our new door code is 4711"
    assert post(ada, "/c/elm-street/settings", settings_form(description=new_words)).status_code == 303

    with later(days=2 if how == "expired" else 0):
        chiara = app.test_client()
        login(chiara, email="chiara@example.org")  # a steward elsewhere, not a member here
        for visitor in (app.test_client(), chiara):
            page = visitor.get(link)
            assert page.status_code < 500
            words = seen(page)
            assert "This link does not work" in words
            assert new_words not in words and "door code" not in words
            assert "Elm Street" not in words and "neighbours of Elm" not in words


# --- 12. calendar feeds end with membership -----------------------------------------

def test_leaving_a_circle_ends_its_feed(app):
    neighbourhood(app, people=("Ada", "Bruno"))
    bruno = signed_in(app, "Bruno")
    ours, mine = feed_path(bruno, "elm-street", "ours"), feed_path(bruno, "elm-street", "mine")
    assert app.test_client().get(ours).status_code == 200
    assert post(bruno, "/c/elm-street/leave").status_code == 303
    response = app.test_client().get(ours)
    assert response.status_code == 404
    assert "Elm Street" not in text_of(response)
    # Her own feed (what she goes to, in every circle) stays hers.
    assert app.test_client().get(mine).status_code == 200


def test_deleting_the_account_ends_every_feed(app):
    ids = two_circles(app)
    with app.app_context():
        harbour = db.session.get(Circle, ids["harbour_id"])
        add_member(harbour, db.session.scalar(select(User).where(User.email == "bruno@example.org")))
    bruno = app.test_client()
    login(bruno, email="bruno@example.org")
    paths = [feed_path(bruno, "elm-street", "ours"), feed_path(bruno, "harbour", "ours"),
             feed_path(bruno, "elm-street", "mine")]
    assert [app.test_client().get(p).status_code for p in paths] == [200, 200, 200]
    assert post(bruno, "/auth/account/delete", {"password": PASSWORD}).status_code == 303
    for path in paths:
        response = app.test_client().get(path)
        assert response.status_code == 404, path
        assert "Elm Street" not in text_of(response) and "Harbour" not in text_of(response)


# --- account deletion deletes the person's queued mail --------------------------------

def test_deleting_the_account_deletes_mail_still_queued_for_it(app, mailbox):
    add_user(app, email="bruno@example.org", name="Bruno")
    # A mail for Bruno still in the outbox (the sender was down), and one for someone else.
    queue(app, "bruno@example.org", "Reset your password")
    queue(app, "chiara@example.org", "Reset your password")
    client = app.test_client()
    login(client, email="bruno@example.org")
    mailbox.clear()
    assert post(client, "/auth/account/delete", {"password": PASSWORD}).status_code == 303
    with later(minutes=10):
        deliver(app)
    assert arrived(mailbox, "bruno@example.org") == []
    assert len(arrived(mailbox, "chiara@example.org")) == 1
    assert count(app, OutboxMail, OutboxMail.to_address == "bruno@example.org") == 0


# --- 13. sign-in limits, secret pages, forwarded headers ------------------------------

def test_successful_sign_ins_never_lock_a_member_out(make_app):
    app = make_app(LIMIT_LOGIN_PER_EMAIL="3 per hour")
    add_user(app)
    for n in range(5):
        assert login(app.test_client()).status_code == 303, n  # five browsers, one after another
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 5
    client = app.test_client()
    for _ in range(3):
        assert login(client, password="a wrong guess").status_code == 422
    assert_slowed_down(login(client))


def secret_links(app, mailbox) -> dict[str, str]:
    """A real link of every kind whose address holds a secret."""
    ids = neighbourhood(app, people=("Ada", "Bruno"))
    links = {"shared gathering": share(app, ids)}
    post(app.test_client(), links["shared gathering"], {"name": "Ada Lovelace", "email": GUEST})
    links["guest's confirm link"] = mailbox.last_link(GUEST, "/confirm/")
    ada = signed_in(app, "Ada")
    links["invitation"] = make_invitation_link(ada, "elm-street")
    post(app.test_client(), "/auth/reset", {"email": email("Bruno")})
    links["password reset"] = mailbox.last_link(email("Bruno"), "/auth/reset/")
    register(app.test_client(), "new@example.org")
    links["address confirmation"] = mailbox.last_link("new@example.org", "/auth/verify/")
    links["calendar feed"] = feed_path(ada, "elm-street", "ours")
    return links


def test_pages_with_a_secret_in_their_address_are_not_stored_by_the_browser(app, mailbox):
    links = secret_links(app, mailbox)
    answers = {}
    for what, path in links.items():
        response = app.test_client().get(path)  # an anonymous visitor
        answers[what] = (response.status_code, response.headers.get("Cache-Control"))
    assert answers == {what: (200, "no-store") for what in links}
    # A wrong or spent secret too: the address itself is what must not be kept.
    for path in ("/g/not-a-token", "/join/" + "x" * 30, "/auth/reset/spent", "/feeds/nothing.ics"):
        assert app.test_client().get(path).headers.get("Cache-Control") == "no-store", path
    # An ordinary page for anonymous visitors may be kept and checked again.
    assert app.test_client().get("/auth/login").headers.get("Cache-Control") == "no-cache"


def test_the_pages_of_a_change_of_address_are_not_stored_by_the_browser(app, mailbox):
    add_user(app, email="bruno@example.org", name="Bruno")
    bruno = app.test_client()
    login(bruno, email="bruno@example.org")
    response = post(bruno, "/auth/account/email", {"email": "bruno@example.net", "current_password": PASSWORD})
    assert response.status_code == 303
    links = {"confirm": mailbox.last_link("bruno@example.net", "/auth/email/"),
             "undo": mailbox.last_link("bruno@example.org", "/auth/email/")}
    for what, path in links.items():
        response = app.test_client().get(path)
        assert (response.status_code, response.headers.get("Cache-Control")) == (200, "no-store"), what


def forwarded_allow_ips(monkeypatch, proxy_count: str) -> list[str]:
    """What gunicorn.conf.py (read by gunicorn from the directory it starts in) trusts."""
    path = ROOT / "gunicorn.conf.py"
    assert path.exists(), ("no gunicorn.conf.py: gunicorn's default forwarded_allow_ips (127.0.0.1) "
                           "trusts X-Forwarded-Proto from any local client, proxy or not")
    monkeypatch.setenv("PROXY_COUNT", proxy_count)
    value = runpy.run_path(str(path))["forwarded_allow_ips"]
    if isinstance(value, str):
        value = value.split(",")
    return [ip.strip() for ip in value if ip.strip()]


def test_gunicorn_trusts_forwarded_headers_only_behind_a_proxy(monkeypatch):
    assert forwarded_allow_ips(monkeypatch, "0") == []
    behind = forwarded_allow_ips(monkeypatch, "1")
    assert "127.0.0.1" in behind or "*" in behind


# --- retention: flask purge -----------------------------------------------------------

def test_purge_deletes_old_mail_expired_sessions_and_links_and_old_guest_emails(app, mailbox):
    start = dt.datetime.now(dt.UTC)
    ids = neighbourhood(app, people=("Ada", "Bruno", "Chiara"), capacity=10)   # ends in 10 days
    with app.app_context():
        summer = make_gathering(db.session.get(Circle, ids["circle"]), db.session.get(User, ids["Ada"]),
                                title="Summer party", starts=days_ahead(40))
        summer_path = f"/c/elm-street/gatherings/{summer.id}"
        summer_id = summer.id
    for name, address, path in (("Ada Lovelace", GUEST, ids["path"]), ("Grace", "grace@example.net", summer_path)):
        post(app.test_client(), share(app, {"path": path}), {"name": name, "email": address})
        assert "You are coming." in seen(post(app.test_client(), mailbox.last_link(address, "/confirm/")))
    remembered = app.test_client()
    assert login(remembered, email=email("Chiara"), remember=True).status_code == 303
    post(app.test_client(), "/auth/reset", {"email": email("Bruno")})         # a link for 30 minutes
    sent_early = count(app, OutboxMail, OutboxMail.sent_at.is_not(None))
    assert sent_early >= 3

    with at(start + dt.timedelta(days=40)):
        post(app.test_client(), "/auth/reset", {"email": email("Chiara")})    # sent 5 days before the purge

    with at(start + dt.timedelta(days=45)):
        queue(app, "waiting@example.org")                                       # not sent yet: kept
        # Nothing goes by itself: until the purge runs, everything is still there.
        assert count(app, Answer, Answer.guest_email == GUEST) == 1
        assert count(app, OutboxMail, OutboxMail.sent_at.is_not(None)) == sent_early + 1
        assert count(app, LoginSession) >= 2 and count(app, AccountToken) == 2
        result = app.test_cli_runner().invoke(args=["purge"])
        assert result.exit_code == 0, result.output
        assert "guest emails: 1 deleted" in result.output
        assert f"sent mail: {sent_early} deleted" in result.output

        with app.app_context():
            # The guest of the gathering that ended 35 days ago keeps her name, not her address or link.
            old_guest = db.session.execute(select(Answer.guest_name, Answer.guest_email, Answer.guest_token_hash)
                                           .where(Answer.gathering_id == ids["gathering"],
                                                  Answer.user_id.is_(None))).one()
            assert tuple(old_guest) == ("Ada Lovelace", None, None)
            recent = db.session.execute(select(Answer.guest_email).where(Answer.gathering_id == summer_id,
                                                                        Answer.user_id.is_(None))).scalar_one()
            assert recent == "grace@example.net"
            mails = sorted((to, sent is None) for to, sent in db.session.execute(
                select(OutboxMail.to_address, OutboxMail.sent_at)))
            assert mails == [(email("Chiara"), False), ("waiting@example.org", True)]
            assert db.session.scalars(select(LoginSession.remember)).all() == [True]  # "keep me signed in"
            assert db.session.scalars(select(AccountToken.purpose)).all() == []
        assert remembered.get("/auth/account").status_code == 200  # still signed in
        ada = app.test_client()
        login(ada)
        assert "Ada Lovelace" in seen(ada.get(ids["path"]))
