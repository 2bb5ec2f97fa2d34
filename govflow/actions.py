"""What every domain's views do with a user's action: run it, commit once, say so and redirect; or, refused, roll back
and answer *in place*: the page the form came from is rendered again with the sentence next to the field it is about
and every typed value kept (a chosen file excepted: browsers never send it back), under the refusal's status. API
clients (``Accept: application/json``) get the sentence as JSON instead. Also the streamed CSV download the open-data
pages share.

The one pattern, for every form of every domain::

    form = SomeForm()
    page = lambda: item_page(item)          # the GET view's rendering; it asks shown_form() for its forms
    if not form.validate_on_submit():
        return refused(_("Correct the highlighted fields."), 422, page=page, form=form)
    return act(lambda: services.do(...), _("Done."), url_for(...), page=page, form=form)
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from typing import Any

from flask import Response, flash, g, jsonify, redirect, request, stream_with_context
from flask_babel import gettext as _
from wtforms import FieldList

from .engine import GuardFailed, InvalidTransition, MissingInput, NotPermitted, Refused, StaleInstance
from .extensions import db
from .web import error_page, wants_json


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


def form_problems(form) -> dict[str, list[str]]:
    """A form's messages by the names its inputs are posted with (``"interests-0-relation"`` for a row's field, the
    list's name for the list as a whole, ``""`` for the form as a whole), for JSON clients."""
    problems: dict[str, list[str]] = {}
    for name, field in form._fields.items():
        if isinstance(field, FieldList):
            if getattr(field, "list_errors", None):
                problems[name] = [str(e) for e in field.list_errors]
            for entry in field.entries:
                for sub in getattr(entry, "form", [entry]):
                    if sub.errors:
                        problems[sub.name] = [str(e) for e in sub.errors]
        elif field.errors:
            problems[name] = [str(e) for e in field.errors]
    if getattr(form, "form_errors", None):
        problems[""] = [str(e) for e in form.form_errors]
    return problems


def _place(message: str, status: int, form, field: str | None, key: Any) -> None:
    """Put ``message`` on ``form`` (next to ``field``, or on the form as a whole) and remember both for the page."""
    g.refusal = message
    g.refusal_key = key
    if form is None:
        return
    target = form._fields.get(field) if field else None
    if isinstance(target, FieldList):  # a message about a list of rows as a whole: shown under the list's legend
        target.list_errors = [*getattr(target, "list_errors", []), message]
    elif target is not None:
        if message not in target.errors:
            target.errors = [*target.errors, message]
    elif message not in form.form_errors and not (status == 422 and form.errors):
        form.form_errors.append(message)
    form.refusal_key = key
    g.refused_form = form


def _json_refusal(message: str, status: int, form) -> Response:
    body: dict[str, Any] = {"error": message, "status": status}
    if form is not None:
        body["fields"] = form_problems(form)
    response = jsonify(body)
    response.status_code = status
    return response


def refused(message: str, status: int, *, page: Callable[[], Any] | None = None, form=None, field: str | None = None, key: Any = None):
    """Answer a refused or invalid form in place (the transaction is the caller's to roll back).

    ``message`` goes next to ``field`` of ``form`` when the form has it, else at the top of the form; the page is
    ``page()`` rendered again in this request, where :func:`shown_form` hands it this very form (typed values and
    messages) instead of a blank one. ``key`` tells apart the forms of one class on a page (one per milestone, say).
    JSON clients get ``{"error": message, "status": status, "fields": {...}}``; without a page, the error page."""
    _place(message, status, form, field, key)
    if wants_json():
        return _json_refusal(message, status, form), status
    if page is None:
        return error_page(status, message)
    response = page()
    if isinstance(response, tuple):  # a view answering (body, status): the refusal's status wins
        response = response[0]
    return response, status


def shown_form(cls, key: Any = None, **kwargs):
    """The form of class ``cls`` a page shows: the one just refused in this request (same class and ``key``), with
    what the user typed and the messages; otherwise a blank one (never bound to another form's posted values)."""
    refused_form = g.get("refused_form")
    if refused_form is not None and type(refused_form) is cls and getattr(refused_form, "refusal_key", None) == key:
        return refused_form
    return cls(formdata=None, **kwargs)


def typed(name: str, key: Any = None) -> str:
    """What the user typed in field ``name`` of a hand-written form (one without a form class) that was just refused
    with ``key``; empty otherwise. Templates use it as ``value="{{ typed('url', c.id) }}"``."""
    if g.get("refusal") is None or g.get("refusal_key") != key or request.method != "POST":
        return ""
    return request.form.get(name, "")


