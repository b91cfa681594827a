"""Discussions: starting, replying (with and without htmx), unread markers,
editing, removing, the calm pace, pages, a gathering's own discussion and
mentions."""

from __future__ import annotations

import datetime as dt
import re

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.talk.models import Discussion, ReadMarker, Reply

from .gatherings_helpers import count, digest_of, field_error, seen
from .talk_helpers import neighbourhood, post, say, signed_in, start, talk_path

HX = {"HX-Request": "true"}


def test_start_a_discussion_and_reply_without_javascript(app):
    ids = neighbourhood(app)
    ada = signed_in(app, "Ada")
    response = post(ada, talk_path(ids, "/new"), {"title": "Who has the key?", "body": "For the **shed**."})
    assert response.status_code == 303
    path = response.location
    bruno = signed_in(app, "Bruno")
    page = bruno.get(path)
    assert page.status_code == 200
    assert "Who has the key?" in seen(page) and "<strong>shed</strong>" in page.get_data(as_text=True)
    answer = post(bruno, path + "/reply", {"body": "Chiara has it."})
    assert answer.status_code == 303
    shown = seen(bruno.get(answer.location))
    assert "Bruno" in shown and "Chiara has it." in shown
    # The list names it, newest activity first; no counts, no reactions.
    listing = seen(ada.get(talk_path(ids)))
    assert "Who has the key?" in listing and "new replies" in listing
    assert not re.search(r"\b\d+ (replies|likes|views)\b", listing)


def test_list_is_in_time_order_of_the_last_word(app):
    ids = neighbourhood(app)
    first = start(app, ids, title="First subject")
    start(app, ids, title="Second subject")
    say(app, first, "Bruno", "A late word on the first.")
    listing = seen(signed_in(app, "Chiara").get(talk_path(ids)))
    assert listing.index("First subject") < listing.index("Second subject")


