"""``govflow audit verify``: recompute the log from the database and name the first tampered row of each kind.

It checks, from the rows alone:

- **entries**: indexes run from 0 without a gap; each leaf hash matches its leaf input; each leaf input is the
  commitment to the act it records, rebuilt from the act's row and the entry's salt (a history row, a credential, a
  revocation, a ballot, a tally, a recusal, an exclusion, a declaration, a scoring sheet), pending entries included;
- **coverage**: every history row, credential and revocation has its entry, once; every ballot and scoring sheet
  matches its latest entry, and every other logged act its entry;
- **the tree**: every stored tile (the tree's nodes, C2SP tlog-tiles) equals the one recomputed from the leaves, and
  the sequencer's state holds the right size and root;
- **tree heads**: every signed tree head and checkpoint matches the recomputed root at its size, and its signatures
  hold;
- **what users see**: every instance's state, version, definition version and deadline equal what its last history
  row (the logged one) says.

A large log is first checked by worker processes, one per CPU, in aligned spans of 2^k entries: each span's leaf
hashes and frontier are computed on their own, and the parent folds the span roots, compares tiles and tree heads and
runs the other checks. That pass only tells a clean log from one that is not; when it finds anything, the sequential
scan runs and names the first problem of each kind.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import hashlib
import itertools
import multiprocessing
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..extensions import db
from ..instances.models import InstanceHistory, WorkflowInstance
from ..instances.services import get_registry
from . import entries, merkle, tiles
from .credentials import public_key_from_multibase
from .models import Attestation, LogEntry, LogState, LogTile, SigningKey, TreeHead
from .note import NoteError, verify_checkpoint
from .sth import TreeHeadError, verify_tree_head

MAX_PROBLEMS = 20
# Below this many entries the sequential scan takes well under a second: starting workers would not pay.
PARALLEL_FROM = 50_000
# Entries per worker task (a power of two, so spans are whole Merkle subtrees and whole tiles).
SPAN = 1 << 13
_BATCH = 1024  # rows a worker fetches at a time
KINDS_ORDER = ("entry", "tile", "tree head", "instance", "act")

# One row per entry with the history row it records (if any), for the driver's own cursor (? placeholders). The kind
# is compared in Python, byte for byte (a column rebuilt with a case-blind collation would let SQL take "Transition"
# for "transition"). Attestations are read apart, for the few entries that name one.
_ENTRY_SQL = (
    'SELECT l."index", l.id, l.kind, l.salt, l.leaf_input, l.leaf_hash, l.attestation_id, l.ref, '
    "h.id, h.instance_id, h.definition_version, h.kind, h.trigger, h.from_state, h.to_state, h.actor_id, h.at, h.comment, h.inputs, "
    "h.instance_version, h.due_at, h.due_trigger FROM log_entries l LEFT JOIN instance_history h ON h.id = l.history_id "
)
# The workers' narrower row (each column read costs every entry): entries of other kinds than transitions are read
# again whole, by index, once the span is gone over.
_SPAN_SQL = (
    'SELECT l."index", l.kind, l.salt, l.leaf_input, l.leaf_hash, h.instance_id, h.definition_version, h.kind, h.trigger, h.from_state, '
    "h.to_state, h.actor_id, h.at, h.comment, h.inputs, h.instance_version, h.due_at, h.due_trigger FROM log_entries l "
    'LEFT JOIN instance_history h ON h.id = l.history_id WHERE l."index" >= ? AND l."index" < ? ORDER BY l."index"'
)
_ENTRIES_BY_INDEX = sa.text(_ENTRY_SQL + 'WHERE l."index" IN :indexes ORDER BY l."index"').bindparams(sa.bindparam("indexes", expanding=True))
_ATTESTATIONS = sa.text("SELECT id, uid, credential, revoked_at, revocation_reason FROM attestations WHERE id IN :ids").bindparams(
    sa.bindparam("ids", expanding=True)
)
_INSTANCE_STATES = (
    "SELECT i.id, i.status, i.version, i.definition_version, i.due_at, i.due_trigger, h.to_state, h.instance_version, h.definition_version, "
    "h.due_at, h.due_trigger FROM workflow_instances i LEFT JOIN instance_history h ON h.id = "
    "(SELECT max(h2.id) FROM instance_history h2 WHERE h2.instance_id = i.id) ORDER BY i.id"
)


@dataclass
class AuditReport:
    """What the audit found; ``problems`` are (kind, position, sentence), in the order found."""

    entries: int = 0
    pending: int = 0
    history_rows: int = 0
    tree_heads: int = 0
    instances: int = 0
    problems: list[tuple[str, int, str]] = field(default_factory=list)
    processes: int = 1

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.problems

    def add(self, index: int, message: str, kind: str = "entry") -> None:
        """Record a problem at ``index`` (an entry index, a tile number, a tree size, an instance id...)."""
        if len(self.problems) < MAX_PROBLEMS or not any(k == kind for k, _, _ in self.problems):
            self.problems.append((kind, index, message))

    def first(self, kind: str) -> tuple[int, str] | None:
        """The first problem of ``kind`` (lowest position), or None."""
        found = sorted((p for p in self.problems if p[0] == kind), key=lambda p: p[1])
        return (found[0][1], found[0][2]) if found else None

    def lines(self) -> list[str]:
        """The report as lines of text: a summary, then the first problem of each kind, then the others."""
        head = (
            f"audit: {self.entries} log entries ({self.pending} pending), {self.history_rows} history rows, "
            f"{self.tree_heads} signed tree heads, {self.instances} instances checked"
        )
        if self.processes > 1:
            head += f" by {self.processes} processes"
        if self.ok:
            return [head, "audit: OK, the log matches the database, its stored tree and every signed tree head, and every instance its history"]
        out = [head]
        for kind in KINDS_ORDER:
            first = self.first(kind)
            if first is not None:
                out.append(f"audit: FAILED, first problem at {kind} {first[0]}: {first[1]}")
        # Stable sort: at one position, what was found first (its own content) comes before what follows from it.
        for kind, index, message in sorted(self.problems, key=lambda p: (KINDS_ORDER.index(p[0]), p[1])):
            if (index, message) != self.first(kind):
                out.append(f"  {kind} {index}: {message}")
        return out


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _stream(stack: contextlib.ExitStack, sql: str, chunk: int, parameters: tuple = ()) -> Iterator[tuple]:
    """Rows of a plain SQL query (``?`` placeholders), as the driver returns them (no per-row type processing)."""
    connection = db.session.connection()
    if connection.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    # The option goes with this statement only (Connection.execution_options would set it on the session's connection).
    result = stack.enter_context(connection.exec_driver_sql(sql, parameters, execution_options={"yield_per": chunk}))
    return itertools.chain.from_iterable(result.partitions(chunk))


def _bytes(value) -> bytes | None:
    return bytes(value) if value is not None and value.__class__ is not bytes else value


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _shareable(url: sa.URL) -> bool:
    """Whether worker processes can open the database too (an in-memory SQLite database lives in one connection)."""
    if url.get_backend_name() != "sqlite":
        return True
    return url.database not in (None, "", ":memory:") and not url.database.startswith("file::memory:") and url.query.get("mode") != "memory"


# -- checking one entry --------------------------------------------------------------------------------------------
class EntryChecker:
    """Rebuilds what an entry commits to from the rows it records; one per process (it keeps encoded parts)."""

    def __init__(self, workflow_of, attestation_rows):
        self.build = entries.transition_entry_builder(workflow_of)
        self.attestation_rows = attestation_rows  # ids -> {id: (uid, credential, revoked_at, reason)}

    def transition_problem(self, row: tuple) -> str | None:
        """Why a transition entry (a row of _ENTRY_SQL) does not match its history row; None when it does."""
        leaf_input, salt, h_id = row[4], row[3], row[8]
        if h_id is None:
            return "the history row it records was deleted"
        content = self.build(*row[9:22])
        if entries.leaf_of("transition", content, _bytes(salt)) != leaf_input:
            return f"history row {h_id} no longer matches what the log recorded: the row was altered"
        return None

    def attestation_problems(self, rows: list[tuple]) -> dict[int, str]:
        """Why attestation and revocation entries no longer match the attestations table, by entry index."""
        found = {}
        refs = sorted({row[6] for row in rows if row[6] is not None})
        known = self.attestation_rows(refs)
        for row in rows:
            index, kind, salt, leaf_input, ref = row[0], row[2], _bytes(row[3]), row[4], row[6]
            if ref is None:
                found[index] = f"its kind says {kind} but it names no attestation: the entry was altered"
                continue
            if ref not in known:
                found[index] = f"the attestation {ref} it records was deleted"
                continue
            uid, credential, revoked_at, reason = known[ref]
            if kind == "attestation":
                if entries.leaf_of("attestation", credential.encode("utf-8"), None) != leaf_input:
                    found[index] = f"attestation urn:uuid:{uid} no longer matches the signed credential the log recorded"
            elif revoked_at is None or entries.leaf_of("revocation", entries.revocation_entry(uid, revoked_at, reason), salt) != leaf_input:
                found[index] = f"the revocation of attestation urn:uuid:{uid} was altered or undone"
        return found


def _attestation_rows(connection):
    def read(ids: list[int]) -> dict:
        out = {}
        for first in range(0, len(ids), 500):  # within any SQLite's limit on bound parameters
            out.update((row[0], row[1:]) for row in connection.execute(_ATTESTATIONS, {"ids": ids[first : first + 500]}))
        return out

    return read


# -- the sequential scan ---------------------------------------------------------------------------------------------
def _keys_and_heads() -> tuple[dict, dict[int, TreeHead]]:
    keys = {k.id: public_key_from_multibase(k.public_key_multibase) for k in db.session.scalars(sa.select(SigningKey))}
    return keys, {h.tree_size: h for h in db.session.scalars(sa.select(TreeHead))}


def _check_head(report: AuditReport, head: TreeHead, root: bytes, keys: dict) -> None:
    report.tree_heads += 1
    if head.root_hash != root:
        report.add(head.tree_size, "it does not match the log: an entry before it was altered, deleted or reordered", "tree head")
        return
    sth = {"tree_size": head.tree_size, "timestamp": head.timestamp, "sha256_root_hash": _b64(head.root_hash), "tree_head_signature": head.signature}
    try:
        key = keys[head.key_id]
        verify_tree_head(key, sth)
        origin = (head.checkpoint or "").split("\n", 1)[0]
        checkpoint = verify_checkpoint(head.checkpoint, origin, key)
        if checkpoint.size != head.tree_size or checkpoint.root != head.root_hash:
            raise NoteError("the checkpoint states another tree than the tree head")
    except (TreeHeadError, NoteError, KeyError) as exc:
        report.add(head.tree_size, f"its signature or checkpoint does not hold: {exc}", "tree head")


class _TileCheck:
    """Compares the tiles recomputed from the leaves with the stored ones, level by level."""

    def __init__(self, report: AuditReport):
        self.report = report
        self.stored = {(level, idx): bytes(data) for level, idx, data in db.session.execute(sa.select(LogTile.level, LogTile.idx, LogTile.hashes))}

    def check(self, size: int, level_hashes: dict[int, bytearray]) -> None:
        """``level_hashes[L]`` holds the concatenated hashes of tree level 8L (level 0: every leaf hash)."""
        expected: set[tuple[int, int]] = set()
        for level, data in sorted(level_hashes.items()):
            for index in range(0, (len(data) + tiles.TILE_BYTES - 1) // tiles.TILE_BYTES):
                tile = bytes(data[index * tiles.TILE_BYTES : (index + 1) * tiles.TILE_BYTES])
                expected.add((level, index))
                if self.stored.get((level, index)) != tile:
                    self.report.add(self._position(level, index), f"stored tile {level}/{index} does not match the tree's nodes: it was altered", "tile")
        for level, index in sorted(set(self.stored) - expected):
            self.report.add(self._position(level, index), f"stored tile {level}/{index} lies beyond the log's {size} entries", "tile")

    @staticmethod
    def _position(level: int, index: int) -> int:
        return index * tiles.WIDTH ** (level + 1)  # the first entry the tile covers: tiles are named in the log's order


def _sequential(stack: contextlib.ExitStack, chunk: int) -> AuditReport:
    report = AuditReport()
    keys, heads = _keys_and_heads()
    workflows = dict(db.session.execute(sa.select(WorkflowInstance.id, WorkflowInstance.workflow)).all())
    checker = EntryChecker(workflows.get, _attestation_rows(db.session.connection()))
    frontier: list[bytes] = []
    level_hashes: dict[int, bytearray] = {0: bytearray()}
    others: list[tuple] = []  # acts recorded outside history and attestations, checked against their sources at the end
    attested: list[tuple] = []
    sha256 = hashlib.sha256
    expected = 0
    rows = _stream(stack, _ENTRY_SQL + 'WHERE l."index" IS NOT NULL ORDER BY l."index"', chunk)
    for row in rows:
        index, kind, leaf_input, leaf = row[0], row[2], _bytes(row[4]), _bytes(row[5])
        row = (index, row[1], kind, row[3], leaf_input, leaf, *row[6:])
        if index != expected:
            what = "deleted" if index > expected else "duplicated or reordered"
            report.add(expected, f"the log jumps from entry {expected - 1} to entry {index}: entries were {what}")
            break
        if sha256(b"\x00" + leaf_input).digest() != leaf:
            report.add(index, "its leaf hash does not match its content: the entry was altered")
        if kind == "transition":
            problem = checker.transition_problem(row)
            if problem:
                report.add(index, problem)
        elif row[8] is not None:
            report.add(index, f"its kind says {kind} but it records history row {row[8]}: the entry was altered")
        elif kind in ("attestation", "revocation"):
            attested.append(row)
        else:
            others.append(row)
        # The frontier update of merkle.frontier_push, inlined, keeping every node of a tile level (heights 8, 16...).
        node, n, height = leaf, index, 0
        while n & 1:
            node = sha256(b"\x01" + frontier.pop() + node).digest()
            n >>= 1
            height += 1
            if height & 7 == 0:
                level_hashes.setdefault(height >> 3, bytearray()).extend(node)
        frontier.append(node)
        level_hashes[0].extend(leaf)
        expected += 1
        head = heads.get(expected)
        if head is not None:
            _check_head(report, head, merkle.frontier_root(frontier), keys)
    report.entries = expected
    for index, message in checker.attestation_problems(attested).items():
        report.add(index, message)
    _finish(report, stack, chunk, checker, others, heads, keys, level_hashes, merkle.frontier_root(frontier))
    return report


def _finish(report, stack, chunk, checker, others, heads, keys, level_hashes, root) -> None:
    """The checks after the scan of the integrated entries: pending entries, sources, tiles, heads, state, instances."""
    size = report.entries
    state = db.session.execute(sa.select(LogState.size, LogState.root_hash).where(LogState.id == 1)).one_or_none()
    if state is None or state[0] != size:
        report.add(size, f"the sequencer's state says {state[0] if state else 'nothing'} entries but {size} were found: entries were deleted or added")
    elif _bytes(state[1]) != root:
        report.add(size, "the sequencer's stored root does not match the entries", "tree head")
    for tree_size in sorted(s for s in heads if s > size):
        report.add(tree_size, f"it covers {tree_size} entries but only {size} remain: entries were deleted", "tree head")
    if 0 in heads:
        _check_head(report, heads[0], merkle.EMPTY_ROOT, keys)
    _TileCheck(report).check(size, level_hashes)
    # Pending entries: not in the tree yet, but they must commit to their acts all the same.
    attested = []
    for row in _stream(stack, _ENTRY_SQL + 'WHERE l."index" IS NULL ORDER BY l.id', chunk):
        report.pending += 1
        entry_id, kind, leaf_input, leaf = row[1], row[2], _bytes(row[4]), _bytes(row[5])
        row = (-entry_id, entry_id, kind, row[3], leaf_input, leaf, *row[6:])  # pending entries are named by -id
        if hashlib.sha256(b"\x00" + leaf_input).digest() != leaf:
            report.add(-entry_id, f"pending entry {entry_id}: its leaf hash does not match its content: the entry was altered")
        elif kind == "transition":
            problem = checker.transition_problem(row)
            if problem:
                report.add(-entry_id, f"pending entry {entry_id}: {problem}")
        elif kind in ("attestation", "revocation"):
            attested.append(row)
        else:
            others.append(row)
    for index, message in checker.attestation_problems(attested).items():
        report.add(index, f"pending entry {-index}: {message}")
    _check_coverage(report)
    _check_sources(report, others)
    _check_instances(report, stack, chunk)


def _has_index(table: str, name: str) -> bool:
    return any(index["name"] == name for index in sa.inspect(db.session.connection()).get_indexes(table))


def _entry_label(index: int) -> str:
    return f"pending entry {-index}" if index < 0 else f"entry {index}"


def _check_coverage(report: AuditReport) -> None:
    """Every history row, credential and revocation has one entry, and no entry records a row twice."""
    history = db.session.scalar(sa.select(sa.func.count()).select_from(InstanceHistory)) or 0
    report.history_rows = history
    logged = db.session.scalar(sa.select(sa.func.count()).select_from(LogEntry).where(LogEntry.history_id.is_not(None)))
    # The unique index makes a history row recorded twice impossible; only when it is gone (dropped behind the app's
    # back) are the distinct rows counted, a sort of the whole log.
    if _has_index("log_entries", "ux_log_entries_history"):
        distinct = logged
    else:
        report.add(report.entries, "the unique index of history rows in the log was dropped: rows could be recorded twice")
        distinct = db.session.scalar(sa.select(sa.func.count(LogEntry.history_id.distinct())))
    if logged != distinct:
        report.add(report.entries, "a history row is recorded by two entries: an entry was duplicated")
    if distinct != history:
        missing = db.session.scalar(
            sa.select(sa.func.min(InstanceHistory.id)).where(~sa.exists().where(LogEntry.history_id == InstanceHistory.id, LogEntry.kind == "transition"))
        )
        if missing is not None:
            report.add(report.entries, f"history row {missing} is not in the log: it was inserted behind the log's back")
    unlogged = db.session.scalar(
        sa.select(sa.func.min(Attestation.id)).where(~sa.exists().where(LogEntry.attestation_id == Attestation.id, LogEntry.kind == "attestation"))
    )
    if unlogged is not None:
        report.add(report.entries, f"attestation {unlogged} is not in the log: it was inserted behind the log's back")
    unrevoked = db.session.scalar(
        sa.select(sa.func.min(Attestation.id)).where(
            Attestation.revoked_at.is_not(None), ~sa.exists().where(LogEntry.attestation_id == Attestation.id, LogEntry.kind == "revocation")
        )
    )
    if unrevoked is not None:
        report.add(report.entries, f"the revocation of attestation {unrevoked} is not in the log: it was recorded behind the log's back")


def _check_sources(report: AuditReport, rows: list[tuple]) -> None:
    """Entries of acts outside history and attestations (ballots, tallies, recusals...) against their sources."""
    by_kind: dict[str, dict[str, list[tuple]]] = {}
    for row in rows:
        by_kind.setdefault(row[2], {}).setdefault(row[7], []).append(row)
    sources = get_registry().log_sources
    for kind in entries.KINDS:
        if kind in ("transition", "attestation", "revocation"):
            continue
        logged = by_kind.pop(kind, {})
        source = sources.get(kind)
        if source is None:
            continue
        seen = set()
        for ref, content in source():
            seen.add(ref)
            found = logged.get(ref)
            if not found:
                report.add(report.entries, f"{kind} {ref} is not in the log: it was recorded behind the log's back", "act")
                continue
            # Ballots and sheets change in place and each change is logged: the row must match its latest entry.
            checked = [max(found, key=lambda r: r[1])] if kind in entries.LATEST_ONLY else found
            for row in checked:
                if entries.leaf_of(kind, content, _bytes(row[3])) != row[4]:
                    report.add(row[0], f"{kind} {ref} no longer matches what {_entry_label(row[0])} recorded: it was altered", "act")
        for ref in sorted(set(logged) - seen):
            row = logged[ref][0]
            report.add(row[0], f"the {kind} {ref} that {_entry_label(row[0])} records was deleted", "act")
    for kind, refs in by_kind.items():
        row = next(iter(refs.values()))[0]
        report.add(row[0], f"{_entry_label(row[0])} has an unknown kind {kind!r}: the entry was altered")


def _check_instances(report: AuditReport, stack: contextlib.ExitStack, chunk: int) -> None:
    """Every instance's current row equals what its last history row (logged) says."""
    names = ("state", "version", "definition version", "deadline", "deadline's step")
    for row in _stream(stack, _INSTANCE_STATES, chunk):
        report.instances += 1
        instance_id, current, logged = row[0], row[1:6], row[6:11]
        if logged[0] is None:
            report.add(instance_id, "it has no history row: it was inserted behind the log's back", "instance")
            continue
        for name, now, then in zip(names, current, logged, strict=True):
            if now != then:
                report.add(instance_id, f"its {name} is {now!r} but its last logged history row says {then!r}: the instance was altered", "instance")
                break


