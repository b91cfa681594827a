"""Sections talk adds to other areas' pages (app/areas.py panels)."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from . import queries
from .forms import ReplyForm


def gathering(gathering, circle, membership):
    """A gathering's own discussion, on its page: the last replies and a reply form."""
    discussion = queries.discussion_of_gathering(gathering.id)
    # One more than shown tells whether there are more, without counting them.
    replies = queries.last_replies(discussion, 4) if discussion else []
    return render_template("talk/panels/gathering.html", gathering=gathering, circle=circle,
                           discussion=discussion, replies=replies[-3:], more=len(replies) > 3,
                           form=ReplyForm(formdata=None))


def circle(circle, membership):
    proposals = queries.open_in(circle)
    return render_template("talk/panels/circle.html", circle=circle, proposals=proposals)


def home(user, circles):
    waiting = queries.waiting_for(user)
    if not waiting:
        return None
    return render_template("talk/panels/home.html", waiting=waiting, user=current_user)
