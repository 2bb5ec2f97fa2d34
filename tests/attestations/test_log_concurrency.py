"""Concurrent transitions write their log entries without waiting for each other; the sequencer gives them distinct,
consecutive indexes: none is lost, none is logged twice."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from govflow.accounts.models import User
from govflow.attestations.audit import audit_log
from govflow.attestations.models import Attestation, LogEntry, LogState
from govflow.extensions import db
from govflow.instances.models import WorkflowInstance
from govflow.instances.services import fire_transition


def test_twenty_concurrent_transitions_get_twenty_distinct_consecutive_log_entries(app, make_user, make_org, make_commitment):
    from govflow.attestations.sequencer import integrate_all

    officer = make_user()
    org = make_org([(officer, "officer")])
    commitments = [make_commitment(officer, org) for _ in range(20)]
    with app.app_context():
        before = db.session.get(LogState, 1).size
    barrier = threading.Barrier(len(commitments))
    errors: list[BaseException] = []

    def worker(instance_id):
        with app.app_context():
            try:
                instance = db.session.get(WorkflowInstance, instance_id)
                actor = db.session.get(User, officer.id)
                barrier.wait(timeout=20)
                fire_transition(actor, instance, "declare", {})  # logs the transition and issues an attestation
                db.session.commit()
            except BaseException as exc:  # reported below
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(c.instance_id,)) for c in commitments]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    # SQLite allows one writer at a time and refuses a transaction whose snapshot went stale; PostgreSQL queues them.
    assert sqlite or errors == [], errors
    with app.app_context():
        assert integrate_all() == 0, "each commit's own round integrated its entries"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LogEntry).where(LogEntry.index.is_(None))) == 0
        ids = [c.instance_id for c in commitments]
        done = db.session.scalar(
            sa.select(sa.func.count()).select_from(WorkflowInstance).where(WorkflowInstance.id.in_(ids), WorkflowInstance.status == "declared")
        )
        indexes = list(db.session.scalars(sa.select(LogEntry.index).order_by(LogEntry.index)))
        state = db.session.get(LogState, 1)
        attestations = db.session.scalar(sa.select(sa.func.count()).select_from(Attestation).where(Attestation.instance_id.in_(ids)))
        assert done + len(errors) == 20 and done >= 1, (done, errors)
        assert indexes == list(range(state.size)), "indexes are unique and consecutive"
        assert state.size == before + 2 * done, "a transition entry and an attestation entry per declaration, nothing more"
        assert attestations == done
        slots = db.session.execute(sa.select(Attestation.status_list, Attestation.status_index)).all()  # every attestation, signing included
        assert len(set(slots)) == len(slots)
        report = audit_log()
        assert report.ok, report.lines()
