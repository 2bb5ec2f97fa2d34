"""Offline verification of a govflow credential, for `govflow attest verify FILE` and the public /verify page.

Everything needed comes in as JSON; nothing here touches a database or the network. Four checks run in order:
the issuer's signature, the signing key's standing in the key history, revocation through the status list,
and inclusion in the transparency log. A check whose input was not given is reported as "not checked".

Key history, as published at /.well-known/govflow-keys.json::

    {"issuer": "<current issuing did:key>", "log": "<current log did:key>",
     "keys": [{"id": "did:key:z6Mk...#z6Mk...", "controller": "did:key:z6Mk...", "type": "Multikey",
               "publicKeyMultibase": "z6Mk...", "purpose": "attestation" | "log",
               "validFrom": "2026-11-22T08:00:00Z", "validUntil": null | "<ISO 8601 time>", "revoked": false}, ...]}

A key is in service from its validFrom (included) to its validUntil (excluded; null means still in service).

Receipt, proving that the credential is in the log::

    {"leaf_index": 41, "tree_size": 57, "audit_path": ["<base64 SHA-256 hash>", ...],
     "sth": {"tree_size": 57, "timestamp": <ms since 1970>, "sha256_root_hash": "<base64>",
             "tree_head_signature": "<base64>"},
     "checkpoint": "<C2SP signed note: origin, size, root, signature line>",
     "log_key": "did:key:z6Mk..."}

or, while the log's sequencer has not integrated the credential yet (a second at most on a running server)::

    {"status": "pending", "promise": "<signed note: origin, govflow-promise/v1, leaf hash, ms>", "log_key": "..."}

The sth is RFC 6962 get-sth JSON (see govflow.attestations.sth), the checkpoint the same head as a C2SP signed note.
The log never holds a credential itself, only a commitment to it: the leaf input is the canonical JSON
{"commitment": hex(SHA-256(JCS(credential))), "type": "govflow.attestation"} and the leaf hash SHA-256(0x00 || leaf
input). The audit path runs from the leaf level up, as in RFC 9162 §2.1.3.

The credential file may also be a downloaded bundle, {"credential": {...}, "receipt": {...}}, optionally with
"keys" (the key history) and "status_list"; files given separately take precedence over the bundle's copies.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from govflow.attestations.credentials import (
    canonical_json,
    public_key_from_did,
    public_key_multibase,
    verify_credential,
)
from govflow.attestations.entries import leaf_of
from govflow.attestations.merkle import ProofError, leaf_hash, verify_inclusion
from govflow.attestations.note import NoteError, split_note, verify_checkpoint, verify_note
from govflow.attestations.statuslist import check_status
from govflow.attestations.sth import TreeHeadError, tree_head_root, verify_tree_head

PURPOSE_ATTESTATION = "attestation"
PROMISE_LINE = "govflow-promise/v1"
PURPOSE_LOG = "log"
_PURPOSE_WORDS = {PURPOSE_ATTESTATION: "signing credentials", PURPOSE_LOG: "signing the transparency log"}
_LABELS = {"signature": "Signature", "key": "Signing key", "revocation": "Revocation", "log": "Transparency log"}
_STATUS_WORDS = {True: "OK", False: "FAILED", None: "not checked"}

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNREADABLE = 2


@dataclass(frozen=True)
class Check:
    """One verification step: ok is True when it passed, False when it failed, None when it was not made."""

    name: str
    ok: bool | None
    message: str
    # The message as data, for a page to word in its reader's language: a code naming the sentence and the values it
    # names ("detail" and "reasons" are the English technical details the sentence quotes).
    code: str = ""
    params: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Report:
    """The checks made on a credential, in order."""

    checks: list[Check]

    @property
    def ok(self) -> bool:
        """Return True when no check failed (checks that were not made do not count against it)."""
        return all(check.ok is not False for check in self.checks)


def _parse_time(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{what} is missing or is not a date and time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not an ISO 8601 date and time") from None
    # Without a time zone the moment is ambiguous by up to a day, too loose to compare with a key's period.
    if moment.tzinfo is None:
        raise ValueError(f"{what} {value!r} has no time zone")
    return moment


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _history_keys(key_history: Any) -> list[dict[str, Any]]:
    keys = key_history.get("keys") if isinstance(key_history, dict) else None
    if not isinstance(keys, list) or not all(isinstance(entry, dict) for entry in keys):
        raise ValueError("the key history is not a JSON object with a list of keys")
    return keys


def _purpose_words(purpose: Any) -> str:
    return _PURPOSE_WORDS.get(purpose, repr(purpose)) if isinstance(purpose, str) else repr(purpose)


def _period(start: datetime, end: datetime | None) -> str:
    return f"from {_format_time(start)} " + (f"until {_format_time(end)}" if end else "with no end date")


def _key_standing(key_history: Any, public_key: Ed25519PublicKey, purpose: str, when: datetime | None) -> tuple[datetime, datetime | None]:
    """Return the period of service (start, end or None) in which the key history vouches for the key at that moment
    (any moment when None); raise ValueError if it does not."""
    multibase = public_key_multibase(public_key)
    listed = [entry for entry in _history_keys(key_history) if entry.get("publicKeyMultibase") == multibase]
    if not listed:
        raise ValueError(f"the key {multibase} is not listed in the key history")
    for_purpose = [entry for entry in listed if entry.get("purpose") == purpose]
    if not for_purpose:
        listed_for = ", ".join(sorted({_purpose_words(entry.get("purpose")) for entry in listed}))
        raise ValueError(f"the key {multibase} is listed in the key history for {listed_for}, not for {_PURPOSE_WORDS[purpose]}")
    # Anything but an explicit false counts as revoked, so a garbled flag never vouches for a key.
    if any(entry.get("revoked", False) is not False for entry in for_purpose):
        raise ValueError(f"the key history marks the key {multibase} as revoked")
    periods = []
    for entry in for_purpose:
        start = _parse_time(entry.get("validFrom"), "the key's validFrom in the key history")
        end = None if entry.get("validUntil") is None else _parse_time(entry["validUntil"], "the key's validUntil in the key history")
        if when is None or (start <= when and (end is None or when < end)):
            return start, end
        periods.append(_period(start, end))
    assert when is not None  # with no moment given, the first period was returned
    raise ValueError(f"the key was used on {_format_time(when)}, outside its period of service in the key history ({'; '.join(periods)})")


def _signer(document: dict[str, Any]) -> str | None:
    proof = document.get("proof")
    method = proof.get("verificationMethod") if isinstance(proof, dict) else None
    return method if isinstance(method, str) else None


def _sentence(reasons: list[str]) -> str:
    return "; ".join(reasons) + "."


def _check_signature(credential: dict[str, Any]) -> Check:
    result = verify_credential(credential)
    if not result.ok:
        reasons = list(result.reasons)
        return Check("signature", False, "The signature check failed: " + _sentence(reasons), "signature_failed", {"reasons": reasons})
    signer = (_signer(credential) or "").partition("#")[0]
    return Check("signature", True, f"The signature is valid: the credential is exactly as {signer} signed it.", "signature_valid", {"signer": signer})


def _check_key(credential: dict[str, Any], key_history: Any) -> Check:
    if key_history is None:
        return Check(
            "key",
            None,
            "No key history was given, so the signing key was taken from the did:key in the credential alone; "
            "whether it was in service when the credential was issued, and never revoked, was not checked.",
            "key_unchecked",
        )
    method = _signer(credential)
    try:
        public_key = public_key_from_did(method or "")
    except ValueError:
        return Check("key", False, "The credential's proof names no usable did:key, so its key cannot be looked up in the key history.", "key_no_did")
    proof = credential.get("proof")
    issued = credential.get("validFrom", proof.get("created") if isinstance(proof, dict) else None)
    try:
        when = _parse_time(issued, "the credential's validFrom (or its proof's created)")
        start, end = _key_standing(key_history, public_key, PURPOSE_ATTESTATION, when)
    except ValueError as error:
        return Check("key", False, f"The signing key is not vouched for: {error}.", "key_not_vouched", {"detail": str(error)})
    return Check(
        "key",
        True,
        f"The signing key is listed in the key history for signing credentials, is not revoked, "
        f"and was in service when the credential was issued on {_format_time(when)} (its period of service runs {_period(start, end)}).",
        "key_vouched",
        {"issued": _format_time(when), "start": _format_time(start), "end": _format_time(end) if end else None},
    )


def _check_revocation(credential: dict[str, Any], status_list: Any, key_history: Any) -> Check:
    if status_list is None:
        return Check("revocation", None, "No status list was given, so whether the issuer has revoked the credential was not checked.", "revocation_unchecked")
    if not isinstance(status_list, dict):
        return Check("revocation", False, "The status list is not a JSON object.", "status_list_not_object")
    result = verify_credential(status_list)
    if not result.ok:
        reasons = list(result.reasons)
        sentence = "The status list's own signature is not valid, so it cannot be trusted: " + _sentence(reasons)
        return Check("revocation", False, sentence, "status_list_signature", {"reasons": reasons})
    list_issuer = (_signer(status_list) or "").partition("#")[0]
    credential_issuer = (_signer(credential) or "").partition("#")[0]
    if list_issuer != credential_issuer:
        # After a key rotation the list is re-signed by the new issuing key; the key history vouches for it.
        try:
            if key_history is None:
                raise ValueError("no key history was given to vouch for it")
            # No period check: the list is dated by its last change, which may predate the key now signing it.
            _key_standing(key_history, public_key_from_did(list_issuer), PURPOSE_ATTESTATION, None)
        except ValueError as error:
            return Check(
                "revocation",
                False,
                f"The status list was issued by {list_issuer}, not by the credential's issuer {credential_issuer}, and {error}.",
                "status_list_foreign",
                {"list_issuer": list_issuer, "credential_issuer": credential_issuer, "detail": str(error)},
            )
    try:
        revoked, sentence = check_status(credential, status_list)
    except ValueError as error:
        return Check("revocation", False, f"The status list cannot be used: {error}.", "status_list_unusable", {"detail": str(error)})
    return Check("revocation", None if revoked is None else not revoked, sentence, *_revocation_code(credential, status_list, revoked))


def _revocation_code(credential: dict[str, Any], status_list: dict[str, Any], revoked: bool | None) -> tuple[str, dict[str, Any]]:
    """The code and values of check_status's sentence (the entry it read is the first pointing to this list)."""
    if revoked is None:
        return ("no_credential_status" if "credentialStatus" not in credential else "no_revocation_entry"), {}
    list_id = status_list.get("id")
    status = credential.get("credentialStatus")
    entries = [e for e in (status if isinstance(status, list) else [status]) if isinstance(e, dict) and e.get("statusListCredential") == list_id]
    index = entries[0].get("statusListIndex") if entries else None
    return ("revoked" if revoked else "not_revoked"), {"index": index, "list": list_id}


