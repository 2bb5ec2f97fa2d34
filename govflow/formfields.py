"""What every domain's forms share: dates a person may enter (see ``bounds``), and lists typed as rows."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from wtforms.validators import ValidationError

from . import bounds


class DateInRange:
    """A date (or date and time) between 1900 and 2200: anything outside is a typing mistake, and beyond what date
    arithmetic on a timeline can take."""

    def __call__(self, form, field) -> None:
        if field.data is not None and not bounds.date_in_range(field.data):
            # A plain string (translated now, in the request): forms join their errors into sentences.
            raise ValidationError(_("Give a date between %(first)s and %(last)s.", first=bounds.DATE_MIN.isoformat(), last=bounds.DATE_MAX.isoformat()))


#: The most rows a list typed as rows may hold (a programme's criteria, a declaration's organisations...).
MAX_ROWS = 30


def edit_rows(form: Any, names: tuple[str, ...], max_rows: int = MAX_ROWS) -> bool:
    """The "add a row" and "remove" buttons of a form's lists of rows (``FieldList``s named in ``names``), plain submit
    buttons that work without JavaScript: change the rows and let the view show the form again, nothing saved. True
    when one of them was pressed (the ``row_list`` macro of ``_macros.html`` draws them)."""
    if request.method != "POST":
        return False
    add, remove = request.form.get("add_row", ""), request.form.get("remove_row", "")
    if add in names:
        rows = getattr(form, add)
        if len(rows.entries) < max_rows:
            rows.append_entry()
        return True
    name, _dash, index = remove.rpartition("-")
    if name in names and index.isdigit():
        rows = getattr(form, name)
        kept = [entry.data for position, entry in enumerate(rows.entries) if position != int(index)] or [{}]
        rows.entries, rows.last_index = [], -1
        for data in kept:
            rows.append_entry(data)
        return True
    return False


def pad_rows(rows: Any, count: int) -> None:
    """Room to type: empty rows at the end of ``rows`` until it has ``count``."""
    while len(rows.entries) < count:
        rows.append_entry()
