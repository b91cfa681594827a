"""Commands for running the app: ``flask seed-demo``."""

import click
from flask import Flask
from sqlalchemy import func, select

from .auth import passwords
from .auth.models import User
from .database import utcnow
from .extensions import db

DEMO_PASSWORD = "bring-a-dish-and-a-friend"

# Display names of the demo neighbours; their emails are <first name>@example.org.
DEMO_PEOPLE = [
    "Ada Okafor", "Bruno Lindqvist", "Chiara Bellini", "Dmitri Sokolov",
    "Elif Yilmaz", "Farah Haddad", "Gus Moreau", "Hana Takahashi",
]


def demo_email(name: str) -> str:
    return f"{name.split()[0].lower()}@example.org"


def seed_demo() -> list[tuple[str, str]]:
    """Fill an empty database with demo content; returns (email, password) pairs."""
    if db.session.scalar(select(func.count()).select_from(User)):
        raise click.ClickException("The database already has accounts; seed-demo only fills an empty one.")
    password_hash = passwords.hash_password(DEMO_PASSWORD)
    accounts = []
    for name in DEMO_PEOPLE:
        email = demo_email(name)
        db.session.add(User(email=email, display_name=name, password_hash=password_hash,
                            email_verified_at=utcnow(), time_zone="Europe/Berlin"))
        accounts.append((email, DEMO_PASSWORD))
    db.session.commit()
    return accounts


def init_app(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Fill an empty database with demo accounts and content."""
        for email, password in seed_demo():
            click.echo(f"{email} {password}")
