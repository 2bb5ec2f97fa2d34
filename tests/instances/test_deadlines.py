"""Durable deadlines: govflow tick fires overdue timeouts once, records reminders once, and is safe concurrently."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from govflow.cli import cli
from govflow.extensions import db
from govflow.instances.models import InstanceHistory, InstanceReminder, WorkflowInstance

from ..conftest import login

ROOT = Path(__file__).resolve().parents[2]
EVIDENCE = {"evidence_url": "https://org.example/evidence"}


def verified_commitments(make_user, make_org, make_commitment, n=1):
    officer = make_user()
    reviewer = make_user(roles=("committee_member",))
    org = make_org([(officer, "officer")])
    steps = [("declare", None, {}), ("add_evidence", None, EVIDENCE), ("verify", reviewer, {})]
    return officer, [make_commitment(officer, org, steps=steps) for _ in range(n)]


def due_of(app, instance_id):
    with app.app_context():
        i = db.session.get(WorkflowInstance, instance_id)
        return i.status, i.due_at, i.due_trigger


def timeouts(app, instance_id=None):
    with app.app_context():
        q = sa.select(InstanceHistory).where(InstanceHistory.kind == "timeout")
        if instance_id is not None:
            q = q.where(InstanceHistory.instance_id == instance_id)
        return db.session.scalars(q.order_by(InstanceHistory.id)).all()


def tick(app, now: datetime):
    result = app.test_cli_runner().invoke(cli, ["tick", "--now", now.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def test_tick_fires_an_overdue_timeout_as_the_system_once_and_only_once(app, make_user, make_org, make_commitment):
    _, (c,) = verified_commitments(make_user, make_org, make_commitment)
    status, due, trigger = due_of(app, c.instance_id)
    assert (status, trigger) == ("verified", "renewal_falls_due")
    assert "fired 0 timeout(s)" in tick(app, due - timedelta(minutes=1))
    assert due_of(app, c.instance_id)[0] == "verified"
    assert "fired 1 timeout(s)" in tick(app, due + timedelta(minutes=1))
    status, new_due, trigger = due_of(app, c.instance_id)
    assert (status, trigger) == ("renewal_due", "lapse")
    assert 89 <= (new_due - due).days <= 93
    (row,) = timeouts(app, c.instance_id)
    assert row.at == due
    assert (row.trigger, row.from_state, row.to_state, row.actor_id, row.actor_label) == ("renewal_falls_due", "verified", "renewal_due", None, "system")
    assert "fired 0 timeout(s)" in tick(app, due + timedelta(minutes=2)), "a second run fires nothing more"
    assert len(timeouts(app, c.instance_id)) == 1
    assert "fired 1 timeout(s)" in tick(app, new_due + timedelta(days=1))
    assert due_of(app, c.instance_id) == ("lapsed", None, None)


def test_a_late_tick_catches_up_in_one_run_with_history_dated_at_each_expiry(app, make_user, make_org, make_commitment):
    _, (c,) = verified_commitments(make_user, make_org, make_commitment)
    due = due_of(app, c.instance_id)[1]
    assert "fired 2 timeout(s)" in tick(app, due + timedelta(days=400))
    rows = timeouts(app, c.instance_id)
    assert [r.trigger for r in rows] == ["renewal_falls_due", "lapse"]
    assert rows[0].at == due and 89 <= (rows[1].at - due).days <= 93
    assert "fired 0 timeout(s)" in tick(app, due + timedelta(days=400))


def test_reminders_are_recorded_once_and_shown_in_the_inbox(app, client, make_user, make_org, make_commitment):
    officer, (c,) = verified_commitments(make_user, make_org, make_commitment)
    due = due_of(app, c.instance_id)[1]
    tick(app, due + timedelta(minutes=1))  # now renewal_due, lapses 3 months later, reminder 14 days before
    lapse_at = due_of(app, c.instance_id)[1]
    assert "recorded 0 reminder(s)" in tick(app, lapse_at - timedelta(days=15))
    assert "recorded 1 reminder(s)" in tick(app, lapse_at - timedelta(days=13))
    assert "recorded 0 reminder(s)" in tick(app, lapse_at - timedelta(days=12))
    with app.app_context():
        (reminder,) = db.session.scalars(sa.select(InstanceReminder)).all()
        assert (reminder.instance_id, reminder.state, reminder.offset, reminder.due_at) == (c.instance_id, "renewal_due", "P14D", lapse_at)
    login(client, officer.email)
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'data-testid="reminder"' in page and "Deadline approaching" in page


def test_leaving_a_state_clears_its_deadline(app, make_user, make_org, make_commitment):
    officer, (c,) = verified_commitments(make_user, make_org, make_commitment)
    due = due_of(app, c.instance_id)[1]
    tick(app, due + timedelta(minutes=1))
    from govflow.accounts.models import User
    from govflow.instances.services import fire_transition

    with app.app_context():
        instance = db.session.get(WorkflowInstance, c.instance_id)
        fire_transition(db.session.get(User, officer.id), instance, "withdraw", {"reason": "We stop this product."})
        db.session.commit()
    assert due_of(app, c.instance_id) == ("withdrawn", None, None)


def test_two_tick_processes_started_together_fire_each_overdue_transition_exactly_once(app, make_user, make_org, make_commitment):
    _, commitments = verified_commitments(make_user, make_org, make_commitment, n=60)
    with app.app_context():
        ids = [c.instance_id for c in commitments]
        db.session.execute(
            sa.update(WorkflowInstance).where(WorkflowInstance.id.in_(ids[:50])).values(due_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1))
        )
        db.session.commit()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x"}
    cmd = [sys.executable, "-m", "govflow.cli", "tick", "--batch-size", "7"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    fired = [int(out.split("fired ")[1].split(" ")[0]) for out, _ in outputs]
    assert sum(fired) == 50, outputs
    rows = timeouts(app)
    assert len(rows) == 50 and len({r.instance_id for r in rows}) == 50
    with app.app_context():
        states = dict(db.session.execute(sa.select(WorkflowInstance.id, WorkflowInstance.status).where(WorkflowInstance.id.in_(ids))).all())
    assert sorted(states[i] for i in ids[:50]) == ["renewal_due"] * 50
    assert sorted(states[i] for i in ids[50:]) == ["verified"] * 10
