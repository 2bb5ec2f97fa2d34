"""The offline verifier: every check passing, each failing with a readable reason, and the file front end."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from govflow.attestations.credentials import canonical_json, did_key, public_key_multibase, sign_credential, verification_method
from govflow.attestations.merkle import inclusion_proof, leaf_hash, root_from_leaf_hashes
from govflow.attestations.note import checkpoint_text, sign_note
from govflow.attestations.statuslist import encode_list, status_entry, status_list_credential
from govflow.attestations.sth import sign_tree_head
from govflow.attestations.verify import Check, Report, format_report, verify_files, verify_offline

LIST_URL = "https://govflow.example/status/1"
STATUS_INDEX = 42
ISSUED = "2026-11-22T08:00:00Z"
LOG_TIMESTAMP = 1795420800000  # 2026-11-23 08:00 UTC, the day after issuance
LEAF_INDEX = 5
LOG_ORIGIN = "govflow.example/log"
LOG_SIZE = 7


def _history_key(key: Ed25519PrivateKey, purpose: str, valid_from: str = "2026-01-01T00:00:00Z", valid_until: str | None = None, revoked: bool = False) -> dict:
    public_key = key.public_key()
    return {
        "id": verification_method(public_key),
        "controller": did_key(public_key),
        "type": "Multikey",
        "publicKeyMultibase": public_key_multibase(public_key),
        "purpose": purpose,
        "validFrom": valid_from,
        "validUntil": valid_until,
        "revoked": revoked,
    }


def _status_list(key: Ed25519PrivateKey, revoked: list[int], list_url: str = LIST_URL, issuer: str | None = None) -> dict:
    unsigned = status_list_credential(list_url, issuer or did_key(key.public_key()), ISSUED, encode_list(revoked))
    return sign_credential(unsigned, key, created=ISSUED)


def _receipt(credential: dict, log_key: Ed25519PrivateKey) -> dict:
    leaves = [leaf_hash(f"another entry {i}".encode()) for i in range(LOG_SIZE)]
    # The log commits to the credential: the leaf input is {"commitment": hex SHA-256 of its JCS bytes, "type": ...}.
    commitment = hashlib.sha256(canonical_json(credential)).hexdigest()
    leaves[LEAF_INDEX] = leaf_hash(('{"commitment":"' + commitment + '","type":"govflow.attestation"}').encode())
    root = root_from_leaf_hashes(leaves)
    sth = sign_tree_head(log_key, LOG_TIMESTAMP, LOG_SIZE, root)
    return {
        "leaf_index": LEAF_INDEX,
        "tree_size": LOG_SIZE,
        "audit_path": [base64.b64encode(node).decode("ascii") for node in inclusion_proof(leaves, LEAF_INDEX)],
        "sth": sth,
        "checkpoint": sign_note(checkpoint_text(LOG_ORIGIN, LOG_SIZE, root), LOG_ORIGIN, log_key),
        "log_key": did_key(log_key.public_key()),
    }


@dataclass
class World:
    """A signed credential with everything a verifier may be given about it."""

    issuer_key: Ed25519PrivateKey
    log_key: Ed25519PrivateKey
    credential: dict
    key_history: dict
    status_list: dict
    receipt: dict

    def verify(self, **overrides: object) -> Report:
        """Verify the credential with all inputs, or with the given ones replaced."""
        inputs = {"credential": self.credential, "key_history": self.key_history, "status_list": self.status_list, "receipt": self.receipt}
        return verify_offline(**{**inputs, **overrides})  # type: ignore[arg-type]


@pytest.fixture
def world() -> World:
    issuer_key, log_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    issuer = did_key(issuer_key.public_key())
    unsigned = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:5b0e7a4c-3f57-4a49-9f4e-6a1f2b8f0c11",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": ISSUED,
        "credentialSubject": {"id": "urn:x", "act": "verify"},
        "credentialStatus": status_entry(LIST_URL, STATUS_INDEX),
    }
    credential = sign_credential(unsigned, issuer_key, created=ISSUED)
    key_history = {
        "issuer": issuer,
        "log": did_key(log_key.public_key()),
        "keys": [_history_key(issuer_key, "attestation"), _history_key(log_key, "log")],
    }
    return World(issuer_key, log_key, credential, key_history, _status_list(issuer_key, [3, 41, 43]), _receipt(credential, log_key))


def _check(report: Report, name: str) -> Check:
    return next(check for check in report.checks if check.name == name)


def _fails(report: Report, name: str, *fragments: str) -> None:
    check = _check(report, name)
    assert check.ok is False, check
    assert not report.ok
    for fragment in fragments:
        assert fragment in check.message, check.message


def _flip_base58(text: str, position: int) -> str:
    # Another base58 character, so the altered value still decodes and the signature check itself is exercised.
    return text[:position] + ("2" if text[position] != "2" else "3") + text[position + 1 :]


# --- everything given ----------------------------------------------------------------------------------------------


def test_all_checks_pass(world: World) -> None:
    report = world.verify()
    assert [check.name for check in report.checks] == ["signature", "key", "revocation", "log"]
    assert all(check.ok is True for check in report.checks), report.checks
    assert report.ok
    assert "has not been revoked" in _check(report, "revocation").message
    assert f"entry {LEAF_INDEX} of govflow's transparency log" in _check(report, "log").message
    assert "2026-11-23 08:00:00 UTC" in _check(report, "log").message
    text = format_report(report)
    assert text.splitlines()[-1] == "Verdict: VALID. Every check passed."
    assert [line[:30].split()[-1] for line in text.splitlines()[:4]] == ["OK"] * 4


def test_missing_optional_inputs_are_not_checked(world: World) -> None:
    report = verify_offline(world.credential)
    assert [check.ok for check in report.checks] == [True, None, None, None]
    assert report.ok
    assert "taken from the did:key in the credential alone" in _check(report, "key").message
    assert "No status list was given" in _check(report, "revocation").message
    assert "No log receipt was given" in _check(report, "log").message
    text = format_report(report)
    assert [line[:30].split()[-1] for line in text.splitlines()[:4]] == ["OK", "checked", "checked", "checked"]
    assert text.splitlines()[-1] == "Verdict: VALID AS FAR AS CHECKED. Nothing failed, but these were not checked: signing key, revocation, transparency log."


# --- signature ---------------------------------------------------------------------------------------------------


def test_one_changed_character_of_the_payload_fails(world: World) -> None:
    altered = copy.deepcopy(world.credential)
    altered["credentialSubject"]["act"] = "verifY"
    report = world.verify(credential=altered)
    _fails(report, "signature", "The signature check failed: the signature does not match: the credential or its proof was altered")
    # The log holds the original bytes, so the altered credential is not found there either.
    _fails(report, "log", "not in the log")
    assert format_report(report).splitlines()[-1] == "Verdict: NOT VALID. At least one check failed, so do not trust this credential."


def test_altered_proof_value_fails(world: World) -> None:
    altered = copy.deepcopy(world.credential)
    altered["proof"]["proofValue"] = _flip_base58(altered["proof"]["proofValue"], 20)
    _fails(world.verify(credential=altered), "signature", "the signature does not match")


def test_issuer_other_than_the_key_controller_fails(world: World) -> None:
    unsigned = {key: value for key, value in world.credential.items() if key != "proof"}
    other = Ed25519PrivateKey.generate()
    forged = sign_credential(unsigned, other, created=ISSUED)
    _fails(world.verify(credential=forged), "signature", f"is not the controller '{did_key(other.public_key())}' of the signing key")


def test_credential_that_is_not_an_object_fails() -> None:
    report = verify_offline(["not", "a", "credential"])  # type: ignore[arg-type]
    _fails(report, "signature", "not a JSON object")
    assert [check.ok for check in report.checks] == [False, None, None, None]


# --- key history -------------------------------------------------------------------------------------------------


def test_key_used_after_its_valid_until_fails(world: World) -> None:
    world.key_history["keys"][0] = _history_key(world.issuer_key, "attestation", valid_until="2026-11-22T08:00:00Z")
    _fails(world.verify(), "key", "The signing key is not vouched for", "used on 2026-11-22 08:00:00 UTC, outside its period of service")


def test_key_used_before_its_valid_from_fails(world: World) -> None:
    world.key_history["keys"][0] = _history_key(world.issuer_key, "attestation", valid_from="2026-12-01T00:00:00+01:00")
    _fails(world.verify(), "key", "outside its period of service in the key history (from 2026-11-30 23:00:00 UTC with no end date)")


def test_revoked_key_fails(world: World) -> None:
    world.key_history["keys"][0]["revoked"] = True
    _fails(world.verify(), "key", "marks the key", "as revoked")


def test_unlisted_key_fails(world: World) -> None:
    del world.key_history["keys"][0]
    _fails(world.verify(), "key", "is not listed in the key history")


def test_key_listed_only_for_the_log_fails(world: World) -> None:
    world.key_history["keys"][0]["purpose"] = "log"
    _fails(world.verify(), "key", "is listed in the key history for signing the transparency log, not for signing credentials")


def test_key_period_falls_back_to_the_proof_creation_time(world: World) -> None:
    unsigned = {key: value for key, value in world.credential.items() if key not in ("proof", "validFrom")}
    credential = sign_credential(unsigned, world.issuer_key, created="2027-03-01T00:00:00Z")
    world.key_history["keys"][0]["validUntil"] = "2027-01-01T00:00:00Z"
    _fails(world.verify(credential=credential, receipt=None), "key", "used on 2027-03-01 00:00:00 UTC")


@pytest.mark.parametrize("history", [{"keys": "none"}, [], {"keys": [1]}])
def test_malformed_key_history_fails(world: World, history: object) -> None:
    _fails(world.verify(key_history=history), "key", "the key history is not a JSON object with a list of keys")


def test_key_without_time_zone_fails(world: World) -> None:
    world.key_history["keys"][0]["validFrom"] = "2026-01-01T00:00:00"
    _fails(world.verify(), "key", "has no time zone")


# --- revocation --------------------------------------------------------------------------------------------------


def test_revoked_credential_fails(world: World) -> None:
    report = world.verify(status_list=_status_list(world.issuer_key, [STATUS_INDEX]))
    _fails(report, "revocation", "The issuer has revoked this credential", f"entry {STATUS_INDEX}")
    assert [check.ok for check in report.checks] == [True, True, False, True]


def test_status_list_signed_by_another_key_fails(world: World) -> None:
    other = Ed25519PrivateKey.generate()
    # An impostor list under the impostor's own did:key: the signature holds but the issuer is wrong.
    _fails(
        world.verify(status_list=_status_list(other, [])),
        "revocation",
        f"issued by {did_key(other.public_key())}, not by the credential's issuer {world.credential['issuer']}",
        "is not listed in the key history",
    )
    # The same list claiming the real issuer: its own signature check refuses it.
    forged = _status_list(other, [], issuer=world.credential["issuer"])
    _fails(world.verify(status_list=forged), "revocation", "The status list's own signature is not valid", "is not the controller")


def test_altered_status_list_fails(world: World) -> None:
    altered = copy.deepcopy(world.status_list)
    altered["credentialSubject"]["encodedList"] = encode_list([])
    _fails(world.verify(status_list=altered), "revocation", "own signature is not valid", "the signature does not match")


def test_status_list_of_another_url_fails(world: World) -> None:
    other_list = _status_list(world.issuer_key, [], list_url="https://govflow.example/status/2")
    _fails(world.verify(status_list=other_list), "revocation", "The status list cannot be used", "is not the one the credential points to")


def test_status_list_after_key_rotation_is_vouched_for_by_the_key_history(world: World) -> None:
    new_key = Ed25519PrivateKey.generate()
    world.key_history["keys"][0]["validUntil"] = "2026-12-01T00:00:00Z"
    world.key_history["keys"].append(_history_key(new_key, "attestation", valid_from="2026-12-01T00:00:00Z"))
    # Re-signed by the new key but dated by its last change, before the rotation: the period is deliberately not checked.
    rotated = _status_list(new_key, [STATUS_INDEX])
    assert rotated["validFrom"] < "2026-12-01"
    _fails(world.verify(status_list=rotated), "revocation", "has revoked")
    # Without the key history nothing ties the new key to the issuer.
    _fails(world.verify(status_list=rotated, key_history=None), "revocation", "no key history was given to vouch for it")


def test_credential_without_status_is_not_checked_for_revocation(world: World) -> None:
    unsigned = {key: value for key, value in world.credential.items() if key not in ("proof", "credentialStatus")}
    credential = sign_credential(unsigned, world.issuer_key, created=ISSUED)
    report = world.verify(credential=credential, receipt=None)
    check = _check(report, "revocation")
    assert check.ok is None
    assert "no credentialStatus" in check.message
    assert report.ok


def test_status_list_that_is_not_an_object_fails(world: World) -> None:
    _fails(world.verify(status_list="u123"), "revocation", "not a JSON object")


# --- transparency log --------------------------------------------------------------------------------------------


def test_altered_audit_path_fails(world: World) -> None:
    path = world.receipt["audit_path"]
    node = bytearray(base64.b64decode(path[1]))
    node[0] ^= 0x01
    path[1] = base64.b64encode(bytes(node)).decode("ascii")
    _fails(world.verify(), "log", "The credential is not in the log where the receipt says", "does not match the expected root")


def test_altered_leaf_index_fails(world: World) -> None:
    world.receipt["leaf_index"] = LEAF_INDEX - 1
    _fails(world.verify(), "log", "not in the log where the receipt says")


def test_altered_tree_head_signature_fails(world: World) -> None:
    sth = world.receipt["sth"]
    blob = bytearray(base64.b64decode(sth["tree_head_signature"]))
    blob[-1] ^= 0x01
    sth["tree_head_signature"] = base64.b64encode(bytes(blob)).decode("ascii")
    _fails(world.verify(), "log", "The log's signed tree head cannot be trusted: the tree head signature does not match")


def test_tree_head_of_another_size_fails(world: World) -> None:
    world.receipt["tree_size"] = LOG_SIZE + 1
    _fails(world.verify(), "log", f"tree_size {LOG_SIZE + 1} differs from the size {LOG_SIZE} of its signed tree head")


def test_log_key_not_in_the_history_fails(world: World) -> None:
    impostor = Ed25519PrivateKey.generate()
    receipt = _receipt(world.credential, impostor)
    _fails(world.verify(receipt=receipt), "log", "The receipt cannot be used", "is not listed in the key history")
    # Without a key history the impostor's receipt is self-consistent; the report says the history was not given.
    report = world.verify(receipt=receipt, key_history=None)
    assert _check(report, "log").ok is True
    assert "listed in the key history" not in _check(report, "log").message


def test_log_key_listed_for_attestation_or_revoked_fails(world: World) -> None:
    world.key_history["keys"][1]["purpose"] = "attestation"
    _fails(world.verify(), "log", "for signing credentials, not for signing the transparency log")
    world.key_history["keys"][1].update(purpose="log", revoked=True)
    _fails(world.verify(), "log", "as revoked")


def test_receipt_naming_another_log_key_fails(world: World) -> None:
    world.receipt["log_key"] = world.credential["issuer"]
    _fails(world.verify(), "log", "tree head signature does not match")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"leaf_index": "5"}, "leaf_index is not a whole number"),
        ({"audit_path": "abc"}, "audit_path is not a list"),
        ({"audit_path": ["@@@"]}, "not valid base64"),
        ({"log_key": None}, "names no log key"),
        ({"log_key": "did:web:govflow.example"}, "is not a did:key identifier"),
        ({"sth": None}, "not a JSON object"),
    ],
)
def test_malformed_receipt_fails(world: World, change: dict, message: str) -> None:
    _fails(world.verify(receipt={**world.receipt, **change}), "log", message)


# --- files -------------------------------------------------------------------------------------------------------


def _write(folder: Path, name: str, value: object) -> Path:
    path = folder / name
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")
    return path


def test_verify_files_with_every_input(world: World, tmp_path: Path) -> None:
    text, code = verify_files(
        _write(tmp_path, "credential.json", world.credential),
        keys_path=_write(tmp_path, "keys.json", world.key_history),
        status_path=_write(tmp_path, "status.json", world.status_list),
        receipt_path=_write(tmp_path, "receipt.json", world.receipt),
    )
    assert code == 0
    assert text.endswith("Verdict: VALID. Every check passed.")


def test_verify_files_reports_a_failure_with_exit_code_1(world: World, tmp_path: Path) -> None:
    path = _write(tmp_path, "credential.json", world.credential)
    path.write_text(path.read_text(encoding="utf-8").replace('"verify"', '"verifz"'), encoding="utf-8")
    text, code = verify_files(path)
    assert code == 1
    assert "FAILED" in text
    assert "NOT VALID" in text


def test_verify_files_accepts_a_bundle(world: World, tmp_path: Path) -> None:
    bundle = _write(tmp_path, "bundle.json", {"credential": world.credential, "receipt": world.receipt})
    text, code = verify_files(bundle, keys_path=_write(tmp_path, "keys.json", world.key_history))
    assert code == 0
    assert [line.split()[0] for line in text.splitlines()] == ["Signature", "Signing", "Revocation", "Transparency", "Verdict:"]
    assert "not checked" in text.splitlines()[2]
    assert "OK" in text.splitlines()[3]


def test_verify_files_accepts_a_full_download_bundle(world: World, tmp_path: Path) -> None:
    bundle = {"credential": world.credential, "receipt": world.receipt, "keys": world.key_history, "status_list": world.status_list}
    text, code = verify_files(_write(tmp_path, "bundle.json", bundle))
    assert (text.splitlines()[-1], code) == ("Verdict: VALID. Every check passed.", 0)
    revoked = _write(tmp_path, "status.json", _status_list(world.issuer_key, [STATUS_INDEX]))
    text, code = verify_files(_write(tmp_path, "bundle.json", bundle), status_path=revoked)
    assert code == 1
    assert "The issuer has revoked this credential" in text


def test_a_separate_receipt_takes_precedence_over_the_bundle(world: World, tmp_path: Path) -> None:
    bundle = _write(tmp_path, "bundle.json", {"credential": world.credential, "receipt": world.receipt})
    bad = {**world.receipt, "leaf_index": 0}
    text, code = verify_files(bundle, receipt_path=_write(tmp_path, "receipt.json", bad))
    assert code == 1
    assert "not in the log where the receipt says" in text


def test_verify_files_with_a_missing_file(world: World, tmp_path: Path) -> None:
    credential = _write(tmp_path, "credential.json", world.credential)
    missing = tmp_path / "nowhere.json"
    assert verify_files(missing) == (f"Cannot read the credential file {missing}: there is no such file.", 2)
    assert verify_files(credential, status_path=missing) == (f"Cannot read the status list file {missing}: there is no such file.", 2)


def test_verify_files_with_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text('{"keys": [}', encoding="utf-8")
    credential = _write(tmp_path, "credential.json", {})
    assert verify_files(credential, keys_path=path) == (f"The key history file {path} is not valid JSON: Expecting value at line 1, column 11.", 2)
    path.write_text('{"n": NaN}', encoding="utf-8")
    assert verify_files(path) == (f"The credential file {path} is not valid JSON: NaN is not a JSON value.", 2)
    path.write_bytes(b"\xff\xfe")
    assert verify_files(path) == (f"Cannot read the credential file {path}: it is not UTF-8 text.", 2)


def test_verify_files_with_a_folder(tmp_path: Path) -> None:
    text, code = verify_files(tmp_path)
    assert code == 2
    assert text.startswith(f"Cannot read the credential file {tmp_path}: ")
