"""What a browser, and someone attacking it, sees of the app's defences:
response headers, templates without inline script, HTTPS behind a proxy,
CSRF on every form, error pages, password hashing, Markdown cleaning and
htmx partials. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import html.parser
import logging
import re
import uuid
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from app.auth import passwords
from app.auth.models import User
from app.extensions import db
from app.text import render_markdown

from .helpers import PASSWORD, add_user, csrf_token, login, post, text_of

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# Pages and the status each answers with.
ANONYMOUS_PAGES = {"/": 200, "/auth/login": 200, "/auth/register": 200, "/auth/reset": 200,
                   "/auth/check-email": 200, "/no/such/page": 404}
SIGNED_IN_PAGES = {"/": 200, "/auth/account": 200, "/auth/account/password": 200, "/auth/account/delete": 200,
                   "/no/such/page": 404}


# --- reading pages -----------------------------------------------------------

class _Tags(html.parser.HTMLParser):
    """Every start tag of a page with its attributes, as a browser parses them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def tags_of(markup: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    return parser.tags


def csp_of(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request.path}"
    policy = {}
    for directive in header.split(";"):
        words = directive.split()
        if words:
            policy[words[0].lower()] = words[1:]
    return policy


def nonce_of(response) -> str:
    nonces = [s[len("'nonce-"):-1] for s in csp_of(response).get("script-src", []) if s.startswith("'nonce-")]
    assert len(nonces) == 1, f"want one nonce in script-src, got {nonces}"
    return nonces[0]


def page_problems(markup: str) -> list[str]:
    """Inline script, inline handlers and foreign origins in rendered HTML."""
    problems = []
    for tag, attrs in tags_of(markup):
        for name, value in attrs.items():
            if name.startswith("on"):
                problems.append(f"<{tag} {name}=...>: inline event handler")
            if name.startswith(("hx-on", "data-hx-on")):
                problems.append(f"<{tag} {name}=...>: htmx inline handler")
            if name in {"src", "href", "action", "formaction", "data-hx-get", "data-hx-post", "hx-get", "hx-post"} and value:
                target = value.strip().lower()
                if re.match(r"(https?:)?//", target) and not re.match(r"(https?:)?//localhost(/|$)", target):
                    problems.append(f"<{tag} {name}={value!r}>: another origin")
                if target.startswith(("javascript:", "data:text")):
                    problems.append(f"<{tag} {name}={value!r}>: script URL")
        if tag == "script" and not attrs.get("src"):
            problems.append("<script> without src: inline script")
    return problems


def assert_page_headers(response, signed_in: bool) -> None:
    where = response.request.path
    policy = csp_of(response)
    nonce = nonce_of(response)
    assert len(nonce) >= 16, where
    assert policy.get("object-src") == ["'none'"], where
    assert policy.get("base-uri") == ["'none'"], where
    assert policy.get("frame-ancestors") == ["'none'"], where
    assert "script-src" in policy and "default-src" in policy, where
    header = response.headers["Content-Security-Policy"].lower()
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header, where
    assert not any(source in ("*", "http:", "https:") for sources in policy.values() for source in sources), where
    # Every script of the page carries this response's nonce, and only it.
    scripts = [attrs for tag, attrs in tags_of(response.get_data(as_text=True)) if tag == "script"]
    assert scripts, f"no <script> on {where}"
    assert all(attrs.get("nonce") == nonce for attrs in scripts), (where, scripts, nonce)

    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", where
    assert "Strict-Transport-Security" not in response.headers, f"HSTS over plain HTTP on {where}"
    assert "HX-Request" in response.headers.get("Vary", ""), where
    if signed_in:
        assert response.headers.get("Cache-Control") == "no-store", where


def assert_friendly(response, code: int, title: str) -> None:
    page = text_of(response)
    assert response.status_code == code, (response.status_code, page[:500])
    assert response.mimetype == "text/html"
    assert '<header class="bar">' in page and ">Communitarium</a>" in page, "not in the site's own style"
    assert title in page
    for leak in ("Traceback", "werkzeug", "Werkzeug", 'File "', "Exception", "Error:"):
        assert leak not in page, f"{leak!r} on the {code} page"


def assert_signed_out(client) -> None:
    response = client.get("/auth/account")
    assert response.status_code == 303 and "/auth/login" in response.location, response.status_code


def signed_in_client(app, **user):
    add_user(app, **user)
    client = app.test_client()
    assert login(client, email=user.get("email", "ada@example.org")).status_code == 303
    return client


# --- headers -------------------------------------------------------------------

def test_security_headers_on_anonymous_pages(app, client):
    for path, status in ANONYMOUS_PAGES.items():
        response = client.get(path)
        assert response.status_code == status, path
        assert_page_headers(response, signed_in=False)
    static = client.get("/static/app.js")
    assert static.status_code == 200
    assert static.headers.get("X-Content-Type-Options") == "nosniff"
    assert "Strict-Transport-Security" not in static.headers


def test_security_headers_on_signed_in_pages(app):
    client = signed_in_client(app, verified=False)  # the home page shows its htmx form
    for path, status in SIGNED_IN_PAGES.items():
        response = client.get(path)
        assert response.status_code == status, path
        assert_page_headers(response, signed_in=True)


def test_csp_nonce_differs_per_request(app, client):
    nonces = {nonce_of(client.get("/auth/login")) for _ in range(5)}
    assert len(nonces) == 5
    # The page carries the nonce of its own response, not a cached or shared one.
    response = client.get("/auth/login")
    assert f'nonce="{nonce_of(response)}"' in response.get_data(as_text=True)


def test_error_and_form_pages_get_the_same_headers(app, client):
    responses = [
        client.get("/no/such/page"),  # 404
        client.get("/auth/logout"),  # 405
        client.post("/auth/login", data={"email": "ada@example.org", "password": "x"}),  # 400, no CSRF token
        login(client, email="nobody@example.org", password="wrong password"),  # 422
    ]
    assert [r.status_code for r in responses] == [404, 405, 400, 422]
    for response in responses:
        assert_page_headers(response, signed_in=False)


# --- no inline script, nothing from elsewhere ---------------------------------------------

def _template_files() -> list[Path]:
    files = sorted(p for p in TEMPLATES.rglob("*") if p.is_file())
    assert len(files) >= 10, f"templates not found under {TEMPLATES}"
    return files


def test_templates_have_no_inline_script_or_foreign_origins():
    problems = []
    for path in _template_files():
        source = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S)
        name = path.relative_to(TEMPLATES)
        for match in re.finditer(r"<[a-zA-Z][^>]*>", source):
            tag = match.group(0)
            if re.search(r"\son\w+\s*=", tag, re.I):
                problems.append(f"{name}: inline event handler in {tag}")
            if re.search(r"\s(data-)?hx-on", tag, re.I):
                problems.append(f"{name}: htmx inline handler in {tag}")
            if re.search(r"\b(src|href|action)\s*=\s*[\"']?\s*(https?:)?//", tag, re.I):
                problems.append(f"{name}: another origin in {tag}")
            if re.search(r"\b(src|href|action)\s*=\s*[\"']?\s*javascript:", tag, re.I):
                problems.append(f"{name}: javascript: URL in {tag}")
        for script in re.finditer(r"<script\b[^>]*>", source, re.I):
            if not re.search(r"\ssrc\s*=", script.group(0), re.I):
                problems.append(f"{name}: inline <script> {script.group(0)}")
            if "nonce=" not in script.group(0):
                problems.append(f"{name}: <script> without the CSP nonce {script.group(0)}")
    assert not problems, "\n".join(problems)


