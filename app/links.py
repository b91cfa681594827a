"""Links: absolute ones for mail and pages, and safe places to go back to."""

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    """An absolute link for mail and pages, built on BASE_URL, never on the
    request's Host header; it works outside requests too (commands, seeding)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: never send someone elsewhere after signing in."""
    if not target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
