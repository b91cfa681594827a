"""Removal by deliberation, agreements with versions, and moderation: the
rules, and the pages a member and a steward use."""

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.circles.models import LogEntry, Membership
from app.database import utcnow, write_unit
from app.extensions import db
from app.notify.models import Notice
from app.talk import domain as talk
from app.talk.models import Discussion, Elector, Proposal, Reply
from app.trust import agreements, moderation, removal
from app.trust.models import AgreementVersion, Report
from app.trust.stewardship import TrustError

from .helpers import login, post, text_of
from .trust_helpers import circle_of, circle_with, log_actions, person


def _membership(ids, name):
    return db.session.scalar(select(Membership).where(Membership.circle_id == ids["circle"],
                                                      Membership.user_id == ids[name]))


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _close(proposal_id: int) -> None:
    """Move a proposal's time on: it opened eight days ago and closed a minute ago (then commit)."""
    proposal = db.session.get(Proposal, proposal_id)
    proposal.opened_at = utcnow() - dt.timedelta(days=8)
    proposal.closes_at = utcnow() - dt.timedelta(minutes=1)
    db.session.commit()


def _neighbours(app):
    return circle_with(app, ("Ada", 30), ("Bruno", 20), ("Chiara", 10), ("Dmitri", 9))


def _client(app, name):
    client = app.test_client()
    login(client, email=f"{name.lower()}@example.org")
    return client


# --- removal ----------------------------------------------------------------------------------

def test_a_removal_is_a_seven_day_consent_proposal_the_person_is_told_and_does_not_take_part(app):
    ids = _neighbours(app)
    with app.app_context():
        with write_unit():
            proposal = removal.open_removal(circle_of(ids), _membership(ids, "Ada"), ids["Dmitri"],
                                            "Dmitri keeps the shed key for weeks.")
        assert proposal.kind == "consent" and proposal.action == "remove_member"
        assert dt.timedelta(days=7) <= proposal.closes_at - proposal.opened_at <= dt.timedelta(days=7, minutes=2)
        electors = set(db.session.scalars(select(Elector.user_id).where(Elector.proposal_id == proposal.id)))
        assert electors == {ids["Ada"], ids["Bruno"], ids["Chiara"]}
        told = db.session.scalar(select(Notice).where(Notice.kind == "trust_removal", Notice.user_id == ids["Dmitri"]))
        assert "Dmitri keeps the shed key" in told.body
        proposal_id, discussion_id = proposal.id, proposal.discussion_id
    # The person answers in its discussion.
    dmitri = _client(app, "Dmitri")
    response = post(dmitri, f"/c/elm-street/talk/{discussion_id}/reply", {"body": "It is back on the hook."})
    assert response.status_code == 303
    page = text_of(dmitri.get(f"/c/elm-street/proposals/{proposal_id}"))
    assert "Only those who were members when it opened take part." in page
    assert "Dmitri leaves the circle, as when someone leaves" in page


@pytest.mark.parametrize("who, about, reason, message", [
    ("Ada", "Ada", "tired", "You cannot propose your own removal"),
    ("Ada", "Eve", "who?", "not a member of this circle"),
    ("Ada", "Dmitri", "  ", "Say why"),
    ("Bruno", "Dmitri", "I say so", "Only a steward"),
])
def test_bad_removal_proposals_are_refused_and_nothing_is_saved(app, who, about, reason, message):
    ids = _neighbours(app)
    ids["Eve"] = circle_with(app, ("Eve", 30), slug="harbour")["Eve"]
    with app.app_context():
        before = _count(Proposal), _count(Discussion), _count(LogEntry)
        with pytest.raises(TrustError, match=message):
            with write_unit():
                removal.open_removal(circle_of(ids), _membership(ids, who), ids[about], reason)
        assert (_count(Proposal), _count(Discussion), _count(LogEntry)) == before


