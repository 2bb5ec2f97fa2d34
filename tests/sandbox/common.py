"""Builders shared by the sandbox tests: a programme with an open call, people on both sides, applications moved on."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

from govflow.accounts.models import User
from govflow.engine import utcnow
from govflow.extensions import db
from govflow.instances.services import fire_transition
from govflow.sandbox import roadmaps, services
from govflow.sandbox.models import Application, Axis, Milestone, Programme

from .. import samples

PASSWORD = "govflow-demo"
GRID = (
    "Public benefit | Intérêt public | 3\n"
    "Data-protection stakes | Enjeux de protection des données | 2\n"
    "Commitment to compliance | Engagement de conformité | 1"
)
AXES = (
    "Which data, and is collecting them lawful? | Quelles données, et leur collecte est-elle licite ?\n"
    "Anonymisation: when and how, for which use | Anonymisation : quand et comment, pour quel usage\n"
    "Guaranteeing people's rights | Garantir les droits des personnes\n"
    "Impact assessments | Analyses d'impact"
)
ELIGIBILITY = (
    "The project is not in production yet | Le projet n'est pas encore en production\nThe applicant is based in the EU | Le porteur est établi dans l'UE"
)
SUMMARY = "A conversational helper that drafts answers for public agents from the administration's own documentation."


def programme_fields(**overrides) -> dict:
    """Valid fields of a programme whose call is open today."""
    today = utcnow().date()
    fields = {
        "theme_en": "AI for the benefit of public services",
        "theme_fr": "L'IA au service des services publics",
        "description_en": "A year of close support for projects that use AI to serve the public.",
        "description_fr": "Une année d'accompagnement renforcé pour des projets d'IA au service du public.",
        "edition": today.year,
        "call_opens_on": today - timedelta(days=10),
        "call_closes_on": today + timedelta(days=20),
        "eligibility": ELIGIBILITY,
        "grid": GRID,
        "cohort_size": 2,
        "support_months": 6,
        "axes": AXES,
    }
    fields.update(overrides)
    return fields


def build(app, cohort: int = 2, interest: str | None = None, **overrides) -> SimpleNamespace:
    """A manager, two evaluators (one may declare ``interest`` in an organisation), two applicant organisations with a
    member each, an outsider, and a programme whose call is open; returns their ids."""
    from govflow.accounts.services import create_user
    from govflow.interests.services import declare_interests
    from govflow.organisations.services import add_member, create_organisation

    with app.app_context():
        manager = create_user("manager@test.example", "Hugo Manager", PASSWORD, ["programme_manager"])
        evaluator = create_user("evaluator@test.example", "Eva Evaluator", PASSWORD, ["committee_member"])
        conflicted = create_user("conflicted@test.example", "Carl Conflicted", PASSWORD, ["committee_member"])
        team = create_user("team@test.example", "Tina Team", PASSWORD, ["signatory"])
        other_team = create_user("other@test.example", "Oscar Other", PASSWORD, ["signatory"])
        outsider = create_user("outsider@test.example", "Olga Outsider", PASSWORD, ["signatory"])
        admin = create_user("admin@test.example", "Ada Admin", PASSWORD, ["admin"])
        org = create_organisation("Métropole de Test", "public_body")
        add_member(org, team, "officer")
        other_org = create_organisation("Autre Porteur", "company")
        add_member(other_org, other_team, "officer")
        declare_interests(conflicted, [{"organisation": interest or "Métropole de Test", "relation": "advises"}])
        programme = services.create_programme(manager, **programme_fields(cohort_size=cohort, **overrides))
        services.assign_evaluator(manager, programme, evaluator)
        services.assign_evaluator(manager, programme, conflicted)
        db.session.commit()
        return SimpleNamespace(
            programme=programme.id,
            manager=manager.id,
            evaluator=evaluator.id,
            conflicted=conflicted.id,
            team=team.id,
            other_team=other_team.id,
            outsider=outsider.id,
            admin=admin.id,
            org=org.id,
            other_org=other_org.id,
        )


def user(user_id: int) -> User:
    """A user of the current session."""
    return db.session.get(User, user_id)


def apply(app, ids, org: str = "org", title: str = "Assistant for public agents", complete: bool = True) -> int:
    """A draft application by the organisation's member; complete unless asked otherwise; returns its id."""
    from govflow.organisations.models import Organisation

    with app.app_context():
        programme = db.session.get(Programme, ids.programme)
        member = user(ids.team if org == "org" else ids.other_team)
        organisation = db.session.get(Organisation, getattr(ids, org))
        eligibility = {c["key"]: True for c in programme.eligibility} if complete else {}
        application = services.create_application(member, programme, organisation, title, SUMMARY if complete else "", eligibility, [])
        db.session.commit()
        return application.id


SCORES = {"public_benefit": 5, "data_protection_stakes": 4, "commitment_to_compliance": 3}


def advance(app, ids, application_id: int, until: str, org: str = "org", scores: dict | None = None) -> None:
    """Move an application through the workflow up to ``until`` (submitted, shortlisted, audition_held, selected,
    in_support), as the people who may take each step."""
    order = ["submitted", "eligibility_check", "shortlisted", "audition_scheduled", "audition_held", "selected", "in_support"]
    with app.app_context():
        application = db.session.get(Application, application_id)
        manager = user(ids.manager)
        member = user(ids.team if org == "org" else ids.other_team)
        steps = {
            "submitted": lambda: fire_transition(member, application.instance, "submit", {}),
            "eligibility_check": lambda: fire_transition(manager, application.instance, "check_eligibility", {}),
            "shortlisted": lambda: fire_transition(manager, application.instance, "shortlist", {}),
            "audition_scheduled": lambda: (
                services.schedule_audition(manager, application, utcnow().replace(microsecond=0) + timedelta(days=3), "Room 2"),
                fire_transition(manager, application.instance, "schedule_audition", {}),
            ),
            "audition_held": lambda: (
                services.score_application(user(ids.evaluator), application, scores or SCORES, {}, "Solid project."),
                fire_transition(manager, application.instance, "hold_audition", {}),
            ),
            "selected": lambda: fire_transition(manager, application.instance, "select", {}),
            "in_support": lambda: (plan(application, ids), fire_transition(manager, application.instance, "start_support", {})),
        }
        for state in order[order.index(application.instance.status) + 1 if application.instance.status in order else 0 : order.index(until) + 1]:
            steps[state]()
        db.session.commit()


def plan(application: Application, ids, kind: str = "deliverable", due: date | None = None, title: str = "Data protection impact assessment") -> Milestone:
    """A milestone under the application's first axis (inside an app context)."""
    axis = db.session.scalar(db.select(Axis).where(Axis.application_id == application.id).order_by(Axis.position).limit(1))
    today = utcnow().date()
    team_owner = ids.team if application.organisation_id == ids.org else ids.other_team
    return roadmaps.add_milestone(
        user(ids.manager), application, axis, kind, title, today - timedelta(days=5), due or today + timedelta(days=40), ids.manager, team_owner
    )


PDF = samples.PDF


def submit_deliverable(ids, milestone: Milestone, name: str = "dpia.pdf") -> None:
    """The laureate's team starts the milestone, attaches a PDF and submits it (inside an app context, not committed)."""
    from govflow.organisations.uploads import inspect_upload

    team = user(ids.team)
    fire_transition(team, milestone.instance, "start", {})
    roadmaps.attach_milestone_file(team, milestone, PDF, inspect_upload(PDF, name, 10_000))
    fire_transition(team, milestone.instance, "submit", {})
