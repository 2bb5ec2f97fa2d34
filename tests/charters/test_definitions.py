"""Charters as data: loading, validation with file:line problems, versions and the bundled charters."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from govflow.charters.definitions import CharterDef, Item, load_charters, parse_charter
from govflow.engine import DefinitionError

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
CHARTERS = ROOT / "workflows" / "charters"
BROKEN = HERE / "broken"
VERSIONS = HERE / "versions"
EXPECT = re.compile(r"^# expect: (\d+): (.+)$", re.M)
BROKEN_FILES = sorted(BROKEN.glob("*.yaml"))

VALID = """\
charter: tiny
version: 1
title: {en: Tiny, fr: Minuscule}
summary: {en: A tiny charter., fr: Une charte minuscule.}
publisher: govflow tests
source: https://example.org/tiny
source_label: {en: Example page, fr: Page d'exemple}
pillars:
  - {key: alpha, code: A, title: {en: Alpha, fr: Alpha}, text: {en: A pillar., fr: Un pilier.}}
themes:
  - {key: q_one, title: {en: One, fr: Un}, text: {en: "Is it?", fr: "Est-ce bien le cas ?"}}
targets:
  - {key: answer_time, title: {en: Answer, fr: Réponse}, text: {en: Answer fast., fr: Répondre vite.}, duration: P30D}
"""


def _expected(path: Path) -> list[tuple[int, str]]:
    return [(int(line), message) for line, message in EXPECT.findall(path.read_text())]


def _assert_reported(expected, problems) -> None:
    found = [(p.line, p.message) for p in problems]
    for line, message in expected:
        assert any(pl == line and message in pm for pl, pm in found), f"missing {line}: {message!r} in {found}"


# --- one file ------------------------------------------------------------------------------------------------


def test_a_valid_charter_is_read_into_its_dataclasses():
    charter, problems = parse_charter(VALID, "tiny.yaml")
    assert problems == []
    assert isinstance(charter, CharterDef)
    assert charter.key == ("tiny", 1)
    assert charter.label("fr") == "Minuscule" and charter.label("de") == "Tiny"
    assert charter.publisher == "govflow tests" and charter.source_url == "https://example.org/tiny"
    assert charter.pillar_keys() == ["alpha"] and charter.theme_keys() == ["q_one"]
    alpha = charter.item("alpha")
    assert alpha == Item("alpha", "pillar", "A", {"en": "Alpha", "fr": "Alpha"}, {"en": "A pillar.", "fr": "Un pilier."}, 9)
    assert charter.item("q_one").kind == "theme" and charter.item("q_one").code is None
    assert charter.item("nothing") is None
    assert charter.target("answer_time").duration == timedelta(days=30)
    assert charter.target("answer_time").duration_text == "P30D"
    assert charter.migration is None
    assert charter.source_text == VALID


def test_there_is_a_broken_fixture_for_each_validation_rule():
    names = {p.stem for p in BROKEN_FILES}
    assert {
        "syntax_error",
        "unknown_key",
        "missing_french",
        "bad_slug",
        "duplicate_item_key",
        "duplicate_yaml_key",
        "non_http_source",
        "bad_duration",
        "migration_in_version_1",
        "missing_migration",
        "bad_version",
        "no_pillars",
        "missing_required",
        "bad_migration_table",
        "many_problems",
    } <= names


@pytest.mark.parametrize("path", BROKEN_FILES, ids=lambda p: p.stem)
def test_broken_charter_reports_each_expected_problem_at_its_line(path):
    expected = _expected(path)
    assert expected, f"{path.name} declares no '# expect:' line"
    charter, problems = parse_charter(path.read_text(), path.name)
    assert charter is None
    _assert_reported(expected, problems)
    assert all(p.file == path.name for p in problems)
    assert all(str(p).startswith(f"{path.name}:{p.line}: ") for p in problems)


def test_every_problem_of_a_file_with_many_mistakes_is_reported():
    path = BROKEN / "many_problems.yaml"
    expected = _expected(path)
    assert len(expected) >= 10
    _, problems = parse_charter(path.read_text(), "many_problems.yaml")
    _assert_reported(expected, problems)
    assert len(problems) == len(expected)
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    for p in problems:
        assert re.match(r"^many_problems\.yaml:\d+: [a-z'(]", str(p)), str(p)


def test_an_empty_file_and_a_list_are_problems_not_crashes():
    assert [str(p) for p in parse_charter("", "empty.yaml")[1]] == ["empty.yaml:1: the file is empty"]
    charter, problems = parse_charter("- just\n- a list\n", "list.yaml")
    assert charter is None
    assert problems[0].line == 1 and "must be a mapping" in problems[0].message


def test_texts_may_not_be_blank_in_either_language():
    text = VALID.replace("{en: A pillar., fr: Un pilier.}", "{en: A pillar., fr: ''}")
    _, problems = parse_charter(text, "tiny.yaml")
    assert [str(p) for p in problems] == ["tiny.yaml:9: 'text' of pillar 'alpha' has no 'fr' text"]


@pytest.mark.parametrize("source", ["javascript:alert(1)", "https://", "http://exa mple.org", "example.org"])
def test_only_web_links_are_accepted_as_source(source):
    _, problems = parse_charter(VALID.replace("https://example.org/tiny", source), "tiny.yaml")
    assert [p.line for p in problems] == [6]
    assert "must be a web link" in problems[0].message


# --- several files ------------------------------------------------------------------------------------------------


def test_loading_a_folder_reports_every_problem_of_every_file_at_once():
    with pytest.raises(DefinitionError) as caught:
        load_charters([BROKEN], base=HERE)
    files = {p.file for p in caught.value.problems}
    assert files == {f"broken/{p.name}" for p in BROKEN_FILES}
    for path in BROKEN_FILES:
        _assert_reported(_expected(path), [p for p in caught.value.problems if p.file == f"broken/{path.name}"])
    assert "broken/bad_slug.yaml:" in str(caught.value)


def test_versions_load_with_a_migration_using_carry_from_and_blank():
    v1, v2 = load_charters([VERSIONS])
    assert (v1.key, v2.key) == (("test-charter", 1), ("test-charter", 2))
    migration = v2.migration
    assert migration.from_version == 1
    assert set(migration.items) == set(v2.pillar_keys()) | set(v2.theme_keys())
    modes = {key: (m.mode, m.source) for key, m in migration.items.items()}
    assert modes == {
        "alpha": ("carry", "alpha"),
        "beta_prime": ("from", "beta"),
        "delta": ("blank", None),
        "q_one": ("carry", "q_one"),
        "q_merged": ("from", "q_two"),
        "q_new": ("blank", None),
    }
    assert all(v1.item(m.source) is not None for m in migration.items.values() if m.source)


def test_a_broken_migration_table_reports_missing_items_and_unknown_sources():
    broken = VERSIONS / "broken" / "test-charter.v2.yaml"
    with pytest.raises(DefinitionError) as caught:
        load_charters([VERSIONS / "test-charter.v1.yaml", broken], base=HERE)
    problems = caught.value.problems
    assert {p.file for p in problems} == {"versions/broken/test-charter.v2.yaml"}
    _assert_reported(_expected(broken), problems)
    assert len(problems) == len(_expected(broken))


def test_a_migration_from_a_version_that_is_not_loaded_is_refused():
    with pytest.raises(DefinitionError) as caught:
        load_charters([VERSIONS / "test-charter.v2.yaml"], base=HERE)
    (problem,) = caught.value.problems
    assert str(problem).startswith("versions/test-charter.v2.yaml:20: version 2 of 'test-charter' migrates from version 1, which is not loaded")


def test_the_same_slug_and_version_twice_is_refused(tmp_path):
    (tmp_path / "a.yaml").write_text(VALID)
    (tmp_path / "b.yaml").write_text(VALID)
    with pytest.raises(DefinitionError) as caught:
        load_charters([tmp_path], base=tmp_path)
    assert [str(p) for p in caught.value.problems] == ["b.yaml:2: charter 'tiny' version 1 is already defined in a.yaml"]


def test_an_unreadable_file_is_reported(tmp_path):
    (tmp_path / "latin1.yaml").write_bytes("title: Charte cass\xe9e\n".encode("latin-1"))
    with pytest.raises(DefinitionError) as caught:
        load_charters([tmp_path], base=tmp_path)
    assert str(caught.value) == "latin1.yaml:1: cannot read the file: UnicodeDecodeError"


# --- the bundled charters ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled() -> dict[str, CharterDef]:
    return {c.slug: c for c in load_charters([CHARTERS], base=ROOT)}


def test_the_whole_charters_folder_loads(bundled):
    assert set(bundled) == {"numeum-ethical-ai", "occitanie-data-ethics", "reset-responsible-ai"}
    for slug, charter in bundled.items():
        assert charter.version == 1 and charter.migration is None
        assert charter.file == f"workflows/charters/{slug}.v1.yaml"
        assert charter.source_url.startswith("https://")


def test_numeum_has_three_pillars_and_the_six_themes_of_its_guide(bundled):
    numeum = bundled["numeum-ethical-ai"]
    assert numeum.publisher == "Numeum" and numeum.source_url == "https://numeum.fr"
    assert numeum.pillar_keys() == ["faire", "communiquer", "progresser"]
    assert [p.code for p in numeum.pillars] == ["FAIRE", "COMMUNIQUER", "PROGRESSER"]
    assert numeum.theme_keys() == ["loyalty", "respect", "transparency", "fairness", "control", "safety"]
    assert "ai-ethical.com" in numeum.summary["en"] + numeum.source_label["en"]
    assert "ai-ethical.com" in numeum.summary["fr"] + numeum.source_label["fr"]


def test_occitanie_data_has_its_review_pillars(bundled):
    occitanie = bundled["occitanie-data-ethics"]
    assert occitanie.source_url == "https://www.occitanie-data.fr"
    assert occitanie.pillar_keys() == ["independent_review", "general_interest", "environment", "people_and_society"]
    assert {"purpose", "data_and_legal_basis", "minimisation", "anonymisation", "rights", "impact_assessment", "human_oversight"} <= set(occitanie.theme_keys())


def test_reset_has_seven_qualities_and_a_72_hour_answer_target(bundled):
    reset = bundled["reset-responsible-ai"]
    assert reset.source_url == "https://fing.org"
    assert reset.pillar_keys() == ["empowering", "inclusive", "frugal", "innovative", "democratic", "protective", "equitable"]
    assert reset.theme_keys() == []
    target = reset.target("answer_individual_requests")
    assert target.duration == timedelta(hours=72)
    assert target.duration_text == "PT72H"


def _texts(charter: CharterDef, titles: bool = True):
    if titles:
        yield "title", charter.title
    yield "summary", charter.summary
    yield "source_label", charter.source_label
    for item in charter.items():
        if titles:
            yield f"{item.key}.title", item.title
        yield f"{item.key}.text", item.text
    for target in charter.targets:
        if titles:
            yield f"{target.key}.title", target.title
        yield f"{target.key}.text", target.text


def test_bundled_charters_speak_english_and_french_everywhere(bundled):
    for charter in bundled.values():
        for where, text in _texts(charter):
            assert set(text) == {"en", "fr"}, f"{charter.slug} {where}"
            assert all(value.strip() for value in text.values()), f"{charter.slug} {where}"
            if where == "summary" or where.endswith(".text"):
                assert text["en"] != text["fr"], f"{charter.slug} {where} is not translated"
        sentences = [len(re.findall(r"[.!?](?:\s|$)", charter.summary[lang])) for lang in ("en", "fr")]
        assert all(2 <= n <= 4 for n in sentences), f"{charter.slug} summary has {sentences} sentences"
        assert re.search(r"[éèàçêô]", " ".join(t["fr"] for _, t in _texts(charter))), charter.slug


def _shingles(text: str, size: int = 7) -> set[tuple[str, ...]]:
    words = re.findall(r"[\w']+", text.lower())
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def test_bundled_charter_texts_are_not_copied_from_the_domain_notes(bundled):
    notes = ROOT.parent / "shared" / "design" / "domain.md"
    if not notes.is_file():
        pytest.skip("the shared design notes are not next to the work tree")
    copied = _shingles(notes.read_text(encoding="utf-8"))
    for charter in bundled.values():
        # Titles are names (of the charter, its pillars, its themes): only the descriptive texts are checked.
        for where, text in _texts(charter, titles=False):
            for lang, value in text.items():
                assert not _shingles(value) & copied, f"{charter.slug} {where} ({lang}) reuses a sentence of domain.md"


def test_the_definitions_module_needs_no_app_and_no_database():
    import ast
    import sys

    import govflow.charters.definitions as module

    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0}
    assert not any(isinstance(node, ast.ImportFrom) and node.level > 0 for node in ast.walk(tree))
    for name in imported:
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or top == "__future__" or name.startswith("govflow.engine"), name
