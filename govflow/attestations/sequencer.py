"""The log's sequencer: pending entries get their indexes in batches, the tiles grow, a checkpoint is signed.

Acts never wait for it: they write pending entries in their own transactions. One sequencer runs at a time (it locks
the ``log_state`` row; on PostgreSQL a second one skips the round instead of queueing), in its own connection and
transaction, so it is safe beside any number of app processes. Where it runs (``GOVFLOW_SEQUENCER``):

- ``thread`` (default): a thread in each app process, woken when a request commits an entry and every second anyway,
  so ``make run`` integrates within a second with no extra command;
- ``inline``: right after each commit that wrote entries, in the committing process (the tests: deterministic);
- ``off``: nothing in the app; ``govflow log sequencer`` runs as its own service (production, see docs/operations.md).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

from ..engine import utcnow
from ..extensions import db
from . import tiles
from .keys import log_origin, signing_key
from .log import WROTE_ENTRIES, latest_head
from .models import LogEntry, LogState, LogTile, TreeHead
from .note import checkpoint_text, sign_note
from .sth import sign_tree_head

BATCH = 10_000
MODES = ("thread", "inline", "off")


@dataclass
class Round:
    """What one sequencer round did."""

    integrated: int
    size: int
    signed: bool


def integrate(limit: int = BATCH, wait: bool = False) -> Round:
    """One sequencer round in its own transaction: integrate up to ``limit`` pending entries and sign their checkpoint.

    On PostgreSQL a round finding another sequencer at work skips (it will run again), unless ``wait``: then it queues
    behind it and integrates what that one could not see yet.
    """
    with Session(db.engine) as session:
        result = _round(session, limit, wait)
        session.commit()
    return result


def integrate_all(limit: int = BATCH, wait: bool = False) -> int:
    """Rounds until nothing is pending (or another sequencer holds the lock); the number of entries integrated."""
    total = 0
    while True:
        result = integrate(limit, wait)
        total += result.integrated
        if result.integrated < limit:
            return total


def _lock(session: Session, wait: bool) -> int | None:
    """Take the sequencer's lock and return the log's size; None when another sequencer holds it (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(sa.select(LogState.size).where(LogState.id == 1).with_for_update(skip_locked=not wait))
    # SQLite: a no-op write takes the database's write lock (waiting for a concurrent writer), then read.
    session.execute(sa.update(LogState).where(LogState.id == 1).values(size=LogState.size))
    return session.scalar(sa.select(LogState.size).where(LogState.id == 1))


def _round(session: Session, limit: int, wait: bool) -> Round:
    size = _lock(session, wait)
    if size is None:
        return Round(0, -1, False)
    pending = session.execute(sa.select(LogEntry.id, LogEntry.leaf_hash).where(LogEntry.index.is_(None)).order_by(LogEntry.id).limit(limit)).all()
    head = latest_head(session)
    if not pending:
        if head is not None and head.tree_size == size:
            return Round(0, size, False)
        root = tiles.TileTree(size, _reader(session, {})).root()
        _sign(session, size, root)
        return Round(0, size, True)
    now = utcnow()
    session.execute(sa.update(LogEntry), [{"id": entry_id, "index": size + i, "integrated_at": now} for i, (entry_id, _) in enumerate(pending)])
    existing: dict[tuple[int, int], bytes] = {}
    changed = tiles.extend(size, [bytes(h) for _, h in pending], _reader(session, existing))
    new = [{"level": level, "idx": index, "hashes": data} for (level, index), data in changed.items() if (level, index) not in existing]
    grown = [{"level": level, "idx": index, "hashes": data} for (level, index), data in changed.items() if (level, index) in existing]
    if new:
        session.execute(sa.insert(LogTile), new)
    if grown:
        session.execute(sa.update(LogTile), grown)
    size += len(pending)
    reader = _reader(session, existing)
    root = tiles.TileTree(size, lambda level, index: changed.get((level, index)) or reader(level, index)).root()
    session.execute(sa.update(LogState).where(LogState.id == 1).values(size=size, root_hash=root))
    _sign(session, size, root)
    return Round(len(pending), size, True)


def _reader(session: Session, seen: dict[tuple[int, int], bytes]):
    def read(level: int, index: int) -> bytes:
        if (level, index) not in seen:
            data = session.scalar(sa.select(LogTile.hashes).where(LogTile.level == level, LogTile.idx == index))
            if data is None:
                return b""
            seen[level, index] = bytes(data)
        return seen[level, index]

    return read


def _sign(session: Session, size: int, root: bytes) -> TreeHead:
    """Sign the RFC 6962 tree head and the C2SP checkpoint of ``size`` entries with the log key."""
    key = signing_key("log", session)
    timestamp = time.time_ns() // 1_000_000  # RFC 6962: milliseconds since the epoch
    sth = sign_tree_head(key.private_key, timestamp, size, root)
    origin = log_origin()
    note = sign_note(checkpoint_text(origin, size, root), origin, key.private_key)
    head = TreeHead(tree_size=size, timestamp=timestamp, root_hash=root, signature=sth["tree_head_signature"], checkpoint=note, key_id=key.record_id)
    session.add(head)
    return head


# -- where it runs ---------------------------------------------------------------------------------------------------
_threads: dict[int, tuple[int, threading.Event]] = {}


def wake() -> None:
    """Tell this process's sequencer that entries were committed (thread mode), or integrate them now (inline mode)."""
    if not has_app_context():
        return
    app = current_app._get_current_object()
    mode = app.config.get("GOVFLOW_SEQUENCER", "thread")
    if mode == "inline":
        try:
            integrate_all(wait=True)  # queued behind a concurrent round, so this commit's entries are integrated now
        except Exception:  # the act is committed; its entries wait for the next round
            app.logger.exception("log sequencer: inline round failed; the entries stay pending")
    elif mode == "thread":
        started = _threads.get(id(app))
        if started is not None and started[0] == os.getpid():
            started[1].set()


def start_thread(app: Flask, interval: float = 1.0) -> None:
    """Start this process's sequencer thread for ``app`` (once per process: a fork starts its own)."""
    started = _threads.get(id(app))
    if started is not None and started[0] == os.getpid():
        return
    event = threading.Event()
    _threads[id(app)] = (os.getpid(), event)

    def loop() -> None:
        pause = interval
        while True:
            event.wait(pause)
            event.clear()
            with app.app_context():
                try:
                    integrate_all()
                    pause = interval
                except Exception:
                    # The entries wait, committed: try again, less often while the failure lasts (up to a minute).
                    app.logger.exception("log sequencer: round failed; retrying in %.0f s", min(pause * 2, 60))
                    pause = min(pause * 2, 60)
                finally:
                    db.session.remove()

    threading.Thread(target=loop, name="govflow-log-sequencer", daemon=True).start()


def run_forever(interval: float = 1.0, stop: threading.Event | None = None) -> None:
    """The ``govflow log sequencer`` service: a round every ``interval`` seconds until ``stop`` is set."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            integrate_all()
        except sa.exc.OperationalError:
            current_app.logger.exception("log sequencer: the database is not reachable; retrying")
        stop.wait(interval)


@sa.event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    """A commit that wrote log entries wakes the sequencer (the session itself may not run SQL here)."""
    if session.info.pop(WROTE_ENTRIES, False):
        wake()


@sa.event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(WROTE_ENTRIES, None)


def install(app: Flask) -> None:
    """Start the sequencer thread on the first request of each process, when the app runs it (thread mode)."""
    mode = app.config.get("GOVFLOW_SEQUENCER", "thread")
    if mode not in MODES:
        raise ValueError(f"GOVFLOW_SEQUENCER must be one of {', '.join(MODES)}, got {mode!r}")
    if mode != "thread":
        return

    @app.before_request
    def _start_sequencer() -> None:
        start_thread(app)
