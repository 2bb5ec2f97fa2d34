"""What every domain's views do with a user's action: run it, commit once, say so and redirect; or, refused, roll back
and answer with the refusal's status and sentence. Also the streamed CSV download the open-data pages share."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from flask import Response, flash, redirect, stream_with_context
from flask_babel import gettext as _

from .engine import EngineError
from .extensions import db
from .web import error_page


def refusal(exc: Exception) -> tuple[str, int]:
    """The sentence and the status of a refused action (engine errors and service errors carry both)."""
    if isinstance(exc, EngineError):
        return exc.message, exc.status
    return str(exc), getattr(exc, "status", 422)


CONCURRENT = sa.exc.IntegrityError  # the database refused a duplicate another request wrote an instant before


def _concurrent_change() -> str:
    return _("Someone made the same change at the same time. Nothing was overwritten: reload the page to see it.")


def act(action: Callable[[], Any], success: str, target: str, refusals: tuple[type[Exception], ...]):
    """Run ``action``, commit, flash ``success`` and go to ``target``; a refusal changes nothing and says why."""
    try:
        action()
    except refusals as exc:
        db.session.rollback()
        message, status = refusal(exc)
        return error_page(status, message)
    except CONCURRENT:
        db.session.rollback()
        return error_page(409, _concurrent_change())
    db.session.commit()
    flash(success, "success")
    return redirect(target, code=303)


def run_form(form, action: Callable[[], Any], success, target: Callable[[Any], str], refusals: tuple[type[Exception], ...]):
    """Validate ``form``, run ``action``, commit and redirect; a refusal is rolled back and flashed.

    Returns (response or None, status): the caller renders its page again with the status when there is no response.
    ``success`` is a sentence, or a function of the action's result giving one.
    """
    if not form.validate_on_submit():
        return None, 422 if form.is_submitted() else 200
    try:
        result = action()
    except refusals as exc:
        db.session.rollback()
        message, status = refusal(exc)
        flash(message, "error")
        return None, status
    except CONCURRENT:
        db.session.rollback()
        flash(_concurrent_change(), "error")
        return None, 409
    db.session.commit()
    flash(success(result) if callable(success) else success, "success")
    return redirect(target(result)), 302


# A spreadsheet runs a cell beginning with one of these as a formula (OWASP's CSV injection rule).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will show, not run: text beginning like a formula is prefixed with a quote (OWASP)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_download(rows: Iterable[dict], columns: list[str], filename: str) -> Response:
    """A CSV download (UTF-8, a header line then one line per row), streamed in pieces of about 64 KiB; every text cell
    that a spreadsheet would run as a formula is neutralised."""

    def generate():
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: safe_cell(value) for key, value in row.items()})
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(generate()), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
