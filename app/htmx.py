"""Our only contact with flask-htmx, so it can be replaced by a few lines.

A partial answers only a plain htmx request: boosted navigations and history
restores want the whole page.
"""

from flask import Flask, Response, request
from flask_htmx import HTMX

htmx = HTMX()


def is_partial_request() -> bool:
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def _vary_on_hx_request(response: Response) -> Response:
    # Any page may answer with a full page or a fragment: caches must key on it.
    if request.endpoint != "static":
        response.vary.add("HX-Request")
    return response


def init_app(app: Flask) -> None:
    htmx.init_app(app)
    app.after_request(_vary_on_hx_request)
