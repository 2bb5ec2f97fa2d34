"""Queries of the public register: a bounded number of queries per page, whatever the size of the data."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from .. import bounds
from ..attestations.models import Attestation
from ..charters.models import Commitment, Signature
from ..extensions import db
from ..instances.models import InstanceHistory, WorkflowInstance
from ..organisations.models import Organisation

# Stable column names of the CSV and JSON downloads (documented in docs/register.md; add, never rename).
COLUMNS = [
    "organisation",
    "organisation_kind",
    "organisation_country",
    "organisation_identifier",
    "charter",
    "charter_version",
    "signed_at",
    "signature_status",
    "withdrawn_at",
    "withdrawal_reason",
    "signature_attestation",
    "commitment_id",
    "pillar",
    "commitment_status",
    "commitment_statement",
    "commitment_attestation",
    "commitment_attestation_revoked",
    "commitment_withdrawn_at",
    "commitment_withdrawal_reason",
]
# Drafts are private; a draft withdrawn with its signature was never declared, so it stays private too.
PUBLIC_COMMITMENT = sa.and_(WorkflowInstance.status != "draft", Commitment.statement != "")


@dataclass
class RegisterFilters:
    """What the visitor searches for."""

    q: str = ""
    charter: str = ""
    pillar: str = ""
    status: str = ""
    kind: str = ""

    def active(self) -> dict[str, str]:
        """The filters that are set (for links that keep them)."""
        return {k: v for k, v in self.__dict__.items() if v}


@dataclass(frozen=True)
class Withdrawal:
    """When a commitment was withdrawn and the reason given (the withdraw step's history row: a public act)."""

    at: datetime
    reason: str


@dataclass
class RegisterEntry:
    """One signature with its public commitments, their withdrawals and the attestations shown beside them."""

    signature: Signature
    status: str
    commitments: list[tuple[Commitment, str]] = field(default_factory=list)
    attestations: dict[int, Attestation] = field(default_factory=dict)
    withdrawals: dict[int, Withdrawal] = field(default_factory=dict)  # by commitment id


def _signatures_query(filters: RegisterFilters) -> sa.Select:
    signature_instance = sa.orm.aliased(WorkflowInstance)
    query = (
        sa.select(Signature.id)
        .join(Organisation, Organisation.id == Signature.organisation_id)
        .join(signature_instance, signature_instance.id == Signature.instance_id)
        .where(signature_instance.status != "pending")
    )
    if filters.q:
        query = query.where(sa.func.lower(Organisation.name).contains(filters.q.lower(), autoescape=True))
    if filters.charter:
        query = query.where(Signature.charter == filters.charter)
    if filters.kind:
        query = query.where(Organisation.kind == filters.kind)
    if filters.pillar or filters.status:
        inner = (
            sa.select(Commitment.id)
            .join(WorkflowInstance, WorkflowInstance.id == Commitment.instance_id)
            .where(Commitment.signature_id == Signature.id, PUBLIC_COMMITMENT)
        )
        if filters.pillar:
            inner = inner.where(Commitment.pillar == filters.pillar)
        if filters.status:
            inner = inner.where(WorkflowInstance.status == filters.status)
        query = query.where(inner.exists())
    return query


#: Counting stops here: beyond, the page says "more than" this many (a count over a million rows is not cheap).
COUNT_LIMIT = 10_000
_CURSOR = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{6})\.(\d{1,18})$")


def encode_cursor(signature: Signature) -> str:
    """A position in the register's order (newest signature first, the id breaking ties), for a page link."""
    return f"{signature.signed_at:%Y%m%dT%H%M%S%f}.{signature.id}"


def decode_cursor(text: str | None) -> tuple[datetime, int] | None:
    """The position a page link names, or None when it names none (or is not one: the first page then)."""
    found = _CURSOR.match(text or "")
    if not found:
        return None
    year, month, day, hour, minute, second, micro, ident = (int(part) for part in found.groups())
    if not (1 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
        return None
    if hour > 23 or minute > 59 or second > 59 or ident > bounds.MAX_ID:
        return None
    return datetime(year, month, day, hour, minute, second, micro), ident


@dataclass
class RegisterPage:
    """One page of the register, reached by keyset (the position of its first or last signature), never by OFFSET:
    every page costs the same however deep it is. ``total`` is exact up to ``COUNT_LIMIT`` (``more`` beyond)."""

    items: list[RegisterEntry]
    total: int
    more: bool
    newer: str | None  # the cursor of the page before (newer signatures), None on the first page
    older: str | None  # the cursor of the page after, None on the last page


def search(filters: RegisterFilters, per_page: int, after: str | None = None, before: str | None = None) -> RegisterPage:
    """The page of matching signatures after (older than) the ``after`` cursor, or before (newer than) ``before``, or
    the first; with the number of matches counted up to ``COUNT_LIMIT`` (five queries in all, whatever the size)."""
    base = _signatures_query(filters)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.limit(COUNT_LIMIT + 1).subquery()))
    key = sa.tuple_(Signature.signed_at, Signature.id)
    going_back = decode_cursor(before) is not None and decode_cursor(after) is None
    if going_back:
        query = base.where(key > sa.tuple_(*decode_cursor(before))).order_by(Signature.signed_at.asc(), Signature.id.asc())
    else:
        position = decode_cursor(after)
        query = base.where(key < sa.tuple_(*position)) if position else base
        query = query.order_by(Signature.signed_at.desc(), Signature.id.desc())
    ids = list(db.session.scalars(query.limit(per_page + 1)))
    beyond = len(ids) > per_page
    ids = ids[:per_page]
    if going_back:
        ids.reverse()
    entries = load_entries(ids)
    first, last = (entries[0].signature, entries[-1].signature) if entries else (None, None)
    has_newer = (beyond if going_back else decode_cursor(after) is not None) and first is not None
    has_older = (True if going_back else beyond) and last is not None
    return RegisterPage(
        items=entries,
        total=min(total, COUNT_LIMIT),
        more=total > COUNT_LIMIT,
        newer=encode_cursor(first) if has_newer and first is not None else None,
        older=encode_cursor(last) if has_older and last is not None else None,
    )


