"""Demo talk for `flask seed-demo`: discussions in a circle, on a gathering and a thing,
an open proposal, a closed one with its outcome, and a time poll that became a
gathering. Called from app/cli.py inside the seed's write unit."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..database import utcnow
from ..extensions import db
from . import domain
from .models import PollOption, Proposal


def _in(days: float, zone: str, hour: int | None = None) -> dt.datetime:
    moment = (utcnow() + dt.timedelta(days=days)).astimezone(ZoneInfo(zone)).replace(tzinfo=None, second=0,
                                                                                       microsecond=0)
    return moment.replace(hour=hour, minute=0) if hour is not None else moment


def _close_now(proposal: Proposal, days_ago: float = 2) -> None:
    """Demo history: a proposal that closed some days ago, its result recorded
    (no mail: nobody is told about the past)."""
    proposal.opened_at = utcnow() - dt.timedelta(days=days_ago + 7)
    proposal.closes_at = utcnow() - dt.timedelta(days=days_ago)
    proposal.result = domain.result_of(proposal).as_dict()
    proposal.closed_at = proposal.closes_at


def seed(circle, residents, elm: bool, scale: int = 1, gathering=None) -> None:
    zone = circle.time_zone
    host, *others = residents
    if not elm:
        laundry = domain.start_discussion(circle, host, "Laundry room rota", "Shall we take turns cleaning the lint "
                                                                              "filters? One week each.")
        domain.reply(laundry.id, others[0], "Yes please. I can start next week.")
        return
    key = domain.start_discussion(circle, others[0], "Who has the key to the bike shed?",
                                  "The repair café needs the shed on Thursday. Who has the key this week?")
    domain.reply(key.id, others[1], "I think Gus borrowed it for the ladders.")
    domain.reply(key.id, others[2], "I have it. I'll hang it back on the hook in the stairwell tonight.")
    domain.reply(key.id, host, "Thank you! Could we keep a second key somewhere?")
    for n in range(200 if scale > 1 else 0):  # the benchmark's long discussion
        domain.reply(key.id, residents[n % len(residents)], f"A thought on keys, number {n + 1}: **where** they live.")

    bench = domain.start_discussion(circle, host, "The courtyard bench",
                                    "The bench is grey and flaking. Paint it this spring?")
    domain.reply(bench.id, others[1], "Green would match the bins.")
    paint = domain.open_proposal(bench, host, kind="consensus", title="Paint the courtyard bench green",
                                 body="Two coats, on a dry Saturday. The co-op donates the paint.",
                                 closes_local=_in(5, zone), quorum=50, tell=False)
    domain.take_position(paint.id, others[1], "agree")
    domain.take_position(paint.id, others[2], "abstain", "I don't mind the colour.")

    quiet = domain.start_discussion(circle, others[1], "Quiet hours in the courtyard",
                                    "Some of us start work at six.")
    hours = domain.open_proposal(quiet, others[1], kind="consent", title="Quiet in the courtyard from 22:00",
                                 closes_local=_in(1, zone), quorum=50, tell=False)
    for person in (host, others[0], others[1]):
        domain.take_position(hours.id, person, "consent")
    _close_now(hours)
    hours.outcome_source = "Quiet from 22:00 on weeknights, from midnight on Fridays and Saturdays."
    hours.outcome_html = domain.render_markdown(hours.outcome_source)
    hours.review_on = (utcnow() + dt.timedelta(days=180)).date()

    summer = domain.start_discussion(circle, others[2], "Summer party", "Let's plan it together.")
    poll = domain.open_proposal(summer, others[2], kind="time_poll", title="When do we plan the summer party?",
                                closes_local=_in(1, zone), options=[_in(8, zone, 18), _in(9, zone, 18),
                                                                    _in(10, zone, 11)],
                                duration_minutes=90, tell=False)
    options = list(db.session.scalars(select(PollOption.id).where(PollOption.proposal_id == poll.id)
                                      .order_by(PollOption.starts_local)))
    for person, answers in ((host, ("yes", "no", "maybe")), (others[0], ("maybe", "yes", "yes")),
                            (others[1], ("yes", "yes", "no")), (others[2], ("yes", "maybe", "no"))):
        domain.answer_poll(poll.id, person, dict(zip(options, answers)))
    _close_now(poll, days_ago=0.1)
    domain.gathering_from_poll(poll.id, others[2], None, poll.result["chosen"], "Planning the summer party",
                               "Elm Street 12, courtyard")

    if gathering is not None:
        talk = domain.discussion_of_gathering(gathering)
        domain.reply(talk.id, others[0], "I'm running ten minutes late, keep me a bowl!")
        domain.reply(talk.id, others[1], "I can bring four chairs from the cellar.")

    # A thing's own discussion: asking before borrowing.
    from ..lending.models import Thing

    drill = db.session.scalar(select(Thing).where(Thing.circle_id == circle.id, Thing.status == "available")
                              .order_by(Thing.id))
    if drill is not None:
        talk = domain.discussion_of_thing(drill)
        domain.reply(talk.id, others[1], "Does it come with bits for concrete?")
        domain.reply(talk.id, drill.owner or host, "Yes, a small set in the case. Bring them all back, please.")
