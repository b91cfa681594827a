"""Who may do what, for views in every area."""

import ipaddress
from functools import wraps
from urllib.parse import urlsplit

from flask import flash, redirect, request, url_for
from ..i18n import _
from flask_login import current_user, login_required

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


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: never send someone elsewhere after signing in."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def client_key() -> str:
    """The client's address for rate limits; IPv6 counted per /64, since one
    household or phone holds a whole /64."""
    address = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def email_key() -> str:
    """Limits keyed on the email typed, whether or not it has an account."""
    return "email:" + normalize_email(request.form.get("email", ""))
