"""Cross-cutting web wiring: login loading, error pages, access enforcement, template helpers, SQLite pragmas."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, jsonify, render_template, request
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .access import enforce_declared_access
from .extensions import db, login_manager
from .i18n import tr

ERROR_TEXTS = {
    400: _l("The request could not be understood."),
    403: _l("You are not allowed to do this."),
    404: _l("This page does not exist."),
    405: _l("This action is not available here."),
    409: _l("This conflicts with the current state of the item."),
    413: _l("The upload is too large."),
    422: _l("The request could not be processed."),
    500: _l("Something went wrong on our side. Nothing was changed."),
}


def configure_database(app: Flask) -> None:
    """Turn on foreign keys and WAL for SQLite connections."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return

    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def wants_json() -> bool:
    """Whether the client asked for JSON rather than a page."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_page(status: int, message: str | None = None):
    """An error page (or JSON) with a sentence a person understands."""
    text = message or str(ERROR_TEXTS.get(status, ERROR_TEXTS[400]))
    if wants_json():
        return jsonify(error=text, status=status), status
    return render_template("errors/error.html", status=status, message=text), status


def install(app: Flask) -> None:
    """Register hooks, handlers and template helpers on ``app``."""
    from .accounts.models import User

    @login_manager.user_loader
    def _load_user(user_id: str):
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        return user if user is not None and user.active else None

    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"

    app.before_request(enforce_declared_access)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        return response

    @app.errorhandler(CSRFError)
    def _csrf(_error):
        return error_page(400, _("The form has expired or was not sent from this site. Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(error):
        # A description given with abort() is a sentence for the user; Werkzeug's stock ones are replaced by ours.
        custom = error.description if error.description != type(error).description else None
        return error_page(error.code or 500, custom)

    @app.errorhandler(Exception)
    def _unexpected(error):
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_page(500)

    @app.context_processor
    def _helpers():
        return {"current_locale": str(get_locale() or "en"), "user": current_user}

    app.jinja_env.globals["tr"] = tr
    app.jinja_env.globals["get_definition"] = app.extensions["govflow.engine"].definition_of
    app.jinja_env.globals["get_engine_definition"] = lambda name="commitment": app.extensions["govflow.engine"].definition(name)

    app.jinja_env.filters["when"] = lambda dt: format_datetime(dt, "medium") if dt else ""
    app.jinja_env.filters["day"] = lambda d: format_date(d, "medium") if d else ""
