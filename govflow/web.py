"""Cross-cutting web wiring: login loading, error pages, access enforcement, template helpers, SQLite pragmas."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime

import sqlalchemy as sa
from babel.units import format_unit
from flask import Flask, abort, g, jsonify, render_template, request, session
from flask_babel import format_date, format_datetime, format_timedelta, get_locale, to_user_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from . import bounds
from .access import enforce_declared_access
from .accounts.models import User
from .extensions import db, login_manager
from .i18n import timezone_name, tr
from .richtext import render_markdown


def instance_title(instance) -> str:
    """An item's title in the reader's language when it has one per language (``title_words``), else as stored."""
    words = getattr(instance, "title_words", None)
    return tr(words) if words else instance.title


def duration_text(duration) -> str:
    """An ISO-8601 duration (a timedelta, or an isodate Duration with months or years) in words: ``PT72H`` is
    "3 days", ``P1Y`` "1 year", in the current language. Templates use it as the ``duration`` filter."""
    if duration is None:
        return ""
    locale = get_locale() or "en"
    months = int(getattr(duration, "years", 0)) * 12 + int(getattr(duration, "months", 0))
    rest = getattr(duration, "tdelta", duration)
    if months and not rest:
        return format_unit(months // 12, "duration-year", locale=locale) if months % 12 == 0 else format_unit(months, "duration-month", locale=locale)
    if months:  # months and days together: approximately, counted from a fixed day
        start = datetime(2001, 1, 1)
        return format_timedelta((start + duration) - start, threshold=1)
    seconds = int(rest.total_seconds())
    # The largest unit that counts it exactly: PT72H is "3 days", PT36H "36 hours".
    for unit, size in (("duration-week", 604800), ("duration-day", 86400), ("duration-hour", 3600), ("duration-minute", 60)):
        if seconds % size == 0:
            return format_unit(seconds // size, unit, locale=locale)
    return format_unit(seconds, "duration-second", locale=locale)


ERROR_TEXTS = {
    400: _l("The request could not be understood."),
    403: _l("You are not allowed to do this."),
    404: _l("This page does not exist."),
    405: _l("This action is not available here."),
    409: _l("This conflicts with the current state of the item."),
    413: _l("The upload is too large."),
    429: _l("Too many attempts in a short time. Wait a few minutes, then try again."),
    422: _l("The request could not be processed."),
    500: _l("Something went wrong on our side. Nothing was changed."),
}


ERROR_HEADINGS = {
    400: _l("The request could not be understood"),
    403: _l("Not allowed"),
    404: _l("Page not found"),
    409: _l("This conflicts with the item's current state"),
    413: _l("Upload too large"),
    422: _l("This could not be done"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong"),
}


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: a whole number a database id can be; a larger one is simply not found (404)."""

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = None, max: int | None = None, signed: bool = False) -> None:  # noqa: A002
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=bounds.MAX_ID if max is None else max, signed=signed)


def install_converters(app: Flask) -> None:
    """Bound the ``int`` converter of every route (before the blueprints are registered)."""
    app.url_map.converters["int"] = IdConverter


def page_arg(name: str = "page") -> int:
    """A page number from the query string: a whole number from 1 to MAX_PAGE (anything else is page 1)."""
    value = request.args.get(name, 1, type=int)
    return value if isinstance(value, int) and 1 <= value <= bounds.MAX_PAGE else 1


def int_arg(name: str, default: int, minimum: int, maximum: int) -> int:
    """A whole number from the query string within [minimum, maximum], else ``default``."""
    value = request.args.get(name, default, type=int)
    return value if isinstance(value, int) and minimum <= value <= maximum else default


SESSION_TOKEN = "session_token"  # noqa: S105 - the name of a session key, not a secret
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


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
    heading = str(ERROR_HEADINGS.get(status, _l("This could not be done")))
    return render_template("errors/error.html", status=status, message=text, heading=heading, back=_same_site_referrer()), status


def _same_site_referrer() -> str | None:
    """The page the user came from, when it is a page of this site (never a link elsewhere), for a "back" link."""
    referrer = request.referrer or ""
    host = request.host_url.rstrip("/")
    if referrer.startswith(host + "/") and referrer.split("#")[0] != request.url:
        return referrer
    return None


