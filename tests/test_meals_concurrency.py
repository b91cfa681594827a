"""A meal's seats, portions and a potluck's last places under simultaneous
requests, through gunicorn (sync workers, separate processes) on a database of
its own, as tests/test_gatherings_concurrency.py does for seats (its notes
explain the bursts). Everyone signs in through the real sign-in form first,
then fetches the meal's page for its form and CSRF token, and posts it.

Three bursts, each with its negative control: tests/meals_unsafe_wsgi.py takes
the meal's counters (seats, portions, a need's places) by check-then-write,
without the lock, and the same burst overbooks there:
- 50 parties of one adult and one child (2 seats, 3 half portions) for 10
  seats and 12 portions: seats bind first (5 parties hold 10 seats, 15 of the
  24 halves);
- the same 50 parties for 20 seats and 12 portions: portions bind first (8
  parties hold all 24 halves and 16 of the 20 seats);
- 20 people coming claim the last 3 dessert places."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from app.auth.models import User
from app.circles import domain as circles
from app.database import write_unit
from app.extensions import db
from app.gatherings import seats
from app.gatherings.models import Answer, Gathering
from app.meals import domain
from app.meals.models import Dish, Meal, Need, Party

from .concurrency import Client, burst, serve_warm, sign_in
from .helpers import PASSWORD
from .test_gatherings_concurrency import WORKERS, log_on_failure, make_site
from .test_signin_concurrency import stored_hash

SEATS, PORTIONS = 10, 12
ROOMY = 20  # seats enough that the 12 portions run out first (8 parties: 16 seats)
BURST = 50
CLAIMS, DESSERTS = 20, 3
SQLITE_ATTEMPTS = 3


@pytest.fixture(scope="module")
def site(database_factory):
    made = make_site(database_factory("_meals_concurrency"))
    with made.app.app_context():  # a password each, hashed as the served app hashes, to sign in with
        db.session.execute(update(User).where(User.email.in_(made.emails(BURST)))
                           .values(password_hash=stored_hash(PASSWORD)))
        db.session.commit()
        db.session.remove()
    yield made
    with made.app.app_context():
        db.session.remove()
        db.engine.dispose()


def _server(site, mailbox, log_dir, module):
    """The server, and the BURST members signed in on it through the sign-in
    form, one after another (``served.sessions``: email -> session cookie)."""
    served = serve_warm(site.database_url, log_dir, mailbox.port, WORKERS, module)
    try:
        served.sessions = {e: sign_in(served.base_url, e, PASSWORD).cookies["session"] for e in site.emails(BURST)}
    except BaseException:
        served.stop()
        raise
    return served


def clients(site, server, emails) -> list[Client]:
    return [Client(server.base_url, server.sessions[e], name=e) for e in emails]


@pytest.fixture(scope="class")
def server(site, mailbox, tmp_path_factory):
    served = _server(site, mailbox, tmp_path_factory.mktemp("meals_safe"), "wsgi:app")
    yield served
    served.stop()


@pytest.fixture(scope="class")
def unsafe_server(site, mailbox, tmp_path_factory):
    served = _server(site, mailbox, tmp_path_factory.mktemp("meals_unsafe"), "tests.meals_unsafe_wsgi:app")
    yield served
    served.stop()


def new_meal(site, title, capacity, portions, dessert_places=0, seated=()) -> int:
    """A potluck next week; its host withdraws (all seats and portions free);
    ``seated`` members are signed up one by one beforehand."""
    with site.app.test_request_context():
        host = db.session.get(User, site.host_id)
        circle, _ = circles.find_circle_for_member(site.slug, host)
        starts = (dt.datetime.now() + dt.timedelta(days=7)).replace(second=0, microsecond=0)
        with write_unit():
            gathering = domain.create_meal(circle, host, style="potluck", portions=portions, title=title,
                                           starts_local=starts, ends_local=starts + dt.timedelta(hours=2),
                                           capacity=capacity, max_guests=3,
                                           needs=[("dessert", "", dessert_places)] if dessert_places else [])
            gathering_id = gathering.id
        with write_unit():
            seats.withdraw(gathering_id, host)
        for user_id in seated:
            with write_unit():
                seats.answer(gathering_id, db.session.get(User, user_id), "going")
        db.session.remove()
    return gathering_id


def party_burst(site, server, title, capacity, portions):
    """BURST members sign up at once, each with one adult and one child (2 seats, 1.5 portions)."""
    gathering_id = new_meal(site, title, capacity, portions)
    page = f"/c/{site.slug}/gatherings/{gathering_id}"
    with log_on_failure(server):
        result = burst(clients(site, server, site.emails(BURST)), page, f"/c/{site.slug}/meals/{gathering_id}/party",
                       {"adults": "1", "children": "1"})
    print(f"\n{title}: {result.describe()}")
    return gathering_id, page, result


def dessert_burst(site, server, title):
    """CLAIMS members coming to the meal claim the last DESSERTS dessert places at once."""
    emails = site.emails(CLAIMS)
    gathering_id = new_meal(site, title, None, None, dessert_places=DESSERTS,
                            seated=[site.member_ids[e] for e in emails])
    page = f"/c/{site.slug}/meals/{gathering_id}/potluck"
    with site.app.app_context():
        need_id = db.session.scalar(select(Need.id).where(Need.gathering_id == gathering_id))
        db.session.remove()
    with log_on_failure(server):
        result = burst(clients(site, server, emails), page, f"/c/{site.slug}/meals/{gathering_id}/dishes",
                       {"need": str(need_id), "name": "Cake", "feeds": "8", "no_allergens": "y"})
    print(f"\n{title}: {result.describe()}")
    return gathering_id, need_id, page, result


def seated_parties(gathering_id):
    rows = db.session.execute(select(Answer.guests, Party.adults, Party.children, Party.held).join(
        Party, Party.answer_id == Answer.id, isouter=True).where(
        Answer.gathering_id == gathering_id, Answer.state == "seated")).all()
    return rows


def statuses_only(result, allowed, sqlite_errors=False):
    statuses = result.statuses()
    allowed = set(allowed) | ({500} if sqlite_errors else set())
    assert set(statuses) <= allowed, f"statuses {statuses}: {result.problems()[:10]}"
    return statuses


class TestMealsUnderSimultaneousRequests:

    def test_fifty_parties_for_ten_seats_and_twelve_portions(self, site, server):
        gathering_id, page, result = party_burst(site, server, "Fifty parties at once", SEATS, PORTIONS)
        with log_on_failure(server), site.app.app_context():
            assert result.statuses() == {303: BURST}, result.problems()[:10]
            gathering = db.session.get(Gathering, gathering_id)
            meal = db.session.scalar(select(Meal).where(Meal.gathering_id == gathering_id))
            parties = seated_parties(gathering_id)
            # Seats bind first: 5 parties of two take the 10 seats and 7.5 of the 12 portions.
            assert len(parties) == 5 and gathering.seats_taken == SEATS
            assert meal.halves_taken == 15 == sum(p.held for p in parties)
            assert all((p.adults, p.children, p.held) == (1, 1, 3) for p in parties)
            waiting = db.session.scalar(select(func.count()).select_from(Answer).where(
                Answer.gathering_id == gathering_id, Answer.state == "waiting"))
            assert waiting == BURST - 5
            db.session.remove()

    def test_fifty_parties_for_twenty_seats_and_twelve_portions(self, site, server):
        gathering_id, page, result = party_burst(site, server, "Fifty parties, portions first", ROOMY, PORTIONS)
        with log_on_failure(server), site.app.app_context():
            assert result.statuses() == {303: BURST}, result.problems()[:10]
            meal = db.session.scalar(select(Meal).where(Meal.gathering_id == gathering_id))
            parties = seated_parties(gathering_id)
            # Portions bind first: 8 parties of 3 halves hold all 24, and 16 of the 20 seats.
            assert len(parties) == 8 and meal.halves_taken == 2 * PORTIONS == sum(p.held for p in parties)
            assert db.session.get(Gathering, gathering_id).seats_taken == 16 < ROOMY
            waiting = db.session.scalar(select(func.count()).select_from(Answer).where(
                Answer.gathering_id == gathering_id, Answer.state == "waiting"))
            assert waiting == BURST - 8
            db.session.remove()

    def test_twenty_claims_for_the_last_three_dessert_places(self, site, server):
        gathering_id, need_id, page, result = dessert_burst(site, server, "Twenty claim three desserts")
        with log_on_failure(server), site.app.app_context():
            assert result.statuses() == {303: DESSERTS, 422: CLAIMS - DESSERTS}, result.problems(303)[:5]
            assert db.session.get(Need, need_id).taken == DESSERTS
            dishes = db.session.scalar(select(func.count()).select_from(Dish).where(Dish.need_id == need_id))
            assert dishes == DESSERTS
            db.session.remove()


class TestUnsafeMealCountersOverbook:

    @staticmethod
    def attempts(site, server, run, over, what):
        sqlite = make_url(site.database_url).get_backend_name() == "sqlite"
        counts = []
        for _ in range(SQLITE_ATTEMPTS if sqlite else 1):
            result, count = run(sqlite)
            counts.append(count)
            if count > over:
                break
        print(f"{what}: {counts} for {over}")
        return counts

    def test_the_seat_burst_overbooks_without_the_protection(self, site, unsafe_server):
        def run(sqlite):
            gathering_id, _, result = party_burst(site, unsafe_server, "Seats, unsafely", SEATS, PORTIONS)
            # Without the lock, seats are also written as "what I read plus mine", so increments are lost;
            # a party whose portions then run out gives its 2 seats back with a real decrement, which can
            # take the counter below zero and meet its CHECK constraint (a 500 on either database; 7 of 50
            # once on PostgreSQL): the database refusing what the missing protection let through.
            statuses_only(result, {303, 500}, sqlite_errors=sqlite)
            with site.app.app_context():
                people = sum(p.guests + 1 for p in seated_parties(gathering_id))
                db.session.remove()
            return result, people

        counts = self.attempts(site, unsafe_server, run, SEATS, "unsafe seats, people seated")
        assert counts[-1] > SEATS, f"the unsafe seats never overbooked: {counts} people for {SEATS}"

    def test_the_portion_burst_overbooks_without_the_protection(self, site, unsafe_server):
        def run(sqlite):
            gathering_id, _, result = party_burst(site, unsafe_server, "Portions, unsafely", ROOMY, PORTIONS)
            # Without the lock a write can also meet the portions' CHECK constraint (a 500 on either
            # database): the database refusing what the missing protection let through.
            statuses_only(result, {303, 500}, sqlite_errors=sqlite)
            with site.app.app_context():
                halves = sum(p.held for p in seated_parties(gathering_id))
                db.session.remove()
            return result, halves

        counts = self.attempts(site, unsafe_server, run, 2 * PORTIONS, "unsafe portions, halves held by parties")
        assert counts[-1] > 2 * PORTIONS, f"the unsafe portions never overbooked: {counts} halves for {2 * PORTIONS}"

    def test_the_dessert_burst_overbooks_without_the_protection(self, site, unsafe_server):
        def run(sqlite):
            gathering_id, need_id, _, result = dessert_burst(site, unsafe_server, "Desserts, unsafely")
            statuses_only(result, {303, 422}, sqlite_errors=sqlite)
            with site.app.app_context():
                dishes = db.session.scalar(select(func.count()).select_from(Dish).where(Dish.need_id == need_id))
                db.session.remove()
            return result, dishes

        counts = self.attempts(site, unsafe_server, run, DESSERTS, "unsafe dessert places, dishes")
        assert counts[-1] > DESSERTS, f"the unsafe claims never overbooked: {counts} dishes for {DESSERTS}"
