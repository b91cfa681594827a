"""Budget fixtures: the demo served by gunicorn (2 workers) at scale 1 and at
scale 10, each crawled once, signed in as Ada and signed out.

Every budget is checked on the pages the crawler finds, never on a list of
URLs, so the pages of later areas fall under the budgets by themselves.

The figures (sizes, query counts, first visits) are printed by each test and
again, all together, at the end of the run under "budget figures".
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from app import create_app

from ..crawl import Page, crawl, endpoint_of, fetch, one_per_route
from ..served import Served, app_config, prepare, serve, session_cookie

ADA = "ada@example.org"
# Pages for people who are not signed in, fetched even when nothing links to them.
SIGNED_OUT = ("/", "/auth/login", "/auth/register", "/auth/reset", "/offline")

# Kilobytes are 1,000 bytes, as in the 14,600 bytes (ten TCP segments) of a page.
HTML_BUDGET = 14_600
OWN_JS_BUDGET = 3_000
# The service worker loads in the background, never before a page shows; it
# carries the offline choices (kept pages, "keep my next gatherings").
WORKER_JS_BUDGET = 4_000
CSS_BUDGET = 10_000
FIRST_VISIT_BYTES = 60_000
FIRST_VISIT_REQUESTS = 8
# A page's own statements when it is made; the page cache adds one to every
# GET (its generation), and a page it serves again takes three in all.
QUERY_BUDGET = 12

# Section title -> table, printed at the end of the run.
FIGURES: dict[str, str] = {}


def table(headers: list[str], rows: list[list]) -> str:
    """A plain text table; numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [[f"{c:,}" if isinstance(c, int) else str(c) for c in row]
                                           for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [bool(rows) and all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(headers))]

    def line(row):
        return "  ".join(c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]])


def report(title: str, text: str) -> None:
    """Print figures in the test's output and keep them for the run's summary."""
    FIGURES[title] = text
    print(f"\n{title}\n{text}")


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.write_sep("=", "budget figures")
    for title, text in FIGURES.items():
        terminalreporter.write_line(f"\n{title}")
        for line in text.splitlines():
            terminalreporter.write_line(line)


@dataclass
class Site:
    """A served demo and what the crawler found on it."""
    served: Served
    scale: int
    cookie: str  # Ada's minted session
    signed_in: list[Page] = field(default_factory=list, repr=False)
    signed_out: list[Page] = field(default_factory=list, repr=False)
    # The same site as a German browser reads it (Accept-Language: de): at
    # scale 1 crawled in full; at scale 10 the English crawl's page of each route.
    german: list[tuple[str, Page]] = field(default_factory=list, repr=False)

    @property
    def base_url(self) -> str:
        return self.served.base_url

    @property
    def database_url(self) -> str:
        return self.served.database_url

    def visits(self) -> list[tuple[str, Page]]:
        """Every page crawled, with who looked at it."""
        return [("Ada", p) for p in self.signed_in] + [("signed out", p) for p in self.signed_out]

    def one_per_route(self) -> list[tuple[str, Page]]:
        return ([("Ada", p) for p in one_per_route(self.signed_in)]
                + [("signed out", p) for p in one_per_route(self.signed_out)])


GERMAN = "de-DE,de;q=0.9,en;q=0.5"


def _crawl_signed_out(base_url: str, url_map, language: str | None = None) -> list[Page]:
    pages = crawl(base_url, None, url_map, start="/", language=language)
    seen = {p.url for p in pages}
    for path in SIGNED_OUT:
        if path not in seen:
            page = fetch(base_url, path, language=language)
            page.endpoint = endpoint_of(url_map, path) or ""
            pages.append(page)
    return pages


def _in_german(site: Site, url_map) -> list[tuple[str, Page]]:
    if site.scale == 1:
        return ([("Ada", p) for p in crawl(site.base_url, site.cookie, url_map, language=GERMAN)]
                + [("signed out", p) for p in _crawl_signed_out(site.base_url, url_map, GERMAN)])
    found = []
    for who, english in site.one_per_route():
        page = fetch(site.base_url, english.url, site.cookie if who == "Ada" else None, language=GERMAN)
        page.endpoint = english.endpoint
        found.append((who, page))
    return found


def _start(database_factory, tmp_path_factory, scale: int) -> Site:
    url = database_factory(f"_budget{scale}")
    accounts = prepare(url, scale=scale)
    served = serve(url, tmp_path_factory.mktemp(f"budget{scale}"), workers=2)
    served.accounts = accounts
    try:
        return Site(served, scale, session_cookie(url, ADA))
    except BaseException:
        served.stop()
        raise


def _crawl(site: Site, url_map) -> Site:
    site.signed_in = crawl(site.base_url, site.cookie, url_map)
    site.signed_out = _crawl_signed_out(site.base_url, url_map)
    site.german = _in_german(site, url_map)
    return site


@pytest.fixture(scope="session")
def _sites(database_factory, tmp_path_factory):
    """Both demos, served; crawled at the same time (the crawl is mostly waiting)."""
    sites = []
    try:
        for scale in (1, 10):
            sites.append(_start(database_factory, tmp_path_factory, scale))
        url_map = create_app(app_config(sites[0].database_url)).url_map
        with ThreadPoolExecutor(len(sites)) as pool:
            for done in [pool.submit(_crawl, s, url_map) for s in sites]:
                done.result()
        yield sites
    finally:
        for s in sites:
            s.served.stop()


@pytest.fixture(scope="session")
def site(_sites) -> Site:
    """The demo at scale 1, served and crawled."""
    return _sites[0]


@pytest.fixture(scope="session")
def large_site(_sites) -> Site:
    """The demo at scale 10 (Elm Street ten times as big), served and crawled."""
    return _sites[1]
