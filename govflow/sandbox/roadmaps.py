"""Laureates' roadmaps: work axes, milestones with their dates and owners, files, questions to resolve, and the
overdue flags ``govflow tick`` sets. Services take the actor, flush, and never commit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import bounds
from ..accounts.models import User
from ..engine import SYSTEM, NotPermitted, utcnow
from ..extensions import db
from ..instances.models import WorkflowInstance
from ..instances.services import fire_transition, start_instance
from ..memo import remember
from ..organisations.services import is_member, store_file
from ..organisations.uploads import CheckedUpload
from ..uniques import expect_duplicate
from .models import MILESTONE_KINDS, Application, Axis, Milestone, MilestoneFile, Question
from .policies import is_roadmap_party, prefetch_standing
from .services import (
    FILE_STATES,
    MILESTONE_WORKFLOW,
    OPEN_MILESTONE_STATES,
    PLANNING_STATES,
    ROADMAP_STATES,
    SandboxConflict,
    SandboxError,
    bilingual,
    can_see_files,
    date_range_sentence,
    evaluators,
    is_team,
    managers,
    manages,
    required_text,
    slug_key,
)


def axes(application: Application) -> list[Axis]:
    """The application's work axes, in order."""
    return remember(
        ("axes", application.id),
        (Axis,),
        lambda: list(db.session.scalars(sa.select(Axis).where(Axis.application_id == application.id).order_by(Axis.position, Axis.id))),
    )


def create_axes(application: Application, now: datetime | None = None) -> list[Axis]:
    """Give a new laureate the programme's work axes (once)."""
    if axes(application):
        return []
    made = [
        Axis(application_id=application.id, position=n, key=item["key"], title=dict(item["title"]), created_at=now or utcnow())
        for n, item in enumerate(application.programme.axes_template, start=1)
    ]
    # Two first plannings at once would both give the axes: the (application, key) key lets one through.
    with expect_duplicate(Axis.__table__, {"application_id", "key"}, _("The roadmap's axes were created at the same time by someone else: reload the page.")):
        db.session.add_all(made)
    return made


def _require_planner(actor: Any, application: Application) -> None:
    if not manages(actor, application):
        raise NotPermitted(_("Only the programme's managers, independent of the laureate, plan its roadmap."))
    if application.instance.status not in PLANNING_STATES:
        raise SandboxConflict(_("The roadmap is planned once the application is selected and until the support is completed."))


def add_axis(actor: Any, application: Application, title_en: str, title_fr: str) -> Axis:
    """A manager adds a work axis to a laureate's roadmap."""
    _require_planner(actor, application)
    title = bilingual(title_en, title_fr, _("The axis's title"), 300)
    existing = axes(application)
    axis = Axis(
        application_id=application.id,
        position=max((a.position for a in existing), default=0) + 1,
        key=slug_key(title["en"], {a.key for a in existing}),
        title=title,
        created_at=utcnow(),
    )
    with expect_duplicate(Axis.__table__, {"application_id", "key"}, _("An axis with this title was added at the same time by someone else: reload the page.")):
        db.session.add(axis)
    return axis


def rename_axis(actor: Any, axis: Axis, title_en: str, title_fr: str) -> Axis:
    """A manager renames a laureate's axis (its key, used to compare axes across the cohort, stays)."""
    _require_planner(actor, db.session.get(Application, axis.application_id))
    axis.title = bilingual(title_en, title_fr, _("The axis's title"), 300)
    db.session.flush()
    return axis


