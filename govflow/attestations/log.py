"""The transparency log in the database: pending entries written by acts, and the tree the sequencer stores as tiles.

An act writes its entry in its own transaction, with no lock shared with other acts: the entry is *pending* (no index
yet) and carries only a commitment to the act (``entries``). The sequencer (``sequencer``) later gives pending entries
their indexes in batches, grows the stored tiles and signs a checkpoint; proofs read a few tiles (``tiles.TileTree``).
"""

from __future__ import annotations

import base64
import os
from datetime import UTC

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..engine import utcnow
from ..extensions import db
from ..instances.models import InstanceHistory, WorkflowInstance
from . import entries, merkle, tiles
from .keys import log_origin, signing_key
from .models import Attestation, LogEntry, LogState, LogTile, TreeHead
from .note import sign_note
from .verify import PROMISE_LINE

MAX_ENTRIES_PER_PAGE = 256
WROTE_ENTRIES = "govflow.log_wrote"
PENDING_ENTRIES = "govflow.log_pending"
_INSERT = sa.insert(LogEntry)


# The log_state row exists from the moment the table does (here for create_all; the migration inserts it too).
@sa.event.listens_for(LogState.__table__, "after_create")
def _first_state(table, connection, **_kw) -> None:
    connection.execute(table.insert().values(id=1, size=0, root_hash=merkle.EMPTY_ROOT))


def add_entry(kind: str, content: bytes, history: InstanceHistory | None = None, attestation: Attestation | None = None, ref: str | None = None) -> None:
    """Write the pending entry of an act of ``kind`` whose canonical content is ``content`` (same transaction as the act).

    The entry commits to the content (salted unless the kind is a credential) and reveals nothing else. It is written
    with the act's next flush, in one statement with the act's other entries (the rows it names need their ids first).
    """
    salt = None if kind in entries.UNSALTED else os.urandom(entries.SALT_BYTES)
    leaf_input = entries.leaf_of(kind, content, salt)
    session = db.session()
    session.info.setdefault(PENDING_ENTRIES, []).append((kind, history, attestation, ref, salt, leaf_input, merkle.leaf_hash(leaf_input), utcnow()))
    session.info[WROTE_ENTRIES] = True


def _write_pending(session: Session) -> None:
    """Insert the entries the transaction added since its last flush (their rows have ids by now)."""
    pending = session.info.pop(PENDING_ENTRIES, None)
    if not pending:
        return
    rows = []
    for kind, history, attestation, ref, salt, leaf_input, leaf, at in pending:
        history_id = history.id if history is not None else None
        attestation_id = attestation.id if attestation is not None else None
        if (history is not None and history_id is None) or (attestation is not None and attestation_id is None):
            raise RuntimeError(f"a {kind} log entry names a row that was not flushed")
        rows.append(
            {
                "kind": kind,
                "history_id": history_id,
                "attestation_id": attestation_id,
                "ref": ref,
                "salt": salt,
                "leaf_input": leaf_input,
                "leaf_hash": leaf,
                "created_at": at,
            }
        )
    session.connection().execute(_INSERT, rows if len(rows) > 1 else rows[0])


@sa.event.listens_for(Session, "after_flush")
def _entries_after_flush(session: Session, _context) -> None:
    _write_pending(session)


@sa.event.listens_for(Session, "before_commit")
def _entries_before_commit(session: Session) -> None:
    if session.info.get(PENDING_ENTRIES):
        session.flush()  # gives the named rows their ids (and writes the entries through after_flush)
        _write_pending(session)  # when nothing else was left to flush


@sa.event.listens_for(Session, "after_rollback")
def _entries_rolled_back(session: Session) -> None:
    session.info.pop(PENDING_ENTRIES, None)


def write_pending() -> None:
    """Write this transaction's entries now, for a reader that needs them before the commit."""
    db.session.flush()
    _write_pending(db.session())


