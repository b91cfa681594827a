#!/usr/bin/env bash
# Installs what the tests need beyond the Python packages, on Debian 12 as root:
# Debian's chromium (the browser tests; never a downloaded browser), Java (for
# the W3C Nu HTML checker, tests/test_html.py) and the checker itself (vnu.jar,
# from the npm package pinned in package.json); PostgreSQL's client programs
# (pg_dump and pg_restore: flask backup and restore, tests/test_ops.py) and
# nginx (the load balancer of make two-servers, which runs its own, never the
# system's service). Idempotent: it does nothing,
# and needs no network, when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  echo "Installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -f node_modules/vnu-jar/build/dist/vnu.jar ]; then
  echo "Installing the npm packages of package.json (vnu-jar)"
  # --ignore-scripts: vnu-jar's postinstall would download a Java runtime of its
  # own when none is found; we use Debian's, installed above.
  if [ -f package-lock.json ]; then
    npm ci --ignore-scripts --no-audit --no-fund
  else
    npm install --ignore-scripts --no-audit --no-fund
  fi
fi

java -version 2>&1 | head -n 1
test -f node_modules/vnu-jar/build/dist/vnu.jar
