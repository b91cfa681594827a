"""Proposals: opening, positions, hidden results, closing on time (a GET
never writes; `flask talk close` records once), outcomes and review dates,
time polls that become gatherings, and bad input."""

from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import select

from app.circles.models import Membership
from app.extensions import db
from app.gatherings.models import Gathering
from app.talk.models import Elector, PollAnswer, PollOption, Position, Proposal
from app.templating import day_words

from .circles_helpers import add_member
from .gatherings_helpers import count, digest_of, email, field_error, seen
from .helpers import day_in_words, make_user
from .talk_helpers import (WHEN, close, local_in, neighbourhood, position, post, propose, proposal_row,
                           signed_in, start, talk_path)


def later(days: float):
    return time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days), tick=True)


def proposal_form(**changes) -> dict:
    data = {"kind": "consent", "title": "Paint the shed green", "body": "Green lasts.",
            "closes_local": local_in(3).strftime(WHEN), "quorum": "50", "duration": "120"}
    return data | changes


def test_open_a_proposal_through_the_form(app):
    ids = neighbourhood(app)
    discussion = start(app, ids)
    ada = signed_in(app, "Ada")
    response = post(ada, talk_path(ids, f"/{discussion}/propose"), proposal_form())
    assert response.status_code == 303
    page = seen(ada.get(response.location))
    assert "Paint the shed green" in page and "50% of the 6 members when it opened" in page
    assert "Positions stay hidden until it closes" in page


def test_bad_proposals_are_refused_beside_the_field(app):
    ids = neighbourhood(app)
    discussion = start(app, ids)
    ada = signed_in(app, "Ada")
    url = talk_path(ids, f"/{discussion}/propose")
    past = post(ada, url, proposal_form(closes_local=local_in(-1).strftime(WHEN)))
    assert past.status_code == 422 and "passed" in field_error(past, "closes_local")
    far = post(ada, url, proposal_form(closes_local=local_in(400).strftime(WHEN)))
    assert far.status_code == 422 and "within a year" in field_error(far, "closes_local")
    one = post(ada, url, proposal_form(kind="time_poll", option1=local_in(10).strftime(WHEN)))
    assert one.status_code == 422 and "at least two times" in seen(one)
    twice = local_in(10).strftime(WHEN)
    same = post(ada, url, proposal_form(kind="time_poll", option1=twice, option2=twice))
    assert same.status_code == 422 and "same time is there twice" in seen(same)
    quorum = post(ada, url, proposal_form(quorum="150"))
    assert quorum.status_code == 422 and field_error(quorum, "quorum")
    assert count(app, Proposal) == 0


def test_positions_are_hidden_until_close_then_named(app):
    ids = neighbourhood(app)
    proposal = propose(app, start(app, ids), kind="consensus")
    bruno, chiara = signed_in(app, "Bruno"), signed_in(app, "Chiara")
    path = f"/c/elm-street/proposals/{proposal}"
    assert post(bruno, path + "/position", {"choice": "agree"}).status_code == 303
    assert post(chiara, path + "/position", {"choice": "block", "reason": "The shed floods."}).status_code == 303
    page = seen(bruno.get(path))
    assert "The shed floods." not in page and "Chiara" not in page and "blocks" not in page
    with later(4):
        after = seen(bruno.get(path))
        assert "not passed: blocked by 1, with reasons" in after
        assert "Chiara: The shed floods." in after and "Bruno: agrees" in after


def test_open_results_show_while_open(app):
    ids = neighbourhood(app)
    proposal = propose(app, start(app, ids), open_results=True)
    position(app, proposal, "Chiara", "consent")
    assert "Chiara: consents" in seen(signed_in(app, "Bruno").get(f"/c/elm-street/proposals/{proposal}"))


