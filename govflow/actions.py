"""What every domain's views do with a user's action: run it, commit once, say so and redirect; or, refused, roll back
and answer with the refusal's status and sentence. Also the streamed CSV download the open-data pages share."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import Any

from flask import Response, flash, redirect, stream_with_context
from flask_babel import gettext as _

from .engine import GuardFailed, InvalidTransition, MissingInput, NotPermitted, Refused, StaleInstance
from .extensions import db
from .web import error_page


def refusal(exc: Refused) -> tuple[str, int]:
    """The sentence (in the reader's language) and the HTTP status of a refused action: the one place where a refusal
    becomes words. A service's sentence is already written for people; the engine's technical explanations (for the
    log and the command line) are replaced by the sentence of their kind."""
    if isinstance(exc, GuardFailed):
        return _("This step is refused: %(reason)s", reason=exc.reason), exc.status
    if not exc.technical:
        return exc.sentence, exc.status
    if isinstance(exc, NotPermitted):
        return _("You are not allowed to take this step."), exc.status
    if isinstance(exc, MissingInput):
        return _("A required field is missing or invalid: %(field)s.", field=exc.field), exc.status
    if isinstance(exc, StaleInstance):
        return _("Someone else changed this item since you opened it. Nothing was overwritten: check its new state and try again."), exc.status
    if isinstance(exc, InvalidTransition):
        return _("This step is not possible from the current state."), exc.status
    return _("This step could not be taken."), exc.status


def act(action: Callable[[], Any], success: str, target: str):
    """Run ``action``, commit, flash ``success`` and go to ``target``; a refusal changes nothing and says why.

    Only :class:`Refused` is a refusal: any other exception is a programming error and answers 500 (rolled back)."""
    try:
        action()
    except Refused as exc:
        db.session.rollback()
        message, status = refusal(exc)
        return error_page(status, message)
    db.session.commit()
    flash(success, "success")
    return redirect(target, code=303)


def run_form(form, action: Callable[[], Any], success, target: Callable[[Any], str]):
    """Validate ``form``, run ``action``, commit and redirect; a refusal is rolled back and flashed.

    Returns (response or None, status): the caller renders its page again with the status when there is no response.
    ``success`` is a sentence, or a function of the action's result giving one.
    """
    if not form.validate_on_submit():
        return None, 422 if form.is_submitted() else 200
    try:
        result = action()
    except Refused as exc:
        db.session.rollback()
        message, status = refusal(exc)
        flash(message, "error")
        return None, status
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
