"""A circle's export: every table is exported by its area or kept back on
purpose; a steward downloads one zip (JSON, a CSV per kind, the .ics,
photos); personal data stays personal; the log says who exported."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

import icalendar
from sqlalchemy import select, update

from app.areas import Areas
from app.circles import export as circle_export
from app.circles.models import Circle, LogEntry, Membership
from app.cli import DEMO_PASSWORD, seed_demo
from app.extensions import db
from app.meals.models import DietaryNeeds
from app.auth.models import User

from .helpers import login, post, text_of


def seeded(app) -> None:
    with app.test_request_context():
        seed_demo(1)
        db.session.remove()


def signed_in(app, who: str):
    client = app.test_client()
    assert login(client, email=f"{who}@example.org", password=DEMO_PASSWORD).status_code == 303
    return client


def download(client, slug: str = "elm-street") -> zipfile.ZipFile:
    response = post(client, f"/c/{slug}/export", {})
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert f'filename="{slug}-' in response.headers["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(response.get_data()))


def share_box(client) -> str:
    return re.search(r'<input[^>]*name="share_email"[^>]*>', text_of(client.get("/c/elm-street/me"))).group(0)


def test_every_table_is_exported_or_kept_back_by_its_area(app):
    registry = app.extensions["communitarium.areas"]
    assert circle_export.uncovered(registry) == set()
    exported = {kind.table.name for kind in registry.export_kinds}
    assert not exported & set(registry.kept_back), "a table both leaves and stays"
    # Negative control: an area that forgets its part is caught.
    forgetful = Areas(export_kinds=[k for k in registry.export_kinds if k.name != "dishes"],
                      kept_back=dict(registry.kept_back))
    assert circle_export.uncovered(forgetful) == {"meal_dishes"}


def test_a_steward_downloads_the_whole_circle_and_the_log_says_so(app):
    seeded(app)
    ada = signed_in(app, "ada")
    page = text_of(ada.get("/c/elm-street/export"))
    assert "Dietary needs never leave." in page and "0 of 4 members have" in page
    archive = download(ada)
    names = set(archive.namelist())
    assert {"circle.json", "gatherings.ics", "README.txt", "csv/gatherings.csv", "csv/dishes.csv",
            "csv/log.csv"} <= names
    data = json.loads(archive.read("circle.json"))
    assert data["format"] == "communitarium-circle" and data["version"] == circle_export.VERSION
    assert data["circle"][0]["slug"] == "elm-street"
    with app.app_context():
        circle_id = db.session.scalar(select(Circle.id).where(Circle.slug == "elm-street"))
        for kind in app.extensions["communitarium.areas"].export_kinds:
            rows = db.session.scalar(select(db.func.count()).select_from(kind.rows(circle_id).subquery()))
            assert len(data[kind.name]) == rows, kind.name
            with archive.open(f"csv/{kind.name}.csv") as f:
                assert len(list(csv.reader(io.TextIOWrapper(f, "utf-8")))) >= rows + 1, kind.name
    titles = {g["title"] for g in data["gatherings"]}
    assert {"Soup evening", "Courtyard clean-up", "Picnic in the park"} <= titles
    assert data["dishes"] and data["shares"] and data["things"] and data["discussions"] and data["proposals"]
    # Every person the records name is in people, by name.
    named = {r["user_id"] for r in data["answers"] if r["user_id"]} | {r["user_id"] for r in data["members"]}
    people = {p["id"]: p for p in data["people"]}
    assert named <= set(people) and people[data["members"][0]["user_id"]]["name"]
    # Times keep their meaning: UTC instants with their zone, wall times without.
    gathering = data["gatherings"][0]
    assert gathering["starts_at"].endswith("+00:00") and "+" not in gathering["starts_local"]
    # The calendar has every gathering; photos come as files.
    calendar = icalendar.Calendar.from_ical(archive.read("gatherings.ics"))
    assert len(calendar.walk("VEVENT")) == len(data["gatherings"])
    assert {c["TZID"] for c in calendar.walk("VTIMEZONE")} == {"Europe/Berlin"}
    for photo in data["photos"]:
        assert archive.read(f"photos/{photo['id']}-large.webp")[8:12] == b"WEBP"
    # Another circle's content is not in it.
    assert "House meeting" not in titles
    # The log, the page and the export say who took it.
    with app.app_context():
        entry = db.session.scalars(select(LogEntry).order_by(LogEntry.id.desc())).first()
        assert entry.action == "circle_exported" and entry.actor.display_name == "Ada Okafor"
    assert "Ada Okafor downloaded the circle's export." in text_of(ada.get("/c/elm-street/log"))


def test_personal_data_stays_personal(app):
    seeded(app)
    with app.app_context():
        chiara = db.session.scalar(select(User).where(User.email == "chiara@example.org"))
        db.session.merge(DietaryNeeds(user_id=chiara.id, avoids=["sesame"], diets=["halal"]))
        db.session.commit()
    chiara = signed_in(app, "chiara")
    # Off until the member says yes, on their own page in the circle.
    assert "checked" not in share_box(chiara)
    assert post(chiara, "/c/elm-street/me", {"offers": "A ladder", "share_email": "y"}).status_code == 303
    assert "checked" in share_box(chiara)
    archive = download(signed_in(app, "ada"))
    data = json.loads(archive.read("circle.json"))
    emails = {p["name"]: p["email"] for p in data["people"]}
    assert emails["Chiara Bellini"] == "chiara@example.org"
    assert emails["Elif Yilmaz"] is None and emails["Ada Okafor"] is None
    everything = b"".join(archive.read(name) for name in archive.namelist() if not name.endswith(".webp"))
    assert b"elif@example.org" not in everything and b"ada@example.org" not in everything
    # Dietary needs never; who borrowed what never; guests' addresses never.
    assert b"sesame" not in everything and b"halal" not in everything
    assert "reservations" not in data and "borrower_id" not in everything.decode()
    assert all("guest_email" not in answer for answer in data["answers"])
    # Chiara changes her mind: her address stays home again.
    assert post(chiara, "/c/elm-street/me", {"offers": "A ladder"}).status_code == 303
    data = json.loads(download(signed_in(app, "ada")).read("circle.json"))
    assert {p["name"]: p["email"] for p in data["people"]}["Chiara Bellini"] is None


def test_only_stewards_export_and_outsiders_see_nothing(app):
    seeded(app)
    elif_ = signed_in(app, "elif")  # a member of Elm Street, not a steward
    assert elif_.get("/c/elm-street/export").status_code == 403
    assert post(elif_, "/c/elm-street/export", {}).status_code == 403
    assert elif_.get("/c/harbour-coop/export").status_code == 404
    assert post(signed_in(app, "ada"), "/c/elm-street/export", {"csrf_token": "forged"}).status_code == 400
    with app.app_context():
        assert not db.session.scalar(select(LogEntry.id).where(LogEntry.action == "circle_exported"))


def test_a_former_member_is_named_as_one_and_never_by_address(app):
    seeded(app)
    with app.app_context():
        gus = db.session.scalar(select(User).where(User.email == "gus@example.org"))
        db.session.execute(update(Membership).where(Membership.user_id == gus.id).values(share_email=True))
        db.session.execute(update(User).where(User.id == gus.id).values(email=None, display_name="Gus Moreau",
                                                                          deleted_at=db.func.now()))
        db.session.commit()
        gus_id = gus.id
    data = json.loads(download(signed_in(app, "ada")).read("circle.json"))
    gus = next(p for p in data["people"] if p["id"] == gus_id)
    assert gus == {"id": gus_id, "name": None, "former": True, "email": None}


def test_the_format_document_names_every_kind_field_and_kept_back_table(app):
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "export-format.md").read_text()
    registry = app.extensions["communitarium.areas"]
    assert f"now **{circle_export.VERSION}**" in doc
    for kind in registry.export_kinds:
        section = doc.split(f"### `{kind.name}` (table `{kind.table.name}`)\n", 1)[1].split("###", 1)[0]
        for column in circle_export.exported_columns(kind):
            assert f"`{column.name}`" in section, (kind.name, column.name)
    for table in registry.kept_back:
        assert f"| `{table}` |" in doc, table
