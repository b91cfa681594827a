"""Malformed input never makes a 5xx: every route of ``app.url_map``, swept.

Each route is tried anonymously and signed in (a member, or a steward who
also hosts where test_access says the route needs one), with a family of
malformed values in each place the route reads input:

- every path segment (``<slug>``, ``<token>``, ``<int:gathering_id>``, ...);
- every ``request.args.get("...")`` the view's source names, on every method,
  and ``?page=``, ``?before=``, ``?next=`` on every GET (a few of the worst
  values where the view does not read them);
- every field of every form the view builds (the FlaskForm classes its code
  names), and every raw ``request.form.get("...")`` its source names.

The family: a file uploaded in place of a field, a NUL byte, CR/LF, LF and ESC,
100 kB of text, huge and negative integers and non-ASCII digits ("²", "٣"),
and the years 9999 and 0001 in date fields, with a time zone west of UTC and
one east of it. Every other field holds a valid value (``BASELINES``), so the
malformed one reaches as deep as it can: the database, the mail, the page.

A response may be a clear 4xx, or a 200/303 where the input is harmless; never
a 5xx, neither on the page a redirect leads to, nor, after the sweep, on the
lists, feeds and calendar files that show what was stored. One-line fields
(names, titles, places, addresses) must refuse control characters with a 4xx,
and nothing of such a value may be stored.

Each endpoint is one test, which loops over its cases in a world of its own
(the autouse fixture empties the tables after each test) and lists every case
that went wrong: route, place, input, status, and the exception the app logged.

Routes come from the url_map; the role each needs comes from test_access's
tables (whose own test keeps them equal to the url_map), so a new route is
swept without an entry here. A new form needs only its valid values in
``BASELINES``; ``test_every_form_has_valid_values`` says so when they are missing.
"""

from __future__ import annotations

import datetime as dt
import inspect
import io
import itertools
import json
import logging
import re
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import quote, urlencode, urlsplit

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import JSON, String, Text, cast, or_, select
from werkzeug.routing import Map, Rule
from wtforms import (BooleanField, DateField, DateTimeField, HiddenField, IntegerField, PasswordField, RadioField,
                     SelectField, SelectMultipleField, StringField, TextAreaField)

from app.auth import domain as accounts
from app.auth.models import User
from app.circles import domain as circles
from app.circles.models import Circle, Invitation, JoinRequest
from app.database import write_unit
from app.extensions import db
from app.gatherings import feeds, guests, seats, series, slots
from app.gatherings.forms import SlotForm
from app.gatherings.models import Answer, Gathering
from app.tokens import new_token

from .circles_helpers import add_member, make_circle
from .gatherings_helpers import WHEN, days_ahead, email, make_gathering
from .helpers import PASSWORD, csrf_token, login, make_user
from .lending_helpers import LENDING_BASELINES, LENDING_PATHS, lending_sweep_world
from .test_access import CIRCLE_ROUTES, EXEMPT

# test_access keeps these two tables equal to the url_map's endpoints.
ENDPOINTS = sorted(CIRCLE_ROUTES | EXEMPT)

NEW_PASSWORD = "a kettle of green herons"
LONG = "x" * 100_000  # 100 kB: well under the 1 MiB request limit
WEST, EAST = "America/Los_Angeles", "Pacific/Kiritimati"  # UTC-8/-7 and UTC+14

# --- the family of malformed values ------------------------------------------------------

CONTROL = {"CR LF": "\r\n", "LF": "\n", "ESC": "\x1b[2J"}
NUMBERS = [("10**30", "1" + "0" * 30), ("-1", "-1"), ("2**63", str(2**63)), ("²", "²"), ("٣", "٣")]
SEGMENTS = [("NUL", "a\x00b"), ("CR LF", "a\r\nb"), ("ESC", "a\x1b[2Jb"), ("100 kB", LONG)] + NUMBERS
UNREAD = [SEGMENTS[0], SEGMENTS[1], NUMBERS[0], NUMBERS[3]]  # NUL, CR LF, 10**30, "²"
FAR_DATES = {"datetime": [("9999", "9999-12-31T23:59"), ("0001", "0001-01-01T00:00")],
             "date": [("9999", "9999-12-31"), ("0001", "0001-01-01")]}
FAR_PAIRS = [("9999", "9999-12-31T22:00", "9999-12-31T23:59"), ("0001", "0001-01-01T00:00", "0001-01-01T01:00")]


class Upload:
    """A file part sent in place of a field (a new one each time: a stream is read once)."""

    def part(self):
        return io.BytesIO(b"not a value but a file\n"), "notes.txt", "text/plain"


FILE = Upload()


def field_inputs(kind: str, base) -> list[tuple[str, Callable[[str], object]]]:
    """(label, value for a marker) for one field. ``base`` is its valid value,
    kept in front of a NUL or control character so that only the character can
    be what is refused; the marker is what the database is searched for afterwards."""
    base = base if isinstance(base, str) else ""
    inputs = [("file", lambda marker: FILE), ("NUL", lambda marker: f"{base}\x00{marker}")]
    inputs += [(label, lambda marker, char=char: f"{base}{char}{marker}") for label, char in CONTROL.items()]
    inputs.append(("100 kB", lambda marker: LONG))
    inputs += [(label, lambda marker, value=value: value) for label, value in NUMBERS if kind in ("int", "ids")]
    if kind == "ids":  # a list of ids (check boxes): each value alone in the list
        inputs = [(label, lambda marker, make=make: (lambda v: v if v is FILE else [v])(make(marker)))
                  for label, make in inputs]
    return inputs


