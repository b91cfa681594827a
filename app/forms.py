"""What every area's forms share: the one-button form, filters, and the one
way a page shows a form again with what was wrong."""

from __future__ import annotations

import unicodedata

from flask import abort, render_template, request
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from .errors import RuleError
from .i18n import _

# Line breaks and tabs are text in a multi-line field; every other control
# character (and every one in a one-line field) is refused: in a title or a
# name a line break would end up in a mail header or a calendar line.
_TEXT_CONTROLS = {"\n", "\r", "\t"}


def has_controls(value: str, multi_line: bool = False) -> bool:
    return any(unicodedata.category(c) == "Cc" and not (multi_line and c in _TEXT_CONTROLS) for c in value)


class Form(FlaskForm):
    """Every form's base: text only (no form of ours takes a file, so a file
    sent in place of a text field is ignored, not handed to validators that
    expect text), and no control characters in one-line fields."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            wrapped = super().wrap_formdata(form, formdata)
            return request.form if wrapped is not None and request.files else wrapped

    def validate(self, extra_validators=None):
        # Before the field's own validators, some of which ask the database
        # (PostgreSQL refuses a NUL byte outright).
        refused = False
        for field in self:
            if not isinstance(field, StringField):
                continue
            multi_line = isinstance(field, TextAreaField)
            if any(isinstance(v, str) and has_controls(v, multi_line) for v in field.raw_data or ()):
                field.errors = [_("Please leave out control characters.") if multi_line
                                else _("Please leave out control characters such as tabs or line breaks.")]
                refused = True
        return not refused and super().validate(extra_validators)


class PlainForm(Form):
    """Only a CSRF token, for one-button posts (log out, take a slot)."""


def strip(value):
    """A filter for text fields: no spaces around what people type."""
    return value.strip() if isinstance(value, str) else value


def show_error(form, error: RuleError) -> None:
    """Put a rule's message beside the field it names, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, str(error)]
    else:
        form.form_errors.append(str(error))


def form_page(template: str, form, **context):
    """The page of a form: 200 when it is first shown, 422 when it came back
    with messages (a failed validation or a rule's error)."""
    page = render_template(template, form=form, **context)
    return (page, 422) if form.is_submitted() else page


def int_arg(name: str, default: int, highest: int = 2**31 - 1) -> int:
    """A whole number from the query string (``?page=``), 1 to ``highest``;
    the default when it is missing.

    :raise 404: for anything else (a page that does not exist).
    """
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= highest:
        abort(404)
    return int(raw)
