"""What every area's forms share: the one-button form, filters, and the one
way a page shows a form again with what was wrong."""

from __future__ import annotations

from flask import render_template
from flask_wtf import FlaskForm

from .errors import RuleError


class PlainForm(FlaskForm):
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
