"""A circle's export: one zip, streamed, in open formats (docs/export-format.md).

Each area registers the kinds of record it keeps (``areas.export``) or says
why a table never leaves (``areas.keep_back``); this module only walks the
registry. The zip is written as it is sent: ``circle.json`` (everything,
versioned), a CSV per kind, and what areas add as files (the .ics of the
gatherings, photos). Every kind is read in batches, so memory stays flat
however old and large the circle is.

Personal data stays personal: people leave as names; an address only if that
member agreed (``Membership.share_email``); dietary needs and who borrowed
what never leave here (they are in each person's own export).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
import zipfile
from typing import Iterable, Iterator

from sqlalchemy import JSON, Date, DateTime, LargeBinary, select

from ..areas import ExportKind, areas
from ..auth.models import User
from ..database import utcnow
from ..extensions import db
from .models import Circle, Membership, Place

FORMAT = "communitarium-circle"
VERSION = 1
BATCH = 1000  # rows read at a time
CHUNK = 64 * 1024  # bytes handed to the response at a time


# --- values in the file's words ---------------------------------------------------

def person_columns(table) -> set[str]:
    """The columns of ``table`` that name a person (a foreign key to users)."""
    return {c.name for c in table.columns if any(fk.column.table.name == "users" for fk in c.foreign_keys)}


def exported_columns(kind: ExportKind) -> list:
    """The columns of a kind that leave, in table order: all but the omitted
    ones and the binary ones (those are files of their own)."""
    return [c for c in kind.table.columns if c.name not in kind.omit and not isinstance(c.type, LargeBinary)]


def to_file(value):
    """A database value as JSON: times in ISO 8601 (UTC ones with +00:00,
    wall times without a zone), everything else as it is."""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def from_file(column, value):
    """A value from the file as the column takes it; ValueError if it cannot be."""
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, DateTime) or getattr(kind, "impl", None).__class__ is DateTime:
        if not isinstance(value, str):
            raise ValueError(f"{column.name}: not a time")
        parsed = dt.datetime.fromisoformat(value)
        timezone = getattr(kind, "impl", kind).timezone
        if timezone and parsed.tzinfo is None:
            raise ValueError(f"{column.name}: a UTC time without its zone")
        return parsed.astimezone(dt.timezone.utc) if timezone else parsed.replace(tzinfo=None)
    if isinstance(kind, Date):
        if not isinstance(value, str):
            raise ValueError(f"{column.name}: not a date")
        return dt.date.fromisoformat(value)
    if isinstance(kind, JSON):
        return value
    python_type = kind.python_type
    if python_type is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{column.name}: not true or false")
        return value
    if python_type is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{column.name}: not a whole number")
        return value
    if python_type is str:
        if not isinstance(value, str):
            raise ValueError(f"{column.name}: not text")
        length = getattr(kind, "length", None)
        if length is not None and len(value) > length:
            raise ValueError(f"{column.name}: longer than {length} characters")
        return value
    return value


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(to_file(value))


# --- reading a circle, kind by kind -------------------------------------------------

def records(kind: ExportKind, circle_id: int, columns: list) -> Iterator[dict]:
    """The kind's rows of this circle as records, read in batches."""
    statement = kind.rows(circle_id).with_only_columns(*columns).order_by(*kind.table.primary_key.columns)
    result = db.session.execute(statement.execution_options(yield_per=BATCH))
    names = [c.name for c in columns]
    for row in result:
        yield {name: to_file(value) for name, value in zip(names, row)}


class _People:
    """Everyone a circle's records name, gathered while they are written."""

    def __init__(self):
        self.ids: set[int] = set()

    def note(self, record: dict, columns: set[str]) -> None:
        for name in columns:
            if record.get(name) is not None:
                self.ids.add(record[name])

    def records(self, circle_id: int) -> Iterator[dict]:
        """A name each; an address only for a member who agreed to it."""
        ordered = sorted(self.ids)
        for start in range(0, len(ordered), BATCH):
            batch = ordered[start:start + BATCH]
            rows = db.session.execute(
                select(User.id, User.display_name, User.email, User.deleted_at, Membership.share_email,
                       Place.email, Place.share_email)
                .outerjoin(Membership, (Membership.user_id == User.id) & (Membership.circle_id == circle_id))
                .outerjoin(Place, (Place.user_id == User.id) & (Place.circle_id == circle_id))
                .where(User.id.in_(batch)).order_by(User.id))
            for user_id, name, email, deleted_at, share_email, place_email, place_shares in rows:
                former = deleted_at is not None
                # A place not yet claimed keeps the address its member let go along.
                address = email if share_email else place_email if place_shares else None
                yield {"id": user_id, "name": None if former else name, "former": former,
                       "email": None if former else address}


