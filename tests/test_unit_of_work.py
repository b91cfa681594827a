"""One unit of work per request: a write happens whole, under the same lock
as every other change of the same rows, or not at all. Both databases.

Everything here goes through the front door (pages, forms, URLs) and reads
the outcome from the database with plain SQL on table names, so the tests
stay valid while the code inside app/ moves.

Races, through gunicorn (tests/served.py, tests/concurrency.py):

- an account deletion (its form, with the password) while neighbours answer
  "going" to gatherings where the deleted person holds seats: a full one with
  a waitlist, which the deletion must promote, and a roomy one;
- a member leaving a circle (its form) while neighbours answer, the same way.

The person under test signs in through the real form, one after another with
everyone else and before the burst (simultaneous sign-ins are another matter).
Their post is released with the neighbours' first answers by the last-byte
barrier; then the neighbours at the roomy gathering go on answering, with a
guest and without, until the post under test has its answer (``Post.again``).
The deletion checks the password first (argon2, 0.2 s alone, seconds on a busy
machine), so answers released once would be done before it reaches the seats;
answers that keep coming meet it there however long it takes, and each of
them moves the seat counter.

After each round the rules are read from the database: the seat counter
equals the seats held (1 + guests for each seated answer); nobody is seated
beyond the capacity; nobody waits while a seat for their party is free; a
slot's counter equals its takers; no answer is a 5xx; and the person who left
holds no seat, waitlist place or slot there any more (the deleted account no
answer at all; the leaver keeps what they hold in another circle).

Today's code is these races' negative control: before the deletion ran in one
locked unit of work, every round failed on SQLite (the deletion's deferred read
transaction, upgraded to a write after argon2, met "database is locked": a
500) and three rounds in four on PostgreSQL (the counter off by the answers
that committed between the deletion's unlocked read of the gathering and its
write), so DELETION_ROUNDS rounds all pass wrongly about once in a few
hundred runs; leaving kept every seat. A rough fix (the deletion in one
IMMEDIATE transaction that locks each gathering, leaving releasing what the
leaver holds) passed every round on both.

Plain tests (Flask test client): a GET of the calendar page writes nothing;
a series edit or a gathering edit that fails part-way changes nothing.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.circles.models import Membership
from app.extensions import db

from .circles_helpers import add_member, make_circle
from .concurrency import Client, Post, Reply, burst_of, sign_in, warm_up
from .helpers import PASSWORD, login, make_user
from .served import app_config, prepare, serve

WORKERS = 12  # more than the posts of a burst, so that every post meets a worker of its own
DELETION_ROUNDS = 4  # each on new gatherings, with a new person deleting their account
LEAVING_ROUNDS = 2
# An access log with each worker's pid, for warm_up and for failures. The app is
# loaded once before the workers fork (--preload; it opens no connection while
# loading): a dozen workers each loading it on a busy 2-core machine took longer
# than tests/served.py waits for the first page.
GUNICORN_ARGS = "--preload --access-logfile - --access-logformat 'pid=%(p)s \"%(r)s\" %(s)s %(L)s'"
WHEN = "%Y-%m-%dT%H:%M"


# --- forms as a browser submits them ------------------------------------------------------

@dataclass
class Form:
    method: str
    action: str | None
    in_main: bool  # in the page's <main>, not in its frame (the sign-out button)
    fields: list[list[str]] = field(default_factory=list)  # [name, value], in page order
    buttons: list[str] = field(default_factory=list)

    def data(self, **changes) -> dict:
        """The values a browser would send, with some changed (None: left out)."""
        values: dict = {}
        for name, value in self.fields:
            values.setdefault(name, []).append(value)
        values = {k: v[0] if len(v) == 1 else v for k, v in values.items()}
        values.update(changes)
        return {k: v for k, v in values.items() if v is not None}


class _FormReader(HTMLParser):
    """Every form of a page: its fields as filled in (checked boxes, selected
    options, textareas), and its buttons' words."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: list | None = None
        self._button: list | None = None
        self._main = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "main":
            self._main += 1
        if tag == "form":
            self._form = Form((a.get("method") or "get").lower(), a.get("action"), self._main > 0)
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input":
            kind, name = (a.get("type") or "text").lower(), a.get("name")
            if kind == "submit":
                self._form.buttons.append(a.get("value") or "")
            if not name or kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._form.fields.append([name, a.get("value") or ("on" if kind in ("checkbox", "radio") else "")])
        elif tag == "select":
            self._select = {"name": a.get("name"), "multiple": "multiple" in a, "options": []}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
            self._select["options"].append(self._option)
        elif tag == "textarea":
            self._textarea = [a.get("name"), ""]
        elif tag == "button":
            self._button = [""]

    def handle_endtag(self, tag):
        if tag == "main":
            self._main -= 1
        if tag == "form":
            self._form = None
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None:
            options = self._select["options"]
            chosen = [o for o in options if o["selected"]] or ([] if self._select["multiple"] else options[:1])
            for o in chosen:
                self._form.fields.append([self._select["name"], o["value"] if o["value"] is not None
                                          else o["text"].strip()])
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, value = self._textarea
            # A browser drops the newline that follows <textarea>.
            self._form.fields.append([name, re.sub(r"^\r?\n", "", value)])
            self._textarea = None
        elif tag == "button" and self._button is not None:
            self._form.buttons.append(self._button[0].strip())
            self._button = None

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea[1] += data
        if self._button is not None:
            self._button[0] += data


