"""Shared meals end to end through the pages: posting, parties (seats and
portions), potluck needs and dishes, allergens, dietary privacy, sign-ups
closing, bad input, leaving."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from app.auth.models import User
from app.circles.models import Circle, LogEntry
from app.database import utcnow, write_unit
from app.extensions import db
from app.meals import domain
from app.meals.models import DietaryNeeds, Dish, Meal, Party

from .gatherings_helpers import (WHEN, answer, count, days_ahead, field_error, gathering_row, seen, state_of,
                                 winter_evening)
from .helpers import post
from .meals_helpers import add_people, bring, elm_meal, meal_row, needs, set_needs_of, sign_up, signed_in
from .test_gatherings_calendar import feed_paths


def meal_form(**changes) -> dict:
    starts = winter_evening()
    data = {"style": "potluck", "title": "Friday potluck", "description": "", "starts_local": starts.strftime(WHEN),
            "ends_local": starts.replace(hour=21).strftime(WHEN), "time_zone": "Europe/Berlin",
            "place": "Courtyard", "online_url": "", "capacity": "10", "max_guests": "3", "status": "confirmed",
            "portions": "12", "closes_local": "", "menu": "", "mains": "2", "sides": "0", "desserts": "1",
            "drinks": "1", "other": "", "others": "1"}
    return data | changes


# --- posting ----------------------------------------------------------------------

def test_a_host_posts_a_potluck_and_its_page_shows_what_is_still_needed(app):
    ids = elm_meal(app)
    ada = signed_in(app, "Ada")
    response = post(ada, "/c/elm-street/meals/new", meal_form())
    assert response.status_code == 303
    page = seen(ada.get(response.headers["Location"]))
    assert "Potluck" in page and "Still needed: 2 mains, 1 dessert, 1 drink" in page
    assert "Portions left: 11 of 12" in page  # the host holds a seat and a portion
    # The circle's overview and home list it, with what is still needed.
    assert "Still needed: 2 mains, 1 dessert, 1 drink" in seen(ada.get("/c/elm-street/"))
    assert "Still needed: 2 mains, 1 dessert, 1 drink" in seen(ada.get("/"))
    assert "Still needed: 2 mains, 1 dessert, 1 drink" in seen(ada.get("/c/elm-street/gatherings"))
    assert ids["gathering"]


def test_the_new_gathering_page_offers_a_meal(app):
    elm_meal(app)
    page = seen(signed_in(app, "Bruno").get("/c/elm-street/gatherings/new"))
    assert "Post it as a meal" in page


def test_a_closing_time_after_the_meal_is_refused_beside_the_field(app):
    elm_meal(app)
    ada = signed_in(app, "Ada")
    starts = winter_evening()
    before = count(app, Meal)
    response = post(ada, "/c/elm-street/meals/new", meal_form(closes_local=(starts + dt.timedelta(hours=1))
                                                               .strftime(WHEN)))
    assert response.status_code == 422
    assert "close before the meal starts" in field_error(response, "closes_local")
    assert count(app, Meal) == before


def test_an_unknown_allergen_on_a_menu_is_refused(app):
    elm_meal(app)
    response = post(signed_in(app, "Ada"), "/c/elm-street/meals/new",
                    meal_form(style="cooked", allergens=["gluten", "arsenic"]))
    assert response.status_code == 422
    assert "not a valid choice" in seen(response)


# --- parties: seats and portions ------------------------------------------------------

def test_a_party_takes_seats_and_portions_a_child_half(app):
    ids = elm_meal(app, capacity=10, portions=12, max_guests=3)
    # The host alone: every word in its singular.
    assert "Coming: 1 person, 1 adult and 0 children, 1 portion." in seen(signed_in(app, "Ada").get(ids["path"]))
    bruno = signed_in(app, "Bruno")
    assert sign_up(bruno, ids, adults=2, children=1).status_code == 303
    assert gathering_row(app, ids["gathering"]).seats_taken == 1 + 3
    assert meal_row(app, ids["gathering"]).halves_taken == 2 + 5
    page = seen(signed_in(app, "Ada").get(ids["path"]))
    assert "Coming: 4 people, 3 adults and 1 child, 3.5 portions." in page
    assert "Portions left: 8.5 of 12" in page
    # Changing the party moves both counters.
    assert sign_up(bruno, ids, adults=1, children=0).status_code == 303
    assert gathering_row(app, ids["gathering"]).seats_taken == 2
    assert meal_row(app, ids["gathering"]).halves_taken == 4
    # "Can't come" through the gathering's own answer form gives both back.
    assert answer(bruno, ids["path"], "cant").status_code == 303
    assert gathering_row(app, ids["gathering"]).seats_taken == 1
    assert meal_row(app, ids["gathering"]).halves_taken == 2


def test_when_portions_run_out_the_next_party_waits_and_is_promoted_with_its_portions(app):
    ids = elm_meal(app, capacity=20, portions=3, max_guests=3)
    bruno, chiara = signed_in(app, "Bruno"), signed_in(app, "Chiara")
    assert sign_up(bruno, ids, adults=2).status_code == 303        # 1 + 2 = 3 portions: full
    assert sign_up(chiara, ids, adults=1).status_code == 303
    assert state_of(app, ids["gathering"], "Chiara") == "waiting"  # seats are free, portions not
    assert gathering_row(app, ids["gathering"]).seats_taken == 3
    assert sign_up(bruno, ids, adults=1).status_code == 303         # Bruno comes alone: a portion frees
    assert state_of(app, ids["gathering"], "Chiara") == "seated"
    assert meal_row(app, ids["gathering"]).halves_taken == 6
    assert gathering_row(app, ids["gathering"]).seats_taken == 3


def test_more_in_a_party_than_the_meal_allows_is_refused_and_nothing_saved(app):
    ids = elm_meal(app, max_guests=1)
    bruno = signed_in(app, "Bruno")
    response = sign_up(bruno, ids, adults=2, children=1)
    assert response.status_code == 422
    assert "up to 1 guests" in field_error(response, "adults")
    assert state_of(app, ids["gathering"], "Bruno") is None
    assert meal_row(app, ids["gathering"]).halves_taken == 2
    for bad in ({"adults": "0", "children": "0"}, {"adults": "-1", "children": "0"},
                {"adults": "1", "children": "-2"}, {"adults": "x", "children": "0"},
                {"adults": "100001", "children": "0"}):
        assert post(bruno, ids["meal_path"] + "/party", bad).status_code == 422
    assert state_of(app, ids["gathering"], "Bruno") is None


def test_sign_ups_close_on_their_own_and_the_host_reopens_them(app):
    ids = elm_meal(app)
    with app.app_context():
        with write_unit():
            meal = db.session.scalar(select(Meal).where(Meal.gathering_id == ids["gathering"]))
            meal.closes_at = utcnow() - dt.timedelta(minutes=1)
    bruno = signed_in(app, "Bruno")
    page = seen(bruno.get(ids["path"]))  # a GET computes it, writes nothing
    assert "Sign-ups are closed." in page and "Sign up with my party" not in page
    response = sign_up(bruno, ids)
    assert response.status_code == 422 and "Sign-ups for this meal have closed" in seen(response)
    assert state_of(app, ids["gathering"], "Bruno") is None
    # Saying "can't come" still works; only hosts reopen.
    assert post(bruno, ids["meal_path"] + "/signups").status_code == 403
    assert post(signed_in(app, "Ada"), ids["meal_path"] + "/signups").status_code == 303
    assert sign_up(bruno, ids).status_code == 303
    assert state_of(app, ids["gathering"], "Bruno") == "seated"


def test_a_default_closing_time_is_a_day_before(app):
    ids = elm_meal(app)
    meal = meal_row(app, ids["gathering"])
    assert meal.closes_at == gathering_row(app, ids["gathering"]).starts_at - dt.timedelta(hours=24)


# --- potluck ----------------------------------------------------------------------------

def _need_id(app, ids, course):
    with app.app_context():
        from app.meals.models import Need
        return db.session.scalar(select(Need.id).where(Need.gathering_id == ids["gathering"], Need.course == course))


def test_people_coming_claim_needs_and_release_them(app):
    ids = elm_meal(app)
    bruno = signed_in(app, "Bruno")
    dessert = _need_id(app, ids, "dessert")
    response = bring(bruno, ids, need=dessert, name="Apple cake")
    assert response.status_code == 422 and "Sign up for the meal first" in seen(response)
    sign_up(bruno, ids)
    assert bring(bruno, ids, need=dessert, name="Apple cake", feeds=8, allergens=["gluten", "eggs"]).status_code == 303
    assert ("dessert", 1, 1) in needs(app, ids["gathering"])
    page = seen(bruno.get(ids["meal_path"] + "/potluck"))
    assert "Apple cake" in page and "feeds about 8" in page and "Contains: gluten, eggs" in page
    assert "the dishes so far feed about 8" in page and "2 people are coming" in page
    assert "Still needed: 2 mains" in seen(bruno.get(ids["path"]))
    # The last dessert is taken: another claim for it is refused, nothing saved.
    chiara = signed_in(app, "Chiara")
    sign_up(chiara, ids)
    response = bring(chiara, ids, need=dessert, name="Tiramisu")
    assert response.status_code == 422 and "just taken the last place" in field_error(response, "need")
    # Changed, then released: the place opens again.
    with app.app_context():
        dish_id = db.session.scalar(select(Dish.id).where(Dish.name == "Apple cake"))
    assert post(bruno, f"{ids['meal_path']}/dishes/{dish_id}", {"name": "Plum cake", "feeds": "10",
                                                                  "no_allergens": "y"}).status_code == 303
    assert "Plum cake" in seen(bruno.get(ids["meal_path"] + "/potluck"))
    assert post(chiara, f"{ids['meal_path']}/dishes/{dish_id}/release").status_code == 404  # not hers
    assert post(bruno, f"{ids['meal_path']}/dishes/{dish_id}/release").status_code == 303
    assert ("dessert", 1, 0) in needs(app, ids["gathering"])
    assert bring(chiara, ids, need=dessert, name="Tiramisu").status_code == 303


def test_bad_dishes_are_refused_beside_the_field(app):
    ids = elm_meal(app)
    bruno = signed_in(app, "Bruno")
    sign_up(bruno, ids)
    response = bring(bruno, ids, name="Bread", course="")  # an extra with no course
    assert response.status_code == 422 and "which course" in field_error(response, "course")
    response = bring(bruno, ids, name="Bread", course="side", allergens=["gluten", "plutonium"])
    assert response.status_code == 422 and "not a valid choice" in field_error(response, "allergens")
    for feeds in ("0", "-3", "100001", "lots"):
        assert bring(bruno, ids, name="Bread", course="side", feeds=feeds).status_code == 422
    assert bring(bruno, ids, name="Bread", need="999999").status_code == 422
    assert bring(bruno, ids, name="Bread", need="1e3").status_code == 422
    assert count(app, Dish) == 0


# --- allergens and dietary needs ---------------------------------------------------------

def test_beside_each_dish_a_person_sees_what_it_declares_about_their_own_needs(app):
    ids = elm_meal(app)
    bruno, chiara = signed_in(app, "Bruno"), signed_in(app, "Chiara")
    for c in (bruno, chiara):
        sign_up(c, ids)
    bring(bruno, ids, name="Bread", course="side", allergens=["gluten"])
    bring(bruno, ids, name="Salad", course="side", none=True, diets=["vegan"])
    bring(bruno, ids, name="Mystery pie", course="main")
    assert set_needs_of(chiara, avoids=["gluten"], diets=["vegetarian"]).status_code == 303
    page = seen(chiara.get(ids["meal_path"] + "/potluck"))
    assert "For you: contains gluten, not declared vegetarian" in page
    assert "For you: declares no gluten, not declared vegetarian" in page
    assert "For you: allergens not declared" in page
    assert "a declaration, not a guarantee" in page
    assert "safe" not in page.lower() and "suits you" not in page.lower()


def test_nobody_ever_sees_another_persons_needs(app, mailbox, caplog):
    """Chiara records hers; with 4 coming nobody sees even a count, and no
    page, partial, calendar feed, inbox, mail or log of anyone else names them."""
    caplog.set_level(logging.DEBUG)
    ids = elm_meal(app)
    chiara = signed_in(app, "Chiara")
    set_needs_of(chiara, avoids=["lupin"], diets=["kosher"])
    clients = {n: signed_in(app, n) for n in ("Ada", "Bruno", "Dmitri")}
    for c in (chiara, clients["Bruno"], clients["Dmitri"]):
        sign_up(c, ids)
    bring(clients["Bruno"], ids, name="Lupin bread", course="side", allergens=["lupin"])
    # What a leak would read like: Chiara herself sees it beside the dish.
    own = seen(chiara.get(ids["meal_path"] + "/potluck"))
    assert "For you: contains lupin" in own and "kosher" in own
    said_of_needs = ("avoid lupin", "avoids lupin", "contains lupin", "declares no lupin", "eat kosher",
                     "eats kosher", "Someone coming avoids")
    pages = [ids["path"], ids["path"] + "/manage", ids["meal_path"] + "/potluck", ids["meal_path"] + "/costs",
             "/c/elm-street/", "/c/elm-street/gatherings", "/c/elm-street/log", "/c/elm-street/members", "/",
             "/auth/account", ids["path"] + "/calendar.ics", "/account/dietary", "/notices"]
    for name, c in clients.items():
        for path in pages + list(feed_paths(c)):
            response = c.get(path, headers={"HX-Request": "true"}) if path.endswith("potluck") else c.get(path)
            assert response.status_code == (403 if path.endswith("/manage") and name != "Ada" else 200), (name, path)
            text = seen(response)
            assert not any(said in text for said in said_of_needs), (name, path)
            if path.startswith("/feeds/") or path in ("/notices", ids["path"] + "/calendar.ics"):
                assert "kosher" not in text.lower(), (name, path)  # no form here lists the diets
            if path == "/account/dietary":
                assert 'checked' not in response.get_data(as_text=True), name
    for message in mailbox.messages:
        assert "lupin" not in message.as_string().lower() and "kosher" not in message.as_string().lower()
    with app.app_context():
        for entry in db.session.scalars(select(LogEntry)):
            assert "lupin" not in str(entry.details) and "kosher" not in str(entry.details)
    logged = [(r.name, r.getMessage()) for r in caplog.records]
    assert not [line for line in logged if "kosher" in line[1].lower()], logged
    assert not [line for line in logged if any(said in line[1] for said in said_of_needs)], logged


def test_counts_show_only_when_five_are_coming_and_the_bringer_is_warned(app):
    ids = elm_meal(app)
    chiara = signed_in(app, "Chiara")
    set_needs_of(chiara, avoids=["lupin"])
    set_needs_of(signed_in(app, "Eve"), avoids=["lupin", "milk"], diets=["vegetarian"])
    for n in ("Bruno", "Chiara", "Dmitri"):
        sign_up(signed_in(app, n), ids)
    bruno = signed_in(app, "Bruno")
    bring(bruno, ids, name="Lupin bread", course="side", allergens=["lupin"])
    ada = signed_in(app, "Ada")
    assert "Counts of dietary needs show once at least 5 people are coming" in seen(ada.get(ids["path"]))
    assert "Someone coming avoids" not in seen(bruno.get(ids["meal_path"] + "/potluck"))
    sign_up(signed_in(app, "Eve"), ids)  # five now
    page = seen(ada.get(ids["path"]))
    assert "2 people coming avoid lupin" in page and "1 person coming avoids milk" in page
    assert "1 person coming eats vegetarian" in page
    assert "Someone coming avoids lupin, which your dish contains" in seen(bruno.get(ids["meal_path"] + "/potluck"))


def test_dietary_needs_are_opt_in_and_deleted_on_request(app):
    elm_meal(app)
    chiara = signed_in(app, "Chiara")
    page = seen(chiara.get("/account/dietary"))
    assert "nobody else ever sees it" in page
    assert "You have not recorded any dietary needs" in seen(chiara.get("/auth/account"))
    set_needs_of(chiara, avoids=["nuts"])
    assert count(app, DietaryNeeds) == 1
    assert post(chiara, "/account/dietary", {"avoids": ["poison"]}).status_code == 422
    set_needs_of(chiara)
    assert count(app, DietaryNeeds) == 0


# --- kept on the device -------------------------------------------------------------------

def _another_meal(app, ids, style, title, days):
    with app.app_context():
        starts = days_ahead(days)
        with write_unit():
            gathering = domain.create_meal(
                db.session.get(Circle, ids["circle"]), db.session.get(User, ids["Ada"]), style=style, title=title,
                starts_local=starts, ends_local=starts + dt.timedelta(hours=2), needs=[("side", "", 2)])
            return gathering.id


def test_meal_pages_join_keep_my_next_gatherings_and_only_the_meals_i_am_going_to(app):
    """The meal is its gathering's page; a potluck adds its page of needs and
    dishes. A meal I have not signed up for, or have left, is not kept; the
    pages themselves are never stored by the browser otherwise (no-store)."""
    ids = elm_meal(app)
    cooked = _another_meal(app, ids, "cooked", "Sunday lunch", 11)
    other_potluck = _another_meal(app, ids, "potluck", "Another potluck", 12)
    bruno = signed_in(app, "Bruno")
    assert bruno.get("/offline/pages").json["pages"] == ["/", "/lending/mine"]  # nothing of meals yet
    assert sign_up(bruno, ids).status_code == 303
    assert post(bruno, f"/c/elm-street/meals/{cooked}/party", {"adults": 1, "children": 0}).status_code == 303
    pages = bruno.get("/offline/pages").json["pages"]
    assert ids["path"] in pages and f"/c/elm-street/gatherings/{cooked}" in pages
    assert ids["meal_path"] + "/potluck" in pages
    assert f"/c/elm-street/meals/{cooked}/potluck" not in pages  # a cooked meal has no list of dishes
    assert not [p for p in pages if str(other_potluck) in p]
    for path in (ids["path"], ids["meal_path"] + "/potluck"):
        assert bruno.get(path).headers["Cache-Control"] == "no-store"
    assert answer(bruno, ids["path"], "cant").status_code == 303
    pages = bruno.get("/offline/pages").json["pages"]
    assert ids["path"] not in pages and ids["meal_path"] + "/potluck" not in pages
    assert f"/c/elm-street/gatherings/{cooked}" in pages
    # Someone else's list holds only their own.
    assert signed_in(app, "Chiara").get("/offline/pages").json["pages"] == ["/", "/lending/mine"]


# --- leaving ---------------------------------------------------------------------------

def test_a_member_leaving_releases_dishes_seats_and_portions_and_the_waitlist_moves(app):
    ids = elm_meal(app, capacity=2, portions=2)
    bruno, chiara = signed_in(app, "Bruno"), signed_in(app, "Chiara")
    sign_up(bruno, ids)
    sign_up(chiara, ids)
    assert state_of(app, ids["gathering"], "Chiara") == "waiting"
    dessert = _need_id(app, ids, "dessert")
    bring(bruno, ids, need=dessert, name="Cake")
    assert post(bruno, "/c/elm-street/leave", {"confirm": "y"}).status_code in (302, 303)
    assert state_of(app, ids["gathering"], "Chiara") == "seated"
    assert ("dessert", 1, 0) in needs(app, ids["gathering"])
    assert count(app, Dish) == 0
    assert meal_row(app, ids["gathering"]).halves_taken == 4
    with app.app_context():
        held = sorted(p.held for p in db.session.scalars(select(Party)))
    assert held == [2, 2]


# --- queries ---------------------------------------------------------------------------

def _queries(app, client, path) -> int:
    from sqlalchemy import event
    seen_statements = []

    def note(*_args):
        seen_statements.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    app.config["PAGE_CACHE"] = False  # the page's own statements (see tests/budget/conftest.py)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
        app.config["PAGE_CACHE"] = True
    return len(seen_statements)


def test_the_meal_and_potluck_pages_take_as_many_queries_with_ten_times_the_people(app):
    ids = elm_meal(app, capacity=100, portions=100, max_guests=3)
    ada = signed_in(app, "Ada")
    few = [n for n in ("Bruno", "Chiara", "Dmitri", "Eve", "Femi")]
    for n in few:
        c = signed_in(app, n)
        sign_up(c, ids, adults=1, children=1)
        bring(c, ids, name=f"Dish of {n}", course="side", allergens=["milk"])
        set_needs_of(c, avoids=["milk"])
    paths = [ids["path"], ids["meal_path"] + "/potluck", ids["meal_path"] + "/costs"]
    before = [_queries(app, ada, p) for p in paths]
    more = [f"Neighbour{i}" for i in range(45)]
    add_people(app, ids, more)
    for n in more:
        c = signed_in(app, n)
        sign_up(c, ids, adults=1)
        bring(c, ids, name=f"Dish of {n}", course="drink", none=True)
        set_needs_of(c, avoids=["nuts"])
    after = [_queries(app, ada, p) for p in paths]
    print("queries (meal, potluck, costs):", before, after)
    assert before == after, (before, after)
    assert max(after) <= 12, after  # the budget of tests/budget


def test_deleting_an_account_deletes_dietary_needs_and_dishes_and_frees_portions(app):
    ids = elm_meal(app, portions=2)
    bruno, chiara = signed_in(app, "Bruno"), signed_in(app, "Chiara")
    set_needs_of(bruno, avoids=["fish"])
    sign_up(bruno, ids)
    sign_up(chiara, ids)
    assert state_of(app, ids["gathering"], "Chiara") == "waiting"
    bring(bruno, ids, need=_need_id(app, ids, "main"), name="Fish pie")
    with app.app_context():
        from app.auth import domain as auth
        from app.auth.models import User
        with write_unit():
            auth.delete_account(db.session.get(User, ids["Bruno"]))
    assert count(app, DietaryNeeds) == 0 and count(app, Dish) == 0
    assert ("main", 2, 0) in needs(app, ids["gathering"])
    assert state_of(app, ids["gathering"], "Chiara") == "seated"
    assert meal_row(app, ids["gathering"]).halves_taken == 4
    assert "dietary needs are deleted" in seen(signed_in(app, "Chiara").get("/auth/account/delete"))


# --- weekly meals, slots defined once on the series ---------------------------------------

def test_a_weekly_meal_gives_every_date_its_meal_part_and_the_series_slots(app):
    from app.gatherings.models import Gathering, Slot
    elm_meal(app)
    ada = signed_in(app, "Ada")
    response = post(ada, "/c/elm-street/meals/new", meal_form(
        title="Thursday supper", repeat="weekly", interval="1", setpos="1", until="", style="cooked",
        menu="Soup", no_allergens="y"))
    assert response.status_code == 303
    with app.app_context():
        dates = db.session.scalars(select(Gathering.id).where(Gathering.title == "Thursday supper")
                                   .order_by(Gathering.starts_at)).all()
        parts = db.session.scalar(select(db.func.count()).select_from(Meal).where(Meal.gathering_id.in_(dates)))
    assert len(dates) >= 2 and parts == len(dates)
    # A helper slot added once, for the series: every date has it, and the dates made later too.
    first = f"/c/elm-street/gatherings/{dates[0]}"
    assert post(ada, first + "/slots", {"title": "Cook", "needed": "2", "every_date": "y"}).status_code == 303
    with app.app_context():
        having = set(db.session.scalars(select(Slot.gathering_id).where(Slot.title == "Cook")))
        from app.gatherings import series as gathering_series
        from app.gatherings.models import Series
        series = db.session.scalar(select(Series))
        assert series.template["slots"] == [["Cook", 2]]
        with write_unit():
            made = gathering_series.extend_series(db.session.get(Series, series.id),
                                                  now=utcnow() + dt.timedelta(weeks=60))
            later = [g.id for g in made]
        later_slots = set(db.session.scalars(select(Slot.gathering_id).where(Slot.title == "Cook")))
        later_meals = set(db.session.scalars(select(Meal.gathering_id)))
    assert having == set(dates)
    assert later and set(later) <= later_slots and set(later) <= later_meals
    page = seen(ada.get(f"/c/elm-street/gatherings/{dates[1]}"))
    assert "Cooked meal" in page and "Cook · 0 of 2" in page and "Declares none of the 14 allergens" in page


def test_a_host_cannot_move_a_party_onto_a_seat_without_food_for_it(app):
    from app.auth.models import User
    from app.gatherings import seats
    from app.gatherings.errors import GatheringError
    from app.gatherings.models import Answer
    ids = elm_meal(app, capacity=10, portions=1)
    sign_up(signed_in(app, "Bruno"), ids)
    assert state_of(app, ids["gathering"], "Bruno") == "waiting"  # a seat is free, no portion
    with app.test_request_context():
        answer_id = db.session.scalar(select(Answer.id).where(Answer.user_id == ids["Bruno"]))
        try:
            with write_unit():
                seats.move(ids["gathering"], answer_id, "seated", db.session.get(User, ids["Ada"]),
                           over_capacity=True)
        except GatheringError as error:
            assert "not enough of the rest (the food)" in str(error)
        else:
            raise AssertionError("moved onto a seat with no portion left")
    assert state_of(app, ids["gathering"], "Bruno") == "waiting"
    assert meal_row(app, ids["gathering"]).halves_taken == 2
    assert gathering_row(app, ids["gathering"]).seats_taken == 1
