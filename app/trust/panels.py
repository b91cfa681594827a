"""What trust adds to a proposal's page: what passing it does."""

from __future__ import annotations

from flask import render_template

from . import agreements, removal


def proposal(proposal, circle, membership) -> str | None:
    if proposal.action == removal.ACTION:
        return render_template("trust/panels/removal.html", proposal=proposal, circle=circle)
    if proposal.action == agreements.ACTION:
        row = agreements.of_proposal(proposal.id)
        if row is None:
            return None
        base = agreements.current(circle.id) if row.number is None else (
            agreements.version(circle.id, row.number - 1) if row.number > 1 else None)
        return render_template("trust/panels/agreements.html", proposal=proposal, circle=circle, row=row,
                               lines=agreements.diff(base.body_source if base else "", row.body_source))
    return None


def gathering(gathering, circle, membership) -> str | None:
    """A way to report a gathering to the stewards (not one's own, not one already hidden)."""
    if gathering.host_id == membership.user_id or gathering.hidden_reason:
        return None
    return render_template("trust/panels/report_gathering.html", gathering=gathering, circle=circle)
