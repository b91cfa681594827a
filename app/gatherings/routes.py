"""Gathering views: thin. Each write is one unit (``write_unit``) opened here;
the rules live in domain.py, seats.py, slots.py, series.py, guests.py, feeds.py."""

from __future__ import annotations

from urllib.parse import quote_plus

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..auth.domain import normalize_email
from ..auth.models import User
from ..circles import domain as circles
from ..circles.access import circle_page
from ..circles.models import Circle
from ..database import utcnow, write_unit
from ..extensions import db, limiter
from ..forms import PlainForm, form_page, int_arg, show_error
from ..htmx import is_partial_request
from ..i18n import _, ngettext, speaking
from ..limits import client_key, configured
from ..links import external_url
from . import bp, domain, feeds, guests, queries, seats, series, slots
from .errors import GatheringError
from .forms import (AnswerForm, CalendarAddressForm, CancelForm, GatheringForm, GuestForm, MoveForm, NewGatheringForm,
                    SeriesForm, SlotForm)
from .models import Gathering, Series, Slot


def _gathering(circle, gathering_id: int) -> Gathering:
    gathering = db.session.get(Gathering, gathering_id)
    if gathering is None or gathering.circle_id != circle.id:
        abort(404)
    return gathering


def _managed(circle, membership, gathering_id: int) -> Gathering:
    """A gathering the person may manage: host, co-host or steward; else 403."""
    gathering = _gathering(circle, gathering_id)
    if not domain.can_manage(gathering, current_user, membership):
        abort(403)
    return gathering


def _back(circle, gathering_id: int):
    """After a post: back to the gathering's page (303, so a reload does not post again)."""
    return redirect(url_for("gatherings.detail", slug=circle.slug, gathering_id=gathering_id), 303)


def _back_to_manage(circle, gathering_id: int):
    """After a host's post: back to the hosts' page, where the next host tool is."""
    return redirect(url_for("gatherings.manage", slug=circle.slug, gathering_id=gathering_id), 303)


def map_link(place: str) -> str:
    # A link out, built from the address and URL-encoded; no map tiles on our pages.
    return "https://www.openstreetmap.org/search?query=" + quote_plus(place)


# --- lists ------------------------------------------------------------------------------

@bp.route("/c/<slug>/gatherings")
@login_required
@circle_page()
def upcoming(circle, membership):
    page = int_arg("page", 1, highest=10_000)
    items, states, more = queries.upcoming(circle, current_user, page)
    items, rules = queries.at_a_glance(items)
    return render_template("gatherings/upcoming.html", circle=circle, membership=membership, gatherings=items,
                           states=states, rules=rules, page=page, more=more)


@bp.route("/c/<slug>/gatherings/past")
@login_required
@circle_page()
def past(circle, membership):
    page = int_arg("page", 1, highest=10_000)
    items, more = queries.past(circle, page)
    return render_template("gatherings/past.html", circle=circle, membership=membership, gatherings=items,
                           page=page, more=more)


# --- posting ----------------------------------------------------------------------------

def _gathering_fields(form) -> dict:
    return {"title": form.title.data, "description": form.description.data or "",
            "starts_local": form.starts_local.data, "ends_local": form.ends_local.data,
            "time_zone": form.time_zone.data, "place": form.place.data or "",
            "online_url": form.online_url.data or "", "capacity": form.capacity.data,
            "max_guests": form.max_guests.data or 0, "needs_approval": form.needs_approval.data}


def _chosen_cohosts(form, circle) -> list[User]:
    ids = set(form.cohosts.data or [])
    return [m.user for m in circles.members(circle) if m.user_id in ids]


@bp.route("/c/<slug>/gatherings/new", methods=["GET", "POST"])
@login_required
@circle_page()
def new(circle, membership):
    members = circles.members(circle)
    form = NewGatheringForm(members=members, time_zone=circle.time_zone)
    if form.validate_on_submit():
        fields = _gathering_fields(form)
        cohosts = _chosen_cohosts(form, circle)
        try:
            with write_unit():
                if form.repeat.data:
                    _series, made = series.create_series(
                        circle, current_user, freq=form.repeat.data, interval=form.interval.data or 1,
                        setpos=form.setpos.data, until=form.until.data, cohosts=cohosts, **fields)
                    first = made[0].id if made else None
                else:
                    first = domain.create_gathering(circle, current_user, status=form.status.data,
                                                    cohosts=cohosts, **fields).id
        except GatheringError as error:
            show_error(form, error)
        else:
            flash(_("Posted. Your neighbours can answer now."), "success")
            if first is None:
                return redirect(url_for("gatherings.upcoming", slug=circle.slug), 303)
            return redirect(url_for("gatherings.detail", slug=circle.slug, gathering_id=first), 303)
    return form_page("gatherings/new.html", form, circle=circle, membership=membership)


