"""Sandbox programmes: calls with their criteria, grid and axes, managers and evaluators, applications, scores,
evaluator exclusions, laureates' roadmaps (axes, milestones, files, open questions)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..engine import utcnow
from ..extensions import db
from ..instances.models import WorkflowInstance
from ..organisations.models import Organisation, StoredFile

MILESTONE_KINDS = ("workshop", "deliverable", "meeting")
SCORE_MAX = 5


class Programme(db.Model):
    """A sandbox programme's edition: its call window, eligibility criteria, selection grid, cohort and axes.

    Bilingual texts are {"en": ..., "fr": ...}; the grid is [{"key", "title": {en, fr}, "weight"}], the criteria and the
    axes template [{"key", "title": {en, fr}}].
    """

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    theme: Mapped[dict] = mapped_column(sa.JSON)
    edition: Mapped[int] = mapped_column()
    description: Mapped[dict] = mapped_column(sa.JSON)
    call_opens_on: Mapped[date] = mapped_column()
    call_closes_on: Mapped[date] = mapped_column()
    eligibility: Mapped[list] = mapped_column(sa.JSON)
    grid: Mapped[list] = mapped_column(sa.JSON)
    cohort_size: Mapped[int] = mapped_column()
    support_months: Mapped[int] = mapped_column()
    axes_template: Mapped[list] = mapped_column(sa.JSON)
    synthesis: Mapped[dict | None] = mapped_column(sa.JSON)
    synthesis_milestones: Mapped[list] = mapped_column(sa.JSON, default=list)
    synthesis_published_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("call_opens_on <= call_closes_on", name="call_window_ordered"),
        sa.CheckConstraint("cohort_size >= 1", name="cohort_size_positive"),
        sa.CheckConstraint("support_months >= 1", name="support_months_positive"),
        sa.CheckConstraint("synthesis_published_at IS NULL OR synthesis IS NOT NULL", name="published_synthesis_written"),
    )


class ProgrammeManager(db.Model):
    """A programme manager in charge of a programme (its creator first)."""

    __tablename__ = "programme_managers"

    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class ProgrammeEvaluator(db.Model):
    """An evaluator assigned to a programme: scores its shortlisted applications, unless excluded from one."""

    __tablename__ = "programme_evaluators"

    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True, index=True)
    assigned_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


class Application(db.Model):
    """An organisation's application to a programme; its lifecycle is a workflow instance."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_instances.id"), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    eligibility: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # criterion key -> declared true
    partners: Mapped[list] = mapped_column(sa.JSON, default=list)
    audition_at: Mapped[datetime | None] = mapped_column()
    audition_place: Mapped[str | None] = mapped_column(sa.String(300))
    submitted_at: Mapped[datetime | None] = mapped_column()
    selected_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    programme: Mapped[Programme] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    instance: Mapped[WorkflowInstance] = relationship(lazy="joined")


class EvaluatorExclusion(db.Model):
    """An evaluator excluded from one application: automatically (declared interest) or by themselves."""

    __tablename__ = "evaluator_exclusions"

    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(sa.String(12))
    reason: Mapped[str] = mapped_column(sa.Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint(sa.column("kind").in_(["automatic", "self"]), name="kind_known"),)


class Score(db.Model):
    """One evaluator's scoring sheet of one application on the programme's grid: one row per (application, evaluator)."""

    __tablename__ = "scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    evaluator_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    scores: Mapped[dict] = mapped_column(sa.JSON)  # criterion key -> 0..SCORE_MAX
    comments: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # criterion key -> text
    comment: Mapped[str | None] = mapped_column(sa.Text)
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    evaluator: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("application_id", "evaluator_id", name="uq_scores_one_per_evaluator"),)


class Axis(db.Model):
    """A work axis of a laureate's roadmap (copied from the programme's template at selection, then editable)."""

    __tablename__ = "axes"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    position: Mapped[int] = mapped_column()
    key: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("application_id", "key", name="uq_axes_key"),)


class Milestone(db.Model):
    """A workshop, deliverable or meeting under an axis, with dates and an owner on each side; a workflow instance."""

    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    axis_id: Mapped[int] = mapped_column(sa.ForeignKey("axes.id"), index=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_instances.id"), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(12))
    title: Mapped[str] = mapped_column(sa.String(300))
    starts_on: Mapped[date] = mapped_column()
    due_on: Mapped[date] = mapped_column(index=True)
    manager_owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    team_owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    overdue_at: Mapped[datetime | None] = mapped_column()  # when `govflow tick` found it past due and not settled
    accepted_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    application: Mapped[Application] = relationship(lazy="joined")
    axis: Mapped[Axis] = relationship()
    instance: Mapped[WorkflowInstance] = relationship(lazy="joined")
    manager_owner: Mapped[User] = relationship(foreign_keys=[manager_owner_id])
    team_owner: Mapped[User] = relationship(foreign_keys=[team_owner_id])

    __table_args__ = (
        sa.CheckConstraint(sa.column("kind").in_(MILESTONE_KINDS), name="kind_known"),
        sa.CheckConstraint("starts_on <= due_on", name="dates_ordered"),
    )


class MilestoneFile(StoredFile, db.Model):
    """A file of a milestone (content-checked, stored by SHA-256), seen only by the laureate's team, the programme's
    managers and its evaluators who are not excluded; never deleted."""

    __tablename__ = "milestone_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(sa.ForeignKey("milestones.id"), index=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)

    added_by: Mapped[User] = relationship(lazy="joined")


class Question(db.Model):
    """An open question raised on an axis ("questions to resolve"), and its answer."""

    __tablename__ = "axis_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    axis_id: Mapped[int] = mapped_column(sa.ForeignKey("axes.id"), index=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    asked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    answer: Mapped[str | None] = mapped_column(sa.Text)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column()

    asked_by: Mapped[User] = relationship(foreign_keys=[asked_by_id], lazy="joined")
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id], lazy="joined")

    __table_args__ = (sa.CheckConstraint("(answer IS NULL) = (answered_at IS NULL)", name="answer_dated"),)