def _decode_path(values: Any) -> list[bytes]:
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise ValueError("the receipt's audit_path is not a list of base64 texts")
    try:
        return [base64.b64decode(value, validate=True) for value in values]
    except binascii.Error:
        raise ValueError("the receipt's audit_path holds a value that is not valid base64") from None


def _whole_number(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"the receipt's {what} is not a whole number")
    return value


def credential_leaf(credential: dict[str, Any]) -> bytes:
    """The log's leaf hash of a credential: the leaf commits to SHA-256 of its canonical JSON, proof included."""
    return leaf_hash(leaf_of("attestation", canonical_json(credential), None))


def _check_promise(credential: dict[str, Any], receipt: dict[str, Any], key_history: Any) -> Check:
    log_key = receipt.get("log_key")
    if not isinstance(log_key, str):
        raise ValueError("the receipt names no log key")
    public_key = public_key_from_did(log_key)
    note = receipt.get("promise")
    text, signatures = split_note(note)
    lines = text.split("\n")
    if len(lines) != 5 or lines[1] != PROMISE_LINE:
        raise ValueError("the log's promise is not a govflow-promise/v1 note")
    verify_note(note, lines[0], public_key)
    if not lines[3].isdigit():
        raise ValueError("the log's promise has no time of receipt")
    received = datetime.fromtimestamp(int(lines[3]) / 1000, UTC)
    if key_history is not None:
        _key_standing(key_history, public_key, PURPOSE_LOG, received)
    if lines[2] != base64.b64encode(credential_leaf(credential)).decode("ascii"):
        raise ValueError("the log's promise is for another entry than this credential")
    return Check(
        "log",
        None,
        f"The log signed on {_format_time(received)} its promise to include this credential; its inclusion proof is not "
        "ready yet (the log integrates entries within seconds): download the receipt again to check it.",
        "log_promise",
        {"received": _format_time(received)},
    )


