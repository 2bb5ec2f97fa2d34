"""The transparency log in the database: serialised appends, signed tree heads, proofs (RFC 6962 / RFC 9162).

Appends lock the single ``log_state`` row (``SELECT … FOR UPDATE``), so concurrent transactions queue and
never take the same index; the primary key on the index backs that up. The row also keeps the Merkle
frontier, so a tree head is signed without reading the leaves.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..extensions import db
from ..instances.models import InstanceHistory, WorkflowInstance
from . import merkle
from .keys import signing_key
from .models import Attestation, LogEntry, LogState, TreeHead
from .sth import sign_tree_head

_STATE_KEY = "govflow.log_state"
MAX_ENTRIES_PER_PAGE = 256

# The log_state row exists from the moment the table does (here for create_all; the migration inserts it too).
sa.event.listen(
    LogState.__table__,
    "after_create",
    sa.DDL("INSERT INTO log_state (id, size, frontier, attestations_issued) VALUES (1, 0, '[]', 0)"),
)


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_locked_state(session, transaction) -> None:
    """The lock ends with the outermost transaction: forget the cached row."""
    if transaction.parent is None:
        session.info.pop(_STATE_KEY, None)


def locked_state() -> LogState:
    """The log_state row, locked for the rest of this transaction (one SELECT … FOR UPDATE per transaction)."""
    state = db.session.info.get(_STATE_KEY)
    if state is None or state not in db.session:
        state = db.session.get(LogState, 1, with_for_update=True, populate_existing=True)
        if state is None:
            raise RuntimeError("the log_state row is missing: run 'govflow db upgrade'")
        db.session.info[_STATE_KEY] = state
    return state


def encode_entry(payload: dict) -> bytes:
    """Canonical bytes of a log entry (orjson with sorted keys; equal to RFC 8785 JCS for these payloads)."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def _iso(moment: datetime | str) -> str:
    """UTC time with microseconds; also takes SQLite's stored text (what the audit reads, unparsed, for speed)."""
    if isinstance(moment, str):
        if len(moment) == 26 and moment[10] == " ":  # SQLAlchemy's SQLite format: YYYY-MM-DD HH:MM:SS.ffffff
            return moment.replace(" ", "T") + "Z"
        moment = datetime.fromisoformat(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _digest(text: str | None) -> str | None:
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def transition_entry(
    instance_id: int,
    workflow: str,
    definition_version: int,
    kind: str,
    trigger: str | None,
    from_state: str | None,
    to_state: str,
    actor_id: int | None,
    at: datetime | str,
    comment: str | None,
    inputs: dict | None,
) -> bytes:
    """The log entry of a history row: what moved, when and by whom; comments and inputs only as digests."""
    # The keys are written in sorted order, so plain orjson gives encode_entry's canonical bytes without sorting them
    # again (the encoding tests hold the result to RFC 8785): sorting was about a fifth of the cost, and audit verify
    # rebuilds the entry of every history row.
    return orjson.dumps(
        {
            "actor": actor_id,
            "at": _iso(at),
            "comment_sha256": _digest(comment),
            "definition_version": definition_version,
            "from": from_state,
            "inputs_sha256": hashlib.sha256(encode_entry(inputs)).hexdigest() if inputs else None,
            "instance": instance_id,
            "kind": kind,
            "to": to_state,
            "trigger": trigger,
            "type": "govflow.transition",
            "workflow": workflow,
        }
    )


def transition_entry_builder(workflow_of: Callable[[int], str | None]) -> Callable[..., bytes]:
    """A function giving ``transition_entry``'s bytes for history rows read raw, for ``audit verify``'s millions of rows.

    It is called as ``build(instance_id, version, kind, trigger, from_state, to_state, actor_id, at, comment, inputs)``,
    ``inputs`` as the database returns it (JSON text on SQLite). The parts that repeat from row to row (an actor, a
    definition version with a source state, an instance, a move with its workflow) are encoded once by orjson and
    kept; only the time and the two digests are made per row, and the parts are joined in key order.

    Python's equality makes 1, 1.0 and True one key, so the parts are kept and looked up only for integers, strings and
    None (what the columns hold); a row with any other value, a 1.0 in a table rebuilt without types say, is encoded
    whole by ``transition_entry``. The bytes are ``transition_entry``'s for any values.
    """
    dumps, sha256, loads, sort_keys = orjson.dumps, hashlib.sha256, orjson.loads, orjson.OPT_SORT_KEYS
    actors: dict = {}
    heads: dict = {}
    instances: dict = {}
    tails: dict = {}

    def build(instance_id, version, kind, trigger, source, dest, actor_id, at, comment, inputs) -> bytes:
        if inputs.__class__ is str:
            inputs = loads(inputs) if inputs not in ("{}", "null") else None
        if (
            instance_id.__class__ is not int
            or version.__class__ is not int
            or (actor_id.__class__ is not int and actor_id is not None)
            or kind.__class__ is not str
            or dest.__class__ is not str
            or (trigger.__class__ is not str and trigger is not None)
            or (source.__class__ is not str and source is not None)
        ):
            return transition_entry(instance_id, workflow_of(instance_id), version, kind, trigger, source, dest, actor_id, at, comment, inputs)
        actor = actors.get(actor_id)
        if actor is None:
            actor = actors[actor_id] = b'{"actor":' + dumps(actor_id) + b',"at":'
        head = heads.get((version, source))
        if head is None:
            head = heads[version, source] = b',"definition_version":' + dumps(version) + b',"from":' + dumps(source) + b',"inputs_sha256":'
        instance = instances.get(instance_id)
        if instance is None:
            workflow = workflow_of(instance_id)
            if workflow.__class__ is not str and workflow is not None:
                return transition_entry(instance_id, workflow, version, kind, trigger, source, dest, actor_id, at, comment, inputs)
            instance = instances[instance_id] = (b',"instance":' + dumps(instance_id) + b',"kind":', workflow)
        tail = tails.get((kind, dest, trigger, instance[1]))
        if tail is None:
            tail = tails[kind, dest, trigger, instance[1]] = (
                dumps(kind)
                + b',"to":'
                + dumps(dest)
                + b',"trigger":'
                + dumps(trigger)
                + b',"type":"govflow.transition","workflow":'
                + dumps(instance[1])
                + b"}"
            )
        return b"".join(
            (
                actor,
                # _iso's first case in line: a function call is a fiftieth of the row's time
                dumps(at.replace(" ", "T") + "Z" if at.__class__ is str and len(at) == 26 and at[10] == " " else _iso(at)),
                b',"comment_sha256":"' + sha256(comment.encode("utf-8")).hexdigest().encode() + b'"' if comment else b',"comment_sha256":null',
                head,
                b'"' + sha256(dumps(inputs, option=sort_keys)).hexdigest().encode() + b'"' if inputs else b"null",
                instance[0],
                tail,
            )
        )

    return build


def history_entry(row: InstanceHistory, workflow: str, instance_id: int) -> bytes:
    """The log entry of ``row``."""
    return transition_entry(
        instance_id, workflow, row.definition_version, row.kind, row.trigger, row.from_state, row.to_state, row.actor_id, row.at, row.comment, row.inputs
    )


def revocation_entry(attestation: Attestation) -> bytes:
    """The log entry of a revocation."""
    return revocation_payload(attestation.uid, attestation.revoked_at, attestation.revocation_reason)


def revocation_payload(uid: str, revoked_at: datetime | str | None, reason: str | None) -> bytes:
    """The log entry of the revocation of attestation ``uid``."""
    return encode_entry(
        {
            "type": "govflow.revocation",
            "attestation": f"urn:uuid:{uid}",
            "at": _iso(revoked_at) if revoked_at else None,
            "reason_sha256": _digest(reason),
        }
    )


def append(kind: str, leaf_input: bytes, history: InstanceHistory | None = None, attestation: Attestation | None = None) -> LogEntry:
    """Append an entry in this transaction: next index, leaf hash, frontier update."""
    state = locked_state()
    leaf = merkle.leaf_hash(leaf_input)
    frontier = [bytes.fromhex(h) for h in state.frontier]
    entry = LogEntry(index=state.size, kind=kind, leaf_input=leaf_input, leaf_hash=leaf, history=history, attestation=attestation)
    state.frontier = [h.hex() for h in merkle.frontier_append(frontier, state.size, leaf)]
    state.size += 1
    db.session.add(entry)
    return entry


def log_history(instance: WorkflowInstance, row: InstanceHistory) -> LogEntry:
    """Append the entry of a history row."""
    return append("transition", history_entry(row, instance.workflow, instance.id), history=row)


def _insert_ignore(model, values: dict) -> None:
    dialect = db.engine.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(model).values(**values).on_conflict_do_nothing())


