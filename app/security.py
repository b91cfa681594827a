"""Response headers every page gets, and the per-request CSP nonce."""

import secrets

from flask import Flask, Response, abort, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from werkzeug.routing import IntegerConverter


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _content_security_policy() -> str:
    # Everything comes from our own origin; scripts also need this request's
    # nonce. No inline handlers, no eval (htmx runs with allowEval false).
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{csp_nonce()}'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "form-action 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ])


class SecureCookies:
    """WSGI middleware: every cookie gets Secure when the request came over HTTPS.

    Flask and Flask-Login read their Secure flags from static config, but one
    deployment may be reached over plain HTTP in development and over HTTPS
    behind the proxy; and the session cookie is written after every
    after_request hook, so only a layer around the app sees all cookies.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("wsgi.url_scheme") != "https":
            return self.wsgi_app(environ, start_response)

        def secure_start_response(status, headers, exc_info=None):
            headers = [(name, value + "; Secure" if name.lower() == "set-cookie"
                        and "; secure" not in value.lower() else value) for name, value in headers]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, secure_start_response)


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", _content_security_policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static" and "Cache-Control" not in headers:
        # Signed-in pages are private: "private, no-cache" would still let the
        # browser store them on a shared phone; so are pages whose address
        # holds a secret (a guest's link, an invitation, a reset link).
        if current_user.is_authenticated or request.path.startswith(SECRET_PATHS):
            headers["Cache-Control"] = "no-store"
        else:
            headers["Cache-Control"] = "no-cache"
    return response


SECRET_PATHS = ("/g/", "/join/", "/notice/", "/auth/reset/", "/auth/verify/", "/auth/email/", "/feeds/")
SESSIONLESS_ENDPOINTS = {"static", "pwa.manifest", "pwa.service_worker", "pwa.offline"}


def refuse_nul_bytes():
    """A NUL byte never comes from a person typing, and PostgreSQL refuses it in
    text: an address with one is refused at once (forms refuse it beside the
    field: app/forms.py)."""
    if "\x00" in request.path or any("\x00" in v for values in request.args.lists() for v in values[1]):
        abort(400)


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` in a route, at most what an INTEGER column holds: a larger
    number is a page that does not exist (404), not a database error."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app: Flask) -> None:
    app.session_interface = QuietSessionInterface()
    app.before_request(refuse_nul_bytes)
    app.after_request(set_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce


class QuietSessionInterface(SecureCookieSessionInterface):
    """No session cookie (and no ``Vary: Cookie``) on responses that never use
    one: static files, the manifest, the service worker and the offline page.
    Otherwise Flask-Login's hooks touch the session on every response, a cookie
    set by /sw.js changes the cookie mid-visit, and every cached asset stops
    matching the browser's HTTP cache."""

    def save_session(self, app, session, response):
        if request.endpoint in SESSIONLESS_ENDPOINTS:
            return
        super().save_session(app, session, response)
