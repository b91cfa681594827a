"""What of trust leaves in a circle's export, and what stays (see app/circles/export.py)."""

from sqlalchemy import select

from .models import AgreementVersion, Report, Vouch


def register(areas) -> None:
    # Who trusts whom is the circle's shared record: stewardship follows from it on the new server too.
    areas.export("vouches", Vouch, lambda circle_id: select(Vouch.__table__).where(Vouch.circle_id == circle_id))
    # After talk's proposals, which a version decided by the circle names.
    areas.export("agreement_versions", AgreementVersion,
                 lambda circle_id: select(AgreementVersion.__table__).where(AgreementVersion.circle_id == circle_id))
    areas.keep_back(Report, "Who reported what stays between the reporter and this server's stewards; what the "
                            "stewards did is in the log, and a hidden item keeps its reason.")
