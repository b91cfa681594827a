"""``flask gatherings extend``: top up recurring series (the job runner does it every few hours)."""

import click

from ..database import lock, write_unit
from . import bp, series
from .models import Series

bp.cli.short_help = "Gatherings commands."


@bp.cli.command("extend")
def extend_command():
    """Make the coming occurrences of every recurring series."""
    click.echo(f"made {extend_all()} occurrence(s)")


def extend_all(now=None) -> int:
    """Top up every series (the job runner does it every few hours)."""
    made = 0
    for series_id in series.series_ids():
        # One unit per series: a long top-up never holds the write lock for all of them.
        with write_unit():
            found = lock(Series, series_id)
            if found is not None:
                made += len(series.extend_series(found))
    return made
