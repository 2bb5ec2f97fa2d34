"""Sign in, sign out, and the language switch."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..access import public, signed_in
from .forms import LanguageForm, LoginForm
from .services import authenticate

bp = Blueprint("accounts", __name__)


def safe_next(target: str | None, default: str) -> str:
    """Only follow same-site relative paths after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return default


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Sign-in form; a wrong e-mail or password gets one message that reveals neither."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            session.clear()
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
