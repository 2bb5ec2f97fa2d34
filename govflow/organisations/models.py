"""Organisations, their members and invitations, and the columns of a stored file."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..engine import utcnow
from ..extensions import db


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

    __table_args__ = (
        sa.CheckConstraint(sa.column("kind").in_([k.value for k in OrganisationKind]), name="kind_known"),
        sa.Index("ix_organisations_kind", "kind"),  # the register's filter by kind of organisation
    )


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


class Invitation(db.Model):
    """An invitation to join an organisation, sent to an e-mail address; the person becomes a member only by accepting
    it, signed in with that address. It expires; it is kept once answered."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    accepted: Mapped[bool | None] = mapped_column()

    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (
        sa.CheckConstraint(sa.column("role").in_([r.value for r in MemberRole]), name="role_known"),
        sa.CheckConstraint("(answered_at IS NULL) = (accepted IS NULL)", name="answer_complete"),
    )


class StoredFile:
    """Columns of a file row: the content-checked file stored under its SHA-256 (``organisations.services.store_file``),
    who added it and when; such rows are never deleted."""

    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column()
    mime: Mapped[str] = mapped_column(sa.String(100))
    original_name: Mapped[str] = mapped_column(sa.String(200))
    storage_name: Mapped[str] = mapped_column(sa.String(200))
    added_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
