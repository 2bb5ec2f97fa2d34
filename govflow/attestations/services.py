"""Attestations issued by the engine: every history row is logged; transitions marked ``attest`` issue a signed
credential and those marked ``revoke`` revoke the instance's earlier ones, all in the transition's transaction.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from ..engine import SYSTEM, TransitionEvent, utcnow
from ..extensions import db, lock_row
from ..instances.models import InstanceHistory, WorkflowInstance
from ..instances.registry import Plugin
from ..instances.services import get_registry
from . import log
from .credentials import canonical_json, sign_credential
from .keys import signing_key
from .models import Attestation, SigningKey, StatusList
from .statuslist import MIN_BITS, encode_list, status_entry, status_list_credential

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"


def base_url() -> str:
    """The public address of this govflow, used in credential and status-list URLs."""
    return current_app.config["GOVFLOW_BASE_URL"].rstrip("/")


def status_list_url(number: int) -> str:
    """The stable URL of status list ``number``."""
    return f"{base_url()}/status/{number}"


def iso(moment: datetime) -> str:
    """An XML Schema dateTime in UTC, as VC 2.0 wants it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def issue_attestation(instance: WorkflowInstance, row: InstanceHistory, event: TransitionEvent) -> Attestation:
    """Sign and store the credential of ``event`` and write its pending log entry (same transaction, no shared lock).

    Its slot in the status lists is its history row's id (unique, known once the row is flushed): lists have gaps,
    which only hides each credential among more neighbours.
    """
    key = signing_key("attestation")
    if row.id is None:
        db.session.flush()
    slot = row.id - 1
    number, index = slot // MIN_BITS + 1, slot % MIN_BITS
    uid = str(uuid.uuid4())
    subject = get_registry().subjects.get(instance.subject_kind)
    claims = subject.claims(instance) if subject is not None and subject.claims is not None else {}
    transition = event.transition
    credential = {
        "@context": [VC_CONTEXT],
        "id": f"urn:uuid:{uid}",
        "type": ["VerifiableCredential", "GovflowAttestation"],
        "issuer": key.did,
        "validFrom": iso(event.at),
        "name": f"{event.definition.title['en']}: {transition.title['en']}",
        "credentialSubject": {
            "id": f"{base_url()}/instances/{instance.id}",
            "act": transition.trigger,
            "actTitle": dict(transition.title),
            "workflow": event.definition.name,
            "definitionVersion": event.definition.version,
            "fromState": event.source,
            "toState": event.dest,
            "actor": "system" if event.actor is SYSTEM else event.actor.label,
            "actedAt": iso(event.at),
            **claims,
        },
        "credentialStatus": status_entry(status_list_url(number), index),
    }
    signed = sign_credential(credential, key.private_key, iso(event.at), verification_method=key.verification_method)
    text = canonical_json(signed).decode("utf-8")
    attestation = Attestation(
        uid=uid,
        instance_id=instance.id,
        history_id=row.id,
        key_id=key.record_id,
        act=transition.trigger,
        summary=f"{instance.title}: {transition.title['en']}"[:300],
        status_list=number,
        status_index=index,
        credential=text,
        issued_at=event.at,
    )
    db.session.add(attestation)
    log.add_entry("attestation", text.encode("utf-8"), attestation=attestation)
    return attestation


def revoke_attestations(instance: WorkflowInstance, row: InstanceHistory, reason: str) -> list[Attestation]:
    """Revoke every live attestation of ``instance`` (its status bit is set; the record stays), log it, and sign the
    status lists concerned again (once per change, so that serving them costs a read)."""
    live = db.session.scalars(
        sa.select(Attestation).where(Attestation.instance_id == instance.id, Attestation.revoked_at.is_(None)).order_by(Attestation.id)
    ).all()
    for attestation in live:
        attestation.revoked_at = row.at
        attestation.revocation_reason = reason
        attestation.revoked_by_history_id = row.id
        log.add_entry("revocation", log.revocation_content(attestation), attestation=attestation)
    for number in sorted({a.status_list for a in live}):
        store_status_list(number)
    return list(live)