# --- what the views read ----------------------------------------------------------------

FORM_GET = re.compile(r"request\.form\.(?:get|getlist)\(\s*[\"'](\w+)")
ARGS_GET = re.compile(r"request\.args\.(?:get|getlist)\(\s*[\"'](\w+)")
GENERIC_QUERY = ("page", "before", "next")


def view_of(app, endpoint: str):
    return inspect.unwrap(app.view_functions[endpoint])


def forms_of(app, endpoint: str) -> list[type[FlaskForm]]:
    """The form classes the view's own code names (helpers only render forms)."""
    view = view_of(app, endpoint)
    found = [view.__globals__.get(name) for name in view.__code__.co_names]
    return [f for f in found if isinstance(f, type) and issubclass(f, FlaskForm)]


def source_names(app, endpoint: str, pattern) -> list[str]:
    try:
        source = inspect.getsource(view_of(app, endpoint))
    except (OSError, TypeError):
        return []
    return sorted(set(pattern.findall(source)))


def kind_of(field) -> str:
    """How a field reads its input; "line" is a one-line text field."""
    if isinstance(field, DateField):
        return "date"
    if isinstance(field, DateTimeField):
        return "datetime"
    if isinstance(field, IntegerField):
        return "int"
    if isinstance(field, SelectMultipleField):
        return "ids" if field.coerce is not str else "choice"
    if isinstance(field, (SelectField, RadioField)):
        return "int" if field.coerce is not str else "choice"
    if isinstance(field, BooleanField):
        return "bool"
    if isinstance(field, PasswordField):
        return "secret"
    if isinstance(field, HiddenField):
        return "hidden"
    if isinstance(field, TextAreaField):
        return "text"
    if isinstance(field, StringField):
        return "line"
    return "other"


def fields_of(app, form_class) -> dict[str, str]:
    with app.test_request_context():
        form = form_class(meta={"csrf": False})
        return {f.name: kind_of(f) for f in form if f.name != "csrf_token"}


# Raw fields a view reads itself, by name: their kind and a valid value.
RAW_FIELDS = {"came": ("ids", lambda w: [str(w["came"])]), "which": ("choice", lambda w: "ours"),
              "upto": ("int", lambda w: str(w["talk_reply"]))}


def gathering_form(w, n) -> dict:
    starts = days_ahead(20)
    return {"title": "Soup evening", "description": "Bring a bowl.", "starts_local": starts.strftime(WHEN),
            "ends_local": (starts + dt.timedelta(hours=2)).strftime(WHEN), "time_zone": "Europe/Berlin",
            "place": "Elm Street 12", "online_url": "https://meet.example.org/soup", "capacity": "12",
            "max_guests": "2", "needs_approval": "", "status": "confirmed", "cohosts": [str(w["Chiara"])]}


def settings_form(w, n) -> dict:
    return {"name": "Elm Street", "description": "Neighbours.", "area": "Elm Street", "time_zone": "Europe/Berlin",
            "language": "en", "join_mode": "open", "join_question": "", "members_can_invite": "",
            "members_may_share": "y", "currency": "EUR"}


