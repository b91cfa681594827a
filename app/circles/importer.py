"""Taking in a circle's export (``flask circles import FILE``): the same
content, times, states and history, with new ids.

Everything is checked before anything is written: a zip that is not ours, of
a newer version, truncated, with paths that climb out, too large unpacked, a
slug that exists here, an export taken in before: refused with a clear message
(ImportRefused). Then one write unit puts it all in.

Nobody becomes a member without saying yes: each person the file names gets a
placeholder account (a name, no address, no password) that their records
point to; each member's place waits for them to claim it (``Place``), by a
link mailed to the address in the file, or handed over by the importer where
the member kept their address out of the export.
"""

from __future__ import annotations

import json
import posixpath
import zipfile
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import LargeBinary, insert, select

from ..areas import areas
from ..auth.models import User
from ..database import utcnow
from ..extensions import db
from ..i18n import _
from ..mail import queue_mail
from ..text import render_markdown
from ..tokens import new_token
from . import export
from .models import Circle, Place

# Unpacked, the whole file may be at most this (photos included); a zip that
# says it holds more, or turns out to, is refused (a "zip bomb").
MAX_UNPACKED = 2 * 1024**3
MAX_MEMBERS = 100_000  # files in the zip


class ImportRefused(Exception):
    """The file cannot be taken in; the message says why, for the person importing."""


@dataclass
class Plan:
    """A checked file, ready to write: records converted to the columns' types."""

    head: dict
    kinds: dict[str, list[dict]]
    people: list[dict]
    photos: dict[int, dict[str, bytes]] = field(default_factory=dict)


# --- checking -----------------------------------------------------------------------

