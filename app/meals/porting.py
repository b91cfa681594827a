"""What of shared meals leaves in a circle's export, and what stays (see app/circles/export.py)."""

from sqlalchemy import select

from ..gatherings.models import Answer, Gathering
from .models import DietaryNeeds, Dish, Expense, Meal, Need, Party, Share


def _of_gatherings(model):
    return lambda circle_id: (select(model.__table__).join(Gathering, Gathering.id == model.gathering_id)
                              .where(Gathering.circle_id == circle_id))


def register(areas) -> None:
    areas.export("meals", Meal, _of_gatherings(Meal))
    areas.export("parties", Party,
                 lambda circle_id: (select(Party.__table__).join(Answer, Answer.id == Party.answer_id)
                                    .join(Gathering, Gathering.id == Answer.gathering_id)
                                    .where(Gathering.circle_id == circle_id)))
    areas.export("needs", Need, _of_gatherings(Need))
    areas.export("dishes", Dish, _of_gatherings(Dish))
    areas.export("expenses", Expense, _of_gatherings(Expense))
    areas.export("shares", Share, _of_gatherings(Share))
    areas.keep_back(DietaryNeeds, "Dietary needs never leave a person's hands: only in their own export.")
