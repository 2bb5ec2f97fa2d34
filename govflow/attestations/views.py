"""Public trust endpoints: key history, credentials and receipts, status lists, the RFC 6962-style log, /verify."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

import sqlalchemy as sa
from flask import Blueprint, Response, abort, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from ..access import public
from ..engine import EngineError
from ..extensions import db
from ..i18n import tr
from ..instances.services import can_view_instance, get_engine, get_registry
from . import log, merkle, tiles
from .forms import VerifyForm
from .keys import key_history
from .models import Attestation, LogEntry, TreeHead
from .services import credential_of, find_attestation, status_list_document, status_list_text
from .verify import verify_offline
from .wording import check_label, check_message

bp = Blueprint("attestations", __name__)
MAX_VERIFY_BYTES = 256 * 1024
MAX_JSON_DEPTH = 32


def json_depth(value) -> int:
    """How deeply ``value`` nests lists and objects (measured without recursion, so any input is safe)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                return depth
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


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
    """The credential's place in the log: leaf index, inclusion proof read from the tiles, signed tree head and
    checkpoint; or, while the sequencer has not integrated it yet, the log's signed promise to include it."""
    entry = log.entry_of(attestation)
    head = log.latest_head()
    if entry.index is None or head is None or head.tree_size <= entry.index:
        return log.promise(entry)
    path = log.stored_tree(head.tree_size).inclusion_proof(entry.index)
    return {
        "leaf_index": entry.index,
        "tree_size": head.tree_size,
        "audit_path": [_b64(h) for h in path],
        "sth": sth_json(head),
        "checkpoint": head.checkpoint,
        "log_key": head.key.did,
    }


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
    credential = credential_of(attestation)
    return render_template("attestations/show.html", a=attestation, credential=credential, act=attested_act(credential.get("credentialSubject") or {}))


def attested_act(subject: dict) -> dict[str, str]:
    """The attested step in people's words: the titles of its workflow and of the states it moved between (the
    credential records their keys). Empty titles when that workflow version is no longer loaded."""
    try:
        definition = get_engine().definition(str(subject.get("workflow")), subject.get("definitionVersion"))
    except EngineError:
        return {"workflow": "", "from_state": "", "to_state": ""}

    def state_title(name) -> str:
        state = definition.states.get(name)
        return tr(state.title) if state is not None else ""

    return {"workflow": tr(definition.title), "from_state": state_title(subject.get("fromState")), "to_state": state_title(subject.get("toState"))}


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
    return jsonify(receipt_for(attestation))


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
    response = jsonify(bundle)
    response.headers["Content-Disposition"] = f'attachment; filename="govflow-attestation-{attestation.uid}.json"'
    return response


@bp.get("/status/<int:number>")
@public
def status_list(number: int):
    """A signed W3C Bitstring Status List credential (revocation), at a stable URL, signed once per change.

    :raise 404: when no attestation uses list ``number``.
    """
    if number > MAX_NUMBER:
        abort(404)
    text = status_list_text(number)
    if text is None:
        abort(404)
    return cached(text, "application/json", max_age=60)


def cached(body: str | bytes, mimetype: str, max_age: int, immutable: bool = False) -> Response:
    """A response with an ETag (answering 304 to a matching If-None-Match) and a Cache-Control of ``max_age`` seconds."""
    response = Response(body, mimetype=mimetype)
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    if immutable:
        response.cache_control.immutable = True
    return response.make_conditional(request)


MAX_NUMBER = 2**62


def _int_arg(name: str, minimum: int = 0, maximum: int = MAX_NUMBER) -> int:
    value = request.args.get(name, type=int)
    if value is None or not minimum <= value <= maximum:
        abort(400, _("Parameter %(name)s must be a whole number from %(min)s to %(max)s.", name=name, min=minimum, max=maximum))
    return value


def _head() -> TreeHead:
    head = log.latest_head()
    if head is None:
        abort(503, _("The log has not signed its first checkpoint yet; try again in a second."))
    return head


@bp.get("/log/v1/get-sth")
@public
def get_sth():
    """RFC 6962 §4.3: the latest signed tree head (signed by the sequencer; read, never signed here)."""
    response = jsonify(sth_json(_head()))
    response.cache_control.max_age = 5
    return response