def on_history(instance: WorkflowInstance, row: InstanceHistory, event: TransitionEvent | None) -> None:
    """History hook, run after the domains' effects: revoke or issue attestations as the transition's definition says,
    then write the row's own log entry."""
    transition = event.transition if event is not None else None
    if transition is not None and transition.revoke:
        db.session.flush()  # the revocation records which history row revoked
        reason = event.inputs.get("reason") or event.inputs.get("comment") or transition.title["en"]
        revoke_attestations(instance, row, reason)
    if transition is not None and transition.attest:
        issue_attestation(instance, row, event)
    log.log_history(instance, row)


def _status_list_credential(number: int) -> tuple[dict, int] | None:
    """The signed Bitstring Status List credential ``number`` built from the attestations table, and its revoked count."""
    rows = db.session.execute(sa.select(Attestation.status_index, Attestation.revoked_at, Attestation.issued_at).where(Attestation.status_list == number)).all()
    if not rows:
        return None
    revoked = [index for index, revoked_at, _ in rows if revoked_at is not None]
    # Dated at its last change, so the list says when it last changed.
    changed = max([r for _, r, _ in rows if r is not None] or [min(i for _, _, i in rows)])
    key = signing_key("attestation")
    # ...but never before its signing key entered service (after a rotation), or verifiers would reject the list.
    valid_from = db.session.get(SigningKey, key.record_id).valid_from
    changed = max(changed, valid_from.replace(microsecond=0) + timedelta(seconds=1 if valid_from.microsecond else 0))
    unsigned = status_list_credential(status_list_url(number), key.did, iso(changed), encode_list(revoked, MIN_BITS))
    return sign_credential(unsigned, key.private_key, iso(changed), verification_method=key.verification_method), len(revoked)


def store_status_list(number: int) -> StatusList | None:
    """Sign status list ``number`` from the attestations table and store it (its row locked first, so two revocations on
    the same list never overwrite each other's bit)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(StatusList).values(number=number, credential="", revoked=0, updated_at=utcnow()).on_conflict_do_nothing())
    record = lock_row(StatusList, number)
    built = _status_list_credential(number)
    if built is None:
        return None
    document, revoked = built
    record.credential, record.revoked, record.updated_at = canonical_json(document).decode("utf-8"), revoked, utcnow()
    return record


def status_list_text(number: int) -> str | None:
    """The stored, signed status list ``number`` (signed on first use when no revocation has touched it yet)."""
    text = db.session.scalar(sa.select(StatusList.credential).where(StatusList.number == number))
    if text:
        return text
    record = store_status_list(number)
    if record is None:
        db.session.rollback()
        return None
    db.session.commit()
    return record.credential


def status_list_document(number: int) -> dict | None:
    """The signed status list ``number`` as a dict (None when no attestation uses it)."""
    text = status_list_text(number)
    return json.loads(text) if text else None


def attestations_of(instance_id: int) -> list[Attestation]:
    """The attestations of an instance, oldest first."""
    return list(db.session.scalars(sa.select(Attestation).where(Attestation.instance_id == instance_id).order_by(Attestation.id)))


def find_attestation(uid: str) -> Attestation | None:
    """The attestation with this id (the UUID in its urn), or None."""
    try:
        uid = str(uuid.UUID(uid))
    except ValueError:
        return None
    return db.session.scalar(sa.select(Attestation).where(Attestation.uid == uid))


def credential_of(attestation: Attestation) -> dict[str, Any]:
    """The stored credential as a dict."""
    return json.loads(attestation.credential)


# Last: a transition's credential and log entry are written once the domains' effects are done (``record_history``
# runs the recorder after the effects the definition names).
plugin = Plugin("attestations", recorder=on_history)
plugin.panel("attestations/_panel.html", lambda instance: {"attestations": attestations_of(instance.id)})
