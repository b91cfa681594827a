"""What circles can do, as plain functions the views and tests call, in the
caller's write unit (they never commit). Read-check-writes (joining through a
limited invitation, approving, the last steward leaving) lock what they check.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from sqlalchemy import bindparam, case, delete, func, literal, select, union_all, update
from sqlalchemy.orm import aliased

from ..areas import areas
from ..auth.models import User
from ..database import lock, utcnow
from ..errors import RuleError
from ..extensions import db
from ..i18n import N_, _
from ..links import external_url
from ..notify import notify
from ..text import render_markdown
from ..tokens import new_token, token_hash
from .models import Circle, Invitation, JoinRequest, LogEntry, Membership, PendingJoin, Place

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")
SETTINGS_FIELDS = ("name", "description", "area", "time_zone", "language", "join_mode",
                   "join_question", "members_can_invite", "members_may_share", "currency")


class CircleError(RuleError):
    """A rule of the circle said no; the message is for the person."""


# --- the log --------------------------------------------------------------------

def log(circle: Circle, actor: User | None, action: str, subject: User | None = None, **details) -> LogEntry:
    entry = LogEntry(circle_id=circle.id, actor_id=actor.id if actor else None, action=action,
                     subject_id=subject.id if subject else None, details=details)
    db.session.add(entry)
    return entry


_ACTOR, _SUBJECT = aliased(User), aliased(User)
# The log page reads entries as rows with the two names, not as objects: it
# lists many of them, and a deleted account's name is no longer shown.
_LOG_ENTRIES = (
    select(LogEntry.id, LogEntry.action, LogEntry.details, LogEntry.created_at,
           case((_ACTOR.deleted_at.is_(None), _ACTOR.display_name)).label("actor"),
           case((_SUBJECT.deleted_at.is_(None), _SUBJECT.display_name)).label("subject"))
    .outerjoin(_ACTOR, LogEntry.actor_id == _ACTOR.id).outerjoin(_SUBJECT, LogEntry.subject_id == _SUBJECT.id)
    .where(LogEntry.circle_id == bindparam("circle_id"))
    .order_by(LogEntry.id.desc()).limit(bindparam("limit")))
_LOG_ENTRIES_BEFORE = _LOG_ENTRIES.where(LogEntry.id < bindparam("before_id"))


def log_entries(circle: Circle, limit: int = 50, before_id: int | None = None) -> list:
    """The newest entries first, older than ``before_id``: rows of (id, action,
    details, created_at, actor, subject), a name being None for a former member."""
    if before_id:
        return db.session.execute(_LOG_ENTRIES_BEFORE, {"circle_id": circle.id, "limit": limit,
                                                        "before_id": before_id}).all()
    return db.session.execute(_LOG_ENTRIES, {"circle_id": circle.id, "limit": limit}).all()


# --- circles and members ------------------------------------------------------------

def slug_taken(slug: str) -> bool:
    return db.session.scalar(select(Circle.id).where(Circle.slug == slug)) is not None


def suggest_slug(name: str) -> str:
    """A free web address made from a circle's name: "Rue de l'Été" → "rue-de-l-ete"."""
    # Accents go (é → e); any other letter or sign than a-z and 0-9 parts words, as in app.js.
    letters = "".join(c for c in unicodedata.normalize("NFKD", name.lower()) if unicodedata.category(c) != "Mn")
    base = re.sub(r"[^a-z0-9]+", "-", letters).strip("-")[:36].strip("-")
    if len(base) < 3:
        base = f"{base}-circle".strip("-")
    candidate, n = base, 2
    while slug_taken(candidate):
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def create_circle(founder: User, *, name: str, slug: str, description: str = "", area: str = "",
                  time_zone: str, language: str = "en", join_mode: str = "open", join_question: str = "",
                  members_can_invite: bool = False, members_may_share: bool = True) -> Circle:
    """Found a circle; its founder is its first steward."""
    circle = Circle(slug=slug, name=name.strip(), description_source=description,
                    description_html=render_markdown(description), area=area.strip(), time_zone=time_zone,
                    language=language, join_mode=join_mode, join_question=join_question.strip(),
                    members_can_invite=members_can_invite, members_may_share=members_may_share)
    db.session.add(circle)
    db.session.flush()
    db.session.add(Membership(circle_id=circle.id, user_id=founder.id, role="steward"))
    _adopt_time_zone(founder, circle)
    log(circle, founder, "circle_created")
    return circle


