"""Recording notices and mailing them: right away, after quiet hours, or in
the daily digest. Domain functions never commit; the job functions at the
end open their own write units (they run in the job runner)."""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from flask import current_app, render_template
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..areas import areas
from ..auth.models import User
from ..database import UTC, utcnow, write_unit
from ..errors import RuleError
from ..extensions import db
from ..i18n import _, speaking
from ..links import external_url
from ..mail import as_html, queue_mail
from ..zones import localize, zone, zone_names
from . import push
from .models import CHANNELS, CircleNoticeSetting, Notice, NoticePrefs, NoticeSetting

RANK = {name: rank for rank, name in enumerate(CHANNELS)}  # off < inbox < digest < now
UNSUBSCRIBE_MAX_AGE = 90 * 24 * 3600  # seconds: a digest's link works for 90 days


# --- who gets what, when -------------------------------------------------------------

def prefs_of(user_id: int) -> NoticePrefs:
    """The person's prefs (defaults when never saved; not added to the session)."""
    return db.session.get(NoticePrefs, user_id) or new_prefs(user_id)


def new_prefs(user_id: int) -> NoticePrefs:
    quiet_from, quiet_until = current_app.config["QUIET_HOURS"]
    return NoticePrefs(user_id=user_id, digest_hour=18, quiet_from=quiet_from, quiet_until=quiet_until)


def zone_of(user: User) -> str:
    """The person's time zone; without one (or one we no longer know), their first circle's; else UTC."""
    from ..circles.models import Circle, Membership  # the area above ours, at run time only
    if user.time_zone and user.time_zone in zone_names():
        return user.time_zone
    first = db.session.scalar(select(Circle.time_zone).join(Membership, Membership.circle_id == Circle.id)
                              .where(Membership.user_id == user.id).order_by(Membership.id).limit(1))
    return first if first and first in zone_names() else "UTC"


def channel_for(user_id: int, kind: str, circle_id: int | None) -> str:
    chosen = db.session.get(NoticeSetting, (user_id, kind))
    channel = chosen.channel if chosen else areas().notice_kinds[kind].default
    if circle_id is not None:
        limit = db.session.get(CircleNoticeSetting, (user_id, circle_id))
        if limit is not None and RANK[limit.channel] < RANK[channel]:
            channel = limit.channel
    return channel


def is_quiet(prefs: NoticePrefs, local: dt.datetime) -> bool:
    start, end = prefs.quiet_from, prefs.quiet_until
    if start == end:  # zero length: no quiet hours
        return False
    if start < end:
        return start <= local.hour < end
    return local.hour >= start or local.hour < end


def next_local_hour(hour: int, zone_name: str, now: dt.datetime) -> dt.datetime:
    """The next instant (UTC) at ``hour``:00 on the person's wall clock, at or
    after ``now``. An hour the clocks skip (02:30 on the spring-forward night)
    moves forward by the gap, so it still comes that day."""
    local_now = now.astimezone(zone(zone_name)).replace(tzinfo=None)
    for days in range(3):
        day = local_now.date() + dt.timedelta(days=days)
        _wall, instant = localize(dt.datetime.combine(day, dt.time(hour)), zone_name)
        if instant >= now:
            return instant
    raise AssertionError("unreachable")


def mail_due(user: User, prefs: NoticePrefs, channel: str, now: dt.datetime, urgent: bool = False):
    if channel == "inbox":
        return None
    zone_name = zone_of(user)
    if channel == "digest":
        return next_local_hour(prefs.digest_hour, zone_name, now)
    if urgent or not is_quiet(prefs, now.astimezone(zone(zone_name))):
        return now
    return next_local_hour(prefs.quiet_until, zone_name, now)


def site_path(url: str | None) -> str | None:
    """Links are kept as paths on this site, and made absolute in mail: the
    inbox links within the site, whatever address it is served at."""
    base = current_app.config["BASE_URL"].rstrip("/")
    return url[len(base):] or "/" if url and url.startswith(base + "/") else url