def test_one_open_removal_per_person_and_a_passed_one_removes_as_leaving_does(app):
    ids = _neighbours(app)
    newcomer = circle_with(app, ("Femi", 0), slug="other")["Femi"]
    with app.app_context():
        with write_unit():
            proposal = removal.open_removal(circle_of(ids), _membership(ids, "Ada"), ids["Dmitri"], "The key.")
        before = _count(Proposal)
        with pytest.raises(TrustError, match="already open"):
            with write_unit():
                removal.open_removal(circle_of(ids), _membership(ids, "Ada"), ids["Dmitri"], "Again.")
        assert _count(Proposal) == before
        # Someone who joins after it opened does not take part.
        db.session.add(Membership(circle_id=ids["circle"], user_id=newcomer))
        db.session.commit()
        with pytest.raises(talk.TalkError, match="members when the proposal opened"):
            with write_unit():
                talk.take_position(proposal.id, db.session.get(type(person(ids, "Ada")), newcomer), "consent")
        with write_unit():
            talk.take_position(proposal.id, person(ids, "Bruno"), "consent")
        _close(proposal.id)
        with write_unit():
            assert talk.close_due() == [proposal.id]
        assert db.session.scalar(select(Membership).where(Membership.circle_id == ids["circle"],
                                                          Membership.user_id == ids["Dmitri"])) is None
        assert db.session.get(Proposal, proposal.id).action_done_at is not None
        assert db.session.scalar(select(Notice.id).where(Notice.kind == "trust_removed",
                                                         Notice.user_id == ids["Dmitri"])) is not None
    assert log_actions(app, ids)[-1] == "member_removed" or "member_removed" in log_actions(app, ids)
    assert "Dmitri was removed from the circle: the members decided it (The key.)." in text_of(
        _client(app, "Bruno").get("/c/elm-street/log"))


def test_an_objection_keeps_the_member(app):
    ids = _neighbours(app)
    with app.app_context():
        with write_unit():
            proposal = removal.open_removal(circle_of(ids), _membership(ids, "Ada"), ids["Dmitri"], "The key.")
            talk.take_position(proposal.id, person(ids, "Bruno"), "object", "Let us talk first.")
        _close(proposal.id)
        with write_unit():
            talk.close_due()
        assert _membership(ids, "Dmitri") is not None
        assert db.session.get(Proposal, proposal.id).action_done_at is None


def test_the_removal_page_opens_one_and_refuses_with_clear_messages(app):
    ids = _neighbours(app)
    other = circle_with(app, ("Eve", 30), slug="harbour")
    ada = _client(app, "Ada")
    page = ada.get(f"/c/elm-street/trust/removal?member={ids['Dmitri']}")
    assert page.status_code == 200 and f'<option selected value="{ids["Dmitri"]}">' in page.get_data(as_text=True)
    with app.app_context():
        before = _count(Proposal)
    for data, message in (({"member": other["Eve"], "reason": "x"}, "not a member of this circle"),
                          ({"member": ids["Ada"], "reason": "x"}, "You cannot propose your own removal"),
                          ({"member": ids["Dmitri"], "reason": ""}, "Say why"),
                          ({"member": "\x00", "reason": "x"}, "not a member of this circle")):
        response = post(ada, "/c/elm-street/trust/removal", data | {"kind": "consent"})
        assert response.status_code == 422 and message in text_of(response), data
    with app.app_context():
        assert _count(Proposal) == before
    response = post(ada, "/c/elm-street/trust/removal", {"member": ids["Dmitri"], "reason": "The key.",
                                                          "kind": "consent"})
    assert response.status_code == 303
    response = post(ada, "/c/elm-street/trust/removal", {"member": ids["Dmitri"], "reason": "Again.",
                                                          "kind": "consent"})
    assert response.status_code == 422 and "already open" in text_of(response)
    assert _client(app, "Bruno").get("/c/elm-street/trust/removal").status_code == 403


# --- agreements ---------------------------------------------------------------------------------

def test_a_steward_changes_the_agreements_logged_and_members_told_each_version_a_diff(app):
    ids = _neighbours(app)
    ada = _client(app, "Ada")
    review = (utcnow() + dt.timedelta(days=90)).date()
    response = post(ada, "/c/elm-street/agreements/change", {"body": "- Quiet after 22:00\n- Bikes in the shed",
                                                              "note": "First rules", "how": "now",
                                                              "review_on": review.isoformat()})
    assert response.status_code == 303 and response.location.endswith("/agreements/1")
    post(ada, "/c/elm-street/agreements/change", {"body": "- Quiet after 23:00\n- Bikes in the shed",
                                                  "note": "Longer evenings", "how": "now"})
    bruno = _client(app, "Bruno")
    page = text_of(bruno.get("/c/elm-street/agreements/2"))
    assert "What changed from version 1" in page
    assert "removed: − - Quiet after 22:00" in re.sub(r"<[^>]+>", "", page)
    assert "added: + - Quiet after 23:00" in re.sub(r"<[^>]+>", "", page)
    assert "Ada changed the agreements (version 2): Longer evenings" in text_of(bruno.get("/c/elm-street/log"))
    with app.app_context():
        told = db.session.scalars(select(Notice.user_id).where(Notice.kind == "trust_agreements")).all()
        assert ids["Ada"] not in told and {ids["Bruno"], ids["Chiara"], ids["Dmitri"]} <= set(told)
        assert [e.day for e in agreements.review_entries(ids["circle"], "elm-street")] == []  # v2 has none
        with write_unit():
            agreements.change(circle_of(ids), _membership(ids, "Ada"), "- Quiet after 23:00", "Shorter", review)
        assert [e.day for e in agreements.review_entries(ids["circle"], "elm-street")] == [review]


