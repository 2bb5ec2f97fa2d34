"""Validators every domain's forms share: dates a person may enter (see ``bounds``)."""

from __future__ import annotations

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
