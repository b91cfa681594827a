"""How gatherings' entries in a circle's log read (registered in init_app)."""

from ..i18n import _


def steward_changed(d: dict, a: str, s: str) -> str:
    return _("%(a)s, as a steward, changed “%(t)s” by %(s)s: %(w)s.", a=a, t=d.get("title"), s=s, w=d.get("what"))


def over_capacity(d: dict, a: str, s: str) -> str:
    return _("%(a)s gave %(w)s a seat at “%(t)s” beyond its capacity.", a=a, w=d.get("who"), t=d.get("title"))


SENTENCES = {"gathering_changed": steward_changed, "gathering_over_capacity": over_capacity}
