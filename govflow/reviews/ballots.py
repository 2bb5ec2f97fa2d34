"""Review acts in the transparency log: where the audit finds them, and the opening of a round's sealed ballots.

Each ballot is committed to the log when cast or changed (salted, so the commitment says nothing while the vote is
sealed); the close commits to the leaf hashes of exactly the ballots it counted. Once the decision is published,
``ballot_openings`` gives what opens those commitments (contents and salts) with their inclusion proofs, so anyone can
check with ``govflow attest verify-ballots`` that the tally was made of ballots logged before the close, one per voter,
and that no ballot was added, dropped or changed after it. Voters appear under a pseudonym keyed by the round's secret
seal; each voter can find their own ballot's leaf, shown to them when they voted.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from ..attestations import log
from ..attestations.keys import log_origin
from ..attestations.models import LogEntry
from ..extensions import db
from ..interests.models import InterestDeclaration
from ..interests.services import declaration_content
from . import services
from .models import Decision, Recusal, Vote, VoteRound


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def ballot_rows() -> Iterator[tuple[str, bytes]]:
    """Every ballot as it stands, with the content its latest log entry must commit to."""
    query = sa.select(Vote, VoteRound).join(VoteRound, VoteRound.id == Vote.round_id).order_by(Vote.id).execution_options(yield_per=1000)
    for vote, vote_round in db.session.execute(query):
        yield str(vote.id), services.ballot_content(vote, vote_round)


def tally_rows() -> Iterator[tuple[str, bytes]]:
    """Every closed round, with the content its tally entry must commit to (the leaves of the ballots it counted)."""
    for vote_round in db.session.scalars(sa.select(VoteRound).where(VoteRound.closed_at.is_not(None)).order_by(VoteRound.id)):
        eligible = set(vote_round.eligible or [])
        counted = [v for v in services.round_votes(vote_round) if v.member_id in eligible]
        leaves = services.ballot_leaves([v.id for v in counted])
        if len(leaves) != len(counted):
            # A counted ballot with no log entry: the tally cannot be rebuilt, so it cannot match what was logged.
            yield str(vote_round.id), b"a counted ballot has no log entry"
            continue
        yield str(vote_round.id), services.tally_content(vote_round, counted, leaves)


def recusal_rows() -> Iterator[tuple[str, bytes]]:
    """Every recusal with its content."""
    for recusal in db.session.scalars(sa.select(Recusal).order_by(Recusal.referral_id, Recusal.user_id)):
        yield f"{recusal.referral_id}/{recusal.user_id}", services.recusal_content(recusal)


def declaration_rows() -> Iterator[tuple[str, bytes]]:
    """Every version of every declaration of interests with its content."""
    for declaration in db.session.scalars(sa.select(InterestDeclaration).order_by(InterestDeclaration.id)):
        yield str(declaration.id), declaration_content(declaration)


def tally_leaf(vote_round: VoteRound) -> bytes | None:
    """The leaf hash of the entry that committed to the round's counted ballots (None while it is open)."""
    log.write_pending()
    leaf = db.session.scalar(sa.select(LogEntry.leaf_hash).where(LogEntry.kind == "tally", LogEntry.ref == str(vote_round.id)).order_by(LogEntry.id.desc()))
    return bytes(leaf) if leaf is not None else None


def _opening(entry: LogEntry, content: bytes, tree) -> dict[str, Any]:
    out: dict[str, Any] = {"leaf_hash": _b64(entry.leaf_hash), "salt": _b64(entry.salt or b""), "content": content.decode("utf-8")}
    if entry.index is not None and tree is not None and entry.index < tree.size:
        out["leaf_index"] = entry.index
        out["audit_path"] = [_b64(h) for h in tree.inclusion_proof(entry.index)]
    return out


def ballot_openings(decision: Decision) -> dict[str, Any]:
    """Everything to check the decision's round offline: the tally entry and every logged ballot of the round (each
    change included), opened, with inclusion proofs at the latest checkpoint."""
    vote_round = db.session.get(VoteRound, decision.round_id)
    votes = {str(v.id): v for v in services.round_votes(vote_round)}
    rows = db.session.scalars(
        sa.select(LogEntry)
        .where(sa.or_(sa.and_(LogEntry.kind == "ballot", LogEntry.ref.in_(list(votes))), sa.and_(LogEntry.kind == "tally", LogEntry.ref == str(vote_round.id))))
        .order_by(LogEntry.id)
    ).all()
    head = log.latest_head()
    tree = log.stored_tree(head.tree_size) if head is not None else None
    latest = {}
    for entry in rows:
        if entry.kind == "ballot":
            latest[entry.ref] = entry
    ballots = []
    for entry in rows:
        if entry.kind != "ballot":
            continue
        if latest[entry.ref] is entry:
            ballots.append(_opening(entry, services.ballot_content(votes[entry.ref], vote_round), tree))
        else:
            # An earlier version of a changed ballot: its content is no longer stored, only its leaf.
            ballots.append({"leaf_hash": _b64(entry.leaf_hash), "superseded": True, **({"leaf_index": entry.index} if entry.index is not None else {})})
    tally_entry = next(e for e in reversed(rows) if e.kind == "tally")
    eligible = set(vote_round.eligible or [])
    counted = [v for v in votes.values() if v.member_id in eligible]
    return {
        "round": vote_round.id,
        "decision": decision.outcome,
        "tally": _opening(tally_entry, services.tally_content(vote_round, counted, services.ballot_leaves([v.id for v in counted])), tree),
        "ballots": ballots,
        "checkpoint": head.checkpoint if head is not None else None,
        "log_key": head.key.did if head is not None else None,
        "log_origin": log_origin(),
    }


def register_sources(registry: Any) -> None:
    """Tell the audit where review acts live."""
    registry.log_source("ballot", ballot_rows)
    registry.log_source("tally", tally_rows)
    registry.log_source("recusal", recusal_rows)
    registry.log_source("declaration", declaration_rows)