def _check_log(credential: dict[str, Any], receipt: Any, key_history: Any) -> Check:
    if receipt is None:
        return Check(
            "log", None, "No log receipt was given, so whether the credential was published in govflow's transparency log was not checked.", "log_unchecked"
        )
    try:
        if not isinstance(receipt, dict):
            raise ValueError("the receipt is not a JSON object")
        if "promise" in receipt:
            return _check_promise(credential, receipt, key_history)
        leaf_index = _whole_number(receipt.get("leaf_index"), "leaf_index")
        tree_size = _whole_number(receipt.get("tree_size"), "tree_size")
        path = _decode_path(receipt.get("audit_path"))
        sth = receipt.get("sth")
        log_key = receipt.get("log_key")
        if not isinstance(log_key, str):
            raise ValueError("the receipt names no log key")
        public_key = public_key_from_did(log_key)
        if not isinstance(sth, dict):  # verify_tree_head's first check, made here so that sth is typed as a dict below
            raise TreeHeadError("the signed tree head is not a JSON object")
        verify_tree_head(public_key, sth)
        if sth["tree_size"] != tree_size:
            raise ValueError(f"the receipt's tree_size {tree_size} differs from the size {sth['tree_size']} of its signed tree head")
        if receipt.get("checkpoint") is not None:
            _check_checkpoint(receipt["checkpoint"], public_key, tree_size, tree_head_root(sth))
        signed_at = datetime.fromtimestamp(sth["timestamp"] / 1000, UTC)
        if key_history is not None:
            _key_standing(key_history, public_key, PURPOSE_LOG, signed_at)
        verify_inclusion(leaf_index, tree_size, credential_leaf(credential), path, tree_head_root(sth))
    except (TreeHeadError, NoteError) as error:
        return Check("log", False, f"The log's signed tree head cannot be trusted: {error}.", "log_head_untrusted", {"detail": str(error)})
    except ProofError as error:
        return Check("log", False, f"The credential is not in the log where the receipt says: {error}.", "log_not_included", {"detail": str(error)})
    except rfc8785.CanonicalizationError as error:
        return Check("log", False, f"The credential cannot be canonicalised to compute its log entry: {error}.", "log_not_canonical", {"detail": str(error)})
    except (ValueError, OverflowError, OSError) as error:
        # OverflowError and OSError: a timestamp that fits 64 bits can still lie beyond what a calendar can show.
        return Check("log", False, f"The receipt cannot be used: {error}.", "receipt_unusable", {"detail": str(error)})
    vouched = " by a log key listed in the key history" if key_history is not None else ""
    return Check(
        "log",
        True,
        f"The credential is entry {leaf_index} of govflow's transparency log; "
        f"the log head of {tree_size} entries that includes it was signed{vouched} on {_format_time(signed_at)}.",
        "log_included",
        {"index": leaf_index, "size": tree_size, "signed": _format_time(signed_at), "vouched": key_history is not None},
    )


