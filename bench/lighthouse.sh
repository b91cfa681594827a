#!/usr/bin/env bash
# `make lighthouse`: installs Lighthouse (pinned in bench/lighthouse/package.json and its
# package-lock.json) into bench/lighthouse/node_modules, then runs bench/lighthouse.py
# against the machine's chromium (CHROME_PATH, default /usr/bin/chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

lock=bench/lighthouse/package-lock.json
stamp=bench/lighthouse/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
  echo "Installing Lighthouse into bench/lighthouse/node_modules"
  npm ci --prefix bench/lighthouse --no-audit --no-fund
fi
export CHROME_PATH="${CHROME_PATH:-/usr/bin/chromium}"
exec .venv/bin/python -m bench.lighthouse "$@"
