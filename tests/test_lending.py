"""Lending: list, browse, request, accept or decline, hand over, return,
extend, repair, the overlap rule and its suggestions, privacy. Every test
runs on SQLite and on PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest

from sqlalchemy import func, select, text

from app.database import write_unit
from app.extensions import db
from app.lending import loans, things
from app.lending.errors import LendingError
from app.lending.models import Reservation, Thing

from .gatherings_helpers import make_gathering, subjects
from .helpers import post
from .lending_helpers import act, ask, day, day_in_words, error_at, library, reservation, reserve, seen, signed_in, user


def count_reservations(app, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Reservation).where(*where))


# --- listing and browsing -----------------------------------------------------------

def test_a_member_lists_a_thing_and_neighbours_find_it_by_category_and_name(app):
    ids = library(app)
    bruno = signed_in(app, "Bruno")
    response = post(bruno, "/c/elm-street/library/new", {
        "name": "Tent for four", "description": "Sleeps **four**.", "category": "camping", "condition": "good",
        "pickup_place": "Elm Street 9", "house_rules": "Dry it before returning", "max_loan_days": "10",
        "buffer_days": "1", "owner": "me"})
    assert response.status_code == 303
    page = seen(bruno.get(response.location))
    assert "Tent for four" in page and "Sleeps four." in page and "Dry it before returning" in page
    chiara = signed_in(app, "Chiara")
    assert "Tent for four" in seen(chiara.get("/c/elm-street/library"))
    camping = seen(chiara.get("/c/elm-street/library?category=camping"))
    assert "Tent for four" in camping and "Drill" not in camping
    by_name = seen(chiara.get("/c/elm-street/library?q=dRiL"))
    assert "Drill" in by_name and "Tent" not in by_name
    assert chiara.get("/c/elm-street/library?category=nonsense").status_code == 404
    assert ids


def test_a_circle_thing_is_handled_by_its_keepers(app):
    library(app)
    bruno = signed_in(app, "Bruno")
    with app.app_context():
        chiara_id = user("Chiara").id
    response = post(bruno, "/c/elm-street/library/new", {
        "name": "Cargo bike", "category": "transport", "condition": "good", "max_loan_days": "3",
        "buffer_days": "0", "owner": "circle", "keepers": [str(chiara_id)]})
    assert response.status_code == 303
    path = response.location
    assert "the circle" in seen(bruno.get(path))
    thing_id = int(path.rstrip("/").split("/")[-1])
    dmitri = signed_in(app, "Dmitri")
    assert ask(dmitri, path, day(app, 1), day(app, 2)).status_code == 303
    chiara = signed_in(app, "Chiara")
    assert "Dmitri" in seen(chiara.get(path))  # a keeper sees who asks
    with app.app_context():
        rid = db.session.scalar(select(Reservation.id).where(Reservation.thing_id == thing_id))
    assert act(chiara, "elm-street", rid, "accept").status_code == 303
    assert reservation(app, rid).status == "accepted"


# --- the loop ---------------------------------------------------------------------

def test_request_accept_hand_over_return_by_both_sides(app, mailbox):
    ids = library(app)
    bruno = signed_in(app, "Bruno")
    response = ask(bruno, ids["thing_path"], day(app, 0), day(app, 3), "For the shelves")
    assert response.status_code == 303
    assert any("Bruno asks to borrow Drill" in s for s in subjects(mailbox, "Ada"))
    with app.app_context():
        rid = db.session.scalar(select(Reservation.id))
    ada = signed_in(app, "Ada")
    owner_view = seen(ada.get(ids["thing_path"]))
    assert "Bruno" in owner_view and "For the shelves" in owner_view
    assert act(ada, "elm-street", rid, "accept", note="It is in the shed").status_code == 303
    assert any(s == "Yes: Drill" for s in subjects(mailbox, "Bruno"))
    assert "reserved" in seen(bruno.get(ids["thing_path"]))
    assert act(ada, "elm-street", rid, "pickup", note="Battery full, one scratch").status_code == 303
    assert reservation(app, rid).status == "out"
    assert "Battery full, one scratch" in seen(ada.get(ids["thing_path"]))
    assert act(bruno, "elm-street", rid, "return", note="Cleaned").status_code == 303
    assert reservation(app, rid).status == "out"  # the owner has not confirmed yet
    assert "Waiting for the owner to confirm the return." in seen(bruno.get(ids["thing_path"]))
    assert act(ada, "elm-street", rid, "return", note="All fine").status_code == 303
    done = reservation(app, rid)
    assert done.status == "returned" and "Cleaned" in done.return_note and "All fine" in done.return_note
    mine = seen(bruno.get("/lending/mine"))
    assert "Nothing borrowed." in mine


def test_decline_with_a_note(app, mailbox):
    ids = library(app)
    bruno = signed_in(app, "Bruno")
    ask(bruno, ids["thing_path"], day(app, 2), day(app, 3))
    with app.app_context():
        rid = db.session.scalar(select(Reservation.id))
    ada = signed_in(app, "Ada")
    assert act(ada, "elm-street", rid, "decline", note="I need it that weekend").status_code == 303
    assert reservation(app, rid).status == "declined"
    body = mailbox.to("bruno@example.org")[-1].get_content()
    assert "I need it that weekend" in body


def test_free_dates_are_accepted_at_once_where_the_owner_allows(app):
    ids = library(app, auto_accept=True)
    bruno = signed_in(app, "Bruno")
    response = ask(bruno, ids["thing_path"], day(app, 1), day(app, 2))
    assert response.status_code == 303
    assert "It is yours for those dates." in seen(bruno.get(response.location))
    with app.app_context():
        assert db.session.scalar(select(Reservation.status)) == "accepted"


def test_someone_else_cannot_answer_or_see_a_request(app):
    ids = library(app)
    rid = reserve(app, ids["thing"], "Bruno", 1, 2, status="requested")
    chiara = signed_in(app, "Chiara")
    assert act(chiara, "elm-street", rid, "accept").status_code == 404
    assert act(chiara, "elm-street", rid, "cancel").status_code == 404
    assert reservation(app, rid).status == "requested"
    # The owner's tools and the borrower's name are not on her page.
    page = chiara.get(ids["thing_path"]).get_data(as_text=True)
    assert "Bruno" not in page and f"/reservations/{rid}/" not in page


# --- bad input ----------------------------------------------------------------------

def test_bad_dates_get_a_message_beside_the_field_and_nothing_is_saved(app):
    ids = library(app)
    bruno = signed_in(app, "Bruno")
    cases = [((day(app, 3), day(app, 1)), "end_date", "The last day comes before the first."),
             ((day(app, -2), day(app, 1)), "start_date", "That day has passed."),
             ((day(app, 1), day(app, 9)), "end_date", "The longest loan of this thing is 7 days."),
             (("", day(app, 1)), "start_date", "Choose the first day.")]
    for (start, end), field, message in cases:
        response = ask(bruno, ids["thing_path"], start, end)
        assert response.status_code == 422, (start, end)
        assert message in error_at(response, field), (start, end, error_at(response, field))
    assert count_reservations(app) == 0


def test_taken_dates_are_refused_with_the_next_free_ones(app):
    ids = library(app, buffer_days=1)
    reserve(app, ids["thing"], "Chiara", 2, 4)  # blocks days 2..5 with the buffer
    bruno = signed_in(app, "Bruno")
    response = ask(bruno, ids["thing_path"], day(app, 3), day(app, 4))
    assert response.status_code == 422
    message = error_at(response, "start_date")
    assert f"The next free dates: {day_in_words(app, 6)} to {day_in_words(app, 7)}." in message, message
    # Who has it is not said.
    assert "Chiara" not in response.get_data(as_text=True)
    # The waitlist opens below with the same days: waiting for them is one tap.
    page = response.get_data(as_text=True)
    assert re.search(r"<details open>\s*<summary>Dates taken\? Join the waitlist", page)
    assert f'id="wait-start" name="start_date" value="{day(app, 3)}"' in page
    assert f'id="wait-end" name="end_date" value="{day(app, 4)}"' in page
    # The buffer counts: a loan ending the day before also blocks its own buffer.
    assert ask(bruno, ids["thing_path"], day(app, 0), day(app, 0)).status_code == 303
    assert count_reservations(app) == 2


def test_accepting_overlapping_requests_keeps_only_the_first(app):
    ids = library(app)
    first = reserve(app, ids["thing"], "Bruno", 1, 3, status="requested")
    second = reserve(app, ids["thing"], "Chiara", 2, 4, status="requested")
    ada = signed_in(app, "Ada")
    assert act(ada, "elm-street", first, "accept").status_code == 303
    response = act(ada, "elm-street", second, "accept")
    assert response.status_code == 422
    assert "Those dates are not free." in seen(response)
    assert reservation(app, second).status == "requested"


def test_a_thing_in_repair_takes_no_reservations_and_shows_why(app):
    ids = library(app)
    pending = reserve(app, ids["thing"], "Chiara", 3, 4, status="requested")
    ada = signed_in(app, "Ada")
    response = post(ada, ids["thing_path"] + "/status", {"status": "repair", "reason": "The chuck is stuck"})
    assert response.status_code == 303
    assert "cancel or keep each reservation" in seen(ada.get(ids["thing_path"]))
    bruno = signed_in(app, "Bruno")
    page = seen(bruno.get(ids["thing_path"]))
    assert "In repair: The chuck is stuck" in page and "Ask to borrow it" not in page
    response = ask(bruno, ids["thing_path"], day(app, 1), day(app, 2))
    assert response.status_code == 422 and "In repair" in seen(response)
    response = act(ada, "elm-street", pending, "accept")
    assert response.status_code == 422 and "In repair: The chuck is stuck" in seen(response)
    assert reservation(app, pending).status == "requested"
    # Saying why is required.
    response = post(ada, ids["thing_path"] + "/status", {"status": "retired", "reason": ""})
    assert response.status_code == 422


# --- extending ----------------------------------------------------------------------

def test_a_loan_is_extended_while_nobody_waits_and_never_into_the_next(app):
    ids = library(app, max_loan_days=10)
    rid = reserve(app, ids["thing"], "Bruno", 0, 2)
    reserve(app, ids["thing"], "Chiara", 6, 7)
    bruno = signed_in(app, "Bruno")
    assert act(bruno, "elm-street", rid, "extend", end_date=day(app, 4)).status_code == 303
    assert reservation(app, rid).end_date.isoformat() == day(app, 4)
    response = act(bruno, "elm-street", rid, "extend", end_date=day(app, 6))
    assert response.status_code == 422
    assert "cannot be extended that far" in seen(response)
    # Dmitri joins the waitlist: no more extending.
    dmitri = signed_in(app, "Dmitri")
    assert post(dmitri, ids["thing_path"] + "/wait", {"start_date": day(app, 6), "end_date": day(app, 7)}
                ).status_code == 303
    response = act(bruno, "elm-street", rid, "extend", end_date=day(app, 5))
    assert response.status_code == 422 and "Someone is waiting" in seen(response)
    assert reservation(app, rid).end_date.isoformat() == day(app, 4)


# --- privacy ------------------------------------------------------------------------

def test_who_borrowed_what_is_seen_only_by_the_owner_and_the_borrower(app):
    ids = library(app, owner="Bruno")
    reserve(app, ids["thing"], "Chiara", 1, 3)
    # Ada is a steward of Elm Street: stewards get no view of loans.
    for name in ("Ada", "Dmitri"):
        page = signed_in(app, name).get(ids["thing_path"])
        assert "Chiara" not in page.get_data(as_text=True), name
        assert "not free" in seen(page), name
    assert "Chiara" in seen(signed_in(app, "Bruno").get(ids["thing_path"]))
    assert "yours" in seen(signed_in(app, "Chiara").get(ids["thing_path"]))


def test_my_things_lists_requests_waiting_for_me_first_and_what_i_borrowed(app):
    ids = library(app)
    reserve(app, ids["thing"], "Bruno", 1, 2)
    reserve(app, ids["thing"], "Chiara", 5, 6, status="requested")
    page = seen(signed_in(app, "Ada").get("/lending/mine"))
    assert page.index("Chiara") < page.index("Bruno")
    assert "waits for your answer" in page
    home = seen(signed_in(app, "Ada").get("/"))
    assert "My things" in home and "Waiting for your answer" in home
    assert "Drill" in seen(signed_in(app, "Bruno").get("/lending/mine"))


def test_a_handover_at_a_gathering_shows_only_to_the_two_people(app):
    ids = library(app)
    with app.app_context():
        from app.circles.models import Circle
        meal = make_gathering(db.session.get(Circle, ids["circle"]), user("Eve"), "Thursday meal")
        meal_id, meal_day = meal.id, meal.starts_local.date()
    bruno = signed_in(app, "Bruno")
    # The choice names the day as people say it ("Thu 4 Dec"), not as a database writes it.
    page = bruno.get(ids["thing_path"]).get_data(as_text=True)
    option = re.search(rf'<option value="{meal_id}">([^<]*)</option>', page)
    year = f" {meal_day.year}" if meal_day.year != dt.date.today().year else ""
    assert option.group(1) == f"Thursday meal ({meal_day:%a} {meal_day.day} {meal_day:%b}{year})"
    assert ask(bruno, ids["thing_path"], day(app, 1), day(app, 2), gathering=str(meal_id)).status_code == 303
    path = f"/c/elm-street/gatherings/{meal_id}"
    assert "Handovers here" in seen(bruno.get(path))
    assert "Handovers here" in seen(signed_in(app, "Ada").get(path))
    for name in ("Eve", "Chiara"):
        assert "Handovers here" not in seen(signed_in(app, name).get(path)), name


def test_leaving_withdraws_things_declines_requests_and_keeps_loans(app, mailbox):
    ids = library(app, owner="Bruno")
    pending = reserve(app, ids["thing"], "Chiara", 3, 4, status="requested")
    with app.test_request_context():
        t0 = things.today_in(db.session.get(Thing, ids["thing"]).circle)
        with write_unit():
            out = loans.request(db.session.get(Thing, ids["thing"]), user("Dmitri"), t0, t0 + dt.timedelta(days=1))
            loans.accept(out.id, user("Bruno"))
            loans.pick_up(out.id, user("Bruno"))
        out_id = out.id
    bruno = signed_in(app, "Bruno")
    assert post(bruno, "/c/elm-street/leave").status_code in (303, 200)
    assert reservation(app, pending).status == "declined"
    assert reservation(app, out_id).status == "out"
    assert any("Withdrawn: Drill" in s for s in subjects(mailbox, "Chiara"))
    assert "Drill" not in seen(signed_in(app, "Eve").get("/c/elm-street/library"))


def test_on_postgresql_the_database_itself_refuses_an_overlap(app, monkeypatch):
    """With the application's check taken away, the exclusion constraint still
    says no, and the person reads the same message (nothing saved)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            import pytest
            pytest.skip("the exclusion constraint is PostgreSQL's; SQLite relies on the write unit")
    ids = library(app)
    first = reserve(app, ids["thing"], "Bruno", 1, 3, status="requested")
    second = reserve(app, ids["thing"], "Chiara", 2, 4, status="requested")
    with app.test_request_context():
        with write_unit():
            loans.accept(first, user("Ada"))
    monkeypatch.setattr(loans, "overlapping", lambda *args, **kwargs: [])
    with app.test_request_context():
        import pytest
        with pytest.raises(loans.LendingError, match="Those dates are not free"):
            with write_unit():
                loans.accept(second, user("Ada"))
    assert reservation(app, second).status == "requested"


