"""How the circle's log reads: one sentence per entry, in the reader's language.

In Python rather than in a template macro: the log page shows 50 entries, and a
macro's branches and calls cost more than the rest of the page."""

from __future__ import annotations

from ..i18n import N_, _
from ..templating import localtime

# The settings a steward may change, as the log names them.
FIELDS = {
    "name": N_("name"), "description": N_("description"), "area": N_("area"), "time_zone": N_("time zone"),
    "language": N_("language"), "join_mode": N_("how people join"), "join_question": N_("the question for joiners"),
    "members_can_invite": N_("who may invite"), "members_may_share": N_("sharing gatherings outside the circle"),
}


def _with_note(sentence: str, details: dict) -> str:
    return f"{sentence} ({details['note']})" if details.get("note") else sentence


def sentence(action: str, details: dict | None, actor: str | None, subject: str | None) -> str:
    """The entry in words (plain text: the template escapes it). ``actor`` and
    ``subject`` are names, None for an account that was deleted."""
    d = details or {}
    a = actor or _("a former member")
    s = subject or _("a former member")
    if action == "circle_created":
        return _("%(a)s started the circle.", a=a)
    if action == "settings_changed":
        named = ", ".join(_(FIELDS[f]) if f in FIELDS else f for f in d.get("fields", []))
        return _("%(a)s changed the settings: %(f)s.", a=a, f=named)
    if action == "invitation_made":
        return _with_note(_("%(a)s made an invitation link for %(n)s people, for %(d)s days.",
                            a=a, n=d.get("max_uses"), d=d.get("days")), d)
    if action == "invitation_revoked":
        return _with_note(_("%(a)s withdrew an invitation link.", a=a), d)
    if action == "member_approved":
        return _("%(a)s welcomed %(s)s into the circle.", a=a, s=s)
    if action == "member_declined":
        return _("%(a)s declined the request of %(s)s to join.", a=a, s=s)
    if action == "steward_made":
        return _("%(a)s made %(s)s a steward.", a=a, s=s)
    if action == "stewardship_passed":
        return _("Stewardship passed to %(s)s, the longest-standing member, when the last steward deleted "
                 "their account.", s=s)
    if action == "gathering_changed":
        return _("%(a)s, as a steward, changed “%(t)s” by %(s)s: %(w)s.", a=a, t=d.get("title"), s=s,
                 w=d.get("what"))
    if action == "gathering_over_capacity":
        return _("%(a)s gave %(w)s a seat at “%(t)s” beyond its capacity.", a=a, w=d.get("who"), t=d.get("title"))
    if action == "member_left":
        return _("%(s)s left the circle.", s=s)
    return action


def lines(entries, zone: str) -> list[tuple[str, str, str]]:
    """(ISO time, local time in words, sentence) for each entry of log_entries."""
    return [(e.created_at.isoformat(timespec="seconds"), localtime(e.created_at, zone),
             sentence(e.action, e.details, e.actor, e.subject)) for e in entries]
