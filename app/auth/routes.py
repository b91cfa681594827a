"""Account views: thin. Each write is one unit (``write_unit``) opened here,
after the slow password work is done; the rules live in domain.py."""

from flask import Response, current_app, flash, redirect, render_template, request, session, stream_with_context, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..areas import areas
from ..database import write_unit
from ..extensions import db, limiter, login_manager
from ..forms import PlainForm, form_page, show_error
from ..htmx import is_partial_request
from .. import i18n
from ..i18n import _
from ..limits import client_key, configured
from ..links import safe_next
from . import bp, domain, passwords
from .access import email_key
from .forms import (FOLLOW_BROWSER, LANGUAGE_NAMES, ChangeEmailForm, ChangePasswordForm, ConfirmPasswordForm,
                    LanguageForm, LoginForm, NameForm, NewPasswordForm, RegisterForm, ResetRequestForm, TimeZoneForm)
from .models import User


@login_manager.user_loader
def load_user(token: str) -> User | None:
    return domain.load_session_user(token)


def _signed_in(user: User, remember: bool) -> None:
    # A fresh cookie session at sign-in: nothing from before survives it.
    session.clear()
    login_user(user, remember=remember)


@login_manager.unauthorized_handler
def unauthorized():
    # 303 with the path (not the full URL) as next, so a member whose session
    # expired gets back to where they were.
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target), 303)


def _registering_email() -> str:
    return "register:" + domain.normalize_email(request.form.get("email", ""))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(configured("LIMIT_REGISTER_PER_IP"), key_func=client_key, methods=["POST"],
               exempt_when=domain.registration_exempt)
# Nothing lifts this one: it keeps the form from mailing one address again and again.
@limiter.limit(configured("LIMIT_REGISTER_PER_EMAIL"), key_func=_registering_email, methods=["POST"])
def register():
    next_url = safe_next(request.args.get("next"), "")
    if current_user.is_authenticated:
        return redirect(next_url or url_for("home.index"))
    form = RegisterForm()
    if not form.validate_on_submit():
        return form_page("auth/register.html", form)
    password_hash = passwords.hash_password(form.password.data)  # slow: before the unit
    with write_unit():
        domain.spend_exemptions()
        user = domain.register(form.email.data, form.display_name.data, password_hash, form.time_zone.data,
                               notes=domain.signup_notes(next_url or None))
        if user is not None:
            db.session.flush()
            domain.arrive(user, next_url or None)
    session["registered_email"] = domain.normalize_email(form.email.data)
    return redirect(url_for("auth.check_email", next=next_url or None), 303)


@bp.route("/check-email")
def check_email():
    return render_template("auth/check_email.html", email=session.get("registered_email"))


def _failed(response) -> bool:
    return response.status_code >= 400


