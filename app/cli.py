"""Commands for running the app: ``flask seed-demo``."""

import click
from flask import Flask
from sqlalchemy import func, select

from .auth import passwords
from .auth.models import User
from .circles import domain as circles
from .circles.models import Membership
from .database import utcnow
from .extensions import db

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
    password_hash = passwords.hash_password(DEMO_PASSWORD)
    people = []
    for name, _offers in DEMO_PEOPLE:
        user = User(email=demo_email(name), display_name=name, password_hash=password_hash,
                    email_verified_at=utcnow(), time_zone="Europe/Berlin")
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
        circles.make_steward(circle, founder, circles.membership_of(circle.id, residents[1]))
        circles.update_settings(circle, founder, members_can_invite=True)
        if index == 0 and scale > 1:
            people += _grow(circle, founder, scale, password_hash)
    db.session.commit()
    return [(person.email, DEMO_PASSWORD) for person in people]


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
    return extra


def init_app(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--scale", default=1, show_default=True, help="Multiply the demo circle's size.")
    def seed_demo_command(scale: int):
        """Fill an empty database with demo accounts and content."""
        for email, password in seed_demo(scale):
            click.echo(f"{email} {password}")
