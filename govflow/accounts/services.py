"""Account services: create users, check passwords. They flush and never commit."""

from __future__ import annotations

import re
import secrets

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from ..engine import Refused
from ..extensions import db
from ..uniques import expect_duplicate
from .models import ROLE_VALUES, User, UserRole
from .passwords import password_problem

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Hashes checked against when the e-mail is unknown, so both paths cost the same (no user enumeration by timing):
# one per hashing method in use, made the first time it is needed.
_DUMMY_HASHES: dict[str, str] = {}


class AccountError(Refused):
    """A user could not be created; the message says why."""


def _method() -> str:
    return current_app.config.get("GOVFLOW_PASSWORD_HASH", "scrypt") if has_app_context() else "scrypt"


def hash_password(password: str) -> str:
    """Hash a password with scrypt (``GOVFLOW_PASSWORD_HASH``: its cost)."""
    return generate_password_hash(password, method=_method())


def _dummy_hash() -> str:
    method = _method()
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-a-real-password", method=method)
    return _DUMMY_HASHES[method]


def find_user(email: str) -> User | None:
    """The user with this e-mail (case-insensitive), or None."""
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def create_user(email: str, name: str, password: str, roles: list[str] | tuple[str, ...] = (), locale: str | None = None) -> User:
    """Create a user with global ``roles``; raise AccountError on bad input or a taken e-mail."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise AccountError(f"'{email}' is not an e-mail address")
    if not name.strip():
        raise AccountError("a name is required")
    problem = password_problem(password, email, name)
    if problem:
        raise AccountError(problem)
    unknown = [r for r in roles if r not in ROLE_VALUES]
    if unknown:
        raise AccountError(f"unknown role(s): {', '.join(unknown)} (known: {', '.join(ROLE_VALUES)})")
    if find_user(email) is not None:
        raise AccountError(f"a user with e-mail '{email}' already exists")
    user = User(email=email, name=name.strip(), password_hash=hash_password(password), locale=locale)
    user.role_rows = [UserRole(role=r) for r in dict.fromkeys(roles)]
    with expect_duplicate(User.__table__, {"email"}, _("An account with this e-mail address already exists.")):
        db.session.add(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user matching these credentials, or None."""
    user = find_user(email)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.active or not check_password_hash(user.password_hash, password):
        return None
    return user


def session_token(user: User) -> str:
    """The token a new session of ``user`` carries (drawn on first use)."""
    if user.session_token is None:
        user.session_token = secrets.token_urlsafe(32)
        db.session.flush()
    return user.session_token


def end_sessions(user: User) -> None:
    """End every session of ``user`` (sign-out everywhere): a new token, so earlier cookies are refused."""
    user.session_token = secrets.token_urlsafe(32)
    db.session.flush()


def change_password(user: User, current: str, new: str) -> None:
    """Change ``user``'s password after checking the current one; every other session ends."""
    if not check_password_hash(user.password_hash, current or ""):
        raise AccountError(_("The current password is not right."))
    problem = password_problem(new or "", user.email, user.name)
    if problem:
        raise AccountError(problem)
    user.password_hash = hash_password(new)
    end_sessions(user)
