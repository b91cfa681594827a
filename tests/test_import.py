"""``flask circles import``: the demo circles go SQLite to PostgreSQL and back
(or the other way on a PostgreSQL run) and come out the same; everyone is
invited to claim their place; bad files are refused before anything is written."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile

import pytest
from sqlalchemy import func, select, text

from app import create_app
from app.auth.models import User
from app.circles import export as circle_export
from app.circles.models import Circle, LogEntry, Membership, Place
from app.extensions import db
from app.gatherings.models import Answer

from .conftest import _create_database, _drop_database
from .helpers import cheap_config, login, make_user, post, text_of
from .test_export import seeded

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def exported(app, slug: str) -> bytes:
    with app.test_request_context():
        circle_id = db.session.scalar(select(Circle.id).where(Circle.slug == slug))
        data = b"".join(circle_export.stream(circle_id))
        db.session.remove()
    return data


def import_file(app, data: bytes, tmp_path, *args) -> object:
    path = tmp_path / f"import-{len(list(tmp_path.iterdir()))}.zip"
    path.write_bytes(data)
    result = app.test_cli_runner().invoke(args=["circles", "import", str(path), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def counts(app) -> dict:
    with app.app_context():
        result = {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}
        db.session.remove()
        return result


@pytest.fixture
def other_kind(mailbox, tmp_path_factory, database_factory):
    """An empty database of the other kind than this run's, with its app."""
    made = []

    def make():
        if os.environ.get("TEST_DATABASE_URL"):
            url = f"sqlite:///{tmp_path_factory.mktemp('other') / 'other.db'}"
        else:
            url = _create_database(POSTGRES, "_other")
            made.append(url)
        other = create_app(cheap_config(url, mailbox, tmp_path_factory.mktemp("other-instance")))
        with other.app_context():
            db.create_all()
        return other

    yield make
    for url in made:
        _drop_database(url)


def dialect(app) -> str:
    with app.app_context():
        return db.engine.dialect.name


def fresh_app(database_factory, mailbox, tmp_path_factory):
    app = create_app(cheap_config(database_factory("_fresh"), mailbox, tmp_path_factory.mktemp("fresh")))
    with app.app_context():
        db.create_all()
    return app


def normalized(archive_bytes: bytes, registry) -> dict:
    """An export with its numbers made relative (the n-th record of a kind),
    and what an import changes on purpose left out."""
    archive = zipfile.ZipFile(io.BytesIO(archive_bytes))
    data = json.loads(archive.read("circle.json"))
    tables = {kind.table.name: kind.name for kind in registry.export_kinds}
    ordinal = {kind.name: {r["id"]: i for i, r in enumerate(data[kind.name]) if "id" in r}
               for kind in registry.export_kinds}
    people = {p["id"]: i for i, p in enumerate(data["people"])}
    out = {"people": [{k: v for k, v in p.items() if k != "id"} for p in data["people"]]}
    for kind in registry.export_kinds:
        records = []
        for record in data[kind.name]:
            if kind.name == "log" and record["action"] in ("circle_imported",):
                continue
            row = {}
            for column in kind.table.columns:
                name = column.name
                if name not in record or name in ("id", "circle_id", "uid"):
                    continue
                value = record[name]
                if value is not None and column.foreign_keys:
                    target = next(iter(column.foreign_keys)).column.table.name
                    value = people[value] if target == "users" else ordinal[tables[target]][value]
                row[name] = value
            if kind.name == "series":
                row["template"] = dict(row["template"], host_id=people.get(row["template"].get("host_id")))
            if kind.name == "proposals" and row.get("result") and row["result"].get("chosen") is not None:
                row["result"] = dict(row["result"], chosen=ordinal["poll_options"][row["result"]["chosen"]])
            records.append(row)
        out[kind.name] = records
    # A member, or the place of one not yet claimed: the same person in the same role.
    out["members"] = sorted(([r["user_id"], r["role"], r["offers"], r["joined_at"], r["share_email"]]
                             for r in out.pop("members") + out.pop("places")), key=str)
    out["photos_bytes"] = sorted(archive.read(n) for n in archive.namelist() if n.startswith("photos/"))
    out["ics_events"] = archive.read("gatherings.ics").count(b"BEGIN:VEVENT")
    return out