# --- the zip, as it is written ---------------------------------------------------------

class _Pipe:
    """A write-only file for ZipFile: the response takes its bytes as they come."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return data


def _json_text(circle: Circle, people: _People) -> Iterator[str]:
    head = {"format": FORMAT, "version": VERSION, "exported_at": to_file(utcnow().replace(microsecond=0)),
            # Each export's own: an import refuses one it has taken in before.
            "export_id": uuid.uuid4().hex}
    yield "{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in head.items())
    for kind in areas().export_kinds:
        columns = exported_columns(kind)
        named = person_columns(kind.table) & {c.name for c in columns}
        yield f",\n{json.dumps(kind.name)}: ["
        first = True
        for record in records(kind, circle.id, columns):
            people.note(record, named)
            yield ("\n" if first else ",\n") + json.dumps(record, ensure_ascii=False)
            first = False
        yield "\n]"
    yield ',\n"people": ['
    first = True
    for record in people.records(circle.id):
        yield ("\n" if first else ",\n") + json.dumps(record, ensure_ascii=False)
        first = False
    yield "\n]\n}\n"


def _csv_text(kind: ExportKind, circle_id: int) -> Iterator[str]:
    columns = exported_columns(kind)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.name for c in columns])
    for record in records(kind, circle_id, columns):
        writer.writerow([csv_cell(value) for value in record.values()])
        if buffer.tell() > CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _encoded(texts: Iterable[str]) -> Iterator[bytes]:
    for text in texts:
        yield text.encode()


def files(circle: Circle) -> Iterator[tuple[str, Iterable[bytes]]]:
    """(path in the zip, its bytes as they come), in order."""
    people = _People()
    yield "circle.json", _encoded(_json_text(circle, people))
    for kind in areas().export_kinds:
        yield f"csv/{kind.name}.csv", _encoded(_csv_text(kind, circle.id))
    for write in areas().export_files:
        yield from write(circle)
    yield "README.txt", [README.encode()]


README = f"""This is the export of a Communitarium circle ({FORMAT}, version {VERSION}).

circle.json holds everything: each kind of record is a list, and records
refer to each other by the numbers in their "id" fields; people are named in
"people" at the end. The csv folder holds the same records, a file per kind,
for spreadsheets. gatherings.ics is the calendar of the circle's gatherings.

The format is described in docs/export-format.md of Communitarium's source.
Another Communitarium server takes it in with: flask circles import FILE
"""


def stream(circle_id: int) -> Iterator[bytes]:
    """The zip of a circle, in pieces of about CHUNK bytes, read in one
    snapshot where the database offers it (PostgreSQL's repeatable read)."""
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    circle = db.session.get(Circle, circle_id)
    pipe = _Pipe()
    # Deflate level 6: zlib's balance of speed and size.
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path, chunks in files(circle):
            with archive.open(path, "w", force_zip64=True) as member:
                for chunk in chunks:
                    member.write(chunk)
                    if pipe.size >= CHUNK:
                        yield pipe.take()
            if pipe.size >= CHUNK:
                yield pipe.take()
    yield pipe.take()
    db.session.rollback()


def file_name(circle: Circle) -> str:
    return f"{circle.slug}-{utcnow():%Y-%m-%d}.zip"


def uncovered(registry) -> set[str]:
    """Tables no area exports or keeps back: a new area that forgot its part."""
    covered = {kind.table.name for kind in registry.export_kinds} | set(registry.kept_back)
    return {table.name for table in db.metadata.sorted_tables} - covered
