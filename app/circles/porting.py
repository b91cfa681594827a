"""What of circles leaves in a circle's export, and what stays (see export.py)."""

from sqlalchemy import select

from ..auth.models import AccountToken, LoginSession, User
from .importer import place_for_member
from .models import Circle, Invitation, JoinRequest, LogEntry, Membership, PendingJoin, Place


def register(areas) -> None:
    areas.export("circle", Circle, lambda circle_id: select(Circle.__table__).where(Circle.id == circle_id),
                 omit=("imported_from",))
    # Members, and the places of an imported circle's members who have not
    # claimed them yet: both come back as places to claim.
    areas.export("members", Membership,
                 lambda circle_id: select(Membership.__table__).where(Membership.circle_id == circle_id),
                 load=place_for_member)
    areas.export("places", Place, lambda circle_id: select(Place.__table__).where(Place.circle_id == circle_id),
                 omit=("token_hash", "email", "created_at"), load=place_for_member)
    areas.export("log", LogEntry, lambda circle_id: select(LogEntry.__table__).where(LogEntry.circle_id == circle_id))
    areas.keep_back(User, "Accounts stay: a person leaves as a name in `people`, with their address only if "
                          "they agreed to it in this circle.")
    areas.keep_back(LoginSession, "Signed-in browsers belong to this server.")
    areas.keep_back(AccountToken, "Links mailed to confirm or reset an account work only on this server.")
    areas.keep_back(Invitation, "Invitation links work only on this server; stewards make new ones.")
    areas.keep_back(PendingJoin, "An invitation someone opened is theirs and this server's.")
    areas.keep_back(JoinRequest, "An answer to the joining question is between that person and the stewards; "
                                 "the log keeps who was welcomed.")
    areas.personal("circles", my_circles)
    areas.personal("join_requests", my_join_requests)


def my_circles(user):
    from ..auth.export import rows_as_records
    from ..extensions import db

    return rows_as_records(db.session.execute(
        select(Circle.name.label("circle"), Circle.slug, Membership.role, Membership.offers, Membership.joined_at,
               Membership.share_email)
        .select_from(Membership).join(Circle, Circle.id == Membership.circle_id).where(Membership.user_id == user.id).order_by(Circle.name)))


def my_join_requests(user):
    from ..auth.export import rows_as_records
    from ..extensions import db

    return rows_as_records(db.session.execute(
        select(Circle.name.label("circle"), JoinRequest.answer, JoinRequest.status, JoinRequest.created_at,
               JoinRequest.decided_at)
        .select_from(JoinRequest).join(Circle, Circle.id == JoinRequest.circle_id).where(JoinRequest.user_id == user.id)
        .order_by(JoinRequest.created_at)))
