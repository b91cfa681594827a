"""Our own JavaScript and the one stylesheet stay small and plain.

Sizes are the bodies as served to a browser that accepts brotli and gzip,
taken from the scripts and the stylesheet the crawled pages really link, so a
new script or stylesheet counts without anyone listing it here.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit

import brotli

from ..crawl import decoded, fetch
from .conftest import CSS_BUDGET, OWN_JS_BUDGET, WORKER_JS_BUDGET, report, table

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.I | re.S)
LINK = re.compile(r"<link\b([^>]*)>", re.I)
STYLE = re.compile(r"<style\b", re.I)
# htmx is vendored and budgeted apart (it is the one library we ship).
VENDOR_HTMX = re.compile(r"^/static/vendor/htmx-[\d.]+(\.min)?\.js$")
FRAMEWORKS = re.compile(r"bootstrap|tailwind|--tw-|--bs-|bulma|foundation-|materialize|semantic-ui|"
                        r"pure-css|purecss|milligram|picocss|--pico-|uikit|skeleton\.css", re.I)
FONT_FILES = re.compile(r"\.(woff2?|ttf|otf|eot)\b", re.I)


def _attribute(attributes: str, name: str) -> str | None:
    match = re.search(rf"""\b{name}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", attributes, re.I)
    return unescape(next(g for g in match.groups() if g is not None)) if match else None


def _html_pages(site):
    return [(who, p, decoded(p)) for who, p in site.visits()
            if p.status == 200 and "text/html" in p.headers.get("Content-Type", "")]


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _served(site, path: str):
    page = fetch(site.base_url, path)
    assert page.status == 200, f"{path} answered {page.status}"
    return page


def test_our_own_javascript_fits(site):
    scripts: dict[str, list[str]] = {}
    inline: dict[str, str] = {}  # inline script -> first page it is on
    for who, page, html in _html_pages(site):
        for attributes, body in SCRIPT.findall(html):
            src = _attribute(attributes, "src")
            if src is None:
                if body.strip() and not re.search(r"type\s*=\s*[\"']?application/(ld\+)?json", attributes):
                    inline.setdefault(body, page.url)
            else:
                scripts.setdefault(_path(src), []).append(page.url)
    own = {path: _served(site, path) for path in scripts if not VENDOR_HTMX.match(urlsplit(path).path)}
    vendor = {path: _served(site, path) for path in scripts if VENDOR_HTMX.match(urlsplit(path).path)}
    worker = _served(site, "/sw.js")
    rows = ([[path, "ours", p.headers.get("Content-Encoding", "none"), len(decoded(p).encode()), len(p.body)]
             for path, p in own.items()]
            + [["/sw.js", "ours, service worker", worker.headers.get("Content-Encoding", "none"),
                len(decoded(worker).encode()), len(worker.body)]]
            + [[path, "vendored htmx", p.headers.get("Content-Encoding", "none"), len(decoded(p).encode()),
                len(p.body)] for path, p in vendor.items()])
    rows += [[f"inline script on {url}", "ours", "br in the page", len(body.encode()),
              len(brotli.compress(body.encode(), quality=11))] for body, url in inline.items()]
    total = sum(len(p.body) for p in own.values()) + sum(
        len(brotli.compress(body.encode(), quality=11)) for body in inline)
    report(f"JavaScript as served (budget {OWN_JS_BUDGET:,} bytes compressed for our own, "
           f"the service worker apart, at most {WORKER_JS_BUDGET:,})",
           table(["script", "whose", "encoding", "bytes", "served bytes"], rows))
    assert own, f"no script of our own found on any page: {scripts}"
    assert all(p.headers.get("Content-Encoding") == "br" for p in own.values()), "a script was not sent brotli"
    assert total <= OWN_JS_BUDGET, f"our JavaScript is {total:,} bytes compressed, over {OWN_JS_BUDGET:,}"
    assert len(worker.body) <= WORKER_JS_BUDGET, (
        f"the service worker is {len(worker.body):,} bytes compressed, over {WORKER_JS_BUDGET:,}")


def test_static_files_are_the_same_for_everyone(site):
    """A versioned static file is cached for a year by the browser and by the
    service worker; a ``Vary: Cookie`` on it would make every change of the
    session cookie (signing in, the first CSRF token) miss both caches and
    fetch htmx and the rest again."""
    paths = {_path(src) for _, _, html in _html_pages(site)
             for src in re.findall(r"""\b(?:src|href)="(/static/[^"]+)""", html)}
    assert paths, "no static files linked"
    wrong = []
    for path in sorted(paths):
        page = fetch(site.base_url, path, site.cookie)
        vary = [v.strip().lower() for v in page.headers.get("Vary", "").split(",")]
        if "cookie" in vary or "Set-Cookie" in page.headers:
            wrong.append(f"{path}: Vary: {page.headers.get('Vary')}; Set-Cookie: {page.headers.get('Set-Cookie')}")
        if "immutable" not in page.headers.get("Cache-Control", ""):
            wrong.append(f"{path}: Cache-Control: {page.headers.get('Cache-Control')}")
    assert not wrong, "static files that a cookie change would fetch again:\n" + "\n".join(wrong)


def _stylesheets(html: str) -> list[str]:
    sheets = []
    for attributes in LINK.findall(html):
        rel = (_attribute(attributes, "rel") or "").lower().split()
        if "stylesheet" in rel:
            sheets.append(_path(_attribute(attributes, "href") or ""))
    return sheets


def test_every_page_links_exactly_one_stylesheet(site, large_site):
    wrong = []
    for s in (site, large_site):
        for who, page, html in _html_pages(s):
            sheets = _stylesheets(html)
            if len(sheets) != 1 or STYLE.search(html):
                wrong.append((s.scale, who, page.url, sheets, "has <style>" if STYLE.search(html) else ""))
    assert not wrong, f"pages without exactly one linked stylesheet (and no <style>): {wrong}"


def test_the_stylesheet_is_small_and_plain(site):
    sheets = {sheet for _, _, html in _html_pages(site) for sheet in _stylesheets(html)}
    assert len(sheets) == 1, f"every page should share one stylesheet, found {sheets}"
    rows, problems = [], []
    for path in sorted(sheets):
        page = _served(site, path)
        css = decoded(page)
        rows.append([path, page.headers.get("Content-Encoding", "none"), len(css.encode()), len(page.body)])
        if len(page.body) > CSS_BUDGET:
            problems.append(f"{path} is {len(page.body):,} bytes compressed, over {CSS_BUDGET:,}")
        if page.headers.get("Content-Encoding") != "br":
            problems.append(f"{path} was not sent brotli-compressed")
        if re.search(r"@import", css, re.I):
            problems.append(f"{path} has @import")
        if re.search(r"@font-face", css, re.I) or FONT_FILES.search(css):
            problems.append(f"{path} loads a web font")
        if FRAMEWORKS.search(css):
            problems.append(f"{path} looks like a CSS framework: {FRAMEWORKS.search(css).group(0)!r}")
        foreign = [u for u in re.findall(r"""url\(\s*['"]?([^'")\s]+)""", css)
                   if "//" in u and not u.startswith(site.base_url + "/")]
        if foreign:
            problems.append(f"{path} refers to another origin: {foreign}")
    report(f"Stylesheet as served (budget {CSS_BUDGET:,} bytes compressed)",
           table(["stylesheet", "encoding", "bytes", "served bytes"], rows))
    assert not problems, problems