def test_members_propose_a_change_which_comes_into_force_when_it_passes(app):
    ids = _neighbours(app)
    bruno = _client(app, "Bruno")
    page = text_of(bruno.get("/c/elm-street/agreements/change"))
    assert "Change them now" not in page
    response = post(bruno, "/c/elm-street/agreements/change", {"body": "- Be kind", "note": "Rules at last",
                                                                "how": "now"})
    assert response.status_code == 422  # not a choice for a member
    response = post(bruno, "/c/elm-street/agreements/change", {"body": "- Be kind", "note": "Rules at last",
                                                                "how": "propose"})
    assert response.status_code == 303
    proposal_id = int(response.location.rsplit("/", 1)[1])
    assert "+ - Be kind" in re.sub(r"<[^>]+>", "", text_of(bruno.get(response.location)))
    with app.app_context():
        assert agreements.current(ids["circle"]) is None
        with write_unit():
            talk.take_position(proposal_id, person(ids, "Ada"), "consent")
        _close(proposal_id)
        with write_unit():
            talk.close_due()
        assert agreements.current(ids["circle"]).body_source == "- Be kind"
    assert "The circle decided new agreements (version 1): Rules at last" in text_of(
        bruno.get("/c/elm-street/log"))


@pytest.mark.parametrize("data, message", [
    ({"body": "", "note": "x", "how": "now"}, "Write the agreements first."),
    ({"body": "- a", "note": "", "how": "now"}, "Say in a few words what changes and why."),
    ({"body": "- a", "note": "x", "how": "now", "review_on": "2001-01-01"}, "review date still to come"),
    ({"body": "- a", "note": "x", "how": "now", "review_on": "tomorrow"}, "Not a valid date value."),
])
def test_bad_agreements_are_refused_and_nothing_is_saved(app, data, message):
    _neighbours(app)
    response = post(_client(app, "Ada"), "/c/elm-street/agreements/change", data)
    assert response.status_code == 422 and message in text_of(response)
    with app.app_context():
        assert _count(AgreementVersion) == 0


# --- moderation ------------------------------------------------------------------------------------

def _discussion_with_reply(app, ids):
    with app.app_context(), write_unit():
        discussion = talk.start_discussion(circle_of(ids), person(ids, "Chiara"), "Vans by the bins", "Again.")
        item = talk.reply(discussion.id, person(ids, "Dmitri"), "Some people never learn.")
        return discussion.id, item.id


def test_report_then_a_steward_hides_it_with_a_reason_the_author_still_sees_it(app):
    ids = _neighbours(app)
    discussion_id, reply_id = _discussion_with_reply(app, ids)
    bruno = _client(app, "Bruno")
    assert f"/c/elm-street/report/reply/{reply_id}" in bruno.get(f"/c/elm-street/talk/{discussion_id}").get_data(
        as_text=True)
    response = post(bruno, f"/c/elm-street/report/reply/{reply_id}", {"reason": "A telling-off in public."})
    assert response.status_code == 303
    ada = _client(app, "Ada")
    queue = text_of(ada.get("/c/elm-street/moderation"))
    assert "A telling-off in public." in queue and "Reported by Bruno" in queue
    with app.app_context():
        report_id = db.session.scalar(select(Report.id))
    response = post(ada, f"/c/elm-street/moderation/{report_id}", {"action": "hide",
                                                                   "note": "Talk to them directly."})
    assert response.status_code == 303
    others = text_of(_client(app, "Chiara").get(f"/c/elm-street/talk/{discussion_id}"))
    assert "Hidden by the stewards: Talk to them directly." in others and "never learn" not in others
    author = text_of(_client(app, "Dmitri").get(f"/c/elm-street/talk/{discussion_id}"))
    assert "The stewards hid this from others: Talk to them directly." in author and "never learn" in author
    log = text_of(bruno.get("/c/elm-street/log"))
    assert "Ada hid a reply by Dmitri: Talk to them directly." in log and "Bruno" not in log.split("Ada hid")[1]
    # Reporting it again is refused politely, and saves nothing.
    response = post(bruno, f"/c/elm-street/report/reply/{reply_id}", {"reason": "Still there?"})
    assert response.status_code == 422 and "already hidden this" in text_of(response)
    with app.app_context():
        assert _count(Report) == 1


