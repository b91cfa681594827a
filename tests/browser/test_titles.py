"""Every page's title is short plain text: it names the tab, the history
entry and the installed app's card, and screen readers read it first."""

from __future__ import annotations

import re

from ..served import session_cookie

PHONE = {"width": 360, "height": 740}


def test_every_page_has_a_short_plain_title(browser, demo_site, demo_pages):
    context = browser.new_context(base_url=demo_site.base_url, viewport=PHONE)
    context.add_cookies([{"name": "session", "value": session_cookie(demo_site.database_url, "ada@example.org"),
                          "url": demo_site.base_url}])
    page = context.new_page()
    seen = set()
    for crawled in demo_pages:
        if crawled.endpoint in seen or not crawled.headers.get("Content-Type", "").startswith("text/html"):
            continue
        seen.add(crawled.endpoint)
        page.goto(crawled.url)
        title = page.title()
        assert title and len(title) <= 80, (crawled.url, title)
        assert not re.search(r"[<>\n]|\s{2,}", title), (crawled.url, title)
        assert title.endswith("Communitarium"), (crawled.url, title)
    assert {"home.index", "home.circle", "gatherings.detail"} <= seen
    context.close()
