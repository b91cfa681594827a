"""Sections talk adds to other areas' pages (app/areas.py panels)."""

from __future__ import annotations

from flask import render_template, url_for
from flask_login import current_user

from ..i18n import _
from . import queries
from .forms import ReplyForm


def own(subject: str, item, circle, form=None, **extra) -> str:
    """A gathering's or a thing's own discussion, on its page: the last
    replies and a reply form (``form`` keeps what was typed when it was
    refused; ``extra`` goes to the template, for htmx's answer)."""
    discussion = queries.discussion_of(subject, item.id)
    # One more than shown tells whether there are more, without counting them.
    replies = queries.last_replies(discussion, 4) if discussion else []
    if subject == "gathering":
        post_to = url_for("talk.gathering_reply", slug=circle.slug, gathering_id=item.id)
        empty = _("Nothing said yet. Running late, bringing chairs, who has the key: say it here.")
    else:
        post_to = url_for("talk.thing_reply", slug=circle.slug, thing_id=item.id)
        empty = _("Nothing said yet. How it works, what to know before borrowing it: ask or tell here.")
    return render_template("talk/panels/own.html", circle=circle, discussion=discussion, replies=replies[-3:],
                           more=len(replies) > 3, form=form or ReplyForm(formdata=None), post_to=post_to,
                           empty=empty, **extra)


def gathering(gathering, circle, membership):
    return own("gathering", gathering, circle)


def thing(thing, circle, membership):
    return own("thing", thing, circle)


def circle(circle, membership):
    proposals = queries.open_in(circle)
    return render_template("talk/panels/circle.html", circle=circle, proposals=proposals)


def home(user, circles):
    waiting = queries.waiting_for(user)
    if not waiting:
        return None
    return render_template("talk/panels/home.html", waiting=waiting, user=current_user)
