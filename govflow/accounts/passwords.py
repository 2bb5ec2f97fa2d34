"""Password policy after NIST SP 800-63B: long enough, not a common password, no composition rules.

The list of common passwords is the one shipped with zxcvbn (30,000 passwords seen in breaches), a well-kept package;
nothing is sent anywhere.
"""

from __future__ import annotations

from functools import cache

from flask_babel import gettext as _

MIN_LENGTH = 12
MAX_LENGTH = 200


@cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, email: str = "", name: str = "") -> str | None:
    """Why ``password`` is refused (a sentence for the person choosing it), or None when it may be used."""
    if len(password) < MIN_LENGTH:
        return _("Choose a password of at least %(n)s characters (a few words make a good one).", n=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Choose a password of at most %(n)s characters.", n=MAX_LENGTH)
    lowered = password.lower()
    if lowered in _common() or len(set(lowered)) <= 2:
        return _("This password is among the most common ones, which attackers try first: choose another.")
    if _sequence(lowered):
        return _("This password is a simple sequence of characters: choose another.")
    words = {w for w in [email.split("@")[0].lower(), *name.lower().split()] if len(w) >= 4}
    if any(w in lowered for w in words):
        return _("Your password must not contain your name or your e-mail address.")
    return None


def _sequence(text: str) -> bool:
    """Whether ``text`` is mostly a run of neighbouring characters (abcdefgh..., 123456789012, 98765...): four steps in
    five or more go to the next or the previous character."""
    steps = [ord(b) - ord(a) for a, b in zip(text, text[1:], strict=False)]
    return sum(1 for step in steps if step in (-1, 1)) >= 0.8 * len(steps)
