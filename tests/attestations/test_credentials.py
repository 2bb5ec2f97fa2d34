"""eddsa-jcs-2022 Data Integrity proofs and did:key, checked byte for byte against the W3C vectors."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from govflow.attestations.credentials import (
    canonical_json,
    did_key,
    private_key_from_multibase,
    public_key_from_did,
    public_key_from_multibase,
    public_key_multibase,
    sign_credential,
    signing_input,
    verification_method,
    verify_credential,
)
from tests.vectors import vectors_dir

CREATED = "2024-05-01T12:00:00Z"
SIGNATURE_FAILURE = "the signature does not match"


@dataclass(frozen=True)
class JcsVectors:
    """The eddsa-jcs-2022 test vectors of w3c/vc-di-eddsa."""

    folder: Path
    key_pair: dict
    unsigned: dict
    proof_config: dict
    signed: dict

    def text(self, name: str) -> str:
        """Return one of the vector's text files (canonical forms, hashes, signatures)."""
        return (self.folder / "eddsa-jcs-2022" / name).read_text(encoding="utf-8")


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def vectors() -> JcsVectors:
    folder = vectors_dir() / "vc-di-eddsa"
    return JcsVectors(
        folder=folder,
        key_pair=_json(folder / "keyPair.json"),
        unsigned=_json(folder / "unsigned.json"),
        proof_config=_json(folder / "eddsa-jcs-2022" / "proofConfigJCS.json"),
        signed=_json(folder / "eddsa-jcs-2022" / "signedJCS.json"),
    )


@pytest.fixture(scope="module")
def vector_key(vectors: JcsVectors) -> Ed25519PrivateKey:
    return private_key_from_multibase(vectors.key_pair["privateKeyMultibase"])


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _credential(issuer: object) -> dict:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject", "charter": "Data ethics charter", "articles": [1, 2, 3]},
    }


def _flip(text: str, position: int) -> str:
    # Swap for another base58 character, so the altered proofValue still decodes.
    replacement = "2" if text[position] != "2" else "3"
    return text[:position] + replacement + text[position + 1 :]


# --- the W3C vectors -------------------------------------------------------------------------------------------


def test_keys_and_did_key_match_the_vector(vectors: JcsVectors, vector_key: Ed25519PrivateKey) -> None:
    public_multibase = vectors.key_pair["publicKeyMultibase"]
    public_key = vector_key.public_key()
    assert public_key_multibase(public_key) == public_multibase
    assert public_multibase.startswith("z6Mk")
    assert did_key(public_key) == f"did:key:{public_multibase}"
    assert verification_method(public_key) == vectors.proof_config["verificationMethod"]
    assert public_key_from_multibase(public_multibase) == public_key
    assert public_key_from_did(vectors.proof_config["verificationMethod"]) == public_key
    assert public_key_from_did(did_key(public_key)) == public_key


def test_canonical_forms_and_hashes_match_the_vector(vectors: JcsVectors) -> None:
    canonical_document = canonical_json(vectors.unsigned)
    canonical_options = canonical_json(vectors.proof_config)
    assert canonical_document == vectors.text("canonDocJCS.txt").encode("utf-8")
    assert canonical_options == vectors.text("proofCanonJCS.txt").encode("utf-8")
    assert hashlib.sha256(canonical_document).hexdigest() == vectors.text("docHashJCS.txt")
    assert hashlib.sha256(canonical_options).hexdigest() == vectors.text("proofHashJCS.txt")
    assert signing_input(vectors.unsigned, vectors.proof_config).hex() == vectors.text("combinedHashJCS.txt")
    # Proof options without @context are signed under the document's @context all the same.
    bare_options = {key: value for key, value in vectors.proof_config.items() if key != "@context"}
    assert signing_input(vectors.unsigned, bare_options).hex() == vectors.text("combinedHashJCS.txt")


