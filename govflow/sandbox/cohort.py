"""The cohort dashboard of a programme and its milestones export: a fixed number of queries whatever the size of the
programme, milestones read as plain rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from ..accounts.models import User
from ..engine import utcnow
from ..extensions import db
from ..instances.models import WorkflowInstance
from ..instances.services import Page
from ..organisations.models import Organisation
from .models import Application, Axis, Milestone, Programme
from .services import LIST_LIMIT, OPEN_MILESTONE_STATES, UPCOMING_DAYS


@dataclass
class LaureateProgress:
    """One laureate's row on the dashboard."""

    application: Application
    status: str
    total: int = 0
    accepted: int = 0
    overdue: int = 0
    milestones: list = field(default_factory=list)  # rows of MILESTONE_ROW's columns

    @property
    def percent(self) -> int:
        """Accepted share of the milestones that are not cancelled."""
        return round(100 * self.accepted / self.total) if self.total else 0


@dataclass
class Cohort:
    """What the cohort dashboard shows."""

    programme: Programme
    laureates: Page  # of LaureateProgress
    axis_counts: list[tuple[str, dict, dict[str, int]]]  # (axis key, title, status -> count)
    overdue: list  # rows of MILESTONE_ROW's columns and the laureate's organisation
    overdue_total: int
    upcoming: list
    upcoming_total: int
    today: date


# The columns the dashboard shows of a milestone: plain rows, not ORM objects, since a page shows hundreds of them
# and each object would bring its application, programme and instance along.
MILESTONE_ROW = (
    Milestone.id,
    Milestone.instance_id,
    Milestone.application_id,
    Milestone.kind,
    Milestone.title,
    Milestone.starts_on,
    Milestone.due_on,
    Milestone.overdue_at,
    WorkflowInstance.status,
)


