"""A printable notice for a gathering shared with people outside the circle:
its guest link as a QR code, for a noticeboard. Nothing is written: the page
is a GET, its few words come in the query."""

from __future__ import annotations

from flask import render_template, request
from flask_login import login_required
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length, Optional

from ..circles.access import circle_page
from ..forms import Form, strip
from ..i18n import _, _l
from ..links import external_url
from ..qr import qr_svg
from . import bp
from .routes import _managed


class GatheringNoticeForm(Form):
    class Meta:
        csrf = False  # a GET that changes nothing

    text = TextAreaField(_l("A few words for the notice (optional)"), filters=[strip], validators=[
        Optional(), Length(max=300, message=_l("At most 300 characters: a notice is read in passing."))])
    size = SelectField(_l("Paper"), default="a4", choices=[("a4", _l("A4")), ("a5", _l("A5 (half of A4)"))])


@bp.route("/c/<slug>/gatherings/<int:gathering_id>/notice")
@login_required
@circle_page()
def notice(circle, membership, gathering_id):
    gathering = _managed(circle, membership, gathering_id)
    form = GatheringNoticeForm(formdata=request.args if request.args else None)
    if not gathering.public_token:
        # A page that explains, not an error: the host may have come back to it after stopping.
        return render_template("gatherings/notice_unshared.html", circle=circle, gathering=gathering)
    if request.args and not form.validate():
        return render_template("gatherings/notice_form.html", circle=circle, gathering=gathering, form=form), 422
    if not request.args:
        return render_template("gatherings/notice_form.html", circle=circle, gathering=gathering, form=form)
    link = external_url("gatherings.public", token=gathering.public_token)
    return render_template("gatherings/notice.html", circle=circle, gathering=gathering, text=form.text.data or "",
                           size=form.size.data, link=link, qr=qr_svg(link, _("QR code to scan with a phone")))
