"""German, the second language: complete, its placeholders and plural forms
right, its dates and numbers by Babel, chosen per person on the account page
(or by the browser's Accept-Language), in pages, mail and calendar feeds.

The catalog checks are functions run on the real files and, as negative
controls, on copies with one fault put in: a check that cannot fail proves
nothing. Every page of the demo in German within its budget is in
tests/budget (test_pages.py); German pages at 360 px in tests/browser.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from sqlalchemy import select

from app import i18n, templating
from app.auth.models import User
from app.database import write_unit
from app.extensions import db
from app.meals.split import format_amount

from .gatherings_helpers import answer, email, neighbourhood, seen, signed_in, subjects
from .helpers import PASSWORD, post

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "translations" / "messages.pot"
GERMAN = ROOT / "translations" / "de" / "LC_MESSAGES" / "messages.po"
DE = "de-DE,de;q=0.9,en;q=0.5"  # what a German browser sends
EN = "en-GB,en;q=0.9"


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=locale)


def _texts(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def untranslated(template: Path, translations: Path) -> list:
    """Every message of the template that has no translation (or a fuzzy one,
    which the app does not use, or a plural form left empty)."""
    catalog = _read(translations, "de")
    missing = []
    for message in _read(template):
        if not message.id:
            continue
        found = catalog.get(message.id, message.context)
        if found is None or found.fuzzy or not all(_texts(found.string)):
            missing.append(message.id)
    return missing


# A placeholder as Python's % formatting reads it: "%(name)s", "%(max)d", "%%".
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def placeholder_problems(translations: Path) -> list:
    """Translations whose placeholders differ from their English ones; and
    words that would not format (a stray "%" in a text that is formatted)."""
    problems = []
    for message in _read(translations, "de"):
        if not message.id:
            continue
        ids, strings = _texts(message.id), _texts(message.string)
        formatted = "python-format" in message.flags
        wanted = sorted(PLACEHOLDER.findall(ids[-1])) if formatted else []
        for string in strings:
            if not string:
                continue
            got = sorted(PLACEHOLDER.findall(string)) if formatted else sorted(
                p for p in PLACEHOLDER.findall(string) if p.startswith("%("))
            # A singular may leave out the number ("a day" for "%(num)s day"); the rest must match.
            if got != wanted and not (len(ids) == 2 and sorted(set(got)) <= sorted(set(wanted))):
                problems.append((message.id, string))
                continue
            # Python formats a word only when it fills something in; a template
            # (app/i18n.py) also when the word has a "%" in it.
            in_template = any(path.endswith((".html", ".txt")) for path, _line in message.locations)
            if formatted or (in_template and "%" in string):
                names = {name: 1 for name in re.findall(r"%\(([^)]*)\)", ids[-1])}
                try:
                    string % names
                except (TypeError, ValueError, KeyError):
                    problems.append((message.id, string))
    return problems


def _copy_with(tmp_path: Path, change) -> Path:
    """The German catalog with one change made, written where the test can read it."""
    catalog = _read(GERMAN, "de")
    change(catalog)
    path = tmp_path / "messages.po"
    with path.open("wb") as out:
        write_po(out, catalog)
    return path


# --- the catalog ------------------------------------------------------------------------------

def test_every_message_has_a_german_translation():
    assert untranslated(TEMPLATE, GERMAN) == []


def test_a_missing_translation_is_caught(tmp_path):
    """Negative controls: an empty, a fuzzy and an absent translation are each reported."""
    def blank(catalog):
        catalog["Sign in"].string = ""

    def fuzzy(catalog):
        catalog["Sign out"].flags.add("fuzzy")

    def absent(catalog):
        del catalog["Forgot your password?"]

    def one_plural_form(catalog):
        catalog[("%(num)s seat left", "%(num)s seats left")].string = ("noch %(num)s Platz frei", "")

    for change, msgid in ((blank, "Sign in"), (fuzzy, "Sign out"), (absent, "Forgot your password?"),
                          (one_plural_form, ("%(num)s seat left", "%(num)s seats left"))):
        assert untranslated(TEMPLATE, _copy_with(tmp_path, change)) == [msgid], change.__name__


def test_placeholders_match_the_english():
    assert placeholder_problems(GERMAN) == []


def test_a_wrong_placeholder_is_caught(tmp_path):
    def renamed(catalog):
        catalog["Hello, %(name)s"].string = "Hallo, %(nom)s"

    def dropped(catalog):
        catalog["%(name)s invited you."].string = "Du bist eingeladen."

    def stray_percent(catalog):  # a template's word: it is formatted, and "% d" would take a number
        catalog["Markdown works."].string = "Markdown geht zu 100 % durch."

    for change in (renamed, dropped, stray_percent):
        assert len(placeholder_problems(_copy_with(tmp_path, change))) == 1, change.__name__


def test_german_plural_forms():
    catalog = _read(GERMAN, "de")
    assert catalog.num_plurals == 2 and catalog.plural_expr == "(n != 1)"
    for message in catalog:
        if message.pluralizable:
            assert len(message.string) == 2 and all(message.string), message.id


def test_the_app_picks_the_right_plural_form(app):
    with app.test_request_context("/", headers={"Accept-Language": DE}):
        assert i18n.ngettext("%(num)s seat left", "%(num)s seats left", 1) == "noch 1 Platz frei"
        assert i18n.ngettext("%(num)s seat left", "%(num)s seats left", 2) == "noch 2 Plätze frei"
        assert i18n.ngettext("%(num)s seat left", "%(num)s seats left", 0) == "noch 0 Plätze frei"


# --- dates and numbers by Babel ---------------------------------------------------------------

def test_dates_and_numbers_in_german_words(app):
    moment = dt.datetime(2030, 12, 5, 18, 30)  # a Thursday
    with app.test_request_context("/", headers={"Accept-Language": DE}):
        assert templating.localtime(moment.replace(tzinfo=dt.timezone.utc), "UTC") == "Do., 5. Dez. 2030, 18:30"
        assert templating.day_heading(dt.date(2030, 12, 3)) == "Dienstag, 3. Dezember 2030"
        assert templating.date_tile(moment) == ("Do", 5, "Dez")
        assert templating.weekday_names()[0] == ("Mo.", "Montag")
        assert templating.when(moment, moment + dt.timedelta(hours=2), "Europe/Berlin",
                               now=dt.datetime(2030, 12, 2, tzinfo=dt.timezone.utc)) == (
            "Do., 5. Dez. 2030, 18:30–20:30 (in 3 Tagen)")
        assert format_amount(123450, "EUR", i18n.babel_locale()) == "1.234,50\xa0€"
    with app.test_request_context("/", headers={"Accept-Language": EN}):
        assert templating.localtime(moment.replace(tzinfo=dt.timezone.utc), "UTC") == "Thu 5 Dec 2030, 18:30"
        assert templating.day_heading(dt.date(2030, 12, 3)) == "Tuesday 3 December 2030"
        assert format_amount(123450, "EUR", i18n.babel_locale()) == "€1,234.50"


# --- pages, and who chooses their language ----------------------------------------------------

def _language_of(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


def test_before_sign_in_the_browser_chooses(client):
    for header, tag, words in ((DE, "de", "Passwort vergessen?"), (EN, "en", "Forgot your password?"),
                               ("fr-FR,fr;q=0.9", "en", "Forgot your password?"),
                               ("de-AT", "de", "Passwort vergessen?")):
        response = client.get("/auth/login", headers={"Accept-Language": header})
        assert _language_of(response) == tag and words in seen(response), header
        assert "Accept-Language" in response.headers["Vary"]


def _person(app, name: str) -> User:
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email(name)))


def test_the_account_page_chooses_for_pages_and_mail(app):
    ids = neighbourhood(app, capacity=8)
    bruno = signed_in(app, "Bruno")
    # Following the browser (the default): pages in whatever it asks for.
    assert _language_of(bruno.get("/", headers={"Accept-Language": DE})) == "de"
    assert _language_of(bruno.get("/", headers={"Accept-Language": EN})) == "en"
    page = seen(bruno.get("/auth/account", headers={"Accept-Language": EN}))
    assert "Follow my browser (now English)" in page and "Deutsch" in page

    # Choosing German: every page in German, whatever the browser says; mail too.
    response = post(bruno, "/auth/account/language", {"language": "de"}, headers={"Accept-Language": EN})
    assert response.status_code == 303
    page = bruno.get("/auth/account", headers={"Accept-Language": EN})
    assert _language_of(page) == "de" and "Seiten und Mails kommen jetzt auf Deutsch." in seen(page)
    assert _language_of(bruno.get(ids["path"], headers={"Accept-Language": EN})) == "de"
    chosen = _person(app, "Bruno")
    assert (chosen.language, chosen.language_follows_browser) == ("de", False)

    # Back to following the browser: mail in the language it asks for now.
    response = post(bruno, "/auth/account/language", {"language": "browser"}, headers={"Accept-Language": EN})
    assert response.status_code == 303
    assert _language_of(bruno.get("/", headers={"Accept-Language": EN})) == "en"
    assert _language_of(bruno.get("/", headers={"Accept-Language": DE})) == "de"
    following = _person(app, "Bruno")
    assert (following.language, following.language_follows_browser) == ("en", True)

    # Nothing else is taken; other people's pages are their own.
    assert post(bruno, "/auth/account/language", {"language": "en_XA"}).status_code == 422
    assert post(bruno, "/auth/account/language", {"language": ""}).status_code == 422
    assert _language_of(signed_in(app, "Ada").get("/", headers={"Accept-Language": EN})) == "en"


def test_following_the_browser_takes_its_language_at_sign_in(app):
    neighbourhood(app, capacity=8)
    client = app.test_client()
    response = post(client, "/auth/login", {"email": email("Chiara"), "password": PASSWORD},
                    headers={"Accept-Language": DE})
    assert response.status_code == 303
    assert _person(app, "Chiara").language == "de"


# --- mail and calendar --------------------------------------------------------------------------

def _choose_german(app, name: str) -> None:
    with app.app_context():
        with write_unit():
            user = db.session.scalar(select(User).where(User.email == email(name)))
            user.language, user.language_follows_browser = "de", False


def test_mail_in_german(app, mailbox):
    """A notice to a German reader, whoever causes it; and an account mail
    asked for from a German browser."""
    ids = neighbourhood(app, capacity=2)  # Ada, the host, has one seat
    _choose_german(app, "Chiara")
    answer(signed_in(app, "Bruno"), ids["path"], "going")
    answer(signed_in(app, "Chiara"), ids["path"], "going")  # waits
    answer(signed_in(app, "Bruno"), ids["path"], "cant", headers={"Accept-Language": EN})  # Chiara gets the seat
    assert subjects(mailbox, "Chiara") == ["Soup evening: ein Platz für dich"]
    mail = mailbox.last(email("Chiara")).get_content()
    assert "Hallo Chiara," in mail and "Bei „Soup evening“ ist ein Platz frei, und er gehört dir." in mail
    assert re.search(r"Wann: (Mo|Di|Mi|Do|Fr|Sa|So)\., \d+\. \w+\.? \d{4}, 18:30", mail), mail

    client = app.test_client()
    response = post(client, "/auth/reset", {"email": email("Dmitri")}, headers={"Accept-Language": DE})
    assert response.status_code in (200, 303)
    reset = mailbox.last(email("Dmitri"))
    assert reset["Subject"] == "Passwort zurücksetzen"
    assert "Um ein neues Passwort für Communitarium zu wählen, öffne diesen Link:" in reset.get_content()


def test_the_calendar_feed_speaks_its_owners_language(app):
    ids = neighbourhood(app, capacity=8)
    _choose_german(app, "Bruno")
    bruno = signed_in(app, "Bruno")
    answer(bruno, ids["path"], "going")
    page = bruno.get(f"/c/{ids['slug']}/calendar").get_data(as_text=True)
    if 'id="feed-mine"' not in page:
        assert post(bruno, f"/c/{ids['slug']}/calendar", {"which": "mine"}).status_code == 303
        page = bruno.get(f"/c/{ids['slug']}/calendar").get_data(as_text=True)
    path = re.search(r'id="feed-mine"[^>]*value="[a-z]+://[^/]+(/feeds/[^"]+\.ics)"', page).group(1)
    # A calendar app asks without a language, or in its own: the feed is Bruno's.
    for headers in ({}, {"Accept-Language": EN}):
        body = app.test_client().get(path, headers=headers).get_data(as_text=True)
        assert "X-WR-CALNAME:Meine Treffen" in body and "SUMMARY:Soup evening" in body


# --- keeping German complete as words change ---------------------------------------------------

def test_new_words_come_in_untranslated_and_fragments_fill_them(tmp_path):
    """scripts/translations.py brings the German catalog up to date with the
    template (a new word arrives untranslated, so the completeness check fails
    until someone translates it), and --merge takes translations from a
    fragment (.po) such as the other areas' helpers write."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("translations_script", ROOT / "scripts" / "translations.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    template = _read(TEMPLATE)
    template.add("A brand-new word", locations=[("templates/new.html", None)])
    template.add(("%(num)s new thing", "%(num)s new things"), locations=[("app/new.py", None)], flags=["python-format"])
    with (tmp_path / "messages.pot").open("wb") as out:
        write_po(out, template)
    catalog = tmp_path / "messages.po"
    catalog.write_bytes(script.updated(GERMAN, (tmp_path / "messages.pot").read_bytes()))
    assert untranslated(tmp_path / "messages.pot", catalog) == [
        "A brand-new word", ("%(num)s new thing", "%(num)s new things")]

    fragment = tmp_path / "de-new.po"
    fragment.write_text('msgid "A brand-new word"\nmsgstr "Ein brandneues Wort"\n\n'
                        'msgid "%(num)s new thing"\nmsgid_plural "%(num)s new things"\n'
                        'msgstr[0] "%(num)s neues Ding"\nmsgstr[1] "%(num)s neue Dinge"\n\n'
                        'msgid "Not a word of ours"\nmsgstr "Kein Wort von uns"\n', encoding="utf-8")
    taken, unknown = script.merge_into(catalog, "de", [fragment])
    assert (taken, unknown) == (2, ["Not a word of ours"])
    assert untranslated(tmp_path / "messages.pot", catalog) == []
    assert placeholder_problems(catalog) == []
    assert _read(catalog, "de")["Sign in"].string == "Anmelden"  # the rest kept
