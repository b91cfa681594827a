"""``flask talk close``: record the result of every proposal past its closing
time, once (run it from cron every few minutes; running it twice changes nothing)."""

import click

from ..database import write_unit
from ..mail import deliver_pending
from . import bp, domain

bp.cli.short_help = "Talk commands."


@bp.cli.command("close")
def close_command():
    """Record the results of proposals whose closing time has passed, and
    remind those without a position of proposals closing within a day."""
    with write_unit():
        closed = domain.close_due()
        reminded = domain.remind_closing()
    if closed or reminded:
        deliver_pending()  # what the unit queued; `flask mail send` retries failures
    click.echo(f"closed {len(closed)} proposal(s), reminded about {len(reminded)}")
