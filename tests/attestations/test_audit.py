"""govflow audit verify: recomputes the log, its stored tree and tree heads, and what every page shows, from the
database, and names the first tampered row of each kind.

Each check runs twice: through the command (a small log: one sequential scan), and forced through the worker
processes in spans of four entries, which must tell a clean log from a tampered one; the names come from the scan.
"""

from __future__ import annotations

import os
from datetime import datetime

import pytest
import sqlalchemy as sa

from govflow.accounts.models import User
from govflow.attestations import audit as audit_module
from govflow.attestations.audit import audit_log
from govflow.attestations.models import Attestation, LogEntry, LogTile, TreeHead
from govflow.cli import cli
from govflow.extensions import db
from govflow.instances.models import InstanceHistory, WorkflowInstance
from govflow.reviews import services
from govflow.reviews.models import Recusal, Referral, Vote

from ..conftest import commitment_factory, org_factory, user_factory, world
from ..reviews.common import build, vote

EVIDENCE = {"evidence_url": "https://org.example/evidence"}


def _build_logged(app):
    """A log with transitions, attestations, a revocation, declarations of interests, a recusal, ballots and a tally."""
    make_user, make_org, make_commitment = user_factory(app), org_factory(app), commitment_factory(app)
    officer = make_user()
    reviewer = make_user(roles=("committee_member",))
    org = make_org([(officer, "officer")])
    for _ in range(3):
        make_commitment(officer, org, steps=[("declare", None, {"comment": "Ready."}), ("add_evidence", None, EVIDENCE), ("verify", reviewer, {})])
    make_commitment(officer, org, steps=[("declare", None, {}), ("withdraw", None, {"reason": "The product was discontinued."})])
    referral_id, users, _ = build(app, members=4, interests={3: "Ville de Test"})
    for user_id in users[:3]:
        vote(app, referral_id, user_id, "favourable")
    assert app.test_client().get("/log/v1/get-sth").status_code == 200
    return referral_id


@pytest.fixture
def logged(tmp_path, _pg_schema):
    """The logged world, built once per test process and copied for each test (each tampers with its own copy)."""
    app, referral_id = world(tmp_path / "logged", "audit-logged", _build_logged)
    app.referral_id = referral_id
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(params=["command", "workers"])
def audit(request):
    """Run the audit as ``govflow audit verify`` does, or through two worker processes in spans of four entries."""

    def run(app):
        if request.param == "command":
            result = app.test_cli_runner().invoke(cli, ["audit", "verify"])
            return result.exit_code, result.output
        with app.app_context():
            report = audit_log(parallel_from=0, span=4, processes=2)
        return (0 if report.ok else 1), "".join(f"{line}\n" for line in report.lines())

    run.mode = request.param
    return run


def entry_of_history(app, history_id):
    with app.app_context():
        return db.session.scalar(sa.select(LogEntry.index).where(LogEntry.history_id == history_id))


def execute(app, statement):
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


def test_an_untouched_log_passes(logged, audit):
    code, output = audit(logged)
    assert code == 0, output
    assert "audit: OK" in output and "(0 pending)" in output
    # Through workers, a clean log is reported by the parallel pass itself (the sequential scan would say nothing of processes).
    assert ("by 2 processes" in output) == (audit.mode == "workers")
    with logged.app_context():
        kinds = set(db.session.scalars(sa.select(LogEntry.kind)))
    assert kinds == {"transition", "attestation", "revocation", "declaration", "recusal", "ballot", "tally"}


def test_an_altered_history_row_is_named(logged, audit):
    with logged.app_context():
        row = db.session.scalars(sa.select(InstanceHistory).where(InstanceHistory.trigger == "declare").order_by(InstanceHistory.id)).all()[1]
    execute(logged, sa.update(InstanceHistory).where(InstanceHistory.id == row.id).values(comment="Ready!"))
    code, output = audit(logged)
    index = entry_of_history(logged, row.id)
    assert code == 1
    assert f"first problem at entry {index}: history row {row.id} no longer matches what the log recorded" in output


