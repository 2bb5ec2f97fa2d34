"""The ``can`` values the panels and pages read, per person and state: the rules the templates used to state inline
(``status == 'draft' and is_org_member(...)``, ``role in ('secretary', 'chair') and status in (...)``…), now computed
once in Python. Each expectation below is one of those rules read on a case."""

from __future__ import annotations

from datetime import timedelta

from govflow.accounts.models import User
from govflow.engine import utcnow
from govflow.extensions import db

from ..conftest import login
from ..reviews import common as reviews
from ..sandbox import common as sandbox

NONE_REFERRAL = dict.fromkeys(
    ("read_dossier", "edit_dossier", "see_recusals", "examine", "see_votes", "assign_rapporteur", "recuse_self", "vote", "follow_conditions", "dissent"), False
)


def _referral_can(referral, user_id) -> dict:
    from dataclasses import asdict

    from govflow.reviews.policies import referral_permissions

    return asdict(referral_permissions(db.session.get(User, user_id), referral))


def test_the_referral_panel_offers_each_form_to_the_people_and_in_the_states_its_rules_name(app):
    from govflow.reviews import services
    from govflow.reviews.models import Referral

    referral_id, (chair, secretary, member, other), holder = reviews.build(app, members=4)
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        assert referral.instance.status == "vote_open"
        everyone = dict(NONE_REFERRAL, read_dossier=True, see_recusals=True, examine=True, see_votes=True, recuse_self=True, vote=True)
        assert _referral_can(referral, chair) == dict(everyone, follow_conditions=True)
        assert _referral_can(referral, secretary) == dict(everyone, follow_conditions=True)
        assert _referral_can(referral, member) == everyone
        assert _referral_can(referral, holder) == dict(NONE_REFERRAL, read_dossier=True)

        services.recuse(db.session.get(User, other), referral, other, "I advised the holder last year.")
        db.session.flush()
        # A recused member sees that recusals exist, nothing of the examination; everyone now sees the recusals.
        assert _referral_can(referral, other) == dict(NONE_REFERRAL, see_recusals=True)
        assert _referral_can(referral, holder) == dict(NONE_REFERRAL, read_dossier=True, see_recusals=True)

        for status, assign in (("under_examination", True), ("rapporteurs_assigned", True), ("deliberation", False)):
            referral.instance.status = status
            assert _referral_can(referral, secretary)["assign_rapporteur"] is assign, status
            assert _referral_can(referral, member)["assign_rapporteur"] is False, status
            assert _referral_can(referral, chair)["vote"] is False, status
        for status, edit in (("changes_requested", True), ("favourable", False)):
            referral.instance.status = status
            assert _referral_can(referral, holder)["edit_dossier"] is edit, status
            assert _referral_can(referral, secretary)["edit_dossier"] is False, status
        for status, recuse in (("favourable", True), ("closed", False), ("withdrawn", False), ("inadmissible", False)):
            referral.instance.status = status
            assert _referral_can(referral, member)["recuse_self"] is recuse, status
        db.session.rollback()


def test_the_referral_page_shows_the_vote_and_the_recusal_form_to_a_member_and_neither_to_the_holder(app, client):
    referral_id, _users, _holder = reviews.build(app, members=4)
    with app.app_context():
        from govflow.reviews.models import Referral

        instance_id = db.session.get(Referral, referral_id).instance_id
    login(client, "m2@test.example")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'data-testid="go-vote"' in page and "recusal-reason" in page and 'data-testid="rapporteurs"' in page
    assert "You voted" not in page
    reviews.vote(app, referral_id, _users[2], "favourable")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "You voted" in page
    client.post("/logout")
    login(client, "holder@test.example")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'data-testid="go-vote"' not in page and "recusal-reason" not in page and 'data-testid="rapporteurs"' not in page
    assert 'data-testid="edit-dossier"' not in page, "the dossier is changed in draft or when changes are requested only"


def _application_can(application, user_id) -> dict:
    from dataclasses import asdict

    from govflow.sandbox.services import application_permissions

    return asdict(application_permissions(db.session.get(User, user_id), application))