def _check_checkpoint(note: Any, public_key: Ed25519PublicKey, tree_size: int, root: bytes) -> None:
    """The receipt's checkpoint is signed by the log key under its own origin and states the same tree as its sth."""
    text, _ = split_note(note)
    origin = text.split("\n", 1)[0]
    checkpoint = verify_checkpoint(note, origin, public_key)
    if checkpoint.size != tree_size or checkpoint.root != root:
        raise ValueError("the receipt's checkpoint and its signed tree head describe different trees")


def verify_offline(
    credential: dict[str, Any], key_history: dict[str, Any] | None = None, status_list: dict[str, Any] | None = None, receipt: dict[str, Any] | None = None
) -> Report:
    """Verify a credential with whatever of the key history, status list and log receipt is given."""
    if not isinstance(credential, dict):
        unchecked = "Not checked, because the credential is not a JSON object."
        skipped = [Check(name, None, unchecked, "skipped_not_object") for name in ("key", "revocation", "log")]
        return Report([Check("signature", False, "The credential is not a JSON object, so it cannot be a credential.", "not_object"), *skipped])
    return Report(
        [
            _check_signature(credential),
            _check_key(credential, key_history),
            _check_revocation(credential, status_list, key_history),
            _check_log(credential, receipt, key_history),
        ]
    )


def format_report(report: Report) -> str:
    """Return the report as text: one line per check, then the verdict."""
    width = max(len(label) for label in _LABELS.values())
    lines = [f"{_LABELS.get(check.name, check.name):<{width}}  {_STATUS_WORDS[check.ok]:<11}  {check.message}" for check in report.checks]
    unchecked = [_LABELS.get(check.name, check.name).lower() for check in report.checks if check.ok is None]
    if not report.ok:
        lines.append("Verdict: NOT VALID. At least one check failed, so do not trust this credential.")
    elif unchecked:
        lines.append(f"Verdict: VALID AS FAR AS CHECKED. Nothing failed, but these were not checked: {', '.join(unchecked)}.")
    else:
        lines.append("Verdict: VALID. Every check passed.")
    return "\n".join(lines)