def test_an_objection_needs_a_reason_and_nothing_is_saved(app):
    ids = neighbourhood(app)
    proposal = propose(app, start(app, ids))
    bruno = signed_in(app, "Bruno")
    response = post(bruno, f"/c/elm-street/proposals/{proposal}/position", {"choice": "object", "reason": " "})
    assert response.status_code == 422 and "needs a reason" in field_error(response, "reason")
    assert count(app, Position) == 0
    wrong_kind = post(bruno, f"/c/elm-street/proposals/{proposal}/position", {"choice": "block", "reason": "x"})
    assert wrong_kind.status_code == 422 and count(app, Position) == 0


def test_a_block_needs_a_reason_and_nothing_is_saved(app):
    ids = neighbourhood(app)
    proposal = propose(app, start(app, ids), kind="consensus")
    bruno = signed_in(app, "Bruno")
    path = f"/c/elm-street/proposals/{proposal}/position"
    for reason in ("", "   ", "\n\t"):
        response = post(bruno, path, {"choice": "block", "reason": reason})
        assert response.status_code == 422 and "needs a reason" in field_error(response, "reason"), reason
    assert count(app, Position) == 0
    # A block that had a reason cannot lose it by a change either.
    assert post(bruno, path, {"choice": "block", "reason": "The shed floods."}).status_code == 303
    assert post(bruno, path, {"choice": "block", "reason": ""}).status_code == 422
    with app.app_context():
        assert db.session.execute(select(Position.choice, Position.reason)).all() == [("block", "The shed floods.")]
    # Disagreeing or abstaining needs none.
    assert post(bruno, path, {"choice": "disagree", "reason": ""}).status_code == 303


def test_changing_a_position_keeps_one_per_person(app):
    ids = neighbourhood(app)
    proposal = propose(app, start(app, ids))
    bruno = signed_in(app, "Bruno")
    path = f"/c/elm-street/proposals/{proposal}/position"
    post(bruno, path, {"choice": "consent"})
    post(bruno, path, {"choice": "object", "reason": "Too bright."})
    with app.app_context():
        rows = db.session.execute(select(Position.choice, Position.reason)).all()
    assert rows == [("object", "Too bright.")]


def test_only_members_at_opening_take_part_and_not_after_closing(app):
    ids = neighbourhood(app)
    proposal = propose(app, start(app, ids))
    with app.app_context():
        from app.circles.models import Circle

        add_member(db.session.get(Circle, ids["circle"]), make_user(email("Gus"), "Gus"))
    gus = signed_in(app, "Gus")
    late = post(gus, f"/c/elm-street/proposals/{proposal}/position", {"choice": "consent"})
    assert late.status_code == 422 and "members when the proposal opened" in seen(late)
    with later(4):
        closed = post(signed_in(app, "Bruno"), f"/c/elm-street/proposals/{proposal}/position",
                      {"choice": "consent"})
        assert closed.status_code == 422 and "has closed" in seen(closed)
    assert count(app, Position) == 0


def test_a_page_past_closing_shows_the_result_and_writes_nothing(app):
    ids = neighbourhood(app)
    proposal = propose(app, start(app, ids), quorum=50)
    for name in ("Ada", "Bruno", "Chiara"):
        position(app, proposal, name, "consent")
    with later(4):
        page = seen(signed_in(app, "Dmitri").get(f"/c/elm-street/proposals/{proposal}"))
        assert "passed: 3 of 6 took part, quorum 50%, no objections" in page
        assert proposal_row(app, proposal).closed_at is None


