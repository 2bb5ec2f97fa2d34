"""Signing keys (public records), attestations, and the append-only transparency log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..engine import utcnow
from ..extensions import db
from ..instances.models import InstanceHistory, WorkflowInstance
from .entries import KINDS

KEY_PURPOSES = ("attestation", "log")
LOG_KINDS = KINDS
# An integer primary key that autoincrements on SQLite too (only INTEGER PRIMARY KEY is a rowid alias there).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


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


def _where(condition: str) -> dict:
    """A partial index's condition, for both databases."""
    return {"postgresql_where": sa.text(condition), "sqlite_where": sa.text(condition)}


class LogState(db.Model):
    """The sequencer's single row: how many entries the log has integrated and the root of that tree.

    Only the sequencer writes it (acts never wait on it); locking it is how two sequencers never run at once.
    """

    __tablename__ = "log_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    root_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))

    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)


class LogEntry(db.Model):
    """One entry of the transparency log: written pending by the act's own transaction, given its index by the sequencer.

    ``leaf_input`` is public and says only the kind and a commitment to the act (see ``entries``); ``salt`` is what
    opens the commitment and is never served for an act its reader may not see.
    """

    __tablename__ = "log_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    index: Mapped[int | None] = mapped_column(sa.BigInteger)
    kind: Mapped[str] = mapped_column(sa.String(16))
    history_id: Mapped[int | None] = mapped_column(sa.ForeignKey("instance_history.id"))
    attestation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attestations.id"))
    ref: Mapped[str | None] = mapped_column(sa.String(64))
    salt: Mapped[bytes | None] = mapped_column(sa.LargeBinary(16))
    leaf_input: Mapped[bytes] = mapped_column(sa.LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    integrated_at: Mapped[datetime | None] = mapped_column()

    history: Mapped[InstanceHistory | None] = relationship()
    attestation: Mapped[Attestation | None] = relationship()

    # Every index is partial, over the rows it serves: an act's insert touches the primary key, the pending index and
    # the one unique index of its source; the sequencer adds the integrated entry to the index and leaf-hash indexes.
    __table_args__ = (
        sa.CheckConstraint(sa.column("kind").in_(LOG_KINDS), name="kind_known"),
        sa.CheckConstraint("(kind = 'transition') = (history_id IS NOT NULL)", name="transition_source"),
        sa.CheckConstraint("(kind IN ('attestation', 'revocation')) = (attestation_id IS NOT NULL)", name="attestation_source"),
        sa.CheckConstraint("(kind IN ('transition', 'attestation', 'revocation')) = (ref IS NULL)", name="other_source"),
        sa.CheckConstraint("(kind = 'attestation') = (salt IS NULL)", name="salted"),
        sa.CheckConstraint('("index" IS NULL) = (integrated_at IS NULL)', name="integrated_complete"),
        sa.Index("ux_log_entries_index", "index", unique=True, **_where('"index" IS NOT NULL')),
        sa.Index("ux_log_entries_history", "history_id", unique=True, **_where("history_id IS NOT NULL")),
        sa.Index("ux_log_entries_attestation", "kind", "attestation_id", unique=True, **_where("attestation_id IS NOT NULL")),
        sa.Index("ix_log_entries_leaf_hash", "leaf_hash", **_where('"index" IS NOT NULL')),
        sa.Index("ix_log_entries_kind_ref", "kind", "ref", **_where("ref IS NOT NULL")),
        # The sequencer's scan: pending entries only, in the order they were written.
        sa.Index("ix_log_entries_pending", "id", **_where('"index" IS NULL')),
    )


class LogTile(db.Model):
    """A tile of the Merkle tree (C2SP tlog-tiles): up to 256 hashes of tree level 8 * ``level``; full tiles never change."""

    __tablename__ = "log_tiles"

    level: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    hashes: Mapped[bytes] = mapped_column(sa.LargeBinary)

    __table_args__ = (sa.CheckConstraint("level BETWEEN 0 AND 63", name="level_range"),)


class TreeHead(db.Model):
    """A signed head of the first ``tree_size`` entries: the RFC 6962 tree head and the C2SP checkpoint, same key."""

    __tablename__ = "tree_heads"

    tree_size: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    timestamp: Mapped[int] = mapped_column(sa.BigInteger)
    root_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
    signature: Mapped[str] = mapped_column(sa.Text)
    checkpoint: Mapped[str] = mapped_column(sa.Text)
    key_id: Mapped[int] = mapped_column(sa.ForeignKey("signing_keys.id"))

    key: Mapped[SigningKey] = relationship(lazy="joined")


class StatusList(db.Model):
    """A signed Bitstring Status List credential, signed again only when one of its bits changes."""

    __tablename__ = "status_lists"

    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    credential: Mapped[str] = mapped_column(sa.Text)
    revoked: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
