"""gunicorn's settings that must follow the app's own. gunicorn reads this
file from the folder it starts in (the repository: `make run`, the tests)."""

import os

# Trust X-Forwarded-Proto and friends only from a proxy the app is told about
# (PROXY_COUNT, README): with none, gunicorn trusts nobody, so a client on this
# machine cannot pass itself off as HTTPS. FORWARDED_ALLOW_IPS names a proxy
# elsewhere than on this machine.
_proxies = int(os.environ.get("PROXY_COUNT", "0") or 0)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or ("127.0.0.1,::1" if _proxies else "")


_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def when_ready(server):
    """Warn when links would point elsewhere than where the app listens (a
    newcomer who set PORT but not BASE_URL gets dead links in every mail)."""
    from urllib.parse import urlsplit

    if _proxies:
        return  # behind a proxy BASE_URL is the public address, not ours
    base = os.environ.get("BASE_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or 8000}"
    parts = urlsplit(base)
    wanted = (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    for bind in server.cfg.bind:
        host, _, port = bind.rpartition(":")
        host = host.strip("[]")
        if port.isdigit() and int(port) == wanted[1] and (
                host == wanted[0] or {host, wanted[0]} <= _LOOPBACK or host in ("0.0.0.0", "::")):
            return
    server.log.warning("BASE_URL is %s, but the app listens on %s: links in mail, invitations and "
                       "calendars will not reach it. Set BASE_URL (README, Configuration).",
                       base, ", ".join(server.cfg.bind))


def post_worker_init(worker):
    """Refuse to serve a database whose schema is not the code's (older: the
    deploy's upgrade step has not run; newer: an older release started after
    an upgrade). Raised before the worker counts as booted, so gunicorn stops
    with "Worker failed to boot" after the app logged why."""
    app = worker.wsgi
    if "migrate" in getattr(app, "extensions", {}):
        from app.ops import require_current_schema

        require_current_schema(app)