def test_signing_reproduces_the_vector_byte_for_byte(vectors: JcsVectors, vector_key: Ed25519PrivateKey) -> None:
    original = copy.deepcopy(vectors.unsigned)
    signed = sign_credential(vectors.unsigned, vector_key, created=vectors.proof_config["created"])
    assert signed == vectors.signed
    assert signed["proof"]["proofValue"] == vectors.text("sigBTC58JCS.txt")
    assert base58.b58decode(signed["proof"]["proofValue"][1:]).hex() == vectors.text("sigHexJCS.txt")
    assert canonical_json(signed) == canonical_json(vectors.signed)
    assert vectors.unsigned == original


def test_vector_signature_verifies_and_its_foreign_issuer_is_reported(vectors: JcsVectors, vector_key: Ed25519PrivateKey) -> None:
    # The vector's issuer is an https URL, not the did:key that signed it: the signature is sound, the issuer is not ours.
    expected = [f"the issuer 'https://vc.example/issuers/5678' is not the controller '{did_key(vector_key.public_key())}' of the signing key"]
    for public_key in (None, vector_key.public_key()):
        result = verify_credential(vectors.signed, public_key)
        assert not result.ok
        assert result.reasons == expected


def test_altered_vector_payload_fails(vectors: JcsVectors) -> None:
    altered = copy.deepcopy(vectors.signed)
    altered["credentialSubject"]["alumniOf"] = "The School of Exampler"
    result = verify_credential(altered)
    assert not result.ok
    assert any(reason.startswith(SIGNATURE_FAILURE) for reason in result.reasons)


def test_altered_vector_proof_value_fails(vectors: JcsVectors) -> None:
    altered = copy.deepcopy(vectors.signed)
    altered["proof"]["proofValue"] = _flip(altered["proof"]["proofValue"], 10)
    result = verify_credential(altered)
    assert not result.ok
    assert any(reason.startswith(SIGNATURE_FAILURE) for reason in result.reasons)


# --- self-issued credentials -----------------------------------------------------------------------------------


def test_self_issued_credential_verifies(key: Ed25519PrivateKey) -> None:
    signed = sign_credential(_credential(did_key(key.public_key())), key, CREATED)
    proof = signed["proof"]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-jcs-2022"
    assert proof["created"] == CREATED
    assert proof["verificationMethod"] == verification_method(key.public_key())
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["proofValue"].startswith("z")
    assert verify_credential(signed).ok
    assert verify_credential(signed, key.public_key()) == verify_credential(signed)
    assert verify_credential(signed).reasons == []


def test_issuer_object_with_id_is_accepted(key: Ed25519PrivateKey) -> None:
    signed = sign_credential(_credential({"id": did_key(key.public_key()), "name": "Ethics board"}), key, CREATED)
    assert verify_credential(signed).ok


def test_proof_without_context_still_verifies(key: Ed25519PrivateKey) -> None:
    signed = sign_credential(_credential(did_key(key.public_key())), key, CREATED)
    del signed["proof"]["@context"]
    assert verify_credential(signed).ok


@pytest.mark.parametrize("position", [0, 1, 2, 3])
def test_every_altered_payload_character_fails(key: Ed25519PrivateKey, position: int) -> None:
    signed = sign_credential(_credential(did_key(key.public_key())), key, CREATED)
    subject = signed["credentialSubject"]
    subject["charter"] = _flip(subject["charter"], position)
    result = verify_credential(signed)
    assert not result.ok
    assert result.reasons[0].startswith(SIGNATURE_FAILURE)


def test_altered_proof_option_fails(key: Ed25519PrivateKey) -> None:
    signed = sign_credential(_credential(did_key(key.public_key())), key, CREATED)
    signed["proof"]["created"] = "2024-05-01T12:00:01Z"
    assert verify_credential(signed).reasons == ["the signature does not match: the credential or its proof was altered, or another key signed it"]


def test_altered_proof_value_fails(key: Ed25519PrivateKey) -> None:
    signed = sign_credential(_credential(did_key(key.public_key())), key, CREATED)
    signed["proof"]["proofValue"] = _flip(signed["proof"]["proofValue"], 20)
    result = verify_credential(signed)
    assert not result.ok
    assert result.reasons


