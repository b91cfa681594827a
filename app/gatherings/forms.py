"""Gathering forms."""

from wtforms import (BooleanField, DateField, DateTimeLocalField, EmailField, IntegerField, RadioField,
                     SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import Form, strip
from ..i18n import _l
from ..zones import valid_time_zone, zone_choices


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


WHEN = "%Y-%m-%dT%H:%M"


class GatheringForm(Form):
    title = StringField(_l("What"), filters=[strip],
                        validators=[DataRequired(_l("Give the gathering a name.")), Length(max=120)])
    description = TextAreaField(_l("Details"), validators=[Optional(), Length(max=5000)])
    starts_local = DateTimeLocalField(_l("Starts"), format=WHEN,
                                      validators=[InputRequired(_l("Choose when it starts."))])
    ends_local = DateTimeLocalField(_l("Ends"), format=WHEN, validators=[InputRequired(_l("Choose when it ends."))])
    time_zone = SelectField(_l("Time zone"), validators=[InputRequired(), valid_time_zone], validate_choice=False)
    place = StringField(_l("Where (an address)"), filters=[strip], validators=[Optional(), Length(max=200)])
    online_url = StringField(_l("Online link (optional)"), filters=[strip], validators=[Optional(), Length(max=500)])
    capacity = IntegerField(_l("Seats (leave empty for no limit)"),
                            validators=[Optional(), NumberRange(1, 10000, _l("At least 1 seat."))])
    max_guests = IntegerField(_l("Guests each person may bring"), default=0,
                              validators=[Optional(), NumberRange(0, 20, _l("Between 0 and 20."))])
    needs_approval = BooleanField(_l("Hosts approve each answer"))
    status = SelectField(_l("Status"), default="confirmed",
                         choices=[("confirmed", _l("Confirmed")), ("tentative", _l("Not yet certain"))])
    cohosts = CheckboxList(_l("Co-hosts"), coerce=int, validate_choice=False)

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = zone_choices()
        self.cohosts.choices = [(m.user_id, m.user.shown_name) for m in members]


class NewGatheringForm(GatheringForm):
    repeat = SelectField(_l("Repeats"), default="", choices=[
        ("", _l("Once")), ("weekly", _l("Every week (or every few weeks)")),
        ("monthly_date", _l("Every month on the same date")),
        ("monthly_weekday", _l("Every month on the same weekday"))])
    interval = IntegerField(_l("Every how many weeks or months"), default=1,
                            validators=[Optional(), NumberRange(1, 52, _l("Between 1 and 52."))])
    setpos = SelectField(_l("Which weekday of the month"), coerce=int, default=1, choices=[
        (1, _l("First")), (2, _l("Second")), (3, _l("Third")), (4, _l("Fourth")), (-1, _l("Last"))])
    until = DateField(_l("Last date (optional)"), validators=[Optional()])


class SeriesForm(Form):
    title = StringField(_l("What"), filters=[strip],
                        validators=[DataRequired(_l("Give the gathering a name.")), Length(max=120)])
    description = TextAreaField(_l("Details"), validators=[Optional(), Length(max=5000)])
    place = StringField(_l("Where (an address)"), filters=[strip], validators=[Optional(), Length(max=200)])
    online_url = StringField(_l("Online link (optional)"), filters=[strip], validators=[Optional(), Length(max=500)])
    capacity = IntegerField(_l("Seats (leave empty for no limit)"), validators=[Optional(), NumberRange(1, 10000)])


class AnswerForm(Form):
    response = RadioField(_l("Are you coming?"), validators=[InputRequired(_l("Choose an answer."))], choices=[
        ("going", _l("I'm coming")), ("maybe", _l("Maybe")), ("cant", _l("Can't come"))])
    guests = IntegerField(_l("Guests I bring"), default=0, validators=[Optional(), NumberRange(0, 20)])
    message = TextAreaField(_l("A word for the hosts (optional)"), filters=[strip],
                            validators=[Optional(), Length(max=500)])


class CancelForm(Form):
    reason = TextAreaField(_l("Why is it cancelled?"), filters=[strip],
                           validators=[DataRequired(_l("Say why, so people know what happened.")), Length(max=300)])


class MoveForm(Form):
    to = SelectField(choices=[("seated", _l("Give a seat")), ("waiting", _l("Move to the waitlist"))])
    over_capacity = BooleanField(_l("Over capacity, on purpose"))


class SlotForm(Form):
    title = StringField(_l("What is needed"), filters=[strip],
                        validators=[DataRequired(_l("Say what the slot is for.")), Length(max=120)])
    needed = IntegerField(_l("How many people"), default=1,
                          validators=[InputRequired(), NumberRange(1, 100, _l("Between 1 and 100 people."))])
    every_date = BooleanField(_l("On every date of the series, once for all"))


class GuestForm(Form):
    name = StringField(_l("Your name"), filters=[strip],
                       validators=[DataRequired(_l("Please tell us your name.")), Length(max=80)])
    email = EmailField(_l("Your email"), filters=[strip], validators=[
        InputRequired(_l("Please give your email address.")), Length(max=320),
        Email(_l("That doesn't look like an email address."), check_deliverability=False)])


class CalendarAddressForm(Form):
    """Make a calendar address, or a new one in its place: replacing breaks the
    calendars that use the old one, so it asks first."""

    which = RadioField(choices=[("mine", "mine"), ("ours", "ours")], validators=[InputRequired()])
    replace = BooleanField(_l("Yes: calendars that use the old address stop getting updates"))
