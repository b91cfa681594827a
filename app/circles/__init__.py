"""Circles: who belongs, how people join, stewards, and the circle's log."""

from flask import Blueprint

from ..i18n import N_

bp = Blueprint("circles", __name__)


def init_app(app, areas) -> None:
    from . import porting
    from . import access, cli, domain, log_lines, routes  # noqa: F401  (cli registers the commands)

    app.register_blueprint(bp)
    porting.register(areas)
    app.before_request(access.redirect_visitors)
    areas.tab("circles.members", N_("Members"), order=80)
    areas.tab("circles.log", N_("Log"), order=90)
    areas.tab("circles.invitations", N_("Invite"), order=95, shown=domain.can_invite)
    for action, write in log_lines.SENTENCES.items():
        areas.log_sentence(action, write)
    areas.on_arrival(routes.arrive)
    areas.signup_note(routes.invited_by)
    areas.exempt_registration(routes.signing_up_through_an_invitation, routes.count_signup_through_invitation)
    areas.on_account_deleted(domain.withdraw_from_circles, warning=domain.describe_account_deletion)
    areas.notice("circle_waiting", N_("someone is waiting to join a circle you steward"), "circles", default="now")
    areas.notice("circle_welcomed", N_("the stewards welcome you into a circle"), "circles", default="digest")
    areas.offer(N_("Circles that belong to their members, with a log of every change stewards make"), order=90)
    areas.offer(N_("Take it all with you: stewards download everything a circle shares, in open formats. A "
                   "member's email address goes along only if they said yes; dietary needs never; who borrowed "
                   "what only in the owner's and the borrower's own downloads. Everyone can download their own data."), order=92)
