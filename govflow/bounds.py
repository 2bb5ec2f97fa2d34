"""Bounds every input is held to, in one place: what the database and the calendar can hold, and what people may type.

Pure: forms, services and the web layer all read these, so a value refused in one place is refused everywhere.
"""

from __future__ import annotations

from datetime import date, datetime

# Identifiers: the largest value a 32-bit integer column holds (PostgreSQL's integer; SQLite is wider).
MAX_ID = 2**31 - 1
# Page numbers of any list: far beyond any real list, well inside what OFFSET arithmetic can take.
MAX_PAGE = 100_000
# Dates people may enter: wide enough for a past edition or a long commitment, narrow enough for date arithmetic.
DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2200, 12, 31)
# Characters refused in any text: the C0 controls and DEL but tab, line feed and carriage return (NUL breaks
# PostgreSQL's text columns; the others are invisible tricks).
_CONTROL = {chr(c) for c in range(32) if chr(c) not in "\t\n\r"} | {"\x7f"}


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control character other than tab and line breaks."""
    return not _CONTROL.isdisjoint(text)


def date_in_range(value: date | datetime | None) -> bool:
    """Whether a date (or a datetime's day) lies between DATE_MIN and DATE_MAX; None is in range (optional fields)."""
    if value is None:
        return True
    day = value.date() if isinstance(value, datetime) else value
    return DATE_MIN <= day <= DATE_MAX


def clamp_date(value: date) -> date:
    """``value`` brought inside DATE_MIN..DATE_MAX (for drawing what was stored before the bounds existed)."""
    return min(max(value, DATE_MIN), DATE_MAX)
