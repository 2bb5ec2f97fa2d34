"""Persisted workflow instances, their history, and the definitions registered in the database."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..engine import utcnow
from ..extensions import db

HISTORY_KINDS = ("start", "transition", "timeout", "migrate")


class WorkflowDefinitionRecord(db.Model):
    """A definition version registered in this database, with the digest of its file."""

    __tablename__ = "workflow_definitions"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    file: Mapped[str] = mapped_column(sa.String(255))
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkflowInstance(db.Model):
    """One thing moving through a workflow: pinned to a definition version, optimistically locked."""

    __tablename__ = "workflow_instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow: Mapped[str] = mapped_column(sa.String(64))
    definition_version: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(sa.String(300))
    # The title in each language when it is made of words govflow writes (a charter's title, a pillar's): pages show
    # the reader's; ``title`` keeps the English one, as records and older items have it.
    title_words: Mapped[dict[str, str] | None] = mapped_column(sa.JSON)
    subject_kind: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column()
    due_trigger: Mapped[str | None] = mapped_column(sa.String(64))

    history: Mapped[list[InstanceHistory]] = relationship(
        back_populates="instance",
        order_by="InstanceHistory.id",
        lazy="raise_on_sql",
        passive_deletes="all",
    )

    # The version counts the instance's history rows: each recorded change sets it (instances.services.record_history),
    # and an UPDATE still checks the version it read, so two concurrent steps never both succeed. Other edits (a new
    # title) leave it as it is, so the audit can hold the version to the last history row.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}
    __table_args__ = (
        sa.ForeignKeyConstraint(["workflow", "definition_version"], ["workflow_definitions.name", "workflow_definitions.version"]),
        sa.CheckConstraint("(due_at IS NULL) = (due_trigger IS NULL)", name="deadline_complete"),
        sa.Index("ix_workflow_instances_state", "workflow", "definition_version", "status"),
        sa.Index("ix_workflow_instances_due_at", "due_at"),
    )

    def __repr__(self) -> str:
        return f"<WorkflowInstance {self.id} {self.workflow}@{self.definition_version}:{self.status}>"


class InstanceHistory(db.Model):
    """One recorded change of an instance: who, from, to, by which trigger, why, when."""

    __tablename__ = "instance_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_instances.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    trigger: Mapped[str | None] = mapped_column(sa.String(64))
    from_state: Mapped[str | None] = mapped_column(sa.String(64))
    to_state: Mapped[str] = mapped_column(sa.String(64))
    definition_version: Mapped[int] = mapped_column()
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(sa.String(200))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    inputs: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # The instance as this row left it: what every page shows, logged so the audit can check the instance against it.
    instance_version: Mapped[int] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column()
    due_trigger: Mapped[str | None] = mapped_column(sa.String(64))

    instance: Mapped[WorkflowInstance] = relationship(back_populates="history")
    actor: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint(sa.column("kind").in_(HISTORY_KINDS), name="kind_known"),
        sa.CheckConstraint("kind IN ('start', 'migrate') OR trigger IS NOT NULL", name="trigger_recorded"),
        sa.CheckConstraint("kind = 'start' OR from_state IS NOT NULL", name="source_recorded"),
    )


class InstanceReminder(db.Model):
    """A reminder that an instance's deadline is near, recorded once by ``govflow tick`` for inboxes to show."""

    __tablename__ = "instance_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_instances.id"), index=True)
    state: Mapped[str] = mapped_column(sa.String(64))
    due_at: Mapped[datetime] = mapped_column()
    offset: Mapped[str] = mapped_column(sa.String(32))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    instance: Mapped[WorkflowInstance] = relationship()

    __table_args__ = (sa.UniqueConstraint("instance_id", "due_at", "offset", name="uq_instance_reminders_once"),)
