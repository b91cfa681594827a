"""One page's own cost, without HTTP: for working on a page that misses its target.

    .venv/bin/python -m bench.profile                 # every page of bench/pages.py: ms and SQL
    .venv/bin/python -m bench.profile members         # and a pyinstrument profile of that page
    .venv/bin/python -m bench.profile --postgres log  # the same on a fresh PostgreSQL database

The SQLite file (demo data at the bench scale) is kept in bench/results/profile.db
and made again when it is missing or older than the migrations or the seed; pass
--fresh to rebuild it. Figures are the fastest of three batches of 50 requests
through Flask's test client, so they are comparable with "in process" in
docs/performance.md: "made" with the page cache off, "again" served from it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench import common
from bench.pages import PAGES, SCALE, USER

BATCH = 50
HEADERS = {"Accept-Encoding": "br, gzip"}
SECRET = "profile-" + "x" * 40


def _stale(path: Path) -> bool:
    if not path.exists():
        return True
    sources = [*(common.ROOT / "migrations" / "versions").glob("*.py"), common.ROOT / "app" / "cli.py"]
    return any(source.stat().st_mtime > path.stat().st_mtime for source in sources)


def database(postgres: bool, fresh: bool):
    if postgres:
        return common.postgres_database()
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    path = common.RESULTS / "profile.db"
    if fresh or _stale(path):
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
        common.prepare(f"sqlite:///{path}", SECRET, SCALE, common.RESULTS / "profile-seed.log")
    return _given(f"sqlite:///{path}")


class _given:
    def __init__(self, url: str):
        self.url = url

    def __enter__(self):
        return self.url

    def __exit__(self, *exc):
        return False


def main(argv: list[str]) -> None:
    postgres = "--postgres" in argv
    fresh = "--fresh" in argv
    wanted = {a for a in argv if not a.startswith("--")}
    with database(postgres, fresh) as url:
        if postgres:
            common.prepare(url, SECRET, SCALE, common.RESULTS / "profile-seed.log")
        cookie = common.session_cookie(url, SECRET, USER)
        measure(url, cookie, wanted)


def measure(url: str, cookie: str, wanted: set[str]) -> None:
    from sqlalchemy import event

    from app.extensions import db

    app = common.build_app(url, SECRET)
    with app.app_context():
        engine = db.engine
    statements = [0]
    event.listen(engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
    client = app.test_client()
    for name, path, signed_in in PAGES:
        if wanted and name.replace(" ", "-") not in wanted and name not in wanted:
            continue
        if signed_in:
            client.set_cookie("session", cookie)
        else:
            client.delete_cookie("session")
        figures = []
        for keep in (False, True):  # made each time (the page cache off), then seen again
            app.config["PAGE_CACHE"] = keep
            for _ in range(5):
                response = client.get(path, headers=HEADERS)
                assert response.status_code == 200, (path, response.status_code)
            batches = []
            for _ in range(3):
                statements[0] = 0
                started = time.perf_counter()
                for _ in range(BATCH):
                    client.get(path, headers=HEADERS)
                batches.append(time.perf_counter() - started)
            figures.append(f"{min(batches) / BATCH * 1000:6.2f} ms {statements[0] / BATCH:4.1f} SQL")
        print(f"{name:24} made {figures[0]}   again {figures[1]}   {len(response.data):6d} B on the wire")
        app.config["PAGE_CACHE"] = False  # a profile is of making the page
        if wanted:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0002)
            profiler.start()
            for _ in range(BATCH * 2):
                client.get(path, headers=HEADERS)
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main(sys.argv[1:])
