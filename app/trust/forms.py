"""Forms of trust: vouching, removal proposals, agreements, reports and the
stewards' answers."""

from wtforms import DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..forms import Form, strip
from ..i18n import _l
from .agreements import LONGEST


def _whole(value):
    # Anything that is not a whole number is "none chosen" (0): the rule says what is wrong.
    return int(value) if isinstance(value, (int, str)) and str(value).isascii() and str(value).isdigit() \
        and len(str(value)) < 10 else 0


class VouchForm(Form):
    member = HiddenField(filters=[_whole])
    do = RadioField(choices=[("vouch", "vouch"), ("withdraw", "withdraw")],
                    validators=[InputRequired(_l("Choose to vouch or to withdraw."))])


DECIDE = [("consent", _l("Consent: it passes unless someone objects, with a reason")),
          ("consensus", _l("Consensus: agree, abstain, disagree or block (a block needs a reason)"))]


class RemovalForm(Form):
    """The view sets the member choices: everyone in the circle but the steward."""
    member = SelectField(_l("Who"), coerce=_whole, validate_choice=False)
    reason = TextAreaField(_l("Why (the person reads it and can answer)"), filters=[strip],
                           validators=[DataRequired(_l("Say why: the circle decides on your reasons, and the "
                                                       "person can answer them.")), Length(max=2000)])
    kind = RadioField(_l("How we decide"), default="consent", choices=DECIDE, validators=[InputRequired()])
    report = HiddenField(filters=[_whole])


class ReportForm(Form):
    reason = TextAreaField(_l("What is wrong"), filters=[strip], validators=[
        DataRequired(_l("Say what is wrong, so the stewards know what to look at.")), Length(max=1000)])


class MemberReportForm(ReportForm):
    """The view sets the member choices: everyone in the circle but the reporter."""
    member = SelectField(_l("Who"), coerce=_whole, validate_choice=False)


class ActForm(Form):
    action = RadioField(_l("What to do"), choices=[
        ("hide", _l("Hide it (its author still sees it, with your reason)")),
        ("warn", _l("Warn its author (a notice with your reason)")),
        ("dismiss", _l("Leave it as it is"))], validators=[InputRequired(_l("Choose what to do."))])
    note = StringField(_l("Your reason (it goes into the circle’s log)"), filters=[strip], validators=[
        DataRequired(_l("Give your reason: it goes into the circle’s log, for every member to read.")),
        Length(max=300)])


class AgreementsForm(Form):
    body = TextAreaField(_l("Our agreements (Markdown: **bold**, - lists, # headings)"), filters=[strip],
                         validators=[DataRequired(_l("Write the agreements first.")),
                                     Length(max=LONGEST, message=_l("At most %(max)d characters."))])
    note = StringField(_l("What changes, and why"), filters=[strip],
                       validators=[DataRequired(_l("Say in a few words what changes and why.")), Length(max=300)])
    review_on = DateField(_l("Look at them again on (optional)"), validators=[Optional()])
    how = RadioField(_l("How it changes"), default="propose", choices=[
        ("propose", _l("Propose it: the circle decides over seven days (consent)")),
        ("now", _l("Change them now, as a steward (logged, and every member is told)"))],
        validators=[InputRequired()])
