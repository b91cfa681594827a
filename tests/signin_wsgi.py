"""TEST ONLY: the app as wsgi.py makes it, but hashing passwords at the cost
that SIGNIN_ARGON2 names ("time_cost,memory_cost,parallelism"), for
tests/test_signin_concurrency.py (the app reads no such setting itself)."""

from __future__ import annotations

import os

from app import create_app

time_cost, memory_cost, parallelism = (int(n) for n in os.environ["SIGNIN_ARGON2"].split(","))
app = create_app({"ARGON2_TIME_COST": time_cost, "ARGON2_MEMORY_COST": memory_cost,
                  "ARGON2_PARALLELISM": parallelism})