def _adopt_time_zone(user: User, circle: Circle) -> None:
    # A person who never chose a zone lives where their first circle does.
    if not user.time_zone:
        user.time_zone = circle.time_zone


def update_settings(circle: Circle, actor: User, **values) -> list[str]:
    """Change a circle's settings; one log entry naming what changed."""
    changed = []
    for field in SETTINGS_FIELDS:
        if field not in values:
            continue
        current = circle.description_source if field == "description" else getattr(circle, field)
        if values[field] == current:
            continue
        changed.append(field)
        if field == "description":
            circle.description_source = values[field]
            circle.description_html = render_markdown(values[field])
        else:
            setattr(circle, field, values[field])
    if changed:
        log(circle, actor, "settings_changed", fields=changed)
    return changed


def membership_of(circle_id: int, user: User) -> Membership | None:
    return db.session.scalar(select(Membership).where(
        Membership.circle_id == circle_id, Membership.user_id == user.id))


# The statements of pages every member opens are built once, at import:
# building one costs SQLAlchemy more than running it (docs/performance.md).
_CIRCLE_FOR_MEMBER = (select(Circle, Membership).join(Membership, Membership.circle_id == Circle.id)
                      .where(Circle.slug == bindparam("slug"), Membership.user_id == bindparam("user_id")))


def find_circle_for_member(slug: str, user: User) -> tuple[Circle, Membership] | None:
    """The circle and the person's membership, in one query; None for a
    circle that does not exist and for one they are not in alike."""
    row = db.session.execute(_CIRCLE_FOR_MEMBER, {"slug": slug, "user_id": user.id}).first()
    return (row[0], row[1]) if row else None


_MEMBERS = (select(Membership).join(User, Membership.user_id == User.id)
            .where(Membership.circle_id == bindparam("circle_id"))
            .options(db.contains_eager(Membership.user))
            .order_by(func.lower(User.display_name), User.id))


def members(circle: Circle) -> list[Membership]:
    return list(db.session.scalars(_MEMBERS, {"circle_id": circle.id}))


# The member list shows a name, a role and what each offers: plain rows, not
# objects, since a circle may have hundreds of members.
_MEMBER_LIST = (select(Membership.id, Membership.role, Membership.offers, User.display_name.label("name"))
                .join(User, Membership.user_id == User.id)
                .where(Membership.circle_id == bindparam("circle_id"))
                .order_by(func.lower(User.display_name), User.id))


def member_list(circle: Circle) -> list:
    """Rows of (id, role, offers, name) in name order, for the member list."""
    return db.session.execute(_MEMBER_LIST, {"circle_id": circle.id}).all()


def addresses_shared(circle: Circle) -> tuple[int, int]:
    """(members whose address leaves in the export, members): logistics for the steward who exports."""
    row = db.session.execute(select(func.count(Membership.id).filter(Membership.share_email), func.count(Membership.id))
                             .where(Membership.circle_id == circle.id)).one()
    return row[0], row[1]


_CIRCLES_OF = (select(Circle, Membership).join(Membership, Membership.circle_id == Circle.id)
               .where(Membership.user_id == bindparam("user_id")).order_by(func.lower(Circle.name)))


_CIRCLE_CARDS = (select(Circle.id, Circle.slug, Circle.name, Circle.area)
                 .join(Membership, Membership.circle_id == Circle.id)
                 .where(Membership.user_id == bindparam("user_id")).order_by(func.lower(Circle.name)))


def circle_cards(user: User) -> list:
    """The person's circles as the home page shows them: rows of (id, slug, name, area), by name."""
    return db.session.execute(_CIRCLE_CARDS, {"user_id": user.id}).all()


def circles_of(user: User) -> list[tuple[Circle, Membership]]:
    return [(row[0], row[1]) for row in db.session.execute(_CIRCLES_OF, {"user_id": user.id})]


def set_offers(membership: Membership, offers: str, share_email: bool | None = None) -> None:
    membership.offers = offers.strip()
    if share_email is not None:
        membership.share_email = share_email


def lock_circle(circle_id: int) -> Circle:
    """The circle, locked: serialises changes of its members and settings
    (FOR UPDATE on PostgreSQL, the IMMEDIATE unit on SQLite)."""
    return lock(Circle, circle_id)


def lock_invitation(invitation_id: int) -> Invitation:
    return lock(Invitation, invitation_id)


def _steward_count(circle_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Membership).where(
        Membership.circle_id == circle_id, Membership.role == "steward"))