# Valid values for every field of every form, by class name: (world, case number) -> data.
BASELINES: dict[str, Callable[[dict, int], dict]] = {
    "PlainForm": lambda w, n: {},
    "TimesForm": lambda w, n: {"digest_hour": "18", "quiet_from": "21", "quiet_until": "8"},
    "LanguageForm": lambda w, n: {"language": "en"},
    "DeviceForm": lambda w, n: {"endpoint": f"https://push.example.net/send/{n}", "p256dh": "BA" + "A" * 85,
                                "auth": "A" * 22},
    "RegisterForm": lambda w, n: {"display_name": f"Neighbour {n}", "email": f"new{n}@example.org",
                                  "password": NEW_PASSWORD, "time_zone": "Europe/Berlin"},
    "LoginForm": lambda w, n: {"email": "ada@example.org", "password": PASSWORD, "remember": "y"},
    "ResetRequestForm": lambda w, n: {"email": "rosa@example.org"},
    "NewPasswordForm": lambda w, n: {"password": NEW_PASSWORD},
    "ChangePasswordForm": lambda w, n: {"current_password": PASSWORD, "password": NEW_PASSWORD},
    "TimeZoneForm": lambda w, n: {"time_zone": "Europe/Berlin"},
    "NameForm": lambda w, n: {"display_name": f"Rosa {n}"},
    # Only asks: the address changes when the mailed link is opened, which no case does.
    "ChangeEmailForm": lambda w, n: {"email": f"new-{n}@example.org", "current_password": PASSWORD},
    # A wrong password on purpose: no case deletes the account it sweeps with.
    "ConfirmPasswordForm": lambda w, n: {"password": "not my password at all"},
    "CircleSettingsForm": settings_form,
    "NewCircleForm": lambda w, n: settings_form(w, n) | {"name": "Oak Lane", "slug": f"oak-lane-{n}"},
    "InvitationForm": lambda w, n: {"days": "7", "max_uses": "10", "note": "flyer", "names_inviter": "y"},
    "NoticeForm": lambda w, n: {"text": "Soup on Fridays", "days": "30", "max_uses": "20", "asks_question": "y",
                                "names_inviter": "y", "size": "a4"},
    "CalendarAddressForm": lambda w, n: {"which": "mine", "replace": "y"},
    "GatheringNoticeForm": lambda w, n: {"text": "Bring a bowl", "size": "a4"},
    "OffersForm": lambda w, n: {"offers": "Soup on Sundays", "share_email": "y"},
    "CloseForm": lambda w, n: {"reason": "We moved away", "exported": "y"},
    "JoinForm": lambda w, n: {"answer": "Flat 3"},
    "VouchForm": lambda w, n: {"member": str(w["Chiara"]), "do": "vouch" if n % 2 else "withdraw"},
    "RemovalForm": lambda w, n: {"member": str(w["Dmitri"]), "reason": f"The shed key ({n}).", "kind": "consent",
                                 "report": ""},
    "ReportForm": lambda w, n: {"reason": f"Unkind ({n})."},
    "MemberReportForm": lambda w, n: {"member": str(w["Dmitri"]), "reason": f"Shouting ({n})."},
    "ActForm": lambda w, n: {"action": "dismiss", "note": f"Fine as it is ({n})."},
    "AgreementsForm": lambda w, n: {"body": f"- Be kind ({n})", "note": "Kindness", "how": "propose",
                                    "review_on": days_ahead(30).date().isoformat()},
    "NewGatheringForm": lambda w, n: gathering_form(w, n) | {"repeat": "", "interval": "1", "setpos": "1",
                                                             "until": ""},
    "GatheringForm": gathering_form,
    "SeriesForm": lambda w, n: {"title": "Repair café", "description": "Bring what is broken.",
                                "place": "Elm Street 12", "online_url": "", "capacity": "20"},
    "AnswerForm": lambda w, n: {"response": "going", "guests": "0", "message": "See you"},
    "CancelForm": lambda w, n: {"reason": "Rain"},
    "MoveForm": lambda w, n: {"to": "seated", "over_capacity": "y"},
    "SlotForm": lambda w, n: {"title": "Chairs", "needed": "2", "every_date": ""},
    "GuestForm": lambda w, n: {"name": "Gina", "email": f"guest{n}@example.org"},
    "DiscussionForm": lambda w, n: {"title": "Who has the key?", "body": "For the shed."},
    "ReplyForm": lambda w, n: {"body": f"I have it ({n})."},
    "ProposalForm": lambda w, n: {"kind": "time_poll", "title": "Garden day", "body": "Which Saturday?",
                                  "closes_local": days_ahead(3).strftime(WHEN), "quorum": "50", "open_results": "y",
                                  "option1": days_ahead(10).strftime(WHEN), "option2": days_ahead(17).strftime(WHEN),
                                  "option3": "", "option4": "", "duration": "120"},
    "PositionForm": lambda w, n: {"choice": "object", "reason": "Too bright."},
    "OutcomeForm": lambda w, n: {"outcome": "Green it is.", "review_on": days_ahead(30).date().isoformat()},
    "PollGatheringForm": lambda w, n: {"option": str(w["talk_option"]), "title": "Garden day", "place": "Yard"},
    "MealForm": lambda w, n: gathering_form(w, n) | {
        "style": "potluck", "portions": "12", "closes_local": "", "menu": "Soup", "allergens": ["celery"],
        "no_allergens": "", "diets": ["vegan"], "mains": "2", "sides": "1", "desserts": "1", "drinks": "1",
        "other": "Bread", "others": "1", "repeat": "", "interval": "1", "setpos": "1", "until": ""},
    "PartyForm": lambda w, n: {"adults": "1", "children": "1"},
    "DishForm": lambda w, n: {"need": "", "course": "side", "name": "Salad", "feeds": "6", "allergens": ["mustard"],
                              "no_allergens": "", "diets": ["vegan"]},
    "ChangeDishForm": lambda w, n: {"name": "Salad", "feeds": "6", "allergens": [], "no_allergens": "y",
                                    "diets": []},
    "MenuForm": lambda w, n: {"menu": "Soup", "allergens": ["celery"], "no_allergens": "", "diets": []},
    "ExpenseForm": lambda w, n: {"amount": "12.50", "note": "vegetables"},
    "DietaryForm": lambda w, n: {"avoids": ["nuts"], "diets": ["vegetarian"]},
}

BASELINES.update(LENDING_BASELINES)

# Fields that matter only together with another value: sent with it.
WITH = {"NewGatheringForm": {"until": {"repeat": "weekly"}, "interval": {"repeat": "weekly"},
                             "setpos": {"repeat": "monthly_weekday"}},
        "MealForm": {"until": {"repeat": "weekly"}, "interval": {"repeat": "weekly"},
                     "setpos": {"repeat": "monthly_weekday"}}}

# A valid baseline that is refused on purpose, and why.
REFUSED_BASELINE = {"circles.claim": "the place is kept for another address (as an import leaves it), so "
                                     "it stays for the next case",
                    "auth.delete_account": "the password is wrong on purpose, so the account stays",
                    "meals.finalize": "the soup evening's sign-ups are open (the party cases need them), "
                                      "so finalizing it is refused"}

# Routes whose success ends what the next case needs (a session, a membership,
# a kept invitation): each case gets a new person, signed in through the form.
NEW_PERSON_EACH_CASE = {"auth.logout": "member", "auth.sign_out_everywhere": "member",
                        "auth.change_password": "member", "circles.leave": "member",
                        "circles.join_link": "outsider", "circles.join_pending": "pending"}


# --- the world every route is swept in --------------------------------------------------

def place_kept_for_another(circle) -> str:
    """A place in a circle as an import leaves it, mailed to someone not in the sweep: the link's token."""
    from app.circles.models import Place
    from app.tokens import new_token as make_token

    placeholder = User(email=None, display_name="Moved Member", password_hash=None)
    db.session.add(placeholder)
    db.session.flush()
    raw, hashed = make_token()
    db.session.add(Place(circle_id=circle.id, user_id=placeholder.id, token_hash=hashed,
                         email="moved@example.org"))
    db.session.commit()
    return raw