# --- one gathering ----------------------------------------------------------------------

def _people_context(circle, membership, gathering) -> dict:
    """What the gathering's page and the hosts' page both show: who answered
    what, and the state the gathering is in (one read of the answers)."""
    answers = queries.answers_of(gathering)
    now = utcnow()
    seated = [a for a in answers if a.state == "seated"]
    return {
        "circle": circle, "membership": membership, "gathering": gathering, "seated": seated,
        "waiting": sorted((a for a in answers if a.state == "waiting"), key=lambda a: (a.waiting_since, a.id)),
        "asking": [a for a in answers if a.state == "asking"],
        "maybe": [a for a in answers if a.response == "maybe"],
        # Who came, by name: the circle's shared memory reads the same for everyone.
        "came": sorted((a for a in seated if a.attended), key=lambda a: (a.name.casefold(), a.id)),
        "mine": next((a for a in answers if a.user_id == current_user.id), None),
        "manage": domain.can_manage(gathering, current_user, membership),
        "past": gathering.ends_at <= now, "started": gathering.starts_at <= now,
    }


def _answer_context(circle, membership, gathering, answer_form=None) -> dict:
    """What the answer card and "Who is coming" need: all an answer can change."""
    context = _people_context(circle, membership, gathering)
    mine = context["mine"]
    context["form"] = answer_form or AnswerForm(formdata=None, guests=mine.guests if mine and mine.response == "going" else 0)
    return context


def _detail_context(circle, membership, gathering, answer_form=None) -> dict:
    context = _answer_context(circle, membership, gathering, answer_form)
    return context | {"slots": queries.slots_of(gathering), "cohosts": queries.cohosts(gathering),
                      "plain_form": PlainForm(), "map_link": map_link(gathering.place) if gathering.place else None}


@bp.route("/c/<slug>/gatherings/<int:gathering_id>")
@login_required
@circle_page()
def detail(circle, membership, gathering_id):
    """What a guest needs first: what, when, where, who is coming, one answer."""
    gathering = _gathering(circle, gathering_id)
    return render_template("gatherings/detail.html", **_detail_context(circle, membership, gathering))


@bp.route("/c/<slug>/gatherings/<int:gathering_id>/manage")
@login_required
@circle_page()
def manage(circle, membership, gathering_id):
    """Every host tool, on a page of its own, out of the guests' way."""
    return _manage_page(circle, membership, _managed(circle, membership, gathering_id))


def _manage_page(circle, membership, gathering, slot_form=None):
    context = _people_context(circle, membership, gathering)
    context |= {"slots": queries.slots_of(gathering), "plain_form": PlainForm(), "slot_form": slot_form or SlotForm(),
                "share_allowed": circle.members_may_share or membership.is_steward,
                "public_url": external_url("gatherings.public", token=gathering.public_token)
                if gathering.public_token else None}
    page = render_template("gatherings/manage.html", **context)
    return (page, 422) if slot_form is not None else page


@bp.route("/c/<slug>/gatherings/<int:gathering_id>/answer", methods=["POST"])
@login_required
@circle_page()
def answer(circle, membership, gathering_id):
    """Coming, maybe, or can't come: one form. "Can't come" frees the seat for
    the waitlist. With htmx, the answer card comes back with every part of the
    page an answer changes (who is coming, the waitlist), swapped out of band."""
    gathering = _gathering(circle, gathering_id)
    form = AnswerForm()
    status = 200
    if form.validate_on_submit():
        try:
            with write_unit():
                seats.answer(gathering.id, current_user, form.response.data, form.guests.data or 0,
                             form.message.data or "")
            if not is_partial_request():
                return _back(circle, gathering.id)
            form = None
        except GatheringError as error:
            show_error(form, error)
            status = 422
    else:
        status = 422
    gathering = db.session.get(Gathering, gathering_id)
    if is_partial_request():
        # Only what an answer changes; focus moves to the news (or the problem).
        return render_template("gatherings/partials/answered.html", swapped=True, changed=status == 200,
                               **_answer_context(circle, membership, gathering, answer_form=form)), status
    return render_template("gatherings/detail.html",
                           **_detail_context(circle, membership, gathering, answer_form=form)), status


