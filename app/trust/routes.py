"""Trust views: thin. Each write is one unit opened here; the rules live in
stewardship.py, removal.py, agreements.py and moderation.py. Every page works
without JavaScript; with htmx, vouching swaps the trust section in place (the
stewards, the numbers and the buttons: all it changes)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from limits import parse

from ..circles.access import circle_page
from ..database import utcnow, write_unit
from ..extensions import db, limiter
from ..forms import form_page, show_error
from ..htmx import is_partial_request
from ..i18n import _
from . import agreements, bp, moderation, removal, stewardship
from .forms import ActForm, AgreementsForm, MemberReportForm, RemovalForm, ReportForm, VouchForm
from .models import Report
from .stewardship import ELIGIBLE_AFTER, TrustError


# --- vouching -----------------------------------------------------------------------------

def _trust_context(circle, membership, form=None, message=None) -> dict:
    now = utcnow()
    state = stewardship.standing(circle.id, now)
    mine = next((m for m in state.members if m.user_id == current_user.id), None)
    return {"circle": circle, "membership": membership, "state": state, "form": form or VouchForm(formdata=None),
            "mine": stewardship.vouches_of(circle.id, current_user), "message": message,
            "can_vouch": current_user.id in state.eligible,
            "eligible_from": mine.joined_at + ELIGIBLE_AFTER if mine else None,
            "open_removals": {p.subject_id for p in _open_removals(circle.id)}}


def _open_removals(circle_id: int):
    from ..talk.models import Proposal

    return db.session.scalars(db.select(Proposal).where(Proposal.circle_id == circle_id,
                                                        Proposal.action == removal.ACTION,
                                                        Proposal.closed_at.is_(None)))


@bp.route("/c/<slug>/trust", methods=["GET", "POST"])
@login_required
@circle_page()
def vouching(circle, membership):
    """Who vouches for whom is no secret: the page lists each member's
    vouches counted, the stewards, and what is needed."""
    if request.method == "GET":
        return render_template("trust/vouching.html", **_trust_context(circle, membership))
    form = VouchForm()
    status, message = 200, None
    if not form.validate_on_submit():
        status = 422
    else:
        try:
            with write_unit():
                if form.do.data == "vouch":
                    changed = stewardship.vouch(circle, current_user, form.member.data)
                else:
                    changed = stewardship.withdraw(circle, current_user, form.member.data)
        except TrustError as error:
            status, message = 422, str(error)
        else:
            message = _("Your vouch is given.") if form.do.data == "vouch" else _("Your vouch is withdrawn.")
            if changed:
                message += " " + _("The stewards changed with it: the log says how.")
    if status == 422 and message is None:
        message = " ".join(str(e) for e in form.do.errors) or _("Something in that request was off. Please try again.")
    membership = db.session.get(type(membership), membership.id)  # a vouch may have changed my role
    context = _trust_context(circle, membership, message=message)
    context["failed"] = status == 422
    if is_partial_request():
        return render_template("trust/partials/trust.html", **context), status
    if status == 200:
        flash(message, "success")
        return redirect(url_for("trust.vouching", slug=circle.slug) + "#trust", 303)
    return render_template("trust/vouching.html", **context), status


# --- removal --------------------------------------------------------------------------------

@bp.route("/c/<slug>/trust/removal", methods=["GET", "POST"])
@login_required
@circle_page(steward=True)
def removal_page(circle, membership):
    form = RemovalForm(member=request.args.get("member", ""), report=request.args.get("report", ""))
    choices = [(0, _("Choose a member"))] + [(row.user_id, row.name) for row in _members(circle)
                                            if row.user_id != current_user.id]
    form.member.choices = choices
    if form.validate_on_submit():
        try:
            with write_unit():
                proposal = removal.open_removal(circle, membership, form.member.data, form.reason.data,
                                                form.kind.data)
                moderation.close_for_removal(circle, current_user, form.report.data, proposal.subject_id,
                                             form.reason.data)
        except TrustError as error:
            show_error(form, error)
        else:
            flash(_("The removal proposal is open for seven days. The person is told and can answer in its "
                    "discussion."), "success")
            return redirect(url_for("talk.proposal", slug=circle.slug, proposal_id=proposal.id), 303)
    return form_page("trust/removal.html", form, circle=circle, membership=membership)


def _members(circle):
    from ..auth.models import User
    from ..circles.models import Membership

    return db.session.execute(db.select(Membership.user_id, User.display_name.label("name"))
                              .join(User, User.id == Membership.user_id)
                              .where(Membership.circle_id == circle.id)
                              .order_by(db.func.lower(User.display_name), User.id)).all()


# --- reports and the stewards' queue ----------------------------------------------------------

def _too_many_reports() -> bool:
    item = parse(current_app.config.get("LIMIT_REPORTS_PER_MEMBER") or "10 per hour")
    return not limiter.limiter.hit(item, "trust-report", str(current_user.id))


@bp.route("/c/<slug>/report/<any(reply, discussion, gathering, member):kind>/<int:target_id>",
          methods=["GET", "POST"])
@login_required
@circle_page()
def report(circle, membership, kind, target_id):
    """Report something to the stewards (a member by their account's id)."""
    target = moderation.find(circle, kind, target_id)
    if target is None:
        abort(404)
    form = ReportForm()
    problem, status = None, 200
    if target.about is not None and target.about.id == current_user.id:
        problem = _("This is about you: you can change or remove what you wrote yourself, and talk to a "
                    "steward if something weighs on you.")
    elif target.hidden:
        problem = _("The stewards have already hidden this. Thank you for looking out.")
    if form.validate_on_submit():
        if problem is None and _too_many_reports():
            problem, status = _("That is a lot of reports in a short time. The stewards have them; please wait "
                                "a while before sending more."), 429
        elif problem is None:
            try:
                with write_unit():
                    moderation.report(circle, current_user, kind, target_id, form.reason.data)
            except TrustError as error:
                show_error(form, error)
            else:
                flash(_("Thank you. The stewards will look at it; what they do goes into the circle’s log."),
                      "success")
                return redirect(target.url, 303)
    if form.is_submitted():
        status = status if status != 200 else 422
    if problem and not form.is_submitted():
        status = 200
    return render_template("trust/report.html", circle=circle, membership=membership, form=form, target=target,
                           kind=kind, target_id=target_id, problem=problem,
                           what=_(moderation.KIND_WORDS[kind])), status


@bp.route("/c/<slug>/report/member", methods=["GET", "POST"])
@login_required
@circle_page()
def report_member(circle, membership):
    """Report a member, chosen from the circle's (one page, not a link per member)."""
    form = MemberReportForm()
    form.member.choices = [(0, _("Choose a member"))] + [(row.user_id, row.name) for row in _members(circle)
                                                        if row.user_id != current_user.id]
    status = 200
    if form.validate_on_submit():
        if _too_many_reports():
            form.form_errors.append(_("That is a lot of reports in a short time. The stewards have them; please "
                                      "wait a while before sending more."))
            status = 429
        else:
            try:
                with write_unit():
                    moderation.report(circle, current_user, "member", form.member.data, form.reason.data)
            except TrustError as error:
                show_error(form, error)
            else:
                flash(_("Thank you. The stewards will look at it; what they do goes into the circle’s log."),
                      "success")
                return redirect(url_for("trust.vouching", slug=circle.slug), 303)
    if form.is_submitted() and status == 200:
        status = 422
    return render_template("trust/report_member.html", circle=circle, membership=membership, form=form), status


@bp.route("/c/<slug>/moderation")
@login_required
@circle_page(steward=True)
def queue(circle, membership):
    reports = moderation.queue(circle.id)
    return render_template("trust/queue.html", circle=circle, membership=membership, reports=reports,
                           targets={r.id: moderation.find(circle, r.kind, r.target_id) for r in reports},
                           forms={r.id: ActForm(formdata=None) for r in reports},
                           done=moderation.resolved(circle.id), kinds=moderation.KIND_WORDS)


@bp.route("/c/<slug>/moderation/<int:report_id>", methods=["POST"])
@login_required
@circle_page(steward=True)
def act(circle, membership, report_id):
    row = db.session.get(Report, report_id)
    if row is None or row.circle_id != circle.id:
        abort(404)
    form = ActForm()
    if form.validate_on_submit():
        try:
            with write_unit():
                moderation.act(circle, membership, report_id, form.action.data, form.note.data)
        except TrustError as error:
            show_error(form, error)
        else:
            flash(_("Done, and written in the circle’s log with your reason."), "success")
            return redirect(url_for("trust.queue", slug=circle.slug), 303)
    reports = moderation.queue(circle.id)
    forms = {r.id: ActForm(formdata=None) for r in reports}
    forms[report_id] = form
    return render_template("trust/queue.html", circle=circle, membership=membership, reports=reports,
                           targets={r.id: moderation.find(circle, r.kind, r.target_id) for r in reports},
                           forms=forms, done=moderation.resolved(circle.id), kinds=moderation.KIND_WORDS), 422


# --- agreements --------------------------------------------------------------------------------

@bp.route("/c/<slug>/agreements")
@login_required
@circle_page()
def agreements_page(circle, membership):
    return render_template("trust/agreements.html", circle=circle, membership=membership,
                           current=agreements.current(circle.id), versions=agreements.versions(circle.id),
                           proposed=agreements.proposed(circle.id))


@bp.route("/c/<slug>/agreements/<int:number>")
@login_required
@circle_page()
def agreement_version(circle, membership, number):
    row = agreements.version(circle.id, number)
    if row is None:
        abort(404)
    before = agreements.version(circle.id, number - 1) if number > 1 else None
    return render_template("trust/agreement_version.html", circle=circle, membership=membership, row=row,
                           before=before, lines=agreements.diff(before.body_source if before else "",
                                                                row.body_source),
                           latest=agreements.current(circle.id).number)


@bp.route("/c/<slug>/agreements/change", methods=["GET", "POST"])
@login_required
@circle_page()
def change_agreements(circle, membership):
    now_in_force = agreements.current(circle.id)
    # Filled with the text in force when first shown; a post is taken as sent (a field left out is empty).
    form = AgreementsForm() if request.method == "POST" else AgreementsForm(
        body=now_in_force.body_source if now_in_force else "",
        review_on=now_in_force.review_on if now_in_force else None)
    if not membership.is_steward:
        form.how.choices = form.how.choices[:1]
    if form.validate_on_submit():
        try:
            with write_unit():
                if form.how.data == "now":
                    row = agreements.change(circle, membership, form.body.data, form.note.data,
                                            form.review_on.data)
                else:
                    proposal = agreements.propose(circle, current_user, form.body.data, form.note.data,
                                                  form.review_on.data)
        except TrustError as error:
            show_error(form, error)
        else:
            if form.how.data == "now":
                flash(_("The agreements changed. The log says so, and every member is told."), "success")
                return redirect(url_for("trust.agreement_version", slug=circle.slug, number=row.number), 303)
            flash(_("Your change is proposed. Members decide over seven days."), "success")
            return redirect(url_for("talk.proposal", slug=circle.slug, proposal_id=proposal.id), 303)
    return form_page("trust/change_agreements.html", form, circle=circle, membership=membership,
                     current=now_in_force)



@bp.route("/c/<slug>/help")
@login_required
@circle_page()
def help(circle, membership):
    """How this circle works: stewardship, removal, agreements, reports."""
    return render_template("trust/help.html", circle=circle, membership=membership)
