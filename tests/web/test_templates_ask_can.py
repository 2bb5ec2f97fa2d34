"""Templates ask named answers (``can.edit_dossier``, ``can.vote``, ``is_overdue``…) that the views and the domains'
policies compute; they never compare a state name, never ask a role, never call a service.

The scan reads every template under ``templates/`` with Jinja's own parser, so a comparison split over lines, inside a
string or behind a filter is seen as Jinja sees it, and each finding names its file and line."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import yaml
from jinja2 import nodes

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"

# What the context processors handed every template before the pages computed ``can`` values: service and policy
# modules, and helpers that called services. None may come back.
FORBIDDEN_NAMES = {
    "sandbox",
    "sandbox_policy",
    "roadmaps",
    "review",
    "is_org_member",
    "review_role",
    "review_recused",
    "review_eligible",
    "review_can_read_dossier",
    "call_state",
}
STATE_NAMES = {"status", "state"}
COMPARISONS = {"eq", "ne", "in", "notin"}


def _named(node: nodes.Node, names: set[str]) -> bool:
    """``status``, ``x.status``, ``x['status']``-free forms: a bare name or an attribute named one of ``names``."""
    return (isinstance(node, nodes.Name) and node.name in names) or (isinstance(node, nodes.Getattr) and node.attr in names)


def _fixed(node: nodes.Node) -> bool:
    """A string literal, a tuple or list of literals, or a constant of a module (``sandbox.OPEN_MILESTONE_STATES``)."""
    if isinstance(node, nodes.Const):
        return isinstance(node.value, str)
    if isinstance(node, nodes.Tuple | nodes.List):
        return bool(node.items) and all(isinstance(item, nodes.Const) for item in node.items)
    return isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) and node.attr.isupper()


def problems_in(source: str, env) -> Iterator[tuple[int, str]]:
    """(line, what) for each state or role compared in ``source``, each forbidden name used, each role asked."""
    tree = env.parse(source)
    for compare in tree.find_all(nodes.Compare):
        left = compare.expr
        for operand in compare.ops:
            right = operand.expr
            if operand.op in COMPARISONS:
                for a, b in ((left, right), (right, left)):
                    if _named(a, STATE_NAMES) and _fixed(b):
                        yield compare.lineno, "compares a state: ask a can_* value computed by the view or the domain's policies"
                        break
                    if _named(a, {"role"}) and _fixed(b):
                        yield compare.lineno, "compares a role: ask a can_* value computed by the view or the domain's policies"
                        break
            left = right
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name in FORBIDDEN_NAMES:
            yield name.lineno, f"uses {name.name!r}, a service or policy helper: pass the answer from the view"
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Getattr) and call.node.attr == "has_role":
            yield call.lineno, "asks a role (has_role): ask a can_* value computed by the view"


def test_no_template_compares_a_state_or_a_role_nor_calls_a_service(app):
    found = []
    paths = sorted(TEMPLATES.rglob("*.html"))
    assert len(paths) > 40, "the scan reads the templates"
    for path in paths:
        for line, what in problems_in(path.read_text(encoding="utf-8"), app.jinja_env):
            found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert found == [], "templates must ask can_* values:\n" + "\n".join(sorted(set(found)))


def test_the_scan_sees_what_templates_used_to_do(app):
    """Not vacuous: each way the templates compared states, asked roles or called services is reported, at its line."""
    samples = [
        "{% if c.instance.status == 'draft' and is_org_member(c.organisation_id) %}x{% endif %}",
        "{% if m.instance.status in sandbox.OPEN_MILESTONE_STATES and m.overdue_at %}x{% endif %}",
        "{% if a.instance.status in ('shortlisted', 'audition_scheduled') %}x{% endif %}",
        "{% if r.instance.status not in ['closed', 'withdrawn'] %}x{% endif %}",
        "{% if 'open' == state %}x{% endif %}",
        "{% if status != 'draft' %}x{% endif %}",
        "{% if sandbox_policy.manages(user, a) %}x{% endif %}",
        "{% set version = review.latest_dossier(r) %}",
        "{% set files = roadmaps.milestone_files(m) %}",
        "{% if role in ('secretary', 'chair') %}x{% endif %}",
        "{% if user.has_role('programme_manager') %}x{% endif %}",
        "{% for p in page %}{% set s = call_state(p) %}{% endfor %}",
    ]
    for sample in samples:
        assert list(problems_in(sample, app.jinja_env)), sample
    assert [line for line, _ in problems_in("<p>\n{% if x %}\n{% if c.status == 'open' %}y{% endif %}{% endif %}", app.jinja_env)] == [3]
    # What stays allowed: named answers, comparing a state with another variable, looking a label up by state.
    allowed = [
        "{% if can.edit_commitment %}x{% endif %}",
        "{% if c.id in subject.followable_conditions %}x{% endif %}",
        "{% if s == filters.status %}selected{% endif %}",
        "{{ tr(d.states[state].title) if state in d.states else state }}",
        "{{ {'officer': _('Officer')}.get(m.role, _('Contributor')) }}",
        "{% if value == m.role %}selected{% endif %}",
    ]
    for sample in allowed:
        assert list(problems_in(sample, app.jinja_env)) == [], sample


def test_the_template_context_holds_no_module_and_no_service_helper(app):
    """Context processors and Jinja globals give templates forms, the user and formatting helpers: never a service or
    policy module, never a lambda calling one."""
    with app.test_request_context("/"):
        for owner, processors in app.template_context_processors.items():
            for processor in processors:
                for name, value in processor().items():
                    where = f"{owner or 'app'}: {processor.__module__}.{processor.__name__} gives {name!r}"
                    assert not inspect.ismodule(value), where + ", a module"
                    assert name not in FORBIDDEN_NAMES, where
                    assert getattr(value, "__name__", None) != "<lambda>", where + ", a lambda (compute the answer in the view)"
                    assert not (inspect.isfunction(value) and value.__module__.rsplit(".", 1)[-1] in ("services", "policies", "roadmaps")), where
    for name, value in app.jinja_env.globals.items():
        assert not inspect.ismodule(value), f"Jinja global {name!r} is a module"
        assert name not in FORBIDDEN_NAMES, f"Jinja global {name!r}"


def _states(workflow: str) -> dict[str, dict]:
    return yaml.safe_load((ROOT / "workflows" / f"{workflow}.yaml").read_text(encoding="utf-8"))["states"]


def test_the_state_sets_behind_the_can_values_belong_to_their_own_workflow():
    """Each set of states a permission reads names states of the workflow it is about (not merely of some workflow)."""
    from govflow.charters import services as charters
    from govflow.reviews import policies as review_policies
    from govflow.reviews import services as reviews
    from govflow.sandbox import services as sandbox

    sets = {
        "commitment": [charters.EDITABLE_STATES, charters.EVIDENCE_STATES],
        "application": [sandbox.AUDITION_STATES, sandbox.SCORING_STATES, sandbox.ROADMAP_STATES, sandbox.PLANNING_STATES, sandbox.LAUREATE_STATES],
        "milestone": [sandbox.OPEN_MILESTONE_STATES, sandbox.FILE_STATES],
        "referral": [reviews.DOSSIER_STATES, review_policies.RAPPORTEUR_STATES],
    }
    for workflow, state_sets in sets.items():
        states = _states(workflow)
        for state_set in state_sets:
            assert set(state_set) <= set(states), (workflow, sorted(set(state_set) - set(states)))
    milestone = _states("milestone")
    assert set(sandbox.OPEN_MILESTONE_STATES) == {s for s, body in milestone.items() if not body.get("final")}, "open means not final"
    assert set(sandbox.FILE_STATES) < set(sandbox.OPEN_MILESTONE_STATES) and set(sandbox.PLANNING_STATES) < set(sandbox.ROADMAP_STATES)
