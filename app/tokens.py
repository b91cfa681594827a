"""Secrets for links and cookies: made random, stored only as a hash."""

import hashlib
import secrets


def new_token() -> tuple[str, str]:
    """A 256-bit token for a link or cookie, and the hash we store of it."""
    raw = secrets.token_urlsafe(32)
    return raw, token_hash(raw)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
