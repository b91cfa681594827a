"""What of talk leaves in a circle's export, and what stays (see app/circles/export.py)."""

from sqlalchemy import func, select, update

from ..extensions import db
from .models import Discussion, Elector, PollAnswer, PollOption, Position, Proposal, ReadMarker, Reply


def _of_discussions(model):
    return lambda circle_id: (select(model.__table__).join(Discussion, Discussion.id == model.discussion_id)
                              .where(Discussion.circle_id == circle_id))


def _of_proposals(model):
    return lambda circle_id: (select(model.__table__).join(Proposal, Proposal.id == model.proposal_id)
                              .where(Proposal.circle_id == circle_id))


def last_replies(circle, ids) -> None:
    """An imported discussion's last reply, by its new number."""
    last = (select(func.max(Reply.id)).where(Reply.discussion_id == Discussion.id)
            .correlate(Discussion).scalar_subquery())
    db.session.execute(update(Discussion).where(Discussion.circle_id == circle.id).values(last_reply_id=last)
                       .execution_options(synchronize_session=False))


def chosen_options(circle, ids) -> None:
    """A closed time poll's result names its chosen option by number: the new
    one (options come after proposals, so only once they are all in)."""
    options = ids.get("talk_poll_options", {})
    for proposal in db.session.scalars(select(Proposal).where(Proposal.circle_id == circle.id)):
        if proposal.result and proposal.result.get("chosen") is not None:
            proposal.result = proposal.result | {"chosen": options.get(proposal.result["chosen"])}


def register(areas) -> None:
    areas.export("discussions", Discussion,
                 lambda circle_id: select(Discussion.__table__).where(Discussion.circle_id == circle_id),
                 omit=("last_reply_id",))
    areas.export("replies", Reply, _of_discussions(Reply))
    areas.export("proposals", Proposal,
                 lambda circle_id: select(Proposal.__table__).where(Proposal.circle_id == circle_id))
    areas.export("electors", Elector, _of_proposals(Elector))
    areas.export("positions", Position, _of_proposals(Position))
    areas.export("poll_options", PollOption, _of_proposals(PollOption))
    areas.export("poll_answers", PollAnswer,
                 lambda circle_id: (select(PollAnswer.__table__).join(PollOption, PollOption.id == PollAnswer.option_id)
                                    .join(Proposal, Proposal.id == PollOption.proposal_id)
                                    .where(Proposal.circle_id == circle_id)))
    areas.keep_back(ReadMarker, "How far someone has read is theirs alone.")
    areas.on_import(last_replies)
    areas.on_import(chosen_options)
    areas.personal("posts", my_posts)
    areas.personal("positions", my_positions)


def my_posts(user):
    """What the person wrote: discussions they started, their replies, their proposals."""
    from ..auth.export import rows_as_records

    discussions = rows_as_records(db.session.execute(
        select(Discussion.title, Discussion.body_source.label("text"), Discussion.created_at)
        .where(Discussion.author_id == user.id).order_by(Discussion.created_at)))
    replies = rows_as_records(db.session.execute(
        select(Discussion.title.label("discussion"), Reply.body_source.label("text"), Reply.created_at,
               Reply.edited_at, Reply.removed_at)
        .select_from(Reply).join(Discussion, Discussion.id == Reply.discussion_id).where(Reply.author_id == user.id)
        .order_by(Reply.created_at)))
    proposals = rows_as_records(db.session.execute(
        select(Proposal.title, Proposal.kind, Proposal.body_source.label("text"), Proposal.opened_at,
               Proposal.closes_at).where(Proposal.author_id == user.id).order_by(Proposal.opened_at)))
    return [{"discussions": discussions, "replies": replies, "proposals": proposals}]


def my_positions(user):
    from ..auth.export import rows_as_records

    return rows_as_records(db.session.execute(
        select(Proposal.title.label("proposal"), Position.choice, Position.reason, Position.created_at,
               Position.updated_at)
        .select_from(Position).join(Proposal, Proposal.id == Position.proposal_id).where(Position.user_id == user.id)
        .order_by(Position.created_at)))
