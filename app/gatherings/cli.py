"""``flask gatherings extend``: top up recurring series (make run runs it; cron it daily)."""

import click

from . import bp, series

bp.cli.short_help = "Gatherings commands."


@bp.cli.command("extend")
def extend_command():
    """Make the coming occurrences of every recurring series."""
    click.echo(f"made {series.extend_all()} occurrence(s)")
