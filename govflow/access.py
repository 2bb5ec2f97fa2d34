"""Explicit access rules on every route; a route without one is refused (deny by default)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, request
from flask_login import current_user

ACCESS_ATTR = "_govflow_access"


def public(view: Callable) -> Callable:
    """Anyone, signed in or not, may use this route."""
    setattr(view, ACCESS_ATTR, "public")
    return view


def signed_in(view: Callable) -> Callable:
    """Any signed-in user may use this route (finer checks happen inside)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        return view(*args, **kwargs)

    setattr(wrapper, ACCESS_ATTR, "signed_in")
    return wrapper


def roles_required(*roles: str) -> Callable:
    """Only signed-in users holding one of ``roles`` may use this route (403 otherwise)."""

    def deco(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        setattr(wrapper, ACCESS_ATTR, "roles:" + ",".join(roles))
        return wrapper

    return deco


def access_rule(endpoint: str) -> str | None:
    """The access rule declared on ``endpoint``'s view, or None."""
    view = current_app.view_functions.get(endpoint)
    return getattr(view, ACCESS_ATTR, None) if view else None


def enforce_declared_access() -> None:
    """before_request hook: refuse any route that declares no access rule."""
    if request.endpoint is None or request.endpoint == "static":
        return
    if access_rule(request.endpoint) is None:
        abort(403)