def _safe_name(name: str) -> bool:
    """A path that stays inside the folder it is unpacked into."""
    if not name or name.startswith(("/", "\\")) or "\\" in name or ":" in name.split("/")[0]:
        return False
    normal = posixpath.normpath(name)
    return not (normal.startswith("../") or normal == ".." or "/../" in f"/{name}/")


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int]) -> bytes:
    """A member's bytes, never more than what is left of the budget, whatever its header says."""
    with archive.open(info) as f:
        data = f.read(budget[0] + 1)
    if len(data) > budget[0]:
        raise ImportRefused(_("The file unpacks to more than %(gb)s GB: that is not a circle's export.",
                              gb=MAX_UNPACKED // 1024**3))
    budget[0] -= len(data)
    return data


def check(path: str, *, slug: str | None = None) -> Plan:
    """Read and check the file; nothing is written.

    :raise ImportRefused: with the reason, for any file we will not take in.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise ImportRefused(_("This is not a zip file, or it is cut short: download the export again.")) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ImportRefused(_("The zip holds too many files to be a circle's export."))
        for info in infos:
            if not _safe_name(info.filename):
                raise ImportRefused(_("The zip holds a path that climbs out of its folder (%(name)s): refused.",
                                      name=info.filename[:200]))
        limit = current_app.config.get("IMPORT_MAX_UNPACKED", MAX_UNPACKED)
        if sum(info.file_size for info in infos) > limit:
            raise ImportRefused(_("The file unpacks to more than %(gb)s GB: that is not a circle's export.",
                                  gb=max(1, limit // 1024**3)))
        budget = [limit]
        try:
            names = {info.filename: info for info in infos}
            if "circle.json" not in names:
                raise ImportRefused(_("This zip is not a Communitarium circle's export (it has no circle.json)."))
            try:
                data = json.loads(_read(archive, names["circle.json"], budget))
            except (ValueError, UnicodeDecodeError):
                raise ImportRefused(_("circle.json is not readable JSON: the file is damaged.")) from None
            plan = _plan(data, slug)
            for photo in plan.kinds.get("photos", []):
                old = photo["id"]
                plan.photos[old] = {}
                for size in ("small", "large"):
                    info = names.get(f"photos/{old}-{size}.webp")
                    if info is None:
                        raise ImportRefused(_("A photo named in circle.json is missing from the zip."))
                    plan.photos[old][size] = _read(archive, info, budget)
        except (zipfile.BadZipFile, EOFError, zlib_error(), OSError):
            raise ImportRefused(_("This is not a zip file, or it is cut short: download the export again.")) \
                from None
    return plan


def zlib_error():
    import zlib
    return zlib.error


def _plan(data, slug: str | None) -> Plan:
    if not isinstance(data, dict) or data.get("format") != export.FORMAT:
        raise ImportRefused(_("This zip is not a Communitarium circle's export."))
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ImportRefused(_("This export has no version we know."))
    if version > export.VERSION:
        raise ImportRefused(_("This export is of format version %(theirs)s; this server reads up to version "
                              "%(ours)s. Upgrade Communitarium here first.", theirs=version, ours=export.VERSION))
    export_id = data.get("export_id")
    if not isinstance(export_id, str) or not 1 <= len(export_id) <= 64:
        raise ImportRefused(_("This export has no export_id: the file is damaged."))
    if db.session.scalar(select(Circle.id).where(Circle.imported_from == export_id)):
        raise ImportRefused(_("This export has been imported here already."))
    kinds: dict[str, list[dict]] = {}
    try:
        people = [_person(p) for p in _list(data, "people")]
        for kind in areas().export_kinds:
            columns = {c.name: c for c in export.exported_columns(kind)}
            kinds[kind.name] = [_record(r, columns, kind.name) for r in _list(data, kind.name)]
    except ValueError as error:
        raise ImportRefused(_("circle.json has a record we cannot read (%(what)s).", what=str(error)[:200])) \
            from None
    if len(kinds.get("circle", [])) != 1:
        raise ImportRefused(_("circle.json must describe exactly one circle."))
    circle = kinds["circle"][0]
    if slug:
        circle["slug"] = slug
    from .domain import SLUG_PATTERN
    if not isinstance(circle.get("slug"), str) or not SLUG_PATTERN.fullmatch(circle["slug"]):
        raise ImportRefused(_("The circle's address (slug) is not one we can use: choose one with --slug."))
    if db.session.scalar(select(Circle.id).where(Circle.slug == circle["slug"])):
        raise ImportRefused(_("A circle with the address %(slug)s exists here already: choose another with "
                              "--slug.", slug=circle["slug"]))
    return Plan(head={"export_id": export_id, "exported_at": data.get("exported_at")}, kinds=kinds, people=people)


def _list(data: dict, name: str) -> list:
    value = data.get(name, [])
    if not isinstance(value, list):
        raise ValueError(f"{name} is not a list")
    return value


def _person(record) -> dict:
    if not isinstance(record, dict) or not isinstance(record.get("id"), int):
        raise ValueError("a person without a number")
    name, email = record.get("name"), record.get("email")
    if name is not None and (not isinstance(name, str) or len(name) > 80):
        raise ValueError("a person's name")
    if email is not None and (not isinstance(email, str) or "@" not in email or len(email) > 320):
        raise ValueError("a person's address")
    return {"id": record["id"], "name": name, "former": bool(record.get("former")),
            "email": email.strip().lower() if email else None}


def _record(record, columns: dict, kind: str) -> dict:
    if not isinstance(record, dict):
        raise ValueError(f"{kind}: not a record")
    converted = {}
    for name, column in columns.items():
        if name in record:
            converted[name] = export.from_file(column, record[name])
    if "id" in columns and not isinstance(converted.get("id"), int):
        raise ValueError(f"{kind}: a record without its number")
    return converted


# --- writing -------------------------------------------------------------------------

def write(plan: Plan, now=None) -> tuple[Circle, list[tuple[str, str | None, str]]]:
    """Put a checked file in, in the caller's write unit. Returns the circle
    and (name, address or None, claim link) for each member's place."""
    now = now or utcnow()
    ids: dict[str, dict[int, int]] = {"users": {}}
    for person in plan.people:
        user = User(email=None, display_name=(person["name"] or "")[:80] or "?", password_hash=None,
                    deleted_at=now if person["former"] else None, time_zone=None)
        db.session.add(user)
        db.session.flush()
        ids["users"][person["id"]] = user.id
    links: list[tuple[str, str | None, str]] = []
    context = Importing(plan, ids, links)
    circle = None
    for kind in areas().export_kinds:
        for record in plan.kinds.get(kind.name, []):
            if kind.restore is not None:
                record = kind.restore(record, ids)
            if kind.load is not None:
                kind.load(record, context)
                continue
            _insert(kind, record, ids, plan)
        if kind.name == "circle":
            circle = db.session.get(Circle, next(iter(ids["circles"].values())))
            circle.imported_from = plan.head["export_id"]
            context.circle = circle
    db.session.flush()
    for handler in areas().imported:
        handler(circle, ids)
    from .domain import log
    log(circle, None, "circle_imported", exported_at=plan.head.get("exported_at"))
    return circle, links


@dataclass
class Importing:
    """What a kind's ``load`` sees: the plan, the id maps, the circle, and the claim links made so far."""

    plan: Plan
    ids: dict
    links: list
    circle: Circle | None = None

    def person(self, old_id: int) -> int:
        if old_id not in self.ids["users"]:
            raise ImportRefused(_("circle.json names someone who is not in its people."))
        return self.ids["users"][old_id]

    def email_of(self, old_id: int) -> str | None:
        return next((p["email"] for p in self.plan.people if p["id"] == old_id), None)


def _insert(kind, record: dict, ids: dict, plan: Plan) -> None:
    table = kind.table
    values = {}
    for column in table.columns:
        name = column.name
        if name == "id" or name not in record:
            continue
        value = record[name]
        if value is not None and column.foreign_keys:
            target = next(iter(column.foreign_keys)).column.table.name
            mapped = ids.get(target, {}).get(value)
            if mapped is None and not column.nullable:
                raise ImportRefused(_("circle.json has a %(kind)s record that refers to one not in the file.",
                                      kind=kind.name))
            value = mapped
        values[name] = value
    for name in list(values):
        if name.endswith("_source") and name[:-len("_source")] + "_html" in table.columns:
            # HTML is made here from the source, never taken from a file.
            values[name[:-len("_source")] + "_html"] = render_markdown(values[name] or "")
    if kind.name == "photos":
        for size in ("small", "large"):
            values[size] = plan.photos[record["id"]][size]
    for column in table.columns:
        if isinstance(column.type, LargeBinary) and column.name not in values:
            raise ImportRefused(_("A photo named in circle.json is missing from the zip."))
    if "id" in table.columns:
        new_id = db.session.execute(insert(table).values(values).returning(table.c.id)).scalar_one()
        ids.setdefault(table.name, {})[record["id"]] = new_id
    else:
        db.session.execute(insert(table).values(values))


def invite(place: Place, raw_token: str, circle: Circle) -> str:
    """The link that claims a place; mailed when the file gave an address."""
    from ..links import external_url

    link = external_url("circles.claim", token=raw_token)
    if place.email:
        queue_mail(place.email, _("Your place in %(circle)s is waiting", circle=circle.name),
                   "circles/mail/claim.txt", circle=circle, name=place.user.display_name, link=link)
    return link


def place_for_member(record: dict, context: Importing) -> None:
    """A member in the file becomes a place to claim (``load`` of members and places)."""
    user_id = context.person(record.get("user_id"))
    raw, hashed = new_token()
    place = Place(circle_id=context.circle.id, user_id=user_id, token_hash=hashed,
                  email=context.email_of(record.get("user_id")), role=record.get("role") or "member",
                  offers=record.get("offers") or "", joined_at=record.get("joined_at") or utcnow(),
                  share_email=bool(record.get("share_email")))
    db.session.add(place)
    db.session.flush()
    link = invite(place, raw, context.circle)
    context.links.append((place.user.display_name, place.email, link))