def add_milestone(
    actor: Any,
    application: Application,
    axis: Axis,
    kind: str,
    title: str,
    starts_on: date,
    due_on: date,
    manager_owner_id: int,
    team_owner_id: int,
    now: datetime | None = None,
) -> Milestone:
    """A manager plans a milestone under an axis, with its dates and an owner on each side."""
    _require_planner(actor, application)
    if axis is None or axis.application_id != application.id:
        raise SandboxError(_("Choose one of this laureate's axes."), field="axis_id")
    if kind not in MILESTONE_KINDS:
        raise SandboxError(_("Choose a workshop, a deliverable or a meeting."), field="kind")
    title = required_text(title, _("The milestone's title"), 300)
    _check_dates(starts_on, due_on)
    if manager_owner_id not in {u.id for u in programme_owners(application)}:
        raise SandboxError(_("The programme's owner must be one of its managers or evaluators who may see this laureate's roadmap."), field="manager_owner_id")
    owner = db.session.get(User, team_owner_id) if team_owner_id else None
    if owner is None or not is_member(owner, application.organisation_id):
        raise SandboxError(_("The laureate's owner must be a member of the laureate's organisation."), field="team_owner_id")
    now = now or utcnow()
    instance = start_instance(actor, MILESTONE_WORKFLOW, title=f"{application.organisation.name}: {title}"[:300], subject_kind="milestone", now=now)
    milestone = Milestone(
        application=application,
        axis_id=axis.id,
        instance=instance,
        kind=kind,
        title=title,
        starts_on=starts_on,
        due_on=due_on,
        manager_owner_id=manager_owner_id,
        team_owner_id=team_owner_id,
        created_at=now,
    )
    db.session.add(milestone)
    db.session.flush()
    return milestone


def programme_owners(application: Application) -> list[Any]:
    """Who may own a milestone for the programme: its managers and evaluators who may see the laureate's roadmap and
    do not belong to the laureate's organisation (an excluded evaluator never owns one)."""
    people = {m.user_id: m.user for m in managers(application.programme)}
    people.update({e.user_id: e.user for e in evaluators(application.programme)})
    prefetch_standing(people)
    return sorted((u for u in people.values() if can_see_files(u, application) and not is_team(u, application)), key=lambda u: u.name)


def _check_dates(starts_on: date, due_on: date) -> None:
    if not isinstance(starts_on, date) or not isinstance(due_on, date):
        raise SandboxError(_("Give the milestone's start and due dates."))
    if due_on < starts_on:
        raise SandboxError(_("A milestone is due on or after the day it starts."), field="due_on")
    if not (bounds.date_in_range(starts_on) and bounds.date_in_range(due_on)):
        raise SandboxError(date_range_sentence())


def reschedule_milestone(actor: Any, milestone: Milestone, starts_on: date, due_on: date) -> Milestone:
    """A manager moves an open milestone's dates; a milestone due again in the future is no longer flagged overdue."""
    _require_planner(actor, milestone.application)
    if milestone.instance.status not in OPEN_MILESTONE_STATES:
        raise SandboxConflict(_("An accepted or cancelled milestone keeps its dates."))
    _check_dates(starts_on, due_on)
    milestone.starts_on, milestone.due_on = starts_on, due_on
    if due_on >= utcnow().date():
        milestone.overdue_at = None
    db.session.flush()
    return milestone


def cancel_open_milestones(application: Application, reason: str, now: datetime) -> int:
    """Cancel, as govflow itself, the open milestones of a laureate who withdrew (each recorded in its history)."""
    open_ones = db.session.scalars(
        sa.select(Milestone)
        .join(WorkflowInstance, WorkflowInstance.id == Milestone.instance_id)
        .where(Milestone.application_id == application.id, WorkflowInstance.status.in_(OPEN_MILESTONE_STATES))
        .order_by(Milestone.id)
    ).all()
    text = _("The laureate withdrew from the programme: %(reason)s", reason=reason) if reason else _("The laureate withdrew from the programme.")
    for milestone in open_ones:
        fire_transition(SYSTEM, milestone.instance, "cancel", {"reason": text}, now=now)
    return len(open_ones)


def milestone_counts(application: Application) -> dict[str, int]:
    """How many milestones the application has ("total") and how many are neither accepted nor cancelled ("open")."""
    total, still_open = db.session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(WorkflowInstance.status.in_(OPEN_MILESTONE_STATES)))
        .select_from(Milestone)
        .join(WorkflowInstance, WorkflowInstance.id == Milestone.instance_id)
        .where(Milestone.application_id == application.id)
    ).one()
    return {"total": total, "open": still_open}


def milestones_of(application: Application) -> list[Milestone]:
    """The application's milestones, by axis and due date."""
    return list(
        db.session.scalars(
            sa.select(Milestone)
            .join(Axis, Axis.id == Milestone.axis_id)
            .where(Milestone.application_id == application.id)
            .order_by(Axis.position, Milestone.due_on, Milestone.id)
        )
    )