def test_wrong_key_fails(key: Ed25519PrivateKey) -> None:
    signed = sign_credential(_credential(did_key(key.public_key())), key, CREATED)
    result = verify_credential(signed, Ed25519PrivateKey.generate().public_key())
    assert not result.ok
    assert "the given public key is not the key named by the verificationMethod" in result.reasons
    assert any(reason.startswith(SIGNATURE_FAILURE) for reason in result.reasons)


def test_key_swapped_in_the_verification_method_fails(key: Ed25519PrivateKey) -> None:
    signed = sign_credential(_credential(did_key(key.public_key())), key, CREATED)
    impostor = Ed25519PrivateKey.generate().public_key()
    signed["proof"]["verificationMethod"] = verification_method(impostor)
    result = verify_credential(signed)
    assert not result.ok
    assert any(reason.startswith(SIGNATURE_FAILURE) for reason in result.reasons)
    assert any("is not the controller" in reason for reason in result.reasons)


def test_issuer_that_does_not_control_the_key_fails(key: Ed25519PrivateKey) -> None:
    other = did_key(Ed25519PrivateKey.generate().public_key())
    result = verify_credential(sign_credential(_credential(other), key, CREATED))
    assert not result.ok
    assert result.reasons == [f"the issuer {other!r} is not the controller {did_key(key.public_key())!r} of the signing key"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": "Ed25519Signature2020"}, "the proof type is 'Ed25519Signature2020', expected 'DataIntegrityProof'"),
        ({"cryptosuite": "eddsa-rdfc-2022"}, "the cryptosuite is 'eddsa-rdfc-2022', expected 'eddsa-jcs-2022'"),
        ({"@context": ["https://example.org/other"]}, "the proof's @context differs from the document's @context"),
        ({"proofValue": "not base58"}, "the proofValue is not a base58btc multibase encoding of a 64-byte Ed25519 signature"),
    ],
)
def test_malformed_proofs_are_refused_with_a_reason(key: Ed25519PrivateKey, change: dict, reason: str) -> None:
    signed = sign_credential(_credential(did_key(key.public_key())), key, CREATED)
    signed["proof"].update(change)
    result = verify_credential(signed)
    assert not result.ok
    assert reason in result.reasons


def test_missing_proof_is_refused() -> None:
    assert verify_credential(_credential("did:example:issuer")) == verify_credential({"proof": None})
    assert verify_credential({}).reasons == ["the document has no proof"]


# --- what signing refuses --------------------------------------------------------------------------------------


def test_float_payload_is_refused(key: Ed25519PrivateKey) -> None:
    document = _credential(did_key(key.public_key()))
    document["credentialSubject"]["scores"] = [1, 0.5]
    with pytest.raises(ValueError, match=r"floats are not allowed in credentials: \$\.credentialSubject\.scores\[1\] is 0\.5"):
        sign_credential(document, key, CREATED)


def test_inline_context_is_refused(key: Ed25519PrivateKey) -> None:
    document = _credential(did_key(key.public_key()))
    document["@context"] = ["https://www.w3.org/ns/credentials/v2", {"charter": "https://example.org/charter"}]
    with pytest.raises(ValueError, match="@context entries must be URL strings"):
        sign_credential(document, key, CREATED)


def test_signed_document_is_not_signed_again(key: Ed25519PrivateKey) -> None:
    signed = sign_credential(_credential(did_key(key.public_key())), key, CREATED)
    with pytest.raises(ValueError, match="already carries a proof"):
        sign_credential(signed, key, CREATED)


def test_verification_method_of_another_key_is_refused(key: Ed25519PrivateKey) -> None:
    other = verification_method(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(ValueError, match="names another key"):
        sign_credential(_credential(did_key(key.public_key())), key, CREATED, verification_method=other)


@pytest.mark.parametrize(
    "value",
    ["did:web:example.org", "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#other", "did:key:zl0O", "did:key:6Mk"],
)
def test_malformed_did_key_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        public_key_from_did(value)


def test_private_key_multibase_is_not_a_public_key(vectors: JcsVectors) -> None:
    with pytest.raises(ValueError, match="multicodec-tagged"):
        public_key_from_multibase(vectors.key_pair["privateKeyMultibase"])
