from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..forms import Form, strip
from ..i18n import _l


class CloseForm(Form):
    reason = TextAreaField(_l("Why close it? (every member reads this)"), filters=[strip],
                           validators=[Optional(), Length(max=5000)])
    exported = BooleanField(_l("We have downloaded the circle's export, or we do not need it"),
                            validators=[DataRequired(_l("Download the export first, or tick this to say you do "
                                                        "not need it."))])
