"""One app, two languages, taking turns: every page in exactly the language
asked for, every time, the words of imported macros included.

The second language is the pseudo-locale en_XA (accented, bracketed English,
made by scripts/translations.py), which a browser gets only by naming it in
Accept-Language. What this guards against: words translated once and kept,
either by a module-level ``{% set %}`` in a template other templates import
(Jinja runs it once per process, in the first request's language) or by a
cache keyed without the language. Both are shown to fail the check below
(the negative controls patch a fresh app from outside). Both databases.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2 import ChoiceLoader, DictLoader, pass_eval_context

from app import i18n, templating
from app.auth.models import User
from app.extensions import db
from app.database import write_unit
from app.gatherings import seats
from app.gatherings.models import Gathering

from .gatherings_helpers import days_ahead, make_gathering, neighbourhood, seen, signed_in

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = "en-GB,en;q=0.9"
PSEUDO = "en-XA"


def _pseudo_words() -> dict:
    """msgid (or (singular, plural)) -> its pseudo-locale translation, from the catalog."""
    with (ROOT / "translations" / "en_XA" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return {m.id: m.string for m in read_po(po) if m.id}


WORDS = _pseudo_words()


def _texts(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


# Every letter the pseudo-locale writes and the English words never do.
_ENGLISH_LETTERS = {c for key in WORDS for text in _texts(key) for c in text}
PSEUDO_LETTERS = re.compile("[" + "".join(sorted({c for value in WORDS.values() for text in _texts(value) for c in text
                                                  if c.isalpha() and c not in _ENGLISH_LETTERS})) + "]")
# Each English text of the catalog, as the pieces between its placeholders that
# are long enough to mean something on their own.
ENGLISH_PIECES = sorted({piece.strip() for key in WORDS for text in _texts(key)
                         for piece in re.split(r"%\([^)]*\)[sd]|%s", text) if len(piece.strip()) >= 4})
_ENGLISH_PIECE = re.compile("|".join(r"(?<![\w])" + re.escape(p) + r"(?![\w])" for p in ENGLISH_PIECES))
_ATTRIBUTE_TEXT = re.compile(r'\b(?:content|aria-label|data-offline-message|placeholder|title|alt)="([^"]*)"')


def say(english: str, language: str, num: int | None = None, plural: str | None = None) -> str:
    """A word as the page should show it in that language."""
    if plural is not None:
        forms = (english, plural) if language == ENGLISH else WORDS[(english, plural)]
        return (forms[0] if num == 1 else forms[1]) % {"num": num}
    return english if language == ENGLISH else WORDS[english]


def page_words(response) -> str:
    """What a person reads or hears: the text, and the words in attributes."""
    page = response.get_data(as_text=True)
    return seen(page) + " " + " ".join(html.unescape(v) for v in _ATTRIBUTE_TEXT.findall(page))


def check_language(response, language: str, what: str, expected: list[str]) -> None:
    """The response is entirely in the language: the expected words are there,
    no word of the other language is, and caches are told it depends on the header."""
    assert "Accept-Language" in response.headers.get("Vary", ""), f"{what}: Vary says {response.headers.get('Vary')}"
    words = page_words(response)
    tag = "en" if language == ENGLISH else "en-XA"
    assert f'<html lang="{tag}">' in response.get_data(as_text=True), f"{what} in {language}: wrong lang attribute"
    for word in expected:
        assert word in words, f"{what} in {language}: {word!r} missing from: {words}"
    if language == ENGLISH:
        stray = PSEUDO_LETTERS.findall(words)
        assert not stray, f"{what} in English shows pseudo-locale text: {words}"
    else:
        stray = _ENGLISH_PIECE.findall(words)
        assert not stray, f"{what} in {language} shows English words {stray}: {words}"


@pytest.fixture
def street(app):
    """Elm Street: Ada is coming to the soup evening (8 seats); a picnic, not
    yet certain, whose one seat Bruno took."""
    places = neighbourhood(app, capacity=8)
    with app.app_context():
        ada, bruno = (db.session.get(User, places[n]) for n in ("Ada", "Bruno"))
        with write_unit():
            seats.answer(places["gathering"], ada, "going")
        circle = db.session.get(Gathering, places["gathering"]).circle
        picnic = make_gathering(circle, ada, title="Picnic", starts=days_ahead(12), capacity=1, status="tentative")
        with write_unit():
            seats.answer(picnic.id, bruno, "going")
    return places


def visits(app, street) -> list:
    """(what, client, path, status, expected words in a language) for the pages read."""
    anonymous = app.test_client()
    ada = signed_in(app, "Ada")
    frame = ["Skip to content"]
    return [
        ("welcome", anonymous, "/", 200, lambda lang: [say(w, lang) for w in frame + [
            "Live near each other, together", "Sign in"]]),
        ("sign in", anonymous, "/auth/login", 200, lambda lang: [say(w, lang) for w in frame + [
            "Forgot your password?", "Email", "Password"]]),
        ("gatherings", ada, f"/c/{street['slug']}/gatherings", 200, lambda lang: [say(w, lang) for w in frame + [
            "Overview", "you are coming", "not yet certain", "Full: new answers join the waitlist"]]
         + [say("%(num)s seat left", lang, 7, "%(num)s seats left")]),
        ("a gathering", ada, street["path"], 200, lambda lang: [say(w, lang) for w in frame + [
            "You are coming."]]),
        ("an error", ada, "/no/such/page", 404, lambda lang: [say(w, lang) for w in frame + ["Nothing here"]]),
    ]


def read_alternately(app, street, rounds: int = 3) -> None:
    """Every page in English and in the pseudo-locale, taking turns, starting
    with each language in turn."""
    pages = visits(app, street)
    for round_ in range(rounds):
        order = (ENGLISH, PSEUDO) if round_ % 2 == 0 else (PSEUDO, ENGLISH)
        for what, client, path, status, expected in pages:
            for language in order:
                response = client.get(path, headers={"Accept-Language": language})
                assert response.status_code == status, f"{what} in {language}: {response.status_code}"
                check_language(response, language, what, expected(language))


def test_pages_take_turns_in_two_languages(app, street):
    read_alternately(app, street)


# --- negative controls: the check above catches both ways words get stuck ------------------

def test_a_module_level_set_in_an_imported_macro_is_caught(make_app, street):
    buggy = make_app()
    source = (ROOT / "templates" / "gatherings" / "macros.html").read_text()
    assert "{{ _('you are coming') }}" in source
    source = "{% set coming = _('you are coming') %}\n" + source.replace("{{ _('you are coming') }}", "{{ coming }}")
    buggy.jinja_env.loader = ChoiceLoader([DictLoader({"gatherings/macros.html": source}), buggy.jinja_env.loader])
    with pytest.raises(AssertionError, match="gatherings in"):
        read_alternately(buggy, street, rounds=1)


def test_a_cache_keyed_without_the_language_is_caught(make_app, street):
    buggy = make_app()
    kept = {}

    @pass_eval_context
    def remembered(eval_ctx, string, **variables):
        if string not in kept:
            kept[string] = i18n.template_gettext(eval_ctx, string, **variables)
        return kept[string]

    buggy.jinja_env.globals["_"] = remembered
    with pytest.raises(AssertionError, match="welcome in"):
        read_alternately(buggy, street, rounds=1)


# --- choosing the language ----------------------------------------------------------------

@pytest.mark.parametrize(("header", "language"), [
    ("en-XA", "en_XA"), ("en-xa", "en_XA"), ("en_XA", "en_XA"), ("fr-FR, en-XA;q=0.5", "en_XA"),
    ("en-XA;q=0.5, en", "en"), ("en-US,en;q=0.9", "en"), ("de-DE", "de"), ("de-DE, en-XA;q=0.5", "de"),
    ("fr-FR", "en"), ("*", "en"), ("", "en"),
    ("en-XA;q=0", "en"), ("xx-YY, *;q=0.1", "en"),
])
def test_the_pseudo_locale_only_when_named(app, header, language):
    with app.test_request_context("/", headers={"Accept-Language": header} if header else {}):
        assert i18n.language() == language


def test_a_static_file_does_not_vary_on_language(client):
    page = client.get("/auth/login", headers={"Accept-Language": PSEUDO})
    css = re.search(r'href="(/static/app\.css\?v=[^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.get(css, headers={"Accept-Language": PSEUDO})
    assert response.status_code == 200
    assert "Accept-Language" not in response.headers.get("Vary", "")


def test_the_pseudo_locale_has_english_day_and_month_names(app):
    assert templating._names("en_XA") == templating._names("en")


def test_python_words_follow_the_request_language(app):
    """Words translated in Python (flash messages, forms' lazy labels) too."""
    with app.test_request_context("/", headers={"Accept-Language": PSEUDO}):
        assert i18n._("Sign in") == WORDS["Sign in"]
        assert i18n.ngettext("%(num)s seat left", "%(num)s seats left", 2) == WORDS[
            ("%(num)s seat left", "%(num)s seats left")][1] % {"num": 2}
        assert str(i18n._l("Sign in")) == WORDS["Sign in"]
    with app.test_request_context("/"):
        assert i18n._("Sign in") == "Sign in"
        assert str(i18n._l("Sign in")) == "Sign in"


# --- the page frame at two mount points -----------------------------------------------------

def test_the_frame_links_follow_the_mount_point(client):
    """frame() keeps its links per mount point (request.script_root): an app
    mounted at two paths links each page to its own."""
    for _ in range(2):
        for root in ("/one", "/two", ""):
            page = client.get("/auth/login", base_url=f"http://localhost{root}/").get_data(as_text=True)
            assert f'<link rel="stylesheet" href="{root}/static/app.css?v=' in page, root
            assert f'<link rel="manifest" href="{root}/manifest.webmanifest">' in page, root
            assert f'data-sw="{root}/sw.js"' in page, root


# --- the catalogs ---------------------------------------------------------------------------

def test_the_catalogs_have_every_word_of_the_code():
    """A word marked in the code but missing from translations/ would show in
    English in every language: run scripts/translations.py after changing words."""
    result = subprocess.run([sys.executable, "scripts/translations.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
