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


#: The timeline's window: this many months at a time, moved by the dashboard's "earlier" and "later" links.
WINDOW_MONTHS = 6
#: The most bars a laureate shows in the window (the rest are counted, and listed on the laureate's roadmap).
BARS_PER_LAUREATE = 12


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month (before, when negative)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass
class Window:
    """The months the timeline shows: from ``start`` (a month's first day) to ``end`` (excluded)."""

    start: date
    end: date
    hidden: int = 0  # bars of the page's laureates in the window beyond BARS_PER_LAUREATE each

    @property
    def earlier(self) -> date:
        return add_months(self.start, -WINDOW_MONTHS)

    @property
    def later(self) -> date:
        return self.end


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
    window: Window | None = None


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


def default_window_start(programme: Programme, today: date) -> date:
    """Where the timeline opens: around today while the programme's milestones reach it, else on their last months."""
    first, last = db.session.execute(
        sa.select(sa.func.min(Milestone.starts_on), sa.func.max(Milestone.due_on))
        .join(Application, Application.id == Milestone.application_id)
        .where(Application.programme_id == programme.id)
    ).one()
    if first is None or first <= today <= last:
        return add_months(month_start(today), -1)
    if last < today:
        return add_months(month_start(last), 1 - WINDOW_MONTHS)
    return month_start(first)


def cohort(programme: Programme, page: int, per_page: int, today: date | None = None, window_start: date | None = None) -> Cohort:
    """The cohort dashboard of a programme: laureates' progress, their milestones in a window of WINDOW_MONTHS months
    (at most BARS_PER_LAUREATE each), counts per axis, overdue and upcoming milestones. A fixed number of queries and
    a bounded page whatever the size of the programme."""
    today = today or utcnow().date()
    start = month_start(window_start) if window_start else default_window_start(programme, today)
    window = Window(start, add_months(start, WINDOW_MONTHS))
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
        # Progress is counted by the database, not by reading every milestone.
        open_overdue = sa.and_(WorkflowInstance.status.in_(OPEN_MILESTONE_STATES), Milestone.due_on < today)
        for application_id, total_, accepted, overdue in db.session.execute(
            sa.select(
                Milestone.application_id,
                sa.func.count(),
                sa.func.count().filter(WorkflowInstance.status == "accepted"),
                sa.func.count().filter(open_overdue),
            )
            .join(WorkflowInstance, WorkflowInstance.id == Milestone.instance_id)
            .where(Milestone.application_id.in_(list(progress)), WorkflowInstance.status != "cancelled")
            .group_by(Milestone.application_id)
        ):
            p = progress[application_id]
            p.total, p.accepted, p.overdue = total_, accepted, overdue
        # The timeline's bars: the milestones in the window, at most BARS_PER_LAUREATE a laureate.
        rank = sa.func.row_number().over(partition_by=Milestone.application_id, order_by=(Axis.position, Milestone.due_on, Milestone.id))
        in_all = sa.func.count().over(partition_by=Milestone.application_id)
        in_window = (
            sa.select(*MILESTONE_ROW, Axis.title.label("axis_title"), rank.label("rank"), in_all.label("in_window"))
            .join(WorkflowInstance, WorkflowInstance.id == Milestone.instance_id)
            .join(Axis, Axis.id == Milestone.axis_id)
            .where(Milestone.application_id.in_(list(progress)), Milestone.starts_on < window.end, Milestone.due_on >= window.start)
            .subquery()
        )
        shown = sa.select(in_window).where(in_window.c.rank <= BARS_PER_LAUREATE).order_by(in_window.c.application_id, in_window.c.rank)
        for row in db.session.execute(shown):
            progress[row.application_id].milestones.append(row)
        window.hidden = sum(max(0, p.milestones[0].in_window - len(p.milestones)) for p in progress.values() if p.milestones)
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
        window=window,
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