def test_a_changed_state_in_history_is_named(logged, audit):
    with logged.app_context():
        row_id = db.session.scalar(sa.select(sa.func.max(InstanceHistory.id)).where(InstanceHistory.trigger == "verify"))
    execute(logged, sa.update(InstanceHistory).where(InstanceHistory.id == row_id).values(to_state="renewed"))
    code, output = audit(logged)
    assert code == 1 and f"history row {row_id} no longer matches" in output


def test_a_tampered_instance_state_is_named(logged, audit):
    """What every page and the register show: an instance moved behind the app's back is named."""
    with logged.app_context():
        instance_id = db.session.scalar(sa.select(sa.func.min(WorkflowInstance.id)).where(WorkflowInstance.status == "verified"))
    execute(logged, sa.update(WorkflowInstance).where(WorkflowInstance.id == instance_id).values(status="renewal_due"))
    code, output = audit(logged)
    assert code == 1
    assert f"first problem at instance {instance_id}: its state is 'renewal_due' but its last logged history row says 'verified'" in output


@pytest.mark.parametrize(
    ("column", "value", "name"), [("version", 99, "version"), ("due_at", datetime(2099, 1, 1), "deadline"), ("definition_version", 2, "definition version")]
)
def test_a_tampered_instance_version_or_deadline_is_named(logged, audit, column, value, name):
    with logged.app_context():
        instance_id = db.session.scalar(sa.select(sa.func.max(WorkflowInstance.id)).where(WorkflowInstance.due_at.is_not(None)))
        if column == "definition_version":  # the row must still name a registered definition
            from govflow.instances.models import WorkflowDefinitionRecord

            db.session.add(WorkflowDefinitionRecord(name="commitment", version=2, sha256="0" * 64, file="forged.yaml"))
            db.session.commit()
    execute(logged, sa.update(WorkflowInstance).where(WorkflowInstance.id == instance_id).values({column: value}).execution_options(synchronize_session=False))
    code, output = audit(logged)
    assert code == 1 and f"first problem at instance {instance_id}: its {name} is" in output


def test_a_deleted_entry_in_the_middle_is_named(logged, audit):
    execute(logged, sa.delete(LogEntry).where(LogEntry.index == 4))
    code, output = audit(logged)
    assert code == 1 and "first problem at entry 4: the log jumps from entry 3 to entry 5: entries were deleted" in output


def test_deleted_last_entries_are_detected(logged, audit):
    with logged.app_context():
        last = db.session.scalar(sa.select(sa.func.max(LogEntry.index)))
    execute(logged, sa.delete(LogEntry).where(LogEntry.index == last))
    code, output = audit(logged)
    assert code == 1 and "deleted" in output


def test_an_altered_leaf_is_named(logged, audit):
    execute(logged, sa.update(LogEntry).where(LogEntry.index == 2).values(leaf_input=b'{"type":"forged"}'))
    code, output = audit(logged)
    assert code == 1 and "first problem at entry 2: its leaf hash does not match its content" in output


def test_a_changed_salt_is_named(logged, audit):
    """The salt opens the commitment: a different one no longer opens it to the act."""
    with logged.app_context():
        index = db.session.scalar(sa.select(sa.func.min(LogEntry.index)).where(LogEntry.kind == "transition"))
    execute(logged, sa.update(LogEntry).where(LogEntry.index == index).values(salt=bytes(16)))
    code, output = audit(logged)
    assert code == 1 and f"first problem at entry {index}: history row" in output


def test_an_altered_credential_is_named(logged, audit):
    with logged.app_context():
        attestation = db.session.scalars(sa.select(Attestation).order_by(Attestation.id)).first()
        index = db.session.scalar(sa.select(LogEntry.index).where(LogEntry.attestation_id == attestation.id, LogEntry.kind == "attestation"))
        forged = attestation.credential.replace('"validFrom":"2', '"validFrom":"1')
        assert forged != attestation.credential
    execute(logged, sa.update(Attestation).where(Attestation.id == attestation.id).values(credential=forged))
    code, output = audit(logged)
    assert code == 1 and f"first problem at entry {index}: attestation urn:uuid:{attestation.uid} no longer matches" in output