def forms_of(page: str) -> list[Form]:
    reader = _FormReader()
    reader.feed(page)
    return reader.forms


def post_form(page: str) -> Form:
    """The page's one form that posts fields (its main form).

    :raise AssertionError: if the page has none, or several.
    """
    found = [f for f in forms_of(page) if f.method == "post" and f.in_main
             and any(n != "csrf_token" for n, _ in f.fields)]
    assert len(found) == 1, f"{len(found)} forms with fields on the page"
    return found[0]


def seen(page: str) -> str:
    """The page as a person reads it: no tags, entities unescaped, whitespace made one space."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.DOTALL)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page)).strip()


def days_ahead(days: int, hour: int = 18) -> dt.datetime:
    return dt.datetime.combine(dt.date.today() + dt.timedelta(days=days), dt.time(hour, 0))


# --- the database, read with plain SQL ----------------------------------------------------

def snapshot(connection) -> dict[str, list[tuple]]:
    """Every row of every table, to compare before and after (JSON values,
    which PostgreSQL hands back as dicts, as their sorted JSON text)."""
    def value(v):
        return json.dumps(v, sort_keys=True, default=str) if isinstance(v, (dict, list)) else v

    return {name: sorted((tuple(value(v) for v in row) for row in connection.execute(text(f'SELECT * FROM "{name}"'))),
                         key=repr)
            for name in inspect(connection).get_table_names()}


def differences(before: dict, after: dict) -> list[str]:
    """What changed between two snapshots: one short line per table."""
    lines = []
    for name in sorted(set(before) | set(after)):
        old, new = set(before.get(name, [])), set(after.get(name, []))
        if old != new:
            example = repr(sorted(new - old, key=repr)[:1] or sorted(old - new, key=repr)[:1])
            lines.append(f"{name} ({len(new - old)} rows new or changed, {len(old - new)} gone or changed, "
                         f"e.g. {example[:160]})")
    return lines


def seat_problems(connection, gathering_ids: list[int]) -> list[str]:
    """The seat rules, for each gathering: the counter equals the seats held
    (1 + guests for each seated answer); no more seated than the capacity and
    the extra seats; nobody waits while a seat for their whole party is free;
    a slot's counter equals its takers."""
    problems = []
    if not gathering_ids:
        return problems
    ids = ", ".join(str(int(i)) for i in gathering_ids)
    for gid, title, capacity, extra, counter in connection.execute(text(
            f"SELECT id, title, capacity, extra_seats, seats_taken FROM gatherings WHERE id IN ({ids}) ORDER BY id")):
        rows = connection.execute(text(
            "SELECT user_id, state, guests FROM gathering_answers WHERE gathering_id = :g"), {"g": gid}).all()
        held = sum(1 + guests for _, state, guests, in rows if state == "seated")
        seated = sum(1 for _, state, _ in rows if state == "seated")
        where = f"gathering {gid} ({title})"
        if counter != held:
            problems.append(f"{where}: seats_taken is {counter}, but {seated} seated answers hold {held} seats")
        if capacity is not None:
            if held > capacity + extra:
                problems.append(f"{where}: {held} seats held for capacity {capacity} + {extra} extra")
            free = capacity + extra - held
            fitting = [(user, 1 + guests) for user, state, guests in rows if state == "waiting" and 1 + guests <= free]
            if fitting:
                problems.append(f"{where}: {len(fitting)} waiting (user, party) {fitting[:3]} "
                                f"while {free} seats are free")
    for sid, gid, needed, taken in connection.execute(text(
            f"SELECT id, gathering_id, needed, taken FROM gathering_slots WHERE gathering_id IN ({ids})")):
        takers = connection.execute(text("SELECT count(*) FROM gathering_slot_takers WHERE slot_id = :s"),
                                    {"s": sid}).scalar()
        if taken != takers or taken > needed:
            problems.append(f"slot {sid} of gathering {gid}: taken is {taken}, {takers} takers, {needed} needed")
    return problems


