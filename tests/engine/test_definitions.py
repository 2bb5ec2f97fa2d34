"""Loading and validating definitions: every problem reported with file, line and a plain sentence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from govflow.engine import DefinitionError, parse_definition
from govflow.engine.definitions import load_definitions

from .vocab import vocabulary

BROKEN = Path(__file__).parent / "broken"
EXPECT = re.compile(r"^# expect: (\d+): (.+)$", re.M)
BROKEN_FILES = sorted(BROKEN.glob("*.yaml"))


def test_there_is_a_broken_fixture_for_each_validation_rule():
    names = {p.stem for p in BROKEN_FILES}
    assert {"unknown_state", "unreachable", "dead_end", "unknown_guard", "unknown_role", "duplicate_trigger", "bad_duration", "syntax_error"} <= names


@pytest.mark.parametrize("path", BROKEN_FILES, ids=lambda p: p.stem)
def test_broken_definition_reports_each_expected_problem_at_its_line(path):
    text = path.read_text()
    expected = [(int(line), message) for line, message in EXPECT.findall(text)]
    assert expected, f"{path.name} declares no '# expect:' line"
    definition, problems = parse_definition(text, path.name, vocabulary())
    assert definition is None
    found = [(p.line, p.message) for p in problems]
    for line, message in expected:
        assert any(pl == line and message in pm for pl, pm in found), f"missing {line}: {message!r} in {found}"
    assert all(p.file == path.name for p in problems)
    assert all(str(p).startswith(f"{path.name}:{p.line}: ") for p in problems)


def test_loading_a_folder_reports_every_problem_of_every_file_at_once():
    with pytest.raises(DefinitionError) as caught:
        load_definitions([BROKEN], vocabulary())
    files = {p.file for p in caught.value.problems}
    assert len(files) == len(BROKEN_FILES)
    assert len(caught.value.problems) >= len(BROKEN_FILES) + 5


def test_bundled_commitment_workflow_is_valid():
    root = Path(__file__).resolve().parents[2]
    (definition,) = load_definitions([root / "workflows" / "commitment.yaml"], _app_vocabulary())
    assert definition.name == "commitment"
    assert definition.initial == "draft"
    assert {"draft", "declared", "evidenced", "verified", "renewal_due", "renewed", "lapsed", "withdrawn", "suspended"} == set(definition.states)
    assert definition.states["verified"].deadline.fire == "renewal_falls_due"
    assert definition.states["withdrawn"].final


def _app_vocabulary():
    from govflow.engine import Vocabulary

    v = vocabulary()
    return Vocabulary(v.roles | {"committee_member", "programme_manager"}, v.guards, v.inputs, v.effects)


def test_the_same_name_and_version_twice_is_refused(tmp_path):
    source = (Path(__file__).parent / "valid" / "review_v1.yaml").read_text()
    (tmp_path / "a.yaml").write_text(source)
    (tmp_path / "b.yaml").write_text(source)
    with pytest.raises(DefinitionError) as caught:
        load_definitions([tmp_path], vocabulary())
    assert "already defined in" in str(caught.value)


def test_an_empty_file_is_a_problem_not_a_crash(tmp_path):
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(DefinitionError) as caught:
        load_definitions([tmp_path], vocabulary())
    assert "empty.yaml:1: the file is empty" in str(caught.value)


def test_a_document_that_is_not_a_mapping_is_a_problem(tmp_path):
    definition, problems = parse_definition("- just\n- a list\n", "list.yaml", vocabulary())
    assert definition is None
    assert problems[0].line == 1 and "must be a mapping" in problems[0].message
