"""Signed notes (C2SP signed-note) with Ed25519, and transparency-log checkpoints (C2SP tlog-checkpoint).

A note is a text ending in a newline, a blank line, then signature lines ``— <key name> base64(key ID || signature)``.
The key ID is the first four bytes of SHA-256(key name || 0x0A || 0x01 || 32-byte public key). A checkpoint is a note
whose text is the log's origin, its tree size and the base64 root hash, one per line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .merkle import HASH_SIZE

SIGNATURE_TYPE_ED25519 = b"\x01"
_DASH = "\u2014"
MAX_SIGNATURES = 16


class NoteError(ValueError):
    """A note or checkpoint that is malformed or whose signature does not verify; the message says why."""


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte key ID of an Ed25519 note key: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(name.encode("utf-8") + b"\n" + SIGNATURE_TYPE_ED25519 + raw).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"a note key name must be non-empty, without spaces or '+', got {name!r}")


def signature_line(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signature line ``— name base64(key ID || Ed25519 signature of text)`` (with its newline)."""
    _check_name(name)
    blob = key_id(name, private_key.public_key()) + private_key.sign(text.encode("utf-8"))
    return f"{_DASH} {name} {base64.b64encode(blob).decode('ascii')}\n"


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note of ``text`` (which must end in a newline) by the key ``name``."""
    _check_text(text)
    return text + "\n" + signature_line(text, name, private_key)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("the note text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("the note contains a control character other than newline")


@dataclass(frozen=True)
class Signature:
    """One signature line of a note."""

    name: str
    key_id: bytes
    signature: bytes


def split_note(note: object) -> tuple[str, list[Signature]]:
    """The text and the signature lines of a note; raise NoteError when it is malformed."""
    if not isinstance(note, str):
        raise NoteError("the note is not text")
    if not note.endswith("\n"):
        raise NoteError("the note must end with a newline")
    # The text is separated from the signatures by the last blank line.
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteError("the note has no blank line before its signatures")
    text, block = note[: cut + 1], note[cut + 2 :]
    _check_text(text)
    signatures = []
    for line in block.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _DASH:
            raise NoteError(f"malformed signature line: {line[:80]!r}")
        _check_name(parts[1])
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            raise NoteError(f"the signature of {parts[1]} is not base64") from None
        if len(blob) < 5:
            raise NoteError(f"the signature of {parts[1]} is too short")
        signatures.append(Signature(parts[1], blob[:4], blob[4:]))
    if not signatures:
        raise NoteError("the note carries no signature")
    if len(signatures) > MAX_SIGNATURES:
        raise NoteError(f"the note carries more than {MAX_SIGNATURES} signatures")
    return text, signatures


def verify_note(note: object, name: str, public_key: Ed25519PublicKey) -> str:
    """Return the text of ``note`` once the signature of key ``name`` verifies; raise NoteError otherwise.

    Signatures of other keys are ignored, as the spec says; a known key whose signature fails rejects the note.
    """
    text, signatures = split_note(note)
    wanted = key_id(name, public_key)
    mine = [s for s in signatures if s.name == name and s.key_id == wanted]
    if not mine:
        raise NoteError(f"the note is not signed by the key {name}")
    for signature in mine:
        try:
            public_key.verify(signature.signature, text.encode("utf-8"))
        except InvalidSignature:
            raise NoteError(f"the signature of {name} does not match: the note was altered, or another key signed it") from None
    return text


def checkpoint_text(origin: str, size: int, root: bytes) -> str:
    """The body of a checkpoint: origin, tree size and base64 root hash, each on its line."""
    _check_name(origin)
    if len(root) != HASH_SIZE:
        raise NoteError(f"the root hash must be {HASH_SIZE} bytes long")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"


@dataclass(frozen=True)
class Checkpoint:
    """A parsed checkpoint."""

    origin: str
    size: int
    root: bytes


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint's text (its signatures already checked); raise NoteError when it is malformed."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint has at least three lines: origin, tree size and root hash")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not origin:
        raise NoteError("the checkpoint's origin is empty")
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")) or not size_text.isascii():
        raise NoteError(f"the checkpoint's tree size is not a decimal number without leading zeroes: {size_text!r}")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise NoteError("the checkpoint's root hash is not base64") from None
    if len(root) != HASH_SIZE:
        raise NoteError(f"the checkpoint's root hash is {len(root)} bytes long instead of {HASH_SIZE}")
    return Checkpoint(origin, int(size_text), root)


def verify_checkpoint(note: object, origin: str, public_key: Ed25519PublicKey) -> Checkpoint:
    """Verify a signed checkpoint of the log ``origin`` and return it; raise NoteError otherwise."""
    checkpoint = parse_checkpoint(verify_note(note, origin, public_key))
    if checkpoint.origin != origin:
        raise NoteError(f"the checkpoint is of the log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
