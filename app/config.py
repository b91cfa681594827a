"""Configuration from the environment. Every variable is listed in README.md."""

import os
import secrets
from pathlib import Path


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_secret_key(instance_path: str) -> str:
    """The secret key from SECRET_KEY, else from ``instance/secret_key``.

    The file is created with O_EXCL, so when several processes start at once
    the first writer wins and every other one reads the same key.
    """
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return path.read_text().strip()


def from_environment(instance_path: str) -> dict:
    redis_url = os.environ.get("REDIS_URL")
    return {
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "DATABASE_URL", f"sqlite:///{Path(instance_path) / 'communitarium.db'}"
        ),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "BASE_URL": os.environ.get("BASE_URL", f"http://127.0.0.1:{os.environ.get('PORT') or 8000}"),
        "PROXY_COUNT": int(os.environ.get("PROXY_COUNT", "0")),
        "SMTP_HOST": os.environ.get("SMTP_HOST"),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "587")),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME"),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD"),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", True),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Communitarium <noreply@localhost>"),
        "LIMIT_LOGIN_PER_EMAIL": os.environ.get("LIMIT_LOGIN_PER_EMAIL", "25 per hour"),
        "LIMIT_LOGIN_PER_IP": os.environ.get("LIMIT_LOGIN_PER_IP", "300 per hour"),
        "LIMIT_RESET_PER_EMAIL": os.environ.get("LIMIT_RESET_PER_EMAIL", "5 per 30 minutes"),
        "LIMIT_REGISTER_PER_IP": os.environ.get("LIMIT_REGISTER_PER_IP", "20 per hour"),
        "LIMIT_REGISTER_PER_EMAIL": os.environ.get("LIMIT_REGISTER_PER_EMAIL", "3 per hour"),
        "LIMIT_RESEND_PER_ACCOUNT": os.environ.get("LIMIT_RESEND_PER_ACCOUNT", "5 per hour"),
        "LIMIT_EMAIL_CHANGE_PER_ACCOUNT": os.environ.get("LIMIT_EMAIL_CHANGE_PER_ACCOUNT", "5 per hour"),
        "LIMIT_GUEST_PER_EMAIL": os.environ.get("LIMIT_GUEST_PER_EMAIL", "3 per hour"),
        "LIMIT_GUEST_PER_IP": os.environ.get("LIMIT_GUEST_PER_IP", "20 per hour"),
        "GATHERINGS_WEEKS_AHEAD": int(os.environ.get("GATHERINGS_WEEKS_AHEAD", "8")),
        "LIMIT_REPLY_PER_DISCUSSION": os.environ.get("LIMIT_REPLY_PER_DISCUSSION", "5 per minute"),
    }


class Defaults:
    """Settings that do not come from the environment."""

    # The areas of the product, in the order they build on each other: each
    # package's init_app registers its views and what it adds to the others
    # (app/areas.py). Adding an area is adding its package name here.
    AREAS = ["app.auth", "app.notify", "app.circles", "app.gatherings", "app.meals", "app.lending", "app.talk",
             "app.closing", "app.home", "app.pwa"]

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Quiet hours for whoever has not chosen (from, until; local hours): notices
    # that come right away wait until they end. Equal hours: none.
    QUIET_HOURS = (21, 8)
    MAX_CONTENT_LENGTH = 1024 * 1024  # 1 MiB: no form of ours comes near it
    # The CSRF token lives as long as the session: an installed app left open
    # for hours must still be able to post.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_SSL_STRICT = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 365
    BABEL_DEFAULT_LOCALE = "en"
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_MIMETYPES = [
        "text/html", "text/css", "text/plain", "text/calendar", "application/javascript",
        "text/javascript", "application/json", "application/manifest+json", "image/svg+xml",
    ]
    COMPRESS_MIN_SIZE = 256
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_STRATEGY = "moving-window"
    VERIFY_TOKEN_HOURS = 24
    RESET_TOKEN_MINUTES = 30
    EMAIL_CHANGE_TOKEN_HOURS = 24  # the link to the new address
    EMAIL_UNDO_TOKEN_DAYS = 7  # the link to the old address that undoes a change
    SESSION_DAYS = 30  # a login without "remember me" ends after this long
    # argon2id parameters: argon2-cffi's defaults (RFC 9106 low-memory profile:
    # t=3, 64 MiB, p=4), above OWASP's minimum (t=2, 19 MiB, p=1).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4