@bp.route("/c/<slug>/gatherings/<int:gathering_id>/calendar.ics")
@login_required
@circle_page()
def ics(circle, membership, gathering_id):
    gathering = _gathering(circle, gathering_id)
    return _calendar_response([gathering], gathering.title, f"gathering-{gathering.id}.ics")


def _calendar_response(gatherings, name, filename, entries=()):
    body = feeds.calendar(gatherings, name, lambda g: external_url(
        "gatherings.detail", slug=g.circle.slug, gathering_id=g.id), entries)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- hosts ----------------------------------------------------------------------------

@bp.route("/c/<slug>/gatherings/<int:gathering_id>/edit", methods=["GET", "POST"])
@login_required
@circle_page()
def edit(circle, membership, gathering_id):
    gathering = _managed(circle, membership, gathering_id)
    members = circles.members(circle)
    form = GatheringForm(obj=gathering, members=members, description=gathering.description_source,
                         cohosts=[u.id for u in queries.cohosts(gathering)])
    if form.validate_on_submit():
        fields = _gathering_fields(form) | {"status": form.status.data if not gathering.is_cancelled
                                             else gathering.status}
        cohosts = _chosen_cohosts(form, circle)
        try:
            with write_unit():
                changed = domain.update_gathering(gathering_id, current_user, membership, **fields)
                if domain.set_cohosts(db.session.get(Gathering, gathering_id), cohosts, actor=current_user):
                    changed.append("cohosts")
        except GatheringError as error:
            show_error(form, error)
        else:
            flash(_("Saved.") if changed else _("Nothing changed."), "success")
            return _back_to_manage(circle, gathering_id)
    return form_page("gatherings/edit.html", form, circle=circle, membership=membership,
                     gathering=db.session.get(Gathering, gathering_id))


@bp.route("/c/<slug>/gatherings/<int:gathering_id>/cancel", methods=["GET", "POST"])
@login_required
@circle_page()
def cancel(circle, membership, gathering_id):
    gathering = _managed(circle, membership, gathering_id)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            with write_unit():
                domain.cancel_gathering(gathering.id, current_user, membership, form.reason.data)
        except GatheringError as error:
            show_error(form, error)
        else:
            flash(_("Cancelled. Everyone coming or waiting is told."), "info")
            return _back_to_manage(circle, gathering_id)
    return form_page("gatherings/cancel.html", form, circle=circle, membership=membership,
                     gathering=db.session.get(Gathering, gathering_id))


@bp.route("/c/<slug>/gatherings/<int:gathering_id>/skip", methods=["POST"])
@login_required
@circle_page()
def skip(circle, membership, gathering_id):
    gathering = _managed(circle, membership, gathering_id)
    if gathering.series_id is None:
        abort(404)
    if PlainForm().validate_on_submit():
        with write_unit():
            series.skip_occurrence(gathering.id, current_user, membership)
        flash(_("Skipped this time. The series goes on."), "info")
    return _back_to_manage(circle, gathering_id)


@bp.route("/c/<slug>/gatherings/series/<int:series_id>", methods=["GET", "POST"])
@login_required
@circle_page()
def edit_series(circle, membership, series_id):
    found = db.session.get(Series, series_id)
    if found is None or found.circle_id != circle.id:
        abort(404)
    if found.template.get("host_id") != current_user.id and not membership.is_steward:
        abort(403)
    t = found.template
    form = SeriesForm(data={"title": t.get("title"), "description": t.get("description_source"),
                            "place": t.get("place"), "online_url": t.get("online_url"),
                            "capacity": t.get("capacity")} if request.method == "GET" else None)
    if form.validate_on_submit():
        values = {"title": form.title.data, "description": form.description.data or "",
                  "place": form.place.data or "", "online_url": form.online_url.data or "",
                  "capacity": form.capacity.data}
        try:
            with write_unit():
                changed, kept = series.edit_series(db.session.get(Series, series_id), current_user, membership,
                                                   **values)
        except GatheringError as error:
            show_error(form, error)
        else:
            message = ngettext("Changed %(num)s coming date.", "Changed %(num)s coming dates.", changed)
            if kept:
                message += " " + ngettext("%(num)s date that people have already answered keeps its details; "
                                          "edit it on its own page.",
                                          "%(num)s dates that people have already answered keep their details; "
                                          "edit those one by one.", kept)
            flash(message, "success")
            return redirect(url_for("gatherings.upcoming", slug=circle.slug), 303)
    return form_page("gatherings/series.html", form, circle=circle, membership=membership,
                     series=db.session.get(Series, series_id))


