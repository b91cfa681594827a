"""What every template can use."""

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from flask import Flask, current_app, request, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from . import i18n
from .i18n import _, _language
from .qr import qr_svg
from .text import safe_html


@lru_cache(maxsize=16)
def _names(locale: str) -> tuple[dict, dict]:
    """Abbreviated weekday and month names of a locale, looked up once:
    Babel's pattern formatting costs more than the rest of a list row."""
    try:
        babel_locale = Locale.parse(locale)
    except UnknownLocaleError:  # the pseudo-locale: English with accents
        babel_locale = Locale.parse(i18n.DEFAULT)
    # Plain dicts: Babel's own lookups cost more per item than the rest of the formatting.
    return (dict(babel_locale.days["format"]["abbreviated"]), dict(babel_locale.months["format"]["abbreviated"]))


@lru_cache(maxsize=16)
def _wide_names(locale: str) -> tuple[dict, dict]:
    """Full weekday and month names of a locale ("Tuesday", "December")."""
    try:
        babel_locale = Locale.parse(locale)
    except UnknownLocaleError:
        babel_locale = Locale.parse(i18n.DEFAULT)
    return (dict(babel_locale.days["format"]["wide"]), dict(babel_locale.months["format"]["wide"]))


# The order and punctuation of a date, from the locale's CLDR data ("E d MMM"
# in British English, "E, d. MMM" in German), turned once into %-formats: Babel
# formatting each date costs more than the rest of a list row. English reads as
# en_GB does ("Thu 4 Dec"), as it always has here.
_PATTERN_LOCALES = {"en": "en_GB", i18n.PSEUDO: "en_GB"}


@lru_cache(maxsize=16)
def _patterns(locale: str) -> tuple[str, str]:
    """(short, long) date formats with %(E)s/%(EEEE)s, %(d)s, %(MMM)s/%(MMMM)s:
    "Thu 4 Dec" / "Thursday 4 December", "Do., 4. Dez." / "Donnerstag, 4. Dezember"."""
    from babel.dates import parse_pattern
    try:
        babel_locale = Locale.parse(_PATTERN_LOCALES.get(locale, locale))
    except UnknownLocaleError:
        babel_locale = Locale.parse("en_GB")
    short = babel_locale.datetime_skeletons["MMMEd"].pattern
    wide = short.replace("MMM", "MMMM").replace("E", "EEEE")
    return parse_pattern(short).format, parse_pattern(wide).format


def day_words(day: dt.date, with_year: bool | None = None) -> str:
    """A day in words people use: "Thu 4 Dec" ("Do., 4. Dez."), with the year
    when it is not this year's (or when asked)."""
    code = _language()[1]
    days, months = _names(code)
    text = _patterns(code)[0] % {"E": days[day.weekday()], "d": day.day, "MMM": months[day.month]}
    if with_year or (with_year is None and day.year != dt.date.today().year):
        text += f" {day.year}"
    return text


def weekday_name(weekday: int) -> str:
    return _wide_names(_language()[1])[0][weekday]


def date_tile(moment: dt.datetime) -> tuple[str, int, str]:
    """(weekday, day, month), abbreviated, for a list card's date tile."""
    days, months = _names(_language()[1])
    # A tile has no room for the abbreviation's dot ("Do." and "Dez." read "DO 4 DEZ").
    return days[moment.weekday()].rstrip("."), moment.day, months[moment.month].rstrip(".")


def day_heading(day: dt.date) -> str:
    """"Tuesday 1 December" (and the year when it is not this one): a list's date heading."""
    code = _language()[1]
    days, months = _wide_names(code)
    year = f" {day.year}" if day.year != dt.date.today().year else ""
    return _patterns(code)[1] % {"EEEE": days[day.weekday()], "d": day.day, "MMMM": months[day.month]} + year


def weekday_names() -> list[tuple[str, str]]:
    """(abbreviated, full) weekday names, Monday first: a calendar's column heads."""
    code = _language()[1]
    return [(_names(code)[0][i], _wide_names(code)[0][i]) for i in range(7)]


def month_heading(day: dt.date) -> str:
    return f"{_wide_names(_language()[1])[1][day.month]} {day.year}"


# The frame of every page (head, header, footer) links the same pages and files:
# seven url_for calls and five static URLs, built once per mount point (the only
# thing they depend on), which saves some 3% of every page's work (measured with
# callgrind). Its words are the template's own: _() in base.html.
_FRAME_LINKS = {"manifest": "pwa.manifest", "sw": "pwa.service_worker", "home": "home.index",
                "account": "auth.account", "logout": "auth.logout", "login": "auth.login",
                "register": "auth.register"}
_FRAME_FILES = {"icon": "icons/icon-192.png", "touch_icon": "icons/apple-touch-icon.png", "css": "app.css",
                "htmx": "vendor/htmx-2.0.11.min.js", "js": "app.js"}
