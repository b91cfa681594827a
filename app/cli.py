"""Commands for running the app: ``flask seed-demo``."""

import datetime as dt
from zoneinfo import ZoneInfo

import click
from flask import Flask
from sqlalchemy import func, select

from . import mail
from .areas import areas
from .auth import passwords
from .auth.models import User
from .circles import domain as circles
from .circles.models import Membership
from .database import utcnow, write_unit
from .extensions import db
from .gatherings import domain as gatherings
from .gatherings import guests, seats, slots
from .gatherings import series as gathering_series
from .gatherings.models import Answer, Gathering
from .talk import demo as talk_demo
from .trust import demo as trust_demo

DEMO_PASSWORD = "bring-a-dish-and-a-friend"

# (name, what they are glad to offer). Listed alternating between the two
# circles, as the README prints them: Elm Street first, then the co-op.
DEMO_PEOPLE = [
    ("Ada Okafor", "Sewing repairs, a big soup pot"),
    ("Bruno Lindqvist", "Bike repairs on Saturday mornings"),
    ("Chiara Bellini", "Italian lessons, a ladder"),
    ("Dmitri Sokolov", "A cargo bike to borrow"),
    ("Elif Yilmaz", "Watering plants while you are away"),
    ("Farah Haddad", "Help with forms and letters in Arabic or French"),
    ("Gus Moreau", "A drill and a spirit level"),
    ("Hana Takahashi", "Baking for gatherings"),
]
# Who reads Communitarium in German whatever their browser says (the others follow it).
GERMAN_READERS = {"Hana Takahashi"}

ELM_STREET = {
    "name": "Elm Street", "slug": "elm-street", "area": "Elm Street, numbers 1 to 40",
    "time_zone": "Europe/Berlin",
    "description": "The neighbours of **Elm Street**. We share tools, cook together on the first "
                   "Sunday of the month, and keep the courtyard green.\n\n- Ask before you borrow\n"
                   "- Bring it back clean",
}
HARBOUR = {
    "name": "Harbour Housing Co-op", "slug": "harbour-coop", "area": "Harbour Road 12, three stairwells",
    "time_zone": "Europe/Berlin", "join_mode": "question",
    "join_question": "Which flat do you live in, and who told you about us?",
    "description": "Housemates of the Harbour co-op: the shared laundry, the roof garden, and the "
                   "monthly house meeting.",
}


def demo_email(name: str) -> str:
    return f"{name.split()[0].lower()}@example.org"


def seed_demo(scale: int = 1) -> list[tuple[str, str]]:
    """Fill an empty database with demo content; returns (email, password) pairs.

    ``scale`` multiplies what Elm Street holds (members, invitations, log), for
    the budget tests (10) and the benchmark (38: about 150 members).
    """
    if db.session.scalar(select(func.count()).select_from(User)):
        raise click.ClickException("The database already has accounts; seed-demo only fills an empty one.")
    password_hash = passwords.hash_password(DEMO_PASSWORD)  # slow: before the unit
    with write_unit():
        return _seed(scale, password_hash)


