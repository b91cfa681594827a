"""The shared form macros: what a screen reader is pointed at exists on the page."""

import re

from flask import render_template_string

from app.auth.forms import LoginForm


def test_a_checkbox_with_a_hint_shows_the_hint_it_points_to(app):
    with app.test_request_context("/"):
        html = render_template_string('{% from "macros.html" import field %}{{ field(form.remember, hint="Only on '
                                      'your own phone.") }}', form=LoginForm(meta={"csrf": False}))
    described = re.search(r'aria-describedby="([^"]+)"', html).group(1)
    assert f'<p class="hint" id="{described}">Only on your own phone.</p>' in html