@bp.route("/c/<slug>/gatherings/<int:gathering_id>/answers/<int:answer_id>/<any(approve, decline):decision>",
          methods=["POST"])
@login_required
@circle_page()
def decide(circle, membership, gathering_id, answer_id, decision):
    gathering = _managed(circle, membership, gathering_id)
    if PlainForm().validate_on_submit():
        try:
            with write_unit():
                seats.decide_asking(gathering.id, answer_id, approve=decision == "approve")
        except GatheringError as error:
            flash(str(error), "warning")
    return _back_to_manage(circle, gathering_id)


@bp.route("/c/<slug>/gatherings/<int:gathering_id>/answers/<int:answer_id>/move", methods=["POST"])
@login_required
@circle_page()
def move(circle, membership, gathering_id, answer_id):
    gathering = _managed(circle, membership, gathering_id)
    form = MoveForm()
    if form.validate_on_submit():
        try:
            with write_unit():
                seats.move(gathering.id, answer_id, form.to.data, current_user, form.over_capacity.data)
        except GatheringError as error:
            flash(str(error), "warning")
    return _back_to_manage(circle, gathering_id)


@bp.route("/c/<slug>/gatherings/<int:gathering_id>/close", methods=["POST"])
@login_required
@circle_page()
def close(circle, membership, gathering_id):
    gathering = _managed(circle, membership, gathering_id)
    if PlainForm().validate_on_submit():
        with write_unit():
            found = seats.lock_gathering(gathering.id)
            domain.set_answers_closed(found, not found.answers_closed)
    return _back_to_manage(circle, gathering_id)


@bp.route("/c/<slug>/gatherings/<int:gathering_id>/attendance", methods=["POST"])
@login_required
@circle_page()
def attendance(circle, membership, gathering_id):
    gathering = _managed(circle, membership, gathering_id)
    if PlainForm().validate_on_submit():
        came = {int(v) for v in request.form.getlist("came") if v.isascii() and v.isdigit()}
        try:
            with write_unit():
                domain.mark_attendance(seats.lock_gathering(gathering.id), came)
            flash(_("Noted who came. Thank you for hosting."), "success")
        except GatheringError as error:
            flash(str(error), "warning")
    return _back_to_manage(circle, gathering_id)


@bp.route("/c/<slug>/gatherings/<int:gathering_id>/share", methods=["POST"])
@login_required
@circle_page()
def share(circle, membership, gathering_id):
    gathering = _managed(circle, membership, gathering_id)
    if not (circle.members_may_share or membership.is_steward):
        abort(403)
    if PlainForm().validate_on_submit():
        with write_unit():
            found = seats.lock_gathering(gathering.id)
            if found.public_token:
                guests.close_publicly(found)
            else:
                guests.open_publicly(found)
    return _back_to_manage(circle, gathering_id)


# --- slots ---------------------------------------------------------------------------------

@bp.route("/c/<slug>/gatherings/<int:gathering_id>/slots", methods=["POST"])
@login_required
@circle_page()
def add_slot(circle, membership, gathering_id):
    gathering = _managed(circle, membership, gathering_id)
    form = SlotForm()
    if not form.validate_on_submit():
        return _manage_page(circle, membership, gathering, slot_form=form)
    try:
        with write_unit():
            locked = seats.lock_gathering(gathering.id)
            if form.every_date.data and locked.series_id is not None:
                series.add_series_slot(locked.series, form.title.data, form.needed.data)
            else:
                slots.add_slot(locked, form.title.data, form.needed.data)
    except GatheringError as error:
        show_error(form, error)
        return _manage_page(circle, membership, db.session.get(Gathering, gathering_id), slot_form=form)
    return _back_to_manage(circle, gathering_id)


def _slot(gathering, slot_id) -> Slot:
    slot = db.session.get(Slot, slot_id)
    if slot is None or slot.gathering_id != gathering.id:
        abort(404)
    return slot


@bp.route("/c/<slug>/gatherings/<int:gathering_id>/slots/<int:slot_id>/<any(take, leave):action>",
          methods=["POST"])
