"""``govflow audit verify``: recompute the log from the database and name the first entry that was tampered with.

It checks that indexes run without gaps, that each leaf hash matches its content, that each entry still matches
the history row, credential or revocation it records, that history rows appear in order and none is missing
from the log, and that every signed tree head matches the recomputed root and carries a valid signature.

A large log is first checked by worker processes, one per CPU, in aligned spans of 2^k entries: the Merkle frontier
at any size inside span c is the frontier of the c span roots before it followed by the span's own, so each span is
checked on its own. The parent folds the span roots, checks the tree heads, and checks that the history rows the
spans matched run in order and are as many as the table holds (a row inserted behind the log's back makes the
counts differ). That pass only tells a clean log from one that is not; when it finds anything, the sequential scan
runs and names the first problem.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import multiprocessing
import os
import sys
from dataclasses import dataclass, field

import orjson
import sqlalchemy as sa

from ..extensions import db
from ..instances.models import InstanceHistory, WorkflowInstance
from . import merkle
from .credentials import public_key_from_multibase
from .log import log_size, revocation_payload, transition_entry, transition_entry_builder
from .models import LogEntry, LogState, SigningKey, TreeHead
from .sth import TreeHeadError, verify_tree_head

MAX_PROBLEMS = 20
# Below this many entries the sequential scan takes well under a second: starting workers would not pay.
PARALLEL_FROM = 50_000
# Entries per worker task (a power of two, so spans are whole Merkle subtrees): a tenth of a second of work, small
# enough for the processes to finish the log at nearly the same time.
SPAN = 1 << 13
_BATCH = 1024  # rows a worker fetches at a time

_HISTORY_SQL = (
    "SELECT id, instance_id, definition_version, kind, trigger, from_state, to_state, actor_id, at, comment, inputs FROM instance_history ORDER BY id"
)
_ATTESTATIONS_SQL = "SELECT id, uid, credential, revoked_at, revocation_reason FROM attestations"
# One row per entry of a span with the history row it records, for the driver's own cursor (? placeholders). The
# attestation an entry names is read apart, for the few entries without a history row: each column costs every row
# the making of a Python object. The kind is compared in Python, byte for byte (a column rebuilt with a case-blind
# collation would let SQL take "Transition" for "transition").
_SPAN_SQL = (
    'SELECT l."index", l.leaf_input, l.leaf_hash, l.kind, h.id, h.instance_id, h.definition_version, h.kind, h.trigger, h.from_state, '
    "h.to_state, h.actor_id, h.at, h.comment, h.inputs FROM log_entries l "
    'LEFT JOIN instance_history h ON h.id = l.history_id AND h.id BETWEEN ? AND ? WHERE l."index" >= ? AND l."index" < ? ORDER BY l."index"'
)
_SPAN_OTHERS = sa.text('SELECT "index", kind, attestation_id FROM log_entries WHERE "index" IN :indexes').bindparams(sa.bindparam("indexes", expanding=True))
_SPAN_BOUNDS = sa.text('SELECT min(history_id), max(history_id) FROM log_entries WHERE "index" >= :start AND "index" < :end')
_SPAN_ATTESTATIONS = sa.text(_ATTESTATIONS_SQL + " WHERE id IN :ids").bindparams(sa.bindparam("ids", expanding=True))
_ALL_IDS = (-(2**63), 2**63 - 1)  # bounds that leave out no history row


@dataclass
class AuditReport:
    """What the audit found; ``problems`` are (entry index, sentence), first problem first."""

    entries: int = 0
    history_rows: int = 0
    tree_heads: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    processes: int = 1

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.problems

    def add(self, index: int, message: str) -> None:
        """Record a problem (the list is capped; the first ones matter most)."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((index, message))

    def lines(self) -> list[str]:
        """The report as lines of text."""
        head = f"audit: {self.entries} log entries, {self.history_rows} history rows, {self.tree_heads} signed tree heads checked"
        if self.processes > 1:
            head += f" by {self.processes} processes"
        if self.ok:
            return [head, "audit: OK, the log matches the database and every signed tree head"]
        # Stable sort: at one entry, what was found first (its own content) comes before what follows from it.
        ordered = sorted(self.problems, key=lambda p: p[0])
        first_index, first = ordered[0]
        out = [head, f"audit: FAILED, first problem at entry {first_index}: {first}"]
        out += [f"  entry {i}: {m}" for i, m in ordered[1:]]
        return out


