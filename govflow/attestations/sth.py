"""Signed tree heads of the transparency log, in the RFC 6962 §3.5 shape, signed with Ed25519.

The signed bytes are RFC 6962's TreeHeadSignature struct. The signature travels like a TLS DigitallySigned
value: the 2-byte SignatureScheme ed25519 (0x0807, RFC 8446), a 2-byte length, then the 64-byte signature.
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from govflow.attestations.merkle import HASH_SIZE

SIGNATURE_SCHEME_ED25519 = 0x0807
_VERSION_V1 = 0
_SIGNATURE_TYPE_TREE_HASH = 1
_TREE_HEAD = struct.Struct(">BBQQ")
_SIGNATURE_HEADER = struct.Struct(">HH")
_SIGNATURE_SIZE = 64
_UINT64_LIMIT = 1 << 64


class TreeHeadError(ValueError):
    """A signed tree head that is malformed or whose signature does not verify; the message says why."""


def _check_uint64(value: Any, what: str) -> int:
    # bool is an int in Python; a JSON true where a number belongs is malformed, not 1.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < _UINT64_LIMIT:
        raise TreeHeadError(f"the {what} must be a whole number between 0 and 2^64 - 1, got {value!r}")
    return value


def tree_head_input(timestamp_ms: int, tree_size: int, root: bytes) -> bytes:
    """Return the RFC 6962 TreeHeadSignature bytes (v1, tree_hash, timestamp, tree_size, root) that are signed."""
    _check_uint64(timestamp_ms, "timestamp")
    _check_uint64(tree_size, "tree size")
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        raise TreeHeadError(f"the root hash must be {HASH_SIZE} bytes long")
    return _TREE_HEAD.pack(_VERSION_V1, _SIGNATURE_TYPE_TREE_HASH, timestamp_ms, tree_size) + root


def sign_tree_head(private_key: Ed25519PrivateKey, timestamp_ms: int, tree_size: int, root: bytes) -> dict[str, Any]:
    """Return the RFC 6962 get-sth JSON of a tree head signed with the log's Ed25519 key."""
    signature = private_key.sign(tree_head_input(timestamp_ms, tree_size, root))
    blob = _SIGNATURE_HEADER.pack(SIGNATURE_SCHEME_ED25519, len(signature)) + signature
    return {
        "tree_size": tree_size,
        "timestamp": timestamp_ms,
        "sha256_root_hash": base64.b64encode(root).decode("ascii"),
        "tree_head_signature": base64.b64encode(blob).decode("ascii"),
    }


def _decode_base64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise TreeHeadError(f"the {what} must be a base64 text")
    try:
        # validate=True: the default decoder would skip stray characters and accept a corrupted value.
        return base64.b64decode(value, validate=True)
    except binascii.Error as error:
        raise TreeHeadError(f"the {what} is not valid base64: {error}") from error


def tree_head_root(sth: dict[str, Any]) -> bytes:
    """Return the 32-byte root hash of a get-sth JSON; raise TreeHeadError when it is malformed."""
    if not isinstance(sth, dict):
        raise TreeHeadError("the signed tree head is not a JSON object")
    root = _decode_base64(sth.get("sha256_root_hash"), "sha256_root_hash")
    if len(root) != HASH_SIZE:
        raise TreeHeadError(f"the sha256_root_hash is {len(root)} bytes long instead of {HASH_SIZE}")
    return root


def verify_tree_head(public_key: Ed25519PublicKey, sth: dict[str, Any]) -> None:
    """Check a get-sth JSON against the log's Ed25519 public key; raise TreeHeadError when it does not verify."""
    root = tree_head_root(sth)
    signed = tree_head_input(_check_uint64(sth.get("timestamp"), "timestamp"), _check_uint64(sth.get("tree_size"), "tree size"), root)
    blob = _decode_base64(sth.get("tree_head_signature"), "tree_head_signature")
    if len(blob) < _SIGNATURE_HEADER.size:
        raise TreeHeadError("the tree_head_signature is too short to hold a signature scheme and a length")
    scheme, length = _SIGNATURE_HEADER.unpack_from(blob)
    if scheme != SIGNATURE_SCHEME_ED25519:
        raise TreeHeadError(f"the tree head is signed with scheme 0x{scheme:04x}, expected ed25519 (0x{SIGNATURE_SCHEME_ED25519:04x})")
    signature = blob[_SIGNATURE_HEADER.size :]
    if length != _SIGNATURE_SIZE or len(signature) != length:
        raise TreeHeadError(f"the tree head signature is {len(signature)} bytes long (declared {length}) instead of {_SIGNATURE_SIZE}")
    try:
        public_key.verify(signature, signed)
    except InvalidSignature:
        raise TreeHeadError("the tree head signature does not match: the tree head was altered, or another key signed it") from None
