"""Every page fits in the first round trip, is valid HTML, and loads nothing
from another origin.

14,600 bytes is what a server may send before the first acknowledgement
(ten TCP segments of 1,460 bytes): a page within it arrives in one round trip.
It is counted as on the wire: status line, headers and the body compressed as
served to a browser that accepts brotli and gzip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ..crawl import decoded
from .conftest import HTML_BUDGET, SIGNED_OUT, report, table

ROOT = Path(__file__).resolve().parents[2]
VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
# A page the checker must find fault with: proves it ran and reported.
CANARY = "<!doctype html><html lang=en><title>x</title><p><div></p></div></html>"

# An absolute or protocol-relative URL: at the start of a value, or after a comma (srcset).
ABSOLUTE = re.compile(r"(?:^|[\s,])((?:[a-z][a-z0-9+.-]*:)?//[^\s,\"'<>]+)", re.I)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)""", re.I)


def _is_html(page) -> bool:
    return page.status == 200 and "text/html" in page.headers.get("Content-Type", "")


def test_the_crawl_found_the_pages(site, large_site):
    for s in (site, large_site):
        assert len(s.signed_in) >= 5 and "home.index" in {p.endpoint for p in s.signed_in}, (
            f"scale {s.scale}: the crawl found too little: {[p.url for p in s.signed_in]}")
        broken = [(p.url, p.status) for p in s.signed_in if p.status != 200]
        assert not broken, f"scale {s.scale}: signed-in pages that are not 200: {broken}"
        # Pages no link reaches, made through their forms (tests/crawl.py made_by_forms): the QR codes count.
        endpoints = {p.endpoint for p in s.signed_in}
        assert {"circles.notice", "circles.invitations (a new link, with its QR code)"} <= endpoints, endpoints
        for page in s.signed_in:
            if page.endpoint.startswith(("circles.notice", "circles.invitations (")):
                assert 'class="qr"' in decoded(page), f"{page.url} shows no QR code"
        out = {p.url: p.status for p in s.signed_out}
        assert all(out[path] == 200 for path in SIGNED_OUT), out


def _html(visits):
    return [(who, p) for who, p in visits if "text/html" in p.headers.get("Content-Type", "")]


def _size_table(visits) -> str:
    """One row per route: how many pages, and the largest of them."""
    routes: dict[tuple[str, str], list] = {}
    for who, page in visits:
        routes.setdefault((who, page.endpoint or page.url), []).append(page)
    rows = []
    for (who, route), pages in routes.items():
        largest = max(pages, key=lambda p: p.raw_size)
        rows.append([who, route, len(pages), largest.url, largest.status,
                     len(decoded(largest).encode()), largest.raw_size])
    return table(["who", "route", "pages", "largest page", "status", "html bytes", "on the wire"], rows)


def _over(visits):
    return [(who, p.url, p.raw_size) for who, p in visits if p.raw_size > HTML_BUDGET]


def test_every_page_fits_in_the_first_round_trip(site):
    visits = _html(site.visits())
    report(f"HTML as served, scale 1: {len(visits)} pages, the largest of each route "
           f"(budget {HTML_BUDGET:,} bytes on the wire: status line, headers, brotli body)", _size_table(visits))
    over = _over(visits)
    assert not over, f"pages over {HTML_BUDGET:,} bytes (status line + headers + compressed body): {over}"
    assert all(p.headers.get("Content-Encoding") == "br" for _, p in visits if len(decoded(p)) > 256), (
        "an HTML page was not sent brotli-compressed")


def test_every_route_fits_with_ten_times_the_data(large_site):
    visits = _html(large_site.one_per_route())
    report(f"HTML as served, scale 10, one page per route (budget {HTML_BUDGET:,} bytes)", _size_table(visits))
    over = _over(visits)
    assert not over, f"scale 10: pages over {HTML_BUDGET:,} bytes: {over}"


def _external(value: str, origin: str) -> list[str]:
    found = ABSOLUTE.findall(value.strip())
    found += [m for m in CSS_URL.findall(value) if "//" in m]
    return [u for u in found if not (u.startswith(origin + "/") or u == origin)]