def absolute(url: str | None) -> str | None:
    return current_app.config["BASE_URL"].rstrip("/") + url if url and url.startswith("/") else url


# --- recording ------------------------------------------------------------------------

def notify(kind: str, recipient: User | None, occasion: str, /, *, circle=None,
           actor: User | None = None, subject, template: str, url: str | None = None, urgent: bool = False,
           now: dt.datetime | None = None, **context) -> Notice | None:
    """Tell ``recipient`` about something, in the caller's write unit.

    ``occasion`` names what it is about ("gathering 12 changed at 3"): a second
    call with the same kind, recipient and occasion records nothing. Nobody is
    told what they did themselves (``actor``). ``subject`` is a callable (or a
    lazy ``_l`` string) and ``template`` a text template: both are rendered in
    the recipient's language. ``urgent`` passes quiet hours (a same-day
    cancellation). Returns the notice, or None when nothing was recorded.
    """
    if recipient is None or recipient.is_deleted or not recipient.email:
        return None
    if actor is not None and actor.id == recipient.id:
        return None
    if kind not in areas().notice_kinds:
        raise ValueError(f"unknown kind of notice {kind!r}: register it with areas.notice(...)")
    occasion = str(occasion)[:120]
    if db.session.scalar(select(Notice.id).where(Notice.kind == kind, Notice.user_id == recipient.id,
                                                 Notice.occasion == occasion)) is not None:
        return None
    circle_id = circle.id if circle is not None else None
    channel = channel_for(recipient.id, kind, circle_id)
    if channel == "off":
        return None
    now = now or utcnow()
    prefs = prefs_of(recipient.id)
    if channel == "digest" and prefs.unsubscribed_at is not None:
        channel = "inbox"
    with speaking(recipient.language):
        words = str(subject() if callable(subject) else subject)
        # recipient_zone: times in a notice are the reader's (app/templating.py when_for).
        body = render_template(template, recipient=recipient, recipient_zone=zone_of(recipient), circle=circle,
                               url=url, **context).strip()
    notice = Notice(user_id=recipient.id, kind=kind, occasion=occasion, circle_id=circle_id,
                    subject=words[:200], body=body, url=site_path(url), channel=channel, created_at=now,
                    mail_due_at=mail_due(recipient, prefs, channel, now, urgent))
    try:
        with db.session.begin_nested():  # a concurrent record of the same occasion: the key refuses it
            db.session.add(notice)
    except IntegrityError:
        return None
    if channel == "now" and notice.mail_due_at <= now:
        send_now(notice, recipient, now)
    return notice