def holdings(connection, user_id: int, gathering_ids: list[int]) -> list[str]:
    """What a person still holds in these gatherings: seats, waitlist places, requests, slots."""
    if not gathering_ids:
        return []
    ids = ", ".join(str(int(i)) for i in gathering_ids)
    held = [f"{state} in gathering {gid}" for gid, state in connection.execute(text(
        f"SELECT gathering_id, state FROM gathering_answers WHERE user_id = :u AND gathering_id IN ({ids}) "
        "AND state IN ('seated', 'waiting', 'asking')"), {"u": user_id})]
    held += [f"slot {sid} in gathering {gid}" for sid, gid in connection.execute(text(
        "SELECT s.id, s.gathering_id FROM gathering_slot_takers t JOIN gathering_slots s ON s.id = t.slot_id "
        f"WHERE t.user_id = :u AND s.gathering_id IN ({ids})"), {"u": user_id})]
    return held


# --- the served street ---------------------------------------------------------------------

FULL_ANSWERS = 2  # neighbours answering "going" to the full gathering during the race
ROOMY_ANSWERS = 8  # and to the roomy one, again and again
# Between one neighbour's answers: a breath in which a writer waiting for
# SQLite's lock (its busy handler polls) can get it.
REPEAT_PAUSE = 0.02
WAITERS = 3


def email_of(kind: str, n: int) -> str:
    return f"{kind}{n:02d}@uow.example.org"


@dataclass
class Street:
    """A database of its own, gunicorn on it, and people signed in through the form."""
    url: str
    app: object
    engine: object
    server: object = None
    host: Client | None = None
    clients: dict[str, Client] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    circle_ids: dict[str, int] = field(default_factory=dict)
    new_forms: dict[str, Form] = field(default_factory=dict)  # the form for a new gathering, by circle

    def sign_in(self, email: str) -> Client:
        """Sign someone in through the form, and read a CSRF token of the new session."""
        client = sign_in(self.server.base_url, email, PASSWORD)
        client.fetch_token("/auth/account")
        self.clients[email] = client
        return client

    def make_member(self, slug: str, email: str) -> None:
        with self.app.app_context():
            db.session.add(Membership(circle_id=self.circle_ids[slug], user_id=self.user_ids[email], role="member"))
            db.session.commit()
            db.session.remove()


def expect(reply: Reply, status: int, what: str) -> Reply:
    assert reply.status == status, f"{what}: {reply.status} {reply.location} {seen(reply.body)[:300]}"
    return reply


def submit(client: Client, page: str, action: str | None = None, **changes) -> Reply:
    """Fetch a page, fill in its form as a browser would, change some fields, post it."""
    form = post_form(client.fetch_token(page).body)
    data = form.data(**changes)
    data.pop("csrf_token", None)
    return client.post(action or form.action or page, data)


def new_gathering(street: Street, slug: str, title: str, capacity: int, max_guests: int) -> int:
    """The host posts a gathering next week through the form (read from its
    page once for each circle); returns its id."""
    path = f"/c/{slug}/gatherings/new"
    if slug not in street.new_forms:
        street.new_forms[slug] = post_form(street.host.fetch_token(path).body)
    starts = days_ahead(7)
    data = street.new_forms[slug].data(
        title=title, starts_local=starts.strftime(WHEN), ends_local=(starts + dt.timedelta(hours=2)).strftime(WHEN),
        capacity=str(capacity), max_guests=str(max_guests), csrf_token=None)
    reply = expect(street.host.post(street.new_forms[slug].action or path, data), 303, f"posting {title}")
    return int(re.search(r"/gatherings/(\d+)$", urlsplit(reply.location).path).group(1))