_frames: dict[str, dict] = {}


def frame() -> dict:
    """{"links", "files"} of the page frame for the request's mount point
    (request.script_root): links and versioned static URLs."""
    from .assets import static_url

    found = _frames.get(request.script_root)
    if found is None:
        found = {"links": {k: url_for(endpoint) for k, endpoint in _FRAME_LINKS.items()},
                 "files": {k: static_url(name) for k, name in _FRAME_FILES.items()}}
        if not current_app.debug:
            _frames[request.script_root] = found
    return found


def _format(moment: dt.datetime, with_year: bool = True) -> str:
    """"Thu 4 Dec 2026, 18:30" ("Do., 4. Dez. 2026, 18:30") in the current locale's words."""
    return f"{day_words(moment, with_year=with_year)}, {moment:%H:%M}"


def localtime(value: dt.datetime | None, zone: str | None) -> str:
    """A moment in words people use, in the given zone: "Thu 4 Dec 2026, 18:30"."""
    if value is None:
        return ""
    return _format(value.astimezone(ZoneInfo(zone or "UTC")))


def when(starts_local: dt.datetime, ends_local: dt.datetime, zone: str, viewer_zone: str | None = None,
         now: dt.datetime | None = None, relative: bool = True) -> str:
    """"Thu 4 Dec 2026, 18:30–20:30 (Europe/London, in 3 days)": the zone named
    when it is not the viewer's own, and how soon it is, unless ``relative`` is
    off (mail, read days later, says only the date)."""
    text = _format(starts_local)
    if ends_local.date() == starts_local.date():
        text += "–" + ends_local.strftime("%H:%M")
    else:
        text += " – " + _format(ends_local, with_year=False)
    notes = []
    if viewer_zone and viewer_zone != zone:
        notes.append(zone.replace("_", " "))
    if relative:
        now = now or dt.datetime.now(dt.timezone.utc)
        days = (starts_local.date() - now.astimezone(ZoneInfo(zone)).date()).days
        if days == 0:
            notes.append(_("today"))
        elif days == 1:
            notes.append(_("tomorrow"))
        elif 1 < days <= 14:
            notes.append(_("in %(n)s days", n=days))
    return f"{text} ({', '.join(notes)})" if notes else text


def when_for(starts_local: dt.datetime, ends_local: dt.datetime, zone: str, reader_zone: str | None) -> str:
    """For mail, read far from the page: the time in the reader's own zone,
    and, when that is not where it happens, the time there with its zone
    ("Thu 4 Dec 2026, 13:30–15:30 your time (America/New York); 18:30–20:30 in
    Europe/London"). Wall times are made real as the zone's rules say (DST)."""
    from .zones import localize

    place = zone.replace("_", " ")
    if not reader_zone or reader_zone == zone:
        return f"{when(starts_local, ends_local, zone, relative=False)} ({place})"
    try:
        reader = ZoneInfo(reader_zone)
    except (KeyError, ValueError):
        return f"{when(starts_local, ends_local, zone, relative=False)} ({place})"
    starts = localize(starts_local, zone)[1].astimezone(reader).replace(tzinfo=None)
    ends = localize(ends_local, zone)[1].astimezone(reader).replace(tzinfo=None)
    there = _format(starts_local, with_year=False)
    there += ("–" + ends_local.strftime("%H:%M") if ends_local.date() == starts_local.date()
              else " – " + _format(ends_local, with_year=False))
    return _("%(yours)s your time (%(your_zone)s); %(there)s in %(zone)s",
             yours=when(starts, ends, reader_zone, relative=False), your_zone=reader_zone.replace("_", " "),
             there=there, zone=place)


def csrf_field() -> Markup:
    """The one way a form carries its CSRF token (one token per request)."""
    return Markup('<input type="hidden" name="csrf_token" value="%s">') % generate_csrf()


def init_app(app: Flask) -> None:
    """Call after Babel's init_app: this replaces the gettext it gave the templates."""
    i18n.init_app(app)
    app.jinja_env.globals["when"] = when
    app.jinja_env.globals["when_for"] = when_for
    app.jinja_env.globals["language_tag"] = i18n.language_tag
    app.jinja_env.globals["frame"] = frame
    app.jinja_env.globals["safe_html"] = safe_html
    app.jinja_env.globals["csrf_field"] = csrf_field
    app.jinja_env.globals["qr_svg"] = qr_svg
    app.jinja_env.globals["date_tile"] = date_tile
    app.jinja_env.globals["day_heading"] = day_heading
    app.jinja_env.globals["day_words"] = day_words
    app.jinja_env.globals["weekday_names"] = weekday_names
    app.jinja_env.globals["month_heading"] = month_heading
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
