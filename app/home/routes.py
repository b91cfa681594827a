"""The pages that compose every area: a person's home and a circle's overview.
They call each area's query functions; no area reaches up into another."""

from flask import render_template
from flask_login import current_user, login_required

from ..areas import areas
from ..circles import domain as circles
from ..circles.access import circle_page
from ..gatherings import queries as gatherings
from . import bp


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return render_template("home/welcome.html", offers=[text for _order, text in areas().offers])
    mine = circles.circle_cards(current_user)
    notices = circles.notices(current_user)
    return render_template(
        "home/index.html", circles=mine,
        next_up=gatherings.next_in_circles([circle.id for circle in mine]),
        my_next=gatherings.my_next(current_user),
        invited=[n.circle for n in notices if n.kind == "invited"][:1],
        waiting=[n.circle for n in notices if n.kind == "waiting"])


@bp.route("/c/<slug>/")
@login_required
@circle_page()
def circle(circle, membership):
    soon, states, more = gatherings.upcoming(circle, current_user, size=5)
    soon, rules = gatherings.at_a_glance(soon)
    return render_template("home/circle.html", circle=circle, membership=membership,
                           requests=circles.pending_requests(circle) if membership.is_steward else [],
                           gatherings=soon, more=more, states=states, rules=rules)