def test_templates_have_no_inline_styles():
    """style-src 'self' without 'unsafe-inline': the browser would ignore them."""
    problems = []
    for path in _template_files():
        source = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<style\b|<[a-zA-Z][^>]*\sstyle\s*=", source, re.I):
            problems.append(f"{path.relative_to(TEMPLATES)}: {match.group(0)}")
    assert not problems, "\n".join(problems)


def test_page_checker_catches_what_it_looks_for():
    """The checks below would see a problem if a page had one."""
    assert page_problems('<p><a href="/x">fine</a></p><script src="/static/a.js" nonce="n"></script>') == []
    bad = ('<button onclick="x()">a</button><script>alert(1)</script>'
           '<img src="https://cdn.example.com/a.png"><a href="//evil.example/">b</a>'
           '<a href="javascript:alert(1)">c</a><div data-hx-on:click="x">d</div>')
    assert len(page_problems(bad)) == 6


def test_rendered_pages_have_no_inline_script_or_foreign_origins(app, client, mailbox):
    pages = [(client.get(path), status) for path, status in ANONYMOUS_PAGES.items()]
    pages.append((login(client, email="nobody@example.org", password="wrong password"), 422))
    signed_in = signed_in_client(app, email="bruno@example.org", name="Bruno", verified=False)
    # Pages that carry a token in their address.
    post(app.test_client(), "/auth/reset", {"email": "bruno@example.org"})
    reset_link = mailbox.last_link("bruno@example.org", "/auth/reset/")
    post(signed_in, "/auth/verify/resend")
    verify_link = mailbox.last_link("bruno@example.org", "/auth/verify/")
    pages += [(signed_in.get(path), status) for path, status in SIGNED_IN_PAGES.items()]
    pages.append((signed_in.get(verify_link), 200))
    pages.append((app.test_client().get(reset_link), 200))
    pages.append((app.test_client().get("/auth/reset/not-a-token"), 410))
    pages.append((post(signed_in, "/auth/verify/resend", headers={"HX-Request": "true"}), 200))
    assert [r.status_code for r, _ in pages] == [status for _, status in pages], [r.request.path for r, _ in pages]
    for response, _ in pages:
        problems = page_problems(response.get_data(as_text=True))
        assert not problems, (response.request.path, problems)