@login_required
@circle_page()
def slot(circle, membership, gathering_id, slot_id, action):
    gathering = _gathering(circle, gathering_id)
    chosen = _slot(gathering, slot_id)
    if PlainForm().validate_on_submit():
        try:
            with write_unit():
                took = slots.take_slot(chosen.id, current_user) if action == "take" else True
                if action == "leave":
                    slots.leave_slot(chosen.id, current_user)
        except GatheringError as error:
            flash(str(error), "warning")
        else:
            if not took:
                flash(_("That slot is already full. Thank you all the same!"), "info")
    return _back(circle, gathering_id)


# --- calendars ------------------------------------------------------------------------------

@bp.route("/c/<slug>/calendar", methods=["GET", "POST"])
@login_required
@circle_page()
def calendars(circle, membership):
    """The secret calendar addresses, made on request (a GET never writes).
    Replacing one asks first: every calendar subscribed to it stops updating."""
    form = CalendarAddressForm()
    refused = None
    if form.validate_on_submit():
        which = circle if form.which.data == "ours" else None
        with write_unit():
            existed = feeds.feed_of(current_user, which) is not None
            if not existed or form.replace.data:
                feeds.make_feed(current_user, which)
        if not existed or form.replace.data:
            if existed:
                flash(_("Made a new address. The old one no longer works: subscribe again with the new one."),
                      "success")
            return redirect(url_for("gatherings.calendars", slug=circle.slug), 303)
        refused = form.which.data
    mine, ours = feeds.feed_of(current_user), feeds.feed_of(current_user, circle)
    page = render_template("gatherings/calendars.html", circle=circle, membership=membership, refused=refused,
                           mine=_addresses(mine), ours=_addresses(ours))
    return (page, 422) if form.is_submitted() else page


def _addresses(feed) -> dict | None:
    """A feed's address for copying, and the same as a webcal: link that opens
    the calendar app with the subscription ready."""
    if feed is None:
        return None
    url = external_url("gatherings.feed", token=feed.token)
    return {"https": url, "webcal": "webcal://" + url.split("://", 1)[1]}


@bp.route("/feeds/<token>.ics")
def feed(token):
    found = feeds.feed_by_token(token)
    if found is None:
        abort(404)
    # A calendar app fetches it, with no language of its own: the feed speaks its owner's.
    with speaking(db.session.get(User, found.user_id).language):
        name = (db.session.get(Circle, found.circle_id).name if found.circle_id
                else _("My gatherings"))
        return _calendar_response(feeds.feed_gatherings(found), name, "communitarium.ics",
                                  feeds.feed_entries(found))


# --- guests from outside the circle -----------------------------------------------------

def _public(token) -> Gathering:
    gathering = guests.by_public_token(token)
    if gathering is None:
        abort(404)
    return gathering


def _guest_email_key() -> str:
    return "guest:" + normalize_email(request.form.get("email", ""))


@bp.route("/g/<token>", methods=["GET", "POST"])
@limiter.limit(configured("LIMIT_GUEST_PER_EMAIL"), key_func=_guest_email_key, methods=["POST"])
@limiter.limit(configured("LIMIT_GUEST_PER_IP"), key_func=client_key, methods=["POST"])
def public(token):
    gathering = _public(token)
    form = GuestForm()
    if form.validate_on_submit():
        try:
            with write_unit():
                guests.guest_answer(gathering.id, form.name.data, form.email.data)
            return render_template("gatherings/public_sent.html", gathering=gathering, email=form.email.data)
        except GatheringError as error:
            show_error(form, error)
    return form_page("gatherings/public.html", form, gathering=gathering,
                     map_link=map_link(gathering.place) if gathering.place else None)


@bp.route("/g/<token>/<any(confirm, cancel):action>/<answer>", methods=["GET", "POST"], endpoint="guest")
def guest_link(token, action, answer):
    # The guest's own secret finds their answer, even after the hosts stopped
    # sharing: a guest must always be able to give their seat back.
    found = guests.by_guest_token(answer)
    gathering = db.session.get(Gathering, found.gathering_id) if found else _public(token)
    form = PlainForm()
    problem = None
    if form.validate_on_submit():
        try:
            with write_unit():
                if action == "confirm":
                    confirmed = guests.confirm_guest(gathering.id, answer)
                else:
                    guests.cancel_guest(gathering.id, answer)
                    confirmed = None
            return render_template("gatherings/guest_done.html", gathering=db.session.get(Gathering, gathering.id),
                                   answer=confirmed)
        except GatheringError as error:
            problem = str(error)
    return render_template("gatherings/guest_link.html", gathering=gathering, form=form, action=action,
                           problem=problem), 409 if problem else 200