def test_the_demo_circles_round_trip_between_the_two_databases(app, other_kind, database_factory, mailbox,
                                                               tmp_path, tmp_path_factory):
    seeded(app)
    with app.app_context():  # one member lets her address go along
        chiara = db.session.scalar(select(User.id).where(User.email == "chiara@example.org"))
        db.session.execute(text("UPDATE memberships SET share_email = true WHERE user_id = :u"), {"u": chiara})
        db.session.commit()
    registry = app.extensions["communitarium.areas"]
    there = other_kind()
    back = fresh_app(database_factory, mailbox, tmp_path_factory)
    assert dialect(there) != dialect(app) == dialect(back)
    for slug in ("elm-street", "harbour-coop"):
        first = exported(app, slug)
        result = import_file(there, first, tmp_path)
        assert result.exit_code == 0, result.output
        second = exported(there, slug)
        result = import_file(back, second, tmp_path)
        assert result.exit_code == 0, result.output
        third = exported(back, slug)
        original = normalized(first, registry)
        assert original["gatherings"] and original["members"]
        assert normalized(second, registry) == original, slug
        assert normalized(third, registry) == original, slug
    # The one who said yes was mailed her link; the others' links were printed for the importer.
    assert "Imported Elm Street at /c/elm-street/" in result.output or "Harbour" in result.output
    from app.mail import OutboxMail
    with there.app_context():
        mailed = db.session.scalars(select(OutboxMail.body).where(OutboxMail.to_address == "chiara@example.org"))
        assert any("/claim/" in body for body in mailed)
        assert not db.session.scalar(select(OutboxMail.id).where(OutboxMail.to_address == "ada@example.org"))


def test_everyone_claims_their_place_and_nobody_is_a_member_before(app, tmp_path):
    seeded(app)
    with app.app_context():
        db.session.execute(text("UPDATE memberships SET share_email = true"))
        db.session.commit()
    data = exported(app, "elm-street")
    mailbox_before = counts(app)["outbox_mail"]
    result = import_file(app, data, tmp_path, "--slug", "elm-street-moved")
    assert result.exit_code == 0, result.output
    assert "4 of 4 members were invited by mail" in result.output
    with app.app_context():
        moved = db.session.scalar(select(Circle).where(Circle.slug == "elm-street-moved"))
        assert db.session.scalar(select(func.count()).select_from(Membership)
                                 .where(Membership.circle_id == moved.id)) == 0
        places = db.session.scalars(select(Place).where(Place.circle_id == moved.id)).all()
        assert sorted(p.email for p in places) == ["ada@example.org", "chiara@example.org", "elif@example.org",
                                                   "gus@example.org"]
        # Placeholders: a name, no address, no password; their answers show the name as text.
        assert all(p.user.email is None and p.user.password_hash is None for p in places)
        chiara_place = next(p for p in places if p.email == "chiara@example.org")
        placeholder = chiara_place.user_id
        answers = db.session.scalar(select(func.count()).select_from(Answer).where(Answer.user_id == placeholder))
        entry = db.session.scalars(select(LogEntry).where(LogEntry.circle_id == moved.id)
                                   .order_by(LogEntry.id.desc())).first()
        assert entry.action == "circle_imported"
    assert counts(app)["outbox_mail"] == mailbox_before + 4
    from app.mail import OutboxMail
    with app.app_context():
        body = db.session.scalar(select(OutboxMail.body).where(OutboxMail.to_address == "chiara@example.org")
                                 .order_by(OutboxMail.id.desc()))
    link = re.search(r"https?://[^/\s]+(/claim/[A-Za-z0-9_-]+)", body).group(1)

    chiara = app.test_client()
    assert login(chiara, "chiara@example.org", "bring-a-dish-and-a-friend").status_code == 303
    assert chiara.get("/c/elm-street-moved/").status_code == 404  # not a member before saying yes
    ada = app.test_client()
    assert login(ada, "ada@example.org", "bring-a-dish-and-a-friend").status_code == 303
    refused = ada.get(link)
    assert refused.status_code == 409 and "kept for another address" in text_of(refused)
    assert post(ada, link, {}).status_code == 409
    page = chiara.get(link)
    assert page.status_code == 200 and "Chiara Bellini" in text_of(page)
    assert post(chiara, link, {}).status_code == 303
    assert chiara.get("/c/elm-street-moved/").status_code == 200
    with app.app_context():
        me = db.session.scalar(select(User).where(User.email == "chiara@example.org"))
        assert db.session.get(User, placeholder) is None
        membership = db.session.scalar(select(Membership).where(Membership.user_id == me.id,
                                                                Membership.circle_id == moved.id))
        assert membership.role == "steward" and membership.share_email
        assert db.session.scalar(select(func.count()).select_from(Answer).join(Answer.user)
                                 .where(Answer.user_id == me.id)) >= answers
    assert "Chiara Bellini took their place in the circle." in text_of(chiara.get("/c/elm-street-moved/log"))
    assert chiara.get(link).status_code == 404  # used once


