"""Attestations issued by the engine: every history row is logged; transitions marked ``attest`` issue a signed
credential and those marked ``revoke`` revoke the instance's earlier ones, all in the transition's transaction.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..engine import SYSTEM, TransitionEvent
from ..extensions import db
from ..instances.models import InstanceHistory, WorkflowInstance
from ..instances.registry import WorkflowRegistry
from ..instances.services import get_registry
from . import log
from .credentials import canonical_json, sign_credential
from .keys import signing_key
from .models import Attestation
from .statuslist import MIN_BITS, status_entry

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
    """Sign and store the credential of ``event`` and append it to the log (same transaction)."""
    key = signing_key("attestation")
    state = log.locked_state()
    slot = state.attestations_issued
    state.attestations_issued += 1
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
        instance=instance,
        history=row,
        key_id=key.record_id,
        act=transition.trigger,
        summary=f"{instance.title}: {transition.title['en']}"[:300],
        status_list=number,
        status_index=index,
        credential=text,
        issued_at=event.at,
    )
    db.session.add(attestation)
    log.append("attestation", text.encode("utf-8"), attestation=attestation)
    return attestation


def revoke_attestations(instance: WorkflowInstance, row: InstanceHistory, reason: str) -> list[Attestation]:
    """Revoke every live attestation of ``instance`` (its status bit is set; the record stays), and log it."""
    live = db.session.scalars(
        sa.select(Attestation).where(Attestation.instance_id == instance.id, Attestation.revoked_at.is_(None)).order_by(Attestation.id)
    ).all()
    for attestation in live:
        attestation.revoked_at = row.at
        attestation.revocation_reason = reason
        attestation.revoked_by_history_id = row.id
        log.append("revocation", log.revocation_entry(attestation), attestation=attestation)
    return list(live)


def on_history(instance: WorkflowInstance, row: InstanceHistory, event: TransitionEvent | None) -> None:
    """History hook: log the row; issue or revoke attestations as the transition's definition says."""
    log.log_history(instance, row)
    transition = event.transition if event is not None else None
    if transition is None:
        return
    if transition.revoke:
        db.session.flush()  # the revocation records which history row revoked
        reason = event.inputs.get("reason") or event.inputs.get("comment") or transition.title["en"]
        revoke_attestations(instance, row, reason)
    if transition.attest:
        issue_attestation(instance, row, event)


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


def register(registry: WorkflowRegistry) -> None:
    """Hook the log and the attestations into every history row the workflow layer writes."""
    # The log's lock is taken before the history row gets its id, so ids follow the log's order (the audit checks it).
    registry.before_history(log.locked_state)
    registry.on_history(on_history)
    registry.panel("attestations/_panel.html", lambda instance: {"attestations": attestations_of(instance.id)})