@bp.route("/login", methods=["GET", "POST"])
# Failed tries only: a member's own sign-ins never lock them out.
@limiter.limit(configured("LIMIT_LOGIN_PER_EMAIL"), key_func=email_key, methods=["POST"], deduct_when=_failed)
@limiter.limit(configured("LIMIT_LOGIN_PER_IP"), key_func=client_key, methods=["POST"])
def login():
    next_url = safe_next(request.args.get("next"), url_for("home.index"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    if not form.validate_on_submit():
        return form_page("auth/login.html", form, next_url=next_url)
    checked = domain.check_credentials(form.email.data, form.password.data)  # slow: before the unit
    if checked is None:
        form.password.errors.append(_("That email and password don't match. Check both, or reset your password."))
        return form_page("auth/login.html", form, next_url=next_url)
    try:
        with write_unit():
            user = domain.sign_in(*checked, remember=form.remember.data,
                                  browser_language=i18n.browser_language())
            landing = domain.arrive(user, next_url)
    except domain.Changed as error:
        show_error(form, error)
        return form_page("auth/login.html", form, next_url=next_url)
    _signed_in(user, form.remember.data)
    return redirect(landing or next_url, 303)


@bp.route("/logout", methods=["POST"])
def logout():
    form = PlainForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        with write_unit():
            domain.end_session(current_user.session_token)
        logout_user()
        session.clear()
    response = redirect(url_for("auth.login"), 303)
    # "cache" empties the HTTP cache of this site on this device, so pages kept
    # for this person do not outlive their session on a shared phone.
    response.headers["Clear-Site-Data"] = '"cache"'
    flash(_("You are signed out."), "info")
    return response


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify(token: str):
    """GET shows a button, POST confirms: mail scanners that open links must
    not spend them."""
    form = PlainForm()
    if not form.validate_on_submit():
        return render_template("auth/verify.html", form=form)
    with write_unit():
        user = domain.verify_email(token)
        landing = domain.arrive(user, None) if user is not None else None
        user_id = user.id if user is not None else None
    if user_id is None:
        return render_template("auth/verify.html", form=form, failed=True), 410
    flash(_("Thank you: your email address is confirmed."), "success")
    if current_user.is_authenticated and current_user.id == user_id:
        return redirect(landing or url_for("home.index"), 303)
    return redirect(url_for("auth.login", next=landing), 303)


def _resend_key() -> str:
    return f"resend:{current_user.id}" if current_user.is_authenticated else client_key()


@bp.route("/verify/resend", methods=["POST"])
@login_required
@limiter.limit(configured("LIMIT_RESEND_PER_ACCOUNT"), key_func=_resend_key)
def resend_verification():
    form = PlainForm()
    if form.validate_on_submit() and not current_user.is_verified:
        with write_unit():
            domain.send_verification(current_user)
    message = _("We sent a new link to %(email)s. It works for 24 hours.", email=current_user.email)
    if is_partial_request():
        return render_template("auth/partials/resent.html", message=message)
    flash(message, "success")
    return redirect(url_for("home.index"), 303)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(configured("LIMIT_RESET_PER_EMAIL"), key_func=email_key, methods=["POST"])
@limiter.limit(configured("LIMIT_REGISTER_PER_IP"), key_func=client_key, methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if not form.validate_on_submit():
        return form_page("auth/reset_request.html", form)
    with write_unit():
        domain.request_reset(form.email.data)
    return render_template("auth/reset_sent.html", email=domain.normalize_email(form.email.data))


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    if domain.reset_token_user(token) is None:
        return render_template("auth/reset_password.html", failed=True), 410
    form = NewPasswordForm()
    if not form.validate_on_submit():
        return form_page("auth/reset_password.html", form)
    new_hash = passwords.hash_password(form.password.data)  # slow: before the unit
    with write_unit():
        user = domain.reset_password(token, new_hash)
    if user is None:  # spent by another tab meanwhile
        return render_template("auth/reset_password.html", failed=True), 410
    logout_user()
    session.clear()
    flash(_("Your password is changed. Sign in with the new one."), "success")
    return redirect(url_for("auth.login"), 303)


# --- my account -------------------------------------------------------------

def _account_page(status: int = 200, **forms):
    # The forms not sent are shown fresh (formdata=None), not filled from
    # whatever another form on the page posted.
    forms.setdefault("name_form", NameForm(formdata=None, display_name=current_user.display_name))
    forms.setdefault("email_form", ChangeEmailForm(formdata=None))
    forms.setdefault("tz_form", TimeZoneForm(time_zone=current_user.time_zone))
    forms.setdefault("language_form", _language_form(
        language=FOLLOW_BROWSER if current_user.language_follows_browser else current_user.language))
    forms.setdefault("plain_form", PlainForm())
    return render_template("auth/account.html", notices=areas().notice_kinds.values(), **forms), status


@bp.route("/account")
@login_required
def account():
    return _account_page()


@bp.route("/account/my-data.json")
@login_required
def my_data():
    """Everything that is this person's, as JSON (app/auth/export.py)."""
    from . import export

    response = Response(stream_with_context(export.document(current_user)), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{export.file_name(current_user)}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _save_setting(form, form_name: str, attribute: str, saying):
    """One of the account page's one-field forms: save it on the account, or
    show the page again with the message beside the field."""
    if not form.validate_on_submit():
        return _account_page(422, **{form_name: form})
    value = form[attribute].data
    with write_unit():
        setattr(current_user, attribute, value)
    flash(saying(value), "success")
    return redirect(url_for("auth.account"), 303)


@bp.route("/account/name", methods=["POST"])
@login_required
def change_name():
    return _save_setting(NameForm(), "name_form", "display_name",
                         lambda name: _("Saved: neighbours now see you as %(name)s.", name=name))


def _email_change_key() -> str:
    return f"email-change:{current_user.id}" if current_user.is_authenticated else client_key()


@bp.route("/account/email", methods=["POST"])
@login_required
@limiter.limit(configured("LIMIT_EMAIL_CHANGE_PER_ACCOUNT"), key_func=_email_change_key)
def change_email():
    """Mail a link to the new address and a notice with an undo link to the
    old one. The answer is the same whether or not the new address has an
    account (domain.request_email_change)."""
    form = ChangeEmailForm()
    if not form.validate_on_submit():
        return _account_page(422, email_form=form)
    new_email = domain.normalize_email(form.email.data)
    if new_email == current_user.email:
        form.email.errors.append(_("That is already your address."))
        return _account_page(422, email_form=form)
    checked_hash = current_user.password_hash
    if not passwords.check_password(checked_hash, form.current_password.data):  # slow: before the unit
        form.current_password.errors.append(_("That is not your password."))
        return _account_page(422, email_form=form)
    try:
        with write_unit():
            domain.request_email_change(domain.unchanged(current_user.id, checked_hash), new_email)
    except domain.Changed as error:
        show_error(form, error)
        return _account_page(422, email_form=form)
    flash(_("We sent a link to %(email)s. Your address changes when you open it, within %(hours)s hours.",
            email=new_email, hours=current_app.config["EMAIL_CHANGE_TOKEN_HOURS"]), "success")
    return redirect(url_for("auth.account"), 303)


def _address_link(token: str, template: str, address_of, spend):
    """The pages of the two mailed address links (confirming a new address,
    undoing a change): GET shows a button, since mail scanners that open links
    must not spend them; POST spends the link in one unit with
    ``spend(token, signed_in_id)``. Returns (a page to give, None) or (None,
    (the account, its address, whether this browser is signed in to it))."""
    address = address_of(token)
    if address is None:
        return (render_template(template, failed=True), 410), None
    form = PlainForm()
    if not form.validate_on_submit():
        return render_template(template, form=form, address=address), None
    here = current_user.id if current_user.is_authenticated else None
    try:
        with write_unit():
            user = spend(token, here)
            email = user.email if user is not None else None  # read inside the unit
    except domain.AddressTaken as error:
        return (render_template(template, taken=str(error)), 409), None
    if user is None:  # spent by another tab meanwhile
        return (render_template(template, failed=True), 410), None
    return None, (user, email, user.id == here)


def _confirm(token: str, here: int | None):
    user = domain.confirm_email_change(token)
    if user is not None and user.id == here:
        domain.start_session(user)  # this browser carries on; every other one is signed out
    return user


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    page, done = _address_link(token, "auth/email_confirm.html", domain.change_link_email, _confirm)
    if page is not None:
        return page
    user, email, here = done
    if here:
        _signed_in(user, remember=False)  # before the message: it clears the cookie session
    flash(_("Your email address is now %(email)s. Every other device is signed out.", email=email), "success")
    return redirect(url_for("auth.account" if here else "auth.login"), 303)


@bp.route("/email/undo/<token>", methods=["GET", "POST"])
def undo_email_change(token: str):
    """Gives the old address back and locks the account until a new password is chosen."""
    page, done = _address_link(token, "auth/email_undo.html", domain.undo_link_email,
                               lambda token, _here: domain.undo_email_change(token))
    if page is not None:
        return page
    _user, email, here = done
    if here:
        logout_user()
        session.clear()
    flash(_("Your address is %(email)s again, and every device is signed out. Whoever changed it knew your "
            "password, so it no longer works: we sent a link to %(email)s to choose a new one.",
            email=email), "success")
    response = redirect(url_for("auth.login"), 303)
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


def _language_form(**kwargs) -> LanguageForm:
    return LanguageForm(browser=i18n.browser_language(), **kwargs)


@bp.route("/account/language", methods=["POST"])
@login_required
def set_language():
    form = LanguageForm(browser=i18n.browser_language())
    if not form.validate_on_submit():
        return _account_page(422, language_form=form)
    with write_unit():
        domain.choose_language(current_user, form.language.data, i18n.browser_language())
    i18n.forget_language()  # the rest of this request, the message too, in the new language
    flash(_("Pages and mail now come in %(language)s.", language=LANGUAGE_NAMES.get(
        current_user.language, current_user.language)) if form.language.data != FOLLOW_BROWSER else
          _("Pages now follow your browser's language; mail comes in the one it asked for last."), "success")
    return redirect(url_for("auth.account"), 303)


@bp.route("/account/time-zone", methods=["POST"])
@login_required
def set_time_zone():
    return _save_setting(TimeZoneForm(), "tz_form", "time_zone",
                         lambda zone: _("Times are now shown in %(zone)s.", zone=zone))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return form_page("auth/change_password.html", form)
    checked_hash = current_user.password_hash
    if not passwords.check_password(checked_hash, form.current_password.data):  # slow: before the unit
        form.current_password.errors.append(_("That is not your current password."))
        return form_page("auth/change_password.html", form)
    new_hash = passwords.hash_password(form.password.data)
    try:
        with write_unit():
            user = domain.unchanged(current_user.id, checked_hash)
            domain.set_password(user, new_hash)
            # Every other device is signed out; this one carries on in a new session.
            domain.start_session(user)
    except domain.Changed as error:
        show_error(form, error)
        return form_page("auth/change_password.html", form)
    _signed_in(user, remember=False)
    flash(_("Your password is changed, and every other device is signed out."), "success")
    return redirect(url_for("auth.account"), 303)


@bp.route("/account/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere():
    form = PlainForm()
    if not form.validate_on_submit():
        return _account_page(400)
    with write_unit():
        domain.end_all_sessions(current_user)
    logout_user()
    session.clear()
    flash(_("You are signed out on every device, this one too."), "info")
    response = redirect(url_for("auth.login"), 303)
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    form = ConfirmPasswordForm()
    consequences = domain.deletion_consequences(current_user)
    if not form.validate_on_submit():
        return form_page("auth/delete.html", form, consequences=consequences)
    checked_hash = current_user.password_hash
    if not passwords.check_password(checked_hash, form.password.data):  # slow: before the unit
        form.password.errors.append(_("That is not your password."))
        return form_page("auth/delete.html", form, consequences=consequences)
    try:
        with write_unit():
            domain.delete_account(domain.unchanged(current_user.id, checked_hash))
    except domain.Changed as error:
        show_error(form, error)
        return form_page("auth/delete.html", form, consequences=consequences)
    logout_user()
    session.clear()
    flash(_("Your account is deleted. Thank you for the time you spent with us."), "info")
    response = redirect(url_for("home.index"), 303)
    response.headers["Clear-Site-Data"] = '"cache"'
    return response