# --- HTTPS behind a proxy ---------------------------------------------------------

def _cookie_attributes(response) -> dict[str, list[str]]:
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0]
        cookies[name] = [part.strip().lower() for part in header.split(";")[1:]]
    return cookies


HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.20"}


def test_https_behind_one_trusted_proxy(make_app):
    proxied = make_app({"PROXY_COUNT": 1})
    add_user(proxied)
    client = proxied.test_client()
    page = client.get("/auth/login", headers=HTTPS)
    assert page.status_code == 200
    assert page.headers.get("Strict-Transport-Security", "").startswith("max-age=")
    assert int(re.search(r"max-age=(\d+)", page.headers["Strict-Transport-Security"]).group(1)) >= 15552000

    token = csrf_token(client)
    response = client.post("/auth/login", data={"email": "ada@example.org", "password": PASSWORD,
                                                "remember": "y", "csrf_token": token},
                           headers=HTTPS | {"Referer": "https://localhost/auth/login"})
    assert response.status_code == 303
    assert "Strict-Transport-Security" in response.headers
    cookies = _cookie_attributes(response)
    assert {"session", "remember_token"} <= cookies.keys(), cookies
    for name in ("session", "remember_token"):
        assert "secure" in cookies[name], f"{name} cookie sent over HTTPS without Secure: {cookies[name]}"
        assert "httponly" in cookies[name], name
        assert "samesite=lax" in cookies[name], name


def test_forwarded_proto_is_ignored_without_a_proxy(make_app):
    direct = make_app({"PROXY_COUNT": 0})
    add_user(direct)
    client = direct.test_client()
    page = client.get("/auth/login", headers=HTTPS)
    assert "Strict-Transport-Security" not in page.headers
    response = post(client, "/auth/login", {"email": "ada@example.org", "password": PASSWORD, "remember": "y"},
                    headers=HTTPS)
    assert response.status_code == 303
    assert "Strict-Transport-Security" not in response.headers
    for name, attributes in _cookie_attributes(response).items():
        assert "httponly" in attributes and "samesite=lax" in attributes, name


def test_mailed_links_ignore_the_host_the_request_claims(make_app, mailbox):
    """Reset links are built on BASE_URL, never on a Host or X-Forwarded-Host
    an attacker sends along with someone else's address."""
    proxied = make_app({"PROXY_COUNT": 1, "BASE_URL": "https://circles.example.org"})
    add_user(proxied)
    for headers in ({"HTTP_X_FORWARDED_HOST": "evil.example"}, {"HTTP_HOST": "evil.example"}):
        client = proxied.test_client()
        client.environ_base.update(headers)  # on every request, the token's page too
        mailbox.clear()
        response = post(client, "/auth/reset", {"email": "ada@example.org"})
        assert response.status_code == 200, headers
        body = mailbox.last("ada@example.org").get_content()
        links = re.findall(r"https?://\S+", body)
        assert links and all(link.startswith("https://circles.example.org/") for link in links), (headers, links)
        assert "evil.example" not in body


# --- CSRF on every form ------------------------------------------------------------