# --- mailing ---------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    found = current_app.extensions.get("communitarium.unsubscribe")
    if found is None or found[0] != current_app.config["SECRET_KEY"]:
        found = current_app.extensions["communitarium.unsubscribe"] = (
            current_app.config["SECRET_KEY"], URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe"))
    return found[1]


def unsubscribe_token(user_id: int, what: str) -> str:
    """A signed token: stop ``what`` (a kind of notice, or "digest") without signing in."""
    return _serializer().dumps([user_id, what])


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """:raise RuleError: a forged, damaged or expired token."""
    serializer = _serializer()
    try:
        user_id, what = serializer.loads(token, max_age=UNSUBSCRIBE_MAX_AGE)
    except SignatureExpired:
        raise RuleError(_("This link is too old. Change what you receive on your notice settings page."))
    except (BadSignature, ValueError, TypeError):
        raise RuleError(_("This link is not one we made. Change what you receive on your notice settings page."))
    if not isinstance(user_id, int) or not isinstance(what, str):
        raise RuleError(_("This link is not one we made. Change what you receive on your notice settings page."))
    return user_id, what


def unsubscribe(user_id: int, what: str) -> User | None:
    """Stop a kind of notice (it stays in the inbox) or the digest; in the caller's unit."""
    user = db.session.get(User, user_id)
    if user is None or user.is_deleted:
        return None
    if what == "digest":
        prefs = db.session.get(NoticePrefs, user_id)
        if prefs is None:
            prefs = new_prefs(user_id)
            db.session.add(prefs)
        prefs.unsubscribed_at = prefs.unsubscribed_at or utcnow()
        db.session.execute(update(Notice).where(Notice.user_id == user_id, Notice.channel == "digest",
                                                Notice.mailed_at.is_(None))
                           .values(channel="inbox", mail_due_at=None))
    elif what in areas().notice_kinds:
        set_kind(user_id, what, "inbox")
    return user


def set_kind(user_id: int, kind: str, channel: str) -> None:
    found = db.session.get(NoticeSetting, (user_id, kind))
    if found is None:
        db.session.add(NoticeSetting(user_id=user_id, kind=kind, channel=channel))
    else:
        found.channel = channel


def _unsubscribe_headers(url: str) -> dict[str, str]:
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def send_now(notice: Notice, recipient: User, now: dt.datetime) -> None:
    """Put one notice in the outbox, in the recipient's language, and a push
    of it in the push outbox for each device the recipient subscribed."""
    stop = external_url("notify.unsubscribe", token=unsubscribe_token(recipient.id, notice.kind))
    with speaking(recipient.language):
        body = render_template("notify/mail/notice.txt", notice=notice, recipient=recipient,
                               url=absolute(notice.url), settings=external_url("notify.settings"), stop=stop)
    queue_mail(recipient.email, notice.subject, None, body=body, html=as_html(body),
               headers=_unsubscribe_headers(stop))
    push.queue(notice, recipient)  # and to the devices that asked: same settings, same quiet hours
    notice.mailed_at = now


def send_held(now: dt.datetime | None = None, batch: int = 200) -> int:
    """Mail the notices quiet hours held back, once their morning came."""
    now = now or utcnow()
    sent = 0
    while True:
        with write_unit():
            held = list(db.session.scalars(
                select(Notice).where(Notice.channel == "now", Notice.mailed_at.is_(None),
                                     Notice.mail_due_at <= now).order_by(Notice.id).limit(batch)))
            for notice in held:
                user = db.session.get(User, notice.user_id)
                if user.is_deleted or not user.email:
                    notice.mailed_at = now
                    continue
                send_now(notice, user, now)
                sent += 1
        if len(held) < batch:
            return sent


_DUE_DIGEST = (select(Notice.user_id).where(Notice.channel == "digest", Notice.mailed_at.is_(None),
                                            Notice.mail_due_at <= db.bindparam("now"))
               .group_by(Notice.user_id).order_by(Notice.user_id))


def compose_digests(now: dt.datetime | None = None, users_per_unit: int = 200) -> int:
    """One digest mail per person whose digest hour has come and who has
    something new; grouped by circle. Streams people in small batches, so
    memory stays flat however many there are. Returns how many were queued."""
    from ..circles.models import Circle  # the area above ours, at run time only
    now = now or utcnow()
    queued = 0
    after = 0
    links = {"inbox": external_url("notify.inbox"), "settings": external_url("notify.settings")}
    while True:
        with write_unit():
            user_ids = list(db.session.scalars(_DUE_DIGEST.where(Notice.user_id > after).limit(users_per_unit),
                                               {"now": now}))
            if not user_ids:
                return queued
            after = user_ids[-1]
            users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
            names = dict(db.session.execute(
                select(Circle.id, Circle.name).join(Notice, Notice.circle_id == Circle.id)
                .where(Notice.user_id.in_(user_ids), Notice.mailed_at.is_(None)).distinct()).all())
            rows = db.session.execute(
                select(Notice.id, Notice.user_id, Notice.circle_id, Notice.subject, Notice.body, Notice.url)
                .where(Notice.user_id.in_(user_ids), Notice.channel == "digest", Notice.mailed_at.is_(None),
                       Notice.mail_due_at <= now)
                .order_by(Notice.user_id, Notice.circle_id, Notice.id)).all()
            for user_id, notices in groupby(rows, key=lambda r: r.user_id):
                notices = list(notices)
                user = users[user_id]
                if user.is_deleted or not user.email:
                    continue
                queue_digest(user, notices, names, links)
                queued += 1
            db.session.execute(update(Notice).where(Notice.user_id.in_(user_ids), Notice.channel == "digest",
                                                    Notice.mailed_at.is_(None), Notice.mail_due_at <= now)
                               .values(mailed_at=now))


def queue_digest(user: User, notices: list, circle_names: dict, links: dict) -> None:
    groups = [(circle_names.get(circle_id), list(items))
              for circle_id, items in groupby(notices, key=lambda r: r.circle_id)]
    stop = external_url("notify.unsubscribe", token=unsubscribe_token(user.id, "digest"))
    with speaking(user.language):
        body = render_template("notify/mail/digest.txt", recipient=user, groups=groups, stop=stop,
                               absolute=absolute, **links)
        subject = _("What is new in your circles")
    queue_mail(user.email, subject, None, body=body, html=as_html(body), headers=_unsubscribe_headers(stop))


def reschedule_digest(user: User, prefs: NoticePrefs, now: dt.datetime | None = None) -> None:
    """The digest hour changed: notices waiting for the digest go at the new hour."""
    now = now or utcnow()
    due = next_local_hour(prefs.digest_hour, zone_of(user), now)
    db.session.execute(update(Notice).where(Notice.user_id == user.id, Notice.channel == "digest",
                                            Notice.mailed_at.is_(None)).values(mail_due_at=due))


def deliver(now: dt.datetime) -> None:
    """The job: held notices whose morning came, then the digests that are due."""
    send_held(now)
    compose_digests(now)


# --- letting go -------------------------------------------------------------------------

KEEP = dt.timedelta(days=180)


def purge(now: dt.datetime) -> dict[str, int]:
    """Notices are kept 180 days (``flask purge``, in its unit)."""
    from sqlalchemy import delete
    return {"notices": db.session.execute(delete(Notice).where(Notice.created_at < now - KEEP)).rowcount}


def member_left(circle, user: User) -> None:
    """Someone who left a circle no longer reads its notices (members-only), in the leaving's unit."""
    from sqlalchemy import delete
    db.session.execute(delete(Notice).where(Notice.user_id == user.id, Notice.circle_id == circle.id))
    db.session.execute(delete(CircleNoticeSetting).where(CircleNoticeSetting.user_id == user.id,
                                                         CircleNoticeSetting.circle_id == circle.id))


def account_deleted(user: User) -> None:
    """A deleted account's notices and settings go with it, in the deletion's unit."""
    from sqlalchemy import delete
    for model in (Notice, NoticeSetting, CircleNoticeSetting, NoticePrefs):
        db.session.execute(delete(model).where(model.user_id == user.id))
    push.account_deleted(user)


# --- reading ---------------------------------------------------------------------------

def inbox(user: User, limit: int = 50, before: int | None = None) -> list[Notice]:
    query = select(Notice).where(Notice.user_id == user.id).options(db.joinedload(Notice.circle))
    if before:
        query = query.where(Notice.id < before)
    return list(db.session.scalars(query.order_by(Notice.id.desc()).limit(limit)))


def mark_read(user: User, up_to: int) -> int:
    return db.session.execute(update(Notice).where(Notice.user_id == user.id, Notice.id <= up_to,
                                                   Notice.read_at.is_(None)).values(read_at=utcnow())).rowcount


def has_new(user: User) -> bool:
    return db.session.scalar(select(Notice.id).where(Notice.user_id == user.id, Notice.read_at.is_(None))
                             .limit(1)) is not None


__all__ = ["notify", "UTC"]