def test_flask_talk_close_records_once_and_tells_the_members(app, mailbox):
    ids = neighbourhood(app)
    proposal = propose(app, start(app, ids), kind="consensus", quorum=50)
    for name, choice in (("Ada", "agree"), ("Bruno", "agree"), ("Chiara", "abstain")):
        position(app, proposal, name, choice)
    assert close(app) == []  # not yet
    with later(4):
        runner = app.test_cli_runner()
        first = runner.invoke(args=["talk", "close"])
        assert "closed 1 proposal(s)" in first.output
        recorded = proposal_row(app, proposal)
        assert recorded.closed_at is not None and recorded.result["why"] == "passed"
        assert "closed 0 proposal(s)" in runner.invoke(args=["talk", "close"]).output
        assert proposal_row(app, proposal).closed_at == recorded.closed_at
    # Opened and closed are not time-critical: both in the inbox, and in the digest.
    inbox = seen(signed_in(app, "Dmitri").get("/notices"))
    assert "A proposal in Elm Street: Paint the shed green" in inbox and "Closed: Paint the shed green" in inbox
    with later(5):
        digest = digest_of(app, mailbox, "Dmitri")
    assert "Closed: Paint the shed green" in digest
    assert "passed: 3 of 6 took part, quorum 50%, no blocks" in digest


def test_a_member_who_left_before_closing_takes_their_position_back(app):
    ids = neighbourhood(app)
    proposal = propose(app, start(app, ids), quorum=50)
    for name in ("Ada", "Bruno", "Chiara"):
        position(app, proposal, name, "consent")
    position(app, proposal, "Dmitri", "object", "Too bright.")
    with app.app_context():
        from app.circles import domain as circles
        from app.database import write_unit
        from .talk_helpers import user

        with write_unit():
            circles.leave_circle(ids["circle"], user("Dmitri"))
    with later(4):
        close(app)
    result = proposal_row(app, proposal).result
    # Dmitri's objection left with him; the members at opening stay 6.
    assert result["why"] == "passed" and result["took_part"] == 3 and result["members"] == 6


def test_outcome_and_review_date(app):
    ids = neighbourhood(app)
    proposal = propose(app, start(app, ids), who="Bruno")
    position(app, proposal, "Ada", "consent")
    path = f"/c/elm-street/proposals/{proposal}/outcome"
    bruno = signed_in(app, "Bruno")
    early = post(bruno, path, {"outcome": "Green it is."})
    assert early.status_code == 422 and count(app, Proposal, Proposal.outcome_source != "") == 0
    with later(4):
        close(app)
        assert post(signed_in(app, "Chiara"), path, {"outcome": "Mine"}).status_code == 403
        review = dt.date.today() + dt.timedelta(days=200)
        assert post(bruno, path, {"outcome": "Green it is. Dmitri buys the paint.", "review_on": review.isoformat()}
                    ).status_code == 303
        page = seen(bruno.get(f"/c/elm-street/proposals/{proposal}"))
        assert "Green it is. Dmitri buys the paint." in page and f"We look at it again on {day_in_words(review)}." in page
        past = post(bruno, path, {"outcome": "x", "review_on": "2001-01-01"})
        assert past.status_code == 422 and field_error(past, "review_on")


def test_a_time_poll_becomes_a_gathering_in_one_step(app):
    ids = neighbourhood(app)
    first, second = local_in(10).replace(hour=18, minute=0), local_in(11).replace(hour=18, minute=0)
    proposal = propose(app, start(app, ids), kind="time_poll", title="Garden planning", options=[first, second],
                       duration_minutes=90)
    with app.app_context():
        options = list(db.session.scalars(select(PollOption.id).order_by(PollOption.starts_local)))
    path = f"/c/elm-street/proposals/{proposal}"
    for name, answers in (("Ada", ("yes", "no")), ("Bruno", ("maybe", "yes")), ("Chiara", ("no", "yes"))):
        client = signed_in(app, name)
        response = post(client, path + "/poll", {f"option-{o}": a for o, a in zip(options, answers)})
        assert response.status_code == 303
    # Answers are open as it fills; changing them keeps one per option.
    post(signed_in(app, "Chiara"), path + "/poll", {f"option-{options[0]}": "maybe", f"option-{options[1]}": "yes"})
    assert count(app, PollAnswer) == 6
    assert "If need be: Bruno, Chiara" in seen(signed_in(app, "Dmitri").get(path))
    bad = post(signed_in(app, "Dmitri"), path + "/poll", {f"option-{options[0]}": "perhaps"})
    assert bad.status_code == 422
    with later(4):
        ada = signed_in(app, "Ada")
        page = ada.get(path)
        assert "a time was found" in seen(page) and "Make it a gathering" in seen(page)
        response = post(ada, path + "/gathering", {"option": str(options[1]), "title": "Garden planning",
                                                   "place": "Courtyard"})
        assert response.status_code == 303
        with app.app_context():
            gathering = db.session.scalar(select(Gathering).where(Gathering.title == "Garden planning"))
            assert gathering.starts_local == second and gathering.ends_local == second + dt.timedelta(minutes=90)
        again = post(ada, path + "/gathering", {"option": str(options[1]), "title": "Twice"})
        assert again.status_code == 422 and count(app, Gathering, Gathering.title == "Twice") == 0
        assert proposal_row(app, proposal).gathering_id == gathering.id