# Every field any of our forms has, filled so that the post would change
# something if its token were not checked.
FORM_DATA = {
    "email": "ada@example.org", "password": PASSWORD, "current_password": PASSWORD,
    "display_name": "Mallory", "time_zone": "Asia/Tokyo", "remember": "y",
}
# Endpoints that may take a post without a token, each for a reason:
# notify.unsubscribe is RFC 8058's one-click unsubscribe, posted by the mail
# program with no page in between; its signed token (tested in test_notify)
# is the proof, and it can only stop mail to its own person.
CSRF_EXEMPT: set[str] = {"notify.unsubscribe"}


def _database_state(app) -> dict[str, list[tuple]]:
    with app.app_context():
        state = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(select(table)).all()
            state[table.name] = sorted((tuple(map(repr, row)) for row in rows))
        db.session.remove()
        return state


def _post_urls(app, tokens: dict[str, str]) -> list[str]:
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "POST" not in rule.methods or rule.endpoint in CSRF_EXEMPT:
                continue
            values = {}
            for argument in rule.arguments:
                converter = rule._converters[argument]
                kind = type(converter).__name__
                if argument == "token":
                    values[argument] = tokens.get(rule.endpoint, "x" * 43)
                elif kind == "AnyConverter":
                    values[argument] = sorted(converter.items)[0]
                elif kind == "UUIDConverter":
                    values[argument] = uuid.uuid4()
                elif kind.endswith(("IntegerConverter", "NumberConverter", "FloatConverter")):
                    values[argument] = 1
                else:
                    values[argument] = "x"
            urls.append(rule.build(values, append_unknown=False)[1])
    return urls


def test_every_post_needs_a_csrf_token(app, mailbox):
    # An unconfirmed account with a live confirmation link and reset link, so
    # that every form here could do something.
    victim = app.test_client()
    assert post(victim, "/auth/register", {"email": "ada@example.org", "display_name": "Ada",
                                           "password": PASSWORD, "time_zone": "UTC"}).status_code == 303
    verify_link = mailbox.last_link("ada@example.org", "/auth/verify/")
    post(app.test_client(), "/auth/reset", {"email": "ada@example.org"})
    reset_link = mailbox.last_link("ada@example.org", "/auth/reset/")
    tokens = {"auth.verify": verify_link.rsplit("/", 1)[1], "auth.reset_password": reset_link.rsplit("/", 1)[1]}
    assert login(victim, remember=True).status_code == 303

    urls = _post_urls(app, tokens)
    expected = {"/auth/login", "/auth/register", "/auth/logout", "/auth/verify/resend", "/auth/reset",
                "/auth/account/time-zone", "/auth/account/password", "/auth/account/sign-out-everywhere",
                "/auth/account/delete"}
    assert expected <= set(urls), set(urls)
    assert any(u.startswith("/auth/verify/") and u != "/auth/verify/resend" for u in urls)

    attacker = app.test_client()
    foreign_token = csrf_token(attacker)  # valid, but for the attacker's own session
    before = _database_state(app)
    mails = len(mailbox.messages)
    for url in urls:
        for client, data in [
            (victim, FORM_DATA),  # signed in, no token
            (victim, FORM_DATA | {"csrf_token": foreign_token}),  # signed in, someone else's token
            (victim, FORM_DATA | {"csrf_token": "not-a-token"}),
            (app.test_client(), FORM_DATA),  # signed out, no token
        ]:
            response = client.post(url, data=data)
            assert_friendly(response, 400, "The form had expired or was sent from elsewhere")
            # The htmx header carries no token either.
            response = client.post(url, data=data, headers={"HX-Request": "true"})
            assert response.status_code == 400, url
    assert _database_state(app) == before
    assert len(mailbox.messages) == mails
    assert victim.get("/auth/account").status_code == 200  # still signed in
    # The token in a header (as htmx sends it) is accepted: the check is real.
    header_token = csrf_token(victim)
    response = victim.post("/auth/account/time-zone", data={"time_zone": "Asia/Tokyo"},
                           headers={"X-CSRFToken": header_token, "HX-Request": "true"})
    assert response.status_code == 303


# --- friendly error pages ---------------------------------------------------------

def test_unknown_address_gets_the_friendly_404(app, client):
    response = client.get("/no/such/page")
    assert_friendly(response, 404, "Nothing here")
    assert "Not Found" not in text_of(response)


def test_too_large_a_body_gets_the_friendly_413(app, client):
    add_user(app)
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit and limit <= 10 * 1024 * 1024
    body = b"email=ada%40example.org&password=" + b"a" * (limit + 1)
    response = client.post("/auth/login", data=body, content_type="application/x-www-form-urlencoded")
    assert_friendly(response, 413, "That was too much at once")
    assert_signed_out(client)


