"""A person's home: the one page that composes every area."""

from flask import render_template
from flask_login import current_user

from ..auth.forms import PlainForm
from . import bp


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return render_template("home/welcome.html")
    return render_template("home/index.html", plain_form=PlainForm())