def test_a_borrower_who_leaves_keeps_the_thing_out_and_its_owner_is_told(app, mailbox):
    """Dmitri leaves Elm Street with Bruno's drill out: the loan stays open and
    Bruno is told; Dmitri's later reservation and his waitlist place go; once
    the drill is back, Bruno's word alone ends the loan (Dmitri can no longer
    reach the thing's page to confirm)."""
    from app.lending.models import WaitEntry

    ids = library(app, owner="Bruno", max_loan_days=5)
    with app.test_request_context():
        thing = db.session.get(Thing, ids["thing"])
        t0 = things.today_in(thing.circle)
        with write_unit():
            out = loans.request(thing, user("Dmitri"), t0, t0 + dt.timedelta(days=1))
            loans.accept(out.id, user("Bruno"))
            loans.pick_up(out.id, user("Dmitri"), "A scratch on the case")
            later = loans.request(thing, user("Dmitri"), t0 + dt.timedelta(days=5), t0 + dt.timedelta(days=6))
            loans.accept(later.id, user("Bruno"))
            tent = things.create_thing(thing.circle, user("Eve"), name="Tent", category="camping")
            reserve_tent = loans.request(tent, user("Chiara"), t0, t0 + dt.timedelta(days=3))
            loans.accept(reserve_tent.id, user("Eve"))
            db.session.add(WaitEntry(thing_id=tent.id, user_id=user("Dmitri").id, start_date=t0 + dt.timedelta(days=1),
                                     end_date=t0 + dt.timedelta(days=2)))
        out_id, later_id = out.id, later.id
    dmitri = signed_in(app, "Dmitri")
    assert post(dmitri, "/c/elm-street/leave").status_code == 303
    assert reservation(app, out_id).status == "out"
    assert reservation(app, later_id).status == "cancelled"
    with app.app_context():
        assert [e.status for e in db.session.scalars(select(WaitEntry))] == ["gone"]
    told = [m for m in mailbox.to("bruno@example.org") if m["Subject"] == "Drill: the borrower has left"]
    assert len(told) == 1
    assert 'Dmitri, who has "Drill", has left the circle. The loan stays open until it is returned.' \
        in told[0].get_content()
    # Nobody else is told who had it.
    for name in ("Ada", "Chiara", "Eve"):
        assert "Drill: the borrower has left" not in subjects(mailbox, name), name
    # Bruno still sees the loan (with who has it), and the days stay taken.
    bruno = signed_in(app, "Bruno")
    page = seen(bruno.get(ids["thing_path"]))
    assert "Dmitri" in page and "lent" in page and "A scratch on the case" in page
    assert ask(signed_in(app, "Chiara"), ids["thing_path"], day(app, 1), day(app, 1)).status_code == 422
    assert dmitri.get(ids["thing_path"]).status_code == 404
    # It comes back: the owner's confirmation ends the loan.
    assert act(bruno, "elm-street", out_id, "return", note="Back, all fine").status_code == 303
    assert reservation(app, out_id).status == "returned"
    assert ask(signed_in(app, "Chiara"), ids["thing_path"], day(app, 1), day(app, 1)).status_code == 303


