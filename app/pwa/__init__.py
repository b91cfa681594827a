"""The installable app: manifest, service worker, offline page."""

from flask import Blueprint

bp = Blueprint("pwa", __name__)

from . import routes  # noqa: E402,F401
