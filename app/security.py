"""Response headers every page gets, and the per-request CSP nonce."""

import secrets

from flask import Flask, Response, g, request
from flask_login import current_user


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


def _secure_cookies(response: Response) -> None:
    """Mark every cookie Secure when the request came over HTTPS.

    Flask and Flask-Login read their Secure flags from static config, but the
    same app may be reached over plain HTTP in development and HTTPS behind
    the proxy in production.
    """
    cookies = response.headers.getlist("Set-Cookie")
    if not cookies:
        return
    response.headers.remove("Set-Cookie")
    for cookie in cookies:
        if "; secure" not in cookie.lower():
            cookie += "; Secure"
        response.headers.add("Set-Cookie", cookie)


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", _content_security_policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        _secure_cookies(response)
    if request.endpoint != "static" and "Cache-Control" not in headers:
        # Signed-in pages are private: "private, no-cache" would still let the
        # browser store them on a shared phone.
        if current_user.is_authenticated:
            headers["Cache-Control"] = "no-store"
        else:
            headers["Cache-Control"] = "no-cache"
    return response


def init_app(app: Flask) -> None:
    app.after_request(set_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
