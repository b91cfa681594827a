"""Lending forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import (BooleanField, DateField, IntegerField, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import Form, strip
from ..i18n import _l
from .models import CATEGORIES, CONDITIONS

CATEGORY_LABELS = {
    "tools": _l("Tools"), "garden": _l("Garden"), "kitchen": _l("Kitchen"), "camping": _l("Camping"),
    "sport": _l("Sport"), "transport": _l("Getting around"), "books": _l("Books"), "games": _l("Games"),
    "children": _l("Children"), "rooms": _l("Rooms"), "other": _l("Other"),
}
CONDITION_LABELS = {"new": _l("As new"), "good": _l("Good"), "worn": _l("Worn but works"),
                    "fragile": _l("Fragile: handle with care")}


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ThingForm(Form):
    name = StringField(_l("What is it?"), filters=[strip],
                       validators=[DataRequired(_l("Give the thing a name.")), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=3000)])
    category = SelectField(_l("Category"), default="tools",
                           choices=[(c, CATEGORY_LABELS[c]) for c in CATEGORIES])
    condition = SelectField(_l("Condition"), default="good", choices=[(c, CONDITION_LABELS[c]) for c in CONDITIONS])
    pickup_place = StringField(_l("Where to pick it up"), filters=[strip], validators=[Optional(), Length(max=200)])
    house_rules = TextAreaField(_l("House rules (for example: return it clean)"), filters=[strip],
                                validators=[Optional(), Length(max=500)])
    max_loan_days = IntegerField(_l("Longest loan, in days"), default=14, validators=[
        InputRequired(_l("Say how long it may be lent.")), NumberRange(1, 365, _l("Between 1 and 365 days."))])
    buffer_days = IntegerField(_l("Days free between loans"), default=0, validators=[
        Optional(), NumberRange(0, 30, _l("Between 0 and 30 days."))])
    auto_accept = BooleanField(_l("Accept requests for free dates at once"))


class NewThingForm(ThingForm):
    owner = SelectField(_l("Whose is it?"), default="me",
                        choices=[("me", _l("Mine")), ("circle", _l("The circle's (keepers lend it)"))])
    keepers = CheckboxList(_l("Keepers besides you"), coerce=int, validate_choice=False)

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.keepers.choices = [(m.user_id, m.user.shown_name) for m in members]


class RequestForm(Form):
    start_date = DateField(_l("First day"), validators=[InputRequired(_l("Choose the first day."))])
    end_date = DateField(_l("Last day"), validators=[InputRequired(_l("Choose the last day."))])
    message = TextAreaField(_l("A word for the owner (optional)"), filters=[strip],
                            validators=[Optional(), Length(max=500)])
    gathering = SelectField(_l("Hand it over at a gathering (optional)"), coerce=int, default=0,
                            validate_choice=False)

    def __init__(self, *args, gatherings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.gathering.choices = [(0, _l("No, we'll arrange it"))] + [(g.id, g.label) for g in gatherings]


class WaitForm(Form):
    start_date = DateField(_l("First day"), validators=[InputRequired(_l("Choose the first day."))])
    end_date = DateField(_l("Last day"), validators=[InputRequired(_l("Choose the last day."))])


class NoteForm(Form):
    note = TextAreaField(_l("Note (optional)"), filters=[strip], validators=[Optional(), Length(max=500)])


class ExtendForm(Form):
    end_date = DateField(_l("New last day"), validators=[InputRequired(_l("Choose the new last day."))])


class MoveDatesForm(Form):
    start_date = DateField(_l("New first day"), validators=[InputRequired(_l("Choose the first day."))])
    end_date = DateField(_l("New last day"), validators=[InputRequired(_l("Choose the last day."))])


class StatusForm(Form):
    status = SelectField(_l("State"), choices=[("available", _l("Can be lent")), ("repair", _l("In repair")),
                                               ("retired", _l("Retired"))])
    reason = StringField(_l("Why (shown to borrowers)"), filters=[strip], validators=[Optional(), Length(max=300)])


def one_file(form, field):
    if not isinstance(field.data, FileStorage) or not field.data.filename:
        raise ValidationError(_l("Choose a photo: JPEG, PNG or WebP."))


class PhotoForm(Form):
    """The one form that takes a file: its one photo (the base form ignores
    files on purpose; this one asks for them back)."""

    class Meta(Form.Meta):
        def wrap_formdata(self, form, formdata):
            return FlaskForm.Meta.wrap_formdata(self, form, formdata)

    photo = FileField(_l("Photo (JPEG, PNG or WebP, up to 10 MB)"), validators=[one_file])
