"""Talk views: thin. Each write is one unit opened here; rules in domain.py
and rules.py, reads in queries.py. Every page works without JavaScript; with
htmx a reply is appended in place and what else it changed is swapped out of
band."""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from limits import parse

from ..circles.access import circle_page
from ..database import utcnow, write_unit
from ..templating import day_words
from ..extensions import db, limiter
from ..forms import PlainForm, form_page, int_arg, show_error
from ..htmx import is_partial_request
from ..i18n import _
from . import bp, domain, panels, queries, rules
from .domain import TalkError
from .forms import DiscussionForm, OutcomeForm, PollGatheringForm, PositionForm, ProposalForm, ReplyForm
from .models import CHOICES, Discussion, Proposal, Reply


def _discussion(circle, discussion_id: int) -> Discussion:
    discussion = db.session.get(Discussion, discussion_id)
    if discussion is None or discussion.circle_id != circle.id:
        abort(404)
    return discussion


def _proposal(circle, proposal_id: int) -> Proposal:
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or proposal.circle_id != circle.id:
        abort(404)
    return proposal


def _reply(circle, reply_id: int) -> tuple[Reply, Discussion]:
    item = db.session.get(Reply, reply_id)
    if item is None:
        abort(404)
    return item, _discussion(circle, item.discussion_id)


def _thing(circle, thing_id: int):
    from ..lending.models import Thing

    thing = db.session.get(Thing, thing_id)
    if thing is None or thing.circle_id != circle.id:
        abort(404)
    return thing


def _gathering(circle, gathering_id: int):
    from ..gatherings.models import Gathering

    gathering = db.session.get(Gathering, gathering_id)
    if gathering is None or gathering.circle_id != circle.id:
        abort(404)
    return gathering


# --- lists ------------------------------------------------------------------------------

@bp.route("/c/<slug>/talk")
@login_required
@circle_page()
def discussions(circle, membership):
    page = int_arg("page", 1, highest=10_000)
    items, more = queries.discussions(circle, current_user, page)
    return render_template("talk/discussions.html", circle=circle, membership=membership, discussions=items,
                           open_proposals=queries.open_in(circle) if page == 1 else [], page=page, more=more)


@bp.route("/c/<slug>/talk/new", methods=["GET", "POST"])
@login_required
@circle_page()
def new_discussion(circle, membership):
    form = DiscussionForm()
    if form.validate_on_submit():
        with write_unit():
            discussion = domain.start_discussion(circle, current_user, form.title.data, form.body.data or "")
        return redirect(url_for("talk.discussion", slug=circle.slug, discussion_id=discussion.id), 303)
    return form_page("talk/new.html", form, circle=circle, membership=membership)


# --- one discussion ---------------------------------------------------------------------

def _discussion_context(circle, membership, discussion, page: int | None = None, form=None) -> dict:
    read = queries.read_up_to(discussion, current_user)
    pages, first_unread_page = queries.reply_pages(discussion, read)
    page = first_unread_page if page is None else page
    if page > pages:
        abort(404)
    gathering = _gathering(circle, discussion.gathering_id) if discussion.gathering_id else None
    thing = _thing(circle, discussion.thing_id) if discussion.thing_id else None
    return {"circle": circle, "membership": membership, "discussion": discussion, "gathering": gathering,
            "thing": thing,
            "replies": queries.replies(discussion, page), "page": page, "pages": pages, "read_up_to": read,
            "proposals": queries.proposals_in(discussion), "form": form or ReplyForm(formdata=None),
            "plain_form": PlainForm(), "now": utcnow(), "links": _reply_links(circle)}


def _reply_links(circle) -> dict[str, str]:
    """Each reply's links, made once per page: url_for fifty times costs more than the page's queries."""
    return {"edit": url_for("talk.edit_reply", slug=circle.slug, reply_id=1_000_000_000).replace("1000000000", "0000"),
            "remove": url_for("talk.remove_reply", slug=circle.slug, reply_id=1_000_000_000)
            .replace("1000000000", "0000"),
            # Reports belong to the trust area, when there is one (areas never import those above them).
            "report": url_for("trust.report", slug=circle.slug, kind="reply", target_id=1_000_000_000)
            .replace("1000000000", "0000") if "trust.report" in current_app.view_functions else ""}


@bp.route("/c/<slug>/talk/<int:discussion_id>")
@login_required
@circle_page()
def discussion(circle, membership, discussion_id):
    """One discussion, a page of replies at a time, oldest first; it opens at
    the page of the first reply I have not read."""
    item = _discussion(circle, discussion_id)
    page = int_arg("page", 0, highest=100_000) or None
    return render_template("talk/discussion.html", **_discussion_context(circle, membership, item, page))


