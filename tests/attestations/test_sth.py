"""Signed tree heads: the RFC 6962 TreeHeadSignature bytes, the get-sth JSON, and every way a head can be refused."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from govflow.attestations.sth import TreeHeadError, sign_tree_head, tree_head_input, tree_head_root, verify_tree_head

ROOT = hashlib.sha256(b"a root").digest()
TIMESTAMP = 1795248000000
SIZE = 57


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _blob(sth: dict) -> bytes:
    return base64.b64decode(sth["tree_head_signature"])


def _with_blob(sth: dict, blob: bytes) -> dict:
    return {**sth, "tree_head_signature": base64.b64encode(blob).decode("ascii")}


def test_tree_head_input_is_the_rfc_6962_struct() -> None:
    signed = tree_head_input(TIMESTAMP, SIZE, ROOT)
    # version v1 (0), signature_type tree_hash (1), uint64 timestamp, uint64 tree_size, 32-byte root.
    assert signed == bytes([0, 1]) + TIMESTAMP.to_bytes(8, "big") + SIZE.to_bytes(8, "big") + ROOT
    assert signed.hex() == "0001" + "000001a1fd1e8c00" + "0000000000000039" + ROOT.hex()


@pytest.mark.parametrize(
    ("timestamp", "size", "root", "message"),
    [
        (-1, SIZE, ROOT, "timestamp"),
        (TIMESTAMP, 1 << 64, ROOT, "tree size"),
        (TIMESTAMP, True, ROOT, "tree size"),
        (TIMESTAMP, SIZE, ROOT[:31], "32 bytes"),
    ],
)
def test_tree_head_input_rejects_bad_values(timestamp: int, size: int, root: bytes, message: str) -> None:
    with pytest.raises(TreeHeadError, match=message):
        tree_head_input(timestamp, size, root)


def test_signed_tree_head_shape(key: Ed25519PrivateKey) -> None:
    sth = sign_tree_head(key, TIMESTAMP, SIZE, ROOT)
    assert set(sth) == {"tree_size", "timestamp", "sha256_root_hash", "tree_head_signature"}
    assert sth["tree_size"] == SIZE
    assert sth["timestamp"] == TIMESTAMP
    assert sth["sha256_root_hash"] == base64.b64encode(ROOT).decode("ascii")
    assert tree_head_root(sth) == ROOT
    blob = _blob(sth)
    assert blob[:4] == bytes([0x08, 0x07, 0x00, 0x40])
    assert len(blob) == 68
    # Checked with the library directly, so the test does not rely on verify_tree_head to agree with itself.
    key.public_key().verify(blob[4:], tree_head_input(TIMESTAMP, SIZE, ROOT))


def test_signature_verifies_and_is_deterministic(key: Ed25519PrivateKey) -> None:
    sth = sign_tree_head(key, TIMESTAMP, SIZE, ROOT)
    verify_tree_head(key.public_key(), sth)
    assert sign_tree_head(key, TIMESTAMP, SIZE, ROOT) == sth


@pytest.mark.parametrize(
    "change",
    [
        {"tree_size": SIZE + 1},
        {"timestamp": TIMESTAMP + 1},
        {"sha256_root_hash": base64.b64encode(hashlib.sha256(b"another root").digest()).decode("ascii")},
    ],
)
def test_altered_tree_head_fails(key: Ed25519PrivateKey, change: dict) -> None:
    sth = {**sign_tree_head(key, TIMESTAMP, SIZE, ROOT), **change}
    with pytest.raises(TreeHeadError, match="^the tree head signature does not match: the tree head was altered, or another key signed it$"):
        verify_tree_head(key.public_key(), sth)


def test_other_key_fails(key: Ed25519PrivateKey) -> None:
    sth = sign_tree_head(key, TIMESTAMP, SIZE, ROOT)
    with pytest.raises(TreeHeadError, match="does not match"):
        verify_tree_head(Ed25519PrivateKey.generate().public_key(), sth)


def test_altered_signature_fails(key: Ed25519PrivateKey) -> None:
    sth = sign_tree_head(key, TIMESTAMP, SIZE, ROOT)
    blob = bytearray(_blob(sth))
    blob[10] ^= 0x01
    with pytest.raises(TreeHeadError, match="does not match"):
        verify_tree_head(key.public_key(), _with_blob(sth, bytes(blob)))


@pytest.mark.parametrize(
    ("alter", "message"),
    [
        (lambda blob: b"\x04\x03" + blob[2:], "scheme 0x0403, expected ed25519 \\(0x0807\\)"),
        (lambda blob: blob[:2] + b"\x00\x3f" + blob[4:-1], "63 bytes long \\(declared 63\\) instead of 64"),
        (lambda blob: blob[:-1], "63 bytes long \\(declared 64\\)"),
        (lambda blob: blob + b"\x00", "65 bytes long \\(declared 64\\)"),
        (lambda blob: blob[:3], "too short"),
    ],
)
def test_malformed_signature_blob_fails(key: Ed25519PrivateKey, alter, message: str) -> None:
    sth = sign_tree_head(key, TIMESTAMP, SIZE, ROOT)
    with pytest.raises(TreeHeadError, match=message):
        verify_tree_head(key.public_key(), _with_blob(sth, alter(_blob(sth))))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tree_head_signature": "not base64!"}, "tree_head_signature is not valid base64"),
        ({"tree_head_signature": None}, "tree_head_signature must be a base64 text"),
        ({"sha256_root_hash": "AAAA"}, "sha256_root_hash is 3 bytes long instead of 32"),
        ({"sha256_root_hash": "%%%"}, "sha256_root_hash is not valid base64"),
        ({"tree_size": -1}, "tree size"),
        ({"tree_size": "57"}, "tree size"),
        ({"timestamp": None}, "timestamp"),
    ],
)
def test_malformed_tree_head_fails(key: Ed25519PrivateKey, change: dict, message: str) -> None:
    sth = {**sign_tree_head(key, TIMESTAMP, SIZE, ROOT), **change}
    with pytest.raises(TreeHeadError, match=message):
        verify_tree_head(key.public_key(), sth)


def test_tree_head_that_is_not_an_object_fails(key: Ed25519PrivateKey) -> None:
    with pytest.raises(TreeHeadError, match="not a JSON object"):
        verify_tree_head(key.public_key(), ["tree_size", 1])  # type: ignore[arg-type]


def test_tree_head_error_is_a_value_error() -> None:
    assert issubclass(TreeHeadError, ValueError)
