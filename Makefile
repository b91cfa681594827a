# Communitarium: `make run` serves the app, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
DEMO_PORT ?= 8001
export FLASK_APP := wsgi:app
# The app builds its links (mail, invitations, calendars) on BASE_URL, which
# defaults to http://127.0.0.1:$PORT: the port it is served on.
export PORT

.PHONY: run test demo migrate upgrade extend clean bench lighthouse crash digest-bench two-servers export-bench

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# One key for all workers, written before any of them starts.
instance/secret_key:
	mkdir -p instance
	umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $@

# The Web Push (VAPID) key likewise: browsers accept only pushes signed with
# the key they subscribed with (app/config.py makes it, the app reads it).
instance/vapid_private_key: $(VENV)/.runtime
	$(BIN)/python -c "from app.config import load_vapid_key; load_vapid_key('instance')"

# The guarded upgrade (app/ops.py): two at once never both apply a migration.
# `make run` runs it first, so a newcomer's one machine needs nothing else; on
# servers it is a deploy step of its own (README, Deployment): `make upgrade`
# backs up, then migrates; then restart every app server and job runner (they
# refuse to start on a schema older than their code).
migrate: $(VENV)/.runtime instance/secret_key instance/vapid_private_key
	$(BIN)/flask db upgrade

upgrade: $(VENV)/.runtime instance/secret_key
	$(BIN)/flask backup
	$(BIN)/flask db upgrade
	@echo "Upgraded. Now restart every app server and job runner."

# Without REDIS_URL, rate-limit counters live in the one worker process
# (threads share them); with Redis, every worker shares them, so run more.
# Top up recurring gatherings at start (the job runner then does it every few hours).
extend: migrate
	$(BIN)/flask gatherings extend

run: extend
	@if [ -n "$$REDIS_URL" ]; then \
	  workers=$$((2 * $$(nproc) + 1)); echo "Rate limits in Redis; $$workers workers"; \
	  exec scripts/serve.sh $(BIN) --bind 127.0.0.1:$(PORT) --workers $$workers --no-control-socket --access-logfile - wsgi:app; \
	else \
	  echo "No REDIS_URL: one worker with 8 threads, so rate limits hold"; \
	  exec scripts/serve.sh $(BIN) --bind 127.0.0.1:$(PORT) --workers 1 --threads 8 --no-control-socket --access-logfile - wsgi:app; \
	fi

# The demo has a database of its own (instance/demo.db) and its own port, so
# it works whether or not `make run` came first, and never mixes with your data.
demo: $(VENV)/.runtime instance/secret_key instance/vapid_private_key
	DATABASE_URL=sqlite:///$(CURDIR)/instance/demo.db $(BIN)/flask db upgrade
	DATABASE_URL=sqlite:///$(CURDIR)/instance/demo.db $(BIN)/flask seed-demo --keep
	DATABASE_URL=sqlite:///$(CURDIR)/instance/demo.db $(BIN)/flask gatherings extend
	@echo "The demo: http://127.0.0.1:$(DEMO_PORT)/ (sign in with one of the accounts above)"
	DATABASE_URL=sqlite:///$(CURDIR)/instance/demo.db PORT=$(DEMO_PORT) exec scripts/serve.sh $(BIN) \
	  --bind 127.0.0.1:$(DEMO_PORT) --workers 1 --threads 8 --no-control-socket wsgi:app

# System packages (chromium, java, the HTML checker) first: the script does
# nothing when they are there.
test: $(VENV)/.dev
	@scripts/install-system-packages.sh
	@scripts/test-all.sh

clean:
	rm -rf $(VENV) .pytest_cache

# Load benchmark (wrk; SQLite and PostgreSQL; Redis): writes docs/performance.md.
bench: $(VENV)/.runtime
	bench/bench.sh

# A digest run for 10,000 members with 20 notices each, on SQLite and
# PostgreSQL (about 3 minutes with the filling): writes docs/performance.md.
digest-bench: $(VENV)/.runtime
	$(BIN)/python -m bench.digest --write

# A circle's export at size: 500 members and 5 years of history, streamed on
# SQLite and PostgreSQL (a few minutes with the filling): writes docs/performance.md.
export-bench: $(VENV)/.runtime
	$(BIN)/python -m bench.export --write

# Lighthouse 12.8.2 (bench/lighthouse/) on the local chromium: writes docs/performance.md.
lighthouse: $(VENV)/.runtime
	bench/lighthouse.sh

# Two app servers behind nginx on one PostgreSQL and Redis (about 7 minutes,
# not part of `make test`): sessions, rate limits, the seat race and the job
# runners across both, each with its negative control: writes docs/two-servers.md.
two-servers: $(VENV)/.dev
	@scripts/install-system-packages.sh
	$(BIN)/python -m bench.two_servers

# Crash test (SQLite and PostgreSQL; gunicorn workers SIGKILLed under real form
# posts, then every acknowledged write and mail checked): writes docs/reliability.md.
crash: $(VENV)/.dev
	$(BIN)/python -m bench.crash