def _too_fast(discussion_id: int) -> bool:
    """The calm pace: a few replies a minute per person in one discussion,
    counted by the app's limiter (shared by all workers with Redis)."""
    item = parse(current_app.config.get("LIMIT_REPLY_PER_DISCUSSION") or "5 per minute")
    return not limiter.limiter.hit(item, "talk-reply", str(current_user.id), str(discussion_id))


def _post_reply(circle, membership, discussion_id: int, form, make_discussion=None, panel=None):
    status = 200
    if not form.validate_on_submit():
        status = 422
    elif _too_fast(discussion_id or 0):
        form.body.errors = [_("Let's slow down a little: a few replies a minute in one discussion is plenty. "
                              "Your words are still here; send them in a minute.")]
        status = 429
    else:
        # What the page showed as new (its form says from where): the htmx
        # answer takes those marks away, as a reload would.
        seen = request.form.get("seen", "")
        was_read = int(seen) if seen.isascii() and seen.isdigit() and len(seen) < 10 else 0
        try:
            with write_unit():
                if make_discussion is not None:
                    discussion_id = make_discussion().id
                new = domain.reply(discussion_id, current_user, form.body.data)
        except TalkError as error:
            show_error(form, error)
            status = 422
    item = db.session.get(Discussion, discussion_id) if discussion_id else None
    if status == 200:
        if is_partial_request() and panel is not None:
            return panels.own(*panel, circle, swapped=True, added=True)
        if is_partial_request():
            context = _discussion_context(circle, membership, item, page=None)
            return render_template("talk/partials/replied.html", new=queries.reply_row(new.id, item),
                                   was_read=was_read, **context)
        return redirect(url_for("talk.discussion", slug=circle.slug, discussion_id=item.id, page=None)
                        + f"#reply-{new.id}", 303)
    return item, form, status


@bp.route("/c/<slug>/talk/<int:discussion_id>/reply", methods=["POST"])
@login_required
@circle_page()
def reply(circle, membership, discussion_id):
    item = _discussion(circle, discussion_id)
    answer = _post_reply(circle, membership, item.id, ReplyForm())
    if not isinstance(answer, tuple):
        return answer
    item, form, status = answer
    if is_partial_request():
        response = current_app.make_response((render_template("talk/partials/reply_form.html", form=form,
                                                               circle=circle, discussion=item, swapped=True,
                                                               last_page=True), status))
        response.headers["HX-Retarget"] = "#reply-form"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    context = _discussion_context(circle, membership, item, page=None, form=form)
    return render_template("talk/discussion.html", **context), status


def _own_reply(circle, membership, form, subject: str, item, title: str, back_to: str, post_to: str, make):
    """A reply in a gathering's or a thing's own discussion, from the panel on
    its page: the discussion is made with its first reply. Without JavaScript
    it lands on the discussion (or a problem comes back on a page with the
    words kept); with htmx the panel comes back refreshed, or with the problem
    beside the field."""
    existing = queries.discussion_of(subject, item.id)
    answer = _post_reply(circle, membership, existing.id if existing else None, form,
                         make_discussion=None if existing else make, panel=(subject, item))
    if not isinstance(answer, tuple):
        return answer
    discussion_, form, status = answer
    if is_partial_request():
        return panels.own(subject, item, circle, form=form, swapped=True), status
    if discussion_ is not None:
        return render_template("talk/discussion.html",
                               **_discussion_context(circle, membership, discussion_, page=None, form=form)), status
    return render_template("talk/own_reply.html", circle=circle, membership=membership, title=title,
                           back_to=back_to, post_to=post_to, form=form), status


@bp.route("/c/<slug>/gatherings/<int:gathering_id>/talk", methods=["POST"])
@login_required
@circle_page()
def gathering_reply(circle, membership, gathering_id):
    gathering = _gathering(circle, gathering_id)
    return _own_reply(circle, membership, ReplyForm(), "gathering", gathering, gathering.title,
                      url_for("gatherings.detail", slug=circle.slug, gathering_id=gathering.id),
                      url_for("talk.gathering_reply", slug=circle.slug, gathering_id=gathering.id),
                      lambda: domain.discussion_of_gathering(gathering))


@bp.route("/c/<slug>/library/<int:thing_id>/talk", methods=["POST"])
@login_required
@circle_page()
def thing_reply(circle, membership, thing_id):
    thing = _thing(circle, thing_id)
    return _own_reply(circle, membership, ReplyForm(), "thing", thing, thing.name,
                      url_for("lending.thing", slug=circle.slug, thing_id=thing.id),
                      url_for("talk.thing_reply", slug=circle.slug, thing_id=thing.id),
                      lambda: domain.discussion_of_thing(thing))


