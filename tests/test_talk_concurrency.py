"""Two answers at the same moment never count twice: positions under
simultaneous posts, through gunicorn with sync workers (separate processes)
on a database of its own (a SQLite file in WAL mode, or PostgreSQL with
TEST_DATABASE_URL).

Each of PEOPLE members sends the same position twice at the very same moment
(a double tap, or two open tabs): the proposal's row is locked first and the
database holds one position per person, so each is recorded once and every
post gets its 303.

The negative control serves tests/unsafe_talk_wsgi.py (read, commit, then
insert, no lock) on a second database whose positions table has lost its
UNIQUE (proposal, person): the same burst records people twice, so the test
is known to be able to see it.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, text

from app import create_app
from app.auth.models import User
from app.circles import domain as circles
from app.circles.models import Membership
from app.database import utcnow, write_unit
from app.extensions import db
from app.talk import domain
from app.talk.models import Position

from .concurrency import Client, Post, burst_of, mint_sessions, serve_warm
from .helpers import make_user
from .served import app_config, prepare
from .talk_helpers import local_in

WORKERS = 16
PEOPLE = 20
ATTEMPTS = 3  # bursts the negative control may take to show a double count


def email_of(n: int) -> str:
    return f"talk{n:02d}@concurrency.example.org"


def make_site(url: str, loose: bool = False) -> dict:
    prepare(url, scale=None)
    app = create_app(app_config(url))
    with app.app_context():
        if loose:
            drop_unique(url)
        host = make_user("host@concurrency.example.org", "Host")
        circle = circles.create_circle(host, name="Talk Street", slug="talk-street", time_zone="Europe/Berlin")
        db.session.commit()
        for n in range(PEOPLE):
            user = User(email=email_of(n), display_name=f"Talk {n:02d}", password_hash="!",
                        email_verified_at=utcnow(), time_zone="Europe/Berlin")
            db.session.add(user)
            db.session.flush()
            db.session.add(Membership(circle_id=circle.id, user_id=user.id, role="member"))
        db.session.commit()
        circle_id, host_id = circle.id, host.id
        db.session.remove()
    return {"url": url, "app": app, "circle_id": circle_id, "host_id": host_id,
            "cookies": mint_sessions(app, [email_of(n) for n in range(PEOPLE)])}


def drop_unique(url: str) -> None:
    """The negative control's database: positions without UNIQUE (proposal, person)."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE talk_positions DROP CONSTRAINT uq_talk_positions_proposal_id_user_id"))
        else:
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'talk_positions'")).scalar()
            loose = re.sub(r",\s*CONSTRAINT uq_talk_positions_proposal_id_user_id UNIQUE \(proposal_id, user_id\)",
                           "", sql)
            assert loose != sql
            conn.execute(text("DROP TABLE talk_positions"))
            conn.execute(text(loose))


def new_proposal(site, title: str) -> int:
    with site["app"].test_request_context():
        host = db.session.get(User, site["host_id"])
        with write_unit():
            discussion = domain.start_discussion(circles.find_circle_for_member("talk-street", host)[0], host, title)
            proposal = domain.open_proposal(discussion, host, kind="consensus", title=title,
                                            closes_local=local_in(3))
        proposal_id = proposal.id
        db.session.remove()
    return proposal_id


def double_burst(site, server, proposal_id: int):
    """Each person posts "agree" twice at the same moment (two connections)."""
    page = f"/c/talk-street/proposals/{proposal_id}"
    posts = []
    for n in range(PEOPLE):
        for tab in ("a", "b"):
            client = Client(server.base_url, site["cookies"][email_of(n)], name=f"{email_of(n)}#{tab}")
            posts.append(Post(client, page, page + "/position", {"choice": "agree"}))
    result = burst_of(posts)
    print(f"\n{result.describe()}")
    return result


def positions_per_person(site, proposal_id: int) -> dict[int, int]:
    with site["app"].app_context():
        rows = db.session.execute(select(Position.user_id, func.count()).where(Position.proposal_id == proposal_id)
                                  .group_by(Position.user_id)).all()
        db.session.remove()
    return dict(rows)


def serve_site(site, mailbox, log_dir, unsafe: bool):
    return serve_warm(site["url"], log_dir, mailbox.port, WORKERS,
                      "tests.unsafe_talk_wsgi:app" if unsafe else "wsgi:app")


@pytest.fixture(scope="module")
def sites(database_factory):
    made = {"safe": make_site(database_factory("_talk")), "loose": make_site(database_factory("_talkloose"),
                                                                           loose=True)}
    yield made
    for site in made.values():
        with site["app"].app_context():
            db.session.remove()
            db.engine.dispose()


def test_two_answers_at_the_same_moment_count_once(sites, mailbox, tmp_path):
    site = sites["safe"]
    served = serve_site(site, mailbox, tmp_path, unsafe=False)
    try:
        proposal_id = new_proposal(site, "Paint the shed green")
        result = double_burst(site, served, proposal_id)
        problems = result.problems(303)
        assert not problems, f"{problems[:10]}\n{served.log()[-5000:]}"
        counts = positions_per_person(site, proposal_id)
        assert len(counts) == PEOPLE and set(counts.values()) == {1}, counts
        # And the page past its closing time says so: every person once.
        with site["app"].app_context():
            from app.talk.models import Proposal

            assert domain.result_of(db.session.get(Proposal, proposal_id)).took_part == PEOPLE
            db.session.remove()
    finally:
        served.stop()


def test_negative_control_the_unsafe_path_counts_twice(sites, mailbox, tmp_path):
    site = sites["loose"]
    served = serve_site(site, mailbox, tmp_path, unsafe=True)
    try:
        doubled = []
        for attempt in range(ATTEMPTS):
            proposal_id = new_proposal(site, f"Paint the shed, try {attempt}")
            double_burst(site, served, proposal_id)
            counts = positions_per_person(site, proposal_id)
            doubled = [user for user, n in counts.items() if n > 1]
            if doubled:
                break
        assert doubled, "the unsafe path never counted anyone twice: the burst cannot see the race"
    finally:
        served.stop()
