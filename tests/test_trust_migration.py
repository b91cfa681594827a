"""The trust migration keeps today's stewards: each is vouched for by whoever
made them (the log's "steward_made" entries), if that person is still a
member; a founder gets no vouch. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import flask_migrate
from sqlalchemy import MetaData, func, insert, select

from app import create_app
from app.extensions import db

from .helpers import cheap_config
from .test_database import logging_kept

BEFORE_TRUST = "5c0d7e2a9b41"  # the thing discussions, just before trust


def test_stewards_made_by_a_member_become_vouched_for_by_them(database_factory, mailbox, tmp_path_factory):
    app = create_app(cheap_config(database_factory("_trustmig"), mailbox, tmp_path_factory.mktemp("trustmig")))
    now = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone.utc)
    with app.app_context():
        with logging_kept():
            flask_migrate.upgrade(revision=BEFORE_TRUST)
        with db.engine.begin() as conn:
            tables = MetaData()
            tables.reflect(conn)
            users, circles, memberships, log = (tables.tables[n] for n in ("users", "circles", "memberships",
                                                                          "circle_log"))
            ids = {}
            for name in ("Ada", "Bruno", "Chiara", "Dmitri", "Eve"):
                ids[name] = conn.execute(insert(users).values(
                    email=f"{name.lower()}@example.org", display_name=name, created_at=now)
                    .returning(users.c.id)).scalar_one()
            circle = conn.execute(insert(circles).values(
                slug="elm-street", name="Elm Street", description_source="", description_html="", area="",
                time_zone="Europe/Berlin", language="en", join_mode="open", join_question="",
                members_can_invite=False, members_may_share=True, currency="EUR", created_at=now)
                .returning(circles.c.id)).scalar_one()
            for name, role in (("Ada", "steward"), ("Bruno", "steward"), ("Chiara", "steward"), ("Dmitri", "member")):
                conn.execute(insert(memberships).values(circle_id=circle, user_id=ids[name], role=role, offers="",
                                                        joined_at=now))
            # Ada founded it and made Bruno a steward twice over (once is kept); Eve, who has left,
            # made Chiara one; Dmitri was made one by Ada but is a member again.
            for actor, action, subject in (("Ada", "circle_created", None), ("Ada", "steward_made", "Bruno"),
                                           ("Ada", "steward_made", "Bruno"), ("Eve", "steward_made", "Chiara"),
                                           ("Ada", "steward_made", "Dmitri")):
                conn.execute(insert(log).values(circle_id=circle, actor_id=ids[actor], action=action,
                                                subject_id=ids[subject] if subject else None, details={},
                                                created_at=now))
        with logging_kept():
            flask_migrate.upgrade()
        from app.trust.models import Vouch

        vouches = db.session.execute(select(Vouch.voucher_id, Vouch.member_id, Vouch.circle_id)).all()
        assert vouches == [(ids["Ada"], ids["Bruno"], circle)]
        # Every later migration keeps what was there: on SQLite a table rebuilt by a migration (users,
        # memberships) once emptied the tables that refer to it.
        assert db.session.scalar(select(func.count()).select_from(memberships)) == 4
        assert db.session.scalar(select(func.count()).select_from(log)) == 5
        assert db.session.scalar(select(func.count()).select_from(users)) == 5
        db.session.remove()
        db.engine.dispose()
