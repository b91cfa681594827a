"""A circle's closing, and what a closed circle leaves behind."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime, utcnow
from ..extensions import db


class Closing(db.Model):
    """A proposal to close a circle, and once it passed, when the circle
    became read-only and when it is deleted. One per circle at a time."""

    __tablename__ = "circle_closings"

    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"), primary_key=True)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("talk_proposals.id", ondelete="SET NULL"),
                                                    unique=True)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    proposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # read-only from then
    delete_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ClosedLink(db.Model):
    """A key a closed circle's link used (its address, the hash of a feed or
    invitation token), so that the link answers "closed" and nothing more."""

    __tablename__ = "closed_links"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    closed_on: Mapped[dt.date] = mapped_column(Date)