def test_reply_with_htmx_appends_in_place_and_refreshes_the_form_and_pages(app):
    ids = neighbourhood(app)
    discussion = start(app, ids)
    earlier = say(app, discussion, "Chiara", "Who brings chairs?")
    bruno = signed_in(app, "Bruno")
    shown = bruno.get(talk_path(ids, f"/{discussion}")).get_data(as_text=True)
    assert '<span class="tag">new</span>' in shown and 'name="seen" value="0"' in shown
    response = post(bruno, talk_path(ids, f"/{discussion}/reply"), {"body": "I can bring chairs.", "seen": "0"},
                    headers=HX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<li id="reply-')
    assert "I can bring chairs." in body
    assert re.search(r'<form id="reply-form"[^>]*data-hx-swap-oob="true"', body)
    assert 'id="reply-pages"' in body and "Your reply is added." in body
    # Chiara's reply, new when the page was shown, comes back read, as a reload shows it.
    again = re.search(rf'<li id="reply-{earlier}" data-hx-swap-oob="true">(.*?)</li>', body, re.DOTALL)
    assert again and "Who brings chairs?" in again.group(1) and 'class="tag"' not in again.group(1)
    assert '<div id="mark-read" data-hx-swap-oob="true"></div>' in body
    assert '<span class="tag">new</span>' not in bruno.get(talk_path(ids, f"/{discussion}")).get_data(as_text=True)
    assert "<html" not in body


def test_htmx_reply_with_a_problem_comes_back_to_the_form(app):
    ids = neighbourhood(app)
    discussion = start(app, ids)
    bruno = signed_in(app, "Bruno")
    response = post(bruno, talk_path(ids, f"/{discussion}/reply"), {"body": "   "}, headers=HX)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#reply-form"
    assert "Write something first." in seen(response)
    assert count(app, Reply) == 0


def test_bad_replies_are_refused_beside_the_field_and_nothing_saved(app):
    ids = neighbourhood(app)
    discussion = start(app, ids)
    bruno = signed_in(app, "Bruno")
    too_long = post(bruno, talk_path(ids, f"/{discussion}/reply"), {"body": "x" * 5001})
    assert too_long.status_code == 422
    assert "At most 5000 characters" in field_error(too_long, "body")
    control = post(bruno, talk_path(ids, f"/{discussion}/reply"), {"body": "bell \x07 here"})
    assert control.status_code == 422
    assert "control characters" in field_error(control, "body")
    assert count(app, Reply) == 0


def test_unread_markers_are_private_to_each_person(app):
    ids = neighbourhood(app)
    discussion = start(app, ids)
    say(app, discussion, "Bruno", "First word.")
    chiara, dmitri = signed_in(app, "Chiara"), signed_in(app, "Dmitri")
    page = chiara.get(talk_path(ids, f"/{discussion}"))
    assert "new" in re.findall(r'<span class="tag">(\w+)</span>', page.get_data(as_text=True))
    upto = re.search(r'name="upto" value="(\d+)"', page.get_data(as_text=True)).group(1)
    assert post(chiara, talk_path(ids, f"/{discussion}/read"), {"upto": upto}).status_code == 303
    assert "new replies" not in seen(chiara.get(talk_path(ids)))
    assert "new replies" in seen(dmitri.get(talk_path(ids)))  # Dmitri has not read it
    # Bruno wrote it: it is not new to him.
    assert "new replies" not in seen(signed_in(app, "Bruno").get(talk_path(ids)))
    # A GET never writes: Dmitri's page shows the marker and stores nothing.
    dmitri.get(talk_path(ids, f"/{discussion}"))
    with app.app_context():
        readers = set(db.session.scalars(select(ReadMarker.user_id)))
    assert ids["Dmitri"] not in readers and ids["Chiara"] in readers


def test_edit_within_15_minutes_shows_edited_and_not_after(app):
    ids = neighbourhood(app)
    discussion = start(app, ids)
    reply_id = say(app, discussion, "Bruno", "Meet at 7.")
    bruno = signed_in(app, "Bruno")
    edit = talk_path(ids, f"/replies/{reply_id}/edit")
    assert post(bruno, edit, {"body": "Meet at 8."}).status_code == 303
    page = seen(bruno.get(talk_path(ids, f"/{discussion}")))
    assert "Meet at 8." in page and "edited" in page
    assert signed_in(app, "Chiara").get(edit).status_code == 403  # not hers
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=16)):
        assert post(bruno, edit, {"body": "Meet at 9."}).status_code == 403
    with app.app_context():
        assert db.session.get(Reply, reply_id).body_source == "Meet at 8."


def test_a_removed_reply_leaves_removed_in_its_place(app):
    ids = neighbourhood(app)
    discussion = start(app, ids)
    reply_id = say(app, discussion, "Bruno", "Something regrettable.")
    assert post(signed_in(app, "Chiara"), talk_path(ids, f"/replies/{reply_id}/remove")).status_code == 403
    assert post(signed_in(app, "Bruno"), talk_path(ids, f"/replies/{reply_id}/remove")).status_code == 303
    page = seen(signed_in(app, "Chiara").get(talk_path(ids, f"/{discussion}")))
    assert "removed" in page and "regrettable" not in page
    # A steward can remove too, and says so on the page that asks first.
    other = say(app, discussion, "Chiara", "Spam.")
    ada = signed_in(app, "Ada")
    assert "the circle’s log says so" in seen(ada.get(talk_path(ids, f"/replies/{other}/remove")))
    assert post(ada, talk_path(ids, f"/replies/{other}/remove")).status_code == 303
    # A steward removing someone's words acts for the circle: every member reads it in the log.
    # Bruno removing his own reply is his own business, and not in it.
    log = seen(signed_in(app, "Dmitri").get(f"/c/{ids['slug']}/log"))
    assert "Ada removed a reply by Chiara in “Who has the key?”." in log
    assert "reply by Bruno" not in log
    own = say(app, discussion, "Ada", "My own slip.")
    assert "the circle’s log says so" not in seen(ada.get(talk_path(ids, f"/replies/{own}/remove")))
    assert post(ada, talk_path(ids, f"/replies/{own}/remove")).status_code == 303
    assert "reply by Ada" not in seen(ada.get(f"/c/{ids['slug']}/log"))


