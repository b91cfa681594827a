"""Circle views: thin. Each write is one unit (``write_unit``) opened here;
the rules live in domain.py, access in access.py."""

import re
from urllib.parse import urlsplit

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from ..areas import areas
from ..auth.access import verified_required
from ..database import utcnow, write_unit
from ..extensions import db
from ..forms import PlainForm, form_page, int_arg
from ..htmx import is_partial_request
from ..i18n import _
from ..links import external_url
from ..qr import qr_svg
from . import bp, domain, log_lines
from . import export as circle_export
from .access import circle_page
from .forms import CircleSettingsForm, InvitationForm, JoinForm, NewCircleForm, NoticeForm, OffersForm
from .models import Invitation, JoinRequest, Membership

@bp.app_template_global()
def circle_tabs(circle, membership) -> list[tuple[str, str, bool]]:
    """(url, label, is this page) for each tab of the circle's pages, as the areas registered them."""
    here = request.endpoint or ""
    return [(url_for(tab.endpoint, slug=circle.slug), _(tab.label), here.startswith(tab.current))
            for tab in areas().tabs if tab.shown is None or tab.shown(circle, membership)]


LOG_PAGE = 30  # entries per page of the log: about three screens on a phone
JOIN_PATH = re.compile(r"^/join/([A-Za-z0-9_-]{20,})$")


# --- account hooks -----------------------------------------------------------------

def _invitation_in(next_url: str | None) -> Invitation | None:
    match = JOIN_PATH.match(urlsplit(next_url).path) if next_url else None
    return domain.find_invitation(match.group(1)) if match else None


def arrive(user, next_url):
    """Keep the invitation someone came with; once they are verified, use it.
    Runs in the arrival's write unit (registering, confirming, signing in)."""
    invitation = _invitation_in(next_url)
    if invitation is not None and domain.invitation_problem(invitation) is None:
        domain.remember_invitation(user, invitation)
    if not user.is_verified:
        return None
    pending = domain.pending_invitation(user)
    if pending is None:
        return None
    if domain.asks_question(pending):
        return url_for("circles.join_pending")
    try:
        # A savepoint: a join that cannot happen leaves the rest of the arrival.
        with db.session.begin_nested():
            membership = domain.join(user, pending.id)
    except domain.CircleError:
        return url_for("circles.join_pending")
    return url_for("home.circle", slug=membership.circle.slug)


def signing_up_through_an_invitation() -> bool:
    """A room of neighbours on one Wi-Fi can join in an evening: an invitation
    with uses left lifts the per-address sign-up limit, for twice as many
    sign-ups as it has uses."""
    invitation = _invitation_in(request.args.get("next"))
    return (invitation is not None and domain.invitation_problem(invitation) is None
            and invitation.signups < 2 * invitation.max_uses)


def invited_by(next_url):
    """The line a new account's confirmation mail gets when an invitation brought
    them and its maker chose to be named."""
    invitation = _invitation_in(next_url)
    if invitation is None or domain.invitation_problem(invitation) or not invitation.inviter_name:
        return None
    return _("%(name)s invited you to %(circle)s.", name=invitation.inviter_name, circle=invitation.circle.name)


def count_signup_through_invitation() -> None:
    invitation = _invitation_in(request.args.get("next"))
    if invitation is not None:
        domain.count_signup(invitation)


# --- founding a circle -------------------------------------------------------------

@bp.route("/circles/new", methods=["GET", "POST"])
@verified_required
def new_circle():
    form = NewCircleForm(time_zone=current_user.time_zone or "UTC")
    if not form.validate_on_submit():
        return form_page("circles/new.html", form)
    try:
        with write_unit():
            circle = domain.create_circle(
                current_user, name=form.name.data, slug=form.slug.data, description=form.description.data or "",
                area=form.area.data or "", time_zone=form.time_zone.data, language=form.language.data,
                join_mode=form.join_mode.data, join_question=form.join_question.data or "",
                members_can_invite=form.members_can_invite.data, members_may_share=form.members_may_share.data)
    except IntegrityError:  # the same address taken a moment ago
        form.slug.errors.append(_("Another circle already has that address. Try another."))
        return form_page("circles/new.html", form)
    flash(_("Your circle is ready. Invite your neighbours next."), "success")
    return redirect(url_for("circles.invitations", slug=circle.slug), 303)