def answer_going(street: Street, email: str, slug: str, gathering_id: int, guests: int = 0) -> None:
    path = f"/c/{slug}/gatherings/{gathering_id}/answer"
    expect(street.clients[email].post(path, {"response": "going", "guests": str(guests)}), 303, f"{email} answering")


def add_slot_taken_by(street: Street, email: str, slug: str, gathering_id: int) -> None:
    path = f"/c/{slug}/gatherings/{gathering_id}/slots"
    expect(street.host.post(path, {"title": "Carry the chairs", "needed": "2"}), 303, "adding a slot")
    with street.engine.connect() as conn:
        slot_id = conn.execute(text("SELECT max(id) FROM gathering_slots WHERE gathering_id = :g"),
                               {"g": gathering_id}).scalar()
    expect(street.clients[email].post(f"{path}/{slot_id}/take"), 303, "taking a slot")


def seats_held_by(street: Street, email: str, slug: str) -> dict[str, int]:
    """Two gatherings where the person now holds seats; returns their ids by shape.

    "full": capacity 4 = the host 1 + the person with a guest 2 + a waiter 1,
    and two more waiters in line: the person's leaving seats those two (the
    racing answers join the line behind them).
    "roomy": capacity 20 = the host 1 + the person with two guests 3, and room
    for every racing answer with a guest; the person also takes a slot there.
    """
    full = new_gathering(street, slug, f"Full supper for {email}", capacity=4, max_guests=1)
    answer_going(street, email, slug, full, guests=1)
    for n in range(WAITERS):
        answer_going(street, email_of("waiter", n), slug, full)
    roomy = new_gathering(street, slug, f"Roomy picnic for {email}", capacity=4 + 2 * ROOMY_ANSWERS, max_guests=2)
    answer_going(street, email, slug, roomy, guests=2)
    add_slot_taken_by(street, email, slug, roomy)
    with street.engine.connect() as conn:
        problems = seat_problems(conn, [full, roomy])
        states = conn.execute(text("SELECT gathering_id, state, count(*) FROM gathering_answers "
                                   f"WHERE gathering_id IN ({full}, {roomy}) GROUP BY gathering_id, state")).all()
    assert not problems, problems
    assert sorted(states) == sorted([(full, "seated", 3), (full, "waiting", WAITERS - 1), (roomy, "seated", 2)]), states
    return {"full": full, "roomy": roomy}


def answer_posts(street: Street, slug: str, gatherings: dict[str, int]) -> list[Post]:
    """The neighbours' answers: FULL_ANSWERS "going" to the full gathering
    (they join its line), and ROOMY_ANSWERS "going" to the roomy one, each of
    them then answering again and again, with a guest and without, for as long
    as the post under test takes: every one of those answers moves the seat
    counter."""
    def page(shape: str) -> str:
        return f"/c/{slug}/gatherings/{gatherings[shape]}"

    def with_or_without_a_guest(n: int) -> dict:
        return {"response": "going", "guests": str(n % 2)}

    people = iter(email_of("answerer", n) for n in range(FULL_ANSWERS + ROOMY_ANSWERS))
    going = {"response": "going", "guests": "0"}
    return ([Post(street.clients[next(people)], page("full"), page("full") + "/answer", going)
             for _ in range(FULL_ANSWERS)]
            + [Post(street.clients[next(people)], page("roomy"), page("roomy") + "/answer", going,
                    again=with_or_without_a_guest, pause=REPEAT_PAUSE) for _ in range(ROOMY_ANSWERS)])


def burst_problems(result, posts: list[Post]) -> list[str]:
    """The first post of each client answered with a redirect, and none of
    those sent again with a server error."""
    problems = []
    for post_, outcome in zip(posts, result.outcomes):
        status = outcome.reply.status if outcome.reply else None
        if outcome.error or status != 303:
            problems.append(f"{outcome.client.name} POST {post_.action}: {outcome.error or status} (expected 303)")
        failed = [r.status for r in outcome.again if r.status >= 500]
        if failed:
            problems.append(f"{outcome.client.name} POST {post_.action} again: {failed} of {len(outcome.again)}")
    return problems


def server_errors(log: str) -> list[str]:
    """The first line of each error gunicorn logged, with its cause's last line."""
    found = []
    for chunk in log.split("ERROR:app:unhandled error")[1:]:
        lines = [line for line in chunk.split("\n\n")[0].splitlines() if line.strip()]
        found.append(lines[-1].strip() if lines else chunk[:200])
    return found


