"""One way to translate, for Python and Jinja alike.

``_`` and ``ngettext`` translate now, in the request's language; ``_l`` waits
until the text is shown (form labels and other words defined at import);
``N_`` only marks a word for extraction where it is defined, and ``_`` of it
translates it where it is shown. Babel extracts all four.
"""

from __future__ import annotations

from contextvars import ContextVar

from flask import has_request_context
from flask_babel import LazyString, get_locale, get_translations

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


def forget_language(_error=None) -> None:
    """Called when a request ends: the next one looks its language up again."""
    _request_language.set(None)


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