@bp.route("/c/<slug>/talk/<int:discussion_id>/read", methods=["POST"])
@login_required
@circle_page()
def read(circle, membership, discussion_id):
    """I have read up to here (the page's last reply): a button, and with
    JavaScript a post when the page has been shown. Private to me."""
    item = _discussion(circle, discussion_id)
    form = PlainForm()
    if not form.validate_on_submit():
        abort(400)
    upto = request.form.get("upto", "")
    if not (upto.isascii() and upto.isdigit()) or int(upto) > 2**31 - 1:
        abort(400)
    with write_unit():
        domain.mark_read(item.id, current_user, min(int(upto), item.last_reply_id or 0))
    if is_partial_request():
        return "", 204
    return redirect(url_for("talk.discussions", slug=circle.slug), 303)


@bp.route("/c/<slug>/talk/replies/<int:reply_id>/edit", methods=["GET", "POST"])
@login_required
@circle_page()
def edit_reply(circle, membership, reply_id):
    item, discussion_ = _reply(circle, reply_id)
    if not domain.can_edit(item, current_user):
        abort(403)
    form = ReplyForm(body=item.body_source)
    if form.validate_on_submit():
        try:
            with write_unit():
                domain.edit_reply(db.session.get(Reply, reply_id), current_user, form.body.data)
        except TalkError as error:
            show_error(form, error)
        else:
            return redirect(url_for("talk.discussion", slug=circle.slug, discussion_id=discussion_.id)
                            + f"#reply-{reply_id}", 303)
    return form_page("talk/edit_reply.html", form, circle=circle, membership=membership, discussion=discussion_,
                     item=item)


@bp.route("/c/<slug>/talk/replies/<int:reply_id>/remove", methods=["GET", "POST"])
@login_required
@circle_page()
def remove_reply(circle, membership, reply_id):
    """Asks first (a page of its own), then removes: "removed" stays in its place."""
    item, discussion_ = _reply(circle, reply_id)
    if not domain.can_remove(item, current_user, membership):
        abort(403)
    form = PlainForm()
    if not form.validate_on_submit():
        if request.method == "POST":
            abort(400)
        return render_template("talk/remove_reply.html", circle=circle, membership=membership,
                               discussion=discussion_, item=item, form=form)
    with write_unit():
        domain.remove_reply(db.session.get(Reply, reply_id), current_user, membership)
    flash(_("The reply is removed; “removed” stays in its place."), "success")
    return redirect(url_for("talk.discussion", slug=circle.slug, discussion_id=discussion_.id)
                    + f"#reply-{reply_id}", 303)


# --- proposals --------------------------------------------------------------------------

@bp.route("/c/<slug>/talk/<int:discussion_id>/propose", methods=["GET", "POST"])
@login_required
@circle_page()
def new_proposal(circle, membership, discussion_id):
    item = _discussion(circle, discussion_id)
    form = ProposalForm()
    if form.validate_on_submit():
        try:
            with write_unit():
                proposal = domain.open_proposal(
                    item, current_user, kind=form.kind.data, title=form.title.data, body=form.body.data or "",
                    closes_local=form.closes_local.data, quorum=form.quorum.data,
                    open_results=form.open_results.data, options=form.times(),
                    duration_minutes=form.duration.data or 120)
        except TalkError as error:
            show_error(form, error)
        else:
            flash(_("The proposal is open. Members can take their positions now."), "success")
            return redirect(url_for("talk.proposal", slug=circle.slug, proposal_id=proposal.id), 303)
    return form_page("talk/new_proposal.html", form, circle=circle, membership=membership, discussion=item)


def _proposal_context(circle, membership, proposal, **forms) -> dict:
    now = utcnow()
    is_open = domain.is_open(proposal, now)
    shown = not is_open or proposal.open_results
    context = {"circle": circle, "membership": membership, "proposal": proposal, "is_open": is_open,
               "shown": shown, "elector": domain.is_elector(proposal, current_user),
               "conclude": domain.can_conclude(proposal, current_user, membership),
               "discussion": db.session.get(Discussion, proposal.discussion_id), "choices": CHOICES.get(proposal.kind),
               "result": None if is_open else domain.result_of(proposal), "sentence": rules.sentence,
               "recorded": proposal.closed_at is not None}
    if proposal.kind == "time_poll":
        options, answers, mine = queries.poll(proposal, current_user)
        context |= {"options": options, "answers": answers, "mine_poll": mine,
                    "duration": dt.timedelta(minutes=proposal.duration_minutes or 120)}
        result = context["result"]
        chosen = result.chosen if result else None
        context["gathering_form"] = forms.get("gathering_form") or PollGatheringForm(
            formdata=None, option=chosen, title=proposal.title)
        context["gathering_form"].option.choices = [(o.id, f"{day_words(o.starts_local)}, {o.starts_local:%H:%M}")
                                                    for o in options]
    else:
        mine = queries.my_position(proposal, current_user)
        context |= {"mine": mine, "positions": queries.positions(proposal) if shown else [],
                    "position_form": forms.get("position_form") or PositionForm(
                        formdata=None, choice=mine.choice if mine else None, reason=mine.reason if mine else "")}
    context["outcome_form"] = forms.get("outcome_form") or OutcomeForm(
        formdata=None, outcome=proposal.outcome_source, review_on=proposal.review_on)
    return context


