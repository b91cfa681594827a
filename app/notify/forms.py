"""Notice forms: the settings page (its per-kind and per-circle choices are
read beside the form, since the kinds come from the registry)."""

from wtforms import SelectField, StringField

from ..forms import Form
from ..i18n import _l

HOURS = [(h, f"{h:02d}:00") for h in range(24)]


def valid_hour(form, field):
    from wtforms.validators import ValidationError
    if field.data not in range(24):
        raise ValidationError(_l("Choose an hour from the list."))


class TimesForm(Form):
    digest_hour = SelectField(_l("Send my daily digest at"), coerce=int, choices=HOURS, validate_choice=False,
                              validators=[valid_hour])
    quiet_from = SelectField(_l("Quiet from"), coerce=int, choices=HOURS, validate_choice=False,
                             validators=[valid_hour])
    quiet_until = SelectField(_l("until"), coerce=int, choices=HOURS, validate_choice=False,
                              validators=[valid_hour])


class DeviceForm(Form):
    """What a browser gives when it subscribes to pushes (sent by app.js)."""

    endpoint = StringField()
    p256dh = StringField()
    auth = StringField()
