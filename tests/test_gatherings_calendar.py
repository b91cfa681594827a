"""Calendar files: one gathering's .ics, a person's own feed and a circle's
feed. Every file is parsed back with icalendar. Time is frozen with
time-machine. Both databases."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import icalendar
import time_machine
from sqlalchemy import select

from app.auth.models import User
from app.circles.models import Circle
from app.extensions import db
from app.database import write_unit
from app.gatherings import domain, seats, series, slots
from app.gatherings.models import Gathering

from .circles_helpers import add_member, make_circle
from .helpers import login, make_user, post, text_of

UTC = dt.UTC
NOW = dt.datetime(2027, 3, 1, 9, tzinfo=UTC)


# --- helpers ------------------------------------------------------------------------------

def frozen(moment: dt.datetime = NOW):
    return time_machine.travel(moment, tick=False)


def two_circles(app) -> None:
    """Elm Street (Europe/Berlin): Ada steward, Bruno member. Harbour
    (America/New_York): Chiara steward, Ada member."""
    with app.app_context():
        ada, bruno, chiara = (make_user(f"{n.lower()}@example.org", n) for n in ("Ada", "Bruno", "Chiara"))
        elm = make_circle(ada)
        add_member(elm, bruno)
        harbour = make_circle(chiara, "harbour", "Harbour", time_zone="America/New_York")
        add_member(harbour, ada)


def plan(app, title: str, starts: dt.datetime, *, slug: str = "elm-street", host: str = "ada@example.org",
         hours: int = 2, **fields) -> int:
    """A gathering straight through the domain, in the circle's zone unless told; returns its id."""
    with app.test_request_context():
        circle = db.session.scalar(select(Circle).where(Circle.slug == slug))
        person = db.session.scalar(select(User).where(User.email == host))
        made = domain.create_gathering(circle, person, title=title, starts_local=starts,
                                       ends_local=starts + dt.timedelta(hours=hours), **fields)
        db.session.commit()
        return made.id


def answer(app, gathering_id: int, email: str, response: str = "going") -> str:
    with app.test_request_context():
        person = db.session.scalar(select(User).where(User.email == email))
        with write_unit():
            state = seats.answer(gathering_id, person, response).state
        return state


def current(app, gathering_id: int) -> Gathering:
    with app.app_context():
        found = db.session.get(Gathering, gathering_id)
        db.session.expunge_all()
        return found


def parse(response) -> icalendar.Calendar:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/calendar"
    return icalendar.Calendar.from_ical(response.data)


def events(cal: icalendar.Calendar) -> list:
    return cal.walk("VEVENT")


def only_event(cal: icalendar.Calendar):
    found = events(cal)
    assert len(found) == 1, [str(e.get("summary")) for e in found]
    return found[0]


def summaries(cal: icalendar.Calendar) -> list[str]:
    return [str(e["SUMMARY"]) for e in events(cal)]


def vtimezone(cal: icalendar.Calendar, tzid: str):
    zones = [z for z in cal.walk("VTIMEZONE") if str(z["TZID"]) == tzid]
    assert len(zones) == 1, [str(z["TZID"]) for z in cal.walk("VTIMEZONE")]
    return zones[0]


def start_of(event) -> dt.datetime:
    return event.decoded("DTSTART")


