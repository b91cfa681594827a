"""Account forms. Every form carries a CSRF token (Flask-WTF)."""

import unicodedata

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, ValidationError

from ..forms import strip
from ..i18n import _l
from ..zones import valid_time_zone, zone_choices, zone_names
from . import passwords


class NewPassword:
    """At least 8 characters, no composition rules, not a common password."""

    def __call__(self, form, field):
        value = field.data or ""
        if len(value) < passwords.MIN_LENGTH:
            raise ValidationError(_l("Use at least %(n)s characters. A few words together work well.",
                                     n=passwords.MIN_LENGTH))
        if len(value) > passwords.MAX_LENGTH:
            raise ValidationError(_l("Please keep it under %(n)s characters.", n=passwords.MAX_LENGTH))
        if passwords.is_common(value):
            raise ValidationError(_l("That one is on the list of passwords people guess first. "
                                     "Try a few words only you would put together."))


def no_control_characters(form, field):
    """Refuse control characters (below U+0020, U+007F and the C1 range up to
    U+009F): a name is shown on pages, in lists and in mail, where a line
    break, a tab or a NUL byte (which PostgreSQL refuses outright) has no place.
    Spaces around the name are stripped before this runs."""
    if any(unicodedata.category(char) == "Cc" for char in field.data or ""):
        raise ValidationError(_l("Please leave out control characters such as tabs or line breaks."))


EMAIL = [InputRequired(_l("Please give your email address.")), Length(max=320),
         Email(_l("That doesn't look like an email address."), check_deliverability=False)]
DISPLAY_NAME = [DataRequired(_l("Please tell us what to call you.")),
                Length(max=80, message=_l("Please keep it under %(n)s characters.", n=80)), no_control_characters]


class RegisterForm(FlaskForm):
    display_name = StringField(_l("Your name, as neighbours know you"), filters=[strip], validators=DISPLAY_NAME)
    email = EmailField(_l("Email"), validators=EMAIL, filters=[strip])
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Please choose a password.")), NewPassword()])
    # Filled from the browser's own setting when JavaScript runs; a zone we do
    # not know is dropped rather than shown as an error on a field nobody sees.
    time_zone = HiddenField(filters=[lambda z: z if z in zone_names() else None])


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=EMAIL, filters=[strip])
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Please give your password."))])
    remember = BooleanField(_l("Keep me signed in on this device"))


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("Email"), validators=EMAIL, filters=[strip])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[InputRequired(_l("Please choose a password.")), NewPassword()])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"),
                                     validators=[InputRequired(_l("Please give your current password."))])
    password = PasswordField(_l("New password"), validators=[InputRequired(_l("Please choose a password.")), NewPassword()])


class TimeZoneForm(FlaskForm):
    time_zone = SelectField(_l("Time zone"), validators=[InputRequired(), valid_time_zone], validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = zone_choices()


class ConfirmPasswordForm(FlaskForm):
    """Deleting an account asks for the password once more."""

    password = PasswordField(_l("Your password"), validators=[InputRequired(_l("Please give your password."))])


class NameForm(FlaskForm):
    display_name = StringField(_l("Your name, as neighbours know you"), filters=[strip], validators=DISPLAY_NAME)



class ChangeEmailForm(FlaskForm):
    email = EmailField(_l("New email address"), validators=EMAIL, filters=[strip])
    current_password = PasswordField(_l("Your password"),
                                     validators=[InputRequired(_l("Please give your password."))])