@bp.get("/log/v1/get-sth-consistency")
@public
def get_sth_consistency():
    """RFC 6962 §4.4: a consistency proof between two tree sizes, read from the stored tiles."""
    size = _head().tree_size
    first, second = _int_arg("first", 0, size), _int_arg("second", 0, size)
    if first > second:
        abort(400, _("The tree sizes must satisfy first ≤ second ≤ the log's size."))
    proof = log.stored_tree(second).consistency_proof(first) if 0 < first < second else []
    return jsonify({"consistency": [_b64(h) for h in proof]})


@bp.get("/log/v1/get-proof-by-hash")
@public
def get_proof_by_hash():
    """RFC 6962 §4.5: leaf index and audit path of a leaf hash in a tree of the given size, read from the stored tiles."""
    tree_size = _int_arg("tree_size", 1, _head().tree_size)
    try:
        leaf = base64.b64decode(request.args.get("hash", ""), validate=True)
    except (binascii.Error, ValueError):
        abort(400, _("The hash must be base64."))
    if len(leaf) != merkle.HASH_SIZE:
        abort(400, _("The hash must be a SHA-256 leaf hash and tree_size at most the log's size."))
    index = db.session.scalar(sa.select(LogEntry.index).where(LogEntry.leaf_hash == leaf, LogEntry.index < tree_size).order_by(LogEntry.index).limit(1))
    if index is None:
        abort(404, _("No entry with this leaf hash in a tree of that size."))
    path = log.stored_tree(tree_size).inclusion_proof(index)
    return jsonify({"leaf_index": index, "audit_path": [_b64(h) for h in path]})


@bp.get("/log/v1/get-entries")
@public
def get_entries():
    """RFC 6962 §4.6: entries ``start`` to ``end`` inclusive (at most 256 per call): each a kind and a commitment only."""
    size = _head().tree_size
    start, end = _int_arg("start", 0, max(size - 1, 0)), _int_arg("end")
    if end < start:
        abort(400, _("end must not be smaller than start."))
    end = min(end, start + log.MAX_ENTRIES_PER_PAGE - 1, size - 1)
    rows = db.session.scalars(sa.select(LogEntry.leaf_input).where(LogEntry.index >= start, LogEntry.index <= end).order_by(LogEntry.index))
    return jsonify({"entries": [{"leaf_input": _b64(r), "extra_data": ""} for r in rows]})


@bp.get("/log/checkpoint")
@public
def checkpoint():
    """The latest checkpoint (C2SP tlog-checkpoint), a signed note; cached a few seconds only."""
    response = Response(_head().checkpoint, mimetype="text/plain")
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.cache_control.public = True
    response.cache_control.max_age = 5
    return response


@bp.get("/log/tile/<path:rest>")
@public
def tile(rest: str):
    """A tile of the Merkle tree or an entry bundle (C2SP tlog-tiles): immutable, cacheable forever.

    :raise 404: a malformed path, or a tile the log does not hold yet.
    """
    try:
        level, index, width = tiles.parse_tile_path(rest)
    except tiles.TilePathError as error:
        abort(404, str(error))
    if index > MAX_NUMBER:
        abort(404)
    data = log.stored_tile(level, index, width)
    if data is None:
        abort(404, _("The log does not hold this tile yet."))
    return cached(data, "application/octet-stream", max_age=31536000, immutable=True)


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
            except (ValueError, RecursionError):
                document, error = None, _("This is not JSON: paste the credential exactly as downloaded.")
        if error is None and json_depth(document) > MAX_JSON_DEPTH:
            error = _("This JSON is nested deeper than any credential (%(n)s levels at most): it cannot be a govflow credential.", n=MAX_JSON_DEPTH)
        if error is None and isinstance(document, dict) and "credential" in document:
            document = document["credential"]
        if error is None and not isinstance(document, dict):
            error = _("This JSON is not a credential (an object with a proof was expected).")
        if error is None:
            report = server_side_report(document)
        status = 422 if error else 200
    elif form.is_submitted():
        status = 422
    page = render_template("attestations/verify.html", form=form, report=report, error=error, check_label=check_label, check_message=check_message)
    return page, status


def server_side_report(document: dict):
    """Verify ``document`` with this server's key history, status list and log (the offline checks, our data)."""
    receipt = status_document = None
    attestation = find_attestation(str(document.get("id", "")).removeprefix("urn:uuid:"))
    if attestation is not None:
        receipt = receipt_for(attestation)
        status_document = status_list_document(attestation.status_list)
    return verify_offline(document, key_history(), status_document, receipt)