@pytest.fixture(scope="module")
def street(database_factory, mailbox, tmp_path_factory):
    """Lost Update Lane and Other Side, a host, the people of the races, and gunicorn."""
    url = database_factory("_uow")
    prepare(url, scale=None)
    app = create_app(app_config(url))
    emails = (["host@uow.example.org"]
              + [email_of("answerer", n) for n in range(FULL_ANSWERS + ROOMY_ANSWERS)]
              + [email_of("waiter", n) for n in range(WAITERS)]
              + [email_of("deleting", n) for n in range(DELETION_ROUNDS)]
              + [email_of("leaving", n) for n in range(LEAVING_ROUNDS)])
    with app.app_context():
        user_ids = {e: make_user(e, e.split("@")[0].capitalize()).id for e in emails}
        db.session.remove()
    engine = create_engine(url)
    made = Street(url, app, engine, user_ids=user_ids)
    made.server = serve(url, tmp_path_factory.mktemp("uow"), workers=WORKERS, mail_port=mailbox.port,
                        extra_env={"GUNICORN_CMD_ARGS": GUNICORN_ARGS})
    try:
        warm_up(made.server.base_url, made.server.log, WORKERS)
        made.host = made.sign_in("host@uow.example.org")
        for slug, name in (("lost-update-lane", "Lost Update Lane"), ("other-side", "Other Side")):
            expect(submit(made.host, "/circles/new", name=name, slug=slug, time_zone="Europe/Berlin"), 303,
                   f"starting {name}")
        with engine.connect() as conn:
            made.circle_ids = dict(conn.execute(text("SELECT slug, id FROM circles")).all())
        for email in emails[1:1 + FULL_ANSWERS + ROOMY_ANSWERS + WAITERS]:
            made.make_member("lost-update-lane", email)
            made.sign_in(email)
        yield made
    finally:
        made.server.stop()
        engine.dispose()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def log_on_failure(street: Street, since: int, problems: list[str]) -> None:
    if problems:
        pytest.fail("\n".join(problems) + "\n--- gunicorn errors ---\n"
                    + "\n".join(server_errors(street.server.log()[since:])[:10]), pytrace=False)


# --- the races -----------------------------------------------------------------------------

def test_deleting_an_account_while_neighbours_answer_loses_no_seat(street):
    """A person deletes their account (the form, with their password) while
    neighbours answer at both gatherings where they hold seats: their seats go
    to the waitlist, and no other answer's change of the seats is lost."""
    slug = "lost-update-lane"
    since = len(street.server.log())
    problems = []
    for n in range(DELETION_ROUNDS):
        email = email_of("deleting", n)
        street.make_member(slug, email)
        client = street.sign_in(email)
        gatherings = seats_held_by(street, email, slug)
        ids = list(gatherings.values())
        posts = [Post(client, "/auth/account/delete", "/auth/account/delete", {"password": PASSWORD})]
        posts += answer_posts(street, slug, gatherings)
        result = burst_of(posts, awaited=[0])  # the neighbours answer until it is done
        round_problems = burst_problems(result, posts)
        with street.engine.connect() as conn:
            round_problems += seat_problems(conn, ids)
            round_problems += [f"the deleted account still holds: {h}"
                               for h in holdings(conn, street.user_ids[email], ids)]
            left = conn.execute(text("SELECT count(*) FROM gathering_answers WHERE user_id = :u"),
                                {"u": street.user_ids[email]}).scalar()
            deleted = conn.execute(text("SELECT deleted_at IS NOT NULL FROM users WHERE id = :u"),
                                   {"u": street.user_ids[email]}).scalar()
        if left:
            round_problems.append(f"{left} answers of the deleted account are left")
        if not deleted:
            round_problems.append("the account is not deleted")
        deletion = result.outcomes[0]
        print(f"\nround {n}: the deletion took {deletion.seconds:.2f} s; "
              f"{result.describe()}; {len(round_problems)} problems")
        problems += [f"round {n}: {p}" for p in round_problems]
    log_on_failure(street, since, problems)