def leave_circle(circle_id: int, user: User, removal: dict | None = None) -> bool:
    """Leave a circle, and with it everything the areas hold for you there
    (seats, places, feeds, vouches: each area's handler). With ``removal``
    ({"by": the proposer or None, "reason": ...}), the circle removed them (a
    removal proposal passed): the same, logged as such. A circle is never left without a steward: if none is left, the
    areas' handlers choose one (trust), or else the longest-standing member.
    Returns False if they were not a member (nothing to do)."""
    circle = lock_circle(circle_id)
    membership = membership_of(circle_id, user)
    if membership is None:
        return False
    db.session.delete(membership)
    db.session.flush()
    if removal is None:
        log(circle, user, "member_left", subject=user)
    else:
        log(circle, removal["by"], "member_removed", subject=user, reason=removal["reason"])
    for handler in areas().member_left:
        handler(circle, user)
    if _steward_count(circle_id) == 0:
        successor = _successor(circle_id, user)
        if successor is not None:
            successor.role = "steward"
            log(circle, None, "stewardship_passed", subject=successor.user, on="leaving")
    return True


# --- invitations and joining ---------------------------------------------------

def can_invite(circle: Circle, membership: Membership) -> bool:
    return membership.is_steward or circle.members_can_invite


def create_invitation(circle: Circle, actor: User, *, days: int, max_uses: int, note: str = "",
                      names_inviter: bool = False, asks_question: bool = False,
                      notice_text: str | None = None) -> str:
    """Make an invitation link (with ``notice_text``, the link of a printable
    notice); returns its token, which is shown only to its maker."""
    raw, hashed = new_token()
    invitation = Invitation(circle_id=circle.id, token_hash=hashed, note=note.strip(), created_by_id=actor.id,
                            expires_at=utcnow() + dt.timedelta(days=days), max_uses=max_uses,
                            names_inviter=names_inviter, asks_question=asks_question,
                            notice_text=notice_text.strip() if notice_text is not None else None)
    db.session.add(invitation)
    db.session.flush()
    log(circle, actor, "notice_made" if notice_text is not None else "invitation_made", invitation=invitation.id,
        note=invitation.note, max_uses=max_uses, days=days)
    return raw


# Asked when a printed notice's link is used in a circle that has no question of its own.
DEFAULT_QUESTION = N_("Who are you, and how do you know the circle?")


def asks_question(invitation: Invitation) -> bool:
    return invitation.circle.join_mode == "question" or invitation.asks_question


def question_of(circle: Circle) -> str:
    return circle.join_question or _(DEFAULT_QUESTION)


def invitations(circle: Circle) -> list[Invitation]:
    return list(db.session.scalars(
        select(Invitation).where(Invitation.circle_id == circle.id)
        .options(db.joinedload(Invitation.created_by)).order_by(Invitation.id.desc())
    ))


def revoke_invitation(circle: Circle, actor: User, invitation: Invitation) -> None:
    if invitation.revoked_at is not None:
        raise CircleError(_("That invitation was already revoked."))
    invitation.revoked_at = utcnow()
    log(circle, actor, "invitation_revoked", invitation=invitation.id, note=invitation.note)


def find_invitation(raw: str) -> Invitation | None:
    return db.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(raw)))


def invitation_problem(invitation: Invitation | None) -> str | None:
    """Why an invitation cannot be used now, in words for the visitor."""
    if invitation is None:
        return _("This invitation link is not valid. Ask the person who sent it for a new one.")
    if invitation.revoked_at is not None:
        return _("This invitation was withdrawn. Ask the person who sent it for a new one.")
    if invitation.expires_at <= utcnow():
        return _("This invitation has expired. Ask the person who sent it for a new one.")
    if invitation.uses >= invitation.max_uses:
        return _("This invitation has been used as many times as it allows. Ask for a new one.")
    return None


def count_signup(invitation: Invitation) -> None:
    """One more sign-up tried through this link (one statement: no lost count)."""
    db.session.execute(update(Invitation).where(Invitation.id == invitation.id)
                       .values(signups=Invitation.signups + 1))


def _spend_invitation(invitation_id: int) -> bool:
    """Take one use, only if one is left: the check and the write are one statement."""
    now = utcnow()
    return db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id, Invitation.uses < Invitation.max_uses,
               Invitation.revoked_at.is_(None), Invitation.expires_at > now)
        .values(uses=Invitation.uses + 1)
    ).rowcount == 1


