"""govflow audit verify: recomputes the log from the database and names the first entry altered, deleted or reordered.

Each check runs twice: through the command (a small log: one sequential scan), and forced through the worker
processes in spans of four entries, which must find the same problems and name them the same way.
"""

from __future__ import annotations

import itertools
import os

import pytest
import sqlalchemy as sa

from govflow.attestations import audit as audit_module
from govflow.attestations.audit import _parallel_audit as real_parallel
from govflow.attestations.audit import audit_log
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
    assert "audit: OK" in output and "1 signed tree heads checked" in output
    # Through workers, a clean log is reported by the parallel pass itself (the sequential scan would say nothing of processes).
    assert ("checked by 2 processes" in output) == (audit.mode == "workers")


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


def test_a_deleted_entry_in_the_middle_is_named(logged, audit):
    execute(logged, sa.delete(LogEntry).where(LogEntry.index == 4))
    code, output = audit(logged)
    assert code == 1 and "first problem at entry 4: the log jumps from entry 3 to entry 5: entries were deleted" in output


def test_an_entry_moved_to_the_end_is_named_where_it_is_missing(logged, audit):
    # As many entries as the log should hold (what the workers' count checks): only the gap tells.
    with logged.app_context():
        size = db.session.scalar(sa.select(sa.func.count()).select_from(LogEntry))
    execute(logged, sa.update(LogEntry).where(LogEntry.index == 4).values(index=size))
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


def test_an_altered_credential_is_named(logged, audit):
    with logged.app_context():
        attestation = db.session.scalars(sa.select(Attestation).order_by(Attestation.id)).first()
        index = db.session.scalar(sa.select(LogEntry.index).where(LogEntry.attestation_id == attestation.id, LogEntry.kind == "attestation"))
        forged = attestation.credential.replace('"validFrom":"2', '"validFrom":"1')
        assert forged != attestation.credential
    execute(logged, sa.update(Attestation).where(Attestation.id == attestation.id).values(credential=forged))
    code, output = audit(logged)
    assert code == 1 and f"first problem at entry {index}: attestation urn:uuid:{attestation.uid} no longer matches" in output


def swap_two_transitions(app, after: int = 0) -> tuple[int, int, int]:
    """Swap the first two adjacent transition entries from index ``after`` on, each keeping its leaf; return both history ids and the later index."""
    with app.app_context():
        entries = db.session.scalars(sa.select(LogEntry).where(LogEntry.index >= after).order_by(LogEntry.index)).all()
        a, b = next((a, b) for a, b in itertools.pairwise(entries) if a.kind == b.kind == "transition")
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
        return first_history, second_history, b.index


def test_two_entries_swapped_consistently_are_reported_as_reordered(logged, audit):
    first_history, second_history, later = swap_two_transitions(logged)
    code, output = audit(logged)
    assert code == 1
    assert f"first problem at entry {later}: history row {second_history} comes after row {first_history}" not in output
    assert f"first problem at entry {later}: history row {first_history} comes after row {second_history} in the log: rows were reordered" in output
    assert "signed tree head of size" in output


def test_entries_swapped_after_the_last_tree_head_are_reported_as_reordered(logged, audit, make_user, make_org, make_commitment):
    # No tree head covers these entries: only the order of history ids tells.
    with logged.app_context():
        signed = db.session.scalar(sa.select(sa.func.max(TreeHead.tree_size)))
    officer = make_user()
    make_commitment(officer, make_org([(officer, "officer")]), steps=[("declare", None, {}), ("add_evidence", None, EVIDENCE)])
    first_history, second_history, later = swap_two_transitions(logged, after=signed)
    code, output = audit(logged)
    assert code == 1
    assert f"first problem at entry {later}: history row {first_history} comes after row {second_history} in the log: rows were reordered" in output
    assert "tree head of size" not in output
    # Workers in spans of 4 see the two entries in two spans; in spans of 16, in one: either must tell.
    with logged.app_context():
        lines = audit_log(parallel_from=0, span=16, processes=2).lines()
    assert lines[1].startswith(f"audit: FAILED, first problem at entry {later}: history row {first_history} comes after row {second_history} in the log")


