"""A person's own data, as one JSON file from the account page: the
portability the GDPR asks for (Article 20). Each area adds its part
(``areas.personal``); what is here is this person's, and only theirs."""

from __future__ import annotations

import datetime as dt
import json
from typing import Iterable, Iterator

from ..areas import areas
from ..database import utcnow
from .models import User

FORMAT = "communitarium-person"
VERSION = 1


def plain(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def rows_as_records(rows: Iterable) -> list[dict]:
    """Result rows (named columns) as JSON-ready records."""
    return [{key: plain(value) for key, value in row._mapping.items()} for row in rows]


def account(user: User) -> list[dict]:
    return [{"name": user.display_name, "email": user.email, "time_zone": user.time_zone,
             "language": user.language, "created_at": plain(user.created_at),
             "email_verified_at": plain(user.email_verified_at)}]


def document(user: User) -> Iterator[str]:
    """The file, part by part."""
    yield json.dumps({"format": FORMAT, "version": VERSION,
                      "exported_at": plain(utcnow().replace(microsecond=0))})[:-1]
    for kind in areas().personal_kinds:
        yield f",\n{json.dumps(kind.name)}: {json.dumps(kind.rows(user), ensure_ascii=False, indent=1)}"
    yield "\n}\n"


def file_name(user: User) -> str:
    return f"communitarium-my-data-{utcnow():%Y-%m-%d}.json"
