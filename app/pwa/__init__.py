"""The installable app: manifest, service worker, offline page."""

from flask import Blueprint

bp = Blueprint("pwa", __name__)


def init_app(app, areas) -> None:
    from . import routes  # noqa: F401  (registers the views on bp)

    app.register_blueprint(bp)
