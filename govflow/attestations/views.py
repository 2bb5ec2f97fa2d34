"""Public trust endpoints: key history, credentials and receipts, status lists, the RFC 6962-style log, /verify."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from ..access import public
from ..extensions import db
from ..instances.services import can_view_instance, get_registry
from . import log, merkle
from .credentials import sign_credential
from .forms import VerifyForm
from .keys import key_history, signing_key
from .models import Attestation, LogEntry, SigningKey, TreeHead
from .services import credential_of, find_attestation, iso, status_list_url
from .statuslist import MIN_BITS, encode_list, status_list_credential
from .verify import verify_offline

bp = Blueprint("attestations", __name__)
MAX_VERIFY_BYTES = 256 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def can_view_attestation(user, attestation: Attestation) -> bool:
    """Anyone when the subject is public (e.g. a declared commitment); otherwise those who may see the instance."""
    subject = get_registry().subjects.get(attestation.instance.subject_kind)
    if subject is not None and subject.is_public is not None and subject.is_public(attestation.instance):
        return True
    return can_view_instance(user, attestation.instance)


def _load(uid: str) -> Attestation:
    attestation = find_attestation(uid)
    if attestation is None:
        abort(404)
    if not can_view_attestation(current_user, attestation):
        abort(403)
    return attestation


def sth_json(head: TreeHead) -> dict:
    """A signed tree head as RFC 6962 get-sth JSON."""
    return {
        "tree_size": head.tree_size,
        "timestamp": head.timestamp,
        "sha256_root_hash": _b64(head.root_hash),
        "tree_head_signature": head.signature,
    }


def receipt_for(attestation: Attestation) -> dict:
    """Leaf index, inclusion proof and signed tree head proving the credential is in the log."""
    entry = db.session.scalar(sa.select(LogEntry).where(LogEntry.kind == "attestation", LogEntry.attestation_id == attestation.id))
    head = log.current_tree_head()
    path = merkle.inclusion_proof(log.leaf_hashes(head.tree_size), entry.index)
    return {
        "leaf_index": entry.index,
        "tree_size": head.tree_size,
        "audit_path": [_b64(h) for h in path],
        "sth": sth_json(head),
        "log_key": head.key.did,
    }


def status_list_document(number: int) -> dict | None:
    """The signed Bitstring Status List credential ``number`` (None when no attestation uses it)."""
    rows = db.session.execute(sa.select(Attestation.status_index, Attestation.revoked_at, Attestation.issued_at).where(Attestation.status_list == number)).all()
    if not rows:
        return None
    revoked = [index for index, revoked_at, _ in rows if revoked_at is not None]
    # Dated at its last change, so the same list is served (and signed) identically until something is revoked.
    changed = max([r for _, r, _ in rows if r is not None] or [min(i for _, _, i in rows)])
    key = signing_key("attestation")
    # ...but never before its signing key entered service (after a rotation), or verifiers would reject the list.
    valid_from = db.session.get(SigningKey, key.record_id).valid_from
    changed = max(changed, valid_from.replace(microsecond=0) + timedelta(seconds=1 if valid_from.microsecond else 0))
    unsigned = status_list_credential(status_list_url(number), key.did, iso(changed), encode_list(revoked, MIN_BITS))
    return sign_credential(unsigned, key.private_key, iso(changed), verification_method=key.verification_method)


@bp.get("/.well-known/govflow-keys.json")
@public
def keys_json():
    """The published key history: current and retired public keys, validity periods, revoked flags."""
    return jsonify(key_history())


@bp.get("/attestations/<uid>")
@public
def show(uid: str):
    """An attestation's page with its status and downloads.

    :raise 403: when its subject is not public and the user may not see it. :raise 404: unknown id.
    """
    attestation = _load(uid)
    return render_template("attestations/show.html", a=attestation, credential=credential_of(attestation))


@bp.get("/attestations/<uid>.json")
@public
def credential_json(uid: str):
    """The credential itself (W3C VC 2.0 with an eddsa-jcs-2022 proof), byte for byte as signed."""
    attestation = _load(uid)
    return attestation.credential, 200, {"Content-Type": "application/json"}


@bp.get("/attestations/<uid>/receipt.json")
@public
def receipt_json(uid: str):
    """The credential's log receipt: leaf index, inclusion proof, signed tree head."""
    attestation = _load(uid)
    receipt = receipt_for(attestation)
    db.session.commit()  # a new tree head may have been signed
    return jsonify(receipt)


@bp.get("/attestations/<uid>/bundle.json")
@public
def bundle_json(uid: str):
    """Everything to verify offline in one download: credential, receipt, key history, status list."""
    attestation = _load(uid)
    bundle = {
        "credential": credential_of(attestation),
        "receipt": receipt_for(attestation),
        "keys": key_history(),
        "status_list": status_list_document(attestation.status_list),
    }
    db.session.commit()
    response = jsonify(bundle)
    response.headers["Content-Disposition"] = f'attachment; filename="govflow-attestation-{attestation.uid}.json"'
    return response


