"""One way to translate, for Python and Jinja alike.

``_`` and ``ngettext`` translate now, in the request's language; ``_l`` waits
until the text is shown (form labels and other words defined at import);
``N_`` only marks a word for extraction where it is defined, and ``_`` of it
translates it where it is shown. Babel extracts all four
(``scripts/translations.py``).

Templates call the same ``_`` (templating installs it in Jinja), at render
time, inside the macro that shows the word: never at import, and never in a
module-level ``{% set %}`` of a template other templates import (Jinja runs
those once per process, in whatever language came first).

The catalogs are the ``.po`` files under ``translations/``, compiled in memory
the first time a language is used: there is no ``.mo`` to build or forget.
The request's language is the one a signed-in person chose on the account
page; otherwise (signed out, or following the browser) the one its
Accept-Language header prefers. A response that looked it up says so in ``Vary``.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, Response, has_request_context, request
from flask_babel import LazyString
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

CATALOGS = Path(__file__).resolve().parent.parent / "translations"
DEFAULT = "en"
# Accented, bracketed English ("[Ŝîĝñ îñ]"), made by scripts/translations.py:
# shows at a glance any word that escapes translation. Served only to a
# browser that names it in Accept-Language (Chrome's pseudo-locale code).
PSEUDO = "en_XA"

# The request's (translations, language), looked up once per request: a list
# page translates hundreds of times. A context variable, reset when the
# request ends, is the cheapest place to keep them (each worker thread has
# its own). Being set also means the response depends on Accept-Language.
_request_language: ContextVar[tuple | None] = ContextVar("request_language", default=None)


@lru_cache(maxsize=None)
def languages() -> tuple[str, ...]:
    """The languages there is a catalog for, English (the source) first."""
    found = sorted(p.parent.parent.name for p in CATALOGS.glob("*/LC_MESSAGES/messages.po"))
    return (DEFAULT, *[code for code in found if code != DEFAULT])


@lru_cache(maxsize=None)
def catalog(code: str) -> NullTranslations:
    """A language's translations, compiled from its .po file once per process."""
    path = CATALOGS / code / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        messages = read_po(po, locale=None if code == PSEUDO else code)
    compiled = io.BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return Translations(compiled)


def choose(accept) -> str:
    """The language of ours that an Accept-Language header prefers; English
    when it prefers none. The pseudo-locale only when the header names it.

    A language the browser names with a region ("de-DE") is ours in its plain
    form ("de"), at the quality the browser gave it: "de-DE, en;q=0.5" is
    German. (Werkzeug's best_match would take the exact "en" first.)"""
    offers = {_tag(code): code for code in languages() if code != PSEUDO}
    best, best_quality = DEFAULT, 0.0
    for value, quality in accept:  # highest quality first, as the header orders them
        if quality <= best_quality:
            continue
        tag = _tag(value)
        if tag == _tag(PSEUDO) and PSEUDO in languages():
            best, best_quality = PSEUDO, quality
        elif tag in offers or tag.split("-")[0] in offers:
            best, best_quality = offers.get(tag) or offers[tag.split("-")[0]], quality
    return best


def _tag(code: str) -> str:
    return code.replace("_", "-").lower()


def browser_language() -> str:
    """The language the request's browser prefers (Accept-Language)."""
    return choose(request.accept_languages)


def chosen_language(user) -> str | None:
    """The language a person chose on the account page; None while they
    follow the browser (or chose one we no longer have)."""
    try:
        if user is None or not getattr(user, "is_authenticated", False) or user.language_follows_browser:
            return None
        code = user.language
    except Exception:  # an error page after a failed unit: its session cannot load them now
        from sqlalchemy import inspect
        loaded = inspect(user).dict
        if loaded.get("language_follows_browser", True):
            return None
        code = loaded.get("language")
    return code if code in languages() else None


def _person() -> object | None:
    """The signed-in person of the request, if any (loading them once is
    Flask-Login's own work: the page needs them anyway)."""
    from flask_login import current_user
    try:
        return current_user._get_current_object()
    except Exception:  # no login manager (a bare app), or no user to load
        return None