def form_time(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


def edit(client, app, gathering_id: int, **changes):
    """Post the edit form as the page fills it in, with some fields changed."""
    g = current(app, gathering_id)
    data = {"title": g.title, "description": g.description_source, "starts_local": form_time(g.starts_local),
            "ends_local": form_time(g.ends_local), "time_zone": g.time_zone, "place": g.place,
            "online_url": g.online_url, "capacity": "" if g.capacity is None else g.capacity,
            "max_guests": g.max_guests,
            # A cancelled gathering is not among the choices: the browser sends the first one.
            "status": "confirmed" if g.is_cancelled else g.status} | changes
    response = post(client, f"/c/elm-street/gatherings/{gathering_id}/edit", data)
    assert response.status_code == 303, text_of(response)
    return response


def feed_paths(client, slug: str = "elm-street") -> tuple[str, str]:
    """The two secret feed addresses on the circle's calendar page: (mine, the
    circle's), each made with the page's button first if it was not made yet."""
    found = []
    for which in ("mine", "ours"):
        page = client.get(f"/c/{slug}/calendar").get_data(as_text=True)
        match = re.search(rf'id="feed-{which}"[^>]*value="([^"]+)"', page)
        if match is None:
            assert post(client, f"/c/{slug}/calendar", {"which": which}).status_code == 303
            page = client.get(f"/c/{slug}/calendar").get_data(as_text=True)
            match = re.search(rf'id="feed-{which}"[^>]*value="([^"]+)"', page)
        assert match, f"no {which} feed address on the page"
        found.append(urlsplit(match.group(1)).path)
    mine, ours = found
    for path in found:
        assert re.fullmatch(r"/feeds/[A-Za-z0-9_-]{20,}\.ics", path), path
    return mine, ours


# --- one gathering's file ------------------------------------------------------------------------

def test_one_gathering_as_a_calendar_file(app, client):
    two_circles(app)
    with frozen():
        gathering_id = plan(app, "Repair café", dt.datetime(2027, 4, 8, 18, 30), place="Elm Street 5, the hall",
                            description="Bring a **broken** thing.")
        login(client)
        first = client.get(f"/c/elm-street/gatherings/{gathering_id}/calendar.ics")
        second = client.get(f"/c/elm-street/gatherings/{gathering_id}/calendar.ics")
        assert first.headers["Cache-Control"] == "no-store"
        one, two = only_event(parse(first)), only_event(parse(second))

        uid = str(one["UID"])
        assert uid and str(two["UID"]) == uid
        assert str(one["SUMMARY"]) == "Repair café"
        assert str(one["LOCATION"]) == "Elm Street 5, the hall"
        assert "Bring a **broken** thing." in str(one["DESCRIPTION"])
        assert str(one["STATUS"]) == "CONFIRMED"
        assert one.decoded("SEQUENCE") == 0
        assert str(one["URL"]).endswith(f"/c/elm-street/gatherings/{gathering_id}")

        # DTSTART is a local time with its zone, not a floating or UTC time.
        assert one["DTSTART"].params["TZID"] == "Europe/Berlin"
        assert one["DTEND"].params["TZID"] == "Europe/Berlin"
        assert b"DTSTART;TZID=Europe/Berlin:20270408T183000" in first.data
        assert b"DTEND;TZID=Europe/Berlin:20270408T203000" in first.data
        start = start_of(one)
        assert start.replace(tzinfo=None) == dt.datetime(2027, 4, 8, 18, 30)
        assert start.utcoffset() == dt.timedelta(hours=2)
        assert start.astimezone(UTC) == dt.datetime(2027, 4, 8, 16, 30, tzinfo=UTC)

        # The file carries the zone's rules itself: read from the VTIMEZONE alone
        # (no lookup by name), 18:30 is +01:00 before 28 March and +02:00 after.
        rules = vtimezone(parse(first), "Europe/Berlin").to_tz(lookup_tzid=False)
        assert dt.datetime(2027, 4, 8, 18, 30, tzinfo=rules).utcoffset() == dt.timedelta(hours=2)
        assert dt.datetime(2027, 3, 21, 18, 30, tzinfo=rules).utcoffset() == dt.timedelta(hours=1)
        assert dt.datetime(2027, 11, 7, 18, 30, tzinfo=rules).utcoffset() == dt.timedelta(hours=1)

        # Only members get it.
        chiara = app.test_client()
        login(chiara, email="chiara@example.org")
        assert chiara.get(f"/c/elm-street/gatherings/{gathering_id}/calendar.ics").status_code == 404
        anonymous = app.test_client().get(f"/c/elm-street/gatherings/{gathering_id}/calendar.ics")
        assert anonymous.status_code == 303 and "/auth/login" in anonymous.location


def test_sequence_rises_by_one_for_each_change_that_matters(app, client):
    two_circles(app)
    with frozen():
        gathering_id = plan(app, "Repair café", dt.datetime(2027, 4, 8, 18, 30), place="Elm Street 5")
        login(client)
        url = f"/c/elm-street/gatherings/{gathering_id}/calendar.ics"
        uid = str(only_event(parse(client.get(url)))["UID"])

        def event():
            found = only_event(parse(client.get(url)))
            assert str(found["UID"]) == uid
            return found

        def sequence() -> int:
            return event().decoded("SEQUENCE")

        assert sequence() == 0
        # Small edits: nobody's calendar needs to change.
        edit(client, app, gathering_id, title="Repair café and soup")
        assert sequence() == 0 and str(event()["SUMMARY"]) == "Repair café and soup"
        edit(client, app, gathering_id, description="Soup from 19:00.")
        assert sequence() == 0
        edit(client, app, gathering_id, capacity=12)
        assert sequence() == 0
        edit(client, app, gathering_id)  # nothing changed
        assert sequence() == 0

        # The time: one more.
        edit(client, app, gathering_id, starts_local="2027-04-08T19:00", ends_local="2027-04-08T21:00")
        assert sequence() == 1
        assert start_of(event()).astimezone(UTC) == dt.datetime(2027, 4, 8, 17, 0, tzinfo=UTC)
        # The place: one more.
        edit(client, app, gathering_id, place="The library")
        assert sequence() == 2 and str(event()["LOCATION"]) == "The library"
        # Time and place in one edit: one change, one more.
        edit(client, app, gathering_id, starts_local="2027-04-09T19:00", ends_local="2027-04-09T21:00",
             place="Elm Street 5")
        assert sequence() == 3
        # The online link is part of where.
        edit(client, app, gathering_id, online_url="https://meet.example.org/repair")
        assert sequence() == 4
        # The status.
        edit(client, app, gathering_id, status="tentative")
        assert sequence() == 5 and str(event()["STATUS"]) == "TENTATIVE"
        edit(client, app, gathering_id, status="confirmed")
        assert sequence() == 6 and str(event()["STATUS"]) == "CONFIRMED"
        # Cancelled: one more, and marked so.
        response = post(client, f"/c/elm-street/gatherings/{gathering_id}/cancel", {"reason": "The hall is flooded."})
        assert response.status_code == 303
        cancelled = event()
        assert cancelled.decoded("SEQUENCE") == 7
        assert str(cancelled["STATUS"]) == "CANCELLED"
        assert "The hall is flooded." in str(cancelled["DESCRIPTION"])
        # A title edit after that still does not count.
        edit(client, app, gathering_id, title="Repair café (cancelled)")
        assert sequence() == 7 and str(event()["STATUS"]) == "CANCELLED"


def test_calendar_files_across_daylight_saving_changes(app, client):
    two_circles(app)
    with frozen():
        # 02:30 does not exist on 28 March in Berlin (it is 03:30 CEST); on 31 October it happens twice (the first).
        gap = plan(app, "Night walk", dt.datetime(2027, 3, 28, 2, 30))
        twice = plan(app, "Night walk", dt.datetime(2027, 10, 31, 2, 30))
        login(client)
        body = client.get(f"/c/elm-street/gatherings/{gap}/calendar.ics")
        event = only_event(parse(body))
        assert b"DTSTART;TZID=Europe/Berlin:20270328T033000" in body.data
        assert start_of(event).utcoffset() == dt.timedelta(hours=2)
        assert start_of(event).astimezone(UTC) == dt.datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
        body = client.get(f"/c/elm-street/gatherings/{twice}/calendar.ics")
        event = only_event(parse(body))
        assert b"DTSTART;TZID=Europe/Berlin:20271031T023000" in body.data
        assert start_of(event).utcoffset() == dt.timedelta(hours=2)
        assert start_of(event).astimezone(UTC) == dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
        # Read from the file's own VTIMEZONE, 02:30 that night is the first one too.
        rules = vtimezone(parse(body), "Europe/Berlin").to_tz(lookup_tzid=False)
        assert dt.datetime(2027, 10, 31, 2, 30, tzinfo=rules).utcoffset() == dt.timedelta(hours=2)


def test_feed_with_two_zones_carries_both_and_keeps_1830(app, client):
    """Weekly 18:30 series in Berlin and New York, both in Elm Street's feed: one
    VTIMEZONE each; in UTC they are 5 hours apart while only one side has changed."""
    two_circles(app)
    app.config["GATHERINGS_WEEKS_AHEAD"], before = 40, app.config.get("GATHERINGS_WEEKS_AHEAD", 8)
    try:
        with frozen():
            with app.test_request_context():
                circle, ada = db.session.scalar(select(Circle).where(Circle.slug == "elm-street")), db.session.scalar(
                    select(User).where(User.email == "ada@example.org"))
                for zone, title in (("Europe/Berlin", "Berlin choir"), ("America/New_York", "New York choir")):
                    series.create_series(circle, ada, freq="weekly", title=title, time_zone=zone,
                                         starts_local=dt.datetime(2027, 3, 7, 18, 30),
                                         ends_local=dt.datetime(2027, 3, 7, 20, 0))
                db.session.commit()
            login(client)
            _, ours = feed_paths(client)
            cal = parse(app.test_client().get(ours))
    finally:
        app.config["GATHERINGS_WEEKS_AHEAD"] = before
    vtimezone(cal, "Europe/Berlin")
    vtimezone(cal, "America/New_York")
    starts: dict[str, dict[dt.date, dt.datetime]] = {"Berlin choir": {}, "New York choir": {}}
    for event in events(cal):
        start = start_of(event)
        assert start.hour == 18 and start.minute == 30
        starts[str(event["SUMMARY"])][start.date()] = start
    assert len(starts["Berlin choir"]) == len(starts["New York choir"]) == 40
    for day, when in starts["Berlin choir"].items():
        assert when.utcoffset() == dt.timedelta(hours=2 if dt.date(2027, 3, 28) <= day < dt.date(2027, 10, 31) else 1)
    for day, when in starts["New York choir"].items():
        summer = dt.date(2027, 3, 14) <= day < dt.date(2027, 11, 7)
        assert when.utcoffset() == dt.timedelta(hours=-4 if summer else -5)
    five = {dt.date(2027, 3, 14), dt.date(2027, 3, 21), dt.date(2027, 10, 31)}
    for day, berlin in starts["Berlin choir"].items():
        apart = starts["New York choir"][day] - berlin
        assert apart == dt.timedelta(hours=5 if day in five else 6), day


# --- feeds -------------------------------------------------------------------------------------

def test_my_feed_lists_what_i_am_going_to_across_circles(app, client):
    two_circles(app)
    with frozen():
        plan(app, "Ada's repair café", dt.datetime(2027, 3, 10, 18, 30))  # Ada hosts: she is going
        not_answered = plan(app, "Bruno's walk", dt.datetime(2027, 3, 11, 10, 0), host="bruno@example.org")
        maybe = plan(app, "Bruno's picnic", dt.datetime(2027, 3, 12, 12, 0), host="bruno@example.org")
        full = plan(app, "Harbour dinner", dt.datetime(2027, 3, 13, 19, 0), slug="harbour", host="chiara@example.org",
                    capacity=1)
        going = plan(app, "Harbour clean-up", dt.datetime(2027, 3, 14, 9, 0), slug="harbour",
                     host="chiara@example.org")
        later_cancelled = plan(app, "Harbour film", dt.datetime(2027, 3, 15, 20, 0), slug="harbour",
                               host="chiara@example.org")
        assert answer(app, maybe, "ada@example.org", "maybe") == "none"
        assert answer(app, full, "ada@example.org") == "waiting"
        assert answer(app, going, "ada@example.org") == "seated"
        assert answer(app, later_cancelled, "ada@example.org") == "seated"

        login(client)
        mine, _ = feed_paths(client)
        assert feed_paths(client, "harbour")[0] == mine  # one personal address for every circle

        stranger = app.test_client()  # calendar apps do not sign in
        cal = parse(stranger.get(mine))
        assert summaries(cal) == ["Ada's repair café", "Harbour dinner", "Harbour clean-up", "Harbour film"]
        assert str(cal["X-WR-CALNAME"]) == "My gatherings"
        vtimezone(cal, "Europe/Berlin")
        vtimezone(cal, "America/New_York")
        harbour = {str(e["SUMMARY"]): e for e in events(cal)}
        clean_up = start_of(harbour["Harbour clean-up"])
        assert harbour["Harbour clean-up"]["DTSTART"].params["TZID"] == "America/New_York"
        assert clean_up.replace(tzinfo=None) == dt.datetime(2027, 3, 14, 9, 0)
        assert clean_up.astimezone(UTC) == dt.datetime(2027, 3, 14, 13, 0, tzinfo=UTC)  # EDT, the first day

        # Saying "I can't come" drops it out; a cancelled one stays, marked.
        assert post(client, f"/c/harbour/gatherings/{going}/answer", {"response": "cant"}).status_code == 303
        chiara = app.test_client()
        login(chiara, email="chiara@example.org")
        assert post(chiara, f"/c/harbour/gatherings/{later_cancelled}/cancel",
                    {"reason": "The projector broke."}).status_code == 303
        cal = parse(stranger.get(mine))
        assert summaries(cal) == ["Ada's repair café", "Harbour dinner", "Harbour film"]
        film = {str(e["SUMMARY"]): e for e in events(cal)}["Harbour film"]
        assert str(film["STATUS"]) == "CANCELLED" and film.decoded("SEQUENCE") == 1
        # Saying "can't come" also drops it out.
        answer(app, full, "ada@example.org", "cant")
        assert summaries(parse(stranger.get(mine))) == ["Ada's repair café", "Harbour film"]
        assert not_answered  # Bruno's walk was never in Ada's feed


def test_resetting_my_feed_address(app, client):
    two_circles(app)
    with frozen():
        plan(app, "Repair café", dt.datetime(2027, 3, 10, 18, 30))
        login(client)
        old_mine, old_ours = feed_paths(client)
        stranger = app.test_client()
        assert summaries(parse(stranger.get(old_mine))) == ["Repair café"]

        # Replacing asks first: without the tick, nothing changes.
        refused = post(client, "/c/elm-street/calendar", {"which": "mine"})
        assert refused.status_code == 422 and "Tick the box to replace the address" in text_of(refused)
        assert feed_paths(client) == (old_mine, old_ours)
        assert stranger.get(old_mine).status_code == 200

        response = post(client, "/c/elm-street/calendar", {"which": "mine", "replace": "y"}, follow_redirects=True)
        assert "Made a new address. The old one no longer works" in text_of(response)
        new_mine, ours = feed_paths(client)
        assert new_mine != old_mine and ours == old_ours  # only the one asked for
        assert stranger.get(old_mine).status_code == 404
        assert summaries(parse(stranger.get(new_mine))) == ["Repair café"]
        assert summaries(parse(stranger.get(ours))) == ["Repair café"]

        # The circle's address is reset the same way, on its own.
        post(client, "/c/elm-street/calendar", {"which": "ours", "replace": "y"})
        mine_again, new_ours = feed_paths(client)
        assert mine_again == new_mine and new_ours != ours
        assert stranger.get(ours).status_code == 404
        assert summaries(parse(stranger.get(new_ours))) == ["Repair café"]


def test_circle_feed_shows_everything_in_the_circle_until_i_leave(app, client):
    two_circles(app)
    with frozen():
        ada_s = plan(app, "Repair café", dt.datetime(2027, 3, 10, 18, 30))
        plan(app, "Walk", dt.datetime(2027, 3, 11, 10, 0), host="bruno@example.org")
        plan(app, "Soup evening", dt.datetime(2027, 3, 12, 19, 0), status="tentative")
        plan(app, "Harbour dinner", dt.datetime(2027, 3, 13, 19, 0), slug="harbour", host="chiara@example.org")
        bruno = app.test_client()
        login(bruno, email="bruno@example.org")
        assert post(bruno, f"/c/elm-street/gatherings/{ada_s}/answer", {"response": "going"}).status_code == 303
        bruno_mine, elm_feed = feed_paths(bruno)

        stranger = app.test_client()
        cal = parse(stranger.get(elm_feed))
        assert str(cal["X-WR-CALNAME"]) == "Elm Street"
        # Every gathering of the circle, answered or not, whoever hosts it; not Harbour's.
        assert summaries(cal) == ["Repair café", "Walk", "Soup evening"]
        assert [str(e["STATUS"]) for e in events(cal)] == ["CONFIRMED", "CONFIRMED", "TENTATIVE"]
        assert len({str(e["UID"]) for e in events(cal)}) == 3
        assert summaries(parse(stranger.get(bruno_mine))) == ["Repair café", "Walk"]  # going, and hosting

        # Bruno leaves Elm Street: his circle feed is gone (not even the circle's
        # name answers), and his own feed drops what he was going to there.
        assert post(bruno, "/c/elm-street/leave").status_code == 303
        gone = stranger.get(elm_feed)
        assert gone.status_code == 404
        assert b"Elm Street" not in gone.data and b"Repair" not in gone.data
        assert events(parse(stranger.get(bruno_mine))) == []


def test_unknown_feed_token_is_404(app, client):
    two_circles(app)
    with frozen():
        plan(app, "Repair café", dt.datetime(2027, 3, 10, 18, 30))
        login(client)
        mine, _ = feed_paths(client)
        stranger = app.test_client()
        token = mine.removeprefix("/feeds/").removesuffix(".ics")
        for path in ("/feeds/nope.ics", "/feeds/" + "x" * 32 + ".ics", f"/feeds/{token}x.ics",
                     f"/feeds/{token[:-1]}.ics", f"/feeds/{token.swapcase()}.ics", f"/feeds/{token}.ical"):
            assert stranger.get(path).status_code == 404, path


def test_one_tap_subscribe_links_open_the_calendar_app_with_the_same_address(app, client):
    two_circles(app)
    login(client)
    page = client.get("/c/elm-street/calendar").get_data(as_text=True)
    assert "webcal://" not in page  # nothing to subscribe to until an address is made
    mine, ours = feed_paths(client)
    page = client.get("/c/elm-street/calendar").get_data(as_text=True)
    webcals = re.findall(r'href="(webcal://[^"]+)"', page)
    assert [urlsplit(u).path for u in webcals] == [mine, ours]
    https = re.findall(r'id="feed-(?:mine|ours)"[^>]*value="([^"]+)"', page)
    assert [u.replace("webcal://", "") for u in webcals] == [u.split("://", 1)[1] for u in https]


def test_a_helper_slot_puts_the_gathering_in_my_feed_and_my_next_gatherings(app, client):
    two_circles(app)
    with frozen():
        gathering_id = plan(app, "Repair café", dt.datetime(2027, 3, 10, 18, 30))
        plan(app, "Walk", dt.datetime(2027, 3, 11, 10, 0))
        with app.app_context():
            with write_unit():
                slot = slots.add_slot(db.session.get(Gathering, gathering_id), "Soldering", 2)
            slot_id = slot.id
        bruno = app.test_client()
        login(bruno, email="bruno@example.org")
        bruno_mine, _ours = feed_paths(bruno)
        stranger = app.test_client()
        assert summaries(parse(stranger.get(bruno_mine))) == []
        assert "My next gatherings" not in text_of(bruno.get("/"))
        assert post(bruno, f"/c/elm-street/gatherings/{gathering_id}/slots/{slot_id}/take").status_code == 303
        assert summaries(parse(stranger.get(bruno_mine))) == ["Repair café"]
        home = text_of(bruno.get("/"))
        assert "My next gatherings" in home and "Repair café" in home and "Walk" not in home.split("Your circles")[0]
