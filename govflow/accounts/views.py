"""Sign in, sign out, and the language switch."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..access import public, signed_in
from ..actions import refused
from ..extensions import db, limiter
from ..web import SESSION_TOKEN
from .forms import LanguageForm, LoginForm, PasswordForm
from .services import AccountError, authenticate, change_password, end_sessions, session_token

bp = Blueprint("accounts", __name__)


def safe_next(target: str | None, default: str) -> str:
    """Only follow same-site relative paths after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return default


def _login_email() -> str:
    """The account a sign-in attempt names (rate-limited per account, whatever address it comes from)."""
    return "login:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], key_func=_login_email, methods=["POST"], deduct_when=lambda response: response.status_code == 401
)
def login():
    """Sign-in form; a wrong e-mail or password gets one message that reveals neither."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            lang = session.get("lang")
            session.clear()
            session[SESSION_TOKEN] = session_token(user)
            if lang:
                session["lang"] = lang
            db.session.commit()
            login_user(user)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(safe_next(form.next.data, url_for("main.dashboard")))
        flash(_("Wrong e-mail or password."), "error")
        return render_template("accounts/login.html", form=form), 401
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
@signed_in
def logout():
    """Sign out (a POST with CSRF token, so no link can sign a user out)."""
    lang = session.get("lang")
    end_sessions(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are signed out."), "info")
    return redirect(url_for("main.index"))


@bp.post("/lang")
@public
def set_language():
    """Remember the chosen interface language for this browser session."""
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.lang.data
    return redirect(safe_next(form.next.data, url_for("main.index")))


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def password():
    """Change one's password; every other session of the account ends (this one carries on)."""
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current.data, form.new.data)
        except AccountError as exc:
            db.session.rollback()
            form.new.errors = [*form.new.errors, str(exc)]
            status = 422
        else:
            session[SESSION_TOKEN] = current_user.session_token
            db.session.commit()
            flash(_("Your password was changed. Other sessions of your account were signed out."), "success")
            return redirect(url_for("main.dashboard"))
    elif form.is_submitted():
        status = 422
    return render_template("accounts/password.html", form=form), status


def too_many(_error):
    """The answer to a refused burst of attempts (HTTP 429), in the user's language: on the sign-in page itself (the
    e-mail address kept) when that is where it happened, else on its own page."""
    message = _("Too many attempts in a short time. Wait a few minutes, then try again.")
    if request.endpoint == "accounts.login":
        form = LoginForm(next=request.args.get("next", ""))
        return refused(message, 429, page=lambda: render_template("accounts/login.html", form=form), form=form)
    return refused(message, 429)
