"""How trust's entries read in the circle's log (registered with areas.log_sentence)."""

from __future__ import annotations

from ..i18n import N_, _, ngettext

KINDS = {"reply": N_("a reply"), "discussion": N_("a discussion"), "gathering": N_("a gathering"),
         "member": N_("a member")}


def _vouches(d) -> str:
    n = d.get("vouches", 0)
    if d.get("needed") is None:
        return ngettext("%(num)s vouch", "%(num)s vouches", n)
    return ngettext("%(num)s vouch of the %(needed)s needed", "%(num)s vouches of the %(needed)s needed", n,
                    needed=d["needed"])


def _kept(d, a, s):
    if d.get("needed") is None:
        return _("%(s)s is a steward so that the circle is not without one: the member with the most vouches "
                 "(%(v)s), then the longest-standing.", s=s, v=_vouches(d))
    if d.get("why") == "longest_standing":
        return _("%(s)s stays a steward with %(v)s: nobody has enough vouches, a circle is never without a "
                 "steward, and among those with the most vouches %(s)s has been a member longest.", s=s,
                 v=_vouches(d))
    return _("%(s)s stays a steward with %(v)s: nobody has enough vouches, a circle is never without a "
             "steward, and %(s)s has the most.", s=s, v=_vouches(d))


def _kind(d) -> str:
    return _(KINDS.get(d.get("kind"), KINDS["reply"]))


SENTENCES = {
    "vouched": lambda d, a, s: _("%(a)s vouches for %(s)s.", a=a, s=s),
    "vouch_withdrawn": lambda d, a, s: _("%(a)s withdrew their vouch for %(s)s.", a=a, s=s),
    "steward_trusted": lambda d, a, s: _("%(s)s is now a steward, with %(v)s.", s=s, v=_vouches(d)),
    "steward_ended": lambda d, a, s: _("%(s)s is no longer a steward: %(v)s.", s=s, v=_vouches(d)),
    "steward_kept": _kept,
    "removal_opened": lambda d, a, s: _("%(a)s proposed removing %(s)s from the circle: %(r)s", a=a, s=s,
                                        r=d.get("reason", "")),
    "agreements_changed": lambda d, a, s: _("%(a)s changed the agreements (version %(n)s): %(note)s", a=a,
                                            n=d.get("version"), note=d.get("note", "")),
    "agreements_decided": lambda d, a, s: _("The circle decided new agreements (version %(n)s): %(note)s",
                                            n=d.get("version"), note=d.get("note", "")),
    "content_hidden": lambda d, a, s: _("%(a)s hid %(k)s by %(s)s: %(r)s", a=a, k=_kind(d), s=s,
                                        r=d.get("reason", "")),
    "member_warned": lambda d, a, s: _("%(a)s warned %(s)s about %(k)s: %(r)s", a=a, s=s, k=_kind(d),
                                       r=d.get("reason", "")),
    "report_dismissed": lambda d, a, s: _("%(a)s looked at a report about %(k)s and left it as it is: %(r)s", a=a,
                                          k=_kind(d), r=d.get("reason", "")),
}
