"""A person's home: the one page that composes every area."""

from flask import render_template
from flask_login import current_user

from ..auth.forms import PlainForm
from ..circles import domain as circles
from . import bp


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return render_template("home/welcome.html")
    return render_template(
        "home/index.html", plain_form=PlainForm(), circles=circles.circles_of(current_user),
        pending=circles.pending_invitation(current_user),
        waiting=circles.waiting_requests(current_user))