def audit_log(chunk: int = 20_000, parallel_from: int = PARALLEL_FROM, span: int = SPAN, processes: int | None = None) -> AuditReport:
    """Recompute everything from the database; return the report (the first problem of each kind first)."""
    if span < 1 or span & (span - 1):
        raise ValueError(f"the span of a worker task must be a power of two, got {span}")
    size = db.session.scalar(sa.select(LogState.size).where(LogState.id == 1)) or 0
    processes = min(_cpus() if processes is None else processes, (size + span - 1) // span)
    if processes > 1 and size >= parallel_from and _shareable(db.engine.url):
        with contextlib.ExitStack() as stack:
            report = _parallel(stack, chunk, size, span, processes)
        if report is not None:
            return report
    with contextlib.ExitStack() as stack:
        return _sequential(stack, chunk)


# -- the parallel pass -------------------------------------------------------------------------------------------------
def _parallel(stack: contextlib.ExitStack, chunk: int, size: int, span: int, processes: int) -> AuditReport | None:
    """The audit of ``size`` integrated entries by worker processes; None when anything is amiss (named sequentially)."""
    keys, heads = _keys_and_heads()
    if db.session.scalar(sa.select(sa.func.count()).select_from(LogEntry).where(LogEntry.index.is_not(None))) != size:
        return None
    tasks = []
    for start in range(0, size, span):
        end = min(start + span, size)
        tasks.append((start, end, sorted({s - start for s in heads if start < s < end} | {end - start})))
    workflows = dict(db.session.execute(sa.select(WorkflowInstance.id, WorkflowInstance.workflow)).all())
    report = AuditReport(entries=size)
    top: list[bytes] = []  # the frontier of the spans already folded, a tree whose leaves are span roots
    final: list[bytes] = []
    level_hashes: dict[int, bytearray] = {0: bytearray(), 1: bytearray()}
    others: list[tuple] = []
    # Never Pool.terminate (the context manager's exit): terminating while the pool's task thread still feeds spans can
    # leave that thread waiting on the queue's lock forever (seen under load). Closing lets the workers drain the
    # remaining spans and exit; an early stop only skips reading their results.
    pool = _pool_context().Pool(processes, initializer=_start_worker, initargs=(db.engine.url, workflows))
    try:
        for number, ((start, end, _), result) in enumerate(zip(tasks, pool.imap(_check_span, tasks), strict=True)):
            if result is None:
                return None
            frontiers, leaves, tile_roots, span_others = result
            others += span_others
            level_hashes[0] += leaves
            level_hashes[1] += tile_roots
            for local_size, frontier in frontiers.items():
                head = heads.get(start + local_size)
                if head is not None:
                    _check_head(report, head, merkle.frontier_root(top + frontier), keys)
            final = top + frontiers[end - start]
            if end - start == span:
                merkle.frontier_push(top, number, frontiers[span][0])
    finally:
        pool.close()
        pool.join()
    if not report.ok:
        return None
    if span < tiles.WIDTH:  # the spans were smaller than a tile: its roots are made here
        level_hashes[1] = _roots_of_full_tiles(level_hashes[0])
    level = 1
    while len(level_hashes[level]) >= tiles.TILE_BYTES:
        level_hashes[level + 1] = _roots_of_full_tiles(level_hashes[level])
        level += 1
    checker = EntryChecker(workflows.get, _attestation_rows(db.session.connection()))
    _finish(report, stack, chunk, checker, others, heads, keys, level_hashes, merkle.frontier_root(final))
    report.processes = processes
    return report if report.ok else None


def _roots_of_full_tiles(hashes: bytearray) -> bytearray:
    """The root of each full tile of ``hashes`` (concatenated): the hashes of the tile level above."""
    return bytearray(
        b"".join(tiles.perfect_root(bytes(hashes[i : i + tiles.TILE_BYTES])) for i in range(0, len(hashes) - tiles.TILE_BYTES + 1, tiles.TILE_BYTES))
    )


def _pool_context():
    # fork starts the workers at once with govflow already imported (spawn would import it again in each). A forked
    # worker inherits the parent's database connections but never touches them: it opens its own engine.
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)