def _check_head(report: AuditReport, head: TreeHead, root: bytes, keys: dict) -> None:
    if head.root_hash != root:
        report.add(
            head.tree_size - 1, f"the signed tree head of size {head.tree_size} does not match the log: an entry before it was altered, deleted or reordered"
        )
        return
    sth = {"tree_size": head.tree_size, "timestamp": head.timestamp, "sha256_root_hash": _b64(head.root_hash), "tree_head_signature": head.signature}
    try:
        verify_tree_head(keys[head.key_id], sth)
    except (TreeHeadError, KeyError) as exc:
        report.add(head.tree_size - 1, f"the signature of the tree head of size {head.tree_size} does not hold: {exc}")


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


def _stream(stack: contextlib.ExitStack, sql: str, chunk: int):
    """Rows of a plain SQL query, as the driver returns them (no per-row type processing: the audit reads millions).

    The result (a server-side cursor on PostgreSQL) is closed when ``stack`` closes, even if the scan stops early.
    """
    result = stack.enter_context(db.session.connection().execution_options(yield_per=chunk).exec_driver_sql(sql))
    return itertools.chain.from_iterable(result.partitions(chunk))


def _inputs(value) -> dict | None:
    if isinstance(value, str):
        return orjson.loads(value) if value not in ("{}", "null") else None
    return value


