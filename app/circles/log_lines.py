"""How the circle's log reads: one sentence per entry, in the reader's language.

In Python rather than in a template macro: the log page shows 30 entries, and a
macro's branches and calls cost more than the rest of the page. Each area
registers the sentences of its own actions (``areas.log_sentence``)."""

from __future__ import annotations

from ..areas import areas
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


def _settings(d, a, s):
    named = ", ".join(_(FIELDS[f]) if f in FIELDS else f for f in d.get("fields", []))
    return _("%(a)s changed the settings: %(f)s.", a=a, f=named)


# Each takes (details, actor's name, subject's name) and returns plain text (the template escapes it).
SENTENCES = {
    "circle_created": lambda d, a, s: _("%(a)s started the circle.", a=a),
    "settings_changed": _settings,
    "invitation_made": lambda d, a, s: _with_note(_("%(a)s made an invitation link for %(n)s people, for %(d)s days.",
                                                    a=a, n=d.get("max_uses"), d=d.get("days")), d),
    "notice_made": lambda d, a, s: _("%(a)s made a notice to print, with a link for %(n)s people, for %(d)s days.",
                                     a=a, n=d.get("max_uses"), d=d.get("days")),
    "invitation_revoked": lambda d, a, s: _with_note(_("%(a)s withdrew an invitation link.", a=a), d),
    "member_approved": lambda d, a, s: _("%(a)s welcomed %(s)s into the circle.", a=a, s=s),
    "member_declined": lambda d, a, s: _("%(a)s declined the request of %(s)s to join.", a=a, s=s),
    "steward_made": lambda d, a, s: _("%(a)s made %(s)s a steward.", a=a, s=s),
    "stewardship_passed": lambda d, a, s: _("Stewardship passed to %(s)s, the longest-standing member, when the "
                                            "last steward left.", s=s) if d.get("on") == "leaving" else
    _("Stewardship passed to %(s)s, the longest-standing member, when the last steward deleted their account.", s=s),
    "member_left": lambda d, a, s: _("%(s)s left the circle.", s=s),
    "member_removed": lambda d, a, s: _("%(s)s was removed from the circle: the members decided it (%(r)s).",
                                        s=s, r=d.get("reason", "")),
    "circle_exported": lambda d, a, s: _("%(a)s downloaded the circle's export.", a=a),
    "circle_imported": lambda d, a, s: _("The circle moved to this server, with everything in it."),
    "place_claimed": lambda d, a, s: _("%(s)s took their place in the circle.", s=s),
}


def sentence(action: str, details: dict | None, actor: str | None, subject: str | None) -> str:
    """The entry in words. ``actor`` and ``subject`` are names, None for an
    account that was deleted."""
    return areas().sentence(action, details, actor, subject)


def lines(entries, zone: str) -> list[tuple[str, str, str]]:
    """(ISO time, local time in words, sentence) for each entry of log_entries."""
    registry = areas()
    return [(e.created_at.isoformat(timespec="seconds"), localtime(e.created_at, zone),
             registry.sentence(e.action, e.details, e.actor, e.subject)) for e in entries]