def test_an_altered_revocation_is_named(logged, audit):
    with logged.app_context():
        index, attestation_id = db.session.execute(sa.select(LogEntry.index, LogEntry.attestation_id).where(LogEntry.kind == "revocation")).one()
        uid = db.session.get(Attestation, attestation_id).uid
    execute(logged, sa.update(Attestation).where(Attestation.id == attestation_id).values(revocation_reason="Never mind."))
    code, output = audit(logged)
    assert code == 1 and f"first problem at entry {index}: the revocation of attestation urn:uuid:{uid} was altered or undone" in output


def test_a_changed_ballot_is_named(logged, audit):
    """A ballot changed in the table after the close no longer matches its latest logged entry."""
    with logged.app_context():
        ballot = db.session.scalars(sa.select(Vote).where(Vote.referral_id == logged.referral_id).order_by(Vote.id)).first()
        index = db.session.scalar(sa.select(sa.func.max(LogEntry.index)).where(LogEntry.kind == "ballot", LogEntry.ref == str(ballot.id)))
    execute(logged, sa.update(Vote).where(Vote.id == ballot.id).values(choice="unfavourable", rationale="Changed later."))
    code, output = audit(logged)
    assert code == 1 and f"first problem at act {index}: ballot {ballot.id} no longer matches what entry {index} recorded" in output


def test_a_ballot_added_after_the_close_is_named(logged, audit):
    """A ballot slipped into the table with no log entry (the tally entry, too, no longer matches the round's ballots)."""
    with logged.app_context():
        referral = db.session.get(Referral, logged.referral_id)
        round_id = services.current_round(referral).id
        member = db.session.scalar(sa.select(User.id).where(User.email == "m3@test.example"))
        db.session.add(Vote(referral_id=referral.id, round_id=round_id, member_id=member, choice="unfavourable", rationale="Late."))
        db.session.commit()
        vote_id = db.session.scalar(sa.select(Vote.id).where(Vote.member_id == member))
    code, output = audit(logged)
    assert code == 1 and f"ballot {vote_id} is not in the log: it was recorded behind the log's back" in output


def test_a_deleted_recusal_is_named(logged, audit):
    with logged.app_context():
        recusal = db.session.scalars(sa.select(Recusal)).one()
        ref = f"{recusal.referral_id}/{recusal.user_id}"
        index = db.session.scalar(sa.select(LogEntry.index).where(LogEntry.kind == "recusal"))
    execute(logged, sa.delete(Recusal))
    code, output = audit(logged)
    assert code == 1 and f"first problem at act {index}: the recusal {ref} that entry {index} records was deleted" in output


def test_a_transition_entry_relabelled_is_named(logged, audit):
    with logged.app_context():
        index = db.session.scalar(sa.select(sa.func.min(LogEntry.index)).where(LogEntry.kind == "transition"))
    execute_unchecked(logged, sa.update(LogEntry).where(LogEntry.index == index).values(kind="attestation"))
    code, output = audit(logged)
    assert code == 1 and f"first problem at entry {index}: its kind says attestation but it records history row" in output


def test_a_fractional_version_in_history_is_named(logged, audit):
    # SQLite keeps 1.5 in an integer column; PostgreSQL rounds it to 2. Either way the row no longer matches its entry.
    with logged.app_context():
        row_id = db.session.scalar(sa.select(sa.func.max(InstanceHistory.id)).where(InstanceHistory.trigger == "declare"))
    execute(logged, sa.update(InstanceHistory).where(InstanceHistory.id == row_id).values(definition_version=1.5))
    code, output = audit(logged)
    assert code == 1 and f"history row {row_id} no longer matches what the log recorded" in output


def test_a_history_row_inserted_behind_the_logs_back_is_named(logged, audit):
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
            instance_version=99,
        )
        db.session.add(row)
        db.session.commit()
        row_id = row.id
    code, output = audit(logged)
    assert code == 1 and f"history row {row_id} is not in the log" in output


def test_a_history_row_recorded_twice_is_named_once_its_unique_index_is_dropped(logged, audit):
    with logged.app_context():
        entry = db.session.scalars(sa.select(LogEntry).where(LogEntry.kind == "transition").order_by(LogEntry.id)).first()
        copy = {c: getattr(entry, c) for c in ("kind", "history_id", "salt", "leaf_input", "leaf_hash", "created_at")}
    execute(logged, sa.text("DROP INDEX ux_log_entries_history"))
    try:
        execute(logged, sa.insert(LogEntry).values(**copy))
        code, output = audit(logged)
        assert code == 1
        assert "the unique index of history rows in the log was dropped" in output and "a history row is recorded by two entries" in output
    finally:
        execute(logged, sa.delete(LogEntry).where(LogEntry.index.is_(None)))
        execute(logged, sa.text("CREATE UNIQUE INDEX ux_log_entries_history ON log_entries (history_id) WHERE history_id IS NOT NULL"))