def _seed(scale: int, password_hash: str) -> list[tuple[str, str]]:
    people = []
    for name, _offers in DEMO_PEOPLE:
        user = User(email=demo_email(name), display_name=name, password_hash=password_hash,
                    email_verified_at=utcnow(), time_zone="Europe/Berlin")
        if name in GERMAN_READERS:  # chose Deutsch on the account page: pages and mail in German
            user.language, user.language_follows_browser = "de", False
        db.session.add(user)
        people.append(user)
    db.session.flush()
    for index, spec in enumerate((ELM_STREET, HARBOUR)):
        residents = people[index::2]
        founder = residents[0]
        circle = circles.create_circle(founder, **spec)
        circles.create_invitation(circle, founder, days=14, max_uses=20, note="Flyer in the stairwell")
        for person in residents[1:]:
            db.session.add(Membership(circle_id=circle.id, user_id=person.id))
        db.session.flush()
        for person, (_name, offers) in zip(people, DEMO_PEOPLE):
            membership = circles.membership_of(circle.id, person)
            if membership is not None:
                circles.set_offers(membership, offers)
        circles.update_settings(circle, founder, members_can_invite=True)
        db.session.flush()
        _plan_gatherings(circle, residents, elm=index == 0)
        if index == 0:
            from .meals.demo import fill_meals, plan_meals
            meals = plan_meals(circle, residents, scale)
        if index == 0:  # lending: Elm Street's library of things
            from .lending.demo import seed_library
            seed_library(circle, residents, scale)
        talk_demo.seed(circle, residents, elm=index == 0, scale=scale, gathering=db.session.scalar(
            select(Gathering).where(Gathering.circle_id == circle.id, Gathering.title == "Soup evening")))
        trust_demo.seed(circle, residents, elm=index == 0)
        if index == 0:
            extra = _grow(circle, founder, scale, password_hash) if scale > 1 else []
            people += extra
            fill_meals(meals, extra)  # the grown circle comes to the meals too
    db.session.flush()
    from .notify import demo as notify_demo  # notices in the demo inboxes
    notify_demo.seed(people)
    db.session.flush()
    return [(person.email, DEMO_PASSWORD) for person in people]


def _at(days: int, hour: int, minute: int = 0, zone: str = "Europe/Berlin") -> dt.datetime:
    """A local wall time some days from today."""
    today = dt.datetime.now(ZoneInfo(zone)).date()
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute))


def _plan_gatherings(circle, residents: list[User], elm: bool) -> None:
    """Gatherings of every kind: a past one with who came, a full one with a
    waitlist, a series with slots, one asking for approval and shared by link,
    a cancelled one, an online one."""
    host, *others = residents
    if elm:
        done = gatherings.create_gathering(circle, host, title="Courtyard clean-up", place="Elm Street 12, courtyard",
                                           starts_local=_at(-9, 10), ends_local=_at(-9, 12), allow_past=True,
                                           description="Gloves and bags are in the shed. Coffee after.")
        for person in others:
            db.session.add(Answer(gathering_id=done.id, user_id=person.id, response="going", state="seated",
                                  attended=person is not others[-1]))
        done.seats_taken = len(residents)
        db.session.flush()
        for answer in db.session.scalars(select(Answer).where(Answer.gathering_id == done.id,
                                                             Answer.user_id == host.id)):
            answer.attended = True
        soup = gatherings.create_gathering(
            circle, host, title="Soup evening", place="Elm Street 3, ground floor", starts_local=_at(4, 18, 30),
            ends_local=_at(4, 21), capacity=3, max_guests=1,
            description="Ada cooks a big pot of lentil soup. Bring a bowl and a spoon.")
        db.session.flush()
        for person in others:  # two seats for the first two, then the waitlist
            seats.answer(soup.id, person, "going")
        series_, made = gathering_series.create_series(
            circle, others[0], freq="weekly", title="Repair café", place="The bike shed, Elm Street 20",
            starts_local=_at(2, 17), ends_local=_at(2, 19), capacity=12, max_guests=2,
            description="Bring what is broken: bikes, lamps, zips. We fix it together.")
        for occurrence in made[:2]:
            slots.add_slot(occurrence, "Set up the tables", 2)
            slots.add_slot(occurrence, "Bring chairs", 1)
        db.session.flush()
        seats.answer(made[0].id, host, "going", guests=1)
        garden = gatherings.create_gathering(
            circle, others[1], title="Planning the courtyard garden", place="Elm Street 12, courtyard",
            starts_local=_at(11, 11), ends_local=_at(11, 13), status="tentative", needs_approval=True,
            capacity=15, max_guests=2, description="Which beds, which plants, who waters in August.")
        guests.open_publicly(garden)
        db.session.flush()
        seats.answer(garden.id, others[2], "going", message="I can bring seedlings.")
        picnic = gatherings.create_gathering(circle, host, title="Picnic in the park", place="Stadtpark, east lawn",
                                             starts_local=_at(6, 13), ends_local=_at(6, 16))
        db.session.flush()
        gatherings.cancel_gathering(picnic.id, host, None, "Rain all day. We'll find another Sunday.")
    else:
        gathering_series.create_series(
            circle, host, freq="monthly_date", title="House meeting", place="Harbour Road 12, laundry room",
            starts_local=_at(3, 19), ends_local=_at(3, 20, 30),
            description="Agenda on the board by the door. Tea provided.")
        gathering_series.create_series(
            circle, others[0], freq="monthly_weekday", setpos=-1, title="Book club (online)",
            online_url="https://meet.example.org/harbour-books", starts_local=_at(5, 20), ends_local=_at(5, 21))
        db.session.flush()


