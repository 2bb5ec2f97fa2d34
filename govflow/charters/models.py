"""Organisations, their members, and the commitments they make under charters."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..engine import utcnow
from ..extensions import db
from ..instances.models import WorkflowInstance


class OrganisationKind(StrEnum):
    """What sort of body an organisation is."""

    COMPANY = "company"
    PUBLIC_BODY = "public_body"
    SCHOOL = "school"
    ASSOCIATION = "association"


class MemberRole(StrEnum):
    """A member's role in an organisation: officers may sign on its behalf."""

    OFFICER = "officer"
    CONTRIBUTOR = "contributor"


class Organisation(db.Model):
    """A company, public body, school or association that signs charters."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    country: Mapped[str] = mapped_column(sa.String(2), default="FR")
    identifier: Mapped[str | None] = mapped_column(sa.String(64))
    website: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="organisation", lazy="raise_on_sql")

    __table_args__ = (sa.CheckConstraint(sa.column("kind").in_([k.value for k in OrganisationKind]), name="kind_known"),)


class Membership(db.Model):
    """A user's membership of an organisation, with their role in it."""

    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    organisation: Mapped[Organisation] = relationship(back_populates="memberships")

    __table_args__ = (sa.CheckConstraint(sa.column("role").in_([r.value for r in MemberRole]), name="role_known"),)


class Commitment(db.Model):
    """A concrete commitment of an organisation under one charter pillar; its lifecycle is a workflow instance."""

    __tablename__ = "commitments"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_instances.id"), unique=True)
    charter: Mapped[str] = mapped_column(sa.String(64))
    pillar: Mapped[str] = mapped_column(sa.String(64))
    statement: Mapped[str] = mapped_column(sa.Text)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    instance: Mapped[WorkflowInstance] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship()