def build_world(app) -> dict:
    """Elm Street (Ada steward and host; Bruno, Chiara, Dmitri members) with a
    gathering coming (Bruno seated, Chiara asking, a slot, open to guests, Gina
    a guest), one past (Bruno came), a weekly series, calendar feeds, an open
    invitation and a join request; Harbour (Eve's, joiners answer a question)
    with an invitation link; Rosa for reset links, Una unconfirmed for verify links."""
    with app.app_context():
        people = {n: make_user(email(n), n) for n in ("Ada", "Bruno", "Chiara", "Dmitri", "Eve", "Femi", "Rosa")}
        people["Una"] = make_user(email("Una"), "Una", verified=False)
        elm = make_circle(people["Ada"], "elm-street", "Elm Street")
        chiara_membership = None
        for n in ("Bruno", "Chiara", "Dmitri"):
            membership = add_member(elm, people[n])
            chiara_membership = membership.id if n == "Chiara" else chiara_membership
        harbour = make_circle(people["Eve"], "harbour", "Harbour", join_mode="question", join_question="Which flat?")
        harbour_link = circles.create_invitation(harbour, people["Eve"], days=30, max_uses=500)
        circles.create_invitation(elm, people["Ada"], days=7, max_uses=5)
        notice = circles.create_invitation(elm, people["Ada"], days=30, max_uses=20, notice_text="Soup on Fridays")
        db.session.add(JoinRequest(circle_id=elm.id, user_id=people["Femi"].id, answer="Flat 3"))
        db.session.commit()

        soup = make_gathering(elm, people["Ada"], capacity=10, max_guests=2)
        yesterday = make_gathering(elm, people["Ada"], "Yesterday", starts=days_ahead(-1), allow_past=True)
        guest_raw, guest_hash = new_token()
        starts = days_ahead(3)
        with write_unit():
            seats.answer(soup.id, people["Bruno"], "going")
            asking = Answer(gathering_id=soup.id, user_id=people["Chiara"].id, response="going", state="asking")
            came = Answer(gathering_id=yesterday.id, user_id=people["Bruno"].id, response="going", state="seated")
            db.session.add_all([asking, came, Answer(
                gathering_id=soup.id, guest_email="gina@example.org", guest_name="Gina",
                guest_token_hash=guest_hash, response="going", state="unconfirmed")])
            slot = slots.add_slot(soup, "Ladders", 2)
            public = guests.open_publicly(soup)
            repair, made = series.create_series(elm, people["Ada"], freq="weekly", title="Repair café",
                                                starts_local=starts, ends_local=starts + dt.timedelta(hours=2))
            ours, mine = feeds.make_feed(people["Ada"], elm), feeds.make_feed(people["Bruno"])
            # The soup evening is a meal too, with Bruno's dish and expense.
            from app.meals.models import Dish, Expense, Meal, Need
            db.session.add(Meal(gathering_id=soup.id, style="potluck", halves_taken=0, diets=[]))
            need = Need(gathering_id=soup.id, course="dessert", needed=2, taken=0)
            db.session.add(need)
            db.session.flush()
            dish = Dish(gathering_id=soup.id, user_id=people["Bruno"].id, course="main", name="Stew", feeds=6,
                        allergens=None, diets=[])
            expense = Expense(gathering_id=soup.id, user_id=people["Bruno"].id, amount_minor=500)
            db.session.add_all([dish, expense])
            db.session.flush()
            meal_ids = {"dish": dish.id, "expense": expense.id}
        lending = lending_sweep_world(elm, people["Ada"], people["Bruno"])
        talk_ids = talk_world(elm, people)
        from app.notify.models import PushSubscription
        device = PushSubscription(user_id=people["Bruno"].id, endpoint="https://push.example.net/send/bruno",
                                  p256dh="BA" + "A" * 85, auth="A" * 22, device="Firefox · Android")
        db.session.add(device)
        db.session.commit()
        meal_ids["device"] = device.id
        trust_ids = trust_world(elm, people, talk_ids)
        claim = place_kept_for_another(harbour)
        return {"claim": claim} | meal_ids | talk_ids | trust_ids | {n: u.id for n, u in people.items()} | {
            "elm": elm.id, "harbour": harbour.id, "harbour_link": harbour_link, "chiara_membership": chiara_membership,
            "invitation": db.session.scalar(select(Invitation.id).where(
                Invitation.circle_id == elm.id)), "notice": notice,
            "request": db.session.scalar(select(JoinRequest.id)), "soup": soup.id, "asking": asking.id,
            "guest": guest_raw, "slot": slot.id, "public": public, "yesterday": yesterday.id, "came": came.id,
            "series": repair.id, "occurrence": made[0].id, "feed_ours": ours.token, "feed_mine": mine.token,
            "lending": lending}