def join(user: User, invitation_id: int, answer: str = "") -> Membership | JoinRequest:
    """Use an invitation: join at once, or, where the circle asks a question,
    leave the answer for a steward.

    :raise CircleError: the invitation cannot be used, or the answer is missing.
    """
    if not user.is_verified:
        raise CircleError(_("Please confirm your email address first."))
    invitation = lock_invitation(invitation_id)
    circle = db.session.get(Circle, invitation.circle_id)
    existing = membership_of(circle.id, user)
    db.session.execute(delete(PendingJoin).where(PendingJoin.user_id == user.id))
    if existing is not None:
        return existing
    request = None
    asks = asks_question(invitation)
    if asks:
        request = db.session.scalar(select(JoinRequest).where(
            JoinRequest.circle_id == circle.id, JoinRequest.user_id == user.id))
        if request is not None and request.status == "pending":
            return request
        if not answer.strip():
            raise CircleError(_("Please answer the circle's question."))
    problem = invitation_problem(invitation)
    if problem or not _spend_invitation(invitation.id):
        raise CircleError(problem or _("This invitation has been used as many times as it allows."))
    if asks:
        if request is None:
            request = JoinRequest(circle_id=circle.id, user_id=user.id)
            db.session.add(request)
        request.answer, request.status = answer.strip(), "pending"
        request.decided_at = request.decided_by_id = None
        db.session.flush()
        _tell_stewards(circle, user, request)
        return request
    membership = Membership(circle_id=circle.id, user_id=user.id)
    db.session.add(membership)
    _adopt_time_zone(user, circle)
    return membership


def remember_invitation(user: User, invitation: Invitation) -> None:
    """Keep an invitation for someone who cannot use it yet."""
    pending = db.session.get(PendingJoin, user.id)
    if pending is None:
        db.session.add(PendingJoin(user_id=user.id, invitation_id=invitation.id))
    else:
        pending.invitation_id = invitation.id


_PENDING_INVITATION = (select(Invitation).join(PendingJoin, PendingJoin.invitation_id == Invitation.id)
                       .where(PendingJoin.user_id == bindparam("user_id")))


def pending_invitation(user: User) -> Invitation | None:
    return db.session.scalar(_PENDING_INVITATION, {"user_id": user.id})


_PENDING_REQUESTS = (select(JoinRequest).where(JoinRequest.circle_id == bindparam("circle_id"),
                                               JoinRequest.status == "pending")
                     .options(db.joinedload(JoinRequest.user)).order_by(JoinRequest.created_at))


def pending_requests(circle: Circle) -> list[JoinRequest]:
    return list(db.session.scalars(_PENDING_REQUESTS, {"circle_id": circle.id}))


def _tell_stewards(circle: Circle, user: User, request: JoinRequest) -> None:
    """Someone answered the circle's question: its stewards hear of it (right away, by default)."""
    stewards = db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                  .where(Membership.circle_id == circle.id, Membership.role == "steward"))
    for steward in stewards:
        notify("circle_waiting", steward, f"request-{request.id}@{request.answer[:20]}", circle=circle, actor=user,
               subject=lambda: _("%(name)s is waiting to join %(circle)s", name=user.display_name, circle=circle.name),
               template="circles/notices/waiting.txt", url=external_url("home.circle", slug=circle.slug),
               person=user, answer=request.answer)


def decide_request(circle: Circle, actor: User, request_id: int, approve: bool) -> JoinRequest:
    """Approve or decline an answer, once.

    :raise CircleError: it was already decided (a second click, or another steward).
    """
    request = db.session.scalars(select(JoinRequest).where(
        JoinRequest.id == request_id, JoinRequest.circle_id == circle.id).with_for_update(key_share=True)).one_or_none()
    if request is None:
        raise CircleError(_("There is no such request."))
    if request.status != "pending":
        raise CircleError(_("That request was already %(status)s.",
                            status=_("approved") if request.status == "approved" else _("declined")))
    request.status = "approved" if approve else "declined"
    request.decided_at, request.decided_by_id = utcnow(), actor.id
    if approve and membership_of(circle.id, request.user) is None:
        db.session.add(Membership(circle_id=circle.id, user_id=request.user_id))
        _adopt_time_zone(request.user, circle)
        notify("circle_welcomed", request.user, f"request-{request.id}", circle=circle, actor=actor,
               subject=lambda: _("Welcome to %(circle)s", circle=circle.name), template="circles/notices/welcomed.txt",
               url=external_url("home.circle", slug=circle.slug))
    log(circle, actor, "member_approved" if approve else "member_declined", subject=request.user)
    return request


