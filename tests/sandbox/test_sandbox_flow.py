"""Sandbox programmes in the database: the call window, eligibility, shortlisting, auditions, scoring with conflicted
evaluators excluded, ranking, selection within the cohort, roadmaps, milestones and their attestations, overdue flags,
the cohort dashboard, the CSV export and the published synthesis."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from govflow.attestations.models import Attestation
from govflow.attestations.verify import verify_offline
from govflow.engine import GuardFailed, NotPermitted, utcnow
from govflow.extensions import db
from govflow.instances.deadlines import tick
from govflow.instances.models import InstanceHistory, WorkflowInstance
from govflow.instances.services import fire_transition
from govflow.sandbox import cohort, roadmaps, services
from govflow.sandbox.models import Application, Axis, EvaluatorExclusion, Milestone, MilestoneFile, Programme, Question, Score

from ..conftest import login
from .common import PDF, SCORES, advance, apply, build, plan, submit_deliverable, user


def counts(app) -> dict[str, int]:
    """Rows per sandbox table and of history, to check that a refused action changed nothing."""
    with app.app_context():
        models = (Programme, Application, Score, EvaluatorExclusion, Axis, Milestone, MilestoneFile, Question, InstanceHistory, Attestation)
        return {m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in models}


def status_of(app, application_id: int) -> str:
    with app.app_context():
        return db.session.get(Application, application_id).instance.status


@pytest.fixture
def ids(app):
    return build(app)


def test_a_programme_records_its_grid_axes_and_first_manager(app, ids):
    with app.app_context():
        programme = db.session.get(Programme, ids.programme)
        assert [c["weight"] for c in programme.grid] == [3, 2, 1]
        assert [c["key"] for c in programme.grid] == ["public_benefit", "data_protection_stakes", "commitment_to_compliance"]
        assert programme.axes_template[1]["title"]["fr"].startswith("Anonymisation")
        assert services.is_manager(user(ids.manager), programme.id)
        assert {e.user_id for e in services.evaluators(programme)} == {ids.evaluator, ids.conflicted}


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"grid": "Public benefit | Intérêt public"}, "in English and in French, and its weight"),
        ({"grid": [{"en": "Public benefit", "fr": "Intérêt public", "weight": None}]}, "row 1: the weight is a whole number from 1 to 100"),
        ({"grid": "Public benefit | Intérêt public | 0"}, "whole number from 1 to 100"),
        ({"axes": "Only English"}, "write the text in English and in French"),
        ({"axes": [{"en": "", "fr": ""}, {"en": "Data", "fr": ""}]}, "Work axes, row 2: write the text in English and in French"),
        ({"eligibility": [{"en": "", "fr": ""}]}, "Eligibility criteria: write at least one row"),
        ({"theme_fr": ""}, "Theme (French) is required"),
        ({"cohort_size": 0}, "cohort size"),
    ],
)
def test_a_programme_with_bad_fields_is_refused_and_nothing_is_created(app, ids, overrides, message):
    from .common import programme_fields

    before = counts(app)
    with app.app_context(), pytest.raises(services.SandboxError, match=re.escape(message)):
        services.create_programme(user(ids.manager), **programme_fields(**overrides))
    assert counts(app) == before


def test_only_programme_managers_open_programmes(app, ids):
    from .common import programme_fields

    with app.app_context(), pytest.raises(NotPermitted):
        services.create_programme(user(ids.evaluator), **programme_fields())


def test_applications_outside_the_window_are_refused_and_change_nothing(app, ids):
    application_id = apply(app, ids)
    with app.app_context():
        programme = db.session.get(Programme, ids.programme)
        today = utcnow().date()
        programme.call_opens_on, programme.call_closes_on = today - timedelta(days=40), today - timedelta(days=1)
        db.session.commit()
    before = counts(app)
    with app.app_context():
        application = db.session.get(Application, application_id)
        with pytest.raises(GuardFailed, match="The call for applications is closed: applications were accepted from"):
            fire_transition(user(ids.team), application.instance, "submit", {})
        db.session.rollback()
        with pytest.raises(services.SandboxError, match="call for applications is closed"):
            services.create_application(user(ids.team), application.programme, application.organisation, "Late idea", "x" * 50, {}, [])
        db.session.rollback()
    assert counts(app) == before and status_of(app, application_id) == "draft"


def test_the_submit_and_apply_pages_refuse_outside_the_window_with_a_sentence(app, client, ids):
    application_id = apply(app, ids)
    with app.app_context():
        programme = db.session.get(Programme, ids.programme)
        programme.call_opens_on = programme.call_closes_on = utcnow().date() + timedelta(days=5)
        db.session.commit()
        instance_id = db.session.get(Application, application_id).instance_id
    before = counts(app)
    login(client, "team@test.example")
    response = client.post(f"/instances/{instance_id}/fire/submit", data={"submit-expected_version": 1})
    assert response.status_code == 422
    assert "The call for applications opens on" in response.get_data(as_text=True)
    response = client.get(f"/programmes/{ids.programme}/apply")
    assert response.status_code == 422 and "opens on" in response.get_data(as_text=True)
    assert counts(app) == before and status_of(app, application_id) == "draft"


def test_an_incomplete_application_cannot_be_submitted(app, ids):
    application_id = apply(app, ids, complete=False)
    with app.app_context():
        application = db.session.get(Application, application_id)
        with pytest.raises(GuardFailed, match="Complete the application first"):
            fire_transition(user(ids.team), application.instance, "submit", {})
    assert status_of(app, application_id) == "draft"


def test_an_ineligible_application_ends_with_its_reason(app, ids):
    application_id = apply(app, ids)
    advance(app, ids, application_id, "eligibility_check")
    with app.app_context():
        application = db.session.get(Application, application_id)
        fire_transition(user(ids.manager), application.instance, "declare_ineligible", {"reason": "Already in production since 2022."})
        db.session.commit()
        row = db.session.scalars(
            sa.select(InstanceHistory).where(InstanceHistory.instance_id == application.instance_id).order_by(InstanceHistory.id.desc())
        ).first()
        assert (row.to_state, row.inputs["reason"]) == ("ineligible", "Already in production since 2022.")
        assert application.submitted_at is not None


def test_a_conflicted_evaluator_is_excluded_at_shortlisting_and_cannot_score(app, ids):
    application_id = apply(app, ids)
    advance(app, ids, application_id, "shortlisted")
    with app.app_context():
        exclusion = db.session.get(EvaluatorExclusion, (application_id, ids.conflicted))
        assert exclusion is not None and exclusion.kind == "automatic" and "Métropole de Test" in exclusion.reason
    before = counts(app)
    with app.app_context():
        application = db.session.get(Application, application_id)
        with pytest.raises(NotPermitted, match="You are excluded from scoring this application: Declared interest"):
            services.score_application(user(ids.conflicted), application, SCORES, {}, None)
        db.session.rollback()
    assert counts(app) == before


def test_a_conflicted_evaluators_scores_are_refused_over_http_and_nothing_is_stored(app, client, ids):
    application_id = apply(app, ids)
    advance(app, ids, application_id, "shortlisted")
    before = counts(app)
    login(client, "conflicted@test.example")
    data = {"score_public_benefit": "5", "score_data_protection_stakes": "5", "score_commitment_to_compliance": "5"}
    response = client.post(f"/applications/{application_id}/score", data=data)
    assert response.status_code == 403
    assert "You are excluded from scoring this application" in response.get_data(as_text=True)
    assert counts(app) == before
    assert client.get(f"/applications/{application_id}/roadmap").status_code == 403


def test_a_new_declaration_of_interest_excludes_an_evaluator_even_before_it_is_recorded(app, ids):
    from govflow.interests.services import declare_interests

    application_id = apply(app, ids, org="other_org", title="Video analytics")
    advance(app, ids, application_id, "shortlisted", org="other_org")
    with app.app_context():
        declare_interests(user(ids.evaluator), [{"organisation": "autre  porteur", "relation": "funded_by"}])
        db.session.commit()
        application = db.session.get(Application, application_id)
        assert services.scoring_refusal(user(ids.evaluator), application)[0] == 403
        assert not services.can_see_files(user(ids.evaluator), application)


def test_scores_upsert_one_sheet_per_evaluator_and_rank_by_weights(app, ids):
    first = apply(app, ids)
    second = apply(app, ids, org="other_org", title="Event detection in video")
    advance(app, ids, first, "shortlisted")
    advance(app, ids, second, "shortlisted", org="other_org")
    with app.app_context():
        a, b = db.session.get(Application, first), db.session.get(Application, second)
        evaluator = user(ids.evaluator)
        services.score_application(evaluator, a, {"public_benefit": 2, "data_protection_stakes": 2, "commitment_to_compliance": 2}, {}, None)
        services.score_application(
            evaluator, a, {"public_benefit": 4, "data_protection_stakes": 3, "commitment_to_compliance": 5}, {"public_benefit": "Clear."}, "Good"
        )
        services.score_application(evaluator, b, {"public_benefit": 5, "data_protection_stakes": 5, "commitment_to_compliance": 0}, {}, None)
        db.session.commit()
        sheets = db.session.scalars(sa.select(Score).where(Score.application_id == first)).all()
        assert len(sheets) == 1 and sheets[0].scores["public_benefit"] == 4 and sheets[0].comments == {"public_benefit": "Clear."}
        ranked = services.ranking_of(a.programme, [first, second])
        # (4*3 + 3*2 + 5*1) / (6*5) = 23/30 → 76.7 ; (5*3 + 5*2 + 0) / 30 = 25/30 → 83.3
        assert (ranked[second].rank, ranked[second].score) == (1, 83.3)
        assert (ranked[first].rank, ranked[first].score) == (2, 76.7)


def test_an_invalid_sheet_is_refused(app, ids):
    application_id = apply(app, ids)
    advance(app, ids, application_id, "shortlisted")
    before = counts(app)
    with app.app_context():
        application = db.session.get(Application, application_id)
        with pytest.raises(services.SandboxError, match="whole score from 0 to 5"):
            services.score_application(
                user(ids.evaluator), application, {"public_benefit": 6, "data_protection_stakes": 1, "commitment_to_compliance": 1}, {}, None
            )
        db.session.rollback()
    assert counts(app) == before


def test_selection_needs_a_score_and_room_in_the_cohort(app):
    ids = build(app, cohort=1)
    first = apply(app, ids)
    second = apply(app, ids, org="other_org", title="Water use comparison")
    advance(app, ids, first, "audition_scheduled")
    with app.app_context():
        application = db.session.get(Application, first)
        fire_transition(user(ids.manager), application.instance, "hold_audition", {})
        with pytest.raises(GuardFailed, match="must score the application"):
            fire_transition(user(ids.manager), application.instance, "select", {})
        db.session.rollback()
    advance(app, ids, first, "selected")
    advance(app, ids, second, "audition_held", org="other_org")
    with app.app_context():
        application = db.session.get(Application, second)
        with pytest.raises(GuardFailed, match="The cohort is full: the programme takes 1 laureate\\."):
            fire_transition(user(ids.manager), application.instance, "select", {})
        db.session.rollback()
        fire_transition(user(ids.manager), application.instance, "reject", {"reason": "Ranked second of a cohort of one."})
        db.session.commit()
    assert status_of(app, second) == "not_selected"


def test_selection_gives_the_programmes_axes_and_a_verifiable_attestation(app, ids):
    application_id = apply(app, ids)
    advance(app, ids, application_id, "selected")
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.selected_at is not None
        assert [a.key for a in roadmaps.axes(application)] == [a["key"] for a in application.programme.axes_template]
        attestation = db.session.scalar(sa.select(Attestation).where(Attestation.instance_id == application.instance_id))
        credential = json.loads(attestation.credential)
        subject = credential["credentialSubject"]
        assert subject["act"] == "select" and subject["project"] == "Assistant for public agents"
        assert subject["programme"]["edition"] == application.programme.edition and subject["evaluation"]["sheets"] == 1
        assert verify_offline(credential).ok


def test_a_manager_belonging_to_the_applicant_may_not_take_its_steps(app, ids):
    from govflow.organisations.models import Organisation
    from govflow.organisations.services import add_member

    application_id = apply(app, ids)
    advance(app, ids, application_id, "submitted")
    with app.app_context():
        add_member(db.session.get(Organisation, ids.org), user(ids.manager), "contributor")
        db.session.commit()
        application = db.session.get(Application, application_id)
        with pytest.raises(NotPermitted):
            fire_transition(user(ids.manager), application.instance, "check_eligibility", {})
        db.session.rollback()
    assert status_of(app, application_id) == "submitted"


def test_the_roadmap_milestone_lifecycle_and_the_accepted_deliverables_attestation(app, ids):
    from govflow.organisations.uploads import inspect_upload

    application_id = apply(app, ids)
    advance(app, ids, application_id, "in_support")
    with app.app_context():
        milestone = db.session.scalar(sa.select(Milestone).where(Milestone.application_id == application_id))
        team = user(ids.team)
        fire_transition(team, milestone.instance, "start", {})
        db.session.commit()
        with pytest.raises(GuardFailed, match="Attach the deliverable's file"):
            fire_transition(team, milestone.instance, "submit", {})
        db.session.rollback()
        checked = inspect_upload(PDF, "dpia.pdf", 1_000_000)
        roadmaps.attach_milestone_file(team, milestone, PDF, checked)
        fire_transition(team, milestone.instance, "submit", {})
        db.session.commit()
        with pytest.raises(services.SandboxConflict, match="once submitted"):
            roadmaps.attach_milestone_file(team, milestone, PDF, checked)
        db.session.rollback()
        fire_transition(user(ids.manager), milestone.instance, "request_rework", {"comment": "Add the retention periods."})
        fire_transition(team, milestone.instance, "resume", {})
        fire_transition(team, milestone.instance, "submit", {})
        db.session.commit()
        with pytest.raises(NotPermitted):
            fire_transition(team, milestone.instance, "accept", {})
        db.session.rollback()
        fire_transition(user(ids.manager), milestone.instance, "accept", {})
        db.session.commit()
        assert milestone.accepted_at is not None
        attestation = db.session.scalar(sa.select(Attestation).where(Attestation.instance_id == milestone.instance_id))
        credential = json.loads(attestation.credential)
        subject = credential["credentialSubject"]
        assert subject["act"] == "accept" and subject["milestone"]["kind"] == "deliverable"
        assert subject["documents"] == [{"name": "dpia.pdf", "mediaType": "application/pdf", "digestSHA256": checked.sha256}]
        assert subject["axis"]["en"].startswith("Which data")
        assert verify_offline(credential).ok
        application = db.session.get(Application, application_id)
        fire_transition(user(ids.manager), application.instance, "complete", {})
        db.session.commit()
    assert status_of(app, application_id) == "completed"


def test_support_cannot_complete_while_milestones_are_open(app, ids):
    application_id = apply(app, ids)
    advance(app, ids, application_id, "in_support")
    with app.app_context():
        application = db.session.get(Application, application_id)
        with pytest.raises(GuardFailed, match="1 milestone\\(s\\) are still open"):
            fire_transition(user(ids.manager), application.instance, "complete", {})
        db.session.rollback()
        milestone = db.session.scalar(sa.select(Milestone).where(Milestone.application_id == application_id))
        fire_transition(user(ids.manager), milestone.instance, "cancel", {"reason": "Merged into the anonymisation report."})
        fire_transition(user(ids.manager), application.instance, "complete", {})
        db.session.commit()
    assert status_of(app, application_id) == "completed"


def test_milestones_need_valid_dates_axes_and_owners(app, ids):
    application_id = apply(app, ids)
    advance(app, ids, application_id, "selected")
    before = counts(app)
    with app.app_context():
        application = db.session.get(Application, application_id)
        axis = roadmaps.axes(application)[0]
        today = utcnow().date()
        cases = [
            (dict(starts_on=today, due_on=today - timedelta(days=1)), "due on or after the day it starts"),
            (dict(manager_owner_id=ids.outsider), "programme's owner must be one of its managers or evaluators"),
            (dict(team_owner_id=ids.other_team), "member of the laureate's organisation"),
            (dict(kind="party"), "workshop, a deliverable or a meeting"),
        ]
        for change, message in cases:
            values = dict(kind="workshop", title="Kick-off", starts_on=today, due_on=today, manager_owner_id=ids.manager, team_owner_id=ids.team) | change
            with pytest.raises(services.SandboxError, match=message):
                roadmaps.add_milestone(user(ids.manager), application, axis, **values)
            db.session.rollback()
            application = db.session.get(Application, application_id)
            axis = roadmaps.axes(application)[0]
        with pytest.raises(NotPermitted):
            roadmaps.add_milestone(user(ids.team), application, axis, "workshop", "Kick-off", today, today, ids.manager, ids.team)
        db.session.rollback()
    assert counts(app) == before


def test_tick_flags_overdue_milestones_once_and_a_new_due_date_clears_the_flag(app, ids):
    application_id = apply(app, ids)
    advance(app, ids, application_id, "in_support")
    with app.app_context():
        milestone = db.session.scalar(sa.select(Milestone).where(Milestone.application_id == application_id))
        due = milestone.due_on
        milestone_id = milestone.id
    runner = app.test_cli_runner()
    from govflow.cli import cli

    later = (due + timedelta(days=2)).isoformat() + "T08:00:00"
    result = runner.invoke(cli, ["tick", "--now", later])
    assert result.exit_code == 0 and "flagged 1 overdue milestone(s)" in result.output
    result = runner.invoke(cli, ["tick", "--now", later])
    assert "flagged 0 overdue milestone(s)" in result.output
    with app.app_context():
        milestone = db.session.get(Milestone, milestone_id)
        assert milestone.overdue_at.isoformat() == later
        roadmaps.reschedule_milestone(user(ids.manager), milestone, milestone.starts_on, utcnow().date() + timedelta(days=90))
        db.session.commit()
        assert db.session.get(Milestone, milestone_id).overdue_at is None


def test_accepted_and_cancelled_milestones_are_never_flagged(app, ids):
    application_id = apply(app, ids)
    advance(app, ids, application_id, "in_support")
    with app.app_context():
        milestone = db.session.scalar(sa.select(Milestone).where(Milestone.application_id == application_id))
        fire_transition(user(ids.manager), milestone.instance, "cancel", {"reason": "Not needed."})
        db.session.commit()
        report = tick(utcnow() + timedelta(days=400))
        assert report.flagged == 0 and db.session.get(Milestone, milestone.id).overdue_at is None


def test_questions_are_raised_and_answered_once_by_the_parties(app, ids):
    application_id = apply(app, ids)
    advance(app, ids, application_id, "selected")
    with app.app_context():
        application = db.session.get(Application, application_id)
        axis = roadmaps.axes(application)[1]
        question = roadmaps.raise_question(user(ids.team), axis, "May we train on pseudonymised records?")
        roadmaps.answer_question(user(ids.manager), question, "Yes, if re-identification is assessed first.")
        with pytest.raises(services.SandboxConflict, match="already answered"):
            roadmaps.answer_question(user(ids.team), question, "Again")
        with pytest.raises(NotPermitted):
            roadmaps.raise_question(user(ids.evaluator), axis, "Evaluators do not take part")
        db.session.commit()
        assert [q.text for q in roadmaps.questions(application)[axis.id]] == ["May we train on pseudonymised records?"]


def test_the_cohort_dashboard_changes_when_a_deliverable_is_accepted(app, client, ids):
    application_id = apply(app, ids)
    advance(app, ids, application_id, "in_support")
    with app.app_context():
        application = db.session.get(Application, application_id)
        milestone = db.session.scalar(sa.select(Milestone).where(Milestone.application_id == application_id))
        late = plan(application, ids, kind="meeting", title="Steering meeting", due=utcnow().date() - timedelta(days=1))
        db.session.commit()
        milestone_instance, late_id = milestone.instance_id, late.id
    login(client, "manager@test.example")
    page = client.get(f"/programmes/{ids.programme}/dashboard").get_data(as_text=True)
    assert 'data-accepted="0" data-total="2"' in page
    assert 'data-overdue="1"' in page and "Steering meeting" in page
    with app.app_context():
        milestone = db.session.scalar(sa.select(Milestone).where(Milestone.instance_id == milestone_instance))
        submit_deliverable(ids, milestone)
        fire_transition(user(ids.manager), milestone.instance, "accept", {})
        db.session.commit()
    page = client.get(f"/programmes/{ids.programme}/dashboard").get_data(as_text=True)
    assert 'data-accepted="1" data-total="2"' in page
    assert '<td data-state="accepted">1</td>' in page
    csv_text = client.get(f"/programmes/{ids.programme}/milestones.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert list(rows[0]) == cohort.MILESTONE_COLUMNS
    by_id = {int(r["milestone_id"]): r for r in rows}
    assert by_id[late_id]["overdue"] == "yes" and by_id[late_id]["status"] == "planned"
    assert sorted(r["status"] for r in rows) == ["accepted", "planned"]


def test_the_synthesis_is_published_once_moving_completed_laureates_and_showing_on_the_register(app, client, ids):
    application_id = apply(app, ids)
    advance(app, ids, application_id, "in_support")
    with app.app_context():
        application = db.session.get(Application, application_id)
        milestone = db.session.scalar(sa.select(Milestone).where(Milestone.application_id == application_id))
        submit_deliverable(ids, milestone)
        db.session.commit()
        with pytest.raises(services.SandboxConflict, match="every laureate's support is completed"):
            services.publish_synthesis(user(ids.manager), application.programme, "x" * 50, "y" * 50, [])
        db.session.rollback()
        fire_transition(user(ids.manager), milestone.instance, "accept", {})
        fire_transition(user(ids.manager), application.instance, "complete", {})
        db.session.commit()
        milestone_id, milestone_instance = milestone.id, milestone.instance_id
        attestation_uid = db.session.scalar(sa.select(Attestation.uid).where(Attestation.instance_id == milestone_instance))
    assert client.get(f"/attestations/{attestation_uid}.json").status_code == 403, "private until the synthesis includes it"
    login(client, "manager@test.example")
    text = "What we learnt: anonymise before training, and tell people plainly what the model does."
    response = client.post(f"/programmes/{ids.programme}/synthesis", data={"text_en": text, "text_fr": text + " (fr)", "milestones": [str(milestone_id)]})
    assert response.status_code == 302 and response.headers["Location"] == f"/programmes/{ids.programme}"
    assert status_of(app, application_id) == "synthesis_published"
    with app.app_context():
        programme = db.session.get(Programme, ids.programme)
        assert programme.synthesis["en"] == text and programme.synthesis_milestones == [milestone_id]
        with pytest.raises(services.SandboxConflict, match="already published"):
            services.publish_synthesis(user(ids.manager), programme, text, text, [])
    client.post("/logout")
    page = client.get(f"/programmes/{ids.programme}").get_data(as_text=True)
    assert text in page and "Data protection impact assessment" in page
    assert "What we learnt" not in client.get("/register").get_data(as_text=True)
    assert f"/programmes/{ids.programme}" in client.get("/register").get_data(as_text=True)
    assert client.get(f"/attestations/{attestation_uid}.json").status_code == 200, "public once in the published synthesis"


def test_withdrawing_after_selection_revokes_the_selection_attestation(app, ids):
    application_id = apply(app, ids)
    advance(app, ids, application_id, "selected")
    with app.app_context():
        application = db.session.get(Application, application_id)
        fire_transition(user(ids.team), application.instance, "withdraw", {"reason": "The project was stopped by our board."})
        db.session.commit()
        attestation = db.session.scalar(sa.select(Attestation).where(Attestation.instance_id == application.instance_id))
        assert attestation.revoked_at is not None and attestation.revocation_reason == "The project was stopped by our board."
        assert db.session.get(WorkflowInstance, application.instance_id).status == "withdrawn"


def test_two_managers_selecting_at_once_never_exceed_the_cohort(app):
    import threading

    from govflow.accounts.services import create_user
    from govflow.sandbox.models import ProgrammeManager

    ids = build(app, cohort=1)
    first = apply(app, ids)
    second = apply(app, ids, org="other_org", title="Water use comparison")
    advance(app, ids, first, "audition_held")
    advance(app, ids, second, "audition_held", org="other_org")
    with app.app_context():
        colleague = create_user("colleague@test.example", "Second Manager", "govflow-demo", ["programme_manager"])
        db.session.add(ProgrammeManager(programme_id=ids.programme, user_id=colleague.id, added_at=utcnow()))
        db.session.commit()
        colleague_id = colleague.id
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def select(application_id, manager_id):
        with app.app_context():
            try:
                application = db.session.get(Application, application_id)
                actor = user(manager_id)
                barrier.wait(timeout=10)
                fire_transition(actor, application.instance, "select", {})
                db.session.commit()
                outcomes[application_id] = "selected"
            except GuardFailed:
                db.session.rollback()
                outcomes[application_id] = "cohort full"
            except sa.exc.OperationalError:  # SQLite: the later writer is refused while the first one holds the database
                db.session.rollback()
                outcomes[application_id] = "busy"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=select, args=(first, ids.manager)), threading.Thread(target=select, args=(second, colleague_id))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()) == ["cohort full", "selected"], outcomes
    with app.app_context():
        assert services.laureate_count(ids.programme) == 1


def test_a_sheet_stops_counting_as_soon_as_its_evaluator_declares_an_interest(app, ids):
    from govflow.interests.services import declare_interests

    application_id = apply(app, ids)
    advance(app, ids, application_id, "audition_held")
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert len(services.counted_sheets([application_id])[application_id]) == 1
        declare_interests(user(ids.evaluator), [{"organisation": "Métropole de Test", "relation": "works_for"}])
        db.session.commit()
        assert services.counted_sheets([application_id])[application_id] == []
        assert services.ranking_of(application.programme, [application_id])[application_id].rank is None
        with pytest.raises(GuardFailed, match="must score the application"):
            fire_transition(user(ids.manager), application.instance, "select", {})
        db.session.rollback()
    assert status_of(app, application_id) == "audition_held"


def test_an_excluded_evaluator_cannot_own_a_milestone(app, ids):
    application_id = apply(app, ids)
    advance(app, ids, application_id, "selected")
    with app.app_context():
        application = db.session.get(Application, application_id)
        owners = {u.id for u in roadmaps.programme_owners(application)}
        assert ids.manager in owners and ids.evaluator in owners and ids.conflicted not in owners
        today = utcnow().date()
        with pytest.raises(services.SandboxError, match="may see this laureate's roadmap"):
            roadmaps.add_milestone(user(ids.manager), application, roadmaps.axes(application)[0], "meeting", "Review", today, today, ids.conflicted, ids.team)


def test_withdrawal_cancels_open_milestones_and_nothing_moves_afterwards(app, ids):
    from govflow.organisations.uploads import inspect_upload

    application_id = apply(app, ids)
    advance(app, ids, application_id, "in_support")
    with app.app_context():
        application = db.session.get(Application, application_id)
        milestone = db.session.scalar(sa.select(Milestone).where(Milestone.application_id == application_id))
        team = user(ids.team)
        submit_deliverable(ids, milestone)
        fire_transition(team, application.instance, "withdraw", {"reason": "Our board stopped the project."})
        db.session.commit()
        assert milestone.instance.status == "cancelled"
        last = db.session.scalars(
            sa.select(InstanceHistory).where(InstanceHistory.instance_id == milestone.instance_id).order_by(InstanceHistory.id.desc())
        ).first()
        assert (last.trigger, last.actor_id, last.inputs["reason"]) == (
            "cancel",
            None,
            "The laureate withdrew from the programme: Our board stopped the project.",
        )
        assert not db.session.scalar(sa.select(Attestation).where(Attestation.instance_id == milestone.instance_id))
        with pytest.raises(services.SandboxConflict):
            roadmaps.attach_milestone_file(team, milestone, PDF, inspect_upload(PDF, "more.pdf", 10_000))
        db.session.rollback()


def test_a_programmes_cohort_theme_and_edition_hold_once_laureates_are_selected(app, ids):
    from .common import programme_fields

    application_id = apply(app, ids)
    advance(app, ids, application_id, "selected")
    second = apply(app, ids, org="other_org", title="Water use comparison")
    advance(app, ids, second, "selected", org="other_org")
    before = counts(app)
    with app.app_context():
        programme = db.session.get(Programme, ids.programme)
        manager = user(ids.manager)
        keep = {"call_opens_on": programme.call_opens_on, "call_closes_on": programme.call_closes_on, "edition": programme.edition}
        with pytest.raises(services.SandboxConflict, match="smaller than the 2 laureates"):
            services.update_programme(manager, programme, **programme_fields(**keep) | {"cohort_size": 1})
        db.session.rollback()
        with pytest.raises(services.SandboxConflict, match="theme and edition"):
            services.update_programme(manager, programme, **programme_fields(**keep) | {"theme_en": "Another theme"})
        db.session.rollback()
        with pytest.raises(services.SandboxConflict, match="steps aside while the application is being scored"):
            services.exclude_self(user(ids.evaluator), db.session.get(Application, application_id), "Late doubts.")
        db.session.rollback()
        services.update_programme(manager, db.session.get(Programme, ids.programme), **programme_fields(**keep) | {"description_en": "A clearer description."})
        db.session.commit()
        assert db.session.get(Programme, ids.programme).description["en"] == "A clearer description."
    assert counts(app) == before


def test_an_evaluator_belonging_to_an_applicant_sees_its_application_without_scores(app, client, ids):
    from govflow.organisations.models import Organisation
    from govflow.organisations.services import add_member

    application_id = apply(app, ids)
    advance(app, ids, application_id, "audition_held")
    with app.app_context():
        add_member(db.session.get(Organisation, ids.org), user(ids.evaluator), "contributor")
        db.session.commit()
    login(client, "evaluator@test.example")
    page = client.get(f"/programmes/{ids.programme}/applications").get_data(as_text=True)
    assert f'data-application="{application_id}" data-rank=""' in page and "hidden from you" in page


def test_an_evaluator_steps_aside_over_http_and_is_then_refused_the_application(app, client, ids):
    application_id = apply(app, ids)
    advance(app, ids, application_id, "shortlisted")
    login(client, "evaluator@test.example")
    assert client.get(f"/applications/{application_id}/score").status_code == 200
    response = client.post(f"/applications/{application_id}/step-aside", data={"reason": "I advised them last year."})
    assert response.status_code == 303
    with app.app_context():
        row = db.session.get(EvaluatorExclusion, (application_id, ids.evaluator))
        assert (row.kind, row.reason) == ("self", "I advised them last year.")
    assert client.get(f"/applications/{application_id}/score").status_code == 403
    assert client.get(f"/applications/{application_id}/roadmap").status_code == 403
    again = client.post(f"/applications/{application_id}/step-aside", data={"reason": "Twice."})
    assert again.status_code == 409 and "already excluded" in again.get_data(as_text=True)