def test_a_tampered_tile_is_named(logged, audit):
    """A stored node of the tree (what proofs are read from) that no longer matches the leaves is named."""
    with logged.app_context():
        data = bytearray(db.session.scalar(sa.select(LogTile.hashes).where(LogTile.level == 0, LogTile.idx == 0)))
    data[40] ^= 1
    execute(logged, sa.update(LogTile).where(LogTile.level == 0, LogTile.idx == 0).values(hashes=bytes(data)))
    code, output = audit(logged)
    assert code == 1 and "first problem at tile 0: stored tile 0/0 does not match the tree's nodes" in output


def test_a_forged_tree_head_signature_is_named(logged, audit):
    with logged.app_context():
        head = db.session.scalars(sa.select(TreeHead).order_by(TreeHead.tree_size.desc())).first()
        forged = head.signature[:-6] + ("AAAAAA" if not head.signature.endswith("AAAAAA") else "BBBBBB")
    execute(logged, sa.update(TreeHead).where(TreeHead.tree_size == head.tree_size).values(signature=forged))
    code, output = audit(logged)
    assert code == 1 and f"first problem at tree head {head.tree_size}: its signature or checkpoint does not hold" in output


def test_a_forged_checkpoint_is_named(logged, audit):
    with logged.app_context():
        head = db.session.scalars(sa.select(TreeHead).order_by(TreeHead.tree_size.desc())).first()
        origin, size, rest = head.checkpoint.split("\n", 2)
        forged = f"{origin}\n{int(size) + 1}\n{rest}"
    execute(logged, sa.update(TreeHead).where(TreeHead.tree_size == head.tree_size).values(checkpoint=forged))
    code, output = audit(logged)
    assert code == 1 and f"first problem at tree head {head.tree_size}: its signature or checkpoint does not hold" in output


def test_a_tree_head_that_no_longer_matches_the_log_is_named(logged, audit):
    with logged.app_context():
        head = db.session.scalars(sa.select(TreeHead).order_by(TreeHead.tree_size.desc())).first()
    execute(logged, sa.update(TreeHead).where(TreeHead.tree_size == head.tree_size).values(root_hash=bytes(32)))
    code, output = audit(logged)
    assert code == 1 and f"first problem at tree head {head.tree_size}: it does not match the log" in output


def test_pending_entries_are_checked_too(app, make_user, make_org, make_commitment):
    """An entry the sequencer has not integrated yet must still commit to its act."""
    app.config["GOVFLOW_SEQUENCER"] = "off"
    officer = make_user()
    commitment = make_commitment(officer, make_org([(officer, "officer")]), steps=[("declare", None, {})])
    with app.app_context():
        report = audit_log()
        assert report.ok and report.pending > 0, report.lines()
        row_id = db.session.scalar(sa.select(sa.func.max(InstanceHistory.id)).where(InstanceHistory.instance_id == commitment.instance_id))
        entry_id = db.session.scalar(sa.select(LogEntry.id).where(LogEntry.history_id == row_id))
        db.session.execute(sa.update(InstanceHistory).where(InstanceHistory.id == row_id).values(comment="forged"))
        db.session.commit()
        assert f"pending entry {entry_id}: history row {row_id} no longer matches" in "\n".join(audit_log().lines())


