"""The inbox, the settings page, the way to it on the account page, and the
one-click unsubscribe link of every notice mail (the language of pages and
mail is chosen on the account page itself: app/auth)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..areas import areas
from ..database import write_unit
from ..errors import RuleError
from ..extensions import csrf, db
from ..forms import PlainForm, int_arg
from ..i18n import _
from ..htmx import is_partial_request
from . import bp, domain, push
from .forms import DeviceForm, TimesForm
from .models import CHANNELS, CircleNoticeSetting, NoticePrefs, NoticeSetting

def channel_names() -> dict[str, str]:
    return {"now": _("Right away"), "digest": _("In the daily digest"), "inbox": _("Only in my inbox"),
            "off": _("Off")}


def circle_channel_names() -> dict[str, str]:
    return {"": _("As for each kind"), "digest": _("At most in the digest"), "inbox": _("Only in my inbox"),
            "off": _("Off")}


def notice_kinds() -> list:
    return [kind for kind in areas().notice_kinds.values() if not kind.transactional]


def _circles():
    from ..circles.domain import circles_of  # the area above ours, at run time only
    return [circle for circle, _membership in circles_of(current_user)]


@bp.route("/notices")
@login_required
def inbox():
    before = int_arg("before", 0) if request.args.get("before") else None
    notices = domain.inbox(current_user, limit=50, before=before)
    older = notices[-1].id if len(notices) == 50 else None
    return render_template("notify/inbox.html", notices=notices, older=older, form=PlainForm(),
                           zone=domain.zone_of(current_user))


@bp.route("/notices/read", methods=["POST"])
@login_required
def mark_read():
    form = PlainForm()
    if not form.validate_on_submit():
        abort(400)
    up_to = request.form.get("up_to", "")  # the newest shown: what came after stays new
    highest = 2**31 - 1  # an id column's range on PostgreSQL
    if up_to and (not up_to.isascii() or not up_to.isdigit() or len(up_to) > 10 or int(up_to) > highest):
        abort(400)
    with write_unit():
        domain.mark_read(current_user, int(up_to) if up_to else highest)
    return redirect(url_for("notify.inbox"), 303)


def _settings_page(form, status=200):
    chosen = {s.kind: s.channel for s in db.session.scalars(
        db.select(NoticeSetting).where(NoticeSetting.user_id == current_user.id))}
    limits = {s.circle_id: s.channel for s in db.session.scalars(
        db.select(CircleNoticeSetting).where(CircleNoticeSetting.user_id == current_user.id))}
    prefs = domain.prefs_of(current_user.id)
    page = render_template("notify/settings.html", form=form, kinds=notice_kinds(), chosen=chosen,
                           limits=limits, circles=_circles(), channels=channel_names(),
                           circle_channels=circle_channel_names(), prefs=prefs,
                           zone=domain.zone_of(current_user), devices=push.devices(current_user),
                           device_form=PlainForm())
    return page, status


@bp.route("/notices/settings", methods=["GET", "POST"])
@login_required
def settings():
    prefs = domain.prefs_of(current_user.id)
    form = TimesForm(obj=prefs if request.method == "GET" else None)
    if request.method == "GET":
        return _settings_page(form)
    if not form.validate():
        return _settings_page(form, 422)
    kinds, problems = {}, []
    for kind in notice_kinds():
        value = request.form.get(f"kind-{kind.name}", kind.default)
        if value not in CHANNELS:
            problems.append(kind.name)
        kinds[kind.name] = value
    circles = {}
    for circle in _circles():
        value = request.form.get(f"circle-{circle.id}", "")
        if value not in ("", "off", "inbox", "digest"):
            problems.append(str(circle.id))
        circles[circle.id] = value
    if problems:
        form.digest_hour.errors = [_("Choose each setting from its list.")]
        return _settings_page(form, 422)
    with write_unit():
        saved = db.session.get(NoticePrefs, current_user.id)
        if saved is None:
            saved = domain.new_prefs(current_user.id)
            db.session.add(saved)
        hour_changed = saved.digest_hour != form.digest_hour.data
        saved.digest_hour, saved.quiet_from, saved.quiet_until = (
            form.digest_hour.data, form.quiet_from.data, form.quiet_until.data)
        saved.unsubscribed_at = None  # saving the page is choosing again
        for name, channel in kinds.items():
            domain.set_kind(current_user.id, name, channel)
        for circle_id, channel in circles.items():
            found = db.session.get(CircleNoticeSetting, (current_user.id, circle_id))
            if not channel:
                if found is not None:
                    db.session.delete(found)
            elif found is None:
                db.session.add(CircleNoticeSetting(user_id=current_user.id, circle_id=circle_id, channel=channel))
            else:
                found.channel = channel
        if hour_changed:
            db.session.flush()
            domain.reschedule_digest(current_user, saved)
    if form.quiet_from.data == form.quiet_until.data:
        flash(_("Saved. Quiet hours that start and end at the same hour are none: notices that come right "
                "away may come at any hour."))
    else:
        flash(_("Saved."))
    return redirect(url_for("notify.settings"), 303)


def _devices_part(status=200):
    return render_template("notify/_devices.html", devices=push.devices(current_user),
                           device_form=PlainForm()), status


@bp.route("/notices/devices", methods=["POST"])
@login_required
def add_device():
    """A device asks for pushes ("notify this device"; app.js posts what the
    browser's push service gave it). Answers with the list of devices."""
    form = DeviceForm()
    if not form.validate():
        abort(400)
    endpoint, key, secret = (form.endpoint.data or "").strip(), form.p256dh.data or "", form.auth.data or ""
    if not push.valid_subscription(endpoint, key, secret):
        abort(400)
    with write_unit():
        push.subscribe(current_user, endpoint, key, secret, request.headers.get("User-Agent", "")[:500])
    return _devices_part()


@bp.route("/notices/devices/<int:device_id>/remove", methods=["POST"])
@login_required
def remove_device(device_id):
    form = PlainForm()
    if not form.validate_on_submit():
        abort(400)
    with write_unit():
        removed = push.remove(current_user, device_id)
    if is_partial_request():
        return _devices_part()
    if removed:
        flash(_("That device gets no more pushes."))
    return redirect(url_for("notify.settings") + "#devices", 303)


def account_panel(user=None, **_context):
    return render_template("notify/account_panel.html")


def home_panel(user=None, **_context):
    """A way to the inbox on the home page: a plain "new" when something is unread, never a count."""
    return render_template("notify/home_panel.html", new=domain.has_new(user))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the mail program posts with no page in between; the signed token is the proof
def unsubscribe(token):
    try:
        user_id, what = domain.read_unsubscribe_token(token)
    except RuleError as error:
        return render_template("notify/unsubscribe.html", problem=str(error), done=False), 400
    label = _("the daily digest") if what == "digest" else (
        _(areas().notice_kinds[what].label) if what in areas().notice_kinds else None)
    if label is None:
        return render_template("notify/unsubscribe.html", problem=_("This link is not one we made."), done=False), 400
    if request.method == "GET":  # no GET writes: a link checker must not unsubscribe anyone
        return render_template("notify/unsubscribe.html", token=token, what=what, label=label, done=False)
    with write_unit():
        user = domain.unsubscribe(user_id, what)
    if user is None:
        return render_template("notify/unsubscribe.html", problem=_("This account no longer exists."),
                               done=False), 400
    return render_template("notify/unsubscribe.html", what=what, label=label, done=True)
