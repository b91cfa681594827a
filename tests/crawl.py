"""Walk every page a signed-in person can reach from their home, over HTTP.

Used by the budget, validity and browser tests, so that later areas' pages
fall under them automatically.
"""

from __future__ import annotations

import http.client
import re
from collections import deque
from dataclasses import dataclass
from html import unescape
from urllib.parse import urlencode, urljoin, urlsplit

from werkzeug.routing import Map
from werkzeug.routing.exceptions import HTTPException as RoutingException

# Pages that end something or are not pages for a person to read.
SKIP_PREFIXES = ("/static/", "/sw.js", "/manifest.webmanifest", "/auth/logout")
LINK = re.compile(r'<a\s[^>]*href="([^"#]+)', re.I)


@dataclass
class Page:
    url: str
    endpoint: str
    status: int
    headers: dict
    body: bytes  # as sent (compressed when the client asked for it)
    raw_size: int  # the status line and headers plus the body, as on the wire


def fetch(base_url: str, path: str, cookie: str | None = None, encodings: str = "br, gzip",
          form: dict | None = None, language: str | None = None) -> Page:
    """GET ``path`` as a browser gets it (in ``language``, an Accept-Language header, if given);
    with ``form``, POST it as a browser sends a form."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Accept-Encoding": encodings, "Accept": "text/html"}
    if language:
        headers["Accept-Language"] = language
    if cookie:
        headers["Cookie"] = f"session={cookie}"
    if form is None:
        conn.request("GET", path, headers=headers)
    else:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request("POST", path, body=urlencode(form), headers=headers)
    response = conn.getresponse()
    body = response.read()
    header_lines = [f"HTTP/1.1 {response.status} {response.reason}"] + [f"{k}: {v}" for k, v in response.getheaders()]
    wire = len("\r\n".join(header_lines).encode()) + 4 + len(body)
    conn.close()
    return Page(path, "", response.status, dict(response.getheaders()), body, wire)


def decoded(page: Page) -> str:
    encoding = page.headers.get("Content-Encoding")
    body = page.body
    if encoding == "br":
        import brotli
        body = brotli.decompress(body)
    elif encoding == "gzip":
        import gzip
        body = gzip.decompress(body)
    return body.decode("utf-8", errors="replace")


def endpoint_of(url_map: Map, path: str) -> str | None:
    adapter = url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(urlsplit(path).path, method="GET")
    except RoutingException:
        return None
    return endpoint


def crawl(base_url: str, cookie: str | None, url_map: Map, start: str = "/", limit: int = 400,
          language: str | None = None) -> list[Page]:
    """Every page reachable by links from ``start``, each fetched once (in ``language``, if given)."""
    seen, pages, queue = {start}, [], deque([start])
    while queue and len(pages) < limit:
        path = queue.popleft()
        page = fetch(base_url, path, cookie, language=language)
        page.endpoint = endpoint_of(url_map, path) or ""
        pages.append(page)
        if page.status != 200 or "text/html" not in page.headers.get("Content-Type", ""):
            continue
        for href in LINK.findall(decoded(page)):
            target = urljoin(base_url + path, unescape(href))
            parts = urlsplit(target)
            if f"{parts.scheme}://{parts.netloc}" != base_url:
                continue
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if local in seen or local.startswith(SKIP_PREFIXES):
                continue
            seen.add(local)
            queue.append(local)
    if cookie:
        pages += made_by_forms(base_url, cookie, url_map, pages, language)
    return pages


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SESSION = re.compile(r"(?:^|,\s*)session=([^;]+)")


def _send(base_url: str, path: str, cookie: str, fields: dict, language: str | None = None) -> Page:
    """A form sent as a browser sends it: its page first, for the CSRF token
    (and the session cookie that now holds it), then the POST."""
    form_page = fetch(base_url, path, cookie, language=language)
    renewed = SESSION.search(form_page.headers.get("Set-Cookie", ""))
    token = CSRF.search(decoded(form_page))
    assert token, f"no CSRF token on {path}"
    return fetch(base_url, path, renewed.group(1) if renewed else cookie, form={"csrf_token": token.group(1)} | fields,
                 language=language)


def made_by_forms(base_url: str, cookie: str, url_map: Map, found: list[Page],
                  language: str | None = None) -> list[Page]:
    """Pages no link reaches, as a person reaches them: a printable notice
    (its address holds a token shown only to its maker: made through the
    notice form, then opened in A4 and A5) and the page that shows a new
    invitation link with its QR code (the answer to the form, not a GET); a
    gathering's guest-link notice, whose form is a GET no link makes."""
    pages = []
    by_endpoint = {p.endpoint: p.url for p in found if p.status == 200}
    if "circles.new_notice" in by_endpoint:
        made = _send(base_url, by_endpoint["circles.new_notice"], cookie, {
            "text": "Neighbours of the street: we plan together here, then meet in person. Come along!",
            "days": "30", "max_uses": "20", "names_inviter": "y", "size": "a4"}, language)
        assert made.status == 303, f"the notice form answered {made.status}"
        notice = urlsplit(made.headers["Location"]).path
        for size in ("a4", "a5"):
            page = fetch(base_url, f"{notice}?size={size}", cookie, language=language)
            page.endpoint = endpoint_of(url_map, notice) or ""
            pages.append(page)
    if "gatherings.notice" in by_endpoint:  # a gathering's notice: its form is a GET
        page = fetch(base_url, by_endpoint["gatherings.notice"] + "?" + urlencode(
            {"text": "Bring a cup and something to share. Children welcome.", "size": "a4"}), cookie, language=language)
        page.endpoint = "gatherings.notice (the notice)"
        pages.append(page)
    if "circles.invitations" in by_endpoint:
        page = _send(base_url, by_endpoint["circles.invitations"], cookie,
                     {"days": "7", "max_uses": "10", "note": "For the new neighbours at number 5"}, language)
        page.endpoint = "circles.invitations (a new link, with its QR code)"
        pages.append(page)
    return pages


def one_per_route(pages: list[Page]) -> list[Page]:
    """The first page seen of each route pattern."""
    chosen: dict[str, Page] = {}
    for page in pages:
        chosen.setdefault(page.endpoint or page.url, page)
    return list(chosen.values())
