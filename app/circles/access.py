"""Who sees a circle: its members, and nobody else."""

from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask_login import current_user

from .domain import find_circle_for_member


def redirect_visitors():
    """Every /c/ URL, existing or not, answers a visitor the same way: a 303
    to sign in, coming back here afterwards."""
    if request.path.startswith("/c/") and not current_user.is_authenticated:
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("auth.login", next=target), 303)
    return None


def circle_page(steward: bool = False):
    """Load the circle of ``slug`` for its member; 404 for everyone else,
    exactly as for a circle that does not exist; 403 for a member where
    only stewards may act. The view gets (circle, membership, ...)."""

    def decorator(view):
        @wraps(view)
        def wrapper(slug, **kwargs):
            found = find_circle_for_member(slug, current_user)
            if found is None:
                abort(404)
            circle, membership = found
            if steward and not membership.is_steward:
                abort(403)
            g.circle, g.membership = circle, membership
            return view(circle, membership, **kwargs)

        return wrapper

    return decorator
