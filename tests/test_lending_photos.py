"""Photos of things: decoded, upright, re-encoded as WebP without EXIF or
location, served at their hash to members only, under their own upload limit."""

from __future__ import annotations

import io
import os

from PIL import Image
from sqlalchemy import func, select

from app.circles import domain as circles
from app.database import write_unit
from app.extensions import db
from app.lending.models import Photo, Thing

from .helpers import csrf_token, login, make_user, post
from .lending_helpers import error_at, jpeg_with_location, library, signed_in, user


def upload(client, path: str, data: bytes, name: str = "photo.jpg", token: str | None = None):
    return client.post(path + "/photo", data={"csrf_token": token or csrf_token(client),
                                              "photo": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def photo_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Photo))


def test_a_phone_photo_loses_its_location_and_stands_upright(app):
    ids = library(app)
    ada = signed_in(app, "Ada")
    original = jpeg_with_location(800, 600)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the test photo has a position
    response = upload(ada, ids["thing_path"], original)
    assert response.status_code == 303, response.status_code
    with app.app_context():
        content_hash = db.session.scalar(select(Thing.photo_hash))
    for size in ("s", "l"):
        served = ada.get(f"/c/elm-street/library/photos/{content_hash}-{size}.webp")
        assert served.status_code == 200
        assert served.mimetype == "image/webp"
        assert served.headers["Cache-Control"] == "private, max-age=31536000, immutable"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        image = Image.open(io.BytesIO(served.data))
        assert image.format == "WEBP"
        assert not image.getexif() and "exif" not in image.info and "xmp" not in image.info
        assert b"PhoneMaker" not in served.data and b"GPS" not in served.data
        assert image.height > image.width, "turned upright by its orientation tag"
    page = ada.get(ids["thing_path"]).get_data(as_text=True)
    assert f"/photos/{content_hash}-l.webp" in page


def test_photos_are_refused_to_anyone_outside_the_circle(app):
    ids = library(app)
    ada = signed_in(app, "Ada")
    assert upload(ada, ids["thing_path"], jpeg_with_location()).status_code == 303
    with app.app_context():
        content_hash = db.session.scalar(select(Thing.photo_hash))
        make_user("zoe@example.org", "Zoe")
    url = f"/c/elm-street/library/photos/{content_hash}-s.webp"
    zoe = app.test_client()
    login(zoe, email="zoe@example.org")
    assert zoe.get(url).status_code == 404
    assert zoe.get(url).data != ada.get(url).data
    # Signed out: the same 404, not a redirect to sign in; a wrong hash or size alike.
    visitor = app.test_client()
    for path in (url, url.replace("-s.webp", "-l.webp"), url.replace(content_hash, "0" * 64)):
        answer = visitor.get(path)
        assert answer.status_code == 404, (path, answer.status_code)
        assert answer.mimetype == "text/html" and answer.data != ada.get(url).data
    # And a member who leaves the circle gets 404 from then on.
    bruno = signed_in(app, "Bruno")
    assert bruno.get(url).status_code == 200
    with app.app_context():
        with write_unit():
            circles.leave_circle(ids["circle"], user("Bruno"))
    assert bruno.get(url).status_code == 404


def test_only_the_owner_changes_the_photo(app):
    ids = library(app)
    assert upload(signed_in(app, "Bruno"), ids["thing_path"], jpeg_with_location()).status_code == 403
    assert photo_count(app) == 0


def test_what_is_not_a_photo_is_refused_beside_the_field(app):
    ids = library(app)
    ada = signed_in(app, "Ada")
    for data, name in [(b"GIF89a not really", "x.jpg"), (b"%PDF-1.4 hello", "photo.png"),
                       (b"\xff\xd8\xff\xe0" + os.urandom(2000), "broken.jpg")]:
        response = upload(ada, ids["thing_path"], data, name)
        assert response.status_code == 422, name
        assert "not a photo we can read" in error_at(response, "photo"), name
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    response = upload(ada, ids["thing_path"], gif.getvalue(), "a.png")
    assert response.status_code == 422 and "JPEG, PNG or WebP" in error_at(response, "photo")
    assert photo_count(app) == 0


def test_absurd_dimensions_are_refused(app):
    ids = library(app)
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000)).save(bomb, "PNG")  # 81 megapixels in a few kB
    response = upload(signed_in(app, "Ada"), ids["thing_path"], bomb.getvalue(), "bomb.png")
    assert response.status_code == 422
    assert "too large" in error_at(response, "photo")
    assert photo_count(app) == 0


def test_the_upload_has_its_own_limit_and_every_other_form_keeps_one_mebibyte(app):
    ids = library(app)
    ada = signed_in(app, "Ada")
    big = io.BytesIO()
    Image.frombytes("RGB", (1200, 900), os.urandom(1200 * 900 * 3)).save(big, "PNG")
    assert 1024 * 1024 < len(big.getvalue()) < 10_000_000
    assert upload(ada, ids["thing_path"], big.getvalue(), "noise.png").status_code == 303
    # 11 MB is too much for the photo route...
    assert upload(ada, ids["thing_path"], b"\0" * 11_000_000, "huge.jpg").status_code == 413
    # ...and 2 MB too much for any other form.
    response = post(ada, ids["thing_path"] + "/request", {"message": "x" * 2_000_000})
    assert response.status_code == 413


def test_the_upload_checks_its_csrf_token(app):
    ids = library(app)
    ada = signed_in(app, "Ada")
    assert upload(ada, ids["thing_path"], jpeg_with_location(), token="forged").status_code == 400
    assert photo_count(app) == 0


def test_the_same_picture_on_two_things_is_kept_for_each(app):
    ids = library(app)
    ada = signed_in(app, "Ada")
    picture = jpeg_with_location()
    assert upload(ada, ids["thing_path"], picture).status_code == 303
    response = post(ada, "/c/elm-street/library/new", {"name": "Second drill", "category": "tools",
                                                       "condition": "good", "max_loan_days": "3", "owner": "me"})
    second = response.location
    assert upload(ada, second, picture).status_code == 303
    # A new photo replaces the old one: one photo a thing.
    assert upload(ada, ids["thing_path"], jpeg_with_location(300, 200)).status_code == 303
    assert photo_count(app) == 2
    with app.app_context():
        hashes = dict(db.session.execute(select(Thing.name, Thing.photo_hash)).all())
    assert hashes["Drill"] != hashes["Second drill"]
    assert ada.get(f"/c/elm-street/library/photos/{hashes['Second drill']}-s.webp").status_code == 200