def _open_milestones(programme_id: int) -> sa.Select:
    return (
        sa.select(*MILESTONE_ROW, Organisation.name.label("organisation"))
        .join(WorkflowInstance, WorkflowInstance.id == Milestone.instance_id)
        .join(Application, Application.id == Milestone.application_id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .where(Application.programme_id == programme_id, WorkflowInstance.status.in_(OPEN_MILESTONE_STATES))
    )


def cohort(programme: Programme, page: int, per_page: int, today: date | None = None) -> Cohort:
    """The cohort dashboard of a programme: laureates' progress and milestones, counts per axis, overdue and upcoming
    milestones. A fixed number of queries whatever the size of the programme."""
    today = today or utcnow().date()
    laureate_filter = sa.and_(Application.programme_id == programme.id, Application.selected_at.is_not(None))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(laureate_filter)) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = db.session.execute(
        sa.select(Application, WorkflowInstance.status)
        .join(WorkflowInstance, WorkflowInstance.id == Application.instance_id)
        .where(laureate_filter)
        .order_by(Application.selected_at, Application.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    progress = {a.id: LaureateProgress(a, status) for a, status in rows}
    if progress:
        for row in db.session.execute(
            sa.select(*MILESTONE_ROW, Axis.title.label("axis_title"))
            .join(WorkflowInstance, WorkflowInstance.id == Milestone.instance_id)
            .join(Axis, Axis.id == Milestone.axis_id)
            .where(Milestone.application_id.in_(list(progress)))
            .order_by(Milestone.application_id, Axis.position, Milestone.due_on, Milestone.id)
        ):
            p = progress[row.application_id]
            p.milestones.append(row)
            if row.status != "cancelled":
                p.total += 1
                p.accepted += row.status == "accepted"
                p.overdue += row.status in OPEN_MILESTONE_STATES and row.due_on < today
    counts: dict[str, dict[str, int]] = {}
    for key, status, n in db.session.execute(
        sa.select(Axis.key, WorkflowInstance.status, sa.func.count())
        .select_from(Milestone)
        .join(Axis, Axis.id == Milestone.axis_id)
        .join(WorkflowInstance, WorkflowInstance.id == Milestone.instance_id)
        .join(Application, Application.id == Milestone.application_id)
        .where(Application.programme_id == programme.id)
        .group_by(Axis.key, WorkflowInstance.status)
    ):
        counts.setdefault(key, {})[status] = n
    titles = {item["key"]: item["title"] for item in programme.axes_template}
    custom = [k for k in counts if k not in titles]
    if custom:
        for key, title in db.session.execute(
            sa.select(Axis.key, Axis.title)
            .join(Application, Application.id == Axis.application_id)
            .where(Application.programme_id == programme.id, Axis.key.in_(custom))
        ):
            titles.setdefault(key, title)
    order = [item["key"] for item in programme.axes_template] + sorted(custom)
    axis_counts = [(k, titles.get(k, {"en": k}), counts.get(k, {})) for k in order]
    overdue_q = _open_milestones(programme.id).where(Milestone.due_on < today)
    upcoming_q = _open_milestones(programme.id).where(Milestone.due_on >= today, Milestone.due_on <= today + timedelta(days=UPCOMING_DAYS))
    return Cohort(
        programme=programme,
        laureates=Page(list(progress.values()), page, per_page, total),
        axis_counts=axis_counts,
        overdue=db.session.execute(overdue_q.order_by(Milestone.due_on, Milestone.id).limit(LIST_LIMIT)).all(),
        overdue_total=db.session.scalar(sa.select(sa.func.count()).select_from(overdue_q.subquery())) or 0,
        upcoming=db.session.execute(upcoming_q.order_by(Milestone.due_on, Milestone.id).limit(LIST_LIMIT)).all(),
        upcoming_total=db.session.scalar(sa.select(sa.func.count()).select_from(upcoming_q.subquery())) or 0,
        today=today,
    )


# Stable column names of the milestones CSV (documented in docs/sandbox.md; add, never rename).
MILESTONE_COLUMNS = [
    "programme",
    "edition",
    "laureate",
    "project",
    "axis",
    "milestone_id",
    "kind",
    "title",
    "starts_on",
    "due_on",
    "status",
    "overdue",
    "overdue_flagged_at",
    "accepted_at",
    "programme_owner",
    "laureate_owner",
]


def milestone_rows(programme: Programme, today: date | None = None, chunk: int = 1000) -> Iterator[dict]:
    """Every milestone of the programme as a CSV row (one query, streamed)."""
    today = today or utcnow().date()
    manager_owner, team_owner = sa.orm.aliased(User), sa.orm.aliased(User)
    query = (
        sa.select(
            Organisation.name,
            Application.title,
            Axis.title,
            Milestone.id,
            Milestone.kind,
            Milestone.title,
            Milestone.starts_on,
            Milestone.due_on,
            WorkflowInstance.status,
            Milestone.overdue_at,
            Milestone.accepted_at,
            manager_owner.name,
            team_owner.name,
        )
        .select_from(Milestone)
        .join(Application, Application.id == Milestone.application_id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .join(Axis, Axis.id == Milestone.axis_id)
        .join(WorkflowInstance, WorkflowInstance.id == Milestone.instance_id)
        .join(manager_owner, manager_owner.id == Milestone.manager_owner_id)
        .join(team_owner, team_owner.id == Milestone.team_owner_id)
        .where(Application.programme_id == programme.id)
        .order_by(Organisation.name, Application.id, Axis.position, Milestone.due_on, Milestone.id)
        .execution_options(yield_per=chunk)
    )
    theme = programme.theme.get("en", "")
    for org, project, axis, mid, kind, title, starts, due, status, flagged, accepted, m_owner, t_owner in db.session.execute(query):
        yield {
            "programme": theme,
            "edition": programme.edition,
            "laureate": org,
            "project": project,
            "axis": axis.get("en", ""),
            "milestone_id": mid,
            "kind": kind,
            "title": title,
            "starts_on": starts.isoformat(),
            "due_on": due.isoformat(),
            "status": status,
            "overdue": "yes" if status in OPEN_MILESTONE_STATES and due < today else "no",
            "overdue_flagged_at": flagged.strftime("%Y-%m-%dT%H:%M:%SZ") if flagged else "",
            "accepted_at": accepted.strftime("%Y-%m-%dT%H:%M:%SZ") if accepted else "",
            "programme_owner": m_owner,
            "laureate_owner": t_owner,
        }