def talk_world(elm, people) -> dict:
    """In Elm Street: a discussion with a reply by Ada, an open proposal, and a
    time poll that has closed (its times still to come)."""
    from sqlalchemy import update

    from app.talk import domain as talk
    from app.talk.models import PollOption, Proposal

    with write_unit():
        discussion = talk.start_discussion(elm, people["Ada"], "Who has the key?", "For the shed.")
        reply = talk.reply(discussion.id, people["Ada"], "Chiara has it.")
        proposal = talk.open_proposal(discussion, people["Ada"], kind="consent", title="Paint the shed",
                                      closes_local=days_ahead(3))
        poll = talk.open_proposal(discussion, people["Ada"], kind="time_poll", title="Garden day",
                                  closes_local=days_ahead(3), options=[days_ahead(10), days_ahead(17)])
    from app.database import utcnow

    with write_unit():
        db.session.execute(update(Proposal).where(Proposal.id == poll.id).values(
            opened_at=utcnow() - dt.timedelta(days=5), closes_at=utcnow() - dt.timedelta(days=1)))
    option = db.session.scalar(select(PollOption.id).where(PollOption.proposal_id == poll.id))
    return {"talk_discussion": discussion.id, "talk_reply": reply.id, "talk_proposal": proposal.id,
            "talk_poll": poll.id, "talk_option": option}


def trust_world(elm, people, talk_ids) -> dict:
    """Elm Street's members have been there a month (so they may vouch), its
    agreements have a first version, and Chiara's report of Ada's reply waits."""
    from app.circles.models import Membership
    from app.database import utcnow
    from app.trust import agreements, moderation

    for membership in db.session.scalars(select(Membership).where(Membership.circle_id == elm.id)):
        membership.joined_at = utcnow() - dt.timedelta(days=30)
    db.session.commit()
    with write_unit():
        ada = db.session.scalar(select(Membership).where(Membership.circle_id == elm.id,
                                                         Membership.user_id == people["Ada"].id))
        agreements.change(elm, ada, "- Ask before you borrow", "First rules")
        report = moderation.report(elm, people["Chiara"], "reply", talk_ids["talk_reply"], "Not kind.")
    return {"trust_report": report.id}


def mint(app, user_id: int, purpose: str, email: str | None = None) -> str:
    """A fresh mailed link's token (verify, reset, change of address, its undo):
    a case may spend the last one."""
    with app.app_context():
        user = db.session.get(User, user_id)
        if purpose == "undo":
            email = user.email
        raw = accounts._issue_token(user, purpose, dt.timedelta(hours=1),
                                    **({"email": email} if email else {}))
        db.session.commit()
        return raw


def unsubscribe_link(app, user_id: int) -> str:
    from app.notify.domain import unsubscribe_token
    with app.app_context():
        return unsubscribe_token(user_id, "digest")


def path_values(app, w: dict, endpoint: str) -> dict:
    """Real values for every URL part, by name, with what some routes need instead."""
    values = {"slug": "elm-street", "gathering_id": w["soup"], "series_id": w["series"], "slot_id": w["slot"],
              "answer_id": w["asking"], "invitation_id": w["invitation"], "request_id": w["request"],
              "decision": "approve", "action": "take", "answer": w["guest"], "token": w["public"],
              "filename": "app.css", "member_id": w["chiara_membership"], "dish_id": w["dish"],
              "expense_id": w["expense"], "device_id": w["device"],
              "discussion_id": w["talk_discussion"], "reply_id": w["talk_reply"], "proposal_id": w["talk_proposal"],
              "report_id": w["trust_report"], "number": 1, "kind": "reply", "target_id": w["talk_reply"]}
    special = {
        "gatherings.attendance": lambda: {"gathering_id": w["yesterday"]},
        "gatherings.skip": lambda: {"gathering_id": w["occurrence"]},
        "gatherings.guest": lambda: {"action": "confirm"},
        "talk.outcome": lambda: {"proposal_id": w["talk_poll"]},
        "talk.make_gathering": lambda: {"proposal_id": w["talk_poll"]},
        "gatherings.feed": lambda: {"token": w["feed_ours"]},
        "circles.join_link": lambda: {"token": w["harbour_link"]},
        "circles.notice": lambda: {"token": w["notice"]},
        "circles.claim": lambda: {"token": w["claim"]},
        "auth.verify": lambda: {"token": mint(app, w["Una"], "verify")},
        "auth.reset_password": lambda: {"token": mint(app, w["Rosa"], "reset")},
        "auth.confirm_email": lambda: {"token": mint(app, w["Una"], "change",
                                                     email=f"una-{uuid.uuid4().hex[:8]}@example.org")},
        "auth.undo_email_change": lambda: {"token": mint(app, w["Rosa"], "undo")},
        "notify.unsubscribe": lambda: {"token": unsubscribe_link(app, w["Rosa"])},
    }
    values |= w["lending"] | LENDING_PATHS.get(endpoint, {})
    return values | special.get(endpoint, dict)()


# --- people -------------------------------------------------------------------------------

class Actor:
    """Who sends the cases: anonymous, or signed in through the form. A client
    that lost its session (a sign-out, a sign-in) is replaced before the next case."""

    def __init__(self, app, world, name: str, user: str | None = None, new_person: str | None = None):
        self.app, self.world, self.name, self.user, self.new_person = app, world, name, user, new_person
        self._client = None
        self._people = itertools.count(1)

    def client(self):
        if self.new_person or self._client is None or not self._as_expected(self._client):
            self._client = self._sign_in()
        return self._client

    @property
    def signed_in(self) -> bool:
        return self.user is not None or self.new_person is not None

    def _as_expected(self, client) -> bool:
        with client.session_transaction() as session:
            return ("_user_id" in session) == self.signed_in

    def _sign_in(self):
        client = self.app.test_client()
        address = email(self.user) if self.user else None
        if self.new_person:
            address = f"person{next(self._people)}@example.org"
            with self.app.app_context():
                person = make_user(address, "Pat")
                if self.new_person == "member":
                    add_member(db.session.get(Circle, self.world["elm"]), person)
                elif self.new_person == "pending":
                    circles.remember_invitation(person, circles.find_invitation(self.world["harbour_link"]))
                    db.session.commit()
        if address:
            assert login(client, email=address).status_code == 303, f"{address} could not sign in"
        client.csrf = None
        return client

    def set_time_zone(self, zone: str) -> None:
        if self.user:
            with self.app.app_context():
                db.session.get(User, self.world[self.user]).time_zone = zone
                db.session.commit()


