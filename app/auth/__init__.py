"""Accounts: registering, signing in, sessions, passwords, names and email addresses, deleting an account."""

from flask import Blueprint

from ..i18n import N_

bp = Blueprint("auth", __name__, url_prefix="/auth")


def init_app(app, areas) -> None:
    from . import domain, routes  # noqa: F401  (routes registers the views on bp)

    app.register_blueprint(bp)
    from .export import account
    areas.personal("account", account)
    areas.on_purge(domain.purge)
    areas.notice("account_verify", N_("you sign up, or ask for a new link to confirm your address"), "auth")
    areas.notice("account_reset", N_("you ask to reset your password"), "auth")
    areas.notice("account_email", N_("you ask to change your email address (a link to the new one, "
                                     "a note with an undo link to the old one)"), "auth")
