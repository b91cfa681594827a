"""How talk's entries read in the circle's log (registered with areas.log_sentence)."""

from __future__ import annotations

from ..i18n import _

SENTENCES = {
    "reply_removed": lambda d, a, s: _("%(a)s removed a reply by %(s)s in “%(t)s”.", a=a, s=s,
                                       t=d.get("title", "")),
}
