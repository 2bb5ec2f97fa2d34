"""Two sessions firing from the same version: exactly one wins, the other gets a conflict and writes nothing."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from govflow.accounts.models import User
from govflow.engine import StaleInstance
from govflow.extensions import db
from govflow.instances.models import InstanceHistory, WorkflowInstance
from govflow.instances.services import fire_transition

from ..conftest import instance_state


def _race(app, instance_id, attempts):
    """Run each (user id, trigger, inputs) in its own thread and session, all loading the same version first."""
    barrier = threading.Barrier(len(attempts))
    results: list[object] = [None] * len(attempts)

    def worker(n, user_id, trigger, inputs):
        with app.app_context():
            try:
                instance = db.session.get(WorkflowInstance, instance_id)
                actor = db.session.get(User, user_id)
                seen = instance.version
                barrier.wait(timeout=10)
                fire_transition(actor, instance, trigger, inputs, expected_version=seen)
                db.session.commit()
                results[n] = "won"
            except StaleInstance:
                db.session.rollback()
                results[n] = "stale"
            except Exception as exc:  # reported by the assertion below
                db.session.rollback()
                results[n] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(n, *a)) for n, a in enumerate(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


@pytest.mark.parametrize("second", [("withdraw", {"reason": "Stop."}), ("declare", {})], ids=["different", "same"])
def test_two_sessions_fire_from_the_same_version_and_exactly_one_wins(app, make_user, make_org, make_commitment, second):
    officer = make_user()
    colleague = make_user()
    org = make_org([(officer, "officer"), (colleague, "contributor")])
    commitment = make_commitment(officer, org)
    results = _race(app, commitment.instance_id, [(officer.id, "declare", {}), (colleague.id, *second)])
    assert sorted(map(str, results)) == ["stale", "won"], results
    status, version, rows = instance_state(app, commitment.instance_id)
    assert version == 2 and rows == 2
    with app.app_context():
        last = db.session.scalars(
            sa.select(InstanceHistory).where(InstanceHistory.instance_id == commitment.instance_id).order_by(InstanceHistory.id.desc())
        ).first()
        assert last.to_state == status
