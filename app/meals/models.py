"""Shared meals: the meal part of a gathering, the parties that come, what
potluck bringers bring, people's own dietary needs, and the costs.

Portions are counted in halves (a child eats half a portion), so every
counter and every share is a whole number.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..database import Counter, UTCDateTime, utcnow
from ..extensions import db
from ..i18n import N_

# The 14 allergens EU food law (Regulation 1169/2011, Annex II) requires to be declared.
ALLERGENS = {
    "gluten": N_("gluten"), "crustaceans": N_("crustaceans"), "eggs": N_("eggs"), "fish": N_("fish"),
    "peanuts": N_("peanuts"), "soy": N_("soy"), "milk": N_("milk"), "nuts": N_("tree nuts"),
    "celery": N_("celery"), "mustard": N_("mustard"), "sesame": N_("sesame"), "sulphites": N_("sulphites"),
    "lupin": N_("lupin"), "molluscs": N_("molluscs"),
}
DIETS = {"vegetarian": N_("vegetarian"), "vegan": N_("vegan"), "gluten_free": N_("gluten-free"),
         "halal": N_("halal"), "kosher": N_("kosher")}
COURSES = {"starter": (N_("starter"), N_("starters")), "main": (N_("main"), N_("mains")),
           "side": (N_("side"), N_("sides")), "dessert": (N_("dessert"), N_("desserts")),
           "drink": (N_("drink"), N_("drinks")), "other": (N_("other"), N_("other"))}
STYLES = ("potluck", "cooked")

# Amounts in minor units (cents): at most 100,000 in the major unit.
MOST_MINOR = 100_000 * 100


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Meal(db.Model):
    """The meal part of a gathering (one each)."""

    __tablename__ = "meals"
    __table_args__ = (
        CheckConstraint(_in("style", STYLES), name="style"),
        CheckConstraint("halves_limit IS NULL OR (halves_limit >= 1 AND halves_limit <= 20000)",
                        name="halves_limit_range"),
        CheckConstraint("halves_taken >= 0", name="halves_taken_positive"),
        CheckConstraint("halves_limit IS NULL OR halves_taken <= halves_limit", name="within_portions"),
        CheckConstraint("total_minor IS NULL OR total_minor >= 0", name="total_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gathering_id: Mapped[int] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"), unique=True)
    style: Mapped[str] = mapped_column(String(10))
    # Portions in halves: 12 portions are 24 halves; a child takes 1, an adult 2.
    halves_limit: Mapped[int | None] = mapped_column()
    halves_taken: Mapped[int] = mapped_column(default=0)
    # Sign-ups close at this instant (None: open until the meal starts).
    closes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    menu_source: Mapped[str] = mapped_column(Text, default="")
    menu_html: Mapped[str] = mapped_column(Text, default="")
    # The menu's allergens; None: not declared.
    allergens: Mapped[list | None] = mapped_column(JSON)
    diets: Mapped[list] = mapped_column(JSON, default=list)
    finalized_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    total_minor: Mapped[int | None] = mapped_column()
    currency: Mapped[str | None] = mapped_column(String(3))

    counter = Counter(taken="halves_taken", limit=("halves_limit",))

    @property
    def portions_limit(self) -> float | None:
        return None if self.halves_limit is None else self.halves_limit / 2

    def signups_open(self, now: dt.datetime) -> bool:
        return self.closes_at is None or now < self.closes_at


class Party(db.Model):
    """Who comes with an answer: adults (a portion each) and children (half)."""

    __tablename__ = "meal_parties"
    __table_args__ = (
        CheckConstraint("adults >= 0 AND children >= 0 AND adults + children >= 1", name="someone"),
        CheckConstraint("held >= 0", name="held_positive"),
    )

    answer_id: Mapped[int] = mapped_column(ForeignKey("gathering_answers.id", ondelete="CASCADE"),
                                           primary_key=True)
    adults: Mapped[int] = mapped_column(default=1)
    children: Mapped[int] = mapped_column(default=0)
    held: Mapped[int] = mapped_column(default=0)  # the halves this party holds now

    @property
    def halves(self) -> int:
        return 2 * self.adults + self.children


class Need(db.Model):
    """What a potluck needs: "3 sides", or a free-form "bread"."""

    __tablename__ = "meal_needs"
    __table_args__ = (
        CheckConstraint(_in("course", COURSES), name="course"),
        CheckConstraint("needed >= 1 AND needed <= 50", name="needed_range"),
        CheckConstraint("taken >= 0 AND taken <= needed", name="taken_within_needed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gathering_id: Mapped[int] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"), index=True)
    course: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(80), default="")
    needed: Mapped[int] = mapped_column()
    taken: Mapped[int] = mapped_column(default=0)

    counter = Counter(taken="taken", limit=("needed",))


class Dish(db.Model):
    """What someone brings, or what the cook serves."""

    __tablename__ = "meal_dishes"
    __table_args__ = (
        CheckConstraint(_in("course", COURSES), name="course"),
        CheckConstraint("feeds >= 1 AND feeds <= 500", name="feeds_range"),
        Index("ix_meal_dishes_gathering_id_user_id", "gathering_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gathering_id: Mapped[int] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("meal_needs.id", ondelete="SET NULL"))
    course: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(80))
    feeds: Mapped[int] = mapped_column()
    allergens: Mapped[list | None] = mapped_column(JSON)  # None: not declared
    diets: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class DietaryNeeds(db.Model):
    """A person's own needs, for every circle, opt-in. Nobody else ever sees
    them: others see only counts, and only when enough people come."""

    __tablename__ = "dietary_needs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    avoids: Mapped[list] = mapped_column(JSON, default=list)  # allergens
    diets: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Expense(db.Model):
    """What someone spent on a meal, in the circle currency's minor units."""

    __tablename__ = "meal_expenses"
    __table_args__ = (CheckConstraint(f"amount_minor >= 1 AND amount_minor <= {MOST_MINOR}", name="amount_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gathering_id: Mapped[int] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    amount_minor: Mapped[int] = mapped_column()
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship()


class Share(db.Model):
    """A person's frozen share of a finalized meal: what they ate (halves),
    paid and owe. It stays when they leave, as "a former member"."""

    __tablename__ = "meal_shares"
    __table_args__ = (
        CheckConstraint("halves >= 0 AND paid_minor >= 0 AND share_minor >= 0", name="positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gathering_id: Mapped[int] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    halves: Mapped[int] = mapped_column()
    paid_minor: Mapped[int] = mapped_column()
    share_minor: Mapped[int] = mapped_column()

    user: Mapped[User | None] = relationship()