def audit_log(chunk: int = 20_000, parallel_from: int = PARALLEL_FROM, span: int = SPAN, processes: int | None = None) -> AuditReport:
    """Recompute everything from the database; return the report (problems name entries, first first)."""
    # A log of ``parallel_from`` entries or more goes to ``processes`` workers (default: one per CPU this process may
    # use), ``span`` entries per task; ``chunk`` is how many rows the sequential scan fetches at a time.
    if span < 1 or span & (span - 1):
        raise ValueError(f"the span of a worker task must be a power of two, got {span}")
    size = log_size()
    processes = min(_cpus() if processes is None else processes, (size + span - 1) // span)
    if processes > 1 and size >= parallel_from and _shareable(db.engine.url) and _joinable():
        report = _parallel_audit(size, span, processes)
        if report is not None:
            return report
    with contextlib.ExitStack() as stack:
        return _audit(stack, chunk)


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _shareable(url: sa.URL) -> bool:
    """Whether worker processes can open the database too (an in-memory SQLite database lives in one connection)."""
    if url.get_backend_name() != "sqlite":
        return True
    return url.database not in (None, "", ":memory:") and not url.database.startswith("file::memory:") and url.query.get("mode") != "memory"


def _joinable() -> bool:
    """Whether the workers' join matches an entry only with the history row the sequential scan would match it with.

    On SQLite a ``history_id`` kept as text ("5") in a column without integer affinity would still join row 5 (the
    comparison takes the id's integer affinity), where the sequential scan finds no row 5; the declared type settles
    it, and both must be tables (a view reports declared types its rows need not have). PostgreSQL refuses to compare
    an integer with text.
    """
    if db.engine.dialect.name != "sqlite":
        return True
    connection = db.session.connection()
    kinds = dict(connection.exec_driver_sql("SELECT name, type FROM sqlite_master WHERE name IN ('log_entries', 'instance_history')").all())
    declared = {row[1]: (row[2] or "").upper() for row in connection.exec_driver_sql("PRAGMA table_info(log_entries)")}
    return kinds == {"log_entries": "table", "instance_history": "table"} and "INT" in declared.get("history_id", "")


def _attestation_problem(kind: str, attestation_ref: int | None, leaf_input: bytes, attestations: dict) -> str | None:
    """Why an attestation or revocation entry no longer matches the attestations table; None when it does."""
    if attestation_ref is None:
        return f"its kind says {kind} but it names no attestation: the entry was altered"
    if attestation_ref not in attestations:
        return f"the attestation {attestation_ref} it records was deleted"
    uid, credential, revoked_at, reason = attestations[attestation_ref]
    if kind == "attestation":
        if credential.encode("utf-8") != leaf_input:
            return f"attestation urn:uuid:{uid} no longer matches the signed credential the log recorded"
    elif revocation_payload(uid, revoked_at, reason) != leaf_input:
        return f"the revocation of attestation urn:uuid:{uid} was altered or undone"
    return None


def _parallel_audit(size: int, span: int, processes: int) -> AuditReport | None:
    """The audit of a log of ``size`` entries by worker processes; None when anything is amiss (to be named sequentially)."""
    keys, heads = _keys_and_heads()
    report = AuditReport(entries=size, history_rows=db.session.scalar(sa.select(sa.func.count()).select_from(InstanceHistory)) or 0)
    # The spans below prove that each index in [0, size) is there once, in order; the count proves nothing lies beyond.
    if db.session.scalar(sa.select(sa.func.count()).select_from(LogEntry)) != size or any(s > size for s in heads):
        return None
    tasks = []
    for start in range(0, size, span):
        end = min(start + span, size)
        # The span's frontier is wanted at its end and at every signed tree head inside it.
        tasks.append((start, end, sorted({s - start for s in heads if start < s < end} | {end - start})))
    workflows = dict(db.session.execute(sa.select(WorkflowInstance.id, WorkflowInstance.workflow)).all())
    found = []
    with _pool_context().Pool(processes, initializer=_start_worker, initargs=(db.engine.url, workflows)) as pool:
        for result in pool.imap(_check_span, tasks):
            if result is None:
                return None
            found.append(result)
    top: list[bytes] = []  # the frontier of the spans already folded, a tree whose leaves are span roots
    last_history = matched = 0
    for number, ((start, end, _), (frontiers, first_history, span_last, span_matched)) in enumerate(zip(tasks, found, strict=True)):
        if span_matched:
            # Within a span ids only increase; across spans they must too, so no history row is matched twice.
            if first_history <= last_history:
                return None
            last_history, matched = span_last, matched + span_matched
        for local_size, frontier in frontiers.items():
            head = heads.get(start + local_size)
            if head is not None:
                report.tree_heads += 1
                _check_head(report, head, merkle.frontier_root(top + frontier), keys)
        if end - start == span:
            merkle.frontier_push(top, number, frontiers[span][0])
    if matched != report.history_rows or not report.ok:
        return None
    report.processes = processes
    return report


def _pool_context():
    # fork starts the workers at once with govflow already imported (spawn would import it again in each). A forked
    # worker inherits the parent's database connections but never touches them: it opens its own engine.
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)


_worker: dict = {}


def _start_worker(url: sa.URL, workflows: dict[int, str]) -> None:
    """Set up an audit worker process: an engine of its own and the workflow of each instance."""
    # The scan makes two short-lived containers per entry, so the collector kept running full collections over the
    # whole heap inherited from the parent (7 % of a worker's time in a profile, and pages copied for nothing); the
    # worker makes no reference cycles and ends with the audit.
    gc.disable()
    engine = _worker["engine"] = sa.create_engine(url, poolclass=sa.pool.NullPool)
    if engine.dialect.name == "sqlite":
        # The workers only read: SQLite maps the file instead of copying each page into its cache (the two workers took
        # about 5 % less time). SQLite caps the size at what it was built with.
        sa.event.listen(engine, "connect", _map_file)
    # One builder for all the worker's spans: what it keeps of instances and moves serves the next span too.
    _worker["build"] = transition_entry_builder(workflows.get)


