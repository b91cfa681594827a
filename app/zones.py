"""Time zones: the IANA names people choose from, and wall times made real."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from wtforms.validators import ValidationError

from .database import UTC
from .errors import RuleError
from .i18n import _, _l

_ZONES: list[str] = []


def zone_names() -> list[str]:
    if not _ZONES:
        _ZONES.extend(sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))))
        _ZONES.append("UTC")
    return _ZONES


def zone_choices() -> list[tuple[str, str]]:
    """For a select: an empty first choice, so nobody gets a zone by accident."""
    return [("", _l("Choose a time zone"))] + [(z, z.replace("_", " ")) for z in zone_names()]


def valid_time_zone(form, field):
    """A form validator: a zone from the list, or nothing."""
    if field.data and field.data not in zone_names():
        raise ValidationError(_l("We don't know that time zone. Pick one from the list."))


def zone(name: str) -> ZoneInfo:
    """:raise RuleError: for a name that is not a zone (on the field ``time_zone``)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleError(_("We don't know that time zone. Pick one from the list."), "time_zone")


def localize(local: dt.datetime, zone_name: str) -> tuple[dt.datetime, dt.datetime]:
    """The wall time as it really happens, and its UTC instant.

    A wall time that does not exist (the hour skipped when clocks go forward)
    moves forward by the gap, as RFC 5545 says; one that happens twice (clocks
    go back) is the first of the two.
    """
    tz = zone(zone_name)
    instant = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    return instant.astimezone(tz).replace(tzinfo=None), instant


def local_of(instant: dt.datetime, zone_name: str) -> dt.datetime:
    return instant.astimezone(zone(zone_name))


def today_in(circle) -> dt.date:
    """Today in the circle's time zone: loan days and review dates are local dates there."""
    return dt.datetime.now(zone(circle.time_zone)).date()