# --- when someone deletes their account -------------------------------------------

def _successor(circle_id: int, leaving: User) -> Membership | None:
    return db.session.scalars(
        select(Membership).where(Membership.circle_id == circle_id, Membership.user_id != leaving.id)
        .order_by(Membership.joined_at, Membership.id).limit(1)
    ).first()


def sole_stewardships(user: User) -> list[tuple[Circle, Membership | None]]:
    """Circles where this person is the only steward, with who would take over."""
    result = []
    for circle, membership in circles_of(user):
        if membership.is_steward and _steward_count(circle.id) == 1:
            result.append((circle, _successor(circle.id, user)))
    return result


def describe_account_deletion(user: User) -> list[str]:
    lines = []
    for circle, successor in sole_stewardships(user):
        if successor is None:
            lines.append(_("You are the only member of %(circle)s; it will have no members left.",
                           circle=circle.name))
        else:
            lines.append(_("You are the only steward of %(circle)s: stewardship passes to %(name)s, "
                           "its longest-standing member, and the circle's log will say so.",
                           circle=circle.name, name=successor.user.shown_name))
    return lines


def withdraw_from_circles(user: User) -> None:
    """Account deletion: hand on stewardship, then leave every circle."""
    for circle, successor in sole_stewardships(user):
        if successor is not None:
            successor.role = "steward"
            log(circle, None, "stewardship_passed", subject=successor.user)
    db.session.execute(delete(Membership).where(Membership.user_id == user.id))
    db.session.execute(delete(PendingJoin).where(PendingJoin.user_id == user.id))
    db.session.execute(delete(JoinRequest).where(JoinRequest.user_id == user.id,
                                                 JoinRequest.status == "pending"))


# Both kinds of notice on the home page in one statement: they are rare, and
# asking twice for nothing costs every visit.
_NOTICES = union_all(
    select(literal("invited").label("kind"), Circle.name.label("circle")).select_from(PendingJoin)
    .join(Invitation, Invitation.id == PendingJoin.invitation_id).join(Circle, Circle.id == Invitation.circle_id)
    .where(PendingJoin.user_id == bindparam("user_id")),
    select(literal("waiting"), Circle.name).select_from(JoinRequest).join(Circle, Circle.id == JoinRequest.circle_id)
    .where(JoinRequest.user_id == bindparam("user_id"), JoinRequest.status == "pending"))


def notices(user: User) -> list:
    """Rows of (kind, circle): the circle an opened invitation is for ("invited")
    and the circles where the person's answer waits for a steward ("waiting")."""
    return db.session.execute(_NOTICES, {"user_id": user.id}).all()


# --- places in an imported circle (app/circles/importer.py) ------------------------

def find_place(raw: str) -> Place | None:
    return db.session.scalar(select(Place).where(Place.token_hash == token_hash(raw)))


def place_problem(place: Place | None, user: User) -> str | None:
    """Why this person cannot take this place, or None."""
    if place is None:
        return _("This link has been used, or it is not a link to a place in a circle.")
    if place.email and (user.email or "").lower() != place.email:
        return _("This place was kept for another address. Sign in with the address this link was sent to.")
    return None


def claim_place(place_id: int, user: User) -> Membership:
    """The person takes their place: what the placeholder did becomes theirs,
    and they become a member, in the role they had. In the caller's write unit."""
    place = db.session.scalar(select(Place).where(Place.id == place_id).with_for_update())
    if place is None:
        raise CircleError(_("This link has been used, or it is not a link to a place in a circle."))
    problem = place_problem(place, user)
    if problem:
        raise CircleError(problem)
    placeholder_id, circle = place.user_id, lock_circle(place.circle_id)
    membership = membership_of(circle.id, user)
    if membership is None:
        membership = Membership(circle_id=circle.id, user_id=user.id, role=place.role, offers=place.offers,
                                joined_at=place.joined_at, share_email=place.share_email)
        db.session.add(membership)
    elif place.role == "steward":
        membership.role = "steward"
    db.session.delete(place)
    db.session.flush()
    # Every record that names the placeholder names the person now.
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if table.name != "users" and any(fk.column.table.name == "users" for fk in column.foreign_keys):
                db.session.execute(update(table).where(column == placeholder_id).values({column.name: user.id}))
    db.session.execute(delete(User).where(User.id == placeholder_id))
    log(circle, user, "place_claimed", subject=user)
    return membership
