"""Shared meals' forms."""

from wtforms import BooleanField, DateTimeLocalField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..forms import Form, strip
from ..gatherings.forms import WHEN, CheckboxList, NewGatheringForm
from ..i18n import _, _l
from .models import ALLERGENS, COURSES, DIETS


def _allergen_choices():
    return [(code, _(label)) for code, label in ALLERGENS.items()]


def _diet_choices():
    return [(code, _(label)) for code, label in DIETS.items()]


class Tagged:
    """Allergens (from the 14) and diets, with "declares none of the 14"."""

    def tags(self):
        allergens = self.allergens.data or []
        declared = bool(allergens) or self.no_allergens.data
        return (allergens if declared else None), (self.diets.data or [])

    def _tag_choices(self):
        # validate_choice stays on: an unknown allergen is refused beside the field.
        self.allergens.choices = _allergen_choices()
        self.diets.choices = _diet_choices()


class MealForm(NewGatheringForm, Tagged):
    style = RadioField(_l("What kind of meal"), default="potluck", choices=[
        ("potluck", _l("Potluck: everyone brings a dish")), ("cooked", _l("Cooked: a cook (or a team) makes it"))],
        validators=[InputRequired(_l("Choose a potluck or a cooked meal."))])
    portions = IntegerField(_l("Portions (leave empty for no limit)"),
                            validators=[Optional(), NumberRange(1, 10000, _l("Between 1 and 10,000 portions."))])
    closes_local = DateTimeLocalField(_l("Sign-ups close (empty: 24 hours before)"), format=WHEN,
                                      validators=[Optional()])
    menu = TextAreaField(_l("Menu"), validators=[Optional(), Length(max=3000)])
    allergens = CheckboxList(_l("The menu contains"))
    no_allergens = BooleanField(_l("None of these 14 allergens"))
    diets = CheckboxList(_l("The menu is"))
    mains = IntegerField(_l("Mains"), default=0, validators=[Optional(), NumberRange(0, 50, _l("Between 0 and 50."))])
    sides = IntegerField(_l("Sides"), default=0, validators=[Optional(), NumberRange(0, 50, _l("Between 0 and 50."))])
    desserts = IntegerField(_l("Desserts"), default=0,
                            validators=[Optional(), NumberRange(0, 50, _l("Between 0 and 50."))])
    drinks = IntegerField(_l("Drinks"), default=0, validators=[Optional(), NumberRange(0, 50, _l("Between 0 and 50."))])
    other = StringField(_l("Something else (optional)"), filters=[strip], validators=[Optional(), Length(max=80)])
    others = IntegerField(_l("How many of it"), default=1,
                          validators=[Optional(), NumberRange(1, 50, _l("Between 1 and 50."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tag_choices()

    def needs(self):
        needs = [(course, "", getattr(self, field).data or 0)
                 for course, field in (("main", "mains"), ("side", "sides"), ("dessert", "desserts"),
                                       ("drink", "drinks"))]
        needs = [n for n in needs if n[2]]
        if self.other.data:
            needs.append(("other", self.other.data, self.others.data or 1))
        return needs


class PartyForm(Form):
    adults = IntegerField(_l("Adults (you too)"), default=1,
                          validators=[InputRequired(_l("How many adults, you included?")),
                                      NumberRange(1, 21, _l("Between 1 and 21 adults."))])
    children = IntegerField(_l("Children (half a portion each)"), default=0,
                            validators=[Optional(), NumberRange(0, 20, _l("Between 0 and 20 children."))])


class DishForm(Form, Tagged):
    need = SelectField(_l("What it is for"), validate_choice=False, default="")
    course = SelectField(_l("Course"), default="", validate_choice=False)
    name = StringField(_l("Your dish"), filters=[strip],
                       validators=[DataRequired(_l("Say what you bring.")), Length(max=80)])
    feeds = IntegerField(_l("How many it feeds"), default=4,
                         validators=[InputRequired(_l("Say roughly how many it feeds.")),
                                     NumberRange(1, 500, _l("Between 1 and 500 people."))])
    allergens = CheckboxList(_l("It contains"))
    no_allergens = BooleanField(_l("None of these 14 allergens"))
    diets = CheckboxList(_l("It is"))

    def __init__(self, *args, needs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self._tag_choices()
        self.course.choices = [("", _("— choose —"))] + [(c, _(names[0])) for c, names in COURSES.items()]
        self.need.choices = [("", _("An extra (no listed need)"))] + list(needs)

    def need_id(self):
        raw = self.need.data or ""
        if not raw:
            return None
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
            return -1
        return int(raw)


class ChangeDishForm(Form, Tagged):
    name = DishForm.name
    feeds = DishForm.feeds
    allergens = CheckboxList(_l("It contains"))
    no_allergens = BooleanField(_l("None of these 14 allergens"))
    diets = CheckboxList(_l("It is"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tag_choices()


class MenuForm(Form, Tagged):
    menu = TextAreaField(_l("Menu"), validators=[Optional(), Length(max=3000)])
    allergens = CheckboxList(_l("The menu contains"))
    no_allergens = BooleanField(_l("None of these 14 allergens"))
    diets = CheckboxList(_l("The menu is"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tag_choices()


class ExpenseForm(Form):
    amount = StringField(_l("Amount"), filters=[strip],
                         validators=[DataRequired(_l("How much did you spend?")), Length(max=20)])
    note = StringField(_l("What for (optional)"), filters=[strip], validators=[Optional(), Length(max=200)])


class DietaryForm(Form):
    avoids = CheckboxList(_l("I avoid"))
    diets = CheckboxList(_l("I eat"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.avoids.choices = _allergen_choices()
        self.diets.choices = _diet_choices()
