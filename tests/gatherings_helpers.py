"""Helpers for tests of gatherings: a circle of neighbours with one gathering,
signed-in clients for each of them, and short ways to read what happened."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db
from app.gatherings import domain
from app.gatherings.models import Answer, Gathering

from .circles_helpers import add_member, make_circle
from .helpers import login, make_user, post, text_of

WHEN = "%Y-%m-%dT%H:%M"

# Elm Street: Ada founded it (steward); the others are members.
NEIGHBOURS = ("Ada", "Bruno", "Chiara", "Dmitri", "Eve", "Femi")


def email(name: str) -> str:
    return f"{name.lower()}@example.org"


def days_ahead(days: int = 10, hour: int = 18, minute: int = 30) -> dt.datetime:
    """A wall time some days from now (naive, as the form and the model take it)."""
    day = dt.date.today() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute))


def make_gathering(circle, host: User, title: str = "Soup evening", starts: dt.datetime | None = None,
                   hours: int = 2, **fields) -> Gathering:
    """A gathering straight through the domain (inside an app context); commits."""
    starts = starts or days_ahead()
    gathering = domain.create_gathering(circle, host, title=title, starts_local=starts,
                                        ends_local=starts + dt.timedelta(hours=hours), **fields)
    db.session.commit()
    return gathering


def neighbourhood(app, host: str = "Ada", people=NEIGHBOURS, slug: str = "elm-street", name: str = "Elm Street",
                  circle_settings: dict | None = None, **gathering_fields) -> dict:
    """Elm Street with its neighbours and one gathering by ``host``.

    Returns {"slug", "circle", "gathering", "path", <Name>: user id}.
    """
    with app.app_context():
        users = {n: make_user(email(n), n) for n in people}
        circle = make_circle(users["Ada"], slug, name, **(circle_settings or {}))
        for n in people:
            if n != "Ada":
                add_member(circle, users[n])
        gathering = make_gathering(circle, users[host], **gathering_fields)
        ids = {n: u.id for n, u in users.items()}
        return ids | {"slug": slug, "circle": circle.id, "gathering": gathering.id,
                      "path": f"/c/{slug}/gatherings/{gathering.id}"}


def signed_in(app, name: str):
    client = app.test_client()
    response = login(client, email=email(name))
    assert response.status_code == 303, response.status_code
    return client


def answer(client, path: str, response: str = "going", guests: int = 0, message: str = "", **kwargs):
    data = {"response": response, "guests": guests}
    if message:
        data["message"] = message
    return post(client, path + "/answer", data, **kwargs)


def state_of(app, gathering_id: int, name: str) -> str | None:
    """The state of a member's answer: seated, waiting, asking, none; None without one."""
    with app.app_context():
        return db.session.scalar(select(Answer.state).join(User, User.id == Answer.user_id).where(
            Answer.gathering_id == gathering_id, User.email == email(name)))


def states(app, gathering_id: int) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(select(User.display_name, Answer.state).join(User, User.id == Answer.user_id)
                                  .where(Answer.gathering_id == gathering_id)).all()
        return dict(rows)


def gathering_row(app, gathering_id: int) -> Gathering:
    """The gathering as stored now (detached: read its columns only)."""
    with app.app_context():
        gathering = db.session.get(Gathering, gathering_id)
        db.session.expunge(gathering)
        return gathering


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def field_error(response, field: str) -> str:
    """The message shown at a form field ("" when there is none)."""
    match = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', response.get_data(as_text=True), re.DOTALL)
    return text_of_fragment(match.group(1)) if match else ""


def text_of_fragment(fragment: str) -> str:
    import html
    return html.unescape(fragment).strip()


INLINE = r"</?(?:a|strong|em|span|b|i|code|small|abbr|time)\b[^>]*>"


def seen(response_or_html) -> str:
    """The page as a person reads it: no tags, entities unescaped, runs of
    whitespace made one space ("<strong>Cancelled.</strong> Rain." reads
    "Cancelled. Rain.")."""
    import html
    page = response_or_html if isinstance(response_or_html, str) else response_or_html.get_data(as_text=True)
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL)
    # A date tile repeats the card's own words for the eye; a screen reader skips it.
    page = re.sub(r'<span class="tile" aria-hidden="true">.*?</span>', " ", page, flags=re.DOTALL)
    page = re.sub(INLINE, "", page)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page)).strip()


def _names(items_html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", item).split("+")[0].split("\n")[0].strip()
            for item in re.findall(r"<li>(.*?)</li>", items_html, re.DOTALL)]


def waitlist_names(response) -> list[str]:
    """The names on the waitlist as the gathering's page lists them, in order."""
    page = response if isinstance(response, str) else response.get_data(as_text=True)
    match = re.search(r'<ol class="names waitlist"[^>]*>(.*?)</ol>', page, re.DOTALL)
    return _names(match.group(1)) if match else []


def who_is_coming(response) -> list[str]:
    """The names under "Who is coming" (or "Who was there") on the gathering's page."""
    page = response if isinstance(response, str) else response.get_data(as_text=True)
    match = re.search(r'<div id="who-is-coming".*?<ul class="names">(.*?)</ul>', page, re.DOTALL)
    return _names(match.group(1)) if match else []


def digest_of(app, mailbox, name: str) -> str:
    """The last daily digest mailed to ``name``, after one pass of the job
    runner (move time past their digest hour first)."""
    from app import jobs

    with app.app_context():
        jobs.tick()
    digests = [m for m in mailbox.to(email(name)) if m["Subject"] == "What is new in your circles"]
    assert digests, subjects(mailbox, name)
    return digests[-1].get_content()


def subjects(mailbox, name_or_address: str) -> list[str]:
    address = name_or_address if "@" in name_or_address else email(name_or_address)
    return [m["Subject"] for m in mailbox.to(address)]


__all__ = [
    "NEIGHBOURS",
    "WHEN",
    "answer",
    "count",
    "days_ahead",
    "email",
    "field_error",
    "gathering_row",
    "make_gathering",
    "neighbourhood",
    "seen",
    "signed_in",
    "state_of",
    "states",
    "subjects",
    "text_of",
    "waitlist_names",
    "who_is_coming",
]


def share(app, ids, who: str = "Ada") -> str:
    """Share through the manage page, as a host does; returns the /g/ path shown."""
    client = signed_in(app, who)
    assert post(client, ids["path"] + "/share").status_code == 303
    match = re.search(r'id="public-link" type="text" readonly value="https?://[^/"]+(/g/[^"]+)"',
                      client.get(ids["path"] + "/manage").get_data(as_text=True))
    assert match, "no public link on the page"
    return match.group(1)


def winter_evening() -> dt.datetime:
    """18:30 on 15 January next year: Berlin is on CET (UTC+1) then."""
    return dt.datetime(dt.date.today().year + 1, 1, 15, 18, 30)


def new_form(**changes) -> dict:
    """The new-gathering form filled as a host would, with ``changes``."""
    starts = winter_evening()
    data = {"title": "Soup evening", "description": "Bring a **bowl**.",
            "starts_local": starts.strftime(WHEN), "ends_local": starts.replace(hour=21, minute=0).strftime(WHEN),
            "time_zone": "Europe/Berlin", "place": "Kastanienallee 12, Berlin", "online_url": "",
            "capacity": "", "max_guests": "0", "status": "confirmed", "repeat": "", "interval": "1",
            "setpos": "1", "until": ""}
    return data | changes