def _second_request_waits_on(app, ids) -> tuple[str, str]:
    """Bruno's request for the drill is written and not yet committed when Chiara asks for days that meet
    his: the statement her request waits on, and how it ends for her."""
    first_written, done = threading.Event(), threading.Event()
    outcome: list[str] = []

    def ask_for(name: str, start: int, end: int, hold: bool) -> None:
        with app.test_request_context():
            try:
                with write_unit():
                    t0 = things.today_in(db.session.get(Thing, ids["thing"]).circle)
                    loans.request(db.session.get(Thing, ids["thing"]), user(name), t0 + dt.timedelta(days=start),
                                  t0 + dt.timedelta(days=end))
                    if hold:
                        first_written.set()
                        done.wait(20)
            except LendingError as error:
                outcome.append(f"refused: {error}")
            except Exception as error:  # noqa: BLE001  (what the test reports, a deadlock included)
                outcome.append(f"error: {type(error).__name__}")
            else:
                outcome.append("made")
            finally:
                db.session.remove()

    first = threading.Thread(target=ask_for, args=("Bruno", 1, 3, True))
    first.start()
    assert first_written.wait(20)
    second = threading.Thread(target=ask_for, args=("Chiara", 2, 4, False))
    second.start()
    waiting = ""
    with app.app_context():
        for _ in range(200):
            waiting = db.session.execute(text(
                "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )).scalar() or ""
            db.session.rollback()
            if waiting:
                break
            second.join(0.05)
    done.set()
    first.join(20)
    second.join(20)
    return waiting, outcome[-1]


def test_requests_for_one_thing_queue_on_its_row_before_the_constraint(app):
    """On PostgreSQL two requests accepted at once whose dates meet used to wait for each other inside the
    exclusion constraint, and one of them could deadlock (a 500 in a burst of 50). Every writer of a thing's
    reservations now takes the thing's row first: the second waits there, then is told the dates are taken."""
    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect != "postgresql":
        pytest.skip("SQLite's write unit already holds the database's one write lock")
    ids = library(app, auto_accept=True)
    waiting, outcome = _second_request_waits_on(app, ids)
    assert "FROM things" in waiting and "FOR NO KEY UPDATE" in waiting, waiting
    assert outcome.startswith("refused: Those dates are not free."), outcome


def test_without_the_things_row_lock_the_second_request_waits_in_the_constraint(app, monkeypatch):
    """The negative control: with the lock taken away, the second request gets past the check and waits in
    the exclusion constraint, where two writers checking at the same instant each wait for the other."""
    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect != "postgresql":
        pytest.skip("the exclusion constraint is PostgreSQL's")
    ids = library(app, auto_accept=True)
    monkeypatch.setattr(things, "lock_for", lambda thing_id: db.session.get(Thing, thing_id))
    waiting, outcome = _second_request_waits_on(app, ids)
    assert "UPDATE reservations" in waiting, waiting
    assert outcome.startswith("refused: Those dates are not free."), outcome