def test_leaving_a_circle_while_neighbours_answer_releases_every_seat(street):
    """A member leaves the circle while neighbours answer at both gatherings
    where they hold seats: they keep no seat, waitlist place or slot in the
    circle they left (their seat in another circle stays), their seats go to
    the waitlist, and no other answer's change of the seats is lost."""
    slug = "lost-update-lane"
    since = len(street.server.log())
    problems = []
    for n in range(LEAVING_ROUNDS):
        email = email_of("leaving", n)
        street.make_member(slug, email)
        street.make_member("other-side", email)
        client = street.sign_in(email)
        gatherings = seats_held_by(street, email, slug)
        ids = list(gatherings.values())
        elsewhere = new_gathering(street, "other-side", f"Elsewhere for {email}", capacity=4, max_guests=0)
        answer_going(street, email, "other-side", elsewhere)
        posts = [Post(client, f"/c/{slug}/leave", f"/c/{slug}/leave")]
        posts += answer_posts(street, slug, gatherings)
        result = burst_of(posts, awaited=[0])  # the neighbours answer until it is done
        round_problems = burst_problems(result, posts)
        with street.engine.connect() as conn:
            round_problems += seat_problems(conn, ids + [elsewhere])
            round_problems += [f"the leaver still holds: {h}" for h in holdings(conn, street.user_ids[email], ids)]
            if not holdings(conn, street.user_ids[email], [elsewhere]):
                round_problems.append("leaving one circle took the seat in another")
        print(f"\nround {n}: the leaving took {result.outcomes[0].seconds:.2f} s; {result.describe()}; "
              f"{len(round_problems)} problems")
        problems += [f"round {n}: {p}" for p in round_problems]
    log_on_failure(street, since, problems)


# --- plain requests: a GET writes nothing, a failed edit changes nothing --------------------

def neighbours(app, *names: str) -> dict[str, int]:
    """Elm Street (Europe/Berlin) with Ada as its steward and these members; their ids by name."""
    with app.app_context():
        ada = make_user("ada@example.org", "Ada")
        circle = make_circle(ada)
        ids = {"Ada": ada.id}
        for name in names:
            person = make_user(f"{name.lower()}@example.org", name)
            add_member(circle, person)
            ids[name] = person.id
        return ids


def signed_in(app, name: str = "Ada"):
    client = app.test_client()
    assert login(client, email=f"{name.lower()}@example.org").status_code == 303
    return client


def send(client, path: str, **changes):
    """Fetch the page at ``path``, fill in its form as a browser would, change some fields, post it there."""
    form = post_form(client.get(path).get_data(as_text=True))
    return client.post(form.action or path, data=form.data(**changes))


def rows(app) -> dict[str, list[tuple]]:
    with app.app_context():
        with db.engine.connect() as conn:
            return snapshot(conn)


def post_gathering(client, capacity: int = 5, max_guests: int = 1, **fields) -> int:
    """Post a gathering in ten days through the form; returns the id of its (first) date."""
    starts = days_ahead(10)
    response = send(client, "/c/elm-street/gatherings/new", **{
        "title": "Soup evening", "starts_local": starts.strftime(WHEN),
        "ends_local": (starts + dt.timedelta(hours=2)).strftime(WHEN), "capacity": str(capacity),
        "max_guests": str(max_guests)} | fields)
    assert response.status_code == 303, seen(response.get_data(as_text=True))[:500]
    return int(re.search(r"/gatherings/(\d+)$", urlsplit(response.headers["Location"]).path).group(1))


def going(client, gathering_id: int, guests: int = 0) -> None:
    """Answer "going" through the answer form on the gathering's page."""
    path = f"/c/elm-street/gatherings/{gathering_id}"
    form = next(f for f in forms_of(client.get(path).get_data(as_text=True))
                if f.method == "post" and (f.action or "").endswith("/answer"))
    response = client.post(form.action, data=form.data(response="going", guests=str(guests)))
    assert response.status_code == 303, seen(response.get_data(as_text=True))[:500]


CALENDAR_ADDRESS = re.compile(r"(?:https?|webcal)://[^\s\"'<>]+?\.ics")


def calendar_names(client, page: str) -> set[str]:
    """The calendars whose addresses the page shows, by the name each file
    gives itself (fetched as a calendar app would, without the session)."""
    names = set()
    for address in set(CALENDAR_ADDRESS.findall(page)):
        parts = urlsplit(address)
        response = client.application.test_client().get(parts.path + (f"?{parts.query}" if parts.query else ""))
        assert response.status_code == 200 and response.mimetype == "text/calendar", \
            f"{address} gave {response.status_code} {response.mimetype}"
        match = re.search(r"^X-WR-CALNAME:(.*?)\r?$", response.get_data(as_text=True), re.MULTILINE)
        names.add(match.group(1).strip() if match else "")
    return names


