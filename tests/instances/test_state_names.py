"""Every state name the code or a template compares against exists in a bundled workflow's YAML.

States are data: a renamed or removed state in ``workflows/*.yaml`` must not leave a comparison behind that silently
never matches. The scan reads ``status == "x"``, ``status != "x"``, ``status in (...)``, ``status.in_(...)`` and the
module constants that list states (``*_STATES``, ``DECIDED``), in Python and in templates."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
STRING = re.compile(r"""["']([a-z_]+)["']""")
COMPARED = re.compile(r"""\bstatus\s*(?:==|!=)\s*["']([a-z_]+)["']""")
IN_LIST = re.compile(r"""\bstatus\s+(?:not\s+)?in\s*[(\[{]([^)\]}]*)[)\]}]""")
IN_SQL = re.compile(r"""\bstatus\.(?:not_)?in_\(\s*[(\[{]([^)\]}]*)[)\]}]""")
# Statuses that are not workflow states: a decision's condition is open, met or not met (reviews/models.py).
OTHER_VOCABULARIES = {"open", "met", "not_met"}


def workflow_states() -> set[str]:
    states: set[str] = set()
    for path in sorted((ROOT / "workflows").glob("*.yaml")):
        states |= set(yaml.safe_load(path.read_text(encoding="utf-8"))["states"])
    return states


def used_state_names() -> dict[str, set[str]]:
    """State name -> where it is used (file:line)."""
    used: dict[str, set[str]] = {}

    def add(name: str, where: str) -> None:
        used.setdefault(name, set()).add(where)

    files = sorted((ROOT / "govflow").rglob("*.py")) + sorted((ROOT / "templates").rglob("*.html"))
    for path in files:
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT)
        for number, line in enumerate(text.splitlines(), 1):
            for name in COMPARED.findall(line):
                add(name, f"{rel}:{number}")
            for group in IN_LIST.findall(line) + IN_SQL.findall(line):
                for name in STRING.findall(group):
                    add(name, f"{rel}:{number}")
        if path.suffix == ".py":
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and (t.id.endswith("_STATES") or t.id == "DECIDED") for t in node.targets):
                    for element in getattr(node.value, "elts", []):
                        if isinstance(element, ast.Constant) and isinstance(element.value, str):
                            add(element.value, f"{rel}:{node.lineno}")
    return used


def test_every_state_name_compared_in_code_or_templates_exists_in_a_workflow():
    states = workflow_states()
    used = used_state_names()
    unknown = {name: sorted(where) for name, where in used.items() if name not in states and name not in OTHER_VOCABULARIES}
    assert unknown == {}, "state names that no workflow YAML defines:\n" + "\n".join(f"{n}: {', '.join(w)}" for n, w in sorted(unknown.items()))


def test_the_scan_finds_the_comparisons_it_guards():
    """The scan is not vacuous: it sees comparisons in Python, in templates, in SQL filters and in constants."""
    used = used_state_names()
    assert len(used) >= 20
    where = {w for places in used.values() for w in places}
    assert any(w.startswith("govflow/") for w in where)
    # Templates compare no state any more (they ask ``can`` values: tests/web/test_templates_ask_can.py), but the scan
    # still reads them and would see a comparison written in one.
    assert COMPARED.findall("{% if c.instance.status == 'draft' %}") == ["draft"]
    assert [STRING.findall(g) for g in IN_LIST.findall("{% if r.instance.status in ('draft', 'changes_requested') %}")] == [["draft", "changes_requested"]]
    assert "vote_open" in used and "in_support" in used and "draft" in used
    # A name no workflow defines would be reported.
    assert "vote_opened" not in workflow_states()
