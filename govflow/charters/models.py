"""Charter versions, organisations' signatures of them, and the commitments, evidence and self-assessments under them."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..engine import utcnow
from ..extensions import db
from ..instances.models import WorkflowInstance
from ..organisations.models import Organisation


class CharterRecord(db.Model):
    """A charter version registered in this database, with the digest of its file (signatures reference it)."""

    __tablename__ = "charters"

    slug: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    file: Mapped[str] = mapped_column(sa.String(255))
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)


class Signature(db.Model):
    """An organisation's signature of one charter version; its lifecycle (signed, withdrawn) is a workflow instance."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    charter: Mapped[str] = mapped_column(sa.String(64))
    charter_version: Mapped[int] = mapped_column()
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_instances.id"), unique=True)
    accepted_pillars: Mapped[list] = mapped_column(sa.JSON)
    signed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    signed_at: Mapped[datetime] = mapped_column()
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    withdrawal_reason: Mapped[str | None] = mapped_column(sa.Text)
    superseded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signatures.id"))

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    instance: Mapped[WorkflowInstance] = relationship(lazy="joined")
    signed_by: Mapped[User] = relationship()

    __table_args__ = (
        sa.ForeignKeyConstraint(["charter", "charter_version"], ["charters.slug", "charters.version"]),
        sa.CheckConstraint("(withdrawn_at IS NULL) = (withdrawal_reason IS NULL)", name="withdrawal_complete"),
        # One live signature per organisation and charter version; a withdrawn one does not block signing again.
        # The register's order (newest first, the id breaking ties) and its charter filter, read from indexes.
        sa.Index("ix_signatures_signed_at_id", "signed_at", "id"),
        sa.Index("ix_signatures_charter_signed_at", "charter", "signed_at", "id"),
        sa.Index(
            "uq_signatures_live",
            "organisation_id",
            "charter",
            "charter_version",
            unique=True,
            sqlite_where=sa.text("withdrawn_at IS NULL"),
            postgresql_where=sa.text("withdrawn_at IS NULL"),
        ),
    )


class Commitment(db.Model):
    """A concrete commitment of an organisation under one pillar of a charter it signed; its lifecycle is a workflow instance."""

    __tablename__ = "commitments"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    # The register's pillar filter reads (signature, pillar) pairs from an index; the signature alone uses its prefix.
    signature_id: Mapped[int] = mapped_column(sa.ForeignKey("signatures.id"))
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_instances.id"), unique=True)
    charter: Mapped[str] = mapped_column(sa.String(64))
    charter_version: Mapped[int] = mapped_column()
    pillar: Mapped[str] = mapped_column(sa.String(64), index=True)
    themes: Mapped[list] = mapped_column(sa.JSON, default=list)
    statement: Mapped[str] = mapped_column(sa.Text, default="")
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    target_date: Mapped[date | None] = mapped_column()
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    signature: Mapped[Signature] = relationship()
    instance: Mapped[WorkflowInstance] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])

    __table_args__ = (sa.Index("ix_commitments_signature_pillar", "signature_id", "pillar"),)


class Evidence(db.Model):
    """Evidence backing a commitment: a stored file (content-checked, SHA-256) or a web address. Never deleted."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(sa.ForeignKey("commitments.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    url: Mapped[str | None] = mapped_column(sa.String(2000))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    size: Mapped[int | None] = mapped_column()
    mime: Mapped[str | None] = mapped_column(sa.String(100))
    original_name: Mapped[str | None] = mapped_column(sa.String(200))
    storage_name: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.String(500))
    added_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    commitment: Mapped[Commitment] = relationship()
    added_by: Mapped[User] = relationship()

    __table_args__ = (
        sa.CheckConstraint(sa.column("kind").in_(["file", "url"]), name="kind_known"),
        sa.CheckConstraint(
            "(kind = 'url' AND url IS NOT NULL AND sha256 IS NULL) OR (kind = 'file' AND url IS NULL AND sha256 IS NOT NULL "
            "AND storage_name IS NOT NULL AND size IS NOT NULL AND mime IS NOT NULL)",
            name="kind_columns",
        ),
    )


class SelfAssessment(db.Model):
    """An organisation's yearly self-assessment under one signature: a maturity level per charter theme."""

    __tablename__ = "self_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    signature_id: Mapped[int] = mapped_column(sa.ForeignKey("signatures.id"), index=True)
    year: Mapped[int] = mapped_column()
    submitted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)

    signature: Mapped[Signature] = relationship()
    answers: Mapped[list[SelfAssessmentAnswer]] = relationship(back_populates="assessment", lazy="selectin", cascade="all")

    __table_args__ = (sa.UniqueConstraint("signature_id", "year", name="uq_self_assessments_year"),)


class SelfAssessmentAnswer(db.Model):
    """The maturity level (0–4) for one theme, or "not concerned" with a justification."""

    __tablename__ = "self_assessment_answers"

    assessment_id: Mapped[int] = mapped_column(sa.ForeignKey("self_assessments.id"), primary_key=True)
    theme: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    level: Mapped[int | None] = mapped_column()
    not_concerned: Mapped[bool] = mapped_column(default=False)
    justification: Mapped[str | None] = mapped_column(sa.Text)

    assessment: Mapped[SelfAssessment] = relationship(back_populates="answers")

    __table_args__ = (
        sa.CheckConstraint(
            "(not_concerned AND level IS NULL AND justification IS NOT NULL) OR (NOT not_concerned AND level BETWEEN 0 AND 4)",
            name="level_or_justified",
        ),
    )