def test_an_error_in_a_view_gets_the_friendly_500(make_app, caplog):
    broken = make_app({"TESTING": False, "PROPAGATE_EXCEPTIONS": False})

    @broken.route("/test-only/boom")
    def boom():
        raise RuntimeError("secret internal detail 7f3a")

    with caplog.at_level(logging.ERROR):
        response = broken.test_client().get("/test-only/boom")
    assert_friendly(response, 500, "Something went wrong on our side")
    page = text_of(response)
    assert "secret internal detail" not in page and "RuntimeError" not in page
    assert_page_headers(response, signed_in=False)
    # The log keeps what the page does not show.
    assert any(r.exc_info and "secret internal detail" in str(r.exc_info[1]) for r in caplog.records)


# --- passwords -------------------------------------------------------------------------

def _argon2_parameters(encoded: str) -> tuple[str, dict[str, int]]:
    match = re.fullmatch(r"\$(argon2(?:id|i|d))\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+",
                         encoded)
    assert match, f"not an argon2 hash: {encoded!r}"
    variant, version, m, t, p = match.groups()
    return variant, {"v": int(version), "m": int(m), "t": int(t), "p": int(p)}


def test_production_password_hashes_are_strong_argon2id(make_app, monkeypatch):
    for name in ("ARGON2_TIME_COST", "ARGON2_MEMORY_COST", "ARGON2_PARALLELISM"):
        monkeypatch.delenv(name, raising=False)
    production = make_app(cheap=False)
    with production.app_context():
        encoded = passwords.hash_password("a long enough passphrase")
        assert passwords.check_password(encoded, "a long enough passphrase")
        assert not passwords.check_password(encoded, "a long enough passphrasf")
    variant, params = _argon2_parameters(encoded)
    assert variant == "argon2id"
    assert params["v"] == 19
    assert params["t"] >= 2 and params["m"] >= 19456 and params["p"] >= 1, params


def test_old_hash_is_upgraded_at_sign_in(app, make_app):
    production = make_app(cheap=False)
    add_user(app)  # hashed with the session app's cheap parameters
    with production.app_context():
        old = db.session.scalar(select(User.password_hash).where(User.email == "ada@example.org"))
    assert _argon2_parameters(old)[1]["m"] == 8

    client = production.test_client()
    assert login(client, password="not the password").status_code == 422
    with production.app_context():
        assert db.session.scalar(select(User.password_hash)) == old  # a wrong password changes nothing
    assert login(client).status_code == 303
    with production.app_context():
        new = db.session.scalar(select(User.password_hash))
    assert new != old
    variant, params = _argon2_parameters(new)
    assert variant == "argon2id" and params["m"] >= 19456 and params["t"] >= 2
    assert PasswordHasher().verify(new, PASSWORD)
    # Signing in again keeps the upgraded hash.
    assert login(production.test_client()).status_code == 303
    with production.app_context():
        assert db.session.scalar(select(User.password_hash)) == new


def test_common_passwords_are_refused(app, client):
    common = passwords.common_passwords()
    assert len(common) >= 3000
    for word in ("password1", "qwerty123", "iloveyou", "Password1", " iloveyou "):
        assert passwords.is_common(word), word
    assert not passwords.is_common("correct horse battery staple")
    for word in ("password1", "qwerty123", "iloveyou"):
        response = post(client, "/auth/register", {"email": "ada@example.org", "display_name": "Ada",
                                                   "password": word, "time_zone": "UTC"})
        assert response.status_code == 422, word
        assert "list of passwords people guess first" in text_of(response)
    with app.app_context():
        assert db.session.scalar(select(User)) is None


