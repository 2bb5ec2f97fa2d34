"""Language and time-zone selection, and helpers to show bilingual definition texts."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_babel import get_locale, get_timezone
from flask_login import current_user


def select_locale() -> str:
    """The session's choice, else the user's preference, else the browser's best match, else English."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # commands (tick, demo, migrate) speak the default language
        return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return request.accept_languages.best_match(languages) or "en"


def select_timezone() -> str | None:
    """The user's time zone, else the configured default."""
    if not has_request_context():
        return None
    if current_user and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return None


def timezone_name() -> str:
    """The name of the time zone dates and times are typed and shown in for this user (e.g. "Europe/Paris")."""
    return str(get_timezone())


def tr(texts: dict[str, str] | None) -> str:
    """Pick the current language's text from a {'en': ..., 'fr': ...} mapping."""
    if not texts:
        return ""
    lang = str(get_locale() or "en")
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()))
