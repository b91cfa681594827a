"""Stewardship from trust: vouches, the thresholds at their edges, the
founder's time, the last steward kept, and every refusal saving nothing."""

import pytest

from app.circles import domain as circles
from app.database import write_unit
from app.extensions import db
from app.trust import stewardship
from app.trust.stewardship import TrustError, threshold

from .helpers import login, post, text_of
from .trust_helpers import circle_of, circle_with, log_actions, person, stewards, vouch, vouch_count, withdraw


@pytest.mark.parametrize("eligible, needed", [(0, 2), (1, 2), (2, 2), (3, 2), (4, 2), (5, 3), (6, 3), (7, 4),
                                              (9, 5), (10, 5), (40, 5)])
def test_a_steward_needs_half_of_the_eligible_members_at_least_two_at_most_five(eligible, needed):
    assert threshold(eligible) == needed


def test_with_two_eligible_members_the_founder_stays_the_steward(app):
    ids = circle_with(app, ("Ada", 30), ("Bruno", 20), ("Chiara", 2))
    vouch(app, ids, "Bruno", "Chiara")
    assert stewards(app, ids) == {"Ada"}
    with app.app_context():
        state = stewardship.standing(ids["circle"])
        assert state.founding and state.eligible == {ids["Ada"], ids["Bruno"]}


def test_with_three_eligible_members_trust_decides_two_vouches_make_a_steward(app):
    ids = circle_with(app, ("Ada", 30), ("Bruno", 20), ("Chiara", 10))
    vouch(app, ids, "Bruno", "Chiara")
    # One vouch of the two needed: nobody has enough, so the founder stays, and the log says why.
    assert stewards(app, ids) == {"Ada"}
    assert log_actions(app, ids)[-1] == "steward_kept"
    assert vouch(app, ids, "Ada", "Chiara") == ["steward_trusted", "steward_ended"]
    assert stewards(app, ids) == {"Chiara"}
    bruno = app.test_client()
    login(bruno, email="bruno@example.org")
    log = text_of(bruno.get("/c/elm-street/log"))
    assert "Chiara is now a steward, with 2 vouches of the 2 needed." in log
    assert "Ada is no longer a steward: 0 vouches of the 2 needed." in log
    assert "Ada stays a steward with 0 vouches of the 2 needed: nobody has enough vouches" in log


def test_with_four_eligible_members_two_vouches_are_enough_with_five_three(app):
    ids = circle_with(app, ("Ada", 30), ("Bruno", 20), ("Chiara", 10), ("Dmitri", 9))
    vouch(app, ids, "Bruno", "Dmitri")
    assert "Dmitri" not in stewards(app, ids)
    vouch(app, ids, "Chiara", "Dmitri")
    assert stewards(app, ids) == {"Dmitri"}
    ids5 = circle_with(app, ("Eve", 30), ("Femi", 20), ("Gus", 10), ("Hana", 9), ("Ines", 8), slug="harbour")
    for who in ("Femi", "Gus"):
        vouch(app, ids5, who, "Hana")
    assert "Hana" not in stewards(app, ids5)
    vouch(app, ids5, "Ines", "Hana")
    assert "Hana" in stewards(app, ids5)


def test_a_member_who_just_joined_neither_vouches_nor_counts(app):
    ids = circle_with(app, ("Ada", 30), ("Bruno", 20), ("Chiara", 10), ("Dee", 6.9))
    before = vouch_count(app), log_actions(app, ids)
    with pytest.raises(TrustError, match="once you have been a member for 7 days"):
        vouch(app, ids, "Dee", "Bruno")
    assert (vouch_count(app), log_actions(app, ids)) == before
    with app.app_context():
        state = stewardship.standing(ids["circle"])
        assert ids["Dee"] not in state.eligible and state.needed == 2


def test_withdrawing_a_vouch_ends_a_stewardship(app):
    ids = circle_with(app, ("Ada", 30), ("Bruno", 20), ("Chiara", 10), ("Dmitri", 9))
    for who, whom in (("Bruno", "Ada"), ("Chiara", "Ada"), ("Ada", "Chiara"), ("Dmitri", "Chiara")):
        vouch(app, ids, who, whom)
    assert stewards(app, ids) == {"Ada", "Chiara"}
    assert withdraw(app, ids, "Dmitri", "Chiara") == ["steward_ended"]
    assert stewards(app, ids) == {"Ada"}


def test_the_last_steward_is_kept_with_the_most_vouches_then_the_longest_standing(app):
    ids = circle_with(app, ("Ada", 30), ("Bruno", 20), ("Chiara", 10), ("Dmitri", 9))
    for who, whom in (("Bruno", "Chiara"), ("Dmitri", "Chiara"), ("Ada", "Bruno")):
        vouch(app, ids, who, whom)
    assert stewards(app, ids) == {"Chiara"}
    assert withdraw(app, ids, "Dmitri", "Chiara") == ["steward_kept"]
    assert stewards(app, ids) == {"Chiara"}  # 1 vouch, below 2, but never without a steward
    assert withdraw(app, ids, "Bruno", "Chiara") == []  # still kept, the log not repeated
    with app.app_context():
        # She leaves: Bruno (1 vouch) is chosen over Ada and Dmitri (none).
        with write_unit():
            circles.leave_circle(ids["circle"], person(ids, "Chiara"))
    assert stewards(app, ids) == {"Bruno"}
    with app.app_context():
        with write_unit():
            circles.leave_circle(ids["circle"], person(ids, "Bruno"))
    # Nobody has a vouch now: the longest-standing member.
    assert stewards(app, ids) == {"Ada"}