def history_content(row: InstanceHistory, workflow: str, instance_id: int) -> bytes:
    """The content the log commits to for history ``row``."""
    return entries.transition_entry(
        instance_id,
        workflow,
        row.definition_version,
        row.kind,
        row.trigger,
        row.from_state,
        row.to_state,
        row.actor_id,
        row.at,
        row.comment,
        row.inputs,
        row.instance_version,
        row.due_at,
        row.due_trigger,
    )


def log_history(instance: WorkflowInstance, row: InstanceHistory) -> None:
    """Write the pending entry of a history row."""
    add_entry("transition", history_content(row, instance.workflow, instance.id), history=row)


def revocation_content(attestation: Attestation) -> bytes:
    """The content the log commits to for the revocation of ``attestation``."""
    return entries.revocation_entry(attestation.uid, attestation.revoked_at, attestation.revocation_reason)


def log_size(session: Session | None = None) -> int:
    """The number of entries the sequencer has integrated."""
    return (session or db.session).scalar(sa.select(LogState.size).where(LogState.id == 1)) or 0


def latest_head(session: Session | None = None) -> TreeHead | None:
    """The latest signed tree head (None before the sequencer's first run)."""
    return (session or db.session).scalar(sa.select(TreeHead).order_by(TreeHead.tree_size.desc()).limit(1))


def tile_fetcher(session: Session | None = None):
    """A ``fetch(level, index)`` reading stored tiles (one query each), for ``tiles.TileTree``."""
    session = session or db.session

    def fetch(level: int, index: int) -> bytes:
        data = session.scalar(sa.select(LogTile.hashes).where(LogTile.level == level, LogTile.idx == index))
        if data is None:
            raise LookupError(f"tile {level}/{index} is missing from the log's storage")
        return bytes(data)

    return fetch


def stored_tree(size: int, session: Session | None = None) -> tiles.TileTree:
    """The tree of the first ``size`` integrated entries, read from the stored tiles."""
    return tiles.TileTree(size, tile_fetcher(session))


def stored_tile(level: int | str, index: int, width: int) -> bytes | None:
    """The bytes of a tile (or entry bundle, level ``"entries"``) as tlog-tiles serves them; None when the log does not
    hold that many hashes yet. A partial tile is a prefix of the tile it grows into, so any width up to what is stored
    is served."""
    hashes_at_level = log_size() // tiles.WIDTH ** (0 if level == "entries" else level)
    if index * tiles.WIDTH + width > hashes_at_level:
        return None
    if level == "entries":
        first = index * tiles.WIDTH
        rows = db.session.scalars(sa.select(LogEntry.leaf_input).where(LogEntry.index >= first, LogEntry.index < first + width).order_by(LogEntry.index)).all()
        return tiles.entry_bundle(bytes(r) for r in rows) if len(rows) == width else None
    data = db.session.scalar(sa.select(LogTile.hashes).where(LogTile.level == level, LogTile.idx == index))
    if data is None or len(data) < width * tiles.HASH:
        return None
    return bytes(data[: width * tiles.HASH])


def entry_of(attestation: Attestation) -> LogEntry | None:
    """The log entry of a credential."""
    return db.session.scalar(sa.select(LogEntry).where(LogEntry.kind == "attestation", LogEntry.attestation_id == attestation.id))


def pending_count(session: Session | None = None) -> int:
    """How many entries wait for the sequencer."""
    return (session or db.session).scalar(sa.select(sa.func.count()).select_from(LogEntry).where(LogEntry.index.is_(None))) or 0


def promise(entry: LogEntry) -> dict:
    """The log's signed promise to integrate a pending entry (as Rekor's signed entry timestamp): a signed note of the
    origin, this line, the entry's leaf hash and the time it was received in milliseconds."""
    key = signing_key("log")
    origin = log_origin()
    received = int(entry.created_at.replace(tzinfo=UTC).timestamp() * 1000)
    text = f"{origin}\n{PROMISE_LINE}\n{base64.b64encode(entry.leaf_hash).decode('ascii')}\n{received}\n"
    return {"status": "pending", "promise": sign_note(text, origin, key.private_key), "log_key": key.did}