def _map_file(dbapi_connection, _record) -> None:
    dbapi_connection.execute(f"PRAGMA mmap_size = {1 << 40}")


def _check_span(task: tuple[int, int, list[int]]) -> tuple | None:
    """In a worker, check entries [start, end): their frontiers at the asked sizes and the history ids they match, or None."""
    start, end, sizes = task
    engine = _worker["engine"]
    with engine.connect() as connection:
        # PostgreSQL needs the span's history ids to plan a range scan of instance_history (else it reads the whole
        # table for every span); SQLite looks each row up by id anyway, and finding the bounds would cost another pass.
        bounds = connection.execute(_SPAN_BOUNDS, {"start": start, "end": end}).one() if engine.dialect.name == "postgresql" else _ALL_IDS
        # The driver's own cursor: SQLAlchemy rows would cost about as much again as the checks.
        cursor = connection.connection.driver_connection.cursor()
        cursor.execute(_SPAN_SQL if engine.dialect.paramstyle == "qmark" else _SPAN_SQL.replace("?", "%s"), (*bounds, start, end))
        leaves: list[bytes] = []
        others: dict[int, bytes] = {}  # entries with no history row: attestations and revocations, checked once the span is read
        push, sha256, build = leaves.append, hashlib.sha256, _worker["build"]
        expected, first_history, last_history = start, None, 0
        # A batch of rows is gone over twice, leaf hashes first and history rows next: each loop's code and data stay
        # in the processor's caches (measured: 8.3 µs an entry instead of 9.4 for one loop doing both).
        while rows := cursor.fetchmany(_BATCH):
            if rows[0][1].__class__ is not bytes:  # psycopg may hand out memoryviews
                rows = [(row[0], bytes(row[1]), bytes(row[2]), *row[3:]) for row in rows]
            for row in rows:
                if row[0] != expected or sha256(b"\x00" + row[1]).digest() != row[2]:
                    return None
                push(row[2])
                expected += 1
            for index, leaf_input, _, kind, h_id, instance_id, version, h_kind, trigger, source, dest, actor_id, at, comment, inputs in rows:
                if h_id is None or kind != "transition":
                    others[index] = leaf_input
                    continue
                # Strictly increasing ids: no row matched twice, and the order the log must follow.
                if h_id <= last_history or build(instance_id, version, h_kind, trigger, source, dest, actor_id, at, comment, inputs) != leaf_input:
                    return None
                if first_history is None:
                    first_history = h_id
                last_history = h_id
        if start + len(leaves) != end or not _others_hold(connection, others):
            return None
    return merkle.frontiers(leaves, sizes), first_history, last_history, len(leaves) - len(others)


def _others_hold(connection: sa.Connection, others: dict[int, bytes]) -> bool:
    """Whether entries that match no history row are attestations and revocations matching the attestations table."""
    indexes = sorted(others)
    entries = []
    for first in range(0, len(indexes), 500):  # within any SQLite's limit on bound parameters
        entries += connection.execute(_SPAN_OTHERS, {"indexes": indexes[first : first + 500]}).all()
    # An entry of kind "transition" here lost its history row.
    if len(entries) != len(others) or any(kind == "transition" for _, kind, _ in entries):
        return False
    refs = sorted({ref for _, _, ref in entries if ref is not None})
    attestations = {}
    for first in range(0, len(refs), 500):
        attestations.update((row[0], row[1:]) for row in connection.execute(_SPAN_ATTESTATIONS, {"ids": refs[first : first + 500]}))
    return not any(_attestation_problem(kind, ref, others[index], attestations) for index, kind, ref in entries)


def _keys_and_heads() -> tuple[dict, dict[int, TreeHead]]:
    """The public keys that sign tree heads, by record id, and the signed tree heads, by size."""
    keys = {k.id: public_key_from_multibase(k.public_key_multibase) for k in db.session.scalars(sa.select(SigningKey))}
    return keys, {h.tree_size: h for h in db.session.scalars(sa.select(TreeHead))}


