"""Helpers for the browser tests: accounts and links made straight in the
served database, mail, the service worker, and what the page shows."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import select

PASSWORD = "a neighbourly walk at dusk"


def unique(prefix: str) -> str:
    """A name no other run (or test) uses: emails and slugs stay unique."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_account(app, email: str, name: str | None = None, verified: bool = True,
                 circle: str | None = None) -> str:
    """An account in the served database (password ``PASSWORD``), optionally a
    member of ``circle``; returns its email."""
    from app.circles import domain as circles
    from app.circles.models import Circle, Membership
    from app.extensions import db

    from ..helpers import make_user

    with app.app_context():
        user = make_user(email, name or email.split("@")[0].title(), verified=verified, password=PASSWORD)
        if circle:
            found = db.session.scalar(select(Circle).where(Circle.slug == circle))
            db.session.add(Membership(circle_id=found.id, user_id=user.id))
            db.session.commit()
            assert circles.membership_of(found.id, user) is not None
        db.session.remove()
    return email


def make_invitation(app, slug: str, steward_email: str) -> str:
    """An invitation link made by a steward in the served database; its path."""
    from flask import url_for

    from app.auth.models import User
    from app.circles import domain as circles
    from app.circles.models import Circle
    from app.extensions import db

    with app.test_request_context():
        circle = db.session.scalar(select(Circle).where(Circle.slug == slug))
        steward = db.session.scalar(select(User).where(User.email == steward_email))
        raw = circles.create_invitation(circle, steward, days=14, max_uses=50, note="browser tests")
        db.session.commit()
        path = url_for("circles.join_link", token=raw)
        db.session.remove()
    return path


def mail_link(mailbox, address: str, path_part: str, timeout: float = 10) -> str:
    """The path of the last link containing ``path_part`` mailed to ``address``."""
    deadline = time.monotonic() + timeout
    while not mailbox.to(address) and time.monotonic() < deadline:
        time.sleep(0.05)
    return mailbox.last_link(address, path_part)


# The page's scripts may not eval (CSP), so waits are promises evaluated once.
UNTIL_CONTROLLED = """async () => {
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, {once: true}));
  }
  return navigator.serviceWorker.controller.scriptURL;
}"""

CACHE_CONTENTS = """async () => {
  const out = {};
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    out[name] = (await cache.keys()).map((request) => request.url);
  }
  return out;
}"""

# Looks without opening: caches.open() would create the cache it looks at.
KEPT_URLS = """async () => {
  if (!(await caches.has("kept-pages"))) { return null; }
  return (await (await caches.open("kept-pages")).keys()).map((request) => request.url);
}"""

KEPT_TEXT = """async (url) => {
  const hit = await caches.match(url, {cacheName: "kept-pages"});
  return hit ? await hit.text() : null;
}"""


def until_controlled(page) -> str:
    """Wait until the service worker is active and controls the page."""
    return page.evaluate(UNTIL_CONTROLLED)


def cache_contents(page) -> dict[str, list[str]]:
    return page.evaluate(CACHE_CONTENTS)


def kept_urls(page) -> list[str] | None:
    """The URLs in the "kept-pages" cache; None when there is no such cache."""
    return page.evaluate(KEPT_URLS)


def settle(page, check, timeout: float = 10.0):
    """Poll ``check()`` (a Python callable) until it is truthy; the last value.
    It returns as soon as the check holds, so the long timeout costs nothing
    but leaves room for a loaded machine."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        value = check()
    return value


def make_gathering(app, slug: str, host_email: str, title: str, days: int = 5, **fields) -> str:
    """A gathering of this test's own in the served database, some days ahead; its path."""
    import datetime as dt

    from app.auth.models import User
    from app.circles.models import Circle
    from app.database import write_unit
    from app.extensions import db
    from app.gatherings import domain

    with app.test_request_context():
        circle = db.session.scalar(select(Circle).where(Circle.slug == slug))
        host = db.session.scalar(select(User).where(User.email == host_email))
        starts = dt.datetime.combine(dt.date.today() + dt.timedelta(days=days), dt.time(18, 30))
        with write_unit():
            gathering = domain.create_gathering(circle, host, title=title, starts_local=starts,
                                                ends_local=starts + dt.timedelta(hours=2), **fields)
        path = f"/c/{slug}/gatherings/{gathering.id}"
        db.session.remove()
    return path


def gathering_path(app, slug: str, title: str) -> str:
    """The path of a demo gathering, found by its title (the next one, for a series)."""
    from app.circles.models import Circle
    from app.database import utcnow
    from app.extensions import db
    from app.gatherings.models import Gathering

    with app.app_context():
        found = db.session.execute(
            select(Gathering.id).join(Circle, Circle.id == Gathering.circle_id)
            .where(Circle.slug == slug, Gathering.title == title, Gathering.ends_at > utcnow())
            .order_by(Gathering.starts_at)).first()
        db.session.remove()
    if found is None:  # a past one
        with app.app_context():
            found = db.session.execute(select(Gathering.id).join(Circle, Circle.id == Gathering.circle_id)
                                       .where(Circle.slug == slug, Gathering.title == title)).first()
            db.session.remove()
    return f"/c/{slug}/gatherings/{found[0]}"


# What htmx swapped stays in the page: a mark set on ``window`` survives only
# when the page was not loaded again (the plain form's redirect would reload it).
MARK = "() => { window.__notReloaded = true; }"
NOT_RELOADED = "() => window.__notReloaded === true"


def focused_matches(page, selector: str, timeout: float = 2.0) -> bool:
    """Whether focus is (or comes, within ``timeout``) on the element matching ``selector``."""
    return settle(page, lambda: page.evaluate("(s) => !!document.activeElement && "
                                              "document.activeElement.matches(s)", selector), timeout)
