"""Composing a digest run: 10,000 members with 20 notices each, into the
outbox, on SQLite and PostgreSQL (``make digest-bench``, not part of
``make test``). Prints the time and the peak memory growth, and with
``--write`` records them in docs/performance.md.

    .venv/bin/python -m bench.digest [--people 10000] [--each 20] [--write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import resource
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(people: int, each: int) -> None:
    from app.auth.models import User
    from app.database import utcnow
    from app.extensions import db
    from app.notify.models import Notice
    due = utcnow() - dt.timedelta(minutes=1)
    batch = 1000
    for start in range(0, people, batch):
        users = [{"email": f"member{n}@example.org", "display_name": f"Member {n}", "time_zone": "Europe/Berlin",
                  "created_at": due} for n in range(start, min(start + batch, people))]
        db.session.execute(insert(User), users)
        ids = db.session.scalars(select(User.id).where(User.email.in_([u["email"] for u in users]))).all()
        db.session.execute(insert(Notice), [
            {"user_id": user_id, "kind": "gathering_changed", "occasion": f"o{k}", "subject": f"Soup evening {k}: changed",
             "body": "\"Soup evening\" has changed (place).\nWhen: Thu 10 Dec 2026, 18:30–20:30 (Europe/Berlin)\n"
                     "Where: The community hall", "url": f"/c/elm-street/gatherings/{k}",
             "channel": "digest", "created_at": due, "mail_due_at": due} for user_id in ids for k in range(each)])
        db.session.commit()


def run(url: str, people: int, each: int) -> dict:
    from app import create_app
    from app.extensions import db
    from app.mail import OutboxMail
    from app.notify import domain

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "SMTP_HOST": None})
    with app.app_context():
        db.create_all()
        fill(people, each)
        db.session.remove()
        base = rss_mb()
        peak = [base]
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_mb())
                time.sleep(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = time.perf_counter()
        queued = domain.compose_digests()
        seconds = time.perf_counter() - started
        stop.set()
        watcher.join()
        mails = db.session.scalar(select(func.count()).select_from(OutboxMail))
        db.session.remove()
        db.engine.dispose()
    return {"queued": queued, "mails": mails, "seconds": seconds, "growth_mb": peak[0] - base, "base_mb": base}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--each", type=int, default=20)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    options = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        targets = {"sqlite": f"sqlite:///{scratch}/digest.db"}
        name = f"digest_bench_{uuid.uuid4().hex[:8]}"
        try:
            import psycopg
            with psycopg.connect(PG.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            targets["postgresql"] = PG.rsplit("/", 1)[0] + "/" + name
        except Exception as error:  # no PostgreSQL here: say so
            print(f"PostgreSQL skipped: {error}")
        try:
            for kind, url in targets.items():
                if options.only and kind != options.only:
                    continue
                result = results[kind] = run(url, options.people, options.each)
                print(f"{kind}: {result['queued']} digests of {options.each} notices in {result['seconds']:.1f} s, "
                      f"peak memory +{result['growth_mb']:.0f} MB over {result['base_mb']:.0f} MB")
                assert result["queued"] == result["mails"] == options.people
        finally:
            if "postgresql" in targets:
                import psycopg
                with psycopg.connect(PG.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if options.write:
        write(results, options.people, options.each)


def write(results: dict, people: int, each: int) -> None:
    path = ROOT / "docs" / "performance.md"
    text = path.read_text()
    lines = [f"| {kind} | {r['queued']:,} | {r['seconds']:.1f} s | +{r['growth_mb']:.0f} MB |"
             for kind, r in results.items()]
    section = ("<!-- digest-bench -->\n## Composing the daily digest (`make digest-bench`)\n\n"
               f"{people:,} members with {each} notices each, composed into the outbox in one run (the job "
               "runner's `notices` job), people streamed 200 at a time, each batch one write unit. "
               "Peak memory growth over the process's size before the run (RSS, sampled every 50 ms).\n\n"
               "| database | digests | time | peak memory growth |\n|---|---|---|---|\n" + "\n".join(lines)
               + f"\n\nMeasured {dt.date.today():%Y-%m-%d} on this machine (2 cores).\n<!-- /digest-bench -->\n")
    if "<!-- digest-bench -->" in text:
        text = re.sub(r"<!-- digest-bench -->.*<!-- /digest-bench -->\n", section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