def test_electors_are_the_members_at_opening(app):
    ids = neighbourhood(app)
    proposal = propose(app, start(app, ids))
    with app.app_context():
        electors = set(db.session.scalars(select(Elector.user_id).where(Elector.proposal_id == proposal)))
        members = set(db.session.scalars(select(Membership.user_id).where(Membership.circle_id == ids["circle"])))
    assert electors == members and proposal_row(app, proposal).members_at_opening == 6


def test_home_and_overview_show_what_waits_for_me(app):
    ids = neighbourhood(app)
    proposal = propose(app, start(app, ids), title="Buy a ladder")
    bruno = signed_in(app, "Bruno")
    assert "Buy a ladder" in seen(bruno.get("/"))
    assert "Buy a ladder" in seen(bruno.get("/c/elm-street/"))
    position(app, proposal, "Bruno", "consent")
    assert "Buy a ladder" not in seen(bruno.get("/"))


def test_a_review_date_is_in_the_circle_calendar_feed(app):
    import re

    ids = neighbourhood(app)
    proposal = propose(app, start(app, ids), who="Bruno")
    review = dt.date.today() + dt.timedelta(days=90)
    with later(4):
        close(app)
        bruno = signed_in(app, "Bruno")
        post(bruno, f"/c/elm-street/proposals/{proposal}/outcome",
             {"outcome": "Green.", "review_on": review.isoformat()})
        assert post(bruno, "/c/elm-street/calendar", {"which": "ours"}).status_code == 303
        page = bruno.get("/c/elm-street/calendar").get_data(as_text=True)
        feed = re.search(r'id="feed-ours"[^>]*value="https?://[^/]+([^"]+)"', page).group(1)
        ical = app.test_client().get(feed).get_data(as_text=True).replace("\r\n ", "")
    event = next(e for e in ical.split("BEGIN:VEVENT")[1:] if "SUMMARY:Review: Paint the shed green" in e)
    assert f"DTSTART;VALUE=DATE:{review:%Y%m%d}" in event
    assert f"DTEND;VALUE=DATE:{review + dt.timedelta(days=1):%Y%m%d}" in event
    assert f"/c/elm-street/proposals/{proposal}" in ical


def test_those_without_a_position_are_reminded_once_a_day_before_closing(app, mailbox):
    ids = neighbourhood(app)
    proposal = propose(app, start(app, ids))
    position(app, proposal, "Bruno", "consent")
    runner = app.test_cli_runner()
    assert "reminded about 0" in runner.invoke(args=["talk", "close"]).output  # three days ahead: not yet
    with later(2.5):
        assert "reminded about 1" in runner.invoke(args=["talk", "close"]).output
        assert "reminded about 0" in runner.invoke(args=["talk", "close"]).output
    def reminders(name):
        return [m["Subject"] for m in mailbox.to(email(name)) if m["Subject"].startswith("Closes")]

    assert reminders("Dmitri") == ["Closes within a day: Paint the shed green"]
    assert reminders("Bruno") == []  # he has taken his position
