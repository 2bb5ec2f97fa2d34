"""govflow audit verify: recomputes the log from the database and names the first entry altered, deleted or reordered."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govflow.attestations.models import Attestation, LogEntry, TreeHead
from govflow.cli import cli
from govflow.extensions import db
from govflow.instances.models import InstanceHistory

EVIDENCE = {"evidence_url": "https://org.example/evidence"}


@pytest.fixture
def logged(app, client, make_user, make_org, make_commitment):
    """A log with transitions, attestations and a signed tree head."""
    officer = make_user()
    reviewer = make_user(roles=("committee_member",))
    org = make_org([(officer, "officer")])
    for _ in range(3):
        make_commitment(officer, org, steps=[("declare", None, {"comment": "Ready."}), ("add_evidence", None, EVIDENCE), ("verify", reviewer, {})])
    assert client.get("/log/v1/get-sth").status_code == 200
    return app


def audit(app):
    result = app.test_cli_runner().invoke(cli, ["audit", "verify"])
    return result.exit_code, result.output


def entry_of_history(app, history_id):
    with app.app_context():
        return db.session.scalar(sa.select(LogEntry.index).where(LogEntry.history_id == history_id))


def execute(app, statement):
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


def test_an_untouched_log_passes(logged):
    code, output = audit(logged)
    assert code == 0, output
    assert "audit: OK" in output and "1 signed tree heads checked" in output


def test_an_altered_history_row_is_named(logged):
    with logged.app_context():
        row = db.session.scalars(sa.select(InstanceHistory).where(InstanceHistory.trigger == "declare").order_by(InstanceHistory.id)).all()[1]
    execute(logged, sa.update(InstanceHistory).where(InstanceHistory.id == row.id).values(comment="Ready!"))
    code, output = audit(logged)
    index = entry_of_history(logged, row.id)
    assert code == 1
    assert f"first problem at entry {index}: history row {row.id} no longer matches what the log recorded" in output


def test_a_changed_state_in_history_is_named(logged):
    with logged.app_context():
        row_id = db.session.scalar(sa.select(sa.func.max(InstanceHistory.id)).where(InstanceHistory.trigger == "verify"))
    execute(logged, sa.update(InstanceHistory).where(InstanceHistory.id == row_id).values(to_state="renewed"))
    code, output = audit(logged)
    assert code == 1 and f"history row {row_id} no longer matches" in output


def test_a_deleted_entry_in_the_middle_is_named(logged):
    execute(logged, sa.delete(LogEntry).where(LogEntry.index == 4))
    code, output = audit(logged)
    assert code == 1 and "first problem at entry 4: the log jumps from entry 3 to entry 5: entries were deleted" in output


def test_deleted_last_entries_are_detected(logged):
    with logged.app_context():
        last = db.session.scalar(sa.select(sa.func.max(LogEntry.index)))
    execute(logged, sa.delete(LogEntry).where(LogEntry.index == last))
    code, output = audit(logged)
    assert code == 1 and "deleted" in output


def test_an_altered_leaf_is_named(logged):
    execute(logged, sa.update(LogEntry).where(LogEntry.index == 2).values(leaf_input=b'{"type":"forged"}'))
    code, output = audit(logged)
    assert code == 1 and "first problem at entry 2: its leaf hash does not match its content" in output


def test_an_altered_credential_is_named(logged):
    with logged.app_context():
        attestation = db.session.scalars(sa.select(Attestation).order_by(Attestation.id)).first()
        index = db.session.scalar(sa.select(LogEntry.index).where(LogEntry.attestation_id == attestation.id, LogEntry.kind == "attestation"))
        forged = attestation.credential.replace('"validFrom":"2', '"validFrom":"1')
        assert forged != attestation.credential
    execute(logged, sa.update(Attestation).where(Attestation.id == attestation.id).values(credential=forged))
    code, output = audit(logged)
    assert code == 1 and f"first problem at entry {index}: attestation urn:uuid:{attestation.uid} no longer matches" in output


def test_two_entries_swapped_consistently_are_reported_as_reordered(logged):
    with logged.app_context():
        a, b = db.session.scalars(sa.select(LogEntry).where(LogEntry.kind == "transition").order_by(LogEntry.index).limit(2)).all()
        rows = [
            {
                "index": e.index,
                "kind": e.kind,
                "history_id": e.history_id,
                "attestation_id": None,
                "leaf_input": e.leaf_input,
                "leaf_hash": e.leaf_hash,
                "created_at": e.created_at,
            }
            for e in (a, b)
        ]
        first_history, second_history = a.history_id, b.history_id
        db.session.execute(sa.delete(LogEntry).where(LogEntry.index.in_([a.index, b.index])))
        rows[0]["index"], rows[1]["index"] = rows[1]["index"], rows[0]["index"]
        db.session.execute(sa.insert(LogEntry), rows)
        db.session.commit()
        later = max(rows[0]["index"], rows[1]["index"])
    code, output = audit(logged)
    assert code == 1
    assert f"first problem at entry {later}: history row {second_history} comes after row {first_history}" not in output
    assert f"first problem at entry {later}: history row {first_history} comes after row {second_history} in the log: rows were reordered" in output
    assert "signed tree head of size" in output


def test_a_history_row_inserted_behind_the_logs_back_is_named(logged):
    with logged.app_context():
        model = db.session.scalars(sa.select(InstanceHistory).order_by(InstanceHistory.id)).first()
        row = InstanceHistory(
            instance_id=model.instance_id,
            kind="transition",
            trigger="verify",
            from_state="evidenced",
            to_state="verified",
            definition_version=1,
            actor_label="intruder",
            inputs={},
            at=model.at,
        )
        db.session.add(row)
        db.session.commit()
        row_id = row.id
    code, output = audit(logged)
    assert code == 1 and f"history row {row_id} is not in the log" in output


def test_a_forged_tree_head_signature_is_named(logged):
    with logged.app_context():
        head = db.session.scalars(sa.select(TreeHead)).one()
        forged = head.signature[:-6] + ("AAAAAA" if not head.signature.endswith("AAAAAA") else "BBBBBB")
    execute(logged, sa.update(TreeHead).where(TreeHead.tree_size == head.tree_size).values(signature=forged))
    code, output = audit(logged)
    assert code == 1 and f"the signature of the tree head of size {head.tree_size} does not hold" in output
