"""User accounts and their global roles."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..engine import utcnow
from ..extensions import db


class Role(StrEnum):
    """Global roles; a user may hold several."""

    ADMIN = "admin"
    SIGNATORY = "signatory"
    COMMITTEE_MEMBER = "committee_member"
    COMMITTEE_SECRETARY = "committee_secretary"
    PROGRAMME_MANAGER = "programme_manager"


ROLE_VALUES = tuple(r.value for r in Role)


class User(UserMixin, db.Model):
    """A person who signs in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Sessions carry this token and are honoured only while it matches: signing out or changing the password draws a
    # new one, which ends every session of the user, including cookies copied before.
    session_token: Mapped[str | None] = mapped_column(sa.String(43))

    role_rows: Mapped[list[UserRole]] = relationship(back_populates="user", cascade="all, delete-orphan", lazy="selectin")

    __table_args__ = (sa.CheckConstraint("email = lower(email)", name="email_lower"),)

    @property
    def role_names(self) -> set[str]:
        """The names of the global roles this user holds."""
        return {r.role for r in self.role_rows}

    def has_role(self, *roles: str) -> bool:
        """Whether the user holds any of ``roles``."""
        return bool(self.role_names.intersection(roles))

    @property
    def label(self) -> str:
        """How the user is named in history and pages."""
        return self.name

    @property
    def is_active(self) -> bool:  # Flask-Login reads this
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserRole(db.Model):
    """One global role held by one user."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="role_rows")

    __table_args__ = (sa.CheckConstraint(sa.column("role").in_(ROLE_VALUES), name="role_known"),)