def current_tree_head() -> TreeHead:
    """The signed tree head of the whole log, signing a new one when entries were added since the last."""
    state = db.session.get(LogState, 1, populate_existing=True)
    latest = db.session.scalar(sa.select(TreeHead).order_by(TreeHead.tree_size.desc()).limit(1))
    if latest is not None and latest.tree_size == state.size:
        return latest
    root = merkle.frontier_root([bytes.fromhex(h) for h in state.frontier])
    key = signing_key("log")
    timestamp = time.time_ns() // 1_000_000  # RFC 6962: milliseconds since the epoch
    sth = sign_tree_head(key.private_key, timestamp, state.size, root)
    _insert_ignore(
        TreeHead,
        {"tree_size": state.size, "timestamp": timestamp, "root_hash": root, "signature": sth["tree_head_signature"], "key_id": key.record_id},
    )
    return db.session.get(TreeHead, state.size, populate_existing=True)


def leaf_hashes(tree_size: int) -> list[bytes]:
    """The leaf hashes of the first ``tree_size`` entries, in order."""
    return list(db.session.scalars(sa.select(LogEntry.leaf_hash).where(LogEntry.index < tree_size).order_by(LogEntry.index)))


def log_size() -> int:
    """The number of entries in the log."""
    return db.session.scalar(sa.select(LogState.size).where(LogState.id == 1)) or 0