def _audit(stack: contextlib.ExitStack, chunk: int) -> AuditReport:
    report = AuditReport()
    keys, heads = _keys_and_heads()
    workflows = dict(db.session.execute(sa.select(WorkflowInstance.id, WorkflowInstance.workflow)).all())
    attestations = {row[0]: row[1:] for row in db.session.connection().exec_driver_sql(_ATTESTATIONS_SQL)}
    # History rows are read in id order beside the log (a merge, not a join): rows the log has not reached yet wait
    # in ``pending``; what is left there at the end was never logged.
    history = _stream(stack, _HISTORY_SQL, chunk)
    pending: dict[int, tuple] = {}
    sha256 = hashlib.sha256
    frontier: list[bytes] = []
    expected = 0
    last_history = 0
    for index, kind, history_ref, attestation_ref, leaf_input, leaf in _stream(
        stack, 'SELECT "index", kind, history_id, attestation_id, leaf_input, leaf_hash FROM log_entries ORDER BY "index"', chunk
    ):
        if not isinstance(leaf_input, bytes):  # psycopg may hand out memoryviews
            leaf_input, leaf = bytes(leaf_input), bytes(leaf)
        if index != expected:
            what = "deleted" if index > expected else "duplicated or reordered"
            report.add(expected, f"the log jumps from entry {expected - 1} to entry {index}: entries were {what}")
            break
        if sha256(b"\x00" + leaf_input).digest() != leaf:
            report.add(index, "its leaf hash does not match its content: the entry was altered")
        if kind == "transition":
            row = pending.pop(history_ref, None) if pending else None
            while row is None:
                row = next(history, None)
                if row is None or row[0] == history_ref:
                    break
                pending[row[0]] = row  # logged later (reordered) or never (reported at the end)
                row = None
            if row is None:
                report.add(index, f"history row {history_ref} it records was deleted")
            else:
                h_id, instance_id, version, h_kind, trigger, source, dest, actor_id, at, comment, inputs = row
                rebuilt = transition_entry(
                    instance_id, workflows.get(instance_id), version, h_kind, trigger, source, dest, actor_id, at, comment, _inputs(inputs)
                )
                if rebuilt != leaf_input:
                    report.add(index, f"history row {h_id} no longer matches what the log recorded: the row was altered")
                if h_id < last_history:
                    report.add(index, f"history row {h_id} comes after row {last_history} in the log: rows were reordered")
                last_history = max(last_history, h_id)
        else:
            problem = _attestation_problem(kind, attestation_ref, leaf_input, attestations)
            if problem:
                report.add(index, problem)
        # The frontier update of merkle.frontier_push, inlined: this loop runs once per entry of the whole log.
        node, n = leaf, index
        while n & 1:
            node = sha256(b"\x01" + frontier.pop() + node).digest()
            n >>= 1
        frontier.append(node)
        expected += 1
        head = heads.get(expected)
        if head is not None:
            report.tree_heads += 1
            _check_head(report, head, merkle.frontier_root(frontier), keys)
    report.entries = expected
    state_size = db.session.scalar(sa.select(LogState.size).where(LogState.id == 1)) or 0
    if state_size != expected and not report.problems:
        report.add(expected, f"the log should hold {state_size} entries but {expected} were found: the last entries were deleted")
    for size in sorted(s for s in heads if s > expected):
        report.add(expected, f"a signed tree head covers {size} entries but only {expected} remain: entries were deleted")
    report.history_rows = db.session.scalar(sa.select(sa.func.count()).select_from(InstanceHistory)) or 0
    unlogged = [row[0] for row in pending.values()] + [row[0] for row in history]
    if unlogged:
        report.add(expected, f"history row {min(unlogged)} is not in the log: it was inserted behind the log's back")
    return report