@bp.route("/c/<slug>/proposals/<int:proposal_id>")
@login_required
@circle_page()
def proposal(circle, membership, proposal_id):
    """A proposal: positions until it closes; past its closing time the result
    computed by the rule (recorded once by `flask talk close`)."""
    item = _proposal(circle, proposal_id)
    return render_template("talk/proposal.html", **_proposal_context(circle, membership, item))


def _back_to(circle, proposal_id):
    return redirect(url_for("talk.proposal", slug=circle.slug, proposal_id=proposal_id), 303)


@bp.route("/c/<slug>/proposals/<int:proposal_id>/position", methods=["POST"])
@login_required
@circle_page()
def position(circle, membership, proposal_id):
    item = _proposal(circle, proposal_id)
    form = PositionForm()
    if form.validate_on_submit():
        try:
            with write_unit():
                domain.take_position(item.id, current_user, form.choice.data, form.reason.data or "")
        except TalkError as error:
            show_error(form, error)
        else:
            flash(_("Your position is noted. You can change it until the proposal closes."), "success")
            return _back_to(circle, item.id)
    item = db.session.get(Proposal, proposal_id)
    return render_template("talk/proposal.html", **_proposal_context(circle, membership, item,
                                                                     position_form=form)), 422


@bp.route("/c/<slug>/proposals/<int:proposal_id>/poll", methods=["POST"])
@login_required
@circle_page()
def poll(circle, membership, proposal_id):
    item = _proposal(circle, proposal_id)
    if not PlainForm().validate_on_submit():
        abort(400)
    answers = {}
    for key, value in request.form.items():
        if key.startswith("option-"):
            number = key.removeprefix("option-")
            if not (number.isascii() and number.isdigit()) or len(number) > 9:
                abort(400)
            answers[int(number)] = value
    if not answers:
        flash(_("Nothing was chosen, so nothing changed."), "warning")
        return _back_to(circle, item.id)
    try:
        with write_unit():
            domain.answer_poll(item.id, current_user, answers)
    except TalkError as error:
        flash(str(error), "warning")
        item = db.session.get(Proposal, proposal_id)
        return render_template("talk/proposal.html", **_proposal_context(circle, membership, item)), 422
    flash(_("Your answers are noted."), "success")
    return _back_to(circle, item.id)


@bp.route("/c/<slug>/proposals/<int:proposal_id>/outcome", methods=["POST"])
@login_required
@circle_page()
def outcome(circle, membership, proposal_id):
    item = _proposal(circle, proposal_id)
    if not domain.can_conclude(item, current_user, membership):
        abort(403)
    form = OutcomeForm()
    if form.validate_on_submit():
        try:
            with write_unit():
                domain.set_outcome(item.id, current_user, membership, form.outcome.data, form.review_on.data)
        except TalkError as error:
            show_error(form, error)
        else:
            flash(_("The outcome is written."), "success")
            return _back_to(circle, item.id)
    item = db.session.get(Proposal, proposal_id)
    return render_template("talk/proposal.html", **_proposal_context(circle, membership, item,
                                                                     outcome_form=form)), 422


@bp.route("/c/<slug>/proposals/<int:proposal_id>/gathering", methods=["POST"])
@login_required
@circle_page()
def make_gathering(circle, membership, proposal_id):
    """The time poll's chosen time becomes a gathering, in one step."""
    item = _proposal(circle, proposal_id)
    if not domain.can_conclude(item, current_user, membership):
        abort(403)
    form = PollGatheringForm()
    if form.validate_on_submit():
        try:
            with write_unit():
                gathering = domain.gathering_from_poll(item.id, current_user, membership, form.option.data,
                                                       form.title.data, form.place.data or "")
        except TalkError as error:
            show_error(form, error)
        else:
            flash(_("Posted. Your neighbours can answer now."), "success")
            return redirect(url_for("gatherings.detail", slug=circle.slug, gathering_id=gathering.id), 303)
    item = db.session.get(Proposal, proposal_id)
    return render_template("talk/proposal.html", **_proposal_context(circle, membership, item,
                                                                     gathering_form=form)), 422

