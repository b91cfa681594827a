"""Forms of talking and deciding."""

from wtforms import BooleanField, DateField, DateTimeLocalField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..forms import Form, strip
from ..i18n import _l

WHEN = "%Y-%m-%dT%H:%M"
LONGEST = 5000  # characters in a reply, a discussion's start or a proposal


class DiscussionForm(Form):
    title = StringField(_l("Subject"), filters=[strip],
                        validators=[DataRequired(_l("Give the discussion a subject.")), Length(max=120)])
    body = TextAreaField(_l("What you want to say"), filters=[strip],
                         validators=[Optional(), Length(max=LONGEST, message=_l("At most %(max)d characters."))])


class ReplyForm(Form):
    body = TextAreaField(_l("Your reply"), filters=[strip], validators=[
        DataRequired(_l("Write something first.")),
        Length(max=LONGEST, message=_l("At most %(max)d characters: split it in two, or say it shorter."))])


class ProposalForm(Form):
    kind = RadioField(_l("How we decide"), default="consent", validators=[InputRequired()], choices=[
        ("consent", _l("Consent: it passes unless someone objects, with a reason")),
        ("consensus", _l("Consensus: agree, abstain, disagree or block (a block needs a reason)")),
        ("time_poll", _l("A time poll: when shall we meet?"))])
    title = StringField(_l("What is proposed"), filters=[strip],
                        validators=[DataRequired(_l("Say what is proposed.")), Length(max=120)])
    body = TextAreaField(_l("Details (optional)"), filters=[strip],
                         validators=[Optional(), Length(max=LONGEST, message=_l("At most %(max)d characters."))])
    closes_local = DateTimeLocalField(_l("Closes at"), format=WHEN,
                                      validators=[InputRequired(_l("Choose when it closes."))])
    quorum = IntegerField(_l("Quorum: share of members who must take part, in % (optional)"),
                          validators=[Optional(), NumberRange(1, 100, _l("Between 1 and 100."))])
    open_results = BooleanField(_l("Show positions while it is open (otherwise hidden until it closes)"))
    option1 = DateTimeLocalField(_l("First time"), format=WHEN, validators=[Optional()])
    option2 = DateTimeLocalField(_l("Second time"), format=WHEN, validators=[Optional()])
    option3 = DateTimeLocalField(_l("Third time (optional)"), format=WHEN, validators=[Optional()])
    option4 = DateTimeLocalField(_l("Fourth time (optional)"), format=WHEN, validators=[Optional()])
    duration = IntegerField(_l("How long, in minutes"), default=120,
                            validators=[Optional(), NumberRange(15, 1440, _l("Between 15 and 1440 minutes."))])

    def times(self):
        return [f.data for f in (self.option1, self.option2, self.option3, self.option4) if f.data is not None]


ALL_CHOICES = [("consent", _l("I consent")), ("object", _l("I object")), ("agree", _l("Agree")),
               ("abstain", _l("Abstain")), ("disagree", _l("Disagree")), ("block", _l("Block"))]


class PositionForm(Form):
    choice = RadioField(_l("My position"), choices=ALL_CHOICES,
                        validators=[InputRequired(_l("Choose a position."))])
    reason = TextAreaField(_l("Why (needed for an objection or a block)"), filters=[strip],
                           validators=[Optional(), Length(max=1000)])


class OutcomeForm(Form):
    outcome = TextAreaField(_l("What the circle decided"), filters=[strip], validators=[
        DataRequired(_l("Say what the circle decided.")), Length(max=LONGEST)])
    review_on = DateField(_l("Look at it again on (optional)"), validators=[Optional()])


class PollGatheringForm(Form):
    option = RadioField(_l("When"), coerce=int, validate_choice=False,
                        validators=[InputRequired(_l("Choose one of the times."))])
    title = StringField(_l("What"), filters=[strip],
                        validators=[DataRequired(_l("Give the gathering a name.")), Length(max=120)])
    place = StringField(_l("Where (an address)"), filters=[strip], validators=[Optional(), Length(max=200)])
