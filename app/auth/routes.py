"""Account views: thin; the rules live in domain.py."""

from flask import current_app, flash, redirect, render_template, request, session, url_for
from ..i18n import _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db, limiter, login_manager
from ..htmx import is_partial_request
from . import bp, domain, passwords
from .access import client_key, email_key, safe_next
from .forms import (ChangePasswordForm, ConfirmPasswordForm, LoginForm, NewPasswordForm, PlainForm,
                    RegisterForm, ResetRequestForm, TimeZoneForm)
from .models import User


def _limit(name: str):
    return lambda: current_app.config[name]


@login_manager.user_loader
def load_user(token: str) -> User | None:
    return domain.load_session_user(token)


def _invalid(template: str, **context):
    """An invalid form: the same page, messages beside the fields, 422."""
    return render_template(template, **context), 422


def _sign_in(user: User, remember: bool) -> None:
    # A fresh cookie session at sign-in: nothing from before survives it.
    session.clear()
    domain.start_session(user, remember=remember)
    db.session.commit()
    login_user(user, remember=remember)


@login_manager.unauthorized_handler
def unauthorized():
    # 303 with the path (not the full URL) as next, so a member whose session
    # expired gets back to where they were.
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target), 303)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_limit("LIMIT_REGISTER_PER_IP"), key_func=client_key, methods=["POST"],
               exempt_when=domain.registration_exempt)
def register():
    next_url = safe_next(request.args.get("next"), "")
    if current_user.is_authenticated:
        return redirect(next_url or url_for("home.index"))
    form = RegisterForm()
    if not form.validate_on_submit():
        page = render_template("auth/register.html", form=form)
        return (page, 422) if form.is_submitted() else page
    user = domain.register(form.email.data, form.display_name.data, form.password.data, form.time_zone.data)
    if user is not None:
        db.session.flush()
        domain.arrive(user, next_url or None)
    db.session.commit()
    session["registered_email"] = domain.normalize_email(form.email.data)
    return redirect(url_for("auth.check_email", next=next_url or None), 303)


@bp.route("/check-email")
def check_email():
    return render_template("auth/check_email.html", email=session.get("registered_email"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_limit("LIMIT_LOGIN_PER_EMAIL"), key_func=email_key, methods=["POST"])
@limiter.limit(_limit("LIMIT_LOGIN_PER_IP"), key_func=client_key, methods=["POST"])
def login():
    next_url = safe_next(request.args.get("next"), url_for("home.index"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    if not form.validate_on_submit():
        page = render_template("auth/login.html", form=form, next_url=next_url)
        return (page, 422) if form.is_submitted() else page
    user = domain.authenticate(form.email.data, form.password.data)
    if user is None:
        db.session.rollback()
        form.password.errors.append(_("That email and password don't match. Check both, or reset your password."))
        return _invalid("auth/login.html", form=form, next_url=next_url)
    _sign_in(user, form.remember.data)
    return redirect(domain.arrive(user, next_url) or next_url, 303)


@bp.route("/logout", methods=["POST"])
def logout():
    form = PlainForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        domain.end_session(current_user.session_token)
        db.session.commit()
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
    user = domain.verify_email(token)
    if user is None:
        db.session.rollback()
        return render_template("auth/verify.html", form=form, failed=True), 410
    db.session.commit()
    flash(_("Thank you: your email address is confirmed."), "success")
    landing = domain.arrive(user, None)
    if current_user.is_authenticated and current_user.id == user.id:
        return redirect(landing or url_for("home.index"), 303)
    return redirect(url_for("auth.login", next=landing), 303)


def _resend_key() -> str:
    return f"resend:{current_user.id}" if current_user.is_authenticated else client_key()


@bp.route("/verify/resend", methods=["POST"])
@login_required
@limiter.limit(_limit("LIMIT_RESEND_PER_ACCOUNT"), key_func=_resend_key)
def resend_verification():
    form = PlainForm()
    if form.validate_on_submit() and not current_user.is_verified:
        domain.send_verification(current_user)
        db.session.commit()
    message = _("We sent a new link to %(email)s. It works for 24 hours.", email=current_user.email)
    if is_partial_request():
        return render_template("auth/_resent.html", message=message)
    flash(message, "success")
    return redirect(url_for("home.index"), 303)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_limit("LIMIT_RESET_PER_EMAIL"), key_func=email_key, methods=["POST"])
@limiter.limit(_limit("LIMIT_REGISTER_PER_IP"), key_func=client_key, methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if not form.validate_on_submit():
        page = render_template("auth/reset_request.html", form=form)
        return (page, 422) if form.is_submitted() else page
    domain.request_reset(form.email.data)
    db.session.commit()
    return render_template("auth/reset_sent.html", email=domain.normalize_email(form.email.data))


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    user = domain.reset_token_user(token)
    if user is None:
        db.session.rollback()
        return render_template("auth/reset_password.html", failed=True), 410
    form = NewPasswordForm()
    if not form.validate_on_submit():
        page = render_template("auth/reset_password.html", form=form)
        return (page, 422) if form.is_submitted() else page
    domain.reset_password(token, form.password.data)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("Your password is changed. Sign in with the new one."), "success")
    return redirect(url_for("auth.login"), 303)


# --- my account -------------------------------------------------------------

def _account_page(status: int = 200, **forms):
    forms.setdefault("tz_form", TimeZoneForm(time_zone=current_user.time_zone))
    forms.setdefault("plain_form", PlainForm())
    return render_template("auth/account.html", **forms), status


@bp.route("/account")
@login_required
def account():
    return _account_page()


@bp.route("/account/time-zone", methods=["POST"])
@login_required
def set_time_zone():
    form = TimeZoneForm()
    if not form.validate_on_submit():
        return _account_page(422, tz_form=form)
    current_user.time_zone = form.time_zone.data
    db.session.commit()
    flash(_("Times are now shown in %(zone)s.", zone=form.time_zone.data), "success")
    return redirect(url_for("auth.account"), 303)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        page = render_template("auth/change_password.html", form=form)
        return (page, 422) if form.is_submitted() else page
    if not passwords.check_password(current_user.password_hash, form.current_password.data):
        form.current_password.errors.append(_("That is not your current password."))
        return _invalid("auth/change_password.html", form=form)
    user = current_user._get_current_object()
    domain.change_password(user, form.password.data)
    # Every other device is signed out; this one carries on in a new session.
    _sign_in(user, remember=False)
    flash(_("Your password is changed, and every other device is signed out."), "success")
    return redirect(url_for("auth.account"), 303)


@bp.route("/account/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere():
    form = PlainForm()
    if not form.validate_on_submit():
        return _account_page(400)
    domain.end_all_sessions(current_user)
    db.session.commit()
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
        page = render_template("auth/delete.html", form=form, consequences=consequences)
        return (page, 422) if form.is_submitted() else page
    if not passwords.check_password(current_user.password_hash, form.password.data):
        form.password.errors.append(_("That is not your password."))
        return _invalid("auth/delete.html", form=form, consequences=consequences)
    domain.delete_account(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("Your account is deleted. Thank you for the time you spent with us."), "info")
    response = redirect(url_for("home.index"), 303)
    response.headers["Clear-Site-Data"] = '"cache"'
    return response
