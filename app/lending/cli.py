"""Lending's scheduled work, run by the job runner every hour (``flask lending
expire`` runs it by hand): it records waitlist offers past their time and
offers the thing to the next in line, tells borrowers the day before a loan is
due, and tells the owner, the borrower and the next borrower when a loan is
overdue."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import select

from ..database import utcnow, write_unit
from ..extensions import db
from ..mail import deliver_pending
from ..i18n import _
from . import bp, loans, things, waitlist
from .models import Reservation, Thing

bp.cli.short_help = "Lending: offers that run out, due and overdue loans."


def run(now: dt.datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    counts = {"offers expired": 0, "due": 0, "overdue": 0}
    with write_unit():
        for thing_id in waitlist.expire_offers(None, now):
            counts["offers expired"] += 1
            waitlist.offer_next(db.session.get(Thing, thing_id), now)
        out = db.session.scalars(select(Reservation).where(Reservation.status.in_(("accepted", "out")))
                                 .options(db.joinedload(Reservation.thing).joinedload(Thing.circle)))
        for reservation in out:
            thing = reservation.thing
            today = dt.datetime.now(things.zone(thing.circle.time_zone)).date()
            if (reservation.end_date == today + dt.timedelta(days=1) and reservation.due_told_on is None):
                reservation.due_told_on = today
                loans.tell_borrower(reservation, thing, lambda: _("Due back tomorrow: %(thing)s", thing=thing.name), "due")
                counts["due"] += 1
            if reservation.status == "out" and reservation.end_date < today and reservation.overdue_told_on is None:
                reservation.overdue_told_on = today
                loans.tell_borrower(reservation, thing, lambda: _("Overdue: %(thing)s", thing=thing.name), "overdue")
                loans.tell_handlers(thing, lambda: _("Overdue: %(thing)s", thing=thing.name), "overdue",
                                    reservation=reservation)
                following = loans.next_after(reservation)
                if following is not None:
                    loans.tell_borrower(following, thing, lambda: _("Not back yet: %(thing)s", thing=thing.name),
                                        "overdue_next")
                counts["overdue"] += 1
    deliver_pending()  # after the commit, as a request does
    return counts


@bp.cli.command("expire")
def expire_command():
    """Offers that ran out, due and overdue loans (the job runner does it hourly)."""
    counts = run()
    click.echo(", ".join(f"{what}: {n}" for what, n in counts.items()))
