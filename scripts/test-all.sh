#!/usr/bin/env bash
# Runs the whole suite on SQLite, then on PostgreSQL when its server answers.
# With CI=true a database that cannot be reached is a failure, not a skip.
set -u
cd "$(dirname "$0")/.."
PG_URL="${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
status=0

echo "== tests on SQLite"
env -u TEST_DATABASE_URL .venv/bin/python -m pytest -q -p no:cacheprovider tests "$@" || status=1

if .venv/bin/python - "$PG_URL" <<'PY'
import sys
import psycopg
from sqlalchemy.engine import make_url
u = make_url(sys.argv[1])
try:
    psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                    dbname=u.database, connect_timeout=3).close()
except Exception as error:
    print(f"PostgreSQL not reachable: {error}")
    sys.exit(1)
PY
then
  echo "== tests on PostgreSQL"
  TEST_DATABASE_URL="$PG_URL" .venv/bin/python -m pytest -q -p no:cacheprovider tests "$@" || status=1
else
  echo "SKIPPED: the PostgreSQL run (no server at $PG_URL)."
  if [ "${CI:-}" = "true" ]; then
    echo "CI=true: a skipped database is a failure."
    status=1
  fi
fi
exit $status