def test_warn_and_dismiss_are_logged_with_their_reasons_and_the_author_is_told(app):
    ids = _neighbours(app)
    discussion_id, reply_id = _discussion_with_reply(app, ids)
    with app.app_context():
        with write_unit():
            first = moderation.report(circle_of(ids), person(ids, "Bruno"), "member", ids["Dmitri"], "Shouting.")
            second = moderation.report(circle_of(ids), person(ids, "Bruno"), "discussion", discussion_id, "Heated.")
        with write_unit():
            moderation.act(circle_of(ids), _membership(ids, "Ada"), first.id, "warn", "Please lower your voice.")
            moderation.act(circle_of(ids), _membership(ids, "Ada"), second.id, "dismiss", "It is fine.")
        warned = db.session.scalar(select(Notice).where(Notice.kind == "trust_warning", Notice.user_id == ids["Dmitri"]))
        assert "Please lower your voice." in warned.body
        with pytest.raises(TrustError, match="already answered"):
            with write_unit():
                moderation.act(circle_of(ids), _membership(ids, "Ada"), first.id, "dismiss", "Again")
    log = text_of(_client(app, "Chiara").get("/c/elm-street/log"))
    assert "Ada warned Dmitri about a member: Please lower your voice." in log
    assert "Ada looked at a report about a discussion and left it as it is: It is fine." in log


def test_bad_reports_are_refused_politely_and_nothing_is_saved(app):
    ids = _neighbours(app)
    discussion_id, reply_id = _discussion_with_reply(app, ids)
    other = circle_with(app, ("Eve", 30), slug="harbour")
    dmitri = _client(app, "Dmitri")
    page = dmitri.get(f"/c/elm-street/report/reply/{reply_id}")
    assert page.status_code == 200 and "This is about you" in text_of(page) and "<textarea" not in text_of(page)
    assert post(dmitri, f"/c/elm-street/report/member/{ids['Dmitri']}", {"reason": "me"}).status_code == 422
    bruno = _client(app, "Bruno")
    response = post(bruno, f"/c/elm-street/report/reply/{reply_id}", {"reason": "  "})
    assert response.status_code == 422 and "Say what is wrong" in text_of(response)
    assert bruno.get(f"/c/elm-street/report/member/{other['Eve']}").status_code == 404
    assert post(bruno, f"/c/elm-street/report/member/{other['Eve']}", {"reason": "x"}).status_code == 404
    ada = _client(app, "Ada")
    response = post(ada, "/c/elm-street/moderation/999999", {"action": "hide", "note": "x"})
    assert response.status_code == 404
    with app.app_context():
        assert _count(Report) == 0
        assert db.session.get(Reply, reply_id).hidden_reason is None


def test_reporting_has_a_rate_limit(make_app):
    app = make_app(LIMIT_REPORTS_PER_MEMBER="2 per hour")
    ids = _neighbours(app)
    with app.app_context(), write_unit():
        discussion = talk.start_discussion(circle_of(ids), person(ids, "Chiara"), "Many", "")
        replies = [talk.reply(discussion.id, person(ids, "Dmitri"), f"Reply {n}").id for n in range(3)]
    bruno = _client(app, "Bruno")
    codes = [post(bruno, f"/c/elm-street/report/reply/{r}", {"reason": "Too much."}).status_code for r in replies]
    assert codes == [303, 303, 429]
    with app.app_context():
        assert _count(Report) == 2


def test_a_steward_hides_a_gathering_description_and_opens_a_removal_from_a_report(app):
    from .gatherings_helpers import make_gathering

    ids = _neighbours(app)
    with app.app_context():
        gathering = make_gathering(circle_of(ids), person(ids, "Dmitri"), title="Loud party")
        db.session.commit()
        gathering_id = gathering.id
        with write_unit():
            report = moderation.report(circle_of(ids), person(ids, "Bruno"), "gathering", gathering_id, "Rude text.")
        report_id = report.id
    ada = _client(app, "Ada")
    queue = ada.get("/c/elm-street/moderation").get_data(as_text=True)
    assert f"/c/elm-street/trust/removal?member={ids['Dmitri']}&amp;report={report_id}" in queue
    response = post(ada, f"/c/elm-street/trust/removal?member={ids['Dmitri']}&report={report_id}",
                    {"member": ids["Dmitri"], "reason": "Rude again and again.", "kind": "consent",
                     "report": report_id})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Report, report_id).resolution == "removal"
        with write_unit():
            again = moderation.report(circle_of(ids), person(ids, "Chiara"), "gathering", gathering_id, "Rude.")
        with write_unit():
            moderation.act(circle_of(ids), _membership(ids, "Ada"), again.id, "hide", "Rude words.")
    assert "Hidden by the stewards: Rude words." in text_of(_client(app, "Bruno").get(
        f"/c/elm-street/gatherings/{gathering_id}"))


