"""Circle forms."""

from wtforms import BooleanField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..forms import Form, strip
from ..i18n import _l
from ..zones import valid_time_zone, zone_choices
from .domain import SLUG_PATTERN, slug_taken, suggest_slug

LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("es", "Español"), ("fr", "Français"),
             ("it", "Italiano"), ("nl", "Nederlands"), ("pl", "Polski"), ("pt", "Português"),
             ("sv", "Svenska"), ("tr", "Türkçe")]


# Currencies a circle can count shared meals' costs in (Babel knows their decimals).
CURRENCIES = ("EUR", "GBP", "CHF", "SEK", "NOK", "DKK", "ISK", "PLN", "CZK", "HUF", "RON", "BGN", "TRY", "UAH",
              "USD", "CAD", "MXN", "BRL", "ARS", "CLP", "AUD", "NZD", "JPY", "KRW", "INR", "ZAR", "KWD")


class CircleSettingsForm(Form):
    name = StringField(_l("Name"), filters=[strip],
                       validators=[DataRequired(_l("Please give the circle a name.")), Length(max=80)])
    description = TextAreaField(_l("What is this circle about?"), validators=[Optional(), Length(max=5000)])
    area = StringField(_l("Where (a street, a building, a neighbourhood)"), filters=[strip],
                       validators=[Optional(), Length(max=120)])
    time_zone = SelectField(_l("Time zone"), validators=[InputRequired(), valid_time_zone], validate_choice=False)
    language = SelectField(_l("Language"), choices=LANGUAGES)
    join_mode = RadioField(_l("How do people join?"), default="open", choices=[
        ("open", _l("Anyone with an invitation link joins at once")),
        ("question", _l("Joiners answer a question, and a steward approves them")),
    ])
    join_question = TextAreaField(_l("The question for joiners"), filters=[strip],
                                  validators=[Optional(), Length(max=500)])
    members_can_invite = BooleanField(_l("Any member may make invitation links, not only stewards"))
    members_may_share = BooleanField(_l("Members may open a gathering to people outside the circle, by link"),
                                     default=True)
    currency = SelectField(_l("Currency of shared meals' costs"), default="EUR")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = zone_choices()
        if self.currency is not None:
            self.currency.choices = currency_choices()

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        # Optional() ends the field's own chain on empty input, so this check
        # of two fields together lives here.
        if self.join_mode.data == "question" and not self.join_question.data:
            self.join_question.errors = [*self.join_question.errors,
                                         _l("Write the question joiners should answer.")]
            return False
        return valid


def currency_choices() -> list[tuple[str, str]]:
    from babel.numbers import get_currency_name
    from flask_babel import get_locale
    locale = get_locale() or "en"
    return [(code, f"{get_currency_name(code, locale=locale)} ({code})") for code in CURRENCIES]


class NewCircleForm(CircleSettingsForm):
    currency = None  # set later, in the settings (it defaults to the euro)
    slug = StringField(_l("Web address"), filters=[lambda v: v.strip().lower() if isinstance(v, str) else v],
                       render_kw={"data-slug-from": "name"})

    def validate(self, extra_validators=None):
        # Left empty, the address is made from the name (app.js fills it in as
        # the name is typed; without JavaScript it is made here).
        if not self.slug.data and self.name.data and isinstance(self.name.data, str):
            self.slug.data = suggest_slug(self.name.data)
        return super().validate(extra_validators)

    def validate_slug(self, field):
        if not SLUG_PATTERN.match(field.data or ""):
            raise ValidationError(_l("Use 3 to 40 lowercase letters, digits and dashes, "
                                     "starting and ending with a letter or digit, like elm-street."))
        if slug_taken(field.data):
            raise ValidationError(_l("Another circle already has that address. Try another, like %(s)s-2.",
                                     s=field.data))


class InvitationForm(Form):
    days = SelectField(_l("Works for"), coerce=int, default=7, choices=[
        (1, _l("1 day")), (7, _l("1 week")), (14, _l("2 weeks")), (30, _l("30 days"))])
    max_uses = IntegerField(_l("How many people can use it"), default=10, validators=[
        InputRequired(_l("Say how many people may use it.")),
        NumberRange(1, 500, _l("Between 1 and 500 people."))])
    note = StringField(_l("A note for yourselves (who it is for)"), filters=[strip],
                       validators=[Optional(), Length(max=120)])
    names_inviter = BooleanField(_l("Tell them I invited them"))


class NoticeForm(Form):
    """A printable notice for a stairwell: its own invitation, public once printed."""

    text = TextAreaField(_l("A few words for your neighbours"), filters=[strip], validators=[
        InputRequired(_l("Write a few words for the notice.")),
        Length(max=300, message=_l("At most 300 characters: a notice is read in passing."))])
    days = SelectField(_l("The link works for"), coerce=int, default=30, choices=[
        (7, _l("1 week")), (30, _l("30 days")), (90, _l("3 months"))])
    max_uses = IntegerField(_l("How many people can use it"), default=20, validators=[
        InputRequired(_l("Say how many people may use it.")),
        NumberRange(1, 500, _l("Between 1 and 500 people."))])
    asks_question = BooleanField(_l("Ask the circle's question first, and let a steward welcome them"),
                                 default=True)
    names_inviter = BooleanField(_l("Put my name on the notice"))
    size = SelectField(_l("Paper"), default="a4", choices=[("a4", _l("A4")), ("a5", _l("A5 (half of A4)"))])


class OffersForm(Form):
    offers = TextAreaField(_l("What are you glad to offer or lend a hand with?"), filters=[strip],
                           validators=[Optional(), Length(max=300)])
    share_email = BooleanField(_l("My email address may leave in this circle's export"))


class JoinForm(Form):
    answer = TextAreaField(_l("Your answer"), filters=[strip], validators=[Optional(), Length(max=2000)])
