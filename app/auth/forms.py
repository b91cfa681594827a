"""Account forms. Every form carries a CSRF token (Flask-WTF)."""

from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, ValidationError

from ..forms import Form, strip
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


EMAIL = [InputRequired(_l("Please give your email address.")), Length(max=320),
         Email(_l("That doesn't look like an email address."), check_deliverability=False)]
DISPLAY_NAME = [DataRequired(_l("Please tell us what to call you.")),
                Length(max=80, message=_l("Please keep it under %(n)s characters.", n=80))]


class RegisterForm(Form):
    display_name = StringField(_l("Your name, as neighbours know you"), filters=[strip], validators=DISPLAY_NAME)
    email = EmailField(_l("Email"), validators=EMAIL, filters=[strip])
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Please choose a password.")), NewPassword()])
    # Filled from the browser's own setting when JavaScript runs; a zone we do
    # not know is dropped rather than shown as an error on a field nobody sees.
    time_zone = HiddenField(filters=[lambda z: z if z in zone_names() else None])


class LoginForm(Form):
    email = EmailField(_l("Email"), validators=EMAIL, filters=[strip])
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Please give your password."))])
    remember = BooleanField(_l("Keep me signed in on this device"))


class ResetRequestForm(Form):
    email = EmailField(_l("Email"), validators=EMAIL, filters=[strip])


class NewPasswordForm(Form):
    password = PasswordField(_l("New password"), validators=[InputRequired(_l("Please choose a password.")), NewPassword()])


class ChangePasswordForm(Form):
    current_password = PasswordField(_l("Current password"),
                                     validators=[InputRequired(_l("Please give your current password."))])
    password = PasswordField(_l("New password"), validators=[InputRequired(_l("Please choose a password.")), NewPassword()])


class TimeZoneForm(Form):
    time_zone = SelectField(_l("Time zone"), validators=[InputRequired(), valid_time_zone], validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = zone_choices()


class ConfirmPasswordForm(Form):
    """Deleting an account asks for the password once more."""

    password = PasswordField(_l("Your password"), validators=[InputRequired(_l("Please give your password."))])


# Each language in its own words: someone who cannot read the page can still find theirs.
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}
FOLLOW_BROWSER = "browser"


class LanguageForm(Form):
    """Pages and mail in a language the person chose, or in the browser's."""

    language = SelectField(_l("Language"), validate_choice=True)

    def __init__(self, *args, browser: str = "en", **kwargs):
        super().__init__(*args, **kwargs)
        from ..i18n import PSEUDO, _, languages
        self.language.choices = [(FOLLOW_BROWSER, _("Follow my browser (now %(language)s)",
                                                   language=LANGUAGE_NAMES.get(browser, browser)))] + [
            (code, LANGUAGE_NAMES.get(code, code)) for code in languages() if code != PSEUDO]


class NameForm(Form):
    display_name = StringField(_l("Your name, as neighbours know you"), filters=[strip], validators=DISPLAY_NAME)



class ChangeEmailForm(Form):
    email = EmailField(_l("New email address"), validators=EMAIL, filters=[strip])
    current_password = PasswordField(_l("Your password"),
                                     validators=[InputRequired(_l("Please give your password."))])