def _language() -> tuple:
    found = _request_language.get()
    if found is None:
        if not has_request_context():
            return catalog(DEFAULT), DEFAULT
        # English while the person is looked up: loading them may say something.
        _request_language.set((catalog(DEFAULT), DEFAULT))
        code = chosen_language(_person()) or browser_language()
        found = (catalog(code), code)
        _request_language.set(found)
    return found


@contextmanager
def speaking(code: str | None):
    """Translate in ``code`` (a person's language) for the block: mail is
    rendered for its recipient, not for whoever caused it."""
    code = code if code in languages() else DEFAULT
    token = _request_language.set((catalog(code), code))
    try:
        from flask_babel import force_locale
        with force_locale(DEFAULT if code == PSEUDO else code):
            yield
    finally:
        _request_language.reset(token)


def language() -> str:
    """The request's language, as its catalog is named ("en", "en_XA")."""
    return _language()[1]


def language_tag() -> str:
    """The request's language as HTML's lang attribute spells it ("en-XA")."""
    return _language()[1].replace("_", "-")


def babel_locale() -> str:
    """For Flask-Babel (and Flask-WTF through it): the request's language if
    Babel's CLDR data knows it, else English (the pseudo-locale is English)."""
    code = language()
    return DEFAULT if code == PSEUDO else code


def _(string: str, **variables) -> str:
    text = _language()[0].ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return _language()[0].ungettext(singular, plural, num) % variables


def pgettext(context: str, string: str, **variables) -> str:
    text = _language()[0].upgettext(context, string)
    return text % variables if variables else text


def npgettext(context: str, singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return _language()[0].unpgettext(context, singular, plural, num) % variables


def _l(string: str, **variables) -> LazyString:
    return LazyString(_, string, **variables)


def N_(text: str) -> str:
    return text


# Jinja's side of the same functions, installed by init_app. They do what
# Jinja's "newstyle" wrappers do (the translation is trusted text; its
# placeholders take escaped values where the template escapes), at half the
# cost: those make three context calls per word, and a page has dozens.
@pass_eval_context
def template_gettext(eval_ctx: EvalContext, string: str, **variables) -> str:
    text = _language()[0].ugettext(string)
    if eval_ctx.autoescape:
        text = Markup(text)
    # Formatting with nothing to fill in changes only "%%": most words skip it.
    return text % variables if variables or "%" in text else text


@pass_eval_context
def template_ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    text = _language()[0].ungettext(singular, plural, num)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


@pass_eval_context
def template_pgettext(eval_ctx: EvalContext, context: str, string: str, **variables) -> str:
    variables.setdefault("context", context)
    text = _language()[0].upgettext(context, string)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


@pass_eval_context
def template_npgettext(eval_ctx: EvalContext, context: str, singular: str, plural: str, num: int,
                       **variables) -> str:
    variables.setdefault("context", context)
    variables.setdefault("num", num)
    text = _language()[0].unpgettext(context, singular, plural, num)
    return (Markup(text) if eval_ctx.autoescape else text) % variables


def _forget_language(_error=None) -> None:
    """When a request ends (or the person just chose another language): the
    next word looks the language up again."""
    _request_language.set(None)


forget_language = _forget_language


def _vary_on_language(response: Response) -> Response:
    # Only a response that translated something depends on the header (a
    # static file does not); caches must key on it.
    if _request_language.get() is not None:
        response.vary.add("Accept-Language")
    return response


def init_app(app: Flask) -> None:
    """The request's language for every response, and the same words in templates."""
    app.after_request(_vary_on_language)
    app.teardown_request(_forget_language)
    env = app.jinja_env
    env.add_extension("jinja2.ext.i18n")
    env.newstyle_gettext = True  # what {% trans %} blocks expect of the functions below
    env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext,
                       pgettext=template_pgettext, npgettext=template_npgettext)
