"""One way to translate, for Python and Jinja alike.

``_`` and ``ngettext`` translate now, in the request's language; ``_l`` waits
until the text is shown (form labels and other words defined at import);
``N_`` only marks a word for extraction where it is defined, and ``_`` of it
translates it where it is shown. Babel extracts all four.

Templates call the same ``_`` (templating installs it in Jinja), at render
time, inside the macro that shows the word: never at import, and never in a
module-level ``{% set %}`` of a template other templates import (Jinja runs
those once per process, in whatever language came first).
"""

from __future__ import annotations

from contextvars import ContextVar

from flask import Flask, has_request_context
from flask_babel import LazyString, get_locale, get_translations
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

# The request's translations and locale, looked up once per request: Flask-Babel
# finds them through several context lookups on every call, and a list page
# translates hundreds of times. A context variable, reset when the request ends,
# is the cheapest place to keep them (each worker thread has its own).
_request_language: ContextVar[tuple | None] = ContextVar("request_language", default=None)


def _language() -> tuple:
    found = _request_language.get()
    if found is None:
        found = (get_translations(), str(get_locale() or "en"))
        if has_request_context():
            _request_language.set(found)
    return found


def language() -> str:
    """The request's language (its locale's name)."""
    return _language()[1]


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
    """When a request ends: the next one looks its language up again."""
    _request_language.set(None)


def init_app(app: Flask) -> None:
    """The request's language looked up once, and the same words in templates."""
    app.teardown_request(_forget_language)
    env = app.jinja_env
    env.add_extension("jinja2.ext.i18n")
    env.newstyle_gettext = True  # what {% trans %} blocks expect of the functions below
    env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext,
                       pgettext=template_pgettext, npgettext=template_npgettext)