TAG = re.compile(r"<([a-z][a-z0-9-]*)\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.I)


def foreign_references(html: str, origin: str) -> dict[str, list[str]]:
    """URLs of another origin in the page: ``links`` are <a href> a person may
    follow; ``loads`` is everything else (src, srcset, action, <link href>,
    data-* attributes, url() in inline styles): fetched or sent by the browser
    without anyone asking."""
    found: dict[str, list[str]] = {"links": [], "loads": []}
    for tag, attributes in TAG.findall(html):
        for name, double, single in re.findall(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""", attributes):
            urls = _external(double or single, origin)
            if urls:
                kind = "links" if tag.lower() in ("a", "area") and name.lower() == "href" else "loads"
                found[kind] += urls
    for style in re.findall(r"<style[^>]*>(.*?)</style>", html, re.S | re.I):
        found["loads"] += _external(" ".join(CSS_URL.findall(style)), origin)
    return found


def _foreign(sites, kind: str) -> dict[str, list[str]]:
    bad = {}
    for s in sites:
        for who, page in _html(s.visits()):
            if page.status == 200:
                refs = foreign_references(decoded(page), s.base_url)[kind]
                if refs:
                    bad[f"scale {s.scale} {who} {page.url}"] = refs
    return bad


def test_the_reference_finder_works():
    html = ('<img src="https://cdn.example/x.png" srcset="/a.png 1x, //cdn.example/b.png 2x">'
            '<a href="/here">x</a><a class="y" href="https://maps.example/?q=1">map</a>'
            '<form action="http://127.0.0.1:1/x"><div style="background: url(https://cdn.example/c.png)">')
    assert foreign_references(html, "http://127.0.0.1:1") == {
        "links": ["https://maps.example/?q=1"],
        "loads": ["https://cdn.example/x.png", "//cdn.example/b.png", "https://cdn.example/c.png"]}


def test_no_page_loads_anything_from_another_origin(site, large_site):
    bad = _foreign((site, large_site), "loads")
    assert not bad, f"pages that load from or send to another origin: {bad}"


def test_links_out_are_only_the_map_links(site, large_site):
    """Links (not loads) to another site: only the map link built from a
    gathering's address, which the person chooses to follow. Nothing is ever
    fetched from another origin (test_no_page_loads_from_another_origin)."""
    # The map link built from an address, and the online link a host typed
    # for a gathering (the demo's book club meets at meet.example.org).
    allowed = ("https://www.openstreetmap.org/search?query=", "https://meet.example.org/")
    bad = {page: [u for u in urls if not u.startswith(allowed)]
           for page, urls in _foreign((site, large_site), "links").items()}
    bad = {page: urls for page, urls in bad.items() if urls}
    assert not bad, f"pages with other links out ({len(bad)} pages): {dict(list(bad.items())[:5])}"


def test_every_page_has_a_content_security_policy(site, large_site):
    missing, loose = [], []
    for s in (site, large_site):
        for who, page in _html(s.visits()):
            policy = page.headers.get("Content-Security-Policy", "")
            if not policy:
                missing.append((s.scale, who, page.url))
            elif "default-src 'self'" not in policy or re.search(r"https?:|\*|'unsafe-", policy):
                loose.append((s.scale, who, page.url, policy))
    assert not missing, f"HTML without a Content-Security-Policy header: {missing}"
    assert not loose, f"a policy that lets in other origins or unsafe sources: {loose}"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: a skipped check is a failure; "
                    "run scripts/install-system-packages.sh)", pytrace=False)
    pytest.skip(f"{reason}; run scripts/install-system-packages.sh")


def test_every_page_is_valid_html(site, large_site, tmp_path):
    """Every page at scale 1 and one per route at scale 10, in ONE run of the
    W3C Nu checker. Errors are grouped by message, as one template makes the
    same mistake on many pages."""
    if shutil.which("java") is None:
        _skip_or_fail("java is not installed (Debian: default-jre-headless)")
    if not VNU_JAR.is_file():
        _skip_or_fail(f"{VNU_JAR.relative_to(ROOT)} is missing (npm ci)")
    names: dict[str, str] = {}
    for s, visits in ((site, site.visits()), (large_site, large_site.one_per_route())):
        for who, page in visits:
            if not _is_html(page):
                continue
            slug = re.sub(r"[^A-Za-z0-9]+", "-", page.url).strip("-") or "home"
            name = f"scale{s.scale}--{who.replace(' ', '-')}--{slug}.html"
            names[name] = f"scale {s.scale}, {who}: {page.url}"
            (tmp_path / name).write_text(decoded(page))
    assert len(names) >= 10, names
    (tmp_path / "canary.html").write_text(CANARY)
    files = sorted(str(p) for p in tmp_path.glob("*.html"))
    result = subprocess.run(["java", "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *files],
                            capture_output=True, text=True, timeout=300)
    try:
        messages = json.loads(result.stderr).get("messages", [])
    except json.JSONDecodeError:
        pytest.fail(f"vnu.jar exited {result.returncode} without a JSON report:\n{result.stderr[-3000:]}")
    assert result.returncode == 1, result.stderr[-3000:]  # 1: errors found, as in the canary at least
    by_message: dict[str, list[str]] = {}  # message -> pages
    examples: dict[str, str] = {}
    pages_with_errors = set()
    for m in messages:
        if m.get("type") == "info":
            continue
        name = Path(m.get("url", "").removeprefix("file:")).name
        pages_with_errors.add(name)
        if name in names:
            # Numbers (times, ids) differ from page to page; the mistake does not.
            key = re.sub(r"\d+", "N", m.get("message", "").strip())
            examples.setdefault(key, m.get("extract", "").strip())
            pages = by_message.setdefault(key, [])
            if names[name] not in pages:
                pages.append(names[name])
    assert "canary.html" in pages_with_errors, "the checker found nothing wrong in a broken page: is it working?"
    pages_with_errors.discard("canary.html")
    assert pages_with_errors <= set(names), f"the checker reported on files we did not write: {pages_with_errors}"
    print(f"\nW3C Nu checker: {len(names)} pages, {len(pages_with_errors)} with errors")
    assert not by_message, (f"W3C Nu checker: {len(pages_with_errors)} of {len(names)} pages have errors:\n"
                            + "\n".join(f"  {message}\n      e.g. {examples[message]!r}\n      on {len(pages)} page(s): "
                                         + ", ".join(pages[:4]) + (" ..." if len(pages) > 4 else "")
                                         for message, pages in by_message.items()))
