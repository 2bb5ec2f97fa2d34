"""What the transparency log commits to, private by design: the content of each kind of act, and the public leaf.

A leaf never carries an act's content. Its input is the canonical JSON ``{"commitment": <hex>, "type": "govflow.<kind>"}``
where the commitment is SHA-256(salt || content): the content is the act's canonical JSON (a history row, a ballot, a
recusal...), and the salt is 16 random bytes kept beside the entry, so that even a guessable act (a move from "draft"
to "declared" at a known minute) cannot be confirmed by guessing. A signed credential is not guessable (it carries a
random id and a signature), so it is committed unsalted: whoever holds the credential finds its leaf from it alone.

Everything here is pure (no app, no database): the audit's worker processes and the migrations use it too.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

SALT_BYTES = 16
KINDS = ("transition", "attestation", "revocation", "ballot", "tally", "recusal", "exclusion", "declaration", "score")
# Kinds whose source row is updated in place (a changed ballot, a re-saved scoring sheet): each change adds an entry,
# and the audit holds the row to its latest entry. Every other kind's source row never changes once logged.
LATEST_ONLY = ("ballot", "score")
UNSALTED = ("attestation",)


def encode_entry(payload: dict[str, Any] | list[Any]) -> bytes:
    """Canonical bytes of a log entry (orjson with sorted keys; equal to RFC 8785 JCS for these payloads)."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def commitment(content: bytes, salt: bytes | None) -> bytes:
    """SHA-256(salt || content): what the public leaf says of the act."""
    return hashlib.sha256(salt + content if salt else content).digest()


_LEAF_HEAD = b'{"commitment":"'


def leaf_input(kind: str, digest: bytes) -> bytes:
    """The public leaf input: the commitment and the kind, canonical JSON (keys in order, no spaces)."""
    return _LEAF_HEAD + digest.hex().encode() + b'","type":"govflow.' + kind.encode() + b'"}'


def leaf_of(kind: str, content: bytes, salt: bytes | None) -> bytes:
    """The leaf input of an act of ``kind`` with ``content`` and ``salt``."""
    return leaf_input(kind, commitment(content, salt))


