"""The referral dossier: its sections in both languages, validation, cleaning, and what changed between versions."""

from __future__ import annotations

import ast
import time
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govflow.reviews import dossier
from govflow.reviews.dossier import FIELDS, MAX_LENGTH, Change, clean, diff, diff_lists, text_diff, validate

ORDER = [
    "purpose",
    "data_used",
    "personal_data",
    "minimisation",
    "anonymisation",
    "rights",
    "dpia",
    "dpia_details",
    "fairness",
    "human_oversight",
    "environment",
    "training",
    "inference",
]
REQUIRED = {"purpose", "data_used", "personal_data", "rights", "dpia", "training", "inference"}
BY_KEY = {f.key: f for f in FIELDS}


def complete() -> dict[str, str]:
    """A dossier with every required section filled."""
    values = {key: f"About {key}." for key in REQUIRED}
    values["dpia"] = "done"
    return values


# --- sections -----------------------------------------------------------------------------------------------------


def test_sections_in_order_with_required_ones():
    assert [f.key for f in FIELDS] == ORDER
    assert {f.key for f in FIELDS if f.required} == REQUIRED


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.key)
def test_every_section_has_both_languages(field):
    for text in (field.label, field.help):
        assert set(text) == {"en", "fr"}
        assert all(value.strip() for value in text.values())
    for _code, label in field.choices:
        assert set(label) == {"en", "fr"}
        assert all(value.strip() for value in label.values())
    # Both languages are actually written, not one copied into the other.
    assert field.help["en"] != field.help["fr"]


def test_dpia_is_the_only_choice():
    assert [f.key for f in FIELDS if f.kind == "choice"] == ["dpia"]
    assert [code for code, _ in BY_KEY["dpia"].choices] == ["not_needed", "needed_not_done", "done"]
    assert all(f.kind == "text" and f.choices == () for f in FIELDS if f.key != "dpia")


def test_fields_are_frozen():
    with pytest.raises(AttributeError):
        FIELDS[0].key = "other"  # type: ignore[misc]


def test_module_uses_the_standard_library_only():
    tree = ast.parse(Path(dossier.__file__).read_text(encoding="utf-8"))
    modules = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
    assert modules <= {"__future__", "difflib", "re", "unicodedata", "collections", "dataclasses", "typing"}
    assert not any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(tree))


# --- validate -----------------------------------------------------------------------------------------------------


def test_complete_dossier_is_valid():
    assert validate(complete()) == {}
    assert validate({**complete(), **{key: "" for key in set(ORDER) - REQUIRED}}) == {}


def test_required_sections_are_enforced():
    assert set(validate({})) == REQUIRED
    for key in REQUIRED:
        values = complete()
        values[key] = "  \n\t "
        assert validate(values) == {key: "This section is required."}
        del values[key]
        assert validate(values) == {key: "This section is required."}


def test_messages_follow_the_language():
    assert validate({}, lang="fr")["purpose"] == "Cette rubrique est obligatoire."
    assert validate({}, lang="fr_FR")["purpose"] == "Cette rubrique est obligatoire."
    # An unsupported language reads English rather than failing.
    assert validate({}, lang="de")["purpose"] == "This section is required."


def test_choice_values_are_checked():
    for code in ("not_needed", "needed_not_done", "done", "  done  "):
        assert validate({**complete(), "dpia": code}) == {}
    for bad in ("yes", "Done", "not needed"):
        assert validate({**complete(), "dpia": bad}) == {"dpia": "Choose one of the options offered."}
    assert validate({**complete(), "dpia": "yes"}, lang="fr") == {"dpia": "Choisissez l'une des options proposées."}


def test_unknown_keys_are_reported():
    errors = validate({**complete(), "budget": "1 €", "purpose_": "x"})
    assert errors == {"budget": "This is not a section of the dossier.", "purpose_": "This is not a section of the dossier."}
    assert validate({"budget": ""}, lang="fr")["budget"] == "Cette rubrique ne fait pas partie du dossier."


