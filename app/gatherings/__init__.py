from flask import Blueprint

bp = Blueprint("gatherings", __name__)

from . import cli, routes  # noqa: E402,F401  (registers the views, the command and the account hook)