def execute_unchecked(app, statement):
    """Write what the log's check constraints forbid, as someone holding the database's keys could."""
    with app.app_context(), db.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
            connection.execute(statement)
            connection.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")
        else:
            names = ("transition_source", "attestation_source", "other_source", "salted")
            definitions = {
                "transition_source": "(kind = 'transition') = (history_id IS NOT NULL)",
                "attestation_source": "(kind IN ('attestation', 'revocation')) = (attestation_id IS NOT NULL)",
                "other_source": "(kind IN ('transition', 'attestation', 'revocation')) = (ref IS NULL)",
                "salted": "(kind = 'attestation') = (salt IS NULL)",
            }
            connection.exec_driver_sql("ALTER TABLE log_entries " + ", ".join(f"DROP CONSTRAINT ck_log_entries_{n}" for n in names))
            connection.execute(statement)
            # Back for the next tests (whose tables start empty); NOT VALID leaves this test's altered row alone.
            connection.exec_driver_sql(
                "ALTER TABLE log_entries " + ", ".join(f"ADD CONSTRAINT ck_log_entries_{n} CHECK ({definitions[n]}) NOT VALID" for n in names)
            )


SQLITE_ONLY = pytest.mark.skipif(bool(os.environ.get("GOVFLOW_TEST_DATABASE_URL")), reason="SQLite's column affinity; PostgreSQL's columns are typed")


@SQLITE_ONLY
def test_a_float_equal_to_the_logged_integer_is_named(logged, monkeypatch):
    """A 1.0 where the log recorded 1 is an alteration, though Python takes 1.0 for 1 (the entry builder's kept parts)."""
    with logged.app_context():
        altered, index = db.session.execute(
            sa.select(InstanceHistory.id, LogEntry.index)
            .join(LogEntry, LogEntry.history_id == InstanceHistory.id)
            .where(InstanceHistory.kind == "start")
            .order_by(LogEntry.index)
            .offset(1)
            .limit(1)
        ).one()
        connection = db.session.connection()
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
        connection.exec_driver_sql("PRAGMA legacy_alter_table = ON")
        columns = [row[1] for row in connection.exec_driver_sql("PRAGMA table_info(instance_history)")]
        connection.exec_driver_sql("ALTER TABLE instance_history RENAME TO typed_history")
        connection.exec_driver_sql(f"CREATE TABLE instance_history (id INTEGER PRIMARY KEY, {', '.join(columns[1:])})")
        connection.exec_driver_sql(f"INSERT INTO instance_history SELECT {', '.join(columns)} FROM typed_history")
        connection.exec_driver_sql("DROP TABLE typed_history")
        connection.exec_driver_sql("UPDATE instance_history SET definition_version = 1.0 WHERE id = ?", (altered,))
        db.session.commit()
        assert db.session.connection().exec_driver_sql("SELECT typeof(definition_version) FROM instance_history WHERE id = ?", (altered,)).scalar() == "real"
        parallel = []
        real = audit_module._parallel
        monkeypatch.setattr(audit_module, "_parallel", lambda *args: parallel.append(real(*args)) or parallel[-1])
        report = audit_log(parallel_from=0, span=4, processes=2)
        # The workers ran and gave up; the sequential scan named the row.
        assert parallel == [None] and report.processes == 1
        assert f"first problem at entry {index}: history row {altered} no longer matches what the log recorded: the row was altered" in report.lines()[1]


@pytest.mark.parametrize("span", [1, 2, 4, 8, 16, 256, 1024])
def test_workers_check_tree_heads_inside_spans_and_at_their_ends(logged, span):
    with logged.app_context():
        sizes = sorted(db.session.scalars(sa.select(TreeHead.tree_size)))
        report = audit_log(parallel_from=0, span=span, processes=2)
    assert len(sizes) > 2 and report.ok, report.lines()
    assert (report.entries, report.tree_heads) == (sizes[-1], len(sizes))
    # One span is no work to share: the sequential scan runs.
    assert report.processes == (2 if sizes[-1] > span else 1)


def test_workers_are_not_started_when_they_cannot_help(logged):
    with logged.app_context():
        assert audit_log(parallel_from=0, span=4, processes=1).processes == 1
        assert audit_log(span=4, processes=2).processes == 1  # a small log
        with pytest.raises(ValueError, match="power of two"):
            audit_log(span=6)
    assert audit_module._shareable(sa.make_url("sqlite:////var/lib/govflow/govflow.sqlite3"))
    assert audit_module._shareable(sa.make_url("postgresql+psycopg://govflow@db/govflow"))
    for url in ("sqlite://", "sqlite:///:memory:", "sqlite:///file:audit?mode=memory&cache=shared&uri=true"):
        assert not audit_module._shareable(sa.make_url(url)), url
