"""Splitting a meal's costs: worked examples written out, property tests
(hypothesis, fixed seed, no deadline), and the costs pages: who records,
finalizing, who sees what, reopening."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.circles.models import LogEntry
from app.database import utcnow, write_unit
from app.extensions import db
from app.meals.models import Expense, Meal, Share
from app.meals.split import format_amount, parse_amount, shares, transfers

from .gatherings_helpers import count, field_error, seen
from .helpers import post
from .meals_helpers import elm_meal, sign_up, signed_in

# The profile (no deadline, fixed seed, no example database) is tests/conftest.py's
# "ci"; these tests only ask for more examples than its default.
MORE_EXAMPLES = settings(max_examples=300)


def test_the_properties_run_on_the_shared_ci_profile():
    """No deadline, a fixed seed and no example database, as tests/conftest.py loads it."""
    assert settings.default.deadline is None and settings.default.derandomize
    assert settings.default.database is None


# --- worked examples ---------------------------------------------------------------

def test_three_households_one_paid_31_for_3_adults_and_a_child():
    """Ada's household: 3 adults and 1 child (7 half portions), paid 31.00.
    Bruno's: 2 adults (4 halves), paid nothing. Chiara's: 1 adult and 2
    children (4 halves), paid 12.50. Total 43.50 over 15 halves = 2.90 a half:
    Ada 20.30, Bruno 11.60, Chiara 11.60."""
    weights = {"Ada": 7, "Bruno": 4, "Chiara": 4}
    owed = shares(4350, weights)
    assert owed == {"Ada": 2030, "Bruno": 1160, "Chiara": 1160}
    assert sum(owed.values()) == 4350
    balances = {"Ada": 3100 - 2030, "Bruno": 0 - 1160, "Chiara": 1250 - 1160}
    # Bruno pays Ada 10.70 and Chiara 0.90: two transfers for three households.
    assert transfers(balances) == [("Bruno", "Ada", 1070), ("Bruno", "Chiara", 90)]


def test_ten_euros_for_three_equal_eaters_by_largest_remainder():
    # 1000 / 3 = 333.33...: each gets 333, the cent left goes to the first of the tied.
    assert shares(1000, {"a": 2, "b": 2, "c": 2}) == {"a": 334, "b": 333, "c": 333}


def test_a_child_pays_half_of_an_adult():
    # An adult (2 halves) and a child (1 half) share 9.00: 6.00 and 3.00.
    assert shares(900, {"adult": 2, "child": 1}) == {"adult": 600, "child": 300}


def test_remainders_go_to_the_largest_fractions():
    # 100 over weights 1, 2, 4 (7): exact 14.29, 28.57, 57.14 -> floors 14, 28, 57 = 99;
    # the largest remainder is 28.57's (4/7), so b gets the last cent.
    assert shares(100, {"a": 1, "b": 2, "c": 4}) == {"a": 14, "b": 29, "c": 57}


def test_someone_who_paid_but_did_not_eat_is_paid_back_in_full():
    owed = shares(2000, {"eater1": 2, "eater2": 2, "payer": 0})
    assert owed == {"eater1": 1000, "eater2": 1000, "payer": 0}
    assert sorted(transfers({"eater1": -1000, "eater2": -1000, "payer": 2000})) == [
        ("eater1", "payer", 1000), ("eater2", "payer", 1000)]


def test_amounts_in_minor_units_by_the_currencys_decimals():
    assert parse_amount("31.00", "EUR") == 3100
    assert parse_amount("31,5", "EUR") == 3150
    assert parse_amount("12", "EUR") == 1200
    assert parse_amount("1500", "JPY") == 1500
    assert parse_amount("1.234", "KWD") == 1234
    for bad in ("", "-5", "1.234", "1e3", "12.5.0", "abc", "١٢", "NaN", "inf", " . ", "99999999999999999999999"):
        with pytest.raises(ValueError):
            parse_amount(bad, "EUR")
    with pytest.raises(ValueError):
        parse_amount("15.5", "JPY")
    assert format_amount(4350, "EUR") == "€43.50"
    assert format_amount(1500, "JPY") == "¥1,500"


def test_nothing_to_share_and_bad_weights():
    assert shares(0, {"a": 0}) == {"a": 0}
    with pytest.raises(ValueError):
        shares(100, {"a": 0})
    with pytest.raises(ValueError):
        shares(-1, {"a": 1})


# --- properties ---------------------------------------------------------------------

weights_st = st.dictionaries(st.integers(0, 60), st.integers(0, 80), min_size=1, max_size=30).filter(
    lambda w: sum(w.values()) > 0)


@MORE_EXAMPLES
@given(total=st.integers(0, 10_000_000), weights=weights_st)
def test_shares_add_up_exactly_and_are_within_a_unit_of_fair(total, weights):
    owed = shares(total, weights)
    assert sum(owed.values()) == total
    whole = sum(weights.values())
    for who, w in weights.items():
        exact = Fraction(total * w, whole)
        assert exact - 1 < owed[who] < exact + 1
        assert owed[who] >= 0
    for a in weights:
        for b in weights:
            if weights[a] > weights[b]:
                assert owed[a] >= owed[b]
            if weights[a] == weights[b]:
                assert abs(owed[a] - owed[b]) <= 1


@MORE_EXAMPLES
@given(paid=st.dictionaries(st.integers(0, 40), st.integers(0, 10_000_000), min_size=1, max_size=25),
       eaten=st.data())
def test_transfers_settle_everyone_in_fewer_transfers_than_people(paid, eaten):
    weights = {who: eaten.draw(st.integers(1, 20)) for who in paid}
    owed = shares(sum(paid.values()), weights)
    balances = {who: paid[who] - owed[who] for who in paid}
    moves = transfers(balances)
    settled = dict(balances)
    for payer, payee, amount in moves:
        assert amount > 0 and payer != payee
        assert balances[payer] < 0 < balances[payee]
        settled[payer] += amount
        settled[payee] -= amount
    assert all(v == 0 for v in settled.values())
    with_balance = sum(1 for v in balances.values() if v)
    assert len(moves) <= max(0, with_balance - 1)
    assert len(moves) < len(paid) or len(paid) == 1 and not moves


# --- the costs pages --------------------------------------------------------------------

def _closed(app, ids):
    with app.app_context():
        with write_unit():
            db.session.scalar(select(Meal).where(Meal.gathering_id == ids["gathering"])).closes_at = \
                utcnow() - dt.timedelta(minutes=1)


def test_costs_recorded_finalized_split_and_seen_by_whom(app):
    ids = elm_meal(app, style="cooked", max_guests=5)
    ada, bruno, chiara, dmitri = (signed_in(app, n) for n in ("Ada", "Bruno", "Chiara", "Dmitri"))
    # Ada comes with 2 more adults and a child: 3 adults, 1 child.
    assert sign_up(ada, ids, adults=3, children=1).status_code == 303
    assert sign_up(bruno, ids, adults=2).status_code == 303
    assert sign_up(chiara, ids, adults=1, children=2).status_code == 303
    costs = ids["meal_path"] + "/costs"
    # Dmitri did not come: he cannot record costs.
    response = post(dmitri, ids["meal_path"] + "/expenses", {"amount": "5.00"})
    assert response.status_code == 422 and "Only those who came" in field_error(response, "amount")
    for bad in ("-3", "0", "100000.01", "1e9", "12.345", "twelve", "", "١٠"):
        response = post(bruno, ids["meal_path"] + "/expenses", {"amount": bad})
        assert response.status_code == 422, bad
        assert field_error(response, "amount"), bad
    assert count(app, Expense) == 0
    assert post(ada, ids["meal_path"] + "/expenses", {"amount": "31.00", "note": "vegetables"}).status_code == 303
    assert post(chiara, ids["meal_path"] + "/expenses", {"amount": "12,50", "note": "wine"}).status_code == 303
    # Finalizing while sign-ups are open is refused, nothing frozen.
    response = post(ada, ids["meal_path"] + "/finalize")
    assert response.status_code == 422 and "Close the sign-ups first" in seen(response)
    assert count(app, Share) == 0
    assert post(bruno, ids["meal_path"] + "/finalize").status_code == 403
    _closed(app, ids)
    assert post(ada, ids["meal_path"] + "/finalize").status_code == 303
    host_page = seen(ada.get(costs))
    assert "Final. Total: €43.50" in host_page
    assert "Your share: €20.30; you paid €31.00." in host_page
    assert "Bruno pays you €10.70" in host_page and "Bruno pays Chiara €0.90" in host_page
    bruno_page = seen(bruno.get(costs))
    assert "Your share: €11.60; you paid €0.00." in bruno_page
    assert "You pay Ada €10.70" in bruno_page and "You pay Chiara €0.90" in bruno_page
    assert "€20.30" not in bruno_page  # not Ada's share
    chiara_page = seen(chiara.get(costs))
    assert "Bruno pays you €0.90" in chiara_page and "€10.70" not in chiara_page
    # Other members see the total only.
    dmitri_page = seen(dmitri.get(costs))
    assert "Final. Total: €43.50" in dmitri_page
    assert "€20.30" not in dmitri_page and "€11.60" not in dmitri_page and "pays" not in dmitri_page
    # Frozen: nobody records more; reopening is written in the circle's log.
    assert post(ada, ids["meal_path"] + "/expenses", {"amount": "1"}).status_code == 422
    assert post(ada, ids["meal_path"] + "/reopen").status_code == 303
    assert count(app, Share) == 0
    with app.app_context():
        actions = db.session.scalars(select(LogEntry.action)).all()
    assert "meal_costs_reopened" in actions
    assert "reopened the costs of the meal" in seen(ada.get("/c/elm-street/log"))


def test_frozen_shares_stay_when_a_member_deletes_their_account(app):
    ids = elm_meal(app, style="cooked")
    ada, bruno = signed_in(app, "Ada"), signed_in(app, "Bruno")
    sign_up(bruno, ids)
    post(bruno, ids["meal_path"] + "/expenses", {"amount": "10"})
    _closed(app, ids)
    post(ada, ids["meal_path"] + "/finalize")
    with app.app_context():
        from app.auth import domain as auth
        from app.auth.models import User
        with write_unit():
            auth.delete_account(db.session.get(User, ids["Bruno"]))
    assert count(app, Share) == 2
    page = seen(ada.get(ids["meal_path"] + "/costs"))
    assert "a former member: share €5.00, paid €10.00" in page
    assert "You pay a former member €5.00" in page


def test_frozen_shares_stay_when_a_member_leaves_the_circle(app):
    ids = elm_meal(app, style="cooked")
    ada, bruno = signed_in(app, "Ada"), signed_in(app, "Bruno")
    sign_up(bruno, ids)
    post(ada, ids["meal_path"] + "/expenses", {"amount": "8"})
    _closed(app, ids)
    post(ada, ids["meal_path"] + "/finalize")
    assert "Bruno pays you €4.00" in seen(ada.get(ids["meal_path"] + "/costs"))
    assert post(bruno, "/c/elm-street/leave", {"confirm": "y"}).status_code in (302, 303)
    assert count(app, Share) == 2
    page = seen(ada.get(ids["meal_path"] + "/costs"))
    assert "a former member pays you €4.00" in page and "Bruno" not in page


def test_the_circle_currency_sets_the_minor_units(app):
    ids = elm_meal(app, style="cooked")
    ada, bruno = signed_in(app, "Ada"), signed_in(app, "Bruno")
    page = ada.get("/c/elm-street/settings").get_data(as_text=True)
    assert 'value="JPY"' in page
    settings_data = {"name": "Elm Street", "description": "", "area": "", "time_zone": "Europe/Berlin",
                     "language": "en", "join_mode": "open", "join_question": "", "currency": "JPY"}
    assert post(ada, "/c/elm-street/settings", settings_data).status_code == 303
    assert post(ada, "/c/elm-street/settings", settings_data | {"currency": "XXX"}).status_code == 422
    sign_up(bruno, ids)
    response = post(bruno, ids["meal_path"] + "/expenses", {"amount": "12.50"})
    assert response.status_code == 422 and field_error(response, "amount")
    assert post(bruno, ids["meal_path"] + "/expenses", {"amount": "1500"}).status_code == 303
    _closed(app, ids)
    post(ada, ids["meal_path"] + "/finalize")
    assert "Final. Total: ¥1,500" in seen(ada.get(ids["meal_path"] + "/costs"))
    assert "Ada pays Bruno ¥750" in seen(ada.get(ids["meal_path"] + "/costs")).replace("You pay Bruno", "Ada pays Bruno")