def test_a_calm_pace_per_person_per_discussion(make_app):
    app = make_app(LIMIT_REPLY_PER_DISCUSSION="3 per minute")
    ids = neighbourhood(app)
    discussion, other = start(app, ids), start(app, ids, title="Another")
    bruno = signed_in(app, "Bruno")
    for n in range(3):
        assert post(bruno, talk_path(ids, f"/{discussion}/reply"), {"body": f"word {n}"}).status_code == 303
    calm = post(bruno, talk_path(ids, f"/{discussion}/reply"), {"body": "one more"})
    assert calm.status_code == 429
    assert "slow down" in field_error(calm, "body") and "one more" in calm.get_data(as_text=True)
    # Someone else, or another discussion, is not held back.
    assert post(signed_in(app, "Chiara"), talk_path(ids, f"/{discussion}/reply"), {"body": "hi"}).status_code == 303
    assert post(bruno, talk_path(ids, f"/{other}/reply"), {"body": "hi"}).status_code == 303
    assert count(app, Reply, Reply.body_source == "one more") == 0


def test_long_discussions_come_in_pages(app):
    ids = neighbourhood(app)
    discussion = start(app, ids)
    with app.app_context():
        from app.database import write_unit
        from app.talk import domain
        from .talk_helpers import user

        with write_unit():
            for n in range(60):
                domain.reply(discussion, user("Bruno"), f"Reply number {n}.")
    chiara = signed_in(app, "Chiara")
    first = chiara.get(talk_path(ids, f"/{discussion}"))  # nothing read: page 1
    assert "Reply number 0." in seen(first) and "Reply number 59." not in seen(first)
    assert 'href="/c/elm-street/talk/%s?page=2"' % discussion in first.get_data(as_text=True)
    second = chiara.get(talk_path(ids, f"/{discussion}?page=2"))
    assert "Reply number 59." in seen(second) and "Reply number 0." not in seen(second)
    assert chiara.get(talk_path(ids, f"/{discussion}?page=3")).status_code == 404
    # Bruno has read all of his own: he lands on the last page.
    assert "Reply number 59." in seen(signed_in(app, "Bruno").get(talk_path(ids, f"/{discussion}")))


def test_a_gathering_has_its_own_discussion_as_a_panel(app):
    ids = neighbourhood(app)
    chiara = signed_in(app, "Chiara")
    page = chiara.get(ids["path"])
    assert "Talk about it" in seen(page)
    assert count(app, Discussion) == 0  # showing it made nothing
    response = post(chiara, f"{ids['path']}/talk", {"body": "Running ten minutes late."})
    assert response.status_code == 303
    assert "Running ten minutes late." in seen(chiara.get(ids["path"]))
    post(signed_in(app, "Bruno"), f"{ids['path']}/talk", {"body": "No problem."})
    assert count(app, Discussion) == 1
    listing = seen(chiara.get(talk_path(ids)))
    assert "Soup evening" in listing and "About a gathering" in listing
    empty = post(chiara, f"{ids['path']}/talk", {"body": ""})
    assert empty.status_code == 422


def test_naming_a_member_with_at_tells_them_by_mail(app, mailbox):
    ids = neighbourhood(app)
    discussion = start(app, ids)
    post(signed_in(app, "Bruno"), talk_path(ids, f"/{discussion}/reply"),
         {"body": "@chiara do you have the key? And @Nobody, and mail@example.org."})
    # A mention is not time-critical: in the inbox now, in the evening's digest.
    assert "Bruno mentioned you in Elm Street" in seen(signed_in(app, "Chiara").get("/notices"))
    assert not mailbox.to("chiara@example.org")
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=1)):
        digest = digest_of(app, mailbox, "Chiara")
    assert "Bruno mentioned you in Elm Street" in digest and f"/talk/{discussion}" in digest
    for other in ("Dmitri", "Bruno"):
        assert "mentioned you" not in seen(signed_in(app, other).get("/notices"))


