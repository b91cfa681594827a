"""Who sees a circle: its members, and nobody else."""

from functools import wraps

from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user

from .domain import find_circle_for_member


def redirect_visitors():
    """Every /c/ URL, existing or not, answers a visitor the same way: a 303
    to sign in, coming back here afterwards; but for the files a page loads
    (``members_file``), which answer 404 to anyone who is not a member."""
    if request.path.startswith("/c/") and not current_user.is_authenticated:
        if getattr(current_app.view_functions.get(request.endpoint), "members_file", False):
            abort(404)
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("auth.login", next=target), 303)
    return None


def members_file(view):
    """Mark a view of a circle's file (a thing's photo): nobody but a member
    gets it, and a visitor gets the same 404 as anyone else, not a redirect
    to sign in (an image is not a page to come back to). Put it outermost."""
    view.members_file = True
    return view


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
