"""Configuration from the environment. Every variable is listed in README.md."""

import base64
import os
import secrets
import tempfile
from pathlib import Path


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _hours(name: str, default: tuple[int, int]) -> tuple[int, int]:
    """"21-8": from 21:00 until 08:00, local hours; equal hours ("0-0"): none."""
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        start, end = (int(part) for part in value.split("-"))
    except ValueError:
        raise ValueError(f'{name} is two hours with a dash, as "21-8"; not {value!r}') from None
    if not (0 <= start <= 23 and 0 <= end <= 23):
        raise ValueError(f"{name}: hours run from 0 to 23; not {value!r}")
    return start, end


def instance_secret(instance_path: str, name: str, make) -> str:
    """The secret in the environment variable ``name``, else in the file
    ``instance/<name in lower case>``, made by ``make()`` when missing.

    The file appears whole or not at all (written aside, then linked into
    place, which fails if it exists), so when several processes start at once
    the first one wins and every other one reads the same value. `make run`
    writes the files before any worker starts, so none even races.
    """
    if os.environ.get(name):
        return os.environ[name]
    path = Path(instance_path) / name.lower()
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(make())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process was first: its value is the one
    finally:
        os.unlink(draft)
    return path.read_text().strip()


def load_secret_key(instance_path: str) -> str:
    """The secret key from SECRET_KEY, else from ``instance/secret_key``."""
    return instance_secret(instance_path, "SECRET_KEY", lambda: secrets.token_hex(32))


def new_vapid_key() -> str:
    """A VAPID private key (P-256) as its 32 raw bytes, base64url without padding."""
    from cryptography.hazmat.primitives.asymmetric import ec
    raw = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def load_vapid_key(instance_path: str) -> str:
    """The Web Push (VAPID) private key from VAPID_PRIVATE_KEY, else from
    ``instance/vapid_private_key``. Every app server and job runner must use
    the same one: browsers accept pushes only signed with the key they
    subscribed with."""
    return instance_secret(instance_path, "VAPID_PRIVATE_KEY", new_vapid_key)


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
        "LIMIT_REPORTS_PER_MEMBER": os.environ.get("LIMIT_REPORTS_PER_MEMBER", "10 per hour"),
        # Quiet hours for whoever has not chosen (from, until; local hours): notices
        # that come right away wait until they end. Equal hours: none.
        "QUIET_HOURS": _hours("QUIET_HOURS", (21, 8)),
        # Serve a page seen again, with nothing written since, as it was made (app/pagecache.py).
        "PAGE_CACHE": _bool("PAGE_CACHE", True),
        # Who runs this server, for the push services (a mailto: or https: address).
        "VAPID_SUBJECT": os.environ.get("VAPID_SUBJECT"),
    }


class Defaults:
    """Settings that do not come from the environment."""

    # The areas of the product, in the order they build on each other: each
    # package's init_app registers its views and what it adds to the others
    # (app/areas.py). Adding an area is adding its package name here.
    AREAS = ["app.auth", "app.notify", "app.circles", "app.gatherings", "app.meals", "app.lending", "app.talk",
             "app.trust", "app.closing", "app.home", "app.pwa"]

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
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
    # Web Push: how long a push service keeps a push for a phone that is off
    # (two days: a phone offline for a day still gets it), and how long one
    # send may take.
    PUSH_TTL_SECONDS = 2 * 24 * 3600
    PUSH_TIMEOUT_SECONDS = 10
    # TESTS ONLY: a CA file. With it, a push endpoint on a loopback address is
    # allowed and its certificate checked against this CA (a local stand-in
    # for a push service); never set it in production.
    PUSH_TEST_CA = None
