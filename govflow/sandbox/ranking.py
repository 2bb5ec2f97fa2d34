"""Ranking of applications from evaluators' scores on a weighted grid (pure: no app, no database).

Each evaluator's sheet gives a weighted score out of 100: the sum of weight × score over the grid, divided by the sum of
weights × the top score. An application's result is the mean of its sheets; applications rank by that mean, highest
first, and equal means share a rank ("1, 2, 2, 4"). Applications nobody scored yet come last, unranked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction


class GridError(ValueError):
    """A selection grid or a scoring sheet that cannot be used; the message says why."""


@dataclass(frozen=True)
class Criterion:
    """One line of a selection grid."""

    key: str
    weight: int


@dataclass(frozen=True)
class Ranked:
    """One application's place in the ranking."""

    application_id: int
    rank: int | None  # None: nobody scored it yet
    score: float | None  # weighted mean out of 100, rounded to 0.1
    sheets: int
    by_criterion: dict[str, float]  # mean score per criterion, on the grid's scale


def check_grid(grid: Iterable[Criterion]) -> list[Criterion]:
    """The grid as a list, refused when empty, with a duplicate key or a weight below 1."""
    items = list(grid)
    if not items:
        raise GridError("The selection grid needs at least one criterion.")
    keys = [c.key for c in items]
    if len(set(keys)) != len(keys):
        raise GridError("Each criterion of the selection grid must appear once.")
    if any(c.weight < 1 for c in items):
        raise GridError("Each criterion's weight must be a whole number of at least 1.")
    return items


def check_sheet(grid: Iterable[Criterion], scores: Mapping[str, int], top: int) -> dict[str, int]:
    """A scoring sheet with a whole score from 0 to ``top`` for every criterion of the grid, and nothing else."""
    items = check_grid(grid)
    missing = [c.key for c in items if c.key not in scores]
    if missing:
        raise GridError(f"Score every criterion of the grid (missing: {', '.join(missing)}).")
    extra = set(scores) - {c.key for c in items}
    if extra:
        raise GridError(f"Unknown criteria: {', '.join(sorted(extra))}.")
    out = {}
    for c in items:
        value = scores[c.key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise GridError(f"Each score is a whole number from 0 to {top}.")
        out[c.key] = value
    return out


def sheet_score(grid: Iterable[Criterion], scores: Mapping[str, int], top: int) -> Fraction:
    """One sheet's weighted score out of 100, exact."""
    items = check_grid(grid)
    total = sum(c.weight for c in items)
    return Fraction(100 * sum(c.weight * scores[c.key] for c in items), total * top)


def rank(grid: Iterable[Criterion], sheets: Mapping[int, list[Mapping[str, int]]], top: int) -> list[Ranked]:
    """Rank applications (id → their sheets) by the mean of their weighted sheet scores; ties share a rank."""
    items = check_grid(grid)
    scored: list[tuple[Fraction, int, list[Mapping[str, int]]]] = []
    unscored: list[int] = []
    for application_id, rows in sheets.items():
        if rows:
            mean = sum((sheet_score(items, s, top) for s in rows), Fraction(0)) / len(rows)
            scored.append((mean, application_id, rows))
        else:
            unscored.append(application_id)
    scored.sort(key=lambda t: (-t[0], t[1]))
    out: list[Ranked] = []
    previous: Fraction | None = None
    place = 0
    for position, (mean, application_id, rows) in enumerate(scored, start=1):
        if mean != previous:
            place, previous = position, mean
        by_criterion = {c.key: round(sum(s[c.key] for s in rows) / len(rows), 2) for c in items}
        out.append(Ranked(application_id, place, round(float(mean), 1), len(rows), by_criterion))
    out += [Ranked(a, None, None, 0, {}) for a in sorted(unscored)]
    return out
