"""ISO-8601 durations (``P12M``, ``PT72H``) parsed with isodate and applied to UTC datetimes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeAlias

import isodate

# isodate.Duration: a period with calendar months or years (P12M), which a timedelta cannot hold.
Duration: TypeAlias = timedelta | isodate.Duration


def parse_duration(text: object) -> Duration:
    """Parse an ISO-8601 duration; raise ValueError with a plain message when it is not one."""
    if not isinstance(text, str) or not text.startswith("P"):
        raise ValueError(f"'{text}' is not an ISO-8601 duration such as P12M, P30D or PT72H")
    try:
        value: Duration = isodate.parse_duration(text)
    except (isodate.ISO8601Error, ValueError) as exc:
        raise ValueError(f"'{text}' is not an ISO-8601 duration such as P12M, P30D or PT72H") from exc
    reference = datetime(2000, 1, 1)
    if reference + value <= reference:
        raise ValueError(f"duration '{text}' must be longer than zero")
    return value


def add_duration(moment: datetime, duration: Duration) -> datetime:
    """Return ``moment`` plus ``duration`` (months and years counted on the calendar)."""
    return moment + duration


def subtract_duration(moment: datetime, duration: Duration) -> datetime:
    """Return ``moment`` minus ``duration``."""
    return moment - duration


def is_shorter(a: Duration, b: Duration) -> bool:
    """Tell whether duration ``a`` is strictly shorter than ``b`` (compared from a fixed date)."""
    reference = datetime(2000, 1, 1)
    return reference + a < reference + b
