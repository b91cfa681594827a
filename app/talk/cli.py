"""``flask talk close``: record the result of every proposal past its closing
time, once (run it from cron every few minutes; running it twice changes nothing)."""

import click

from ..database import write_unit
from . import bp, domain

bp.cli.short_help = "Talk commands."


@bp.cli.command("close")
def close_command():
    """Record the results of proposals whose closing time has passed."""
    with write_unit():
        closed = domain.close_due()
    click.echo(f"closed {len(closed)} proposal(s)")