def test_leaving_takes_ones_vouches_along(app):
    ids = circle_with(app, ("Ada", 30), ("Bruno", 20), ("Chiara", 10))
    vouch(app, ids, "Bruno", "Chiara")
    vouch(app, ids, "Chiara", "Bruno")
    with app.app_context(), write_unit():
        circles.leave_circle(ids["circle"], person(ids, "Chiara"))
    assert vouch_count(app) == 0


@pytest.mark.parametrize("who, whom, message", [
    ("Bruno", "Bruno", "You cannot vouch for yourself"),
    ("Bruno", "Eve", "not a member of this circle"),
    ("Bruno", None, "not a member of this circle"),
])
def test_bad_vouches_are_refused_and_nothing_is_saved(app, who, whom, message):
    ids = circle_with(app, ("Ada", 30), ("Bruno", 20), ("Chiara", 10))
    other = circle_with(app, ("Eve", 30), slug="harbour") if whom == "Eve" else {}
    ids["Eve"] = other.get("Eve")
    ids[None] = None
    before = vouch_count(app), log_actions(app, ids)
    with pytest.raises(TrustError, match=message):
        vouch(app, ids, who, whom)
    assert (vouch_count(app), log_actions(app, ids)) == before


def test_vouching_twice_and_withdrawing_a_vouch_never_given_are_refused(app):
    ids = circle_with(app, ("Ada", 30), ("Bruno", 20), ("Chiara", 10))
    vouch(app, ids, "Bruno", "Chiara")
    before = vouch_count(app), log_actions(app, ids)
    with pytest.raises(TrustError, match="You already vouch for Chiara"):
        vouch(app, ids, "Bruno", "Chiara")
    with pytest.raises(TrustError, match="You had not vouched for Ada"):
        withdraw(app, ids, "Bruno", "Ada")
    assert (vouch_count(app), log_actions(app, ids)) == before


def test_time_makes_members_eligible_and_the_hourly_settling_follows(app):
    ids = circle_with(app, ("Ada", 30), ("Bruno", 20), ("Chiara", 6))
    vouch(app, ids, "Bruno", "Chiara")
    vouch(app, ids, "Ada", "Chiara")
    assert stewards(app, ids) == {"Ada"}  # two eligible: the founder's time
    import datetime as dt

    from app.database import utcnow
    with app.app_context(), write_unit():
        assert stewardship.settle_all(utcnow() + dt.timedelta(days=2)) == 1
    assert stewards(app, ids) == {"Chiara"}


def test_the_trust_page_vouches_and_withdraws_with_and_without_javascript(app):
    ids = circle_with(app, ("Ada", 30), ("Bruno", 20), ("Chiara", 10))
    bruno = app.test_client()
    login(bruno, email="bruno@example.org")
    page = bruno.get("/c/elm-street/trust")
    assert "Vouch for Chiara" in text_of(page)
    response = post(bruno, "/c/elm-street/trust", {"member": ids["Chiara"], "do": "vouch"})
    assert response.status_code == 303
    assert "Your vouch is given." in text_of(bruno.get(response.location))
    response = post(bruno, "/c/elm-street/trust", {"member": ids["Chiara"], "do": "withdraw"},
                    headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = text_of(response)
    assert fragment.lstrip().startswith('<section id="trust"') and "Your vouch is withdrawn." in fragment
    assert "Vouch for Chiara" in fragment
    assert vouch_count(app) == 0


def test_the_trust_page_refuses_a_member_of_another_circle_clearly(app):
    ids = circle_with(app, ("Ada", 30), ("Bruno", 20), ("Chiara", 10))
    other = circle_with(app, ("Eve", 30), slug="harbour")
    with app.app_context():
        assert circles.membership_of(other["circle"], db.session.get(type(person(ids, "Ada")), ids["Ada"])) is None
    bruno = app.test_client()
    login(bruno, email="bruno@example.org")
    before = vouch_count(app), log_actions(app, ids)
    for data in ({"member": other["Eve"], "do": "vouch"}, {"member": "x\x00", "do": "vouch"},
                 {"member": ids["Ada"], "do": "steal"}, {"member": ids["Ada"], "do": "withdraw"}):
        response = post(bruno, "/c/elm-street/trust", data)
        assert response.status_code == 422, data
    assert "That person is not a member of this circle." in text_of(
        post(bruno, "/c/elm-street/trust", {"member": other["Eve"], "do": "vouch"}))
    assert (vouch_count(app), log_actions(app, ids)) == before