def load_entries(signature_ids: list[int]) -> list[RegisterEntry]:
    """Signatures with their public commitments and latest attestations, in the given order (three queries)."""
    if not signature_ids:
        return []
    rows = db.session.execute(
        sa.select(Signature, WorkflowInstance.status)
        .join(WorkflowInstance, WorkflowInstance.id == Signature.instance_id)
        .where(Signature.id.in_(signature_ids))
        .options(sa.orm.joinedload(Signature.organisation), sa.orm.lazyload(Signature.instance))
    ).all()
    entries = {s.id: RegisterEntry(s, status) for s, status in rows}
    # A withdrawn commitment's withdraw step (withdrawn is final: one row at most), read in the same query.
    withdrawn = sa.orm.aliased(InstanceHistory)
    found = db.session.execute(
        sa.select(Commitment, WorkflowInstance.status, withdrawn.at, withdrawn.inputs)
        .join(WorkflowInstance, WorkflowInstance.id == Commitment.instance_id)
        .outerjoin(withdrawn, sa.and_(withdrawn.instance_id == Commitment.instance_id, withdrawn.to_state == "withdrawn"))
        .where(Commitment.signature_id.in_(signature_ids), PUBLIC_COMMITMENT)
        .options(sa.orm.lazyload(Commitment.organisation), sa.orm.lazyload(Commitment.instance))
        .order_by(Commitment.id)
    ).all()
    commitments = [(commitment, status) for commitment, status, _at, _inputs in found]
    for commitment, status, at, inputs in found:
        entry = entries[commitment.signature_id]
        entry.commitments.append((commitment, status))
        if at is not None:
            entry.withdrawals[commitment.id] = Withdrawal(at, str((inputs or {}).get("reason") or ""))
    instance_ids = [e.signature.instance_id for e in entries.values()] + [c.instance_id for c, _ in commitments]
    latest = sa.select(sa.func.max(Attestation.id)).where(Attestation.instance_id.in_(instance_ids)).group_by(Attestation.instance_id)
    attestations = db.session.scalars(sa.select(Attestation).where(Attestation.id.in_(latest)).options(sa.orm.lazyload(Attestation.key))).all()
    by_instance = {a.instance_id: a for a in attestations}
    for entry in entries.values():
        entry.attestations = by_instance
    return [entries[i] for i in signature_ids if i in entries]


def rows(filters: RegisterFilters, base_url: str, chunk: int = 500) -> Iterator[dict]:
    """Every matching register row (one per public commitment, or one per signature without any), read ``chunk``
    signatures at a time in id order (keyset: each chunk starts after the last id read), so that memory stays flat
    however large the register: nothing holds more than one chunk."""
    last = 0
    while True:
        ids = list(db.session.scalars(_signatures_query(filters).where(Signature.id > last).order_by(Signature.id).limit(chunk)))
        if not ids:
            return
        last = ids[-1]
        for entry in load_entries(ids):
            s, org = entry.signature, entry.signature.organisation
            signature_attestation = entry.attestations.get(s.instance_id)
            common = {
                "organisation": org.name,
                "organisation_kind": org.kind,
                "organisation_country": org.country,
                "organisation_identifier": org.identifier or "",
                "charter": s.charter,
                "charter_version": s.charter_version,
                "signed_at": s.signed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "signature_status": entry.status,
                "withdrawn_at": s.withdrawn_at.strftime("%Y-%m-%dT%H:%M:%SZ") if s.withdrawn_at else "",
                "withdrawal_reason": s.withdrawal_reason or "",
                "signature_attestation": f"{base_url}/attestations/{signature_attestation.uid}.json" if signature_attestation else "",
            }
            if not entry.commitments:
                yield {**common, **{k: "" for k in COLUMNS if k not in common}}
            for commitment, status in entry.commitments:
                attestation = entry.attestations.get(commitment.instance_id)
                withdrawal = entry.withdrawals.get(commitment.id)
                yield {
                    **common,
                    "commitment_id": commitment.id,
                    "pillar": commitment.pillar,
                    "commitment_status": status,
                    "commitment_statement": commitment.statement,
                    "commitment_attestation": f"{base_url}/attestations/{attestation.uid}.json" if attestation else "",
                    "commitment_attestation_revoked": ("yes" if attestation.revoked_at else "no") if attestation else "",
                    "commitment_withdrawn_at": withdrawal.at.strftime("%Y-%m-%dT%H:%M:%SZ") if withdrawal else "",
                    "commitment_withdrawal_reason": withdrawal.reason if withdrawal else "",
                }
