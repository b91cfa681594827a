"""What lending adds to other areas' pages, through the registry."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from . import queries


def gathering_handovers(gathering, circle, membership):
    """Handovers planned at this gathering, shown only to the two sides of each."""
    if not current_user.is_authenticated:
        return None
    handovers = queries.handovers_at(gathering.id, current_user)
    if not handovers:
        return None
    return render_template("lending/partials/handovers.html", handovers=handovers, circle=circle)


def home_things(user, circles):
    """A link to "My things", and requests that wait for my answer."""
    waiting = queries.waiting_for_answer(user)
    return render_template("lending/partials/home.html", waiting=waiting)


def circle_library(circle, membership):
    """On the circle's overview: the way to its library (no query: the overview stays light)."""
    return render_template("lending/partials/circle.html", circle=circle)
