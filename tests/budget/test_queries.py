"""A page costs a small, fixed number of SQL queries, however big the circle.

Counted in-process (the Flask test client on the same databases the served
sites use), for one page per route pattern, at scale 1 and scale 10. A count
that grows with the data is a query inside a loop (lazy loading per row).
Transaction control (BEGIN, COMMIT...) is not counted: SQLite's recipe emits
BEGIN as a statement, PostgreSQL's driver does not.
"""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import event

from app import create_app
from app.extensions import db

from ..served import app_config
from .conftest import QUERY_BUDGET, report, table

TRANSACTION = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|END)\b", re.I)


def _routes(site) -> dict[tuple[str, str], str]:
    """(who, route) -> one URL of that route on this site."""
    return {(who, page.endpoint): page.url for who, page in site.one_per_route()
            if page.endpoint and page.status == 200}


def _count(site, routes: dict[tuple[str, str], str]) -> dict[tuple[str, str], list[str]]:
    """The statements each page sends, signed in as Ada or signed out."""
    # The page's own statements: the page cache (app/pagecache.py) would
    # serve the counted visit from the warm-up, and it adds one of its own
    # to every GET (the generation), the same on every page.
    app = create_app(app_config(site.database_url) | {"PAGE_CACHE": False})
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not TRANSACTION.match(statement):
            statements.append(" ".join(statement.split()))

    clients = {"Ada": app.test_client(), "signed out": app.test_client()}
    clients["Ada"].set_cookie("session", site.cookie)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for (who, _), url in routes.items():  # once to warm up anything done once per process
            clients[who].get(url)
        counts = {}
        for key, url in routes.items():
            statements.clear()
            response = clients[key[0]].get(url)
            assert response.status_code == 200, f"{key}: {url} answered {response.status_code} in-process"
            counts[key] = list(statements)
    finally:
        event.remove(engine, "before_cursor_execute", record)
        engine.dispose()
    return counts


def _extra(small: list[str], large: list[str]) -> list[str]:
    difference = Counter(large) - Counter(small)
    return [f"{n} x {statement[:200]}" for statement, n in difference.items()]


def test_queries_per_page_are_few_and_do_not_grow(site, large_site):
    small_routes, large_routes = _routes(site), _routes(large_site)
    assert small_routes.keys() == large_routes.keys(), (
        f"the two sites have different routes: {small_routes.keys() ^ large_routes.keys()}")
    small, large = _count(site, small_routes), _count(large_site, large_routes)
    rows = [[who, route, small_routes[(who, route)], len(small[(who, route)]), len(large[(who, route)])]
            for who, route in small_routes]
    report(f"SQL queries per page (budget {QUERY_BUDGET}, the same at scale 1 and 10; "
           f"{site.database_url.split(':')[0].split('+')[0]})",
           table(["who", "route", "url (scale 1)", "queries, scale 1", "queries, scale 10"], rows))
    problems = []
    for key in small_routes:
        n_small, n_large = len(small[key]), len(large[key])
        if n_large != n_small:
            problems.append(f"{key[0]} {key[1]} ({large_routes[key]}): {n_small} queries at scale 1, "
                            f"{n_large} at scale 10; extra at scale 10:\n    "
                            + "\n    ".join(_extra(small[key], large[key])))
        if max(n_small, n_large) > QUERY_BUDGET:
            problems.append(f"{key[0]} {key[1]} ({small_routes[key]}): {max(n_small, n_large)} queries, "
                            f"over {QUERY_BUDGET}:\n    " + "\n    ".join(
                                s[:200] for s in (large[key] if n_large > n_small else small[key])))
    assert not problems, "\n".join(problems)