def install(app: Flask) -> None:
    """Register hooks, handlers and template helpers on ``app``."""

    @login_manager.user_loader
    def _load_user(user_id: str):
        # One statement: the user with their roles (a joined load instead of the relationship's own second query).
        user = db.session.get(User, int(user_id), options=[joinedload(User.role_rows)]) if user_id.isdigit() and int(user_id) <= bounds.MAX_ID else None
        if user is None or not user.active:
            return None
        # A session is honoured only while it carries the user's current token (sign-out and a new password draw another).
        token = session.get(SESSION_TOKEN)
        return user if token is not None and user.session_token is not None and secrets.compare_digest(token, user.session_token) else None

    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"

    @app.before_request
    def _request_id():
        # A request id in every log line of a failure and on the error page, so a person can quote it to us.
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]

    app.before_request(enforce_declared_access)

    @app.before_request
    def _refuse_control_characters():
        # Checked once for every route: a NUL byte (which PostgreSQL's text columns refuse) or another invisible control
        # character in the address, the query, a form field or a file name is refused before any view runs.
        values = [request.path, *request.args.keys(), *request.args.values()]
        if request.method in ("POST", "PUT", "PATCH"):
            values += [*request.form.keys(), *request.form.values(), *(f.filename or "" for f in request.files.values())]
        if any(bounds.has_control_characters(v) for v in values):
            abort(422, _("The request holds a control character (such as a NUL byte) that no field accepts. Remove it and try again."))

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

    from .accounts.views import too_many

    app.register_error_handler(429, too_many)

    @app.errorhandler(CSRFError)
    def _csrf(_error):
        return error_page(400, _("The form has expired or was not sent from this site. Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(error):
        # A description given with abort() is a sentence for the user; Werkzeug's stock ones are replaced by ours.
        custom = error.description if error.description != type(error).description else None
        return error_page(error.code or 500, custom)

    @app.errorhandler(StaleDataError)
    def _stale(_error):
        db.session.rollback()
        return error_page(409, _("Someone else changed this item at the same time. Nothing was overwritten: reload the page and check its new state."))

    @app.errorhandler(Exception)
    def _unexpected(error):
        db.session.rollback()
        request_id = getattr(g, "request_id", "-")
        app.logger.exception("unhandled error on %s %s [request %s]", request.method, request.path, request_id)
        return error_page(500, _("Something went wrong on our side. Nothing was changed. If it happens again, quote request %(id)s.", id=request_id))

    @app.after_request
    def _conditional_pages(response):
        # Every page answered whole (200, not streamed) carries an ETag of its bytes and asks caches to check back
        # before reuse (no-cache: a page holds its reader's form tokens and language, so it is never shared as is);
        # a GET repeating the ETag in If-None-Match gets 304 with no body. Resources with their own caching rules
        # (attestations, status lists, log tiles) set their ETag first and are left as they are.
        whole = response.status_code == 200 and not response.is_streamed and "ETag" not in response.headers
        if request.method in ("GET", "HEAD") and whole and response.mimetype == "text/html":
            response.add_etag()
            response.cache_control.no_cache = True
            response.cache_control.private = True
            response.vary.add("Cookie")
            response.make_conditional(request)
        return response

    @app.after_request
    def _request_id_header(response):
        response.headers.setdefault("X-Request-Id", getattr(g, "request_id", ""))
        return response

    @app.context_processor
    def _helpers():
        return {"current_locale": str(get_locale() or "en"), "user": current_user}

    app.jinja_env.globals["tr"] = tr
    app.jinja_env.filters["instance_title"] = instance_title
    # Dates and times are typed and shown in the user's time zone (stored in UTC): forms prefill with local_time.
    app.jinja_env.globals["local_time"] = to_user_timezone
    app.jinja_env.globals["current_timezone"] = timezone_name
    app.jinja_env.globals["get_definition"] = app.extensions["govflow.engine"].definition_of
    app.jinja_env.globals["get_engine_definition"] = lambda name="commitment": app.extensions["govflow.engine"].definition(name)

    app.jinja_env.filters["when"] = lambda dt: format_datetime(dt, "medium") if dt else ""
    app.jinja_env.filters["day"] = lambda d: format_date(d, "medium") if d else ""
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["duration"] = duration_text