def attach_milestone_file(actor: Any, milestone: Milestone, data: bytes, checked: CheckedUpload, now: datetime | None = None) -> MilestoneFile:
    """The laureate's team (or a manager) attaches a content-checked file to an open milestone."""
    application = milestone.application
    if not (is_team(actor, application) or manages(actor, application)):
        raise NotPermitted(_("Only the laureate's team and the programme's managers can add files to this milestone."))
    if milestone.instance.status not in FILE_STATES:
        raise SandboxConflict(_("Files are added before the milestone is submitted: once submitted, what was submitted stays as it is."))
    if application.instance.status not in PLANNING_STATES:
        raise SandboxConflict(_("Files are added while the laureate is selected or in support."))
    row = MilestoneFile(milestone_id=milestone.id, application_id=application.id, **store_file(actor, data, checked, now))
    db.session.add(row)
    db.session.flush()
    return row


def milestone_files(milestone: Milestone) -> list[MilestoneFile]:
    """The files of a milestone, oldest first."""
    return list(db.session.scalars(sa.select(MilestoneFile).where(MilestoneFile.milestone_id == milestone.id).order_by(MilestoneFile.id)))


def files_by_milestone(application: Application) -> dict[int, list[MilestoneFile]]:
    """The files of each milestone of the application (one query)."""
    out: dict[int, list[MilestoneFile]] = {}
    for row in db.session.scalars(sa.select(MilestoneFile).where(MilestoneFile.application_id == application.id).order_by(MilestoneFile.id)):
        out.setdefault(row.milestone_id, []).append(row)
    return out


def questions(application: Application) -> dict[int, list[Question]]:
    """The open questions of each axis of the application (one query)."""
    out: dict[int, list[Question]] = {}
    for q in db.session.scalars(sa.select(Question).where(Question.application_id == application.id).order_by(Question.id)):
        out.setdefault(q.axis_id, []).append(q)
    return out


def _require_roadmap_party(actor: Any, application: Application) -> None:
    if not is_roadmap_party(actor, application):
        raise NotPermitted(_("Only the laureate's team and the programme's managers discuss its roadmap."))
    if application.instance.status not in ROADMAP_STATES:
        raise SandboxConflict(_("Questions can be raised once the application is selected."))


def raise_question(actor: Any, axis: Axis, text: str, now: datetime | None = None) -> Question:
    """The team or a manager raises a question to resolve on an axis."""
    application = db.session.get(Application, axis.application_id)
    _require_roadmap_party(actor, application)
    question = Question(
        axis_id=axis.id, application_id=application.id, text=required_text(text, _("The question"), 4000), asked_by_id=actor.id, asked_at=now or utcnow()
    )
    db.session.add(question)
    db.session.flush()
    return question


def answer_question(actor: Any, question: Question, text: str, now: datetime | None = None) -> Question:
    """The team or a manager answers an open question (once)."""
    _require_roadmap_party(actor, db.session.get(Application, question.application_id))
    answer = required_text(text, _("The answer"), 8000)
    # Answered only if still open when the row is written: of two answers sent at once, the second is refused.
    written = db.session.execute(
        sa.update(Question)
        .where(Question.id == question.id, Question.answer.is_(None))
        .values(answer=answer, answered_by_id=actor.id, answered_at=now or utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not written:
        raise SandboxConflict(_("This question was already answered."))
    db.session.refresh(question)
    return question


# -- overdue flags (govflow tick) --------------------------------------------------------------------------------
def flag_overdue_milestones(now: datetime) -> int:
    """Flag, once, every open milestone whose due date has passed; return how many were flagged now."""
    open_instances = sa.select(WorkflowInstance.id).where(WorkflowInstance.workflow == MILESTONE_WORKFLOW, WorkflowInstance.status.in_(OPEN_MILESTONE_STATES))
    result = db.session.execute(
        sa.update(Milestone)
        .where(Milestone.due_on < now.date(), Milestone.overdue_at.is_(None), Milestone.instance_id.in_(open_instances))
        .values(overdue_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