def _grow(circle, founder: User, scale: int, password_hash: str) -> list[User]:
    """More neighbours, links and log for one circle: ``scale`` times as many."""
    extra = []
    for i in range(4 * (scale - 1)):
        user = User(email=f"neighbour{i + 1}@example.org", display_name=f"Neighbour {i + 1}",
                    password_hash=password_hash, email_verified_at=utcnow(), time_zone="Europe/Berlin")
        db.session.add(user)
        extra.append(user)
    db.session.flush()
    for i, user in enumerate(extra):
        db.session.add(Membership(circle_id=circle.id, user_id=user.id,
                                  offers="Help with moving boxes" if i % 3 == 0 else ""))
    for i in range(scale - 1):
        circles.create_invitation(circle, founder, days=30, max_uses=5, note=f"Stairwell {i + 2}")
        circles.update_settings(circle, founder, area=f"Elm Street, numbers 1 to {40 + i}")
    db.session.flush()
    for i in range(5 * (scale - 1)):
        past = i % 2 == 0
        day = -(i + 2) if past else i + 1
        gathering = gatherings.create_gathering(
            circle, extra[i % len(extra)], title=f"Neighbourly evening {i + 1}", place="Elm Street 3",
            starts_local=_at(day, 19), ends_local=_at(day, 21), capacity=20, allow_past=past)
        db.session.flush()
        for person in extra[:8]:
            if person.id != gathering.host_id:
                db.session.add(Answer(gathering_id=gathering.id, user_id=person.id, response="going",
                                      state="seated", attended=True if past else None))
                gathering.seats_taken += 1
    db.session.flush()
    return extra


def purge(now: dt.datetime | None = None) -> dict[str, int]:
    """Delete what we keep no longer than we must (README, "What we keep"), in one unit."""
    now = now or utcnow()
    with write_unit():
        done = {"sent mail": mail.purge_sent(now)}
        for area_purge in areas().purges:
            done |= area_purge(now)
    return done


def init_app(app: Flask) -> None:
    @app.cli.command("purge")
    def purge_command():
        """Delete sent mail, expired sessions and links, and old guest emails (run it daily)."""
        for what, count in purge().items():
            click.echo(f"{what}: {count} deleted")

    @app.cli.command("seed-demo")
    @click.option("--scale", default=1, show_default=True, help="Multiply the demo circle's size.")
    @click.option("--keep", is_flag=True, help="If the demo is there already, keep it and list its accounts.")
    def seed_demo_command(scale: int, keep: bool):
        """Fill an empty database with demo accounts and content."""
        # Links in mail are built as in a request to BASE_URL.
        with app.test_request_context(base_url=app.config["BASE_URL"]):
            if keep and db.session.scalar(select(func.count()).select_from(User)):
                accounts = [(demo_email(name), DEMO_PASSWORD) for name, _offers in DEMO_PEOPLE]
                if db.session.scalar(select(func.count()).select_from(User).where(
                        User.email.in_([email for email, _ in accounts]))) != len(accounts):
                    raise click.ClickException("This database has accounts, but not the demo's.")
            else:
                accounts = seed_demo(scale)
        for email, password in accounts:
            click.echo(f"{email} {password}")