# Pages outside a circle's URLs that only those who may invite see.
FOR_INVITERS = {"circles.notice"}


def actors_for(app, world, endpoint: str) -> list[Actor]:
    role = CIRCLE_ROUTES.get(endpoint, "inviter" if endpoint in FOR_INVITERS else "member")
    user = "Bruno" if role == "member" else "Ada"
    signed_in = (Actor(app, world, f"new {NEW_PERSON_EACH_CASE[endpoint]}", new_person=NEW_PERSON_EACH_CASE[endpoint])
                 if endpoint in NEW_PERSON_EACH_CASE else
                 Actor(app, world, f"{user} ({'member' if user == 'Bruno' else 'steward, host'})", user=user))
    return [Actor(app, world, "anonymous"), signed_in]


# --- sending and judging ------------------------------------------------------------------

class Errors(logging.Handler):
    """Keeps what the app logs with a traceback (app/errors.py logs every 500)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def describe(error: BaseException, root: Path) -> str:
    """One line: the exception (the driver's own, for a database error), the
    last line of ours it passed through and the view's line it came from."""
    frames = traceback.extract_tb(error.__traceback__)
    at = [f"{Path(f.filename).relative_to(root)}:{f.lineno} in {f.name}"
          for f in frames if f.filename.startswith(str(root / "app"))]
    views = [a for a in at if "routes.py" in a]  # the first is the view the request came to
    where = ""
    if at:
        where = f" [{at[-1]}, from {views[0]}]" if views and views[0] != at[-1] else f" [{at[-1]}]"
    cause = getattr(error, "orig", None)  # SQLAlchemy wraps the driver's exception
    name = f"{type(error).__name__} ({type(cause).__module__}.{type(cause).__name__})" if cause else type(error).__name__
    message = (str(cause or error).strip().splitlines() or [""])[0][:180]
    return f"{name}: {message}{where}"


@dataclass
class Case:
    method: str
    url: str
    shown: str  # the URL with the malformed value named, not spelled out
    where: str  # "path <token>", "query ?page", "field title", "baseline"
    label: str
    data: dict | None = None
    marker: str | None = None  # a one-line field with a control character: refuse it, store nothing
    zone: str | None = None


class Sweep:
    """The cases of one endpoint, sent by each actor in a world of its own;
    ``failures`` holds one line per case that went wrong."""

    def __init__(self, app, endpoint: str):
        self.app, self.endpoint = app, endpoint
        self.world = build_world(app)
        self.failures: list[str] = []
        self.count = 0
        self.numbers = itertools.count(1)
        self.root = Path(app.root_path).parent
        self.errors = Errors()
        self.text_columns = [(t, cols) for t in db.metadata.sorted_tables
                             if (cols := [c for c in t.columns if isinstance(c.type, (String, JSON))])]
        self.forms = forms_of(app, endpoint)
        self.fields = self._fields()

    # -- building cases

    def _fields(self) -> dict[str, tuple[str, Callable]]:
        """Every field the view reads: name -> (kind, its valid value for the world and a case number)."""
        fields = {}
        for form_class in self.forms:
            baseline = BASELINES[form_class.__name__]
            for name, kind in fields_of(self.app, form_class).items():
                fields[name] = (kind, lambda w, n, b=baseline, name=name: b(w, n).get(name, ""))
        for name in source_names(self.app, self.endpoint, FORM_GET):
            kind, value = RAW_FIELDS.get(name, ("text", lambda w: ""))
            fields[name] = (kind, lambda w, n, value=value: value(w))
        return fields

    def baseline(self, n: int) -> dict:
        return {name: value(self.world, n) for name, (_kind, value) in self.fields.items()}

    def with_for(self, field: str) -> dict:
        extra = {}
        for form_class in self.forms:
            extra |= WITH.get(form_class.__name__, {}).get(field, {})
        return extra

    def build(self, rule, values: dict, swept: str | None = None, value: str = "",
              label: str = "") -> tuple[str, str]:
        """(URL, URL as shown in a message): real values, one part (``swept``)
        replaced by a malformed one. Built from the rule with its converters
        taken out (they would refuse the value), then substituted."""
        values = {k: str(v) for k, v in values.items() if k in rule.arguments}
        if swept:
            values[swept] = "zzsweptzz"
        plain = Rule(re.sub(r"<(?:[^<>:]+:)?(\w+)>", r"<\1>", rule.rule), endpoint="plain")
        url = Map([plain]).bind("localhost").build("plain", values)
        if not swept:
            return url, url
        return url.replace("zzsweptzz", quote(value, safe="")), url.replace("zzsweptzz", f"<{label}>")

    def url(self, rule) -> str:
        """The route's URL with real values (a new mailed token where the route spends one)."""
        return self.build(rule, path_values(self.app, self.world, self.endpoint))[0]

    # -- sending and judging

    def send(self, actor: Actor, case: Case) -> tuple[int | None, str | None]:
        self.count += 1
        client = actor.client()
        if case.zone:
            actor.set_time_zone(case.zone)
        status, location, trouble = self.request(client, case.method, case.url, case.data)
        if status == 400 and trouble == "csrf":  # the session changed under the client: read the token again
            client.csrf = None
            status, location, trouble = self.request(client, case.method, case.url, case.data)
        what = f"{actor.name}: {case.method} {case.shown[:160]} {case.where}={case.label}"
        if case.zone:
            what += f" (time zone {case.zone})"
        if status is None or status >= 500:
            self.failures.append(f"{what} -> {status or 'raised'}: {trouble}")
            return status, location
        if (case.where == "baseline" and status >= 400 and actor.signed_in
                and self.endpoint not in REFUSED_BASELINE):
            self.failures.append(f"{what} -> {status}: valid values refused, so the cases may not reach "
                                 f"deep: fix BASELINES or the world")
        if case.marker is not None:
            stored = self.stored(case.marker)
            if not 400 <= status < 500 or stored:
                self.failures.append(f"{what} -> {status}, wanted a 4xx"
                                     + (f"; stored in {', '.join(stored)}" if stored else ""))
        if case.method != "GET" and location is not None and 300 <= status < 400:
            self.follow(client, location, what)
        return status, location

    def request(self, client, method: str, url: str, data: dict | None):
        """(status, Location, trouble): trouble is the exception's line, or "csrf"."""
        self.errors.records.clear()
        if method != "GET":
            if client.csrf is None:
                client.csrf = csrf_token(client)
            data = {k: (v.part() if v is FILE else v) for k, v in (data or {}).items()}
            data["csrf_token"] = client.csrf
        try:
            response = client.open(url, method=method, data=data)
        except Exception as error:  # the error page itself failed, and TESTING propagates it
            return None, None, describe(error, self.root)
        status, trouble = response.status_code, None
        if status >= 500:
            logged = [r for r in self.errors.records if r.exc_info]
            trouble = describe(logged[0].exc_info[1], self.root) if logged else "(nothing logged)"
            if len(logged) > 1:
                trouble += f" (then {len(logged) - 1} more logged)"
        elif status == 400 and b"The form had expired" in response.get_data():
            trouble = "csrf"
        return status, response.headers.get("Location"), trouble

    def follow(self, client, location: str, what: str) -> None:
        """One hop, as a browser does after a post: the page must show whatever was stored.
        (A GET's redirect, to sign in mostly, leads to a page swept on its own.)"""
        if urlsplit(location).netloc not in ("", "localhost"):
            return
        status, _location, trouble = self.request(client, "GET", location, None)
        if status is None or status >= 500:
            shown = location if len(location) < 160 else location[:157] + "..."
            self.failures.append(f"{what} -> then GET {shown} -> {status or 'raised'}: {trouble}")

    def stored(self, marker: str) -> list[str]:
        """Where a value carrying ``marker`` was stored ("table.column")."""
        found = set()
        with self.app.app_context():
            for table, columns in self.text_columns:
                rows = db.session.execute(select(*columns).where(
                    or_(*(cast(c, Text).contains(marker) for c in columns)))).all()
                for row in rows:
                    found |= {f"{table.name}.{column.name}" for column, value in zip(columns, row)
                              if marker in (value if isinstance(value, str) else json.dumps(value))}
            db.session.remove()
        return sorted(found)

    # -- the sweep

    def run(self, actors: list[Actor] | None = None, only_fields: set[str] | None = None) -> list[str]:
        self.app.logger.addHandler(self.errors)
        try:
            for actor in actors or actors_for(self.app, self.world, self.endpoint):
                for rule in [r for r in self.app.url_map.iter_rules() if r.endpoint == self.endpoint]:
                    for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                        self.sweep(actor, rule, method, only_fields)
                if only_fields is None:
                    self.look_around(actor)
        finally:
            self.app.logger.removeHandler(self.errors)
        return self.failures

    def sweep(self, actor: Actor, rule, method: str, only_fields: set[str] | None) -> None:
        post = method != "GET"
        url = self.url(rule)
        status, location = self.send(actor, Case(method, url, url, "baseline", "valid",
                                                 self.baseline(next(self.numbers)) if post else None))
        if only_fields is None:
            self.sweep_path(actor, rule, method)
            self.sweep_query(actor, rule, method)
        if post and not self.sent_away(actor, rule, status, location):
            self.sweep_fields(actor, rule, method, only_fields)

    def sent_away(self, actor: Actor, rule, status: int | None, location: str | None) -> bool:
        """True where the route sends this person elsewhere before it reads the
        form (a visitor to sign in; someone signed in away from the sign-in
        form): a post of valid values is answered as a plain visit is."""
        if status not in (302, 303):
            return False
        if not actor.signed_in and (location or "").startswith("/auth/login"):
            return True
        if "GET" not in rule.methods:
            return False
        visit, visit_location, _trouble = self.request(actor.client(), "GET", self.url(rule), None)
        return (visit, visit_location) == (status, location)

    def sweep_path(self, actor: Actor, rule, method: str) -> None:
        for name in sorted(rule.arguments):
            for label, value in SEGMENTS:
                url, shown = self.build(rule, path_values(self.app, self.world, self.endpoint), name, value, label)
                self.send(actor, Case(method, url, shown, f"path <{name}>", label,
                                      self.baseline(next(self.numbers)) if method != "GET" else None))

    def sweep_query(self, actor: Actor, rule, method: str) -> None:
        """The parameters the view reads get the whole family; the usual ones it
        does not read (a hook might) get a few of the worst on every GET."""
        read = source_names(self.app, self.endpoint, ARGS_GET)
        for name in sorted(set(read) | (set(GENERIC_QUERY) if method == "GET" else set())):
            for label, value in SEGMENTS if name in read else UNREAD:
                # ?next= must look like a path of ours to be followed at all.
                value = "/" + value if name == "next" else value
                url = self.url(rule)
                self.send(actor, Case(method, f"{url}?{urlencode({name: value})}", f"{url}?{name}=<{label}>",
                                      f"query ?{name}", label,
                                      self.baseline(next(self.numbers)) if method != "GET" else None))

    def sweep_fields(self, actor: Actor, rule, method: str, only_fields: set[str] | None) -> None:
        shown = self.url(rule)
        dated = sorted(name for name, (kind, _v) in self.fields.items() if kind == "datetime")
        for name, (kind, _value) in self.fields.items():
            if only_fields is not None and name not in only_fields:
                continue
            for label, make in field_inputs(kind, self.baseline(0).get(name)):
                n = next(self.numbers)
                marker = f"mk{n}q"
                control = kind == "line" and label in CONTROL
                data = self.baseline(n) | self.with_for(name) | {name: make(marker)}
                self.send(actor, Case(method, self.url(rule), shown, f"field {name}", label, data,
                                      marker=marker if control else None))
            for zone in (WEST, EAST) if kind in FAR_DATES else ():
                for label, value in FAR_DATES[kind]:
                    data = self.baseline(next(self.numbers)) | self.with_for(name) | {name: value}
                    if "time_zone" in self.fields:
                        data["time_zone"] = zone
                    self.send(actor, Case(method, self.url(rule), shown, f"field {name}", label, data, zone=zone))
        if len(dated) >= 2 and (only_fields is None or only_fields & set(dated)):
            # Both ends far away, so that "it ends before it starts" is not what refuses them.
            for zone in (WEST, EAST):
                for label, starts, ends in FAR_PAIRS:
                    data = self.baseline(next(self.numbers)) | {dated[-1]: starts, dated[0]: ends}
                    if "time_zone" in self.fields:
                        data["time_zone"] = zone
                    self.send(actor, Case(method, self.url(rule), shown, f"fields {dated[-1]}+{dated[0]}",
                                          label, data, zone=zone))
        actor.set_time_zone("Europe/Berlin")

    def look_around(self, actor: Actor) -> None:
        """Whatever the cases stored, the pages that show it must still open: the
        lists, the feeds, the world's gatherings, and every gathering's calendar
        file (each case's own page was opened when its redirect was followed)."""
        w = self.world
        with self.app.app_context():
            ids = sorted(db.session.scalars(select(Gathering.id)))
            db.session.remove()
        pages = ["/", "/c/elm-street/", "/c/elm-street/gatherings", "/c/elm-street/gatherings/past",
                 "/c/elm-street/log", "/c/elm-street/members", "/c/elm-street/calendar", "/auth/account",
                 f"/feeds/{w['feed_ours']}.ics", f"/feeds/{w['feed_mine']}.ics", f"/g/{w['public']}"]
        pages += [f"/c/elm-street/gatherings/{w[g]}" for g in ("soup", "yesterday", "occurrence")]
        pages += [f"/c/elm-street/gatherings/{g}/calendar.ics" for g in ids]
        client = actor.client()
        for page in pages:
            status, _location, trouble = self.request(client, "GET", page, None)
            if status is None or status >= 500:
                self.failures.append(f"{actor.name}: GET {page} after the sweep -> {status or 'raised'}: {trouble}")


# --- the tests --------------------------------------------------------------------------

def test_every_route_is_swept(app):
    """Every route of the url_map is in the parametrization (through test_access's tables)."""
    missing = sorted({r.endpoint for r in app.url_map.iter_rules()} - set(ENDPOINTS))
    assert not missing, f"routes the sweep does not know (add them to test_access's tables): {missing}"


def test_every_form_has_valid_values(app):
    """A form without valid values cannot be swept: its cases would be refused for the wrong field."""
    world = build_world(app)
    missing = {}
    for endpoint in ENDPOINTS:
        for form_class in forms_of(app, endpoint):
            if form_class.__name__ not in BASELINES:
                missing[form_class.__name__] = "no entry in BASELINES"
                continue
            without = set(fields_of(app, form_class)) - set(BASELINES[form_class.__name__](world, 0))
            if without:
                missing[form_class.__name__] = f"fields without a value: {sorted(without)}"
    assert not missing, missing


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_malformed_input_never_makes_a_5xx(app, endpoint):
    sweep = Sweep(app, endpoint)
    failures = sweep.run()
    assert sweep.count > 0
    assert not failures, f"{len(failures)} of {sweep.count} cases on {endpoint}:\n" + "\n".join(failures)


def test_the_sweep_can_fail(app, monkeypatch):
    """Negative control, patched in from outside so that it holds whatever the
    app's fix refuses: a slot form that accepts anything, and slots that crash
    on their usual title. The crash is reported with its exception, and a title
    with a line break as taken and stored."""
    real = slots.add_slot

    def fragile(gathering, title, needed):
        if title == "Chairs":
            raise RuntimeError("the usual title crashed")
        return real(gathering, title, needed)

    monkeypatch.setattr(slots, "add_slot", fragile)
    monkeypatch.setattr(SlotForm, "validate_on_submit", lambda form: True)
    sweep = Sweep(app, "gatherings.add_slot")
    failures = sweep.run(actors=[Actor(app, sweep.world, "Ada", user="Ada")], only_fields={"title"})
    assert any("baseline=valid -> 500: RuntimeError: the usual title crashed" in f for f in failures), failures
    assert any("field title=CR LF -> 303, wanted a 4xx; stored in gathering_slots.title" in f
               for f in failures), failures
