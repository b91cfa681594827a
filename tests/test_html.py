"""Every page is valid HTML, as the W3C Nu HTML checker (vnu.jar) judges it.

The checker is a Java program that takes seconds to start, so the pages are
collected first (as an anonymous visitor, a verified and an unverified member,
forms with their error messages, token pages, error pages), written to files
in one folder and checked in ONE run of the checker. Each group of pages is
then its own test, so a failure names the group and prints every error.

The jar comes from the npm package vnu-jar (package.json); Java from Debian's
default-jre-headless. scripts/install-system-packages.sh installs both. Where
either is missing the tests skip, except with CI=true, where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .gatherings_helpers import new_form
from .helpers import PASSWORD, add_user, login, post

ROOT = Path(__file__).resolve().parents[1]
VNU_JAR = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"

GROUPS = ["anonymous", "verified", "unverified", "invalid-forms", "tokens", "errors"]

# A page the checker must find fault with: proves that it really ran and
# really reported, so a broken checker can never pass every page.
CANARY_NAME = "canary.html"
CANARY = "<!doctype html><html lang=en><title>x</title><p><div></p></div></html>"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: a skipped check is a failure; "
                    "run scripts/install-system-packages.sh)", pytrace=False)
    pytest.skip(f"{reason}; run scripts/install-system-packages.sh")


def _file_name(group: str, what: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", what).strip("-") or "home"
    return f"{group}--{slug}.html"


class Pages:
    """The pages collected: group -> {file name: what it is}, and the files."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.groups: dict[str, dict[str, str]] = {g: {} for g in GROUPS}

    def add(self, group: str, what: str, response, status: int = 200) -> None:
        assert response.status_code == status, (
            f"{group}: {what} answered {response.status_code}, expected {status}")
        assert response.mimetype == "text/html", f"{group}: {what} is {response.mimetype}"
        name = _file_name(group, what)
        assert name not in self.groups[group], f"two pages named {name}"
        self.groups[group][name] = what
        (self.folder / name).write_bytes(response.get_data())


