"""Closing proposals: the job runner records the result of every proposal past
its closing time every minute, once (running it twice changes nothing);
``flask talk close`` does the same by hand."""

import click

from ..database import write_unit
from ..mail import deliver_pending
from . import bp, domain

bp.cli.short_help = "Talk commands."


def run(now=None) -> tuple[list, list]:
    """Record the results of proposals whose closing time has passed, and
    remind those without a position of proposals closing within a day."""
    with write_unit():
        closed = domain.close_due()
        reminded = domain.remind_closing()
    if closed or reminded:
        deliver_pending()  # what the unit queued; the runner's outbox job retries failures
    return closed, reminded


@bp.cli.command("close")
def close_command():
    """Record the results of proposals past their closing time (the job runner does it every minute)."""
    closed, reminded = run()
    click.echo(f"closed {len(closed)} proposal(s), reminded about {len(reminded)}")
