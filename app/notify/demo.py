"""Demo notices (``flask seed-demo``): a few in each demo inbox, some read,
none mailed, and one person with settings of her own."""

from __future__ import annotations

import datetime as dt

from flask import render_template
from sqlalchemy import select

from ..database import utcnow
from ..extensions import db
from ..i18n import _
from ..links import external_url
from .domain import site_path, zone_of
from .models import Notice, NoticePrefs, NoticeSetting


def seed(people: list) -> None:
    """In the seed's write unit, after circles and gatherings exist."""
    from ..circles.models import Circle, Membership
    from ..gatherings.models import Gathering
    now = utcnow()
    for index, person in enumerate(people[:8]):
        circle = db.session.scalar(select(Circle).join(Membership, Membership.circle_id == Circle.id)
                                   .where(Membership.user_id == person.id).order_by(Membership.id).limit(1))
        if circle is None:
            continue
        url = site_path(external_url("home.circle", slug=circle.slug))
        db.session.add(Notice(
            user_id=person.id, kind="circle_welcomed", occasion="demo-welcome", circle_id=circle.id,
            subject=_("Welcome to %(circle)s", circle=circle.name),
            body=render_template("circles/notices/welcomed.txt", circle=circle).strip(), url=url,
            channel="digest", created_at=now - dt.timedelta(days=3), read_at=now - dt.timedelta(days=2),
            mail_due_at=now - dt.timedelta(days=3), mailed_at=now - dt.timedelta(days=3)))
        gathering = db.session.scalar(select(Gathering).where(Gathering.circle_id == circle.id,
                                                              Gathering.starts_at > now)
                                      .order_by(Gathering.starts_at).limit(1))
        if gathering is not None:
            db.session.add(Notice(
                user_id=person.id, kind="gathering_moved", occasion="demo-moved", circle_id=circle.id,
                subject=_("%(title)s: %(what)s", title=gathering.title, what=_("changed")),
                body=render_template("gatherings/notices/change.txt", gathering=gathering, kind="changed",
                                     recipient_zone=zone_of(person),
                                     details={"kinds": ["place"]}).strip(),
                url=site_path(external_url("gatherings.detail", slug=circle.slug, gathering_id=gathering.id)),
                channel="inbox", created_at=now - dt.timedelta(hours=5 + index), mailed_at=None))
        if index == 0:
            db.session.add(NoticePrefs(user_id=person.id, digest_hour=19, quiet_from=22, quiet_until=7))
            db.session.add(NoticeSetting(user_id=person.id, kind="gathering_changed", channel="inbox"))
