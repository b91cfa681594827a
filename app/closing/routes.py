"""Closing views: the steward's page that offers the export and proposes
closing; the read-only guard; the answer of a closed circle's old links."""

from __future__ import annotations

import re

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..circles.access import circle_page
from ..circles.models import Circle
from ..database import write_unit
from ..extensions import db
from ..forms import form_page
from ..i18n import _
from ..tokens import token_hash
from . import bp, domain
from .forms import CloseForm
from .models import ClosedLink


@bp.route("/c/<slug>/close", methods=["GET", "POST"])
@login_required
@circle_page(steward=True)
def close(circle, membership):
    closing = domain.closing_of(circle.id)
    form = CloseForm()
    if closing is not None or not form.validate_on_submit():
        return form_page("closing/close.html", form, circle=circle, membership=membership, closing=closing)
    try:
        with write_unit():
            proposal = domain.propose(db.session.get(Circle, circle.id), current_user, form.reason.data or "")
    except domain.ClosingError as error:
        flash(str(error), "warning")
        return redirect(url_for("closing.close", slug=circle.slug), 303)
    flash(_("Your proposal is open: every member can take a position for a week."), "success")
    return redirect(url_for("talk.proposal", slug=circle.slug, proposal_id=proposal.id), 303)


_CIRCLE_PATH = re.compile(r"^/c/([a-z0-9-]+)/")


def read_only():
    """A closed circle can be read, and exported, until it is deleted: nothing else is posted to it."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    match = _CIRCLE_PATH.match(request.path)
    if match is None or request.path.endswith("/export"):
        return None
    circle_id = db.session.scalar(select(Circle.id).where(Circle.slug == match.group(1)))
    if circle_id is None or not domain.is_closed(circle_id):
        return None
    return render_template("closing/closed.html", read_only=True), 403


def _closed_key(path: str) -> str | None:
    """The key a closed circle's link would have left behind, for this path."""
    if match := _CIRCLE_PATH.match(path):
        return f"c:{match.group(1)}"
    if match := re.match(r"^/(?:join|notice)/([A-Za-z0-9_-]+)$", path):
        return domain.key_of("join", token_hash(match.group(1)))
    if match := re.match(r"^/g/([A-Za-z0-9_-]+)(?:/.*)?$", path):
        return domain.key_of("public", match.group(1))
    if match := re.match(r"^/feeds/([A-Za-z0-9_-]+)\.ics$", path):
        return domain.key_of("feed", match.group(1))
    return None


def say_closed(response):
    """A link of a deleted or closed circle answers 410, "closed", and nothing more."""
    if response.status_code != 404:
        return response
    key = _closed_key(request.path)
    if key is None or db.session.get(ClosedLink, key) is None:
        return response
    if key.startswith("c:") and db.session.scalar(select(Circle.id).where(Circle.slug == key[2:])):
        return response  # the address belongs to a new circle now
    closed = make_response(render_template("closing/closed.html", read_only=False), 410)
    closed.headers["Cache-Control"] = "no-store"
    return closed


def banner(circle, **_context):
    closing = domain.closing_of(circle.id)
    if closing is None:
        return None
    return render_template("closing/_banner.html", circle=circle, closing=closing)