def test_the_application_panel_offers_each_link_and_form_to_the_people_and_in_the_states_its_rules_name(app):
    from govflow.sandbox.models import Application

    ids = sandbox.build(app)
    application_id = sandbox.apply(app, ids)
    nothing = dict.fromkeys(("see_application", "edit_application", "schedule_audition", "see_evaluation", "score", "open_roadmap"), False)
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert _application_can(application, ids.team) == dict(nothing, see_application=True, edit_application=True)
        for someone in (ids.manager, ids.evaluator, ids.conflicted, ids.outsider, ids.admin):
            assert _application_can(application, someone) == nothing, someone
    sandbox.advance(app, ids, application_id, "shortlisted")
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert _application_can(application, ids.team) == dict(nothing, see_application=True)
        assert _application_can(application, ids.manager) == dict(nothing, see_application=True, schedule_audition=True, see_evaluation=True)
        assert _application_can(application, ids.evaluator) == dict(nothing, see_application=True, see_evaluation=True, score=True)
        for someone in (ids.conflicted, ids.outsider, ids.admin):  # the conflicted evaluator is excluded by their declaration
            assert _application_can(application, someone) == nothing, someone
    sandbox.advance(app, ids, application_id, "selected")
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert _application_can(application, ids.team) == dict(nothing, see_application=True, open_roadmap=True)
        assert _application_can(application, ids.manager) == dict(nothing, see_application=True, see_evaluation=True, open_roadmap=True)
        assert _application_can(application, ids.evaluator) == dict(nothing, see_application=True, see_evaluation=True, open_roadmap=True)


def test_milestones_and_the_roadmap_offer_files_dates_planning_and_questions_to_the_people_their_rules_name(app, client):
    from dataclasses import asdict

    from govflow.sandbox import services
    from govflow.sandbox.models import Application

    ids = sandbox.build(app)
    application_id = sandbox.apply(app, ids)
    sandbox.advance(app, ids, application_id, "selected")
    with app.app_context():
        application = db.session.get(Application, application_id)
        late = sandbox.plan(application, ids, due=utcnow().date() - timedelta(days=1), title="Kick-off workshop")
        db.session.commit()
        milestone_id, instance_id = late.id, late.instance_id
    with app.app_context():
        from govflow.sandbox.models import Milestone

        milestone = db.session.get(Milestone, milestone_id)
        application = milestone.application

        def can(user_id):
            return asdict(services.milestone_permissions(db.session.get(User, user_id), milestone))

        def roadmap(user_id):
            return asdict(services.roadmap_permissions(db.session.get(User, user_id), application))

        assert can(ids.team) == {"see_roadmap": True, "upload_milestone_file": True, "reschedule_milestone": False}
        assert can(ids.manager) == {"see_roadmap": True, "upload_milestone_file": True, "reschedule_milestone": True}
        assert can(ids.evaluator) == {"see_roadmap": True, "upload_milestone_file": False, "reschedule_milestone": False}
        for someone in (ids.conflicted, ids.outsider, ids.admin):
            assert can(someone) == {"see_roadmap": False, "upload_milestone_file": False, "reschedule_milestone": False}
        assert roadmap(ids.manager) == {"plan_milestone": True, "discuss_roadmap": True}
        assert roadmap(ids.team) == {"plan_milestone": False, "discuss_roadmap": True}
        assert roadmap(ids.evaluator) == {"plan_milestone": False, "discuss_roadmap": False}
        assert services.overdue_ids([milestone], utcnow().date()) == {milestone_id}
        assert not services.is_flagged_overdue(milestone), "flagged by govflow tick only"
        milestone.instance.status = "submitted"  # submitted: still open (dates), files stay as submitted
        assert can(ids.team)["upload_milestone_file"] is False and can(ids.manager)["reschedule_milestone"] is True
        milestone.instance.status = "accepted"
        assert can(ids.manager) == {"see_roadmap": True, "upload_milestone_file": False, "reschedule_milestone": False}
        assert services.overdue_ids([milestone], utcnow().date()) == set()
        db.session.rollback()
    login(client, "team@test.example")
    page = client.get(f"/applications/{application_id}/roadmap").get_data(as_text=True)
    assert f'data-milestone="{milestone_id}"' in page and 'data-testid="overdue"' in page
    assert 'data-testid="milestone-form"' not in page and "Raise a question on this axis" in page
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'data-testid="milestone-file"' in page and "Move the dates" not in page
