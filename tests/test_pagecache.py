"""The page cache (app/pagecache.py): a page seen again is served as it was
made, and never once anything it shows has changed, whoever changed it."""

from __future__ import annotations

import re

from sqlalchemy import event, text

from app import create_app, pagecache
from app.database import write_unit
from app.extensions import db
from app.gatherings.models import Gathering

from .gatherings_helpers import answer, neighbourhood, signed_in
from .helpers import make_user, post, text_of
from .served import app_config


def _statements(app, client, path):
    seen = []

    def note(conn, cursor, statement, *_):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return response, [s for s in seen if not s.startswith("BEGIN")]


def _coming_text(page: str) -> str:
    return page.split('id="who-is-coming"', 1)[1].split("</ul>", 1)[0]


def _coming(response) -> list[str]:
    return re.findall(r"<li>(\w+)", _coming_text(text_of(response)))


def test_a_page_seen_again_is_served_kept_until_someone_answers(app):
    ids = neighbourhood(app)
    ada, bruno = signed_in(app, "Ada"), signed_in(app, "Bruno")
    ada.get(ids["path"])  # the first page after signing in stores the CSRF token in the session
    first, made = _statements(app, ada, ids["path"])
    again, kept = _statements(app, ada, ids["path"])
    assert first.status_code == again.status_code == 200
    # Seen again: the same bytes, and not one statement through the app (the
    # generation is read on the driver's own connection, before Flask starts).
    assert len(made) > 4 and kept == [] and again.get_data() == first.get_data(), (made, kept)
    assert answer(bruno, ids["path"], "going").status_code == 303
    fresh, remade = _statements(app, ada, ids["path"])
    assert len(remade) > 4 and _coming(fresh) == ["Ada", "Bruno"] and _coming(again) == ["Ada"]


def test_negative_control_without_raising_the_generation_the_answer_is_not_seen(app):
    ids = neighbourhood(app)
    ada, bruno = signed_in(app, "Ada"), signed_in(app, "Bruno")
    ada.get(ids["path"])
    ada.get(ids["path"])
    with app.app_context():
        engine = db.engine
    event.remove(engine, "commit", pagecache._raise_generation)
    try:
        assert answer(bruno, ids["path"], "going").status_code == 303
        stale = text_of(ada.get(ids["path"]))
    finally:
        event.listen(engine, "commit", pagecache._raise_generation)
    assert "Bruno" not in _coming_text(stale)  # what the test above would catch


def test_a_write_by_another_process_is_seen_at_once(app, database_url):
    """The job runner, a command, the other server: their own engine raises the generation too."""
    ids = neighbourhood(app)
    ada = signed_in(app, "Ada")
    assert "Soup evening" in text_of(ada.get(ids["path"]))
    other = create_app(app_config(database_url))
    with other.app_context():
        with write_unit():
            db.session.get(Gathering, ids["gathering"]).title = "Bean evening"
        db.session.remove()
        db.engine.dispose()
    page = text_of(ada.get(ids["path"]))
    assert "Bean evening" in page and "Soup evening" not in page


def test_a_kept_page_goes_to_nobody_else(app):
    ids = neighbourhood(app)
    ada, bruno = signed_in(app, "Ada"), signed_in(app, "Bruno")
    ada.get(ids["path"])
    ada.get(ids["path"])
    assert "/manage" in ada.get(ids["path"]).get_data(as_text=True)  # the host's page
    theirs = bruno.get(ids["path"])
    assert theirs.status_code == 200 and "/manage" not in theirs.get_data(as_text=True)
    visitor = app.test_client()
    assert visitor.get(ids["path"]).status_code == 303  # to sign in, never Ada's page


def test_a_signed_out_session_replayed_gets_the_sign_in_not_the_kept_page(app):
    ids = neighbourhood(app)
    ada = signed_in(app, "Ada")
    assert ada.get(ids["path"]).status_code == 200
    assert ada.get(ids["path"]).status_code == 200  # kept now
    cookie = ada.get_cookie("session").value
    assert post(ada, "/auth/logout").status_code in (302, 303)
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    response = thief.get(ids["path"])
    assert response.status_code == 303 and "/auth/login" in response.location


def test_a_kept_page_keeps_its_nonce_and_a_page_made_anew_gets_a_new_one(app):
    """A nonce is only worth something if injected markup cannot learn it and
    use it: a page goes back with the nonce it was made with only while it
    is the very same page (any write makes it anew, with a new nonce), so no
    new markup ever shares a nonce with an earlier answer."""
    ids = neighbourhood(app)
    ada, bruno = signed_in(app, "Ada"), signed_in(app, "Bruno")
    ada.get(ids["path"])

    def nonce_of(response):
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        assert response.get_data(as_text=True).count(f'nonce="{nonce}"') == 2
        return nonce

    made, again = ada.get(ids["path"]), ada.get(ids["path"])
    assert nonce_of(made) == nonce_of(again) and made.get_data() == again.get_data()
    assert answer(bruno, ids["path"], "going").status_code == 303
    anew = ada.get(ids["path"])
    assert nonce_of(anew) != nonce_of(made) and "Bruno" in _coming_text(text_of(anew))


def test_a_message_shown_once_is_not_shown_again(app):
    """The page after saving says "Saved" once; the same page seen again does not."""
    ids = neighbourhood(app)
    bruno = signed_in(app, "Bruno")
    members = f"/c/{ids['slug']}/members"
    for _ in range(2):
        assert "Saved." not in text_of(bruno.get(members))
    said = post(bruno, f"/c/{ids['slug']}/me", {"offers": "A ladder"}, follow_redirects=True)
    assert "Saved. Your neighbours see it on the member list." in text_of(said)
    for _ in range(2):
        page = text_of(bruno.get(members))
        assert "A ladder" in page and "Saved." not in page


def test_the_generation_only_grows_and_only_for_a_real_write(app, ctx):
    make_user()
    first = pagecache.generation(db.engine)
    assert first is not None
    with write_unit():
        db.session.execute(text("UPDATE page_generation SET n = n WHERE id = -1"))  # touches no row
    assert pagecache.generation(db.engine) == first
    with write_unit():
        db.session.execute(text("DELETE FROM page_generation"))  # emptied (a test's clean-up, a restore)
    emptied_and_raised = pagecache.generation(db.engine)
    assert emptied_and_raised is not None and emptied_and_raised > first
    with write_unit():
        db.session.execute(text("DELETE FROM page_generation WHERE id = -1"))
    assert pagecache.generation(db.engine) == emptied_and_raised


def test_a_write_where_the_table_is_missing_still_commits(database_factory):
    """Before its migration runs (and after a downgrade) writes go on as before, on both databases."""
    url = database_factory("-no-generation")
    app = create_app(app_config(url))
    with app.app_context():
        db.create_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE page_generation"))
        neighbourhood(app)
        assert db.session.scalar(text("SELECT count(*) FROM gatherings")) == 1
        db.session.remove()
        db.engine.dispose()