def execute_unchecked(app, statement):
    """Write what the log's check constraints forbid, as someone holding the database's keys could."""
    with app.app_context(), db.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
            connection.execute(statement)
            connection.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")
        else:
            connection.exec_driver_sql(
                "ALTER TABLE log_entries DROP CONSTRAINT ck_log_entries_transition_source, DROP CONSTRAINT ck_log_entries_attestation_source"
            )
            connection.execute(statement)
            # Back for the next tests (whose tables start empty); NOT VALID leaves this test's altered row alone.
            connection.exec_driver_sql(
                "ALTER TABLE log_entries ADD CONSTRAINT ck_log_entries_transition_source CHECK ((kind = 'transition') = (history_id IS NOT NULL)) NOT VALID, "
                "ADD CONSTRAINT ck_log_entries_attestation_source CHECK ((kind = 'transition') = (attestation_id IS NULL)) NOT VALID"
            )


def test_a_transition_entry_relabelled_as_an_attestation_is_named(logged, audit):
    # The workers join history rows to entries of kind "transition" only: a relabelled entry keeps its history id but
    # must not pass for a transition any more than for an attestation.
    with logged.app_context():
        index = db.session.scalar(sa.select(sa.func.min(LogEntry.index)).where(LogEntry.kind == "transition"))
    execute_unchecked(logged, sa.update(LogEntry).where(LogEntry.index == index).values(kind="attestation"))
    code, output = audit(logged)
    assert code == 1
    assert f"first problem at entry {index}: its kind says attestation but it names no attestation: the entry was altered" in output


def test_a_fractional_version_in_history_is_named(logged, audit):
    # SQLite keeps 1.5 in an integer column; PostgreSQL rounds it to 2. Either way the row no longer matches its entry.
    with logged.app_context():
        row_id = db.session.scalar(sa.select(sa.func.max(InstanceHistory.id)).where(InstanceHistory.trigger == "declare"))
    execute(logged, sa.update(InstanceHistory).where(InstanceHistory.id == row_id).values(definition_version=1.5))
    code, output = audit(logged)
    assert code == 1 and f"history row {row_id} no longer matches what the log recorded" in output


def rebuild_without_types(connection, table: str, columns: str) -> None:
    """Recreate ``table`` (SQLite) with the same rows and columns but no declared types, so no column affinity."""
    key, rest = columns.split(", ", 1)
    for statement in (
        "PRAGMA foreign_keys = OFF",
        "PRAGMA legacy_alter_table = ON",
        f"ALTER TABLE {table} RENAME TO typed_{table}",
        f"CREATE TABLE {table} ({key} INTEGER PRIMARY KEY, {rest})",
        f"INSERT INTO {table} SELECT {columns} FROM typed_{table}",
        f"DROP TABLE typed_{table}",
    ):
        connection.exec_driver_sql(statement)


SQLITE_ONLY = pytest.mark.skipif(bool(os.environ.get("GOVFLOW_TEST_DATABASE_URL")), reason="SQLite's column affinity; PostgreSQL's columns are typed")


@SQLITE_ONLY
def test_a_float_equal_to_the_logged_integer_is_named(logged, monkeypatch):
    """A 1.0 where the log recorded 1 is an alteration, though Python takes 1.0 for 1 (transition_entry_builder's keys)."""
    with logged.app_context():
        starts = db.session.execute(
            sa.select(InstanceHistory.id, LogEntry.index)
            .join(LogEntry, LogEntry.history_id == InstanceHistory.id)
            .where(InstanceHistory.kind == "start")
            .order_by(LogEntry.index)
        ).all()
        size = db.session.scalar(sa.select(sa.func.count()).select_from(LogEntry))
        connection = db.session.connection()
        rebuild_without_types(
            connection,
            "instance_history",
            "id, instance_id, kind, trigger, from_state, to_state, definition_version, actor_id, actor_label, comment, inputs, at",
        )
        # The second instance's start row now says version 1.0; the first one's, in the same span, still says 1.
        (_, first), (altered, second) = starts[0], starts[1]
        connection.exec_driver_sql("UPDATE instance_history SET definition_version = 1.0 WHERE id = ?", (altered,))
        db.session.commit()
        assert db.session.connection().exec_driver_sql("SELECT typeof(definition_version) FROM instance_history WHERE id = ?", (altered,)).scalar() == "real"
        span = 1 << second.bit_length()
        assert first < second < span < size
        parallel = []
        monkeypatch.setattr(audit_module, "_parallel_audit", lambda *args: parallel.append(real_parallel(*args)) or parallel[-1])
        report = audit_log(parallel_from=0, span=span, processes=2)
        # The workers ran and gave up; the sequential scan named the row.
        assert parallel == [None] and report.processes == 1
        first_problem = f"first problem at entry {second}: history row {altered} no longer matches what the log recorded: the row was altered"
        assert report.lines()[1] == f"audit: FAILED, {first_problem}"