def test_long_texts_are_refused():
    assert validate({**complete(), "fairness": "a" * MAX_LENGTH}) == {}
    # Surrounding whitespace is stripped before storing, so it does not count.
    assert validate({**complete(), "fairness": "  " + "a" * MAX_LENGTH + "\n"}) == {}
    errors = validate({**complete(), "fairness": "a" * (MAX_LENGTH + 1)})
    assert errors == {"fairness": "Keep this section to 10,000 characters or fewer (it has 10,001)."}
    errors = validate({**complete(), "purpose": "é" * 12_345}, lang="fr")
    assert errors == {"purpose": "Limitez cette rubrique à 10\u202f000 caractères (elle en compte 12\u202f345)."}


def test_crlf_counts_as_one_character():
    text = "ab\r\n" * (MAX_LENGTH // 3)
    assert len(text) > MAX_LENGTH
    assert validate({**complete(), "fairness": text}) == {}


def test_non_text_values_are_reported_none_is_empty():
    assert validate({**complete(), "fairness": 3}) == {"fairness": "This section must be text."}  # type: ignore[dict-item]
    assert validate({**complete(), "fairness": None}) == {}  # type: ignore[dict-item]
    assert validate({**complete(), "purpose": None}) == {"purpose": "This section is required."}  # type: ignore[dict-item]


def test_validate_is_pure():
    values = {**complete(), "dpia": "maybe", "extra": "x"}
    snapshot = dict(values)
    assert validate(values) == validate(values)
    assert values == snapshot


# --- clean --------------------------------------------------------------------------------------------------------


def test_clean_strips_keeps_empty_and_drops_unknown():
    cleaned = clean({"inference": "  use \r\n", "purpose": "\tgood ", "fairness": "   ", "budget": "1 €", "dpia": " done "})
    assert cleaned == {"purpose": "good", "dpia": "done", "fairness": "", "inference": "use"}
    # Dossier order, whatever order the form sent.
    assert list(cleaned) == ["purpose", "dpia", "fairness", "inference"]


def test_clean_normalises_line_breaks():
    assert clean({"purpose": "one\r\ntwo\rthree\n"}) == {"purpose": "one\ntwo\nthree"}


def test_clean_is_idempotent_and_pure():
    values = {"purpose": "  a  ", "other": "x"}
    once = clean(values)
    assert clean(once) == once
    assert values == {"purpose": "  a  ", "other": "x"}


# --- diff ---------------------------------------------------------------------------------------------------------


def test_diff_added_removed_changed_in_dossier_order():
    old = {"purpose": "Help tenants.", "rights": "Email the DPO.", "fairness": "None seen.", "inference": "Same."}
    new = {"inference": "Same.", "environment": "Small model.", "purpose": "Help tenants save water.", "rights": ""}
    assert diff(old, new) == [
        Change("purpose", "Purpose and public interest", "Help tenants.", "Help tenants save water.", "changed"),
        Change("rights", "People's rights", "Email the DPO.", "", "removed"),
        Change("fairness", "Fairness and bias risks", "None seen.", "", "removed"),
        Change("environment", "Environmental footprint", "", "Small model.", "added"),
    ]


def test_diff_without_old_version_adds_every_filled_section():
    new = {"purpose": "P", "rights": "R", "fairness": "  ", "dpia": "done"}
    changes = diff(None, new)
    assert [(c.key, c.kind, c.before) for c in changes] == [("purpose", "added", ""), ("rights", "added", ""), ("dpia", "added", "")]
    assert diff({}, new) == changes


def test_diff_ignores_whitespace_line_endings_and_unknown_keys():
    assert diff({"purpose": "a\nb", "x": "1"}, {"purpose": "  a\r\nb ", "x": "2", "y": "3"}) == []
    assert diff(complete(), dict(complete())) == []


def test_diff_labels_follow_the_language_and_choices_show_their_labels():
    changes = diff({"dpia": "needed_not_done"}, {"dpia": "done"}, lang="fr")
    assert changes == [Change("dpia", "Analyse d'impact relative à la protection des données (AIPD)", "Nécessaire, pas encore réalisée", "Réalisée", "changed")]
    # A stored value that is no longer an option is shown as it is rather than hidden.
    assert diff({"dpia": "legacy"}, {"dpia": "done"})[0].before == "legacy"


def test_change_is_frozen():
    with pytest.raises(AttributeError):
        Change("purpose", "Purpose", "", "x", "added").after = "y"  # type: ignore[misc]


def test_diff_lists():
    added, removed = diff_lists(["Région Occitanie", "Ville A", "INRIA"], ["INRIA", "école des Mines", "Aube", " Ville A "])
    assert added == ["Aube", "école des Mines"]
    assert removed == ["Région Occitanie"]
    assert diff_lists([], []) == ([], [])
    assert diff_lists(["a", "a", ""], ["  ", "a"]) == ([], [])
    assert diff_lists(["Zeta", "Éthique", "alpha"], []) == ([], ["alpha", "Éthique", "Zeta"])


# --- text_diff ----------------------------------------------------------------------------------------------------


def test_text_diff_simple_cases():
    assert text_diff("", "") == []
    assert text_diff("same text", "same text") == [("same", "same text")]
    assert text_diff("", "new words") == [("added", "new words")]
    assert text_diff("old words", "") == [("removed", "old words")]
    assert text_diff("We keep data for two years.", "We keep data for one year.") == [
        ("same", "We keep data for"),
        ("removed", " two years."),
        ("added", " one year."),
    ]
    assert text_diff("Data are kept.", "Data are pseudonymised and kept.") == [("same", "Data are"), ("added", " pseudonymised and"), ("same", " kept.")]
    # An appended sentence is just that, not a change to the last word.
    assert text_diff("Kept two years.", "Kept two years. Then erased.") == [("same", "Kept two years."), ("added", " Then erased.")]
    assert text_diff("a b", "a\nb") == [("same", "a"), ("removed", " b"), ("added", "\nb")]


def test_text_diff_finds_scattered_edits_in_a_long_text():
    words = [f"word{i}" for i in range(2_000)]
    before = " ".join(words)
    edited = ["CHANGED" if i % 100 == 50 else w for i, w in enumerate(words)]
    pieces = text_diff(before, " ".join(edited))
    assert [text for op, text in pieces if op == "removed"] == [f" word{i}" for i in range(50, 2_000, 100)]
    assert [text for op, text in pieces if op == "added"] == [" CHANGED"] * 20


WORDS = st.sampled_from(["data", "données", "kept", "two", "years", "DPIA", "é", "a", "."])
SPACES = st.sampled_from([" ", "  ", "\n", "\t", " \n"])
TEXTS = st.lists(st.one_of(WORDS, SPACES), max_size=40).map("".join)


def assert_round_trip(before: str, after: str, pieces: list[tuple[str, str]]) -> None:
    """Both texts come back from the pieces, which are non-empty, of a known op, and merged."""
    assert "".join(text for op, text in pieces if op in ("same", "added")) == after
    assert "".join(text for op, text in pieces if op in ("same", "removed")) == before
    assert all(op in ("same", "added", "removed") and text for op, text in pieces)
    assert all(x[0] != y[0] for x, y in zip(pieces, pieces[1:], strict=False))


@settings(max_examples=300, deadline=None)
@given(TEXTS, TEXTS)
def test_text_diff_round_trip(before, after):
    assert_round_trip(before, after, text_diff(before, after))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200), st.text(max_size=200))
