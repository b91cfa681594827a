"""The waitlist and its offers, due and overdue loans, and the ``flask lending
expire`` command that records what time did (a GET never writes)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from zoneinfo import ZoneInfo
from sqlalchemy import select

from app.database import utcnow, write_unit
from app.extensions import db
from app.lending import cli, loans, things
from app.lending.models import Reservation, Thing, WaitEntry

from .gatherings_helpers import digest_of, subjects
from .helpers import day_in_words, post
from .lending_helpers import act, day, library, reservation, reserve, seen, signed_in, user


def entries(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(e.user.display_name, e.status) for e in db.session.scalars(select(WaitEntry).order_by(WaitEntry.id))]


def test_a_freed_thing_is_offered_to_the_first_in_line_then_the_next(app, mailbox):
    ids = library(app)
    rid = reserve(app, ids["thing"], "Bruno", 1, 3)
    for name in ("Chiara", "Dmitri"):
        response = post(signed_in(app, name), ids["thing_path"] + "/wait",
                        {"start_date": day(app, 2), "end_date": day(app, 3)})
        assert response.status_code == 303
    bruno = signed_in(app, "Bruno")
    assert act(bruno, "elm-street", rid, "cancel").status_code == 303
    assert entries(app) == [("Chiara", "offered"), ("Dmitri", "waiting")]
    assert any("Drill is free for you" in s for s in subjects(mailbox, "Chiara"))
    chiara = signed_in(app, "Chiara")
    page = seen(chiara.get(ids["thing_path"]))
    with app.app_context():
        held = db.session.scalar(select(WaitEntry.offer_until).where(WaitEntry.status == "offered"))
    # The hold ends at a moment Chiara reads on her own clock (the circle's, Europe/Berlin), not UTC's.
    local = held.replace(tzinfo=dt.UTC).astimezone(ZoneInfo("Europe/Berlin"))
    assert f"It is free for you until {local:%a} {local.day} {local:%b} {local.year}, {local:%H:%M}." in page
    assert "UTC" not in page and f"{day_in_words(dt.date.fromisoformat(day(app, 2)))} to " in page
    offer = [m for m in mailbox.to("chiara@example.org") if "Drill is free for you" in m["Subject"]][-1]
    assert f"held for you until {local:%a} {local.day} {local:%b} {local.year}, {local:%H:%M}:" in offer.get_content()

    # 49 hours later the offer has run out: the page says so without writing.
    with time_machine.travel(utcnow() + dt.timedelta(hours=49)):
        page = seen(chiara.get(ids["thing_path"]))
        assert "It is free for you until" not in page
        assert entries(app) == [("Chiara", "offered"), ("Dmitri", "waiting")]
        with app.app_context():
            counts = cli.run()
        assert counts["offers expired"] == 1
    assert entries(app) == [("Chiara", "expired"), ("Dmitri", "offered")]
    assert any("Drill is free for you" in s for s in subjects(mailbox, "Dmitri"))
    dmitri = signed_in(app, "Dmitri")
    with app.app_context():
        entry_id = db.session.scalar(select(WaitEntry.id).where(WaitEntry.status == "offered"))
    response = post(dmitri, f"/c/elm-street/library/waitlist/{entry_id}/take")
    assert response.status_code == 303
    with app.app_context():
        asked = db.session.scalar(select(Reservation).where(Reservation.borrower_id == user("Dmitri").id))
        assert asked.status == "requested" and asked.start_date.isoformat() == day(app, 2)


def test_the_expire_command_runs_from_the_command_line(app):
    library(app)
    result = app.test_cli_runner().invoke(args=["lending", "expire"])
    assert result.exit_code == 0, result.output
    assert "offers expired: 0" in result.output


def test_overdue_tells_the_owner_the_borrower_and_the_next_borrower_once(app, mailbox):
    ids = library(app)
    with app.test_request_context():
        thing = db.session.get(Thing, ids["thing"])
        t0 = things.today_in(thing.circle)
        with write_unit():
            lent = loans.request(thing, user("Bruno"), t0, t0 + dt.timedelta(days=1))
            loans.accept(lent.id, user("Ada"))
            loans.pick_up(lent.id, user("Ada"))
        lent_id = lent.id
    reserve(app, ids["thing"], "Chiara", 3, 4)
    with app.app_context():
        counts = cli.run()
    assert counts["due"] == 1 and counts["overdue"] == 0
    # Due dates are not time-critical: in the inbox now, in the evening's digest.
    assert "Due back tomorrow: Drill" not in subjects(mailbox, "Bruno")
    assert "Due back tomorrow: Drill" in seen(signed_in(app, "Bruno").get("/notices"))
    with time_machine.travel(utcnow() + dt.timedelta(days=1)):
        assert "Due back tomorrow: Drill" in digest_of(app, mailbox, "Bruno")
    with time_machine.travel(utcnow() + dt.timedelta(days=2, hours=1)):
        with app.app_context():
            assert cli.run()["overdue"] == 1
            assert cli.run()["overdue"] == 0  # told once
        bruno_page = seen(signed_in(app, "Bruno").get(ids["thing_path"]))
        assert "overdue" in bruno_page and "It was due back on" in bruno_page
        # Nobody else reads that it is overdue.
        assert "overdue" not in seen(signed_in(app, "Dmitri").get(ids["thing_path"]))
    with time_machine.travel(utcnow() + dt.timedelta(days=3, hours=1)):
        assert "Overdue: Drill" in digest_of(app, mailbox, "Bruno")
        assert "Overdue: Drill" in digest_of(app, mailbox, "Ada")
        assert "Not back yet: Drill" in digest_of(app, mailbox, "Chiara")
    # The next reservation does not move by itself.
    assert reservation(app, lent_id).status == "out"


def test_leaving_the_waitlist(app):
    ids = library(app)
    reserve(app, ids["thing"], "Bruno", 1, 3)
    chiara = signed_in(app, "Chiara")
    post(chiara, ids["thing_path"] + "/wait", {"start_date": day(app, 2), "end_date": day(app, 3)})
    response = post(chiara, ids["thing_path"] + "/wait", {"start_date": day(app, 2), "end_date": day(app, 3)})
    assert response.status_code == 422 and "already on the waitlist" in seen(response)
    with app.app_context():
        entry_id = db.session.scalar(select(WaitEntry.id))
    assert post(signed_in(app, "Dmitri"), f"/c/elm-street/library/waitlist/{entry_id}/leave").status_code == 404
    assert post(chiara, f"/c/elm-street/library/waitlist/{entry_id}/leave").status_code == 303
    assert entries(app) == [("Chiara", "gone")]


def test_the_owner_moves_the_reservation_after_an_overdue_loan(app, mailbox):
    ids = library(app)
    later = reserve(app, ids["thing"], "Chiara", 3, 4)
    ada = signed_in(app, "Ada")
    response = act(ada, "elm-street", later, "move", start_date=day(app, 6), end_date=day(app, 7))
    assert response.status_code == 303
    moved = reservation(app, later)
    assert (moved.start_date.isoformat(), moved.end_date.isoformat()) == (day(app, 6), day(app, 7))
    assert "Moved: Drill" in subjects(mailbox, "Chiara")
    # Only the owner moves it, and only through the overlap rule.
    assert act(signed_in(app, "Chiara"), "elm-street", later, "move", start_date=day(app, 9),
               end_date=day(app, 9)).status_code == 422
    reserve(app, ids["thing"], "Dmitri", 10, 11)
    response = act(ada, "elm-street", later, "move", start_date=day(app, 10), end_date=day(app, 10))
    assert response.status_code == 422 and "not free" in seen(response)


def test_the_owner_cancels_the_reservation_after_an_overdue_loan(app, mailbox):
    """Bruno's loan is overdue; Chiara's reservation comes next. Ada cancels
    Chiara's with a note: Chiara is told, with the note; the dates free up and
    the first in line for them (Dmitri) is offered the thing. Only the two
    sides may cancel; any other member gets 404 and nothing changes."""
    ids = library(app)
    with app.test_request_context():
        thing = db.session.get(Thing, ids["thing"])
        t0 = things.today_in(thing.circle)
        with write_unit():
            lent = loans.request(thing, user("Bruno"), t0, t0 + dt.timedelta(days=1))
            loans.accept(lent.id, user("Ada"))
            loans.pick_up(lent.id, user("Ada"))
        lent_id = lent.id
    later = reserve(app, ids["thing"], "Chiara", 4, 5)
    with app.app_context():
        with write_unit():
            # Dmitri waits for those very days.
            db.session.add(WaitEntry(thing_id=ids["thing"], user_id=user("Dmitri").id,
                                     start_date=t0 + dt.timedelta(days=4), end_date=t0 + dt.timedelta(days=5)))
    with time_machine.travel(utcnow() + dt.timedelta(days=2, hours=1)):
        ada = signed_in(app, "Ada")
        page = seen(ada.get(ids["thing_path"]))
        assert "Overdue since" in page and "move or cancel it below" in page
        assert act(signed_in(app, "Eve"), "elm-street", later, "cancel").status_code == 404
        with app.app_context():
            from app.lending.errors import LendingError

            with pytest.raises(LendingError):
                with write_unit():
                    loans.cancel(later, user("Eve"))
        assert reservation(app, later).status == "accepted"
        response = act(ada, "elm-street", later, "cancel", note="The drill is not back yet, sorry")
        assert response.status_code == 303
        assert "Cancelled." in seen(ada.get(response.location))
        # Cancelled once is cancelled: a second try is refused.
        assert act(ada, "elm-street", later, "cancel").status_code == 422
    assert reservation(app, later).status == "cancelled"
    assert reservation(app, lent_id).status == "out"  # the overdue loan itself is untouched
    told = [m for m in mailbox.to("chiara@example.org") if m["Subject"] == "Cancelled: Drill"]
    assert len(told) == 1 and "The drill is not back yet, sorry" in told[0].get_content()
    assert entries(app) == [("Dmitri", "offered")]
    assert "Drill is free for you" in subjects(mailbox, "Dmitri")


def test_deleting_an_account_withdraws_things_and_frees_places(app):
    from app.areas import areas
    from app.lending.models import Thing as ThingRow

    ids = library(app, owner="Bruno")
    pending = reserve(app, ids["thing"], "Chiara", 3, 4, status="requested")
    with app.test_request_context():
        bruno = user("Bruno")
        assert "The things you lend are withdrawn from their libraries." in [
            line for warn in areas().deletion_warnings for line in warn(bruno)]
        with write_unit():
            for handler in areas().account_deleted:
                handler(bruno)
        assert db.session.get(ThingRow, ids["thing"]).withdrawn
    assert reservation(app, pending).status == "declined"


def test_the_demo_library_has_things_in_every_state(app):
    from app.cli import seed_demo
    from app.lending.models import Thing as ThingRow

    with app.app_context():
        seed_demo()
        rows = db.session.scalars(select(Reservation)).all()
        today = things.today_in(rows[0].thing.circle)
        states = {r.status for r in rows}
        assert {"requested", "accepted", "out"} <= states
        assert any(loans.is_overdue(r, today) for r in rows)
        assert any(r.status == "out" and not loans.is_overdue(r, today) for r in rows)
        assert any(r.gathering_id for r in rows)
        assert db.session.scalar(select(WaitEntry.id).where(WaitEntry.status == "waiting"))
        statuses = set(db.session.scalars(select(ThingRow.status)))
        assert {"available", "repair"} <= statuses
        assert db.session.scalar(select(ThingRow.id).where(ThingRow.circle_owned.is_(True)))
