"""What every template can use."""

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from flask import Flask, current_app, request, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from . import i18n
from .i18n import N_, _, _language, forget_language
from .text import safe_html


@lru_cache(maxsize=16)
def _names(locale: str) -> tuple[dict, dict]:
    """Abbreviated weekday and month names of a locale, looked up once:
    Babel's pattern formatting costs more than the rest of a list row."""
    babel_locale = Locale.parse(locale)
    # Plain dicts: Babel's own lookups cost more per item than the rest of the formatting.
    return (dict(babel_locale.days["format"]["abbreviated"]), dict(babel_locale.months["format"]["abbreviated"]))


_word_tables: dict[str, dict[str, str]] = {}
_translated_tables: dict[tuple[str, str], dict[str, str]] = {}


def word_table(name: str, entries: dict[str, str]) -> None:
    """Register words a list uses on every row (states, field names), marked with N_."""
    _word_tables[name] = entries


def words(name: str) -> dict[str, str]:
    """A registered table in the request's language, translated once per language.
    Templates use it instead of module-level ``set``s in imported macros, which
    Jinja evaluates once per process, in whatever language came first."""
    translations, locale = _language()
    key = (locale, name)
    table = _translated_tables.get(key)
    if table is None:
        table = _translated_tables[key] = {k: translations.ugettext(v) if v else ""
                                           for k, v in _word_tables[name].items()}
    return table


# The frame of every page (head, header, footer): the same links and words on
# every page, built once per mount point and language instead of some twenty
# template calls per page.
word_table("frame", {
    "description": N_("Communitarium: gatherings, shared meals and a library of things for circles of neighbours."),
    "offline": N_("We could not reach Communitarium. Check your connection and try again."),
    "skip": N_("Skip to content"), "main": N_("Main"), "home": N_("Home"), "account": N_("Account"),
    "sign_out": N_("Sign out"), "sign_in": N_("Sign in"), "join": N_("Join"),
    "footer": N_("Communitarium is free software for circles of neighbours. No ads, no tracking."),
    "install": N_("Install Communitarium on this device"),
})
_FRAME_LINKS = {"manifest": "pwa.manifest", "sw": "pwa.service_worker", "home": "home.index",
                "account": "auth.account", "logout": "auth.logout", "login": "auth.login",
                "register": "auth.register"}
_FRAME_FILES = {"icon": "icons/icon-192.png", "touch_icon": "icons/apple-touch-icon.png", "css": "app.css",
                "htmx": "vendor/htmx-2.0.11.min.js", "js": "app.js"}
_frames: dict[str, dict] = {}


def frame() -> dict:
    """{"words", "links", "files"} of the page frame: words in the request's language,
    links and versioned static URLs built once per mount point."""
    from .assets import static_url

    found = _frames.get(request.script_root)
    if found is None:
        found = {"links": {k: url_for(endpoint) for k, endpoint in _FRAME_LINKS.items()},
                 "files": {k: static_url(name) for k, name in _FRAME_FILES.items()}}
        if not current_app.debug:
            _frames[request.script_root] = found
    return {**found, "words": words("frame")}


def _format(moment: dt.datetime, with_year: bool = True) -> str:
    """"Thu 4 Dec 2026, 18:30" in the current locale's words."""
    days, months = _names(_language()[1])
    year = f" {moment.year}" if with_year else ""
    return f"{days[moment.weekday()]} {moment.day} {months[moment.month]}{year}, {moment:%H:%M}"


def localtime(value: dt.datetime | None, zone: str | None) -> str:
    """A moment in words people use, in the given zone: "Thu 4 Dec 2026, 18:30"."""
    if value is None:
        return ""
    return _format(value.astimezone(ZoneInfo(zone or "UTC")))


def when(starts_local: dt.datetime, ends_local: dt.datetime, zone: str, viewer_zone: str | None = None,
         now: dt.datetime | None = None) -> str:
    """"Thu 4 Dec 2026, 18:30–20:30 (in 3 days)", with the zone named when it is
    not the viewer's own."""
    text = _format(starts_local)
    if ends_local.date() == starts_local.date():
        text += "–" + ends_local.strftime("%H:%M")
    else:
        text += " – " + _format(ends_local, with_year=False)
    if viewer_zone and viewer_zone != zone:
        text += f" ({zone.replace('_', ' ')})"
    now = now or dt.datetime.now(dt.timezone.utc)
    days = (starts_local.date() - now.astimezone(ZoneInfo(zone)).date()).days
    if days == 0:
        text += " " + _("(today)")
    elif days == 1:
        text += " " + _("(tomorrow)")
    elif 1 < days <= 14:
        text += " " + _("(in %(n)s days)", n=days)
    return text


def csrf_field() -> Markup:
    """The one way a form carries its CSRF token (one token per request)."""
    return Markup('<input type="hidden" name="csrf_token" value="%s">') % generate_csrf()


def init_app(app: Flask) -> None:
    """Call after Babel's init_app: this replaces the gettext it gave the templates."""
    app.teardown_request(forget_language)
    app.jinja_env.install_gettext_callables(
        gettext=i18n._, ngettext=i18n.ngettext, pgettext=i18n.pgettext, npgettext=i18n.npgettext,
        newstyle=True)
    app.jinja_env.globals["when"] = when
    app.jinja_env.globals["words"] = words
    app.jinja_env.globals["frame"] = frame
    app.jinja_env.globals["safe_html"] = safe_html
    app.jinja_env.globals["csrf_field"] = csrf_field
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