def test_the_calendar_page_writes_nothing_on_get(app):
    """Opening the calendar page writes no row; the page still gives a way to
    a working calendar address (shown, or made by a button that posts), for
    my own gatherings and for the circle's."""
    neighbours(app)
    ada = signed_in(app)
    before = rows(app)
    for _ in range(2):
        response = ada.get("/c/elm-street/calendar")
        assert response.status_code == 200
    after = rows(app)
    assert len(after["calendar_feeds"]) == len(before["calendar_feeds"]), \
        f"a GET made {len(after['calendar_feeds']) - len(before['calendar_feeds'])} calendar_feeds rows"
    assert not differences(before, after), "a GET wrote: " + "; ".join(differences(before, after))

    page = response.get_data(as_text=True)
    names = calendar_names(ada, page)
    for form in forms_of(page):
        if len(names) >= 2:
            break
        if form.method != "post" or not form.in_main:
            continue
        made = ada.post(form.action or "/c/elm-street/calendar", data=form.data(), follow_redirects=True)
        assert made.status_code == 200, made.status_code
        names |= calendar_names(ada, made.get_data(as_text=True))
    assert {"Elm Street", "My gatherings"} <= names, f"calendars offered: {names or 'none'}"


def test_a_series_edit_that_fails_half_way_changes_nothing(app):
    """A capacity of 1 passes the series form, and the first coming dates
    (only the host's seat) take it; the third date, where the host brings two
    guests, cannot. The edit is refused with the reason, and neither the series
    nor any of its dates changed."""
    neighbours(app)
    ada = signed_in(app)
    first = post_gathering(ada, capacity=10, max_guests=2, repeat="weekly", title="Repair café", place="Elm Street 5")
    with app.app_context():
        with db.engine.connect() as conn:
            series_id = conn.execute(text("SELECT series_id FROM gatherings WHERE id = :g"), {"g": first}).scalar()
            dates = conn.execute(text("SELECT id FROM gatherings WHERE series_id = :s ORDER BY starts_at"),
                                 {"s": series_id}).scalars().all()
    assert series_id is not None and len(dates) >= 3, dates
    going(ada, dates[2], guests=2)  # the host's own answer: the date still follows the series
    before = rows(app)
    page = f"/c/elm-street/gatherings/series/{series_id}"
    shown = post_form(ada.get(page).get_data(as_text=True)).data()

    response = send(ada, page, title="Repair café and soup", place="Library", capacity="1")
    assert 400 <= response.status_code < 500, response.status_code
    assert "3 seats are already taken" in seen(response.get_data(as_text=True))
    assert not differences(before, rows(app)), "the failed edit changed: " + "; ".join(differences(before, rows(app)))
    assert post_form(ada.get(page).get_data(as_text=True)).data() | {"csrf_token": ""} == shown | {"csrf_token": ""}


FAILING_EDITS = [
    ("a capacity below the seats taken", {"capacity": "3"}, "4 seats are already taken"),
    ("a link that is not one", {"online_url": "javascript:alert(1)"}, "A link must start with http:// or https://."),
    ("an end before the start", {"ends_local": days_ahead(10, hour=17).strftime(WHEN)}, "That ends before it starts"),
]


@pytest.mark.parametrize("case, change, message", FAILING_EDITS, ids=[c[0] for c in FAILING_EDITS])
def test_a_gathering_edit_that_fails_changes_nothing(app, case, change, message):
    """An edit of the title, the place, the status and the co-hosts together
    with one change that is refused: the reason is shown, and nothing at all
    is saved, not even the parts that were fine."""
    ids = neighbours(app, "Bruno", "Chiara")
    ada = signed_in(app)
    gathering_id = post_gathering(ada, capacity=5, max_guests=1)
    going(signed_in(app, "Bruno"), gathering_id, guests=1)
    going(signed_in(app, "Chiara"), gathering_id)  # four seats taken: Ada, Bruno and his guest, Chiara
    before = rows(app)

    path = f"/c/elm-street/gatherings/{gathering_id}/edit"
    response = send(ada, path, title="Soup and bread", place="Town hall", status="tentative",
                    cohosts=[str(ids["Bruno"]), str(ids["Chiara"])], **change)
    assert 400 <= response.status_code < 500, response.status_code
    assert message in seen(response.get_data(as_text=True))
    assert not differences(before, rows(app)), "the failed edit changed: " + "; ".join(differences(before, rows(app)))
