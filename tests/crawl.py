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
from urllib.parse import urljoin, urlsplit

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
          language: str | None = None) -> Page:
    """One page as a browser gets it (in ``language``, an Accept-Language header, if given)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Accept-Encoding": encodings, "Accept": "text/html"}
    if language:
        headers["Accept-Language"] = language
    if cookie:
        headers["Cookie"] = f"session={cookie}"
    conn.request("GET", path, headers=headers)
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
    return pages


def one_per_route(pages: list[Page]) -> list[Page]:
    """The first page seen of each route pattern."""
    chosen: dict[str, Page] = {}
    for page in pages:
        chosen.setdefault(page.endpoint or page.url, page)
    return list(chosen.values())