# --- inside a circle (its overview lives in app/home, which composes areas) ----------

@bp.route("/c/<slug>/members")
@login_required
@circle_page()
def members(circle, membership):
    return render_template("circles/members.html", circle=circle, membership=membership,
                           members=domain.member_list(circle))


@bp.route("/c/<slug>/me", methods=["GET", "POST"])
@login_required
@circle_page()
def my_offers(circle, membership):
    form = OffersForm(obj=membership)
    if not form.validate_on_submit():
        return form_page("circles/offers.html", form, circle=circle, membership=membership)
    with write_unit():
        domain.set_offers(db.session.get(Membership, membership.id), form.offers.data or "",
                          bool(form.share_email.data))
    flash(_("Saved. Your neighbours see it on the member list."), "success")
    return redirect(url_for("circles.members", slug=circle.slug), 303)


@bp.route("/c/<slug>/log")
@login_required
@circle_page()
def log(circle, membership):
    before = int_arg("before", None)
    entries = domain.log_entries(circle, limit=LOG_PAGE, before_id=before)
    return render_template("circles/log.html", circle=circle, membership=membership,
                           lines=log_lines.lines(entries, circle.time_zone),
                           older=entries[-1].id if len(entries) == LOG_PAGE else None)


@bp.route("/c/<slug>/settings", methods=["GET", "POST"])
@login_required
@circle_page(steward=True)
def settings(circle, membership):
    form = CircleSettingsForm(obj=circle, description=circle.description_source)
    if not form.validate_on_submit():
        return form_page("circles/settings.html", form, circle=circle, membership=membership)
    values = {f: getattr(form, f).data or (False if f in ("members_can_invite", "members_may_share") else "")
              for f in domain.SETTINGS_FIELDS}
    with write_unit():
        changed = domain.update_settings(domain.lock_circle(circle.id), current_user, **values)
    flash(_("Saved, and noted in the circle's log.") if changed else _("Nothing changed."), "success")
    return redirect(url_for("home.circle", slug=circle.slug), 303)


