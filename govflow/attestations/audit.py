"""``govflow audit verify``: recompute the log from the database and name the first entry that was tampered with.

It checks that indexes run without gaps, that each leaf hash matches its content, that each entry still matches
the history row, credential or revocation it records, that history rows appear in order and none is missing
from the log, and that every signed tree head matches the recomputed root and carries a valid signature.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from dataclasses import dataclass, field

import orjson
import sqlalchemy as sa

from ..extensions import db
from ..instances.models import InstanceHistory, WorkflowInstance
from . import merkle
from .credentials import public_key_from_multibase
from .log import revocation_payload, transition_entry
from .models import LogState, SigningKey, TreeHead
from .sth import TreeHeadError, verify_tree_head

MAX_PROBLEMS = 20


@dataclass
class AuditReport:
    """What the audit found; ``problems`` are (entry index, sentence), first problem first."""

    entries: int = 0
    history_rows: int = 0
    tree_heads: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

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


def audit_log(chunk: int = 20_000) -> AuditReport:
    """Recompute everything from the database; return the report (problems name entries, first first)."""
    with contextlib.ExitStack() as stack:
        return _audit(stack, chunk)


def _audit(stack: contextlib.ExitStack, chunk: int) -> AuditReport:
    report = AuditReport()
    keys = {k.id: public_key_from_multibase(k.public_key_multibase) for k in db.session.scalars(sa.select(SigningKey))}
    heads = {h.tree_size: h for h in db.session.scalars(sa.select(TreeHead))}
    workflows = dict(db.session.execute(sa.select(WorkflowInstance.id, WorkflowInstance.workflow)).all())
    attestations = {
        row[0]: row[1:] for row in db.session.connection().exec_driver_sql("SELECT id, uid, credential, revoked_at, revocation_reason FROM attestations")
    }
    # History rows are read in id order beside the log (a merge, not a join): rows the log has not reached yet wait
    # in ``pending``; what is left there at the end was never logged.
    history = _stream(
        stack,
        "SELECT id, instance_id, definition_version, kind, trigger, from_state, to_state, actor_id, at, comment, inputs FROM instance_history ORDER BY id",
        chunk,
    )
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
        elif attestation_ref not in attestations:
            report.add(index, f"the attestation {attestation_ref} it records was deleted")
        else:
            uid, credential, revoked_at, reason = attestations[attestation_ref]
            if kind == "attestation":
                if credential.encode("utf-8") != leaf_input:
                    report.add(index, f"attestation urn:uuid:{uid} no longer matches the signed credential the log recorded")
            elif revocation_payload(uid, revoked_at, reason) != leaf_input:
                report.add(index, f"the revocation of attestation urn:uuid:{uid} was altered or undone")
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