def _get_routes(app) -> list[str]:
    """Every GET route without URL parameters (static files aside)."""
    routes = sorted({rule.rule for rule in app.url_map.iter_rules()
                     if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"})
    assert "/" in routes and "/auth/login" in routes, routes
    return routes


def _collect(app, mailbox, pages: Pages) -> None:
    routes = _get_routes(app)

    # A verified member, and an unverified one who joined through the form
    # (so the mail brings a real verification link).
    add_user(app, email="ada@example.org", name="Ada", verified=True)
    newcomer = app.test_client()
    response = post(newcomer, "/auth/register", {"email": "bruno@example.org", "display_name": "Bruno",
                                                 "password": PASSWORD, "time_zone": "Europe/Berlin"})
    assert response.status_code == 303, response.status_code
    pages.add("unverified", "check email after joining", newcomer.get("/auth/check-email"))
    verify_link = mailbox.last_link("bruno@example.org", "/auth/verify/")

    anonymous = app.test_client()
    verified = app.test_client()
    assert login(verified, "ada@example.org").status_code == 303
    unverified = newcomer
    assert login(unverified, "bruno@example.org").status_code == 303

    for group, client in [("anonymous", anonymous), ("verified", verified), ("unverified", unverified)]:
        for route in routes:
            # Pages for members send strangers to sign in, and sign-in pages
            # send members home: check the page the visitor lands on.
            response = client.get(route, follow_redirects=True)
            assert response.status_code == 200, f"{group}: {route} answered {response.status_code}"
            if response.mimetype != "text/html":
                continue  # a manifest, a script: not a page
            landed = response.request.path
            pages.add(group, route if landed == route else f"{route} -> {landed}", response)

    # Pages no link reaches, each the answer to its form: a new invitation
    # link with its QR code, a printable notice (A4 and A5), a gathering's
    # guest-link notice.
    assert post(verified, "/circles/new", {"name": "Elm Street", "slug": "elm-street", "time_zone": "Europe/Berlin",
                                           "language": "en", "join_mode": "open"}).status_code == 303
    pages.add("verified", "a new invitation link with its QR code", post(verified, "/c/elm-street/invitations", {
        "days": "7", "max_uses": "10", "note": "For number 5"}))
    made = post(verified, "/c/elm-street/invitations/notice", {
        "text": "Neighbours: we plan together here, then meet.", "days": "30", "max_uses": "20", "size": "a4"})
    assert made.status_code == 303, made.status_code
    for size in ("a4", "a5"):
        pages.add("verified", f"printable notice {size}", verified.get(made.location.replace("size=a4", f"size={size}")))
    gathering = post(verified, "/c/elm-street/gatherings/new", new_form())
    assert gathering.status_code == 303, gathering.status_code
    path = urlsplit(gathering.location).path
    assert post(verified, f"{path}/share").status_code == 303
    pages.add("verified", "a gathering's notice", verified.get(f"{path}/notice?text=Bring+a+cup&size=a5"))

    # Forms sent with bad data: the same page, with messages beside the fields.
    form = anonymous
    pages.add("invalid-forms", "register", post(form, "/auth/register", {
        "email": "not-an-email", "display_name": "", "password": "short", "time_zone": "Mars/Olympus"}), 422)
    pages.add("invalid-forms", "register empty", post(form, "/auth/register", {}), 422)
    pages.add("invalid-forms", "login", post(form, "/auth/login", {"email": "nope", "password": ""}), 422)
    pages.add("invalid-forms", "login wrong password", post(form, "/auth/login", {
        "email": "ada@example.org", "password": "not the password"}), 422)
    pages.add("invalid-forms", "reset", post(form, "/auth/reset", {"email": "nope"}), 422)
    pages.add("invalid-forms", "change password", post(verified, "/auth/account/password", {
        "current_password": "", "password": "short"}), 422)
    pages.add("invalid-forms", "change password wrong current", post(verified, "/auth/account/password", {
        "current_password": "not the password", "password": "a brand new passphrase"}), 422)
    pages.add("invalid-forms", "delete", post(verified, "/auth/account/delete", {"password": ""}), 422)
    pages.add("invalid-forms", "delete wrong password", post(verified, "/auth/account/delete", {
        "password": "not the password"}), 422)
    pages.add("invalid-forms", "time zone", post(verified, "/auth/account/time-zone", {
        "time_zone": "Nowhere/Special"}), 422)
    pages.add("invalid-forms", "notice settings", post(verified, "/notices/settings", {
        "digest_hour": "99", "quiet_from": "x", "quiet_until": "8"}), 422)
    pages.add("invalid-forms", "language", post(verified, "/auth/account/language", {"language": "xx"}), 422)
    pages.add("invalid-forms", "unsubscribe forged", anonymous.get("/unsubscribe/forged.token"), 400)

    # Links from mail, with a real token and a made-up one.
    pages.add("tokens", "verify valid token anonymous", app.test_client().get(verify_link))
    pages.add("tokens", "verify valid token signed in", unverified.get(verify_link))
    bad_verify = "/auth/verify/" + "x" * 43
    pages.add("tokens", "verify invalid token", anonymous.get(bad_verify))
    pages.add("tokens", "verify invalid token confirmed", post(anonymous, bad_verify), 410)
    pages.add("tokens", "verify invalid token confirmed signed in", post(unverified, bad_verify), 410)
    confirmer = app.test_client()
    assert post(confirmer, verify_link).status_code == 303
    pages.add("tokens", "login after confirming", confirmer.get("/auth/login"))

    pages.add("tokens", "reset sent", post(anonymous, "/auth/reset", {"email": "ada@example.org"}))
    reset_link = mailbox.last_link("ada@example.org", "/auth/reset/")
    pages.add("tokens", "reset valid token", anonymous.get(reset_link))
    pages.add("tokens", "reset valid token bad password", post(anonymous, reset_link, {"password": "short"}), 422)
    pages.add("tokens", "reset invalid token", anonymous.get("/auth/reset/" + "x" * 43), 410)

    # Error pages.
    pages.add("errors", "404 anonymous", anonymous.get("/no/such/page"), 404)
    pages.add("errors", "404 signed in", verified.get("/no/such/page"), 404)
    pages.add("errors", "405", anonymous.get("/auth/logout"), 405)
    pages.add("errors", "400 form without CSRF token", app.test_client().post(
        "/auth/login", data={"email": "ada@example.org", "password": PASSWORD}), 400)

    # Last, as it ends the verified member's session: the note after signing out.
    pages.add("anonymous", "login after signing out", _signed_out_page(verified))


def _signed_out_page(client):
    """The sign-in page with its 'You are signed out' note."""
    assert post(client, "/auth/logout").status_code == 303
    return client.get("/auth/login")


def _run_checker(folder: Path) -> dict[str, list[dict]]:
    """One run of the checker over every file; file name -> its errors."""
    files = sorted(str(p) for p in folder.glob("*.html"))
    result = subprocess.run(
        ["java", "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *files],
        capture_output=True, text=True, timeout=600,
    )
    # The report goes to stderr; exit status 1 means "some document has errors".
    try:
        report = json.loads(result.stderr)
    except json.JSONDecodeError:
        pytest.fail(f"vnu.jar exited {result.returncode} without a JSON report:\n"
                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}", pytrace=False)
    if result.returncode not in (0, 1):
        pytest.fail(f"vnu.jar exited {result.returncode}: {result.stderr[-3000:]}", pytrace=False)
    errors: dict[str, list[dict]] = {Path(f).name: [] for f in files}
    for message in report.get("messages", []):
        if message.get("type") == "info":
            continue  # --errors-only leaves none; kept out in case an option changes
        name = Path(message.get("url", "").removeprefix("file:")).name
        errors.setdefault(name, []).append(message)
    return errors


@pytest.fixture(scope="module")
def checked(app, mailbox, tmp_path_factory):
    """Collects every page, checks them in one run; group -> [(page, errors)]."""
    if shutil.which("java") is None:
        _skip_or_fail("java is not installed (Debian: default-jre-headless)")
    if not VNU_JAR.is_file():
        _skip_or_fail(f"{VNU_JAR.relative_to(ROOT)} is missing (npm ci)")
    folder = tmp_path_factory.mktemp("pages")
    pages = Pages(folder)
    _collect(app, mailbox, pages)
    (folder / CANARY_NAME).write_text(CANARY)
    errors = _run_checker(folder)
    canary = errors.pop(CANARY_NAME, [])
    assert canary, "the checker found nothing wrong in a page with a known error: is it working?"
    unknown = set(errors) - {name for group in pages.groups.values() for name in group}
    assert not unknown, f"the checker reported on files we did not write: {unknown}"
    return {group: [(what, errors.get(name, [])) for name, what in names.items()]
            for group, names in pages.groups.items()}


def _describe(what: str, messages: list[dict]) -> str:
    lines = [f"{what}: {len(messages)} error(s)"]
    for m in messages:
        lines.append(f"  line {m.get('lastLine', '?')}: {m.get('message', '').strip()}")
        if m.get("extract"):
            lines.append(f"    {m['extract'].strip()!r}")
    return "\n".join(lines)


@pytest.mark.parametrize("group", GROUPS)
def test_pages_are_valid_html(checked, group):
    pages = checked[group]
    assert pages, f"no pages collected for {group}"
    bad = [(what, messages) for what, messages in pages if messages]
    assert not bad, ("W3C Nu checker errors:\n"
                     + "\n".join(_describe(f"[{group}] {what}", messages) for what, messages in bad))
