"""Who may do what, for views in every area."""

from functools import wraps

from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from ..i18n import _
from .domain import normalize_email


def verified_required(view):
    """Signed in and confirmed: an unverified account sees what awaits it but
    cannot take part until it has confirmed its address."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_verified:
            flash(_("Please confirm your email address first: we sent you a link."), "warning")
            return redirect(url_for("home.index"))
        return view(*args, **kwargs)

    return wrapper


def email_key() -> str:
    """Limits keyed on the email typed, whether or not it has an account."""
    return "email:" + normalize_email(request.form.get("email", ""))
