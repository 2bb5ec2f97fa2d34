"""Signing keys (public records), attestations, and the append-only transparency log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..engine import utcnow
from ..extensions import db
from ..instances.models import InstanceHistory, WorkflowInstance

KEY_PURPOSES = ("attestation", "log")
LOG_KINDS = ("transition", "attestation", "revocation")


class SigningKey(db.Model):
    """The public record of an Ed25519 key; the private key lives outside the database (files or environment)."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(sa.String(16))
    public_key_multibase: Mapped[str] = mapped_column(sa.String(64), unique=True)
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    valid_until: Mapped[datetime | None] = mapped_column()
    revoked: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (sa.CheckConstraint(sa.column("purpose").in_(KEY_PURPOSES), name="purpose_known"),)

    @property
    def did(self) -> str:
        """The key's did:key identifier."""
        return f"did:key:{self.public_key_multibase}"

    @property
    def verification_method(self) -> str:
        """The did:key verification method id."""
        return f"{self.did}#{self.public_key_multibase}"


class Attestation(db.Model):
    """A signed credential issued by a transition; revoked, never deleted."""

    __tablename__ = "attestations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(36), unique=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_instances.id"), index=True)
    history_id: Mapped[int] = mapped_column(sa.ForeignKey("instance_history.id"), unique=True)
    key_id: Mapped[int] = mapped_column(sa.ForeignKey("signing_keys.id"))
    act: Mapped[str] = mapped_column(sa.String(64))
    summary: Mapped[str] = mapped_column(sa.String(300))
    status_list: Mapped[int] = mapped_column()
    status_index: Mapped[int] = mapped_column()
    credential: Mapped[str] = mapped_column(sa.Text)
    issued_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revocation_reason: Mapped[str | None] = mapped_column(sa.Text)
    revoked_by_history_id: Mapped[int | None] = mapped_column(sa.ForeignKey("instance_history.id"))

    instance: Mapped[WorkflowInstance] = relationship()
    history: Mapped[InstanceHistory] = relationship(foreign_keys=[history_id])
    key: Mapped[SigningKey] = relationship(lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("status_list", "status_index", name="uq_attestations_status_slot"),
        sa.CheckConstraint("(revoked_at IS NULL) = (revocation_reason IS NULL)", name="revocation_complete"),
    )


class LogState(db.Model):
    """The single row that serialises appends: the log's size, its Merkle frontier, and attestations issued."""

    __tablename__ = "log_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(default=0)
    frontier: Mapped[list] = mapped_column(sa.JSON, default=list)
    attestations_issued: Mapped[int] = mapped_column(default=0)

    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)


class LogEntry(db.Model):
    """One leaf of the transparency log: leaf hash = SHA-256(0x00 || leaf_input) (RFC 6962)."""

    __tablename__ = "log_entries"

    index: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(sa.String(16))
    history_id: Mapped[int | None] = mapped_column(sa.ForeignKey("instance_history.id"), unique=True)
    attestation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attestations.id"))
    leaf_input: Mapped[bytes] = mapped_column(sa.LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    history: Mapped[InstanceHistory | None] = relationship()
    attestation: Mapped[Attestation | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(sa.column("kind").in_(LOG_KINDS), name="kind_known"),
        sa.CheckConstraint("(kind = 'transition') = (history_id IS NOT NULL)", name="transition_source"),
        sa.CheckConstraint("(kind = 'transition') = (attestation_id IS NULL)", name="attestation_source"),
        sa.UniqueConstraint("kind", "attestation_id", name="uq_log_entries_attestation"),
    )


class TreeHead(db.Model):
    """A signed tree head: the root of the first ``tree_size`` entries, signed with the log key."""

    __tablename__ = "tree_heads"

    tree_size: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    timestamp: Mapped[int] = mapped_column(sa.BigInteger)
    root_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    signature: Mapped[str] = mapped_column(sa.Text)
    key_id: Mapped[int] = mapped_column(sa.ForeignKey("signing_keys.id"))

    key: Mapped[SigningKey] = relationship(lazy="joined")