def refusal_here(key: Any = None) -> str:
    """The refusal's sentence when the refused form is the one with ``key`` (for hand-written forms), else ``""``."""
    if g.get("refusal") is None or g.get("refusal_key") != key or g.get("refused_form") is not None:
        return ""
    return g.refusal


def refusal_summary() -> dict[str, Any]:
    """The page's error summary: a link to each field with its message, the form's own messages, and the refusal's
    sentence when it is not one of them (so that no sentence is shown twice in the summary)."""
    form = g.get("refused_form")
    items: list[tuple[str | None, str, str]] = []
    if form is not None:
        for field in form._fields.values():
            label = str(field.label.text)
            if isinstance(field, FieldList):  # rows: the list's own messages, then each row's fields'
                items.extend((f"#{field.id}", "", str(m)) for m in getattr(field, "list_errors", []))  # names its list
                for n, entry in enumerate(field.entries, start=1):
                    for sub in getattr(entry, "form", [entry]):
                        items.extend((f"#{sub.id}", f"{label}, {n}, {sub.label.text}", str(m)) for m in sub.errors)
                continue
            items.extend((f"#{field.id}", label, str(m)) for m in field.errors)
        items.extend((None, "", str(message)) for message in form.form_errors)
    sentence = g.get("refusal")
    return {"entries": items, "message": "" if any(sentence == m for _href, _label, m in items) else sentence}


def act(action: Callable[[], Any], success: str, target: str, *, page: Callable[[], Any] | None = None, form=None, key: Any = None):
    """Run ``action``, commit, flash ``success`` and go to ``target``; a refusal changes nothing and is answered in
    place on ``page`` (see :func:`refused`), or on the error page when the action has no page of its own.

    Only :class:`Refused` is a refusal: any other exception is a programming error and answers 500 (rolled back)."""
    try:
        action()
    except Refused as exc:
        db.session.rollback()
        message, status = refusal(exc)
        return refused(message, status, page=page, form=form, field=exc.field, key=key)
    db.session.commit()
    flash(success, "success")
    return redirect(target, code=303)


def run_form(form, action: Callable[[], Any], success, target: Callable[[Any], str]):
    """Validate ``form``, run ``action``, commit and redirect; a refusal is rolled back and its sentence put next to
    its field (or at the top of the form) for the caller's page.

    Returns (response or None, status): the caller renders its page again with the status when there is no response
    (JSON clients get their answer as the response). ``success`` is a sentence, or a function of the action's result.
    """
    if not form.validate_on_submit():
        if not form.is_submitted():
            return None, 200
        _place(_("Correct the highlighted fields."), 422, form, None, None)
        return (_json_refusal(_("Correct the fields listed."), 422, form) if wants_json() else None), 422
    try:
        result = action()
    except Refused as exc:
        db.session.rollback()
        message, status = refusal(exc)
        _place(message, status, form, exc.field, None)
        return (_json_refusal(message, status, form) if wants_json() else None), status
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


def _chunks(pieces: Iterable[str], size: int = 64 * 1024) -> Iterable[str]:
    """Join small pieces of text into pieces of about ``size`` characters (fewer, larger writes to the socket)."""
    buffer: list[str] = []
    held = 0
    for piece in pieces:
        buffer.append(piece)
        held += len(piece)
        if held >= size:
            yield "".join(buffer)
            buffer, held = [], 0
    if buffer:
        yield "".join(buffer)


def json_download(head: dict[str, Any], rows: Iterable[dict], filename: str) -> Response:
    """A JSON download ``{**head, "rows": [...]}`` written row by row as the rows are read (streamed, in pieces of
    about 64 KiB): memory stays flat however many rows there are, and the first bytes leave at once."""

    def generate():
        opening = json.dumps(head, ensure_ascii=False)[:-1]  # the head's members, its closing brace left off
        yield opening + (', "rows": [' if head else '"rows": [')
        first = True
        for row in rows:
            yield ("" if first else ", ") + json.dumps(row, ensure_ascii=False)
            first = False
        yield "]}\n"

    return Response(
        stream_with_context(_chunks(generate())),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def jsonl_download(rows: Iterable[dict], filename: str) -> Response:
    """A JSON Lines download (one JSON object per line, https://jsonlines.org), streamed as the rows are read."""
    lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return Response(
        stream_with_context(_chunks(lines)),
        mimetype="application/jsonl",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
