"""``flask circles import FILE``: take in a circle's export (app/circles/importer.py)."""

import click
from flask import current_app
from sqlalchemy.exc import DataError, IntegrityError

from ..database import write_unit
from . import bp, importer


@bp.cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--slug", help="Another address for the circle, if its own is taken here.")
def import_command(path: str, slug: str | None):
    """Recreate a circle from its export; everyone in it is invited by mail to claim their place."""
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
        try:
            plan = importer.check(path, slug=slug)
            with write_unit():
                circle, links = importer.write(plan)
        except importer.ImportRefused as refused:
            raise click.ClickException(f"Nothing was imported: {refused}") from None
        except (IntegrityError, DataError) as error:
            raise click.ClickException("Nothing was imported: a record in the file breaks a rule of this "
                                       f"server's database ({type(error.orig).__name__}).") from None
        click.echo(f"Imported {circle.name} at /c/{circle.slug}/ with new ids.")
        mailed = [(name, address) for name, address, _link in links if address]
        click.echo(f"{len(mailed)} of {len(links)} members were invited by mail to claim their place.")
        unmailed = [(name, link) for name, address, link in links if not address]
        if unmailed:
            click.echo("These members kept their address out of the export: hand each their link in person.")
            for name, link in unmailed:
                click.echo(f"  {name}: {link}")
