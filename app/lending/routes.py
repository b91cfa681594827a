"""Lending views: thin. Each write is one unit opened here; the rules live in
things.py, loans.py, waitlist.py; photos are decoded before the unit."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import delete, select

from ..circles import domain as circles
from ..circles.access import circle_page, members_file
from ..database import utcnow, write_unit
from ..extensions import db
from ..forms import form_page, int_arg, show_error
from ..i18n import _
from ..templating import day_words
from . import bp, loans, photos, queries, things, waitlist
from .errors import LendingError
from .forms import (CATEGORY_LABELS, CONDITION_LABELS, ExtendForm, MoveDatesForm, NewThingForm, NoteForm, PhotoForm,
                    RequestForm, StatusForm, ThingForm, WaitForm)
from .models import CATEGORIES, Photo, Reservation, Thing, WaitEntry


def _thing(circle, thing_id: int) -> Thing:
    thing = db.session.get(Thing, thing_id)
    if thing is None or thing.circle_id != circle.id:
        abort(404)
    return thing


def _handled(circle, thing_id: int) -> Thing:
    thing = _thing(circle, thing_id)
    if not things.can_handle(thing, current_user):
        abort(403)
    return thing


def _reservation(circle, reservation_id: int) -> Reservation:
    """A request or loan of this circle that the person is one side of; 404
    for anyone else (who borrowed what is nobody else's business)."""
    reservation = db.session.get(Reservation, reservation_id)
    if reservation is None or reservation.thing.circle_id != circle.id:
        abort(404)
    if reservation.borrower_id != current_user.id and not things.can_handle(reservation.thing, current_user):
        abort(404)
    return reservation


def _to_thing(circle, thing_id: int):
    return redirect(url_for("lending.thing", slug=circle.slug, thing_id=thing_id), 303)


def _thing_fields(form) -> dict:
    return {"name": form.name.data, "description": form.description.data or "", "category": form.category.data,
            "condition": form.condition.data, "pickup_place": form.pickup_place.data or "",
            "house_rules": form.house_rules.data or "", "max_loan_days": form.max_loan_days.data,
            "buffer_days": form.buffer_days.data or 0, "auto_accept": form.auto_accept.data}


# --- the library -------------------------------------------------------------------------

@bp.route("/c/<slug>/library")
@login_required
@circle_page()
def library(circle, membership):
    category = request.args.get("category") or None
    if category is not None and category not in CATEGORIES:
        abort(404)
    name = (request.args.get("q") or "").strip()[:60]
    page = int_arg("page", 1, highest=10_000)
    today = things.today_in(circle)
    items, more = queries.library(circle, today, category, name, page)
    return render_template("lending/library.html", circle=circle, membership=membership, things=items, more=more,
                           page=page, category=category, q=name, categories=CATEGORY_LABELS)


@bp.route("/c/<slug>/library/new", methods=["GET", "POST"])
@login_required
@circle_page()
def new(circle, membership):
    members = [m for m in circles.members(circle) if m.user_id != current_user.id]
    form = NewThingForm(members=members)
    if form.validate_on_submit():
        chosen = set(form.keepers.data or [])
        keepers = [m.user for m in members if m.user_id in chosen]
        with write_unit():
            thing = things.create_thing(circle, current_user, circle_owned=form.owner.data == "circle",
                                        keepers=keepers, **_thing_fields(form))
        flash(_("Listed. Add a photo if you like."), "success")
        return _to_thing(circle, thing.id)
    return form_page("lending/new.html", form, circle=circle, membership=membership)


@bp.route("/c/<slug>/library/<int:thing_id>/edit", methods=["GET", "POST"])
@login_required
@circle_page()
def edit(circle, membership, thing_id):
    thing = _handled(circle, thing_id)
    form = ThingForm(obj=thing, description=thing.description_source)
    if form.validate_on_submit():
        from ..text import render_markdown

        with write_unit():
            thing = things.lock_for(thing.id)
            for key, value in _thing_fields(form).items():
                if key == "description":
                    thing.description_source, thing.description_html = value, render_markdown(value)
                else:
                    setattr(thing, key, value)
        flash(_("Saved."), "success")
        return _to_thing(circle, thing_id)
    return form_page("lending/edit.html", form, **_edit_context(circle, membership, thing, details_form=form))


def _edit_context(circle, membership, thing, details_form=None, photo_form=None, status_form=None) -> dict:
    return {"circle": circle, "membership": membership, "thing": thing,
            "details_form": details_form or ThingForm(formdata=None, obj=thing, description=thing.description_source),
            "photo_form": photo_form or PhotoForm(formdata=None),
            "status_form": status_form or StatusForm(formdata=None, status=thing.status, reason=thing.status_reason)}


# --- a thing ------------------------------------------------------------------------------

@dataclass(frozen=True)
class GatheringChoice:
    id: int
    label: str


def _gathering_choices(circle) -> list[GatheringChoice]:
    """The circle's next gatherings, to hand a thing over at one."""
    from ..gatherings.models import Gathering

    rows = db.session.execute(select(Gathering.id, Gathering.title, Gathering.starts_local).where(
        Gathering.circle_id == circle.id, Gathering.status != "cancelled", Gathering.starts_at > utcnow())
        .order_by(Gathering.starts_at).limit(8)).all()
    return [GatheringChoice(r[0], f"{r[1]} ({day_words(r[2].date())})") for r in rows]


def _thing_page(circle, membership, thing, request_form=None, wait_form=None, note_form=None,
                extend_form=None, move_form=None, status=200):
    today = things.today_in(circle)
    handler = things.can_handle(thing, current_user)
    gatherings = _gathering_choices(circle)
    context = {
        "circle": circle, "membership": membership, "thing": thing, "handler": handler, "today": today,
        "calendar": queries.calendar(thing, current_user.id, today),
        "blocked": things.blocked_reason(thing),
        "request_form": request_form or RequestForm(formdata=None, gatherings=gatherings),
        "wait_form": wait_form or WaitForm(formdata=None),
        "note_form": note_form or NoteForm(formdata=None),
        "extend_form": extend_form or ExtendForm(formdata=None),
        "move_form": move_form or MoveDatesForm(formdata=None),
        "reservations": queries.reservations_of_thing(thing) if handler else [],
        "mine": queries.mine_of_thing(thing, current_user),
        "waitlist": queries.waitlist_of(thing),
        "condition": CONDITION_LABELS.get(thing.condition, thing.condition),
        "category": CATEGORY_LABELS.get(thing.category, thing.category),
        "now": utcnow(), "is_overdue": loans.is_overdue,
    }
    return render_template("lending/thing.html", **context), status


@bp.route("/c/<slug>/library/<int:thing_id>")
@login_required
@circle_page()
def thing(circle, membership, thing_id):
    return _thing_page(circle, membership, _thing(circle, thing_id))


@bp.route("/c/<slug>/library/<int:thing_id>/request", methods=["POST"])
@login_required
@circle_page()
def ask(circle, membership, thing_id):
    found = _thing(circle, thing_id)
    form = RequestForm(gatherings=_gathering_choices(circle))
    if form.validate_on_submit():
        gathering_id = form.gathering.data or None
        if gathering_id is not None and gathering_id not in {g[0] for g in form.gathering.choices}:
            gathering_id = None
        try:
            with write_unit():
                made = loans.request(found, current_user, form.start_date.data, form.end_date.data,
                                     form.message.data or "", gathering_id)
        except LendingError as error:
            show_error(form, error)
        else:
            flash(_("It is yours for those dates.") if made.status == "accepted"
                  else _("Asked. You will hear by mail when the owner answers."), "success")
            return _to_thing(circle, thing_id)
    wait_form = None
    if form.start_date.errors and form.start_date.data and form.end_date.data:
        # The dates are taken: the waitlist below opens with the same days, so waiting for them is one tap.
        wait_form = WaitForm(formdata=None, start_date=form.start_date.data, end_date=form.end_date.data)
    return _thing_page(circle, membership, _thing(circle, thing_id), request_form=form, wait_form=wait_form,
                       status=422)


@bp.route("/c/<slug>/library/<int:thing_id>/wait", methods=["POST"])
@login_required
@circle_page()
def wait(circle, membership, thing_id):
    found = _thing(circle, thing_id)
    form = WaitForm()
    if form.validate_on_submit():
        try:
            with write_unit():
                thing_row = things.lock_for(found.id)
                loans.check_dates(thing_row, form.start_date.data, form.end_date.data, things.today_in(circle))
                waitlist.join(thing_row, current_user, form.start_date.data, form.end_date.data)
        except LendingError as error:
            show_error(form, error)
        else:
            flash(_("You are on the waitlist. When it frees, you will be offered it by mail."), "success")
            return _to_thing(circle, thing_id)
    return _thing_page(circle, membership, _thing(circle, thing_id), wait_form=form, status=422)


@bp.route("/c/<slug>/library/waitlist/<int:entry_id>/<any(take, leave):action>", methods=["POST"])
@login_required
@circle_page()
def waitlist_place(circle, membership, entry_id, action):
    entry = db.session.get(WaitEntry, entry_id)
    if entry is None or entry.thing.circle_id != circle.id or entry.user_id != current_user.id:
        abort(404)
    thing_id = entry.thing_id
    form = NoteForm()
    if form.validate_on_submit():
        try:
            with write_unit():
                if action == "take":
                    waitlist.take_offer(entry_id, current_user)
                else:
                    waitlist.leave(entry_id, current_user)
        except LendingError as error:
            flash(str(error), "error")
        else:
            flash(_("Asked for your dates.") if action == "take" else _("You have left the waitlist."), "success")
    return _to_thing(circle, thing_id)


@bp.route("/c/<slug>/library/reservations/<int:reservation_id>/<any(accept, decline, cancel, pickup, return, "
          "extend, move):step>", methods=["POST"])
@login_required
@circle_page()
def act(circle, membership, reservation_id, step):
    reservation = _reservation(circle, reservation_id)
    thing_id = reservation.thing_id
    form = ExtendForm() if step == "extend" else MoveDatesForm() if step == "move" else NoteForm()
    if form.validate_on_submit():
        try:
            with write_unit():
                if step == "extend":
                    loans.extend(reservation_id, current_user, form.end_date.data)
                elif step == "move":
                    loans.move(reservation_id, current_user, form.start_date.data, form.end_date.data)
                else:
                    do = {"accept": loans.accept, "decline": loans.decline, "cancel": loans.cancel,
                          "pickup": loans.pick_up, "return": loans.confirm_return}[step]
                    do(reservation_id, current_user, form.note.data or "")
        except LendingError as error:
            show_error(form, error)
        else:
            flash(DONE[step](), "success")
            return _to_thing(circle, thing_id)
    kwargs = {"extend_form": form} if step == "extend" else {"move_form": form} if step == "move" else {
        "note_form": form}
    return _thing_page(circle, membership, _thing(circle, thing_id), status=422, **kwargs)


DONE = {"accept": lambda: _("Accepted. The borrower is told."),
        "decline": lambda: _("Declined. The borrower is told."),
        "cancel": lambda: _("Cancelled."),
        "pickup": lambda: _("Handed over. Enjoy it."),
        "return": lambda: _("Return noted. Once both sides confirm, the loan is over."),
        "extend": lambda: _("Extended."),
        "move": lambda: _("Moved. The borrower is told.")}


@bp.route("/c/<slug>/library/<int:thing_id>/status", methods=["POST"])
@login_required
@circle_page()
def set_status(circle, membership, thing_id):
    thing_row = _handled(circle, thing_id)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            with write_unit():
                pending = things.set_status(things.lock_for(thing_row.id), current_user, form.status.data,
                                            form.reason.data or "")
        except LendingError as error:
            show_error(form, error)
        else:
            if pending and form.status.data != "available":
                flash(_("Saved. Requests and reservations already made are listed below: cancel or keep "
                        "each one."), "info")
            else:
                flash(_("Saved."), "success")
            return _to_thing(circle, thing_id)
    return form_page("lending/edit.html", form, **_edit_context(circle, membership, thing_row, status_form=form))


# --- photos -------------------------------------------------------------------------------

@bp.url_value_preprocessor
def _photo_upload_limit(endpoint, _values):
    # The one route that takes a file has a limit of its own; every other
    # form keeps the app's MAX_CONTENT_LENGTH. URL value preprocessors run
    # before every before_request hook, so the app-wide CSRF check already
    # reads this body under the upload's limit.
    if endpoint == "lending.photo" and request.method == "POST":
        request.max_content_length = photos.MAX_UPLOAD + 64 * 1024


@bp.route("/c/<slug>/library/<int:thing_id>/photo", methods=["POST"])
@login_required
@circle_page()
def photo(circle, membership, thing_id):
    thing_row = _handled(circle, thing_id)
    form = PhotoForm()
    if form.validate_on_submit():
        try:
            data = form.photo.data.read(photos.MAX_UPLOAD + 1)
            processed = photos.process(data)  # slow: before the unit
            with write_unit():
                locked = things.lock_for(thing_row.id)
                # One photo a thing: the one it had goes.
                db.session.execute(delete(Photo).where(Photo.thing_id == locked.id))
                db.session.add(Photo(thing_id=locked.id, content_hash=processed.content_hash,
                                     small=processed.small, large=processed.large))
                locked.photo_hash = processed.content_hash
        except LendingError as error:
            show_error(form, error)
        else:
            flash(_("Photo saved."), "success")
            return _to_thing(circle, thing_id)
    return form_page("lending/edit.html", form, **_edit_context(circle, membership, thing_row, photo_form=form))


@bp.route("/c/<slug>/library/photos/<content_hash>-<any(s, l):size>.webp")
@members_file
@circle_page()
def photo_file(circle, membership, content_hash, size):
    # Only to members of the circle; anyone else, signed out included, gets
    # 404 (redirect_visitors answers a visitor so before this view runs).
    found = db.session.execute(select(Photo.small if size == "s" else Photo.large).join(
        Thing, Thing.id == Photo.thing_id).where(Photo.content_hash == content_hash,
                                                 Thing.circle_id == circle.id).limit(1)).first()
    if found is None:
        abort(404)
    response = Response(found[0], mimetype="image/webp")
    # The address is the content's hash: it never changes, so it is kept for
    # a year, in this person's browser only.
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- my things ---------------------------------------------------------------------------

@bp.route("/lending/mine")
@login_required
def mine():
    lending, my_things = queries.my_lending(current_user)
    borrowing, waits = queries.my_borrowing(current_user)
    return render_template("lending/mine.html", lending=lending, my_things=my_things, borrowing=borrowing,
                           waits=waits, today_of=things.today_in)