@SQLITE_ONLY
def test_a_history_id_kept_as_text_is_left_to_the_sequential_scan(logged, monkeypatch):
    """SQLite would join "5" with row 5; the sequential scan sees no row "5", so the workers must not run on such a table."""
    with logged.app_context():
        index, history_id = db.session.execute(
            sa.select(LogEntry.index, LogEntry.history_id).where(LogEntry.kind == "transition").order_by(LogEntry.index.desc())
        ).first()
        connection = db.session.connection()
        rebuild_without_types(connection, "log_entries", '"index", kind, history_id, attestation_id, leaf_input, leaf_hash, created_at')
        connection.exec_driver_sql('UPDATE log_entries SET history_id = CAST(history_id AS TEXT) WHERE "index" = ?', (index,))
        db.session.commit()
        report = audit_log(parallel_from=0, span=4, processes=2)
        assert report.processes == 1
        assert report.lines()[1] == f"audit: FAILED, first problem at entry {index}: history row {history_id} it records was deleted"
        monkeypatch.setattr(audit_module, "_joinable", lambda: True)
        assert audit_log(parallel_from=0, span=4, processes=2).ok


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
        )
        db.session.add(row)
        db.session.commit()
        row_id = row.id
    code, output = audit(logged)
    assert code == 1 and f"history row {row_id} is not in the log" in output


def test_a_forged_tree_head_signature_is_named(logged, audit):
    with logged.app_context():
        head = db.session.scalars(sa.select(TreeHead)).one()
        forged = head.signature[:-6] + ("AAAAAA" if not head.signature.endswith("AAAAAA") else "BBBBBB")
    execute(logged, sa.update(TreeHead).where(TreeHead.tree_size == head.tree_size).values(signature=forged))
    code, output = audit(logged)
    assert code == 1 and f"the signature of the tree head of size {head.tree_size} does not hold" in output


def test_a_tree_head_that_no_longer_matches_the_log_is_named(logged, audit):
    with logged.app_context():
        head = db.session.scalars(sa.select(TreeHead)).one()
    execute(logged, sa.update(TreeHead).where(TreeHead.tree_size == head.tree_size).values(root_hash=bytes(32)))
    code, output = audit(logged)
    assert code == 1
    assert f"first problem at entry {head.tree_size - 1}: the signed tree head of size {head.tree_size} does not match the log" in output


def test_an_altered_revocation_is_named(logged, audit, client, make_user, make_org, make_commitment):
    officer = make_user()
    org = make_org([(officer, "officer")])
    make_commitment(officer, org, steps=[("declare", None, {}), ("withdraw", None, {"reason": "The product was discontinued."})])
    assert client.get("/log/v1/get-sth").status_code == 200
    with logged.app_context():
        index, attestation_id = db.session.execute(sa.select(LogEntry.index, LogEntry.attestation_id).where(LogEntry.kind == "revocation")).one()
        uid = db.session.get(Attestation, attestation_id).uid
    code, output = audit(logged)
    assert code == 0 and ("checked by 2 processes" in output) == (audit.mode == "workers"), output
    execute(logged, sa.update(Attestation).where(Attestation.id == attestation_id).values(revocation_reason="Never mind."))
    code, output = audit(logged)
    assert code == 1 and f"first problem at entry {index}: the revocation of attestation urn:uuid:{uid} was altered or undone" in output


@pytest.mark.parametrize("span", [1, 2, 4, 8, 16, 1024])
def test_workers_check_tree_heads_inside_spans_and_at_their_ends(logged, client, make_user, make_org, make_commitment, span):
    officer = make_user()
    make_commitment(officer, make_org([(officer, "officer")]), steps=[("declare", None, {})])
    assert client.get("/log/v1/get-sth").status_code == 200
    with logged.app_context():
        sizes = sorted(db.session.scalars(sa.select(TreeHead.tree_size)))
        report = audit_log(parallel_from=0, span=span, processes=2)
    assert len(sizes) == 2 and report.ok, report.lines()
    assert (report.entries, report.tree_heads) == (sizes[-1], 2)
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
