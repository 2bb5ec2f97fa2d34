"""Declarations of interests: dated versions, one row each."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..engine import utcnow
from ..extensions import db


class InterestDeclaration(db.Model):
    """One dated version of a person's declaration of interests (a new version never overwrites an old one)."""

    __tablename__ = "interest_declarations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    version: Mapped[int] = mapped_column()
    interests: Mapped[list] = mapped_column(sa.JSON)  # [{"organisation": name, "relation": works_for|advises|funds|funded_by}]
    personal_links: Mapped[str | None] = mapped_column(sa.Text)
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("user_id", "version", name="uq_interest_declarations_version"),)
