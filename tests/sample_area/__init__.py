"""TEST ONLY: an area that lives outside app/, to prove that an area plugs
into the others through the registry alone (tests/test_areas.py). A
"noticeboard": a circle tab, a log sentence, what leaving and deleting mean
for it, a kind of notice, a line for the landing page and a panel on the
gathering page."""

from flask import Blueprint, render_template_string
from flask_login import login_required

from app.circles import domain as circles
from app.circles.access import circle_page
from app.i18n import N_, _

bp = Blueprint("noticeboard", __name__)
# What the deletion handler saw, for the test to read.
deleted_accounts: list[int] = []


@bp.route("/c/<slug>/noticeboard")
@login_required
@circle_page()
def board(circle, membership):
    return render_template_string("{% extends 'base.html' %}{% block main %}<h1>{{ circle.name }}</h1>"
                                  "{% include 'circles/_nav.html' %}<p>Nothing pinned yet.</p>{% endblock %}",
                                  circle=circle, membership=membership)


def _left(circle, user):
    # Runs in the leaving's write unit: its log entry is part of the same change.
    circles.log(circle, None, "noticeboard_unpinned", subject=user, count=2)


def _deleted(user):
    deleted_accounts.append(user.id)


def _panel(gathering, circle, membership):
    return render_template_string('<section class="card" id="noticeboard-panel"><h2>On the noticeboard</h2>'
                                  "<p>Posters for {{ title }}</p></section>", title=gathering.title)


def _entries(circle_id, slug):
    import datetime as dt

    from app.areas import CalendarEntry
    from app.links import external_url
    return [CalendarEntry(uid=f"noticeboard-{circle_id}@communitarium", day=dt.date(2027, 1, 4),
                          summary="Posters come down", description="", stamp=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
                          url=external_url("noticeboard.board", slug=slug))]


def _home_panel(user, circles):
    return render_template_string('<section id="noticeboard-home"><h2>Pinned for you</h2></section>')


def init_app(app, areas):
    app.register_blueprint(bp)
    areas.tab("noticeboard.board", N_("Noticeboard"), current="noticeboard.", order=50)
    areas.log_sentence("noticeboard_unpinned",
                       lambda d, a, s: _("%(s)s left, and %(n)s notices came down.", s=s, n=d.get("count")))
    areas.on_member_left(_left)
    areas.on_account_deleted(_deleted, warning=lambda user: ["Your notices on the noticeboard come down."])
    areas.notice("noticeboard_pinned", N_("someone pins a notice for your whole circle"), "noticeboard")
    areas.offer(N_("A noticeboard for the stairwell"), order=60)
    areas.panel("gathering", _panel)
    areas.panel("home", _home_panel)
    areas.calendar_entry(_entries)
    areas.keep_offline(lambda user: ["/noticeboard-kept"])
