"""One job runner for all scheduled and background work.

Each kind of work is a row (``scheduled_jobs``) with the time it is next
due. A worker claims a due row with one conditional UPDATE that also sets a
lease (``claimed_until``): on PostgreSQL the UPDATE locks the row and
re-checks the condition after any concurrent writer commits, on SQLite it
runs in the write unit (the one write lock), so two workers never run the
same job at once; a worker that dies leaves the lease to run out and the job
is taken again. Areas register their work with ``areas.job(name, fn,
every=...)``; ``flask jobs run`` is the long-running worker (``make run``
starts it beside the web server), ``flask jobs tick`` one pass.

No queue library fits: huey and rq need Redis, which ``make run`` does
without, and procrastinate is PostgreSQL-only.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import time

import click
from flask import Flask, current_app
from sqlalchemy import String, Text, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from .database import UTCDateTime, utcnow, write_unit
from .extensions import db

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=15)


class ScheduledJob(db.Model):
    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


def registered() -> dict:
    from .areas import areas
    return areas().jobs


def _ensure_rows(now: dt.datetime) -> None:
    known = set(db.session.scalars(select(ScheduledJob.name)))
    db.session.commit()
    missing = [name for name in registered() if name not in known]
    for name in missing:
        try:
            with write_unit():
                if db.session.get(ScheduledJob, name) is None:
                    db.session.add(ScheduledJob(name=name, due_at=now))
        except Exception:  # another worker made it first
            db.session.rollback()


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=current_app.config.get("JOB_LEASE_SECONDS", LEASE.total_seconds()))


def claim(name: str, now: dt.datetime) -> bool:
    """Take the job if it is due and nobody holds it: one statement, atomic on both databases."""
    with write_unit():
        return db.session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.name == name, ScheduledJob.due_at <= now,
                   or_(ScheduledJob.claimed_until.is_(None), ScheduledJob.claimed_until <= now))
            .values(claimed_until=now + lease())).rowcount == 1


def tick(now: dt.datetime | None = None) -> dict[str, str]:
    """One pass: run each due job once. Returns {name: "done" | "failed"}."""
    now = now or utcnow()
    _ensure_rows(now)
    done = {}
    for name, job in list(registered().items()):
        if job.shared:
            try:
                job.run(now)
                done[name] = "done"
            except Exception:
                log.exception("job %s failed", name)
                db.session.rollback()
                done[name] = "failed"
            continue
        if not claim(name, now):
            continue
        error = None
        try:
            job.run(now)
        except Exception as problem:  # one failing job never stops the others
            log.exception("job %s failed", name)
            db.session.rollback()
            error = str(problem)[:1000]
        finished = utcnow()
        with write_unit():
            db.session.execute(update(ScheduledJob).where(ScheduledJob.name == name).values(
                claimed_until=None, last_finished_at=finished, last_error=error,
                due_at=max(now + job.every, finished) if error is None else finished + dt.timedelta(minutes=1)))
        done[name] = "failed" if error else "done"
    return done


def run_forever(pause: float = 20.0) -> None:
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    log.info("job worker %s started", os.getpid())
    while not stopping:
        try:
            tick()
        except Exception:
            log.exception("a pass of the job runner failed")
            db.session.rollback()
        db.session.remove()
        slept = 0.0
        while slept < pause and not stopping:
            time.sleep(0.5)
            slept += 0.5


def _send_mail(now: dt.datetime) -> None:
    from .mail import deliver_pending
    deliver_pending(limit=500)


def _purge(now: dt.datetime) -> None:
    from .cli import purge
    purge(now)


def init_app(app: Flask) -> None:
    """The core's own work, after the areas registered theirs: the outbox
    (the safety net of the after-commit send), and the daily purge."""
    registry = app.extensions["communitarium.areas"]
    registry.job("mail", _send_mail, every=dt.timedelta(minutes=1), shared=True)
    registry.job("purge", _purge, every=dt.timedelta(days=1))

    @app.cli.group("jobs")
    def jobs_cli():
        """The job runner: mail, digests, reminders and scheduled work."""

    @jobs_cli.command("tick")
    def tick_command():
        """Run each due job once (for cron or tests)."""
        for name, outcome in tick().items():
            click.echo(f"{name}: {outcome}")

    @jobs_cli.command("run")
    @click.option("--pause", default=20.0, show_default=True, help="Seconds between passes.")
    def run_command(pause: float):
        """The long-running worker (make run starts it beside the web server)."""
        from .ops import SchemaNotCurrent, require_current_schema

        try:  # like the web server, it never works on a schema older than its code
            require_current_schema(current_app._get_current_object())
        except SchemaNotCurrent as problem:
            raise click.ClickException(str(problem)) from None
        run_forever(pause or current_app.config.get("JOBS_PAUSE", 20.0))
