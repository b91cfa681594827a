"""Manifest, service worker and the offline page.

The service worker lives at /sw.js, not under /static/, because a worker
controls only the paths below its own URL.
"""

import hashlib
import json

from flask import Response, jsonify, render_template, url_for
from flask_login import current_user, login_required

from ..areas import areas
from ..assets import static_url
from ..i18n import _
from . import bp

# Fetched by the service worker when it installs, so they are there offline.
PRECACHE_STATIC = ("app.css", "app.js", "vendor/htmx-2.0.11.min.js", "icons/icon-192.png")


@bp.route("/manifest.webmanifest")
def manifest():
    body = {
        "id": "/",
        "name": "Communitarium",
        # The name under the icon on a home screen: the app's, not a word.
        "short_name": "Communitarium",
        "description": _("Circles of neighbours plan together here, then meet in person."),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#fbf8f3",
        "theme_color": "#1d5e4a",
        "lang": "en",
        "icons": [
            {"src": static_url("icons/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static_url("icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": static_url("icons/maskable-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "maskable"},
        ],
    }
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


def _precache() -> list[str]:
    return [url_for("pwa.offline")] + [static_url(name) for name in PRECACHE_STATIC]


@bp.route("/sw.js")
def service_worker():
    precache = _precache()
    source = render_template("pwa/sw.js", precache=precache,
                             offline_url=url_for("pwa.offline"), pages_url=url_for("pwa.pages"),
                             icon_url=static_url("icons/icon-192.png"))
    version = hashlib.sha256(source.encode()).hexdigest()[:10]
    response = Response(source.replace("__VERSION__", version), mimetype="text/javascript")
    # The browser must never keep an old worker: it checks this file on every load.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.route("/offline")
def offline():
    """Shown by the service worker when a page cannot be reached. The same
    for everyone, so it can be stored: it names nobody."""
    response = Response(render_template("pwa/offline.html"))
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/offline/pages")
@login_required
def pages():
    """What "keep my next gatherings on this device" keeps: my home and the
    pages each area lists (the gatherings I am going to). The worker fetches
    it only once the person turned the choice on, on that device."""
    listed = [url_for("home.index")]
    for pages_of in areas().offline_pages:
        listed.extend(url for url in pages_of(current_user) if url not in listed)
    response = jsonify(pages=listed)
    response.headers["Cache-Control"] = "no-store"
    return response
