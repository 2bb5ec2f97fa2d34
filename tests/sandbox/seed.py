"""Bulk seeding of sandbox programmes for scale tests and the benchmark: programmes, applications in varied states,
laureates with four axes and their milestones, evaluators' sheets (plain inserts, as the services would leave them)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from govflow.extensions import db
from govflow.instances.models import WorkflowInstance
from govflow.organisations.models import Membership, Organisation
from govflow.sandbox.models import Application, Axis, Milestone, Programme, ProgrammeEvaluator, ProgrammeManager, Score

APPLICATION_STATES = ["submitted", "ineligible", "shortlisted", "audition_held", "not_selected", "withdrawn"]
MILESTONE_STATES = ["planned", "in_progress", "submitted", "rework_requested", "accepted", "accepted", "cancelled"]
GRID = [
    {"key": "benefit", "title": {"en": "Public benefit", "fr": "Intérêt public"}, "weight": 2},
    {"key": "stakes", "title": {"en": "Data-protection stakes", "fr": "Enjeux"}, "weight": 2},
    {"key": "compliance", "title": {"en": "Commitment to compliance", "fr": "Conformité"}, "weight": 1},
]
AXES = [{"key": f"axis_{n}", "title": {"en": f"Axis {n}", "fr": f"Axe {n}"}} for n in range(1, 5)]


def _next_id(model) -> int:
    return (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1


def _insert(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), 5000):
        db.session.execute(sa.insert(model), rows[start : start + 5000])


def seed_cohorts(programmes: int, applications: int, milestones: int, manager_id: int, team_id: int, prefix: str, today: date) -> list[int]:
    """Insert ``programmes`` programmes managed and evaluated by ``manager_id``, ``applications`` applications spread
    over them (a quarter laureates in support) and ``milestones`` milestones spread over the laureates' four axes;
    ``team_id`` belongs to every applying organisation. Returns the programme ids."""
    now = datetime.combine(today, datetime.min.time())
    ids = {m: _next_id(m) for m in (Programme, Organisation, WorkflowInstance, Application, Axis, Milestone)}
    rows: dict = {
        m: [] for m in (Programme, ProgrammeManager, ProgrammeEvaluator, Organisation, Membership, WorkflowInstance, Application, Axis, Milestone, Score)
    }
    programme_ids = list(range(ids[Programme], ids[Programme] + programmes))
    for p in programme_ids:
        rows[Programme].append(
            {
                "id": p,
                "theme": {"en": f"{prefix} programme {p}", "fr": f"{prefix} programme {p}"},
                "edition": 2020 + p % 7,
                "description": {"en": "Seeded.", "fr": "Semé."},
                "call_opens_on": today - timedelta(days=200),
                "call_closes_on": today - timedelta(days=150),
                "eligibility": [{"key": "not_in_production", "title": {"en": "Not in production", "fr": "Pas en production"}}],
                "grid": GRID,
                "cohort_size": 100,
                "support_months": 6,
                "axes_template": AXES,
                "synthesis_milestones": [],
                "created_by_id": manager_id,
                "created_at": now,
            }
        )
        rows[ProgrammeManager].append({"programme_id": p, "user_id": manager_id, "added_at": now})
        rows[ProgrammeEvaluator].append({"programme_id": p, "user_id": manager_id, "assigned_by_id": manager_id, "assigned_at": now})
    instance_id, axis_id = ids[WorkflowInstance], ids[Axis]
    laureates: list[tuple[int, list[int]]] = []
    for n in range(applications):
        org_id, application_id = ids[Organisation] + n, ids[Application] + n
        programme = programme_ids[n % programmes]
        laureate = (n // programmes) % 4 == 0  # a quarter of each programme's applications
        status = "in_support" if laureate else APPLICATION_STATES[n % len(APPLICATION_STATES)]
        rows[Organisation].append({"id": org_id, "name": f"{prefix} applicant {n:05d}", "kind": "company", "country": "FR", "created_at": now})
        rows[Membership].append({"user_id": team_id, "organisation_id": org_id, "role": "officer", "joined_at": now})
        rows[WorkflowInstance].append(_instance(instance_id, "application", status, f"application {n}", now))
        rows[Application].append(
            {
                "id": application_id,
                "programme_id": programme,
                "organisation_id": org_id,
                "instance_id": instance_id,
                "title": f"{prefix} project {n}",
                "summary": "Seeded project.",
                "eligibility": {"not_in_production": True},
                "partners": [],
                "submitted_at": now,
                "selected_at": now if laureate else None,
                "created_by_id": team_id,
                "created_at": now,
            }
        )
        instance_id += 1
        if status not in ("submitted", "ineligible"):
            rows[Score].append(
                {"application_id": application_id, "evaluator_id": manager_id, "scores": {"benefit": n % 6, "stakes": 3, "compliance": 4}, "comments": {}}
                | {"scored_at": now, "changed_at": now}
            )
        if laureate:
            axes = []
            for position, axis in enumerate(AXES, start=1):
                rows[Axis].append({"id": axis_id, "application_id": application_id, "position": position, "key": axis["key"], "title": axis["title"]})
                rows[Axis][-1]["created_at"] = now
                axes.append(axis_id)
                axis_id += 1
            laureates.append((application_id, axes))
    for n in range(milestones):
        application_id, axes = laureates[n % len(laureates)]
        status = MILESTONE_STATES[n % len(MILESTONE_STATES)]
        rows[WorkflowInstance].append(_instance(instance_id, "milestone", status, f"milestone {n}", now))
        due = today + timedelta(days=(n % 120) - 60)
        rows[Milestone].append(
            {
                "application_id": application_id,
                "axis_id": axes[n % 4],
                "instance_id": instance_id,
                "kind": ("workshop", "deliverable", "meeting")[n % 3],
                "title": f"{prefix} milestone {n}",
                "starts_on": due - timedelta(days=20),
                "due_on": due,
                "manager_owner_id": manager_id,
                "team_owner_id": team_id,
                "created_at": now,
            }
        )
        instance_id += 1
    for model in (Programme, ProgrammeManager, ProgrammeEvaluator, Organisation, Membership, WorkflowInstance, Application, Axis, Milestone, Score):
        _insert(model, rows[model])
    db.session.commit()
    return programme_ids


def _instance(instance_id: int, workflow: str, status: str, title: str, now: datetime) -> dict:
    return {
        "id": instance_id,
        "workflow": workflow,
        "definition_version": 1,
        "status": status,
        "version": 3,
        "title": title,
        "subject_kind": workflow,
        "created_at": now,
        "updated_at": now,
    }