def test_the_same_export_twice_is_refused(app, tmp_path):
    seeded(app)
    data = exported(app, "harbour-coop")
    assert import_file(app, data, tmp_path, "--slug", "harbour-again").exit_code == 0
    before = counts(app)
    again = import_file(app, data, tmp_path, "--slug", "harbour-third")
    assert again.exit_code != 0 and "imported here already" in again.output
    assert counts(app) == before


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _with_json(data: bytes, change) -> bytes:
    archive = zipfile.ZipFile(io.BytesIO(data))
    files = {name: archive.read(name) for name in archive.namelist()}
    files["circle.json"] = json.dumps(change(json.loads(files["circle.json"]))).encode()
    return _zip(files)


def test_bad_files_are_refused_before_anything_is_written(app, tmp_path):
    seeded(app)
    good = exported(app, "harbour-coop")
    app.config["IMPORT_MAX_UNPACKED"] = 5 * 1024 * 1024
    cases = {
        "not a zip": (b"hello, this is not a zip", "not a zip file"),
        "truncated": (good[: len(good) // 2], "cut short"),
        "not ours": (_zip({"data.json": b"{}"}), "not a Communitarium circle's export"),
        "another format": (_with_json(good, lambda d: d | {"format": "loomio-group"}),
                           "not a Communitarium circle's export"),
        "newer version": (_with_json(good, lambda d: d | {"version": circle_export.VERSION + 1}),
                          "reads up to version"),
        "climbing path": (_zip({"circle.json": b"{}", "../../etc/cron.d/evil": b"x"}), "climbs out"),
        "absolute path": (_zip({"circle.json": b"{}", "/etc/passwd": b"x"}), "climbs out"),
        "zip bomb": (_zip({"circle.json": b"{}", "photos/1-large.webp": b"\0" * (6 * 1024 * 1024)}),
                     "more than"),
        "existing slug": (good, "exists here already"),
        "a bad record": (_with_json(good, lambda d: d | {"gatherings": [{"id": "x"}]}), "cannot read"),
        "a dangling reference": (_with_json(good, lambda d: d | {"answers": [
            dict(d["answers"][0], gathering_id=999999)]} if d["answers"] else d | {"series": [
                dict(d["series"][0], circle_id=999999)]}), "refers to one not in the file"),
    }
    before = counts(app)
    for label, (data, message) in cases.items():
        args = [] if label == "existing slug" else ["--slug", "harbour-elsewhere"]
        result = import_file(app, data, tmp_path, *args)
        assert result.exit_code != 0, label
        assert "Nothing was imported" in result.output and message in result.output, (label, result.output)
        assert counts(app) == before, label
    # Negative control: the same good file with a free slug goes in.
    assert import_file(app, good, tmp_path, "--slug", "harbour-elsewhere").exit_code == 0
    assert counts(app) != before


def test_a_zip_whose_header_lies_about_its_size_is_still_stopped(app, tmp_path):
    app.config["IMPORT_MAX_UNPACKED"] = 1024 * 1024
    data = bytearray(_zip({"circle.json": b" " * (3 * 1024 * 1024)}))
    # Rewrite the declared size (central directory and local header) to 10 bytes.
    declared = (3 * 1024 * 1024).to_bytes(4, "little")
    data = bytes(data).replace(declared, (10).to_bytes(4, "little"))
    result = import_file(app, data, tmp_path)
    assert result.exit_code != 0 and "Nothing was imported" in result.output