def test_seed_demo_has_vouches_agreements_with_history_a_resolved_report_and_a_closed_removal(app):
    from app.cli import seed_demo
    from app.trust.models import Vouch

    with app.test_request_context():
        seed_demo(1)
        assert _count(Vouch) >= 8
        assert _count(Report, Report.resolved_at.is_not(None)) >= 1
        assert _count(Report, Report.resolved_at.is_(None)) >= 1
        assert _count(Proposal, Proposal.action == "remove_member", Proposal.closed_at.is_not(None)) == 1
        db.session.remove()
    client = app.test_client()
    assert login(client, email="ada@example.org", password="bring-a-dish-and-a-friend").status_code == 303
    page = text_of(client.get("/c/elm-street/agreements"))
    assert "version 2" in page and "Version 1" in page and "(it is in the circle’s calendar)" in page
    trust = text_of(client.get("/c/elm-street/trust"))
    assert "4 members are counted (here 7 days or more): a steward needs 2 vouches." in trust
    assert "Remarks about a neighbour" in text_of(client.get("/c/elm-street/moderation"))
    bruno = app.test_client()
    login(bruno, email="bruno@example.org", password="bring-a-dish-and-a-friend")
    assert "Bruno Lindqvist proposed removing Hana Takahashi from the circle" in text_of(bruno.get("/c/harbour-coop/log"))


def test_a_hidden_discussion_keeps_its_title_for_its_author_alone(app):
    ids = _neighbours(app)
    discussion_id, _reply_id = _discussion_with_reply(app, ids)
    with app.app_context():
        with write_unit():
            report = moderation.report(circle_of(ids), person(ids, "Bruno"), "discussion", discussion_id, "Heated.")
        with write_unit():
            moderation.act(circle_of(ids), _membership(ids, "Ada"), report.id, "hide", "Cool down, please.")
    other = text_of(_client(app, "Bruno").get("/c/elm-street/talk"))
    assert "A hidden discussion" in other and "Vans by the bins" not in other
    page = text_of(_client(app, "Bruno").get(f"/c/elm-street/talk/{discussion_id}"))
    assert "Hidden by the stewards: Cool down, please." in page and "Vans by the bins" not in page
    assert "Vans by the bins" in text_of(_client(app, "Chiara").get("/c/elm-street/talk"))


def test_times_show_in_the_circles_zone_whatever_the_readers(app):
    ids = _neighbours(app)
    with app.app_context():
        with write_unit():
            row = agreements.change(circle_of(ids), _membership(ids, "Ada"), "- Be kind", "First rules")
        row = db.session.get(AgreementVersion, row.id)
        row.in_force_at = dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.timezone.utc)  # summer: Berlin is UTC+2
        person(ids, "Bruno").time_zone = "America/New_York"
        db.session.commit()
    page = text_of(_client(app, "Bruno").get("/c/elm-street/agreements"))
    assert "In force since Wed 1 Jul 2026, 12:00" in page and "06:00" not in page


def test_a_member_is_reported_from_one_page_with_a_choice_of_members(app):
    ids = _neighbours(app)
    other = circle_with(app, ("Eve", 30), slug="harbour")
    bruno = _client(app, "Bruno")
    page = bruno.get("/c/elm-street/report/member").get_data(as_text=True)
    assert f'<option value="{ids["Dmitri"]}">Dmitri</option>' in page and ">Bruno</option>" not in page
    for data, message in (({"member": other["Eve"], "reason": "x"}, "not a member of this circle"),
                          ({"member": ids["Bruno"], "reason": "x"}, "This is about you"),
                          ({"member": ids["Dmitri"], "reason": ""}, "Say what is wrong"),
                          ({"member": "\x00", "reason": "x"}, "not a member of this circle")):
        response = post(bruno, "/c/elm-street/report/member", data)
        assert response.status_code == 422 and message in text_of(response), data
    with app.app_context():
        assert _count(Report) == 0
    response = post(bruno, "/c/elm-street/report/member", {"member": ids["Dmitri"], "reason": "Shouting."})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Report.about_id)) == ids["Dmitri"]
