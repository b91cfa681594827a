"""A first visit costs little, and a later page costs only its HTML.

Once per route pattern (one crawled URL each) a fresh chromium context,
signed in as Ada, loads the page; the sign-in page is visited signed out.
Counted over the load plus two idle seconds: every request of the page and
of its service worker that went over the network (cache hits excluded),
and the bytes on the wire. Then, in the same context, another page: only
its HTML may go over the network; everything else comes from a cache.
"""

from __future__ import annotations

import re

import pytest

from ..browser.conftest import _require_chromium
from .conftest import FIRST_VISIT_BYTES, FIRST_VISIT_REQUESTS, report, table
from .visits import Visit, first_visits


@pytest.fixture(scope="module")
def visits(site):
    _require_chromium()
    pages = [p for who, p in site.one_per_route()
             if who == "Ada" and p.status == 200 and "text/html" in p.headers.get("Content-Type", "")]
    assert len(pages) >= 5, [p.url for p in pages]
    planned = [Visit("Ada", p.endpoint, p.url, pages[(i + 1) % len(pages)].url) for i, p in enumerate(pages)]
    planned.append(Visit("signed out", "auth.login", "/auth/login", "/auth/register"))
    done = first_visits(site.base_url, site.cookie, planned)
    rows = [[v.who, v.route, v.url, v.requests, round(v.bytes / 1000, 1),
             len([t for t in v.first if not t.network]), len(Visit.over_network(v.later))] for v in done]
    report(f"First visit in chromium, per route (budget {FIRST_VISIT_REQUESTS} requests, "
           f"{FIRST_VISIT_BYTES // 1000} KB; page and service worker, load + 2 s idle)",
           table(["who", "route", "url", "requests", "KB", "cache hits", "later page: requests"], rows))
    detail = done[0]
    report(f"First visit in detail: {detail.url}", table(
        ["by", "url", "type", "status", "network", "bytes"],
        [[t.kind, t.url.removeprefix(site.base_url), t.resource, t.status if t.status is not None else "-",
          "yes" if t.network else "cache", t.bytes] for t in detail.first]))
    return done


def _describe(transfers) -> str:
    return "\n    ".join(f"{t.kind:6} {t.status} {'network' if t.network else 'cache':7} {t.bytes:>7,}  {t.url}"
                         for t in transfers)


def test_a_first_visit_is_light(visits):
    over = [v for v in visits if v.requests > FIRST_VISIT_REQUESTS or v.bytes > FIRST_VISIT_BYTES]
    assert not over, "first visits over budget:\n" + "\n".join(
        f"  {v.who} {v.url}: {v.requests} requests, {v.bytes:,} bytes{_twice(v)}\n    {_describe(v.first)}"
        for v in over)


def _twice(visit) -> str:
    """URLs that went over the network more than once: a cache that missed."""
    urls = [t.url for t in Visit.over_network(visit.first)]
    again = sorted({u for u in urls if urls.count(u) > 1})
    return f"; fetched twice (the worker's precache missed the HTTP cache): {again}" if again else ""


PHOTO_BYTES = 40_000  # the photos of things one page loads
THUMBNAIL_BYTES = 8_000
EAGER_THUMBNAILS = 4


def test_photos_have_a_budget_of_their_own(visits):
    """Photos of things are counted apart from the requests above: at most 40 KB
    a page, each thumbnail at most 8 KB, at most 4 thumbnails loaded eagerly
    (the rest ``loading=lazy``)."""
    over = [f"  {v.url}: {sum(t.bytes for t in v.photos):,} bytes of photos\n    {_describe(v.photos)}"
            for v in visits if sum(t.bytes for t in v.photos) > PHOTO_BYTES]
    assert not over, "pages over their photo budget:\n" + "\n".join(over)
    thumbnails = [t for v in visits for t in v.photos if t.url.split("?")[0].endswith("-s.webp")]
    assert thumbnails, "no page of the demo loaded a thumbnail"
    assert all(t.bytes <= THUMBNAIL_BYTES for t in thumbnails), _describe(thumbnails)


def test_at_most_four_thumbnails_load_eagerly(site):
    import re

    from ..crawl import decoded

    for who, page in site.one_per_route():
        if page.status != 200 or "text/html" not in page.headers.get("Content-Type", ""):
            continue
        images = re.findall(r"<img\b[^>]*>", decoded(page))
        eager = [i for i in images if "/library/photos/" in i and 'loading="lazy"' not in i]
        assert len(eager) <= EAGER_THUMBNAILS, (page.url, eager)


def test_the_first_visit_loads_the_page(visits):
    for v in visits:
        documents = [t for t in v.first if t.kind == "page" and t.resource == "Document"]
        assert documents and documents[0].status == 200, f"{v.url}: {_describe(v.first)}"
        assert not v.errors, f"{v.url}: errors in the page: {v.errors}"


# A discussion with new replies tells the server, with htmx, that they were read
# (a 204 with no body; a GET never writes): that is the page's own work, not a
# file it fetched, so it is the one request allowed beside the HTML.
READ_MARKS = re.compile(r"/c/[^/]+/talk/\d+/read$")


def test_a_later_page_sends_only_its_html(visits, site):
    wrong = []
    for v in visits:
        network = [t for t in Visit.over_network(v.later)
                   if not (t.status == 204 and READ_MARKS.search(t.url.removeprefix(site.base_url)))]
        urls = {t.url.removeprefix(site.base_url) for t in network}
        if len(network) != 1 or urls != {v.later_url}:
            wrong.append(f"  {v.who}: after {v.url}, {v.later_url} brought:\n    {_describe(v.later)}")
    assert not wrong, "later pages that fetched more than their HTML:\n" + "\n".join(wrong)


def test_no_request_goes_to_another_origin(visits, site):
    foreign = sorted({url for v in visits for url in v.all_urls()
                      if not url.startswith(site.base_url + "/") and not url.startswith(("data:", "blob:"))})
    assert not foreign, f"requests to another origin: {foreign}"