def test_unknown_email_costs_one_hash_check_like_a_wrong_password(make_app, monkeypatch):
    # Parameters of their own (still cheap), so a dummy hash made with any
    # fixed parameters would show.
    app = make_app({"ARGON2_TIME_COST": 2, "ARGON2_MEMORY_COST": 16, "ARGON2_PARALLELISM": 1})
    add_user(app)
    add_user(app, email="gone@example.org", name="Gone")
    leaving = app.test_client()
    assert login(leaving, email="gone@example.org").status_code == 303
    assert post(leaving, "/auth/account/delete", {"password": PASSWORD}).status_code == 303

    checked: list[str] = []
    real_verify = PasswordHasher.verify

    def spy(self, hash, password):
        checked.append(hash if isinstance(hash, str) else hash.decode())
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)

    def checks(email, password="not the password"):
        checked.clear()
        assert login(app.test_client(), email=email, password=password).status_code == 422
        return list(checked)

    known = checks("ada@example.org")
    assert len(known) == 1
    assert _argon2_parameters(known[0])[1] == {"v": 19, "m": 16, "t": 2, "p": 1}
    for email in ("nobody@example.org", "gone@example.org", "NOBODY2@example.org"):
        unknown = checks(email)
        assert len(unknown) == len(known), email
        # Same work: the dummy hash has the parameters a real one has.
        assert _argon2_parameters(unknown[0])[1] == _argon2_parameters(known[0])[1], email


# --- Markdown ------------------------------------------------------------------------

def _markdown_tags(source: str):
    return tags_of(render_markdown(source))


@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    "hello <script src=https://evil.example/x.js></script>",
    '<img src=x onerror="alert(1)">',
    '<a href="/x" onclick="alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](java\tscript:alert(1))",
    "<javascript:alert(1)>",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="/x" hx-get="/auth/account/delete" hx-trigger="load">x</a>',
    '<div data-hx-post="/auth/logout" data-hx-trigger="load">x</div>',
    '<form action="/auth/logout" method="post"><button>x</button></form>',
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)>",
    '[x](https://example.org "t" onmouseover="alert(1)")',
])
def test_markdown_drops_script_and_active_attributes(source):
    out = render_markdown(source)
    for tag, attrs in tags_of(out):
        assert tag not in {"script", "iframe", "svg", "img", "form", "button", "div", "object", "embed"}, out
        for name, value in attrs.items():
            assert not name.startswith("on"), out
            assert not name.startswith(("hx-", "data-hx-", "data-")), out
            if name in {"href", "src"}:
                assert (value or "").strip().lower().startswith(("https:", "http:", "mailto:", "/", "#")), out


def test_markdown_keeps_bold_and_links():
    out = render_markdown("Bring **bread** and see [the map](https://example.org/map?a=1&b=2).")
    assert "<strong>bread</strong>" in out
    links = [attrs for tag, attrs in tags_of(out) if tag == "a"]
    assert len(links) == 1
    assert links[0]["href"] == "https://example.org/map?a=1&b=2"
    assert "noopener" in links[0]["rel"].split()
    assert "the map" in out
    # Headings start at h3: the page owns h1 and h2.
    assert [t for t, _ in _markdown_tags("# Title\n\n## Sub")] == ["h3", "h3"]


# --- htmx ----------------------------------------------------------------------------

def test_plain_htmx_request_gets_a_partial_and_boosted_gets_a_page(app, mailbox):
    client = signed_in_client(app, verified=False)
    partial = post(client, "/auth/verify/resend", headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "<html" not in text_of(partial) and "<body" not in text_of(partial)
    assert "We sent a new link to ada@example.org" in text_of(partial)
    assert "HX-Request" in partial.headers["Vary"]

    boosted = post(client, "/auth/verify/resend", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert boosted.status_code == 303 and boosted.location == "/"
    page = client.get("/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in text_of(page) and "We sent a new link" in text_of(page)
    assert "HX-Request" in boosted.headers["Vary"] and "HX-Request" in page.headers["Vary"]


def test_every_html_response_varies_on_hx_request(app, client):
    signed = signed_in_client(app, verified=False)
    responses = [client.get(path) for path in ANONYMOUS_PAGES]
    responses += [client.get(path, headers={"HX-Request": "true"}) for path in ANONYMOUS_PAGES]
    responses += [signed.get(path) for path in SIGNED_IN_PAGES]
    responses += [
        client.get("/auth/account"),  # redirect to sign in
        client.post("/auth/login", data={}),  # 400
        login(client, email="nobody@example.org", password="wrong password"),  # 422
        signed.get("/auth/login"),  # redirect home
        post(signed, "/auth/verify/resend", headers={"HX-Request": "true"}),
        post(signed, "/auth/verify/resend"),
    ]
    html_responses = [r for r in responses if r.mimetype == "text/html"]
    assert len(html_responses) == len(responses)
    for response in html_responses:
        assert "HX-Request" in response.headers.get("Vary", ""), (response.request.path, response.status_code)
