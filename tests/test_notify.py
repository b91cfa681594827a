"""Notices end to end: recorded once with the change, the inbox, settings per
kind and per circle, quiet hours, the digest, one-click unsubscribe, the job
runner, reminders, and mail in the recipient's language. Real SMTP
(tests.helpers.MailBox); time moved with time-machine."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import select

from app import jobs
from app.auth.models import User
from app.database import write_unit
from app.extensions import db
from app.mail import OutboxMail, deliver_pending
from app.notify import domain as notices
from app.notify.models import Notice, NoticePrefs

from .gatherings_helpers import (answer, count, email, gathering_row, neighbourhood, seen, signed_in,
                                 subjects)
from .helpers import post

BERLIN = ZoneInfo("Europe/Berlin")


def at(year, month, day, hour, minute=0, zone=BERLIN):
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone)


def settings_form(**changes):
    data = {"digest_hour": "18", "quiet_from": "21", "quiet_until": "8"}
    data.update({k: str(v) for k, v in changes.items()})
    return data


def _crowd(app, **fields):
    """Ada hosts (capacity 2): Bruno is seated, Chiara waits."""
    ids = neighbourhood(app, capacity=2, **fields)
    answer(signed_in(app, "Bruno"), ids["path"], "going")
    answer(signed_in(app, "Chiara"), ids["path"], "going")
    return ids


def _notices(app, name):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email(name)))
        return list(db.session.scalars(select(Notice).where(Notice.user_id == user.id).order_by(Notice.id)))


def _move(app, ids, who="Ada", **values):
    from app.gatherings import domain
    with app.app_context():
        actor = db.session.get(User, ids[who])
        with write_unit():
            domain.update_gathering(ids["gathering"], actor, None, **values)
        deliver_pending()  # what the request's after-commit send does


def test_a_seat_from_the_waitlist_is_a_notice_mailed_right_away_and_in_the_inbox(app, mailbox):
    ids = _crowd(app)
    assert subjects(mailbox, "Chiara") == []
    answer(signed_in(app, "Bruno"), ids["path"], "cant")  # Bruno's seat goes to Chiara
    assert subjects(mailbox, "Chiara") == ["Soup evening: a seat for you"]
    mail = mailbox.last(email("Chiara"))
    # A text part and a small HTML part; a link to stop this kind of mail.
    assert mail.is_multipart() and mail.get_body(("html",)) is not None
    assert "<a href=" in mail.get_body(("html",)).get_content()
    assert "it is yours" in mail.get_content()
    assert re.search(r"https?://\S+" + re.escape(ids["path"]), mail.get_content())  # absolute in mail
    assert mail["List-Unsubscribe"].startswith("<http") and mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The inbox says so, newest first, marked new (no count anywhere), private to Chiara.
    chiara = signed_in(app, "Chiara")
    page = chiara.get("/notices")
    assert page.status_code == 200
    text = seen(page)
    assert "new" in text and "Soup evening: a seat for you" in text
    assert "Soup evening: a seat for you" not in seen(signed_in(app, "Dmitri").get("/notices"))
    assert not re.search(r"\b\d+ new\b", text)
    assert f'href="{ids["path"]}"' in page.get_data(as_text=True)  # a path on this site in the inbox
    # Marking read takes the marker away.
    first = _notices(app, "Chiara")[-1]
    assert post(chiara, "/notices/read", {"up_to": first.id}).status_code == 303
    assert _notices(app, "Chiara")[-1].read_at is not None
    assert "Mark these as read" not in seen(chiara.get("/notices"))
    assert post(chiara, "/notices/read", {"up_to": "x1"}).status_code == 400


def test_a_second_record_of_the_same_occasion_records_nothing(app, mailbox):
    ids = _crowd(app)
    with app.app_context():
        from app.circles.models import Circle
        bruno, circle = db.session.get(User, ids["Bruno"]), db.session.get(Circle, ids["circle"])
        with write_unit():
            first, again = (notices.notify("gathering_changed", bruno, "occasion-1", circle=circle, subject="S",
                                           template="circles/notices/welcomed.txt") for _ in range(2))
        assert first is not None and again is None
        assert count(app, Notice, Notice.occasion == "occasion-1") == 1


def test_nobody_is_told_what_they_did_themselves(app, mailbox):
    ids = _crowd(app)
    mailbox.clear()
    _move(app, ids, "Ada", place="The community hall")  # Ada hosts and is going
    assert subjects(mailbox, "Ada") == [] and _notices(app, "Ada") == []
    assert subjects(mailbox, "Bruno") == ["Soup evening: changed"]


def test_settings_per_kind_and_per_circle(app, mailbox):
    ids = _crowd(app)
    bruno = signed_in(app, "Bruno")
    page = bruno.get("/notices/settings")
    assert page.status_code == 200 and "Right away" in seen(page)
    # Off for moves: nothing at all; the inbox neither.
    assert post(bruno, "/notices/settings", settings_form(**{"kind-gathering_moved": "off"})).status_code == 303
    mailbox.clear()
    _move(app, ids, place="The community hall")
    assert subjects(mailbox, "Bruno") == [] and _notices(app, "Bruno") == []
    assert subjects(mailbox, "Chiara") == ["Soup evening: changed"]
    # The circle limited to the inbox: recorded, never mailed.
    assert post(bruno, "/notices/settings", settings_form(**{f"circle-{ids['circle']}": "inbox"})).status_code == 303
    mailbox.clear()
    _move(app, ids, place="The old school")
    assert subjects(mailbox, "Bruno") == []
    assert [n.channel for n in _notices(app, "Bruno")] == ["inbox"]
    # A value that is not on the list: a clear 422, nothing saved.
    response = post(bruno, "/notices/settings", settings_form(**{"kind-gathering_moved": "loud"}))
    assert response.status_code == 422 and "Choose each setting from its list." in seen(response)
    response = post(bruno, "/notices/settings", settings_form(digest_hour=24))
    assert response.status_code == 422


def test_quiet_hours_hold_a_notice_until_morning_but_not_a_same_day_cancellation(app, mailbox):
    ids = _crowd(app)
    bruno = signed_in(app, "Bruno")
    assert post(bruno, "/notices/settings", settings_form()).status_code == 303  # 21:00 to 08:00
    evening = at(2026, 12, 1, 22, 30)
    with time_machine.travel(evening, tick=False):
        _move(app, ids, place="The community hall")
    assert subjects(mailbox, "Bruno") == []
    held = _notices(app, "Bruno")[-1]
    assert held.mail_due_at == at(2026, 12, 2, 8)
    with time_machine.travel(at(2026, 12, 2, 7, 59), tick=False), app.app_context():
        notices.send_held()
        db.session.commit()
    assert subjects(mailbox, "Bruno") == []
    with time_machine.travel(at(2026, 12, 2, 8, 1), tick=False), app.app_context():
        jobs.tick()
    assert subjects(mailbox, "Bruno") == ["Soup evening: changed"]
    # Called off for today, late in the evening: it passes quiet hours.
    mailbox.clear()
    day = gathering_row(app, ids["gathering"]).starts_local.date()
    with time_machine.travel(dt.datetime.combine(day, dt.time(6, 0), tzinfo=BERLIN), tick=False):
        _move(app, ids, status="cancelled", cancel_reason="The hall is flooded.")
    assert subjects(mailbox, "Bruno") == ["Soup evening: cancelled"]


def test_zero_length_quiet_hours_are_none_and_say_so(app, mailbox):
    ids = _crowd(app)
    bruno = signed_in(app, "Bruno")
    response = post(bruno, "/notices/settings", settings_form(quiet_from=22, quiet_until=22), follow_redirects=True)
    assert "Quiet hours that start and end at the same hour are none" in seen(response)
    with time_machine.travel(at(2026, 12, 1, 23, 30), tick=False):
        _move(app, ids, place="The community hall")
    assert subjects(mailbox, "Bruno") == ["Soup evening: changed"]


def test_the_digest_comes_once_at_the_chosen_hour_grouped_by_circle_and_unsubscribes_in_one_click(app, mailbox):
    ids = _crowd(app)
    bruno = signed_in(app, "Bruno")
    post(bruno, "/notices/settings", settings_form(digest_hour=19))
    with time_machine.travel(at(2026, 12, 1, 10), tick=False):
        _move(app, ids, status="tentative")  # not time-critical: the digest
    assert subjects(mailbox, "Bruno") == []
    with time_machine.travel(at(2026, 12, 1, 18, 59), tick=False), app.app_context():
        jobs.tick()
    assert subjects(mailbox, "Bruno") == []
    with time_machine.travel(at(2026, 12, 1, 19, 1), tick=False), app.app_context():
        jobs.tick()
        jobs.tick()
        notices.compose_digests()
        db.session.commit()
    assert subjects(mailbox, "Bruno") == ["What is new in your circles"]
    digest = mailbox.last(email("Bruno"))
    body = digest.get_content()
    assert "== Elm Street ==" in body and "Soup evening: not yet certain" in body
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.match(r"<https?://[^/]+(/unsubscribe/\S+)>", digest["List-Unsubscribe"]).group(1)
    # Nothing new: no digest the next day.
    with time_machine.travel(at(2026, 12, 2, 19, 5), tick=False), app.app_context():
        notices.compose_digests()
        db.session.commit()
    assert subjects(mailbox, "Bruno") == ["What is new in your circles"]
    # The link asks first (a GET changes nothing: link checkers), the mail program posts (RFC 8058).
    anonymous = app.test_client()
    with time_machine.travel(at(2026, 12, 2, 20), tick=False):
        assert "Stop the daily digest?" in seen(anonymous.get(link))
        with app.app_context():
            assert db.session.get(NoticePrefs, ids["Bruno"]).unsubscribed_at is None
        assert anonymous.post(link, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with app.app_context():
        assert db.session.get(NoticePrefs, ids["Bruno"]).unsubscribed_at is not None
    with time_machine.travel(at(2026, 12, 3, 10), tick=False):
        _move(app, ids, status="confirmed")
    with time_machine.travel(at(2026, 12, 3, 19, 5), tick=False), app.app_context():
        notices.compose_digests()
        db.session.commit()
    assert subjects(mailbox, "Bruno") == ["What is new in your circles"]
    assert "Soup evening: confirmed" in seen(bruno.get("/notices"))  # the inbox keeps it


def test_a_forged_or_expired_unsubscribe_link_says_so(app, mailbox):
    ids = _crowd(app)
    with app.app_context(), app.test_request_context():
        token = notices.unsubscribe_token(ids["Bruno"], "digest")
    client = app.test_client()
    forged = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")
    for bad in (forged, "nothing", "a" * 400):
        response = client.post(f"/unsubscribe/{bad}")
        assert response.status_code == 400 and "not one we made" in seen(response)
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=91)):
        response = client.post(f"/unsubscribe/{token}")
    assert response.status_code == 400 and "too old" in seen(response)
    with app.app_context():
        assert db.session.get(NoticePrefs, ids["Bruno"]) is None


def test_the_digest_hour_in_a_daylight_saving_gap_still_comes_that_day(app):
    with app.app_context():
        # 02:00 to 03:00 does not exist in Berlin on 29 March 2026.
        before = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.timezone.utc)
        due = notices.next_local_hour(2, "Europe/Berlin", before)
        assert due.astimezone(BERLIN) == at(2026, 3, 29, 3)


def test_no_time_zone_uses_the_first_circle_and_an_unknown_one_too(app):
    ids = _crowd(app, circle_settings=None)
    with app.app_context():
        bruno = db.session.get(User, ids["Bruno"])
        bruno.time_zone = None
        db.session.commit()
        circle_zone = notices.zone_of(bruno)
        assert circle_zone != "UTC"
        bruno.time_zone = "Mars/Olympus_Mons"
        db.session.commit()
        assert notices.zone_of(bruno) == circle_zone


def test_stewards_hear_that_someone_waits_and_the_person_that_they_are_welcome(app, mailbox):
    from app.circles import domain as circles
    from app.circles.models import Circle
    from .helpers import make_user
    ids = neighbourhood(app)
    with app.app_context():
        circle = db.session.get(Circle, ids["circle"])
        circle.question = "Which house do you live in?"
        ada = db.session.get(User, ids["Ada"])
        db.session.commit()
        with write_unit():
            token = circles.create_invitation(circle, ada, days=7, max_uses=5, asks_question=True)
        invitation = circles.find_invitation(token)
        zoe = make_user("zoe@example.org", "Zoe")
        with write_unit():
            request = circles.join(zoe, invitation.id, "Number 7")
        deliver_pending()
        assert subjects(mailbox, "Ada") == ["Zoe is waiting to join Elm Street"]
        assert "Number 7" in mailbox.last(email("Ada")).get_content()
        with write_unit():
            circles.decide_request(db.session.get(Circle, ids["circle"]), db.session.get(User, ids["Ada"]),
                                   request.id, approve=True)
    # The welcome is not time-critical: in Zoe's inbox now, in her digest later.
    assert subjects(mailbox, "zoe@example.org")[-1:] != ["Welcome to Elm Street"]
    assert "Welcome to Elm Street" in seen(signed_in(app, "Zoe").get("/notices"))


def test_reminders_the_day_before_in_the_digest_and_two_hours_before(app, mailbox):
    ids = _crowd(app)
    starts = gathering_row(app, ids["gathering"]).starts_at
    local = starts.astimezone(BERLIN)
    day_before = dt.datetime.combine(local.date() - dt.timedelta(days=1), dt.time(9), tzinfo=BERLIN)
    with time_machine.travel(day_before, tick=False), app.app_context():
        jobs.tick()
    assert [n.kind for n in _notices(app, "Bruno")] == ["gathering_tomorrow"]
    assert _notices(app, "Chiara") == []  # waiting, not going
    with time_machine.travel(day_before.replace(hour=18, minute=1), tick=False), app.app_context():
        notices.compose_digests()
        deliver_pending()
    assert subjects(mailbox, "Bruno")[-1] == "What is new in your circles"
    assert "Tomorrow: Soup evening" in mailbox.last(email("Bruno")).get_content()
    before = starts - dt.timedelta(hours=1, minutes=50)
    for _ in range(2):  # a second pass records nothing twice
        with time_machine.travel(before, tick=False), app.app_context():
            from app.gatherings import reminders
            reminders.remind()
            deliver_pending()
    assert subjects(mailbox, "Bruno").count("Soon: Soup evening") == 1
    assert subjects(mailbox, "Ada").count("Soon: Soup evening") == 1  # the host is going too


def test_a_helper_with_a_slot_is_reminded_like_those_going(app, mailbox):
    from app.gatherings import reminders, slots
    from app.gatherings.models import Gathering

    ids = _crowd(app)
    with app.app_context():
        with write_unit():
            slot = slots.add_slot(db.session.get(Gathering, ids["gathering"]), "Washing up", 2)
        slot_id = slot.id
    assert post(signed_in(app, "Dmitri"), f"{ids['path']}/slots/{slot_id}/take").status_code == 303
    before = gathering_row(app, ids["gathering"]).starts_at - dt.timedelta(hours=1, minutes=50)
    with time_machine.travel(before, tick=False), app.app_context():
        reminders.remind()
        deliver_pending()
    assert subjects(mailbox, "Dmitri").count("Soon: Soup evening") == 1  # helping, without a seat
    assert "Soon: Soup evening" not in subjects(mailbox, "Chiara")  # waiting, not going


def test_mail_is_written_in_the_recipients_language(app, mailbox):
    ids = _crowd(app)
    from app.i18n import languages
    other = "en_XA"  # the pseudo-locale: "[Ĥêļļô ...]"; a real language works the same way
    assert other in languages()
    with app.app_context():
        db.session.get(User, ids["Bruno"]).language = other
        db.session.commit()
    # Ada's browser speaks English; Bruno reads his own language.
    _move(app, ids, place="The community hall")
    bruno_mail = mailbox.last(email("Bruno")).get_content()
    chiara_mail = mailbox.last(email("Chiara")).get_content()
    assert "Hello Chiara," in chiara_mail
    assert "Hello Bruno," not in bruno_mail and "[Ĥêļļô Bruno,]" in bruno_mail


def test_the_language_is_kept_from_sign_up_and_changed_on_the_account_page(app, mailbox):
    ids = _crowd(app)
    bruno = signed_in(app, "Bruno")
    assert "Pages and the mail we send you come in this language." in seen(bruno.get("/auth/account"))
    assert post(bruno, "/auth/account/language", {"language": "en"}).status_code == 303
    assert post(bruno, "/auth/account/language", {"language": "xx"}).status_code == 422
    with app.app_context():
        assert db.session.get(User, ids["Bruno"]).language == "en"


def test_an_smtp_server_that_is_down_keeps_the_mail_and_retries_later(app, mailbox):
    ids = _crowd(app)
    port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = 1  # nobody listens
    try:
        answer(signed_in(app, "Bruno"), ids["path"], "cant")
    finally:
        app.config["SMTP_PORT"] = port
    assert subjects(mailbox, "Chiara") == []
    with app.app_context():
        mail = db.session.scalar(select(OutboxMail).where(OutboxMail.to_address == email("Chiara")))
        assert mail.sent_at is None and mail.attempts == 1 and mail.next_attempt_at is not None
        message_id = mail.message_id
        retry = mail.next_attempt_at
    with time_machine.travel(retry + dt.timedelta(seconds=5), tick=False), app.app_context():
        jobs.tick()
    assert subjects(mailbox, "Chiara") == ["Soup evening: a seat for you"]
    assert mailbox.last(email("Chiara"))["Message-ID"] == message_id


def test_the_job_runner_runs_each_job_once_per_period(app, mailbox):
    with app.app_context():
        ran = []
        registry = app.extensions["communitarium.areas"]
        registry.jobs["test-count"] = type(registry.jobs["mail"])("test-count", lambda now: ran.append(now),
                                                                   dt.timedelta(hours=1))
        try:
            with time_machine.travel(at(2026, 12, 1, 10), tick=False):
                assert jobs.tick()["test-count"] == "done"
                assert "test-count" not in jobs.tick()
            with time_machine.travel(at(2026, 12, 1, 11, 1), tick=False):
                assert jobs.tick()["test-count"] == "done"
            assert len(ran) == 2
            # A claim still leased is not taken again.
            now = at(2026, 12, 1, 13)
            assert jobs.claim("test-count", now) is True
            assert jobs.claim("test-count", now) is False
            assert jobs.claim("test-count", now + jobs.LEASE + dt.timedelta(seconds=1)) is True
        finally:
            del registry.jobs["test-count"]


def test_the_language_comes_from_the_browser_at_sign_up(app, mailbox):
    client = app.test_client()
    response = post(client, "/auth/register", {"email": "ines@example.org", "display_name": "Ines",
                                               "password": "a neighbourly walk at dusk", "time_zone": "Europe/Berlin"},
                    headers={"Accept-Language": "en-XA"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(User.language).where(User.email == "ines@example.org")) == "en_XA"


def test_leaving_a_circle_takes_its_notices_out_of_the_inbox(app, mailbox):
    ids = _crowd(app)
    _move(app, ids, place="The community hall")
    assert "Soup evening: changed" in seen(signed_in(app, "Bruno").get("/notices"))
    from app.circles import domain as circles
    with app.app_context():
        with write_unit():
            circles.leave_circle(ids["circle"], db.session.get(User, ids["Bruno"]))
    assert "Soup evening: changed" not in seen(signed_in(app, "Bruno").get("/notices"))


def test_a_new_digest_hour_moves_what_waits_for_the_digest(app, mailbox):
    ids = _crowd(app)
    with time_machine.travel(at(2026, 12, 1, 10), tick=False):
        # Signed in on the day travelled to: a session begun later would be refused then.
        bruno = signed_in(app, "Bruno")
        _move(app, ids, status="tentative")
        assert _notices(app, "Bruno")[-1].mail_due_at == at(2026, 12, 1, 18)
        response = post(bruno, "/notices/settings", settings_form(digest_hour=7))
        assert response.status_code == 303 and response.headers["Location"] == "/notices/settings"
    assert _notices(app, "Bruno")[-1].mail_due_at == at(2026, 12, 2, 7)


def test_gathering_times_in_mail_are_the_recipients_across_daylight_saving(app, mailbox):
    """Elm Street is in Berlin; Bruno reads in New York. In the three weeks of
    March when America has moved its clocks and Europe has not, 18:00 in
    Berlin is 13:00 in New York, not the usual 12:00: a fixed difference would
    be an hour off. Chiara, in Berlin, reads the time as it is."""
    from app.gatherings import reminders

    ids = neighbourhood(app, starts=dt.datetime(2027, 3, 20, 18, 0))
    with app.app_context():
        db.session.get(User, ids["Bruno"]).time_zone = "America/New_York"
        db.session.get(User, ids["Chiara"]).time_zone = "Europe/Berlin"
        db.session.commit()
    for name in ("Bruno", "Chiara"):
        answer(signed_in(app, name), ids["path"], "going")

    # The reminder the day before (in the digest): its body is the mail's text.
    with time_machine.travel(at(2027, 3, 19, 12), tick=False), app.app_context():
        reminders.remind()
    bruno, chiara = _notices(app, "Bruno")[-1], _notices(app, "Chiara")[-1]
    assert bruno.kind == chiara.kind == "gathering_tomorrow"
    assert ("When: Sat 20 Mar 2027, 13:00–15:00 your time (America/New York); Sat 20 Mar, 18:00–20:00 in "
            "Europe/Berlin") in bruno.body
    assert "When: Sat 20 Mar 2027, 18:00–20:00 (Europe/Berlin)" in chiara.body and "your time" not in chiara.body

    # Moved past Europe's change too: 18:00 in Berlin is 12:00 in New York again; mailed right away.
    _move(app, ids, starts_local=dt.datetime(2027, 4, 3, 18, 0), ends_local=dt.datetime(2027, 4, 3, 20, 0))
    bruno, chiara = _notices(app, "Bruno")[-1], _notices(app, "Chiara")[-1]
    assert bruno.kind == chiara.kind == "gathering_moved"
    assert ("When: Sat 3 Apr 2027, 12:00–14:00 your time (America/New York); Sat 3 Apr, 18:00–20:00 in "
            "Europe/Berlin") in bruno.body
    assert "When: Sat 3 Apr 2027, 18:00–20:00 (Europe/Berlin)" in chiara.body
    # A late evening in Berlin is the same evening in New York; one past midnight in Tokyo is the next day.
    with app.app_context():
        from app.templating import when_for

        with app.test_request_context():
            late = when_for(dt.datetime(2027, 4, 3, 22, 0), dt.datetime(2027, 4, 4, 1, 0), "Europe/Berlin",
                            "Asia/Tokyo")
    assert late == ("Sun 4 Apr 2027, 05:00–08:00 your time (Asia/Tokyo); Sat 3 Apr, 22:00 – Sun 4 Apr, 01:00 in "
                    "Europe/Berlin")


def test_a_quiet_hours_edge_across_a_daylight_saving_change(app, mailbox):
    """Quiet hours end on the wall clock, whatever the clocks did that night:
    22:00 to 02:00 on the spring-forward night (02:00 does not exist in Berlin
    on 28 March 2027: the end moves to 03:00 CEST, 01:00 UTC), and 21:00 to
    08:00 on the fall-back night (08:00 CET is 07:00 UTC, not the 06:00 UTC
    the evening's offset would give)."""
    ids = _crowd(app, starts=dt.datetime(2027, 11, 20, 18, 0))
    bruno = signed_in(app, "Bruno")
    changed = post(bruno, "/notices/settings", settings_form(quiet_from=22, quiet_until=2))
    assert changed.status_code == 303 and changed.location == "/notices/settings", changed.location
    with time_machine.travel(at(2027, 3, 27, 23, 30), tick=False):
        _move(app, ids, place="The community hall")
    held = _notices(app, "Bruno")[-1]
    assert held.mail_due_at == dt.datetime(2027, 3, 28, 1, 0, tzinfo=dt.UTC) == at(2027, 3, 28, 3)
    with time_machine.travel(dt.datetime(2027, 3, 28, 0, 59, tzinfo=dt.UTC), tick=False), app.app_context():
        jobs.tick()  # 01:59 on the wall clock: still quiet
    assert subjects(mailbox, "Bruno") == []
    with time_machine.travel(dt.datetime(2027, 3, 28, 1, 1, tzinfo=dt.UTC), tick=False), app.app_context():
        jobs.tick()  # 03:01 CEST: the clocks jumped over 02:00, the quiet is over
    assert subjects(mailbox, "Bruno") == ["Soup evening: changed"]

    mailbox.clear()
    bruno = signed_in(app, "Bruno")  # again: a session seen in March 2027 is not one for today
    changed = post(bruno, "/notices/settings", settings_form(quiet_from=21, quiet_until=8))
    assert changed.status_code == 303 and changed.location == "/notices/settings", changed.location
    with time_machine.travel(at(2027, 10, 30, 22, 30), tick=False):  # CEST, UTC+2
        _move(app, ids, place="The school yard")
    held = _notices(app, "Bruno")[-1]
    assert held.mail_due_at == dt.datetime(2027, 10, 31, 7, 0, tzinfo=dt.UTC)  # 08:00 CET, UTC+1
    with time_machine.travel(dt.datetime(2027, 10, 31, 6, 30, tzinfo=dt.UTC), tick=False), app.app_context():
        jobs.tick()  # 07:30 on the wall clock
    assert subjects(mailbox, "Bruno") == []
    with time_machine.travel(dt.datetime(2027, 10, 31, 7, 1, tzinfo=dt.UTC), tick=False), app.app_context():
        jobs.tick()
    assert subjects(mailbox, "Bruno") == ["Soup evening: changed"]


def _record_at_once(app, ids, occasion: str) -> list:
    """Two write units record the same notice at the same moment, on two
    connections: each has passed the look for an earlier record before either
    writes (a barrier between the look and the write). What each returns."""
    import threading

    from app.circles.models import Circle

    barrier = threading.Barrier(2, timeout=3)
    looked = notices.channel_for  # called after the look, before the write

    def waiting(*args):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass  # SQLite: the other unit waits for the one write lock, so it never looked
        return looked(*args)

    results = []

    def record():
        with app.app_context():
            bruno, circle = db.session.get(User, ids["Bruno"]), db.session.get(Circle, ids["circle"])
            with write_unit():
                made = notices.notify("gathering_changed", bruno, occasion, circle=circle, subject="S",
                                      template="circles/notices/welcomed.txt")
            results.append(made is not None)
            db.session.remove()

    notices.channel_for = waiting
    try:
        threads = [threading.Thread(target=record) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        notices.channel_for = looked
    return results


def test_two_records_of_the_same_occasion_at_once_record_one(app, mailbox):
    ids = _crowd(app)
    results = _record_at_once(app, ids, "at-once")
    assert sorted(results) == [False, True], results  # neither unit failed; one recorded
    assert count(app, Notice, Notice.occasion == "at-once") == 1


def test_negative_control_without_the_unique_key_the_same_race_records_two(app, mailbox):
    """The race above is real: without the key, both units pass the look and
    both write. (PostgreSQL only: SQLite's one write lock lets one unit look
    only after the other has written, so no race reaches the key there.)"""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        import pytest
        pytest.skip("SQLite serializes write units: the race needs PostgreSQL")
    ids = _crowd(app)
    with app.app_context():
        db.session.execute(db.text("ALTER TABLE notices DROP CONSTRAINT uq_notices_occasion"))
        db.session.commit()
    try:
        results = _record_at_once(app, ids, "at-once")
        assert results == [True, True], results
        assert count(app, Notice, Notice.occasion == "at-once") == 2
    finally:
        with app.app_context():
            db.session.execute(db.text("DELETE FROM notices WHERE occasion = 'at-once'"))
            db.session.execute(db.text("ALTER TABLE notices ADD CONSTRAINT uq_notices_occasion "
                                       "UNIQUE (kind, user_id, occasion)"))
            db.session.commit()


def test_the_readme_lists_every_kind_of_notice_with_its_default(app):
    """README's table of notices is the one place a person reads what they may
    be told: every registered kind is there, with its default channel."""
    from pathlib import Path

    from app.areas import areas

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z]+_[a-z_]+)` \| [^|]+ \| ([^|]+?) \|$", readme, re.M))
    words = {"now": "right away", "digest": "digest", "inbox": "only the inbox"}
    with app.app_context():
        kinds = {k.name: k.default for k in areas().notice_kinds.values() if not k.transactional}
    assert kinds, "no kinds of notice registered"
    assert {name: rows.get(name) for name in kinds} == {name: words[d] for name, d in kinds.items()}
    assert set(rows) <= set(kinds), set(rows) - set(kinds)  # nothing listed that no area sends


def test_default_quiet_hours_come_from_the_environment(monkeypatch, tmp_path):
    import pytest

    from app.config import from_environment

    monkeypatch.delenv("QUIET_HOURS", raising=False)
    assert from_environment(str(tmp_path))["QUIET_HOURS"] == (21, 8)
    for value, hours in (("22-7", (22, 7)), ("0-0", (0, 0)), (" 6 - 9 ", (6, 9))):
        monkeypatch.setenv("QUIET_HOURS", value)
        assert from_environment(str(tmp_path))["QUIET_HOURS"] == hours
    for bad in ("22", "22-x", "25-7", "-3-4", ""):
        monkeypatch.setenv("QUIET_HOURS", bad)
        with pytest.raises(ValueError, match="QUIET_HOURS"):
            from_environment(str(tmp_path))
