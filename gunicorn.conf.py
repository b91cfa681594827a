"""gunicorn's settings that must follow the app's own. gunicorn reads this
file from the folder it starts in (the repository: `make run`, the tests)."""

import os

# Trust X-Forwarded-Proto and friends only from a proxy the app is told about
# (PROXY_COUNT, README): with none, gunicorn trusts nobody, so a client on this
# machine cannot pass itself off as HTTPS. FORWARDED_ALLOW_IPS names a proxy
# elsewhere than on this machine.
_proxies = int(os.environ.get("PROXY_COUNT", "0") or 0)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or ("127.0.0.1,::1" if _proxies else "")
