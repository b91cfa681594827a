"""Every page of the demo in German, as a German browser asks for it: the
same pages as in English, each in German, each within the page budget.
German words run longer than English ones, so the budget is checked again
rather than assumed."""

from __future__ import annotations

import re

from ..crawl import decoded
from .conftest import HTML_BUDGET, report, table


# A page reached by posting a form (a printable notice) has a token made for that visit.
_TOKEN = re.compile(r"/notice/[^/?]+")


def _same_page(url: str) -> str:
    return _TOKEN.sub("/notice/<token>", url)


def _html(visits):
    return [(who, p) for who, p in visits if "text/html" in p.headers.get("Content-Type", "")]


def _check(s) -> list[list]:
    pages = _html(s.german)
    english = {(who, _same_page(p.url)) for who, p in _html(s.visits())}
    assert len(pages) >= 20, f"scale {s.scale}: the German crawl found too little: {[p.url for _, p in pages]}"
    if s.scale == 1:  # the German crawl follows the same links to the same pages
        assert {(who, _same_page(p.url)) for who, p in pages} == english
    broken = [(who, p.url, p.status) for who, p in pages if p.status != 200]
    assert not broken, f"scale {s.scale}: German pages that are not 200: {broken}"
    for who, page in pages:
        body = decoded(page)
        assert re.search(r'<html lang="de">', body), f"scale {s.scale} {who} {page.url}: not in German"
        assert "Accept-Language" in page.headers.get("Vary", ""), page.url
    return [[s.scale, who, p.endpoint or p.url, p.url, p.raw_size] for who, p in pages]


def test_every_page_in_german_fits_in_the_first_round_trip(site, large_site):
    rows = _check(site) + _check(large_site)
    largest = sorted(rows, key=lambda r: r[-1], reverse=True)[:15]
    report(f"German pages as served: {len(rows)}, the 15 largest (budget {HTML_BUDGET:,} bytes on the wire)",
           table(["scale", "who", "route", "page", "on the wire"], largest))
    over = [r for r in rows if r[-1] > HTML_BUDGET]
    assert not over, f"German pages over {HTML_BUDGET:,} bytes: {over}"


def test_the_german_check_would_see_english(site):
    """Negative control: the English crawl's pages, taken for German ones, fail the check."""
    import dataclasses

    import pytest

    in_english = dataclasses.replace(site, german=site.visits())
    with pytest.raises(AssertionError, match="not in German"):
        _check(in_english)
