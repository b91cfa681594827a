"""A first visit in a real browser, measured: every request of the page and
of its service worker, what went over the network and how many bytes.

The page's own requests come from a CDP session on the page (Network.enable):
encodedDataLength is the bytes on the wire (headers and compressed body), and
fromDiskCache / fromServiceWorker / requestServedFromCache mark what did not
go over the network. The service worker's requests (its script, its precache)
are not the page's: Playwright reports them on the context, with
``request.service_worker`` set; their sizes come from ``request.sizes()``,
where a cache hit shows no bytes at all.

Playwright's sync API allows one instance per thread, and the browser tests
keep theirs open for the whole session, so these visits run in threads of
their own, each with its own Playwright and chromium.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE

IDLE_MS = 2000


@dataclass
class Transfer:
    url: str
    kind: str  # "page" or "worker"
    resource: str
    status: int | None
    bytes: int
    network: bool  # False: from a cache (memory, disk, or the service worker's)


PHOTOS = "/library/photos/"  # lending's photos, counted apart


@dataclass
class Visit:
    who: str
    route: str
    url: str
    later_url: str
    first: list[Transfer] = field(default_factory=list)
    later: list[Transfer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @staticmethod
    def is_photo(transfer: Transfer) -> bool:
        """Photos of things have a budget of their own (test_first_visit)."""
        return PHOTOS in transfer.url

    @staticmethod
    def over_network(transfers: list[Transfer]) -> list[Transfer]:
        return [t for t in transfers if t.network and not Visit.is_photo(t)]

    @property
    def photos(self) -> list[Transfer]:
        return [t for t in self.first if t.network and self.is_photo(t)]

    @property
    def requests(self) -> int:
        return len(self.over_network(self.first))

    @property
    def bytes(self) -> int:
        return sum(t.bytes for t in self.over_network(self.first))

    def all_urls(self) -> list[str]:
        return [t.url for t in self.first + self.later]


class Recorder:
    """Collects the transfers of a page (CDP) and of the context's service worker."""

    def __init__(self, context, page):
        self.page_requests: dict[str, dict] = {}
        self.done: list[Transfer] = []
        self.cdp = context.new_cdp_session(page)
        self.cdp.on("Network.requestWillBeSent", self._will_be_sent)
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.requestServedFromCache", self._from_cache)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Network.loadingFailed", self._failed)
        self.cdp.send("Network.enable")
        context.on("requestfinished", self._worker_request)
        context.on("requestfailed", self._worker_request)

    def _will_be_sent(self, event):
        rid = event["requestId"]
        if "redirectResponse" in event and rid in self.page_requests:
            # The hop that redirected: its own transfer, with its own bytes.
            previous = self.page_requests.pop(rid)
            redirect = event["redirectResponse"]
            self._close(previous, redirect.get("encodedDataLength", 0), redirect.get("status"),
                        redirect.get("fromDiskCache") or redirect.get("fromServiceWorker"))
        self.page_requests[rid] = {"url": event["request"]["url"], "resource": event.get("type", "Other")}

    def _response(self, event):
        entry = self.page_requests.setdefault(event["requestId"], {"url": event["response"]["url"]})
        response = event["response"]
        entry["status"] = response.get("status")
        entry["cached"] = entry.get("cached") or bool(
            response.get("fromDiskCache") or response.get("fromServiceWorker") or response.get("fromPrefetchCache"))

    def _from_cache(self, event):
        self.page_requests.setdefault(event["requestId"], {"url": "?"})["cached"] = True

    def _finished(self, event):
        entry = self.page_requests.pop(event["requestId"], None)
        if entry is not None:
            self._close(entry, int(event.get("encodedDataLength", 0)), entry.get("status"), entry.get("cached"))

    def _failed(self, event):
        entry = self.page_requests.pop(event["requestId"], None)
        if entry is not None:
            self._close(entry, 0, None, entry.get("cached"), failed=True)

    def _close(self, entry, size, status, cached, failed=False):
        if entry["url"].startswith("data:"):
            return  # not a request to anyone
        # A request that joined an HTTP cache entry another was still writing (the page's icon while the
        # worker precached the same URL) finishes with status 200, no cache flag and no bytes at all: it
        # waited for that other transfer, and nothing of its own crossed the wire. A real answer from the
        # network has at least its headers' bytes.
        network = not cached and (size > 0 or failed)
        self.done.append(Transfer(entry["url"], "page", entry.get("resource", "Other"), status,
                                  size if network else 0, network))

    def _worker_request(self, request):
        if request.service_worker is None:
            return  # the page's own: counted through CDP
        if request.failure is not None:
            self.done.append(Transfer(request.url, "worker", request.resource_type, None, 0, True))
            return
        response = request.response()
        sizes = request.sizes()
        headers, body = sizes["responseHeadersSize"], sizes["responseBodySize"]
        network = headers + body > 0  # a cache hit has no bytes (body = minus the headers)
        size = headers + max(body, 0)
        if network and body <= 0 and response is not None:
            # The worker's own script reports no body size: its Content-Length is the body as sent.
            size += int(response.headers.get("content-length", 0))
        self.done.append(Transfer(request.url, "worker", request.resource_type,
                                  response.status if response else None, size, network))

    def take(self) -> list[Transfer]:
        """What finished since the last take; requests still open count too."""
        taken = self.done + [Transfer(e["url"], "page", e.get("resource", "Other"), None, 0, True)
                             for e in self.page_requests.values()]
        self.done, self.page_requests = [], {}
        return taken


def _settle(page) -> None:
    page.wait_for_load_state("load")
    # The worker installs (and precaches) after the load; let it, then stay idle.
    page.evaluate("() => 'serviceWorker' in navigator ? Promise.race(["
                  "navigator.serviceWorker.ready, new Promise(r => setTimeout(r, 5000))]).then(() => true) : true")
    page.wait_for_timeout(IDLE_MS)


def _visit(browser, base_url: str, cookie: str | None, visit: Visit) -> Visit:
    context = browser.new_context(base_url=base_url, viewport=PHONE, service_workers="allow")
    if cookie:
        context.add_cookies([{"name": "session", "value": cookie, "url": base_url,
                              "httpOnly": True, "sameSite": "Lax"}])
    page = context.new_page()
    page.on("pageerror", lambda error: visit.errors.append(str(error)))
    page.on("console", lambda m: visit.errors.append(m.text) if m.type == "error" else None)
    try:
        recorder = Recorder(context, page)
        page.goto(visit.url, wait_until="load")
        _settle(page)
        visit.first = recorder.take()
        page.goto(visit.later_url, wait_until="load")
        page.wait_for_timeout(IDLE_MS // 2)
        visit.later = recorder.take()
    finally:
        context.close()
    return visit


def _run(base_url: str, cookie: str, visits: list[Visit]) -> list[Visit]:
    from playwright.sync_api import sync_playwright

    if not visits:
        return []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return [_visit(browser, base_url, cookie if v.who == "Ada" else None, v) for v in visits]
        finally:
            browser.close()


def first_visits(base_url: str, cookie: str, visits: list[Visit], browsers: int = 3) -> list[Visit]:
    """Each visit in a fresh context. The two idle seconds of each visit are
    most of the time, so a few browsers take turns, each in a thread with its
    own Playwright; the counts do not depend on it."""
    with ThreadPoolExecutor(browsers) as pool:
        for done in [pool.submit(_run, base_url, cookie, visits[i::browsers]) for i in range(browsers)]:
            done.result()
    return visits
