"""The demo replays the 2023 sandbox edition: its calendar, laureates, axes and milestones in varied states, its
automatic exclusion, and credentials that all verify offline against the published key history."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from govflow.attestations.keys import key_history
from govflow.attestations.models import Attestation, SigningKey
from govflow.attestations.verify import verify_offline
from govflow.engine import utcnow
from govflow.extensions import db
from govflow.instances.models import WorkflowInstance
from govflow.sandbox.models import Application, EvaluatorExclusion, Milestone, Programme

ROOT = Path(__file__).resolve().parents[2]


def test_the_2023_edition_is_replayed_with_four_laureates_and_milestones_in_varied_states(app):
    from govflow.demo import LAUREATE_TEAMS, load_demo

    with app.app_context():
        load_demo()
        programme = db.session.scalar(sa.select(Programme).where(Programme.edition == 2023))
        assert (programme.call_opens_on, programme.call_closes_on, programme.cohort_size, programme.support_months) == (
            date(2023, 7, 3),
            date(2023, 9, 29),
            4,
            6,
        )
        assert [a["title"]["en"].split(" ")[0] for a in programme.axes_template] == ["Which", "Anonymisation:", "Guaranteeing", "Which"]
        rows = db.session.execute(
            sa.select(Application.title, Application.selected_at, WorkflowInstance.status)
            .join(WorkflowInstance, WorkflowInstance.id == Application.instance_id)
            .where(Application.programme_id == programme.id)
        ).all()
        laureates = [r for r in rows if r.selected_at is not None]
        assert len(laureates) == 4 and all(r.selected_at.date() == date(2023, 11, 15) for r in laureates)
        assert sorted(r.status for r in rows) == ["completed", "in_support", "in_support", "in_support", "ineligible", "not_selected"]
        states = set(
            db.session.scalars(
                sa.select(WorkflowInstance.status)
                .join(Milestone, Milestone.instance_id == WorkflowInstance.id)
                .join(Application, Application.id == Milestone.application_id)
                .where(Application.programme_id == programme.id)
            )
        )
        assert states == {"planned", "in_progress", "submitted", "rework_requested", "accepted", "cancelled"}
        first_workshop = db.session.scalar(sa.select(sa.func.min(Milestone.starts_on)).join(Application).where(Application.programme_id == programme.id))
        assert first_workshop == date(2024, 1, 10)
        excluded = db.session.scalars(sa.select(EvaluatorExclusion)).all()
        assert [(e.user.name, e.kind) for e in excluded] == [("Fabrice Nalet", "automatic")]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Milestone).where(Milestone.overdue_at.is_not(None))) > 0
        open_call = db.session.scalar(sa.select(Programme).where(Programme.edition == 2026))
        assert open_call.call_opens_on <= utcnow().date() <= open_call.call_closes_on
    readme = (ROOT / "README.md").read_text()
    assert all(email in readme for email, *_rest in LAUREATE_TEAMS)


def test_every_demo_credential_verifies_offline_with_the_published_key_history(app):
    from govflow.demo import load_demo

    with app.app_context():
        load_demo()
        history = key_history()
        credentials = [json.loads(text) for text in db.session.scalars(sa.select(Attestation.credential))]
        assert len(credentials) > 30
        failed = [c["name"] for c in credentials if not verify_offline(c, key_history=history).ok]
        assert failed == []
        oldest = min(c["validFrom"] for c in credentials)
        assert oldest.startswith("2023-11-15")  # the replayed selections, signed by keys dated from the replay's start


def test_on_a_database_with_younger_keys_and_acts_already_logged_the_2023_edition_is_not_replayed(app, make_user, make_org, make_commitment):
    from govflow.demo import load_demo

    officer = make_user()
    make_commitment(officer, make_org([(officer, "officer")]), steps=[("declare", None, {})])
    with app.app_context():
        for key in db.session.scalars(sa.select(SigningKey)):
            key.valid_from = utcnow() - timedelta(days=1)
        db.session.commit()
        load_demo()
        assert db.session.scalar(sa.select(Programme.id).where(Programme.edition == 2023)) is None
        assert db.session.scalar(sa.select(Programme.id).where(Programme.edition == 2026)) is not None, "the open call is not a replay"
        history = key_history()
        sandbox_credentials = [
            json.loads(a.credential)
            for a in db.session.scalars(sa.select(Attestation).join(WorkflowInstance).where(WorkflowInstance.workflow == "application"))
        ]
        assert sandbox_credentials == [] or all(verify_offline(c, key_history=history).ok for c in sandbox_credentials)