def test_text_diff_round_trip_any_text(before, after):
    assert_round_trip(before, after, text_diff(before, after))


@settings(max_examples=100, deadline=None)
@given(TEXTS, TEXTS)
def test_text_diff_round_trip_when_the_budget_runs_out(before, after):
    # A tiny budget leaves most of the texts unrefined: the diff is coarser but must stay exact.
    with patch.object(dossier, "_WORK_BUDGET", 30):
        assert_round_trip(before, after, text_diff(before, after))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (" ".join(["a"] * 5_000), " ".join(["a", "b"] * 2_500)),
        ("a " * 5_000, "b " * 5_000),
        (" ".join(f"x{i}" for i in range(1_700)), " ".join(f"y{i}" for i in range(1_700))),
        (" ".join(["the", "data", "is", "kept"] * 600), " ".join(["kept", "is", "the", "data"] * 600)),
    ],
    ids=["repeated-word", "disjoint-repeated", "disjoint-unique", "shuffled-vocabulary"],
)
def test_text_diff_is_bounded_on_pathological_texts(before, after):
    # Unbounded, the first of these ran for over ten minutes; the generous limit only catches that coming back.
    started = time.perf_counter()
    pieces = text_diff(before, after)
    assert time.perf_counter() - started < 5
    assert_round_trip(before, after, pieces)
