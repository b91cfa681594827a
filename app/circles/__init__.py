from flask import Blueprint

bp = Blueprint("circles", __name__)

from . import routes  # noqa: E402,F401  (registers the views and the account hooks)
