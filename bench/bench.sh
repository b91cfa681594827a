#!/usr/bin/env bash
# `make bench`: installs what the benchmark needs (wrk from Debian, bench/requirements.txt
# into .venv), then runs bench/run.py. Needs Redis at 127.0.0.1:6379 (database 14 is
# flushed) and, for the PostgreSQL column, the server of BENCH_POSTGRES_URL.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  echo "Installing wrk (Debian package)"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends wrk
fi

.venv/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
exec .venv/bin/python -m bench.run "$@"