class _UnreadableInput(Exception):
    """An input file that is missing or is not JSON; the message is meant for the user."""


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity, which are not JSON and have no canonical form.
    raise ValueError(f"{name} is not a JSON value")


def _read_json(path: str | Path, what: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _UnreadableInput(f"Cannot read the {what} file {path}: there is no such file.") from None
    except UnicodeDecodeError:
        raise _UnreadableInput(f"Cannot read the {what} file {path}: it is not UTF-8 text.") from None
    except OSError as error:
        raise _UnreadableInput(f"Cannot read the {what} file {path}: {error.strerror or error}.") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise _UnreadableInput(f"The {what} file {path} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}.") from None
    except ValueError as error:
        raise _UnreadableInput(f"The {what} file {path} is not valid JSON: {error}.") from None


def verify_files(
    credential_path: str | Path,
    keys_path: str | Path | None = None,
    status_path: str | Path | None = None,
    receipt_path: str | Path | None = None,
) -> tuple[str, int]:
    """Verify JSON files and return (report text, exit code): 0 when nothing failed, 1 when a check failed, 2 when a file is unreadable."""
    try:
        credential = _read_json(credential_path, "credential")
        key_history = None if keys_path is None else _read_json(keys_path, "key history")
        status_list = None if status_path is None else _read_json(status_path, "status list")
        receipt = None if receipt_path is None else _read_json(receipt_path, "receipt")
    except _UnreadableInput as error:
        return str(error), EXIT_UNREADABLE
    # A bundle from the download button may carry the other inputs too; a file given separately takes precedence.
    if isinstance(credential, dict) and "credential" in credential and "proof" not in credential:
        bundle = credential
        credential = bundle["credential"]
        receipt = bundle.get("receipt") if receipt is None else receipt
        key_history = bundle.get("keys") if key_history is None else key_history
        status_list = bundle.get("status_list") if status_list is None else status_list
    report = verify_offline(credential, key_history, status_list, receipt)
    return format_report(report), EXIT_OK if report.ok else EXIT_FAILED


_BALLOT_LABELS = {"checkpoint": "Checkpoint", "tally": "Tally entry", "ballots": "Ballots", "decision": "Decision"}


def _opened_leaf(kind: str, opening: object) -> tuple[bytes, dict[str, Any]]:
    """The leaf hash an opening recomputes (content and salt), checked against the leaf hash it states, and the content."""
    if not isinstance(opening, dict) or not isinstance(opening.get("content"), str):
        raise ValueError(f"a {kind} opening has no content")
    content = opening["content"].encode("utf-8")
    try:
        salt = base64.b64decode(opening.get("salt", ""), validate=True)
        stated = base64.b64decode(opening.get("leaf_hash", ""), validate=True)
    except binascii.Error:
        raise ValueError(f"a {kind} opening's salt or leaf hash is not base64") from None
    leaf = leaf_hash(leaf_of(kind, content, salt or None))
    if leaf != stated:
        raise ValueError(f"a {kind} opening does not open its leaf: its content or salt was altered")
    parsed = json.loads(content)
    if not isinstance(parsed, dict) or parsed.get("type") != f"govflow.{kind}":
        raise ValueError(f"a {kind} opening's content is not a govflow {kind}")
    return leaf, parsed


def _included(opening: dict[str, Any], leaf: bytes, checkpoint_size: int, root: bytes, what: str) -> int:
    index = _whole_number(opening.get("leaf_index"), f"{what}'s leaf_index")
    verify_inclusion(index, checkpoint_size, leaf, _decode_path(opening.get("audit_path")), root)
    return index


def verify_ballot_openings(openings: Any, key_history: Any = None, credential: Any = None) -> Report:
    """Check a vote's opened ballots: the checkpoint, the tally entry and each counted ballot in the log, every counted
    ballot logged before the close, one per voter, and the tally recomputed from exactly them."""
    checks: list[Check] = []
    try:
        if not isinstance(openings, dict):
            raise ValueError("the openings are not a JSON object")
        public_key = public_key_from_did(openings.get("log_key") or "")
        note = openings.get("checkpoint")
        origin = split_note(note)[0].split("\n", 1)[0]
        checkpoint = verify_checkpoint(note, origin, public_key)
        if key_history is not None:
            _key_standing(key_history, public_key, PURPOSE_LOG, None)
        checks.append(Check("checkpoint", True, f"The checkpoint of {checkpoint.size} entries is signed by the log key of {origin}."))
    except (ValueError, NoteError) as error:
        checks.append(Check("checkpoint", False, f"The checkpoint cannot be trusted: {error}."))
        return Report(checks)
    try:
        tally_leaf, tally = _opened_leaf("tally", openings.get("tally"))
        tally_index = _included(openings["tally"], tally_leaf, checkpoint.size, checkpoint.root, "tally")
        checks.append(Check("tally", True, f"The close of round {tally.get('round')} is entry {tally_index} of the log and opens as published."))
    except (ValueError, ProofError, KeyError) as error:
        checks.append(Check("tally", False, f"The tally entry does not hold: {error}."))
        return Report(checks)
    try:
        listed = tally.get("ballots")
        if not isinstance(listed, list):
            raise ValueError("the tally entry lists no ballots")
        opened: dict[str, dict[str, Any]] = {}
        for opening in openings.get("ballots") or []:
            if isinstance(opening, dict) and opening.get("superseded"):
                continue
            leaf, ballot = _opened_leaf("ballot", opening)
            index = _included(opening, leaf, checkpoint.size, checkpoint.root, "ballot")
            if index >= tally_index:
                raise ValueError(f"the ballot at entry {index} was logged after the close (entry {tally_index})")
            if ballot.get("round") != tally.get("round"):
                raise ValueError(f"the ballot at entry {index} belongs to round {ballot.get('round')}, not {tally.get('round')}")
            opened[leaf.hex()] = ballot
        missing = [leaf for leaf in listed if leaf not in opened]
        if missing:
            raise ValueError(f"{len(missing)} counted ballot(s) are not opened")
        counted = [opened[leaf] for leaf in listed]
        voters = [b.get("voter") for b in counted]
        if len(set(voters)) != len(voters):
            raise ValueError("two counted ballots belong to the same voter")
        counts: dict[object, int] = {}  # by choice, as the ballots give it
        for ballot in counted:
            counts[ballot.get("choice")] = counts.get(ballot.get("choice"), 0) + 1
        if counts != {k: v for k, v in (tally.get("counts") or {}).items() if v} or len(counted) != tally.get("voted"):
            raise ValueError(f"the counted ballots give {counts}, but the tally says {tally.get('counts')} from {tally.get('voted')} voters")
        checks.append(
            Check(
                "ballots",
                True,
                f"{len(counted)} ballots, each from a different voter and logged before the close, give exactly the tally {counts}.",
            )
        )
    except (ValueError, ProofError) as error:
        checks.append(Check("ballots", False, f"The ballots do not hold: {error}."))
        return Report(checks)
    if credential is None:
        checks.append(Check("decision", None, "No decision credential was given, so whether the signed decision names this tally was not checked."))
    else:
        subject = credential.get("credentialSubject") if isinstance(credential, dict) else None
        named = subject.get("tallyLeaf") if isinstance(subject, dict) else None
        signature = _check_signature(credential) if isinstance(credential, dict) else Check("signature", False, "not a credential")
        if not signature.ok:
            checks.append(Check("decision", False, f"The decision credential's signature does not hold: {signature.message}"))
        elif named != tally_leaf.hex():
            checks.append(Check("decision", False, "The signed decision names another tally than this one."))
        else:
            checks.append(Check("decision", True, "The signed decision names this tally entry: it was made from these ballots."))
    return Report(checks)


def verify_ballot_files(openings_path: str | Path, keys_path: str | Path | None = None, credential_path: str | Path | None = None) -> tuple[str, int]:
    """Verify a ballots.json file; return (report text, exit code) as ``verify_files`` does."""
    try:
        openings = _read_json(openings_path, "ballot openings")
        key_history = None if keys_path is None else _read_json(keys_path, "key history")
        credential = None if credential_path is None else _read_json(credential_path, "credential")
    except _UnreadableInput as error:
        return str(error), EXIT_UNREADABLE
    if isinstance(credential, dict) and "credential" in credential and "proof" not in credential:
        credential = credential["credential"]
    report = verify_ballot_openings(openings, key_history, credential)
    width = max(len(label) for label in _BALLOT_LABELS.values())
    lines = [f"{_BALLOT_LABELS.get(c.name, c.name):<{width}}  {_STATUS_WORDS[c.ok]:<11}  {c.message}" for c in report.checks]
    lines.append("Verdict: VALID. The tally is made of exactly the logged ballots." if report.ok else "Verdict: NOT VALID. At least one check failed.")
    return "\n".join(lines), EXIT_OK if report.ok else EXIT_FAILED
