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
    areas.personal("dishes", my_dishes)
    areas.personal("dietary_needs", my_dietary_needs)
    areas.personal("meal_costs", my_costs)


def my_dishes(user):
    from ..auth.export import rows_as_records
    from ..extensions import db

    return rows_as_records(db.session.execute(
        select(Gathering.title.label("gathering"), Gathering.starts_local, Dish.course, Dish.name, Dish.feeds,
               Dish.allergens, Dish.diets, Dish.created_at)
        .select_from(Dish).join(Gathering, Gathering.id == Dish.gathering_id).where(Dish.user_id == user.id)
        .order_by(Gathering.starts_at, Dish.id)))


def my_dietary_needs(user):
    from ..extensions import db

    needs = db.session.get(DietaryNeeds, user.id)
    return [] if needs is None else [{"avoids": needs.avoids, "diets": needs.diets,
                                      "updated_at": needs.updated_at.isoformat()}]


def my_costs(user):
    from ..auth.export import rows_as_records
    from ..extensions import db

    spent = rows_as_records(db.session.execute(
        select(Gathering.title.label("gathering"), Expense.amount_minor, Expense.note, Expense.created_at)
        .select_from(Expense).join(Gathering, Gathering.id == Expense.gathering_id).where(Expense.user_id == user.id)
        .order_by(Expense.created_at)))
    shares = rows_as_records(db.session.execute(
        select(Gathering.title.label("gathering"), Share.halves, Share.paid_minor, Share.share_minor)
        .select_from(Share).join(Gathering, Gathering.id == Share.gathering_id).where(Share.user_id == user.id)
        .order_by(Gathering.starts_at)))
    return [{"spent": spent, "shares": shares}]