def iso(moment: datetime | str | None) -> str | None:
    """UTC time with microseconds; also takes SQLite's stored text (what the audit reads, unparsed, for speed)."""
    if moment is None:
        return None
    if isinstance(moment, str):
        if len(moment) == 26 and moment[10] == " ":  # SQLAlchemy's SQLite format: YYYY-MM-DD HH:MM:SS.ffffff
            return moment.replace(" ", "T") + "Z"
        moment = datetime.fromisoformat(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def digest(text: str | None) -> str | None:
    """Hex SHA-256 of a text, None for none or empty."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def json_digest(value: dict[str, Any] | list[Any] | None) -> str | None:
    """Hex SHA-256 of a JSON value's canonical bytes, None for an empty one."""
    return hashlib.sha256(encode_entry(value)).hexdigest() if value else None


def transition_entry(
    instance_id: int,
    workflow: str | None,
    definition_version: int,
    kind: str,
    trigger: str | None,
    from_state: str | None,
    to_state: str,
    actor_id: int | None,
    at: datetime | str,
    comment: str | None,
    inputs: dict[str, Any] | None,
    version: int | None = None,
    due_at: datetime | str | None = None,
    due_trigger: str | None = None,
) -> bytes:
    """The content of a history row: what moved, when, by whom, and the instance's version and deadline after it.

    Comments and inputs appear as digests. The version and deadline let the audit hold every instance's current row
    (what every page shows) to its last logged history row.
    """
    # The keys are written in sorted order, so plain orjson gives encode_entry's canonical bytes without sorting them
    # again (the encoding tests hold the result to RFC 8785): audit verify rebuilds the content of every history row.
    return orjson.dumps(
        {
            "actor": actor_id,
            "at": iso(at),
            "comment_sha256": digest(comment),
            "definition_version": definition_version,
            "due_at": iso(due_at),
            "due_trigger": due_trigger,
            "from": from_state,
            "inputs_sha256": json_digest(inputs),
            "instance": instance_id,
            "kind": kind,
            "to": to_state,
            "trigger": trigger,
            "type": "govflow.transition",
            "version": version,
            "workflow": workflow,
        }
    )


def transition_entry_builder(workflow_of: Callable[[int], str | None]) -> Callable[..., bytes]:
    """A function giving ``transition_entry``'s bytes for history rows read raw, for ``audit verify``'s millions of rows.

    It is called as ``build(instance_id, definition_version, kind, trigger, from_state, to_state, actor_id, at, comment,
    inputs, version, due_at, due_trigger)``, ``inputs`` as the database returns it (JSON text on SQLite). The parts that
    repeat from row to row (an actor, a definition version with a source state, an instance, a move with its workflow)
    are encoded once by orjson and kept; only the times, the version and the two digests are made per row.

    Python's equality makes 1, 1.0 and True one key, so the parts are kept and looked up only for integers, strings and
    None (what the columns hold); a row with any other value is encoded whole by ``transition_entry``. The bytes are
    ``transition_entry``'s for any values.
    """
    dumps, sha256, loads, sort_keys = orjson.dumps, hashlib.sha256, orjson.loads, orjson.OPT_SORT_KEYS
    actors: dict[int | None, bytes] = {}
    heads: dict[int, bytes] = {}
    middles: dict[tuple[str | None, str | None], bytes] = {}
    instances: dict[int, tuple[bytes, bytes, str | None]] = {}
    tails: dict[tuple[str, str, str | None], bytes] = {}

    # A row's values are as the database returned them (hence Any): build checks their classes before relying on them.
    def whole(
        instance_id: Any,
        definition_version: Any,
        kind: Any,
        trigger: Any,
        source: Any,
        dest: Any,
        actor_id: Any,
        at: Any,
        comment: Any,
        inputs: Any,
        version: Any,
        due_at: Any,
        due_trigger: Any,
    ) -> bytes:
        return transition_entry(
            instance_id, workflow_of(instance_id), definition_version, kind, trigger, source, dest, actor_id, at, comment, inputs, version, due_at, due_trigger
        )

    def build(
        instance_id: Any,
        definition_version: Any,
        kind: Any,
        trigger: Any,
        source: Any,
        dest: Any,
        actor_id: Any,
        at: Any,
        comment: Any,
        inputs: Any,
        version: Any,
        due_at: Any,
        due_trigger: Any,
    ) -> bytes:
        if inputs.__class__ is str:
            inputs = loads(inputs) if inputs not in ("{}", "null") else None
        if (
            instance_id.__class__ is not int
            or definition_version.__class__ is not int
            or (actor_id.__class__ is not int and actor_id is not None)
            or kind.__class__ is not str
            or dest.__class__ is not str
            or (trigger.__class__ is not str and trigger is not None)
            or (source.__class__ is not str and source is not None)
            or (due_trigger.__class__ is not str and due_trigger is not None)
            or (version.__class__ is not int and version is not None)
        ):
            return whole(instance_id, definition_version, kind, trigger, source, dest, actor_id, at, comment, inputs, version, due_at, due_trigger)
        actor = actors.get(actor_id)
        if actor is None:
            actor = actors[actor_id] = b'{"actor":' + dumps(actor_id) + b',"at":'
        head = heads.get(definition_version)
        if head is None:
            head = heads[definition_version] = b',"definition_version":' + dumps(definition_version) + b',"due_at":'
        middle = middles.get((due_trigger, source))
        if middle is None:
            middle = middles[due_trigger, source] = b',"due_trigger":' + dumps(due_trigger) + b',"from":' + dumps(source) + b',"inputs_sha256":'
        instance = instances.get(instance_id)
        if instance is None:
            workflow = workflow_of(instance_id)
            if workflow.__class__ is not str and workflow is not None:
                return whole(instance_id, definition_version, kind, trigger, source, dest, actor_id, at, comment, inputs, version, due_at, due_trigger)
            instance = instances[instance_id] = (b',"instance":' + dumps(instance_id) + b',"kind":', b',"workflow":' + dumps(workflow) + b"}", workflow)
        tail = tails.get((kind, dest, trigger))
        if tail is None:
            tail = tails[kind, dest, trigger] = (
                dumps(kind) + b',"to":' + dumps(dest) + b',"trigger":' + dumps(trigger) + b',"type":"govflow.transition","version":'
            )
        return b"".join(
            (
                actor,
                # iso's first case in line: a function call is a fiftieth of the row's time
                dumps(at.replace(" ", "T") + "Z" if at.__class__ is str and len(at) == 26 and at[10] == " " else iso(at)),
                b',"comment_sha256":"' + sha256(comment.encode("utf-8")).hexdigest().encode() + b'"' if comment else b',"comment_sha256":null',
                head,
                b"null" if due_at is None else dumps(iso(due_at)),
                middle,
                b'"' + sha256(dumps(inputs, option=sort_keys)).hexdigest().encode() + b'"' if inputs else b"null",
                instance[0],
                tail,
                dumps(version),
                instance[1],
            )
        )

    return build


def leaf_checker(kind: str) -> Callable[[bytes, bytes | None, bytes], bool]:
    """A function telling whether ``leaf_input`` is the leaf of ``content`` and ``salt`` for ``kind``, faster than
    comparing with ``leaf_of`` (the audit asks it for every entry): the commitment is compared as hex in place."""
    head, tail, sha256 = _LEAF_HEAD, b'","type":"govflow.' + kind.encode() + b'"}', hashlib.sha256
    start, end = len(head), len(head) + 64
    size = end + len(tail)

    def check(leaf_input: bytes, salt: bytes | None, content: bytes) -> bool:
        return (
            len(leaf_input) == size
            and leaf_input[start:end] == sha256(salt + content if salt else content).hexdigest().encode()
            and leaf_input.startswith(head)
            and leaf_input.endswith(tail)
        )

    return check


def revocation_entry(uid: str, revoked_at: datetime | str | None, reason: str | None) -> bytes:
    """The content of the revocation of attestation ``uid``."""
    return encode_entry({"type": "govflow.revocation", "attestation": f"urn:uuid:{uid}", "at": iso(revoked_at), "reason_sha256": digest(reason)})


def seal_mac(seal: bytes, label: str, value: str | int | None) -> str | None:
    """HMAC-SHA-256 of ``label:value`` under a vote round's secret seal: stable within the round, meaningless outside.

    It names a voter (or hides a rationale) in a ballot that is opened after publication: ballots of one voter can be
    told apart from another's without saying who voted what.
    """
    if value is None or value == "":
        return None
    return hmac.new(seal, f"{label}:{value}".encode(), hashlib.sha256).hexdigest()


def ballot_entry(round_id: int, seal: bytes, member_id: int, choice: str, rationale: str | None, at: datetime | str) -> bytes:
    """The content of a cast or changed ballot: the round, a pseudonym of the voter, the choice, a keyed digest of the
    rationale, the time. Committed salted while the vote is sealed; opened once the decision is published."""
    return encode_entry(
        {
            "type": "govflow.ballot",
            "round": round_id,
            "voter": seal_mac(seal, "voter", member_id),
            "choice": choice,
            "rationale": seal_mac(seal, "rationale", rationale),
            "at": iso(at),
        }
    )


def tally_entry(round_id: int, closed_at: datetime | str, eligible: int, ballot_leaves: list[str], tally: dict[str, Any]) -> bytes:
    """The content of a vote's close: the leaf hashes (hex) of exactly the ballots counted, and the tally made of them."""
    return encode_entry(
        {
            "type": "govflow.tally",
            "round": round_id,
            "closed_at": iso(closed_at),
            "eligible": eligible,
            "ballots": sorted(ballot_leaves),
            "counts": tally.get("counts", {}),
            "voted": tally.get("voted"),
            "result": tally.get("result"),
            "decision": tally.get("decision"),
        }
    )


def recusal_entry(referral_id: int, member_id: int, kind: str, reason: str, recorded_by: int | None, at: datetime | str) -> bytes:
    """The content of a recusal from a referral."""
    return encode_entry(
        {
            "type": "govflow.recusal",
            "referral": referral_id,
            "member": member_id,
            "kind": kind,
            "reason_sha256": digest(reason),
            "recorded_by": recorded_by,
            "at": iso(at),
        }
    )


def exclusion_entry(application_id: int, evaluator_id: int, kind: str, reason: str, at: datetime | str) -> bytes:
    """The content of an evaluator's exclusion from an application."""
    return encode_entry(
        {"type": "govflow.exclusion", "application": application_id, "evaluator": evaluator_id, "kind": kind, "reason_sha256": digest(reason), "at": iso(at)}
    )


def declaration_entry(user_id: int, version: int, interests: list[dict[str, Any]], personal_links: str | None, at: datetime | str) -> bytes:
    """The content of one version of a declaration of interests."""
    return encode_entry(
        {
            "type": "govflow.declaration",
            "user": user_id,
            "version": version,
            "interests_sha256": json_digest(interests),
            "personal_links_sha256": digest(personal_links),
            "at": iso(at),
        }
    )


def score_entry(application_id: int, evaluator_id: int, scores: dict[str, int], comments: dict[str, str], comment: str | None, at: datetime | str) -> bytes:
    """The content of an evaluator's scoring sheet as saved (each save adds an entry)."""
    return encode_entry(
        {
            "type": "govflow.score",
            "application": application_id,
            "evaluator": evaluator_id,
            "scores_sha256": json_digest(scores),
            "comments_sha256": json_digest(comments),
            "comment_sha256": digest(comment),
            "at": iso(at),
        }
    )
