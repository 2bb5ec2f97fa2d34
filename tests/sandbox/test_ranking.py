"""The ranking of applications from weighted grids is a pure function: checked with no app and no database."""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govflow.sandbox.ranking import Criterion, GridError, check_sheet, rank, sheet_score

GRID = [Criterion("benefit", 3), Criterion("stakes", 2), Criterion("compliance", 1)]


def sheet(benefit, stakes, compliance):
    return {"benefit": benefit, "stakes": stakes, "compliance": compliance}


def test_a_sheet_scores_its_weighted_share_of_the_top_score():
    assert sheet_score(GRID, sheet(5, 5, 5), 5) == 100
    assert sheet_score(GRID, sheet(0, 0, 0), 5) == 0
    assert sheet_score(GRID, sheet(5, 0, 0), 5) == 50  # weight 3 of 6
    assert sheet_score(GRID, sheet(4, 3, 5), 5) == Fraction(2300, 30)


def test_applications_rank_by_the_mean_of_their_sheets_highest_first():
    ranked = rank(GRID, {10: [sheet(5, 5, 5), sheet(3, 3, 3)], 11: [sheet(5, 5, 5)], 12: [sheet(1, 1, 1)]}, 5)
    assert [(r.application_id, r.rank, r.score, r.sheets) for r in ranked] == [(11, 1, 100.0, 1), (10, 2, 80.0, 2), (12, 3, 20.0, 1)]
    assert ranked[1].by_criterion == {"benefit": 4.0, "stakes": 4.0, "compliance": 4.0}


def test_equal_means_share_a_rank_and_the_next_rank_skips():
    ranked = rank(GRID, {1: [sheet(5, 0, 0)], 2: [sheet(0, 5, 5)], 3: [sheet(5, 5, 5)], 4: [sheet(0, 0, 0)]}, 5)
    assert [(r.application_id, r.rank) for r in ranked] == [(3, 1), (1, 2), (2, 2), (4, 4)]


def test_applications_nobody_scored_come_last_unranked():
    ranked = rank(GRID, {7: [], 5: [sheet(1, 1, 1)], 6: []}, 5)
    assert [(r.application_id, r.rank, r.score) for r in ranked] == [(5, 1, 20.0), (6, None, None), (7, None, None)]


@pytest.mark.parametrize(
    "grid, message",
    [
        ([], "at least one criterion"),
        ([Criterion("a", 1), Criterion("a", 2)], "once"),
        ([Criterion("a", 0)], "at least 1"),
    ],
)
def test_unusable_grids_are_refused(grid, message):
    with pytest.raises(GridError, match=message):
        rank(grid, {}, 5)


@pytest.mark.parametrize(
    "scores, message",
    [
        ({"benefit": 1, "stakes": 1}, "missing: compliance"),
        ({"benefit": 1, "stakes": 1, "compliance": 1, "style": 4}, "Unknown criteria: style"),
        ({"benefit": 6, "stakes": 1, "compliance": 1}, "from 0 to 5"),
        ({"benefit": -1, "stakes": 1, "compliance": 1}, "from 0 to 5"),
        ({"benefit": 2.5, "stakes": 1, "compliance": 1}, "whole number"),
        ({"benefit": True, "stakes": 1, "compliance": 1}, "whole number"),
    ],
)
def test_sheets_outside_the_grid_or_the_scale_are_refused(scores, message):
    with pytest.raises(GridError, match=message):
        check_sheet(GRID, scores, 5)


@settings(max_examples=200, deadline=None)
@given(
    weights=st.lists(st.integers(1, 9), min_size=1, max_size=4),
    apps=st.dictionaries(st.integers(1, 50), st.lists(st.lists(st.integers(0, 5), min_size=4, max_size=4), max_size=3), max_size=8),
)
def test_the_ranking_agrees_with_a_brute_force_reference(weights, apps):
    grid = [Criterion(f"c{i}", w) for i, w in enumerate(weights)]
    sheets = {a: [{c.key: s[i] for i, c in enumerate(grid)} for s in rows] for a, rows in apps.items()}
    ranked = rank(grid, sheets, 5)
    means = {a: sum(Fraction(100 * sum(c.weight * s[c.key] for c in grid), sum(weights) * 5) for s in rows) / len(rows) for a, rows in sheets.items() if rows}
    for r in ranked:
        if r.rank is None:
            assert not sheets[r.application_id]
        else:
            # A rank is one more than the number of applications with a strictly higher mean.
            assert r.rank == 1 + sum(1 for m in means.values() if m > means[r.application_id])
    assert [r.application_id for r in ranked if r.rank] == sorted(means, key=lambda a: (-means[a], a))


def test_every_sheet_on_a_small_grid_scores_between_0_and_100():
    grid = [Criterion("a", 2), Criterion("b", 1)]
    scores = {sheet_score(grid, {"a": a, "b": b}, 5) for a, b in product(range(6), repeat=2)}
    assert min(scores) == 0 and max(scores) == 100 and len(scores) == 16
