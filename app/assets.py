"""Static files: versioned URLs, immutable caching, compressed once.

Flask's own static view marks responses as pass-through, so no compression
middleware touches them; and it cannot know a file's version. This small
view knows both: each file is read, hashed and compressed (brotli, gzip) once
per process, ``static_url()`` adds the content hash to the URL, and a URL with
the current hash is cached by browsers for a year.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import brotli
from flask import Flask, Response, abort, current_app, request, url_for
from werkzeug.security import safe_join

mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")

_COMPRESSIBLE = ("text/", "application/javascript", "application/json", "application/manifest+json",
                 "image/svg+xml")
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    body: bytes
    mimetype: str
    version: str
    br: bytes | None
    gz: bytes | None


_assets: dict[str, Asset] = {}


def load(filename: str) -> Asset | None:
    asset = _assets.get(filename)
    if asset is None:
        path = safe_join(current_app.static_folder, filename)
        try:
            if path is None or not Path(path).is_file():
                return None
        except OSError:  # a name longer than the file system allows: no such file
            return None
        body = Path(path).read_bytes()
        mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        compress = mimetype.startswith(_COMPRESSIBLE) and len(body) > 256
        asset = Asset(body=body, mimetype=mimetype, version=hashlib.sha256(body).hexdigest()[:10],
                      br=brotli.compress(body, quality=11) if compress else None,
                      gz=gzip.compress(body, 9, mtime=0) if compress else None)
        if not current_app.debug:
            _assets[filename] = asset
    return asset


_urls: dict[tuple[str, str], str] = {}


def static_url(filename: str) -> str:
    """The URL of a static file with its content hash, for far-future caching.
    Built once per file and mount point (every page links the same four)."""
    key = (request.script_root if request else "", filename)
    url = _urls.get(key)
    if url is None:
        asset = load(filename)
        url = url_for("static", filename=filename, v=asset.version if asset else None)
        if asset is not None and not current_app.debug:
            _urls[key] = url
    return url


def serve(filename: str) -> Response:
    asset = load(filename)
    if asset is None:
        abort(404)
    accepted = request.accept_encodings
    body, encoding = asset.body, None
    if asset.br is not None and accepted["br"]:
        body, encoding = asset.br, "br"
    elif asset.gz is not None and accepted["gzip"]:
        body, encoding = asset.gz, "gzip"
    response = Response(body, mimetype=asset.mimetype)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    if asset.br is not None:
        response.vary.add("Accept-Encoding")
    response.set_etag(asset.version + (encoding or ""))
    versioned = request.args.get("v") == asset.version
    response.headers["Cache-Control"] = IMMUTABLE if versioned else "no-cache"
    return response.make_conditional(request)


def init_app(app: Flask) -> None:
    app.add_url_rule("/static/<path:filename>", endpoint="static", view_func=serve)
    app.jinja_env.globals["static_url"] = static_url
