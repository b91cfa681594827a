"""Demo trust for `flask seed-demo`: members who have been in their circle for
months, vouches that make the stewards, agreements with a history (a
steward's first version, a change the circle decided), a report the
stewards answered and one waiting, and a removal proposal that closed
without passing. Called from app/cli.py inside the seed's write unit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..circles.models import Membership
from ..database import utcnow
from ..extensions import db
from ..talk import domain as talk
from . import agreements, moderation, removal, stewardship

FIRST = """# Sharing things
- Ask before you borrow, and bring it back clean.
- Broken? Say so: we fix it together at the repair café.

# The courtyard
- Quiet after 22:00, also in summer.
- Bikes in the shed, not in the stairwell.
"""

SECOND = """# Sharing things
- Ask before you borrow, and bring it back clean.
- Broken? Say so: we fix it together at the repair café.

# The courtyard
- Quiet after 22:00 on weekdays, after 23:00 on Fridays and Saturdays.
- Bikes in the shed, not in the stairwell.
- The last one out closes the gate.

# Talking to each other
- Talk to a neighbour first, and to the stewards if that does not help.
"""


def _close_in_the_past(proposal, days_ago: float) -> None:
    """Demo history: a proposal that closed some days ago, its result recorded."""
    proposal.opened_at = utcnow() - dt.timedelta(days=days_ago + 7)
    proposal.closes_at = utcnow() - dt.timedelta(days=days_ago)
    proposal.result = talk.result_of(proposal).as_dict()
    proposal.closed_at = proposal.closes_at


def _membership(circle, user) -> Membership:
    return db.session.scalar(select(Membership).where(Membership.circle_id == circle.id,
                                                      Membership.user_id == user.id))


def seed(circle, residents, elm: bool) -> None:
    founder, *others = residents
    now = utcnow()
    for months, person in enumerate(residents):  # the founder first, the next three a month apart, then the rest
        _membership(circle, person).joined_at = now - dt.timedelta(days=max(200 - 30 * months, 30))
    db.session.flush()
    # Everyone trusts the founder, and two trust the second member: both are stewards.
    for person in others:
        stewardship.vouch(circle, person, founder.id)
    stewardship.vouch(circle, founder, others[0].id)
    stewardship.vouch(circle, others[1], others[0].id)
    db.session.flush()
    founding = _membership(circle, founder)
    if elm:
        _agreements(circle, founding, residents)
        _reports(circle, founding, residents)
    else:
        _removal(circle, founding, residents)


def _agreements(circle, founding: Membership, residents) -> None:
    founder, *others = residents
    first = agreements.change(circle, founding, FIRST, "Our first agreements, from the house meeting")
    first.in_force_at = first.created_at = utcnow() - dt.timedelta(days=60)
    proposal = agreements.propose(circle, others[1], SECOND, "Longer evenings on weekends; the gate; talking first",
                                  review_on=(utcnow() + dt.timedelta(days=120)).date())
    for person in (founder, others[0], others[2]):
        talk.take_position(proposal.id, person, "consent")
    _close_in_the_past(proposal, days_ago=5)
    agreements.passed(proposal)
    proposal.action_done_at = proposal.closed_at
    talk.set_outcome(proposal.id, founder, founding, "Version 2 of our agreements is in force.", None)


def _reports(circle, founding: Membership, residents) -> None:
    founder, chiara, elif_, gus = residents[:4]
    parking = talk.start_discussion(circle, chiara, "Cars in the courtyard",
                                    "Delivery vans keep parking by the bins. Shall we put up a sign?")
    rude = talk.reply(parking.id, elif_, "Everyone knows whose van it is. Some people never learn.")
    talk.reply(parking.id, gus, "A sign sounds good. I can paint one.")
    answered = moderation.report(circle, gus, "reply", rude.id, "This points at a neighbour without naming them; "
                                                                 "it feels like a public telling-off.")
    moderation.act(circle, founding, answered.id, "hide",
                   "Remarks about a neighbour: please talk to them directly, not about them here.")
    moderation.report(circle, gus, "discussion", parking.id, "Could this move to the house meeting? It is "
                                                             "getting heated.")


def _removal(circle, founding: Membership, residents) -> None:
    founder, dmitri, farah, hana = residents[:4]
    proposal = removal.open_removal(circle, founding, hana.id,
                                    "Hana has not answered about the laundry room key for two months, and the "
                                    "room stays locked for everyone.")
    talk.reply(proposal.discussion_id, hana, "I am sorry: I was away caring for my mother. The key is in my "
                                             "letterbox for whoever needs it.")
    talk.take_position(proposal.id, dmitri, "object", "Hana answered; let's talk at the house meeting instead.")
    talk.take_position(proposal.id, farah, "consent")
    _close_in_the_past(proposal, days_ago=3)
    talk.set_outcome(proposal.id, founder, founding, "Not passed: Hana stays. We agreed to keep a second key.",
                     None)
