"""Versioned definitions: running instances stay on their version; migration is explicit, mapped and audited."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from govflow import create_app
from govflow.accounts.models import User
from govflow.cli import cli
from govflow.extensions import db
from govflow.instances.models import InstanceHistory, WorkflowInstance
from govflow.instances.services import fire_transition

ROOT = Path(__file__).resolve().parents[2]
V2 = Path(__file__).parent / "workflows_v2"


def snapshot(app):
    """Every instance row and the number of history rows, read fresh."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(
                WorkflowInstance.id, WorkflowInstance.definition_version, WorkflowInstance.status, WorkflowInstance.version, WorkflowInstance.due_at
            ).order_by(WorkflowInstance.id)
        ).all()
        history = db.session.scalar(sa.select(sa.func.count()).select_from(InstanceHistory))
        return [tuple(r) for r in rows], history


@pytest.fixture
def two_versions(tmp_path, _pg_schema, make_user, make_org, make_commitment, app):
    """Instances started on version 1, then an app that also loads version 2 (same database)."""
    officer = make_user()
    reviewer = make_user(roles=("committee_member",))
    org = make_org([(officer, "officer")])
    draft = make_commitment(officer, org)
    declared = [make_commitment(officer, org, steps=[("declare", None, {})]) for _ in range(3)]
    verified = make_commitment(
        officer, org, steps=[("declare", None, {}), ("add_evidence", None, {"evidence_url": "https://o.example/e"}), ("verify", reviewer, {})]
    )
    withdrawn = make_commitment(officer, org, steps=[("withdraw", None, {"reason": "Stopped."})])
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    both = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "WORKFLOWS_PATH": [str(ROOT / "workflows"), str(V2)],
            "GOVFLOW_KEYS_DIR": app.config["GOVFLOW_KEYS_DIR"],
        },
        instance_path=str(tmp_path / "instance-v2"),
    )
    yield type("W", (), dict(app=both, officer=officer, reviewer=reviewer, org=org, draft=draft, declared=declared, verified=verified, withdrawn=withdrawn))
    with both.app_context():
        db.session.remove()
        db.engine.dispose()


def test_old_instances_keep_running_version_1_while_new_ones_start_on_version_2(two_versions):
    app = two_versions.app
    with app.app_context():
        officer = db.session.get(User, two_versions.officer.id)
        old = db.session.get(WorkflowInstance, two_versions.draft.instance_id)
        event = fire_transition(officer, old, "declare", {})
        assert (old.definition_version, old.status, event.dest) == (1, "declared", "declared")
        from govflow.charters.models import Signature
        from govflow.charters.services import create_commitment

        signature = db.session.get(Signature, two_versions.draft.signature_id)
        new = create_commitment(officer, signature, "faire", "A statement long enough to be declared.")
        fire_transition(officer, new.instance, "declare", {})
        assert (new.instance.definition_version, new.instance.status) == (2, "committed")
        db.session.commit()


def test_the_definition_page_shows_live_versions_and_their_instance_counts(two_versions):
    page = two_versions.app.test_client().get("/workflows/commitment").get_data(as_text=True)
    # 3 drafts created on signing + 3 declared + 1 verified + 1 withdrawn commitment, all on version 1
    assert "version 2" in page and "8 instances" in page and "0 instances" in page


def test_a_migration_with_an_unmapped_state_is_refused_and_changes_nothing(two_versions):
    app = two_versions.app
    before = snapshot(app)
    result = app.test_cli_runner().invoke(cli, ["workflows", "migrate", "commitment", "--to", "2"])
    assert result.exit_code != 0
    assert "no mapping for state 'declared' (v1)" in result.output and "nothing changed" in result.output
    assert snapshot(app) == before
    bad = app.test_cli_runner().invoke(cli, ["workflows", "migrate", "commitment", "--to", "2", "--map", "declared=nowhere"])
    assert bad.exit_code != 0 and "has no state nowhere" in bad.output
    assert snapshot(app) == before


def test_a_dry_run_prints_the_plan_and_changes_nothing(two_versions):
    app = two_versions.app
    before = snapshot(app)
    result = app.test_cli_runner().invoke(cli, ["workflows", "migrate", "commitment", "--to", "2", "--map", "declared=committed", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "v1 declared -> v2 committed: 3 instance(s)" in result.output
    assert "v1 draft -> v2 draft: 3 instance(s)" in result.output
    assert "dry run: 7 instance(s) would move" in result.output
    assert snapshot(app) == before


def test_a_mapped_migration_moves_running_instances_and_writes_history(two_versions):
    app = two_versions.app
    (before_rows, before_history) = snapshot(app)
    result = app.test_cli_runner().invoke(cli, ["workflows", "migrate", "commitment", "--to", "2", "--map", "declared=committed"])
    assert result.exit_code == 0, result.output
    assert "moved 7 instance(s) of 'commitment' to version 2" in result.output
    rows, history = snapshot(app)
    assert history == before_history + 7
    by_id = {r[0]: r for r in rows}
    for c in two_versions.declared:
        assert by_id[c.instance_id][1:3] == (2, "committed")
    assert by_id[two_versions.withdrawn.instance_id][1:3] == (1, "withdrawn"), "final instances stay on their version"
    before_by_id = {r[0]: r for r in before_rows}
    verified = by_id[two_versions.verified.instance_id]
    assert verified[1:3] == (2, "verified")
    assert verified[3] == before_by_id[two_versions.verified.instance_id][3] + 1, "the version counter moves"
    shortened = before_by_id[two_versions.verified.instance_id][4] - verified[4]
    assert 180 <= shortened.days <= 185, "the deadline now follows version 2's six months, counted from verification"
    with app.app_context():
        rows = db.session.scalars(sa.select(InstanceHistory).where(InstanceHistory.kind == "migrate")).all()
        assert {(h.from_state, h.to_state, h.definition_version, h.actor_id) for h in rows} == {
            ("declared", "committed", 2, None),
            ("draft", "draft", 2, None),
            ("verified", "verified", 2, None),
        }
        officer = db.session.get(User, two_versions.officer.id)
        moved = db.session.get(WorkflowInstance, two_versions.declared[0].instance_id)
        fire_transition(officer, moved, "add_evidence", {"evidence_url": "https://o.example/x"})
        assert moved.status == "evidenced"
        db.session.commit()
    again = app.test_cli_runner().invoke(cli, ["workflows", "migrate", "commitment", "--to", "2"])
    assert again.exit_code == 0 and "moved 0 instance(s)" in again.output


def test_migrating_to_a_version_that_is_not_loaded_is_refused(app):
    result = app.test_cli_runner().invoke(cli, ["workflows", "migrate", "commitment", "--to", "7"])
    assert result.exit_code != 0 and "version 7 is not loaded" in result.output
    malformed = app.test_cli_runner().invoke(cli, ["workflows", "migrate", "commitment", "--to", "1", "--map", "declared"])
    assert malformed.exit_code != 0 and "is not a mapping" in malformed.output