@bp.get("/status/<int:number>")
@public
def status_list(number: int):
    """A signed W3C Bitstring Status List credential (revocation), at a stable URL.

    :raise 404: when no attestation uses list ``number``.
    """
    document = status_list_document(number)
    if document is None:
        abort(404)
    return jsonify(document)


def _int_arg(name: str, minimum: int = 0) -> int:
    value = request.args.get(name, type=int)
    if value is None or value < minimum:
        abort(400, _("Parameter %(name)s must be a whole number of at least %(min)s.", name=name, min=minimum))
    return value


@bp.get("/log/v1/get-sth")
@public
def get_sth():
    """RFC 6962 §4.3: the latest signed tree head."""
    head = log.current_tree_head()
    db.session.commit()
    return jsonify(sth_json(head))


@bp.get("/log/v1/get-sth-consistency")
@public
def get_sth_consistency():
    """RFC 6962 §4.4: a consistency proof between two tree sizes."""
    first, second = _int_arg("first"), _int_arg("second")
    if first > second or second > log.log_size():
        abort(400, _("The tree sizes must satisfy first ≤ second ≤ the log's size."))
    proof = merkle.consistency_proof(log.leaf_hashes(second), first, second) if 0 < first < second else []
    return jsonify({"consistency": [_b64(h) for h in proof]})


@bp.get("/log/v1/get-proof-by-hash")
@public
def get_proof_by_hash():
    """RFC 6962 §4.5: leaf index and audit path of a leaf hash in a tree of the given size."""
    tree_size = _int_arg("tree_size", 1)
    try:
        leaf = base64.b64decode(request.args.get("hash", ""), validate=True)
    except (binascii.Error, ValueError):
        abort(400, _("The hash must be base64."))
    if len(leaf) != merkle.HASH_SIZE or tree_size > log.log_size():
        abort(400, _("The hash must be a SHA-256 leaf hash and tree_size at most the log's size."))
    index = db.session.scalar(sa.select(LogEntry.index).where(LogEntry.leaf_hash == leaf, LogEntry.index < tree_size).order_by(LogEntry.index).limit(1))
    if index is None:
        abort(404, _("No entry with this leaf hash in a tree of that size."))
    path = merkle.inclusion_proof(log.leaf_hashes(tree_size), index)
    return jsonify({"leaf_index": index, "audit_path": [_b64(h) for h in path]})


@bp.get("/log/v1/get-entries")
@public
def get_entries():
    """RFC 6962 §4.6: entries ``start`` to ``end`` inclusive (at most 256 per call)."""
    start, end = _int_arg("start"), _int_arg("end")
    if end < start:
        abort(400, _("end must not be smaller than start."))
    end = min(end, start + log.MAX_ENTRIES_PER_PAGE - 1)
    rows = db.session.scalars(sa.select(LogEntry.leaf_input).where(LogEntry.index >= start, LogEntry.index <= end).order_by(LogEntry.index))
    return jsonify({"entries": [{"leaf_input": _b64(r), "extra_data": ""} for r in rows]})


@bp.route("/verify", methods=["GET", "POST"])
@public
def verify():
    """Anyone pastes or uploads a credential and sees whether it holds: signature, key, revocation, log."""
    form = VerifyForm()
    report, error, status = None, None, 200
    if form.validate_on_submit():
        raw = form.credential.data or ""
        if form.upload.data:
            data = form.upload.data.read(MAX_VERIFY_BYTES + 1)
            if len(data) > MAX_VERIFY_BYTES:
                data, error = b"", _("The file is larger than 256 KB: it cannot be a govflow credential.")
            raw = data.decode("utf-8", errors="replace")
        if error is None:
            try:
                document = json.loads(raw)
            except ValueError:
                document, error = None, _("This is not JSON: paste the credential exactly as downloaded.")
        if error is None and isinstance(document, dict) and "credential" in document:
            document = document["credential"]
        if error is None and not isinstance(document, dict):
            error = _("This JSON is not a credential (an object with a proof was expected).")
        if error is None:
            report = server_side_report(document)
        status = 422 if error else 200
    elif form.is_submitted():
        status = 422
    return render_template("attestations/verify.html", form=form, report=report, error=error), status


def server_side_report(document: dict):
    """Verify ``document`` with this server's key history, status list and log (the offline checks, our data)."""
    receipt = status_document = None
    attestation = find_attestation(str(document.get("id", "")).removeprefix("urn:uuid:"))
    if attestation is not None:
        receipt = receipt_for(attestation)
        status_document = status_list_document(attestation.status_list)
        db.session.commit()
    return verify_offline(document, key_history(), status_document, receipt)
