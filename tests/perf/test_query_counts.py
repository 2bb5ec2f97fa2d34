"""Statements per act and per page, counted at the database driver: one load per act, batched checks per page.

The targets (issue 14): a transition from the web in at most 15 statements, planning a milestone in at most 20, and
the dashboards of a committee member and of a programme manager in at most 25 queries, with many items listed."""

from __future__ import annotations

import contextlib
import os

import sqlalchemy as sa

from govflow.extensions import db

from ..conftest import login
from ..reviews import common as reviews
from ..sandbox import common as sandbox

SHOW = os.environ.get("GOVFLOW_SHOW_QUERIES") in ("1", "2")  # 2: with the govflow frames that ran each statement


@contextlib.contextmanager
def statements(app):
    """The SQL statements the app's engine runs inside the block (transaction control aside)."""
    seen: list[str] = []

    def before(conn, cursor, statement, *args):
        if os.environ.get("GOVFLOW_SHOW_QUERIES") == "2":
            import traceback

            frames = [f"{f.filename.split('/govflow/')[-1]}:{f.lineno}" for f in traceback.extract_stack() if "/govflow/" in f.filename]
            statement = f"{statement}\n        <- {' < '.join(reversed(frames[-6:]))}"
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        if SHOW:
            print(f"\n--- {len(seen)} statements")
            for s in seen:
                head, _, where = s.partition("\n        <- ")
                print("   ", " ".join(head.split())[:160], ("\n        <- " + where) if where else "")


def test_recording_a_favourable_decision_from_the_web_takes_at_most_15_statements(app_factory):
    app = app_factory(GOVFLOW_SEQUENCER="off")  # the sequencer integrates apart from the request, in its own thread
    client = app.test_client()
    referral_id, users, _holder = reviews.build(app, members=4)
    for user_id in users:
        reviews.vote(app, referral_id, user_id, "favourable")
    with app.app_context():
        from govflow.reviews.models import Referral

        referral = db.session.get(Referral, referral_id)
        instance_id, version = referral.instance_id, referral.instance.version
        assert referral.instance.status == "vote_closed"
    login(client, "m1@test.example")  # the secretary
    data = {
        "record_favourable-expected_version": str(version),
        "record_favourable-rationale": "The project answers the committee's questions.",
        "record_favourable-confirm": "y",
    }
    with statements(app) as seen:
        response = client.post(f"/instances/{instance_id}/fire/record_favourable", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Referral, referral_id).instance.status == "favourable"
    assert len(seen) <= 15, len(seen)


def test_planning_a_milestone_from_the_web_takes_at_most_20_statements(app_factory):
    app = app_factory(GOVFLOW_SEQUENCER="off")  # the sequencer integrates apart from the request, in its own thread
    client = app.test_client()
    ids = sandbox.build(app)
    application_id = sandbox.apply(app, ids)
    sandbox.advance(app, ids, application_id, "selected")
    with app.app_context():
        from govflow.sandbox.models import Axis, Milestone

        axis_id = db.session.scalar(sa.select(Axis.id).where(Axis.application_id == application_id).order_by(Axis.position).limit(1))
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Milestone))
    login(client, "manager@test.example")
    data = {
        "axis_id": str(axis_id),
        "kind": "deliverable",
        "title": "Data protection impact assessment",
        "starts_on": "2027-01-04",
        "due_on": "2027-02-15",
        "manager_owner_id": str(ids.manager),
        "team_owner_id": str(ids.team),
    }
    with statements(app) as seen:
        response = client.post(f"/applications/{application_id}/milestones", data=data)
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    with app.app_context():
        planned = db.session.scalars(sa.select(Milestone).where(Milestone.application_id == application_id)).all()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Milestone)) == before + 1
        assert [(m.title, str(m.due_on), m.instance.status) for m in planned] == [("Data protection impact assessment", "2027-02-15", "planned")]
    assert len(seen) <= 20, len(seen)


def _dashboard_statements(app, client, pages=(1, 2)) -> list[int]:
    counts = []
    for page in pages:
        with statements(app) as seen:
            response = client.get(f"/dashboard?page={page}")
        assert response.status_code == 200
        counts.append(len(seen))
    return counts


def test_a_committee_members_dashboard_takes_at_most_25_queries_with_hundreds_of_items_waiting(app, client):
    from ..register.test_register import seed

    referral_id, users, _holder = reviews.build(app, members=4)
    seed(app, 600, 3, "Scale")  # 1,800 commitments, 300 of them evidenced: each waits on an independent committee member
    with app.app_context():
        from govflow.charters.models import Commitment
        from govflow.instances.models import WorkflowInstance

        waiting = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Commitment)
            .join(WorkflowInstance, WorkflowInstance.id == Commitment.instance_id)
            .where(WorkflowInstance.status == "evidenced")
        )
    assert waiting == 300
    login(client, "m2@test.example")  # a member of the committee examining the referral
    body = client.get("/dashboard").get_data(as_text=True)
    assert "300 items wait on a step you can take" in body, "every evidenced commitment waits on the member"
    assert body.count(">c ") >= 10 and "Verify" in body, "the page lists seeded commitments with their steps"
    counts = _dashboard_statements(app, client)
    assert max(counts) <= 25, counts


def test_a_programme_managers_dashboard_takes_at_most_25_queries_with_hundreds_of_items_waiting(app, client, make_user):
    from govflow.engine import utcnow

    from ..sandbox.seed import seed_cohorts

    manager = make_user(roles=("programme_manager",), email="manager@test.example")
    team = make_user(roles=("signatory",), email="team@test.example")
    with app.app_context():
        seed_cohorts(4, 400, 2000, manager.id, team.id, "Scale", utcnow().date())
    login(client, "manager@test.example")
    body = client.get("/dashboard").get_data(as_text=True)
    assert "items wait on a step you can take" in body and 'data-testid="inbox"' in body, "the page lists items with their steps"
    counts = _dashboard_statements(app, client)
    assert max(counts) <= 25, counts