@bp.route("/c/<slug>/export", methods=["GET", "POST"])
@login_required
@circle_page(steward=True)
def export(circle, membership):
    """Everything the circle shares, as one zip (app/circles/export.py); the
    log says who took it."""
    form = PlainForm()
    if not form.validate_on_submit():
        return render_template("circles/export.html", circle=circle, membership=membership, form=form,
                               sharing=domain.addresses_shared(circle))
    with write_unit():
        domain.log(domain.lock_circle(circle.id), current_user, "circle_exported")
    response = Response(stream_with_context(circle_export.stream(circle.id)), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{circle_export.file_name(circle)}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/c/<slug>/leave", methods=["GET", "POST"])
@login_required
@circle_page()
def leave(circle, membership):
    form = PlainForm()
    if not form.validate_on_submit():
        return render_template("circles/leave.html", circle=circle, membership=membership, form=form)
    try:
        with write_unit():
            domain.leave_circle(circle.id, current_user)
    except domain.CircleError as error:
        return render_template("circles/leave.html", circle=circle, membership=membership, form=form,
                               problem=str(error)), 409
    flash(_("You have left %(circle)s.", circle=circle.name), "info")
    return redirect(url_for("home.index"), 303)


# --- invitations --------------------------------------------------------------------

def _invitations_page(circle, membership, form, link=None, status=200):
    # With htmx: the form (fresh, or with its messages) and the new link, plus
    # the list of links made (out of band), so the page matches a reload.
    partial = request.method == "POST" and is_partial_request()
    return render_template("circles/partials/invited.html" if partial else "circles/invitations.html",
                           circle=circle, membership=membership, form=form, link=link,
                           invitations=domain.invitations(circle), plain_form=PlainForm(), now=utcnow(),
                           swapped=partial), status


@bp.route("/c/<slug>/invitations", methods=["GET", "POST"])
@login_required
@circle_page()
def invitations(circle, membership):
    if not domain.can_invite(circle, membership):
        abort(403)
    form = InvitationForm()
    if not form.validate_on_submit():
        return _invitations_page(circle, membership, form, status=422 if form.is_submitted() else 200)
    with write_unit():
        raw = domain.create_invitation(circle, current_user, days=form.days.data, max_uses=form.max_uses.data,
                                       note=form.note.data or "", names_inviter=form.names_inviter.data)
    link = external_url("circles.join_link", token=raw)
    return _invitations_page(circle, membership, InvitationForm(formdata=None), link=link)


@bp.route("/c/<slug>/invitations/notice", methods=["GET", "POST"])
@login_required
@circle_page()
def new_notice(circle, membership):
    """A notice to print: it gets an invitation of its own, since a printed
    link is public; the printable page is reached by that link's token."""
    if not domain.can_invite(circle, membership):
        abort(403)
    form = NoticeForm()
    if not form.validate_on_submit():
        return form_page("circles/notice_new.html", form, circle=circle, membership=membership)
    with write_unit():
        raw = domain.create_invitation(
            circle, current_user, days=form.days.data, max_uses=form.max_uses.data, note=_("Printed notice"),
            names_inviter=form.names_inviter.data, asks_question=form.asks_question.data, notice_text=form.text.data)
    return redirect(url_for("circles.notice", token=raw, size=form.size.data), 303)


@bp.route("/notice/<token>")
@login_required
def notice(token):
    """The printable notice. Only those who may invite to its circle see it;
    a link that no longer works says so, and nothing of the circle."""
    invitation = domain.find_invitation(token)
    if invitation is None or invitation.notice_text is None:
        abort(404)
    membership = domain.membership_of(invitation.circle_id, current_user)
    if membership is None or not domain.can_invite(invitation.circle, membership):
        abort(404)
    problem = domain.invitation_problem(invitation)
    if problem:
        return render_template("circles/notice_gone.html", problem=problem), 410
    link = external_url("circles.join_link", token=token)
    size = request.args.get("size", "a4")
    return render_template("circles/notice.html", invitation=invitation, circle=invitation.circle, link=link,
                           size=size if size in ("a4", "a5") else "a4",
                           qr=qr_svg(link, _("QR code to scan with a phone")))


@bp.route("/c/<slug>/invitations/<int:invitation_id>/revoke", methods=["POST"])
@login_required
@circle_page()
def revoke_invitation(circle, membership, invitation_id):
    if not domain.can_invite(circle, membership):
        abort(403)
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.circle_id != circle.id:
        abort(404)
    if PlainForm().validate_on_submit():
        try:
            with write_unit():
                domain.revoke_invitation(circle, current_user, domain.lock_invitation(invitation_id))
            flash(_("The link no longer works."), "success")
        except domain.CircleError as error:
            flash(str(error), "warning")
    return redirect(url_for("circles.invitations", slug=circle.slug), 303)


@bp.route("/c/<slug>/requests/<int:request_id>/<any(approve, decline):decision>", methods=["POST"])
@login_required
@circle_page(steward=True)
def decide(circle, membership, request_id, decision):
    request_ = db.session.get(JoinRequest, request_id)
    if request_ is None or request_.circle_id != circle.id:
        abort(404)
    if PlainForm().validate_on_submit():
        try:
            with write_unit():
                request_ = domain.decide_request(circle, current_user, request_id, approve=decision == "approve")
            flash(_("%(name)s is now a member.", name=request_.user.shown_name) if decision == "approve"
                  else _("Declined."), "success")
        except domain.CircleError as error:
            flash(str(error), "warning")
    return redirect(url_for("home.circle", slug=circle.slug), 303)


# --- joining: outside the circle's pages --------------------------------------------------

def _join_page(invitation, form, token=None, status=200, problem=None, kept=False):
    problem = problem or domain.invitation_problem(invitation)
    membership = None
    if invitation is not None and current_user.is_authenticated:
        membership = domain.membership_of(invitation.circle_id, current_user)
    return render_template("circles/join.html", invitation=invitation, circle=invitation.circle if invitation else None,
                           form=form, token=token, problem=problem, membership=membership, kept=kept,
                           asks=invitation is not None and domain.asks_question(invitation),
                           question=domain.question_of(invitation.circle) if invitation else ""), status


@bp.route("/join/<token>", methods=["GET", "POST"])
def join_link(token):
    invitation = domain.find_invitation(token)
    form = JoinForm()
    if invitation is None:
        return _join_page(None, form, status=404)
    if not current_user.is_authenticated:
        return _join_page(invitation, form, token=token)
    if domain.membership_of(invitation.circle_id, current_user) is not None:
        return redirect(url_for("home.circle", slug=invitation.circle.slug), 303)
    if not current_user.is_verified:
        # Kept on a POST (a GET never writes): the page's button says so.
        kept = domain.pending_invitation(current_user) == invitation
        if request.method == "POST" and not kept and domain.invitation_problem(invitation) is None:
            with write_unit():
                domain.remember_invitation(current_user, invitation)
            kept = True
        return _join_page(invitation, form, token=token, kept=kept)
    if not form.validate_on_submit():
        return _join_page(invitation, form, token=token, status=422 if form.is_submitted() else 200)
    return _complete_join(invitation, form, token)


@bp.route("/join/pending", methods=["GET", "POST"])
@verified_required
def join_pending():
    invitation = domain.pending_invitation(current_user)
    if invitation is None:
        return redirect(url_for("home.index"), 303)
    form = JoinForm()
    if not form.validate_on_submit():
        return _join_page(invitation, form, status=422 if form.is_submitted() else 200)
    return _complete_join(invitation, form, None)


def _complete_join(invitation, form, token):
    try:
        with write_unit():
            result = domain.join(current_user, invitation.id, answer=form.answer.data or "")
    except domain.CircleError as error:
        return _join_page(invitation, form, token=token, status=409, problem=str(error))
    if isinstance(result, Membership):
        flash(_("Welcome to %(circle)s!", circle=invitation.circle.name), "success")
        return redirect(url_for("home.circle", slug=invitation.circle.slug), 303)
    flash(_("Thank you. A steward of %(circle)s will read your answer.", circle=invitation.circle.name), "success")
    return redirect(url_for("home.index"), 303)


# --- places in an imported circle ----------------------------------------------------

@bp.route("/claim/<token>", methods=["GET", "POST"])
@verified_required
def claim(token):
    """Take one's place in an imported circle (app/circles/importer.py): the
    link that was mailed, opened by its owner, signed in."""
    place = domain.find_place(token)
    problem = domain.place_problem(place, current_user)
    form = PlainForm()
    if problem or not form.validate_on_submit():
        return render_template("circles/claim.html", place=place, problem=problem, form=form), 404 if \
            place is None else 409 if problem else 200
    try:
        with write_unit():
            membership = domain.claim_place(place.id, current_user)
    except (domain.CircleError, IntegrityError) as error:
        message = str(error) if isinstance(error, domain.CircleError) else \
            _("Some of what this place holds is already yours in this circle, so it cannot be taken over.")
        return render_template("circles/claim.html", place=place, problem=message, form=form), 409
    flash(_("Welcome back: your place in %(circle)s is yours again.", circle=membership.circle.name), "success")
    return redirect(url_for("home.circle", slug=membership.circle.slug), 303)