def test_what_a_person_wrote_stays_signed_a_former_member(app):
    ids = neighbourhood(app)
    discussion = start(app, ids)
    say(app, discussion, "Bruno", "Chairs are in the cellar.")
    with app.app_context():
        from app.auth import domain as accounts
        from app.database import write_unit
        from .talk_helpers import user

        with write_unit():
            accounts.delete_account(user("Bruno"))
    page = seen(signed_in(app, "Chiara").get(talk_path(ids, f"/{discussion}")))
    assert "Chairs are in the cellar." in page and "a former member" in page and "Bruno" not in page


def test_a_thing_has_its_own_discussion_as_a_panel(app):
    from .helpers import make_user
    from .lending_helpers import library

    ids = library(app)
    chiara = signed_in(app, "Chiara")
    page = chiara.get(ids["thing_path"])
    assert "Talk about it" in seen(page) and "How it works" in seen(page)
    assert count(app, Discussion) == 0  # showing it made nothing
    # Without JavaScript: the reply lands on the thing's discussion.
    response = post(chiara, f"{ids['thing_path']}/talk", {"body": "Does it take masonry bits?"})
    assert response.status_code == 303 and "/talk/" in response.location
    assert "About the thing" in seen(chiara.get(response.location))
    assert "Does it take masonry bits?" in seen(chiara.get(ids["thing_path"]))
    post(signed_in(app, "Ada"), f"{ids['thing_path']}/talk", {"body": "Yes, they are in the case."})
    assert count(app, Discussion) == 1  # one discussion a thing
    with app.app_context():
        discussion = db.session.scalar(select(Discussion))
        assert discussion.thing_id == ids["thing"] and discussion.gathering_id is None
    listing = seen(chiara.get(talk_path(ids)))
    assert "Drill" in listing and "About a thing" in listing
    # A refusal keeps the words and says why beside the field.
    empty = post(chiara, f"{ids['thing_path']}/talk", {"body": "   "})
    assert empty.status_code == 422 and "Write something first." in field_error(empty, "body")
    # Members only: someone outside the circle sees neither the panel nor a way to write.
    with app.app_context():
        make_user("zoe@example.org", "Zoe")
    from .helpers import login

    zoe = app.test_client()
    login(zoe, email="zoe@example.org")
    assert zoe.get(ids["thing_path"]).status_code in (403, 404)
    assert post(zoe, f"{ids['thing_path']}/talk", {"body": "Hello?"}).status_code in (403, 404)
    assert count(app, Reply, Reply.body_source == "Hello?") == 0
    # A thing of another circle is not found through this one.
    assert post(chiara, f"/c/{ids['slug']}/library/999999/talk", {"body": "x"}).status_code == 404


def test_a_things_panel_reply_with_htmx_refreshes_the_panel(app):
    from .lending_helpers import library

    ids = library(app)
    bruno = signed_in(app, "Bruno")
    answer = post(bruno, f"{ids['thing_path']}/talk", {"body": "Is the battery charged?"}, headers=HX)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    # The whole panel comes back: the new reply in place, a link to the discussion now that it exists,
    # the form empty again; not a page.
    assert html.lstrip().startswith('<section id="own-talk"') and "<html" not in html
    assert "Is the battery charged?" in html and "Open the discussion" in html and "Your reply is added." in html
    assert re.search(r'<textarea id="own-reply"[^>]*></textarea>', html)
    refused = post(bruno, f"{ids['thing_path']}/talk", {"body": "x" * 5001}, headers=HX)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="own-reply-error"' in html and "x" * 5001 in html and html.lstrip().startswith('<section id="own-talk"')
    assert count(app, Reply) == 1
    # The gathering's panel answers htmx the same way.
    answer = post(bruno, f"{ids['path']}/talk", {"body": "Running late."}, headers=HX)
    assert answer.status_code == 200 and "Running late." in answer.get_data(as_text=True)
