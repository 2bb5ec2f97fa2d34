"""The seam between the engine and the domains: effects named in the YAML, run in the declared order, before the
log entry and credentials; every name registered once."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from govflow import build_registry
from govflow.engine.definitions import load_definitions
from govflow.extensions import db
from govflow.instances.registry import DuplicateName, Plugin, WorkflowRegistry

ROOT = Path(__file__).resolve().parents[2]


def test_a_name_registered_by_two_domains_is_refused():
    first, second = Plugin("first"), Plugin("second")
    for plugin in (first, second):
        plugin.guard("ready")(lambda context: None)
    registry = WorkflowRegistry()
    registry.install(first)
    with pytest.raises(DuplicateName, match="second registers the guard name"):
        registry.install(second)
    other = Plugin("other")
    other.effect("stamp")(lambda act: None)
    again = Plugin("again")
    again.effect("stamp")(lambda act: None)
    registry.install(other)
    with pytest.raises(DuplicateName, match="again registers the effect name"):
        registry.install(again)


def test_every_registered_effect_is_named_by_a_bundled_workflow_and_every_named_effect_is_registered():
    registry = build_registry()
    vocabulary = registry.build_engine().registry.vocabulary()
    named = {n for d in load_definitions([ROOT / "workflows"], vocabulary, base=ROOT) for n in d.effect_names()}
    assert named == set(registry.effects), "an effect registered in code but named nowhere never runs"


def test_a_step_runs_its_declared_effects_before_its_log_entry_and_credential(app, make_user, make_org, make_commitment):
    """``add_evidence`` names ``record_evidence_url``: the evidence exists when the recorder writes the credential."""
    from govflow.accounts.models import User
    from govflow.charters.models import Evidence
    from govflow.instances.models import WorkflowInstance
    from govflow.instances.services import fire_transition

    officer = make_user()
    org = make_org([(officer, "officer")])
    commitment = make_commitment(officer, org, steps=[("declare", None, {})])
    registry = app.extensions["govflow.registry"]
    calls: list[tuple[str, int]] = []
    effect, recorder = registry.effects["record_evidence_url"], registry.recorder

    def count_evidence(instance_id: int) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(Evidence).where(Evidence.commitment_id == commitment.id))

    def spy_effect(act):
        effect(act)
        db.session.flush()
        calls.append(("effect", count_evidence(act.instance.id)))

    def spy_recorder(instance, row, event):
        calls.append(("recorder", count_evidence(instance.id)))
        recorder(instance, row, event)

    registry.effects["record_evidence_url"], registry.recorder = spy_effect, spy_recorder
    try:
        with app.app_context():
            user, instance = db.session.get(User, officer.id), db.session.get(WorkflowInstance, commitment.instance_id)
            fire_transition(user, instance, "add_evidence", {"evidence_url": "https://example.org/model-card"})
            db.session.commit()
        make_commitment(officer, org, steps=[("declare", None, {})], statement="A second commitment, without evidence.", pillar="communiquer")
    finally:
        registry.effects["record_evidence_url"], registry.recorder = effect, recorder
    # The step naming the effect ran it, then recorded; the step naming none only recorded.
    assert calls[:2] == [("effect", 1), ("recorder", 1)]
    assert [name for name, _ in calls[2:]] == ["recorder"]
    with app.app_context():
        (url,) = db.session.scalars(sa.select(Evidence.url).where(Evidence.commitment_id == commitment.id)).all()
        assert url == "https://example.org/model-card"