_worker: dict = {}


def _start_worker(url: sa.URL, workflows: dict[int, str]) -> None:
    """Set up an audit worker process: an engine of its own and the workflow of each instance."""
    # The scan makes short-lived containers per entry and no reference cycles: full collections over the heap inherited
    # from the parent only cost time.
    gc.disable()
    engine = _worker["engine"] = sa.create_engine(url, poolclass=sa.pool.NullPool)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _map_file)
    _worker["workflows"] = workflows


def _map_file(dbapi_connection, _record) -> None:
    # The workers only read: SQLite maps the file instead of copying each page into its cache.
    dbapi_connection.execute(f"PRAGMA mmap_size = {1 << 40}")


def _check_span(task: tuple[int, int, list[int]]) -> tuple | None:
    """In a worker, check entries [start, end): (frontiers at the asked sizes, concatenated leaf hashes, entries of
    other acts to check against their sources), or None when anything is amiss."""
    start, end, sizes = task
    engine = _worker["engine"]
    with engine.connect() as connection:
        checker = _worker.get("checker")
        if checker is None:
            checker = _worker["checker"] = EntryChecker(_worker["workflows"].get, None)
        checker.attestation_rows = _attestation_rows(connection)
        cursor = connection.connection.driver_connection.cursor()
        cursor.execute(_SPAN_SQL if engine.dialect.paramstyle == "qmark" else _SPAN_SQL.replace("?", "%s"), (start, end))
        hashes: list[bytes] = []
        outside, attested, others = [], [], []
        push, sha256, build, holds = hashes.append, hashlib.sha256, checker.build, entries.leaf_checker("transition")
        expected = start
        # A batch of rows is gone over twice, leaf hashes first and contents next: each loop's code and data stay in
        # the processor's caches.
        while rows := cursor.fetchmany(_BATCH):
            if rows[0][3].__class__ is not bytes:  # psycopg may hand out memoryviews
                rows = [(r[0], r[1], _bytes(r[2]), bytes(r[3]), bytes(r[4]), *r[5:]) for r in rows]
            for row in rows:
                if row[0] != expected or sha256(b"\x00" + row[3]).digest() != row[4]:
                    return None
                push(row[4])
                expected += 1
            for row in rows:
                if row[1] == "transition":
                    if row[5] is None or not holds(row[3], row[2], build(*row[5:18])):
                        return None
                elif row[5] is not None:  # another kind of entry naming a history row
                    return None
                else:
                    outside.append(row[0])
        if expected != end:
            return None
        for first in range(0, len(outside), 500):
            for row in connection.execute(_ENTRIES_BY_INDEX, {"indexes": outside[first : first + 500]}):
                row = (row[0], row[1], row[2], _bytes(row[3]), _bytes(row[4]), _bytes(row[5]), *row[6:])
                (attested if row[2] in ("attestation", "revocation") else others).append(tuple(row[:8]))
        if checker.attestation_problems(attested):
            return None
    tree = merkle.levels(hashes)
    # Spans are aligned, so the span's nodes of height 8 are the roots of its full tiles (the tile level above).
    tile_roots = b"".join(tree[8]) if len(tree) > 8 else b""
    return merkle.frontiers(hashes, sizes, tree), b"".join(hashes), tile_roots, others
