"""The pages that compose every area: a person's home and a circle's overview."""

from flask import Blueprint

from ..i18n import N_

bp = Blueprint("home", __name__)


def init_app(app, areas) -> None:
    from . import routes  # noqa: F401  (registers the views on bp)

    app.register_blueprint(bp)
    areas.tab("home.circle", N_("Overview"), order=0)
