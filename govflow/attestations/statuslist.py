"""W3C Bitstring Status List v1.0: the revocation list a credential's credentialStatus points to.

Bit i of the list, counted from the most significant bit of the first byte, is set when the credential whose
statusListIndex is i has been revoked. The list travels GZIP-compressed, as multibase base64url ("u...").
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import re
import zlib
from collections.abc import Iterable
from typing import Any

# The spec's minimum uncompressed size (16 KiB): every list hides each holder among at least 131,072 others.
MIN_BITS = 131072
# A cap on what a list may inflate to, so a small hostile upload to the public /verify page cannot exhaust memory.
MAX_BITS = 8 * 16 * 1024 * 1024

STATUS_PURPOSE = "revocation"
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_TYPE = "BitstringStatusList"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
CREDENTIALS_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
_MULTIBASE_BASE64URL = "u"
_BASE64URL_TEXT = re.compile(r"[A-Za-z0-9_-]*")
_INDEX_TEXT = re.compile(r"[0-9]+")


def _check_index(index: Any, size_bits: int) -> int:
    # bool is an int in Python, but True as a list position is always a caller's mistake.
    if not isinstance(index, int) or isinstance(index, bool):
        raise ValueError(f"a status list index must be a whole number, got {index!r}")
    if not 0 <= index < size_bits:
        raise ValueError(f"status list index {index} is outside a list of {size_bits} entries (0 to {size_bits - 1})")
    return index


def encode_list(revoked_indexes: Iterable[int], size_bits: int = MIN_BITS) -> str:
    """Return the encodedList of a status list whose set bits are the revoked indexes."""
    if not isinstance(size_bits, int) or size_bits < MIN_BITS or size_bits > MAX_BITS or size_bits % 8:
        raise ValueError(f"a status list must hold a multiple of 8 entries between {MIN_BITS} and {MAX_BITS}, got {size_bits!r}")
    bits = bytearray(size_bits // 8)
    for index in revoked_indexes:
        _check_index(index, size_bits)
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0 keeps the gzip header free of the clock, so the same list always encodes to the same string.
    compressed = gzip.compress(bytes(bits), mtime=0)
    return _MULTIBASE_BASE64URL + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode_list(encoded: object) -> bytes:
    """Return the uncompressed bitstring of an encodedList; raise ValueError when it is malformed."""
    if not isinstance(encoded, str) or not encoded.startswith(_MULTIBASE_BASE64URL):
        raise ValueError("the encoded status list must be a text starting with 'u' (multibase base64url)")
    text = encoded[1:].rstrip("=")
    # The standard decoder silently skips foreign characters; a list that is not clean base64url is refused instead.
    if not _BASE64URL_TEXT.fullmatch(text):
        raise ValueError("the encoded status list contains characters that are not base64url")
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as error:
        raise ValueError(f"the encoded status list is not valid base64url: {error}") from error
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(compressed)) as stream:
            bitstring = stream.read(MAX_BITS // 8 + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"the encoded status list is not valid GZIP data: {error}") from error
    if len(bitstring) > MAX_BITS // 8:
        raise ValueError(f"the status list is larger than the {MAX_BITS // 8} bytes this verifier accepts")
    if len(bitstring) * 8 < MIN_BITS:
        raise ValueError(f"the status list holds {len(bitstring) * 8} entries, fewer than the minimum of {MIN_BITS}")
    return bitstring


def is_set(bitstring: bytes, index: int) -> bool:
    """Return whether the bit at index is set, index 0 being the most significant bit of the first byte."""
    _check_index(index, len(bitstring) * 8)
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def status_entry(list_url: str, index: int) -> dict[str, Any]:
    """Return the credentialStatus that points a credential at its bit in the revocation list at list_url."""
    _check_index(index, MAX_BITS)
    return {
        "id": f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": STATUS_PURPOSE,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def status_list_credential(list_url: str, issuer_did: str, valid_from_iso: str, encoded_list: str) -> dict[str, Any]:
    """Return the unsigned BitstringStatusListCredential publishing an encodedList; sign it with sign_credential."""
    return {
        "@context": [CREDENTIALS_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer_did,
        "validFrom": valid_from_iso,
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": LIST_TYPE,
            "statusPurpose": STATUS_PURPOSE,
            "encodedList": encoded_list,
        },
    }


def _types(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _revocation_entries(credential: dict[str, Any]) -> list[dict[str, Any]]:
    # VC 2.0 allows one status object or a list of them; only revocation entries of this spec concern us.
    status = credential.get("credentialStatus")
    entries = status if isinstance(status, list) else [status]
    return [entry for entry in entries if isinstance(entry, dict) and entry.get("type") == ENTRY_TYPE and entry.get("statusPurpose") == STATUS_PURPOSE]


def check_status(credential: dict[str, Any], status_list_credential: dict[str, Any]) -> tuple[bool | None, str]:
    """Return (revoked?, sentence), None when nothing can be revoked; ValueError for a foreign or malformed list (signature unchecked)."""
    if "credentialStatus" not in credential:
        return None, "The credential has no credentialStatus, so it cannot be revoked through a status list."
    entries = _revocation_entries(credential)
    if not entries:
        return None, "The credential has no revocation entry in its credentialStatus, so it cannot be revoked through a status list."
    if not isinstance(status_list_credential, dict):
        raise ValueError("the status list is not a JSON object")
    list_id = status_list_credential.get("id")
    matching = [entry for entry in entries if entry.get("statusListCredential") == list_id]
    if not matching:
        wanted = ", ".join(repr(entry.get("statusListCredential")) for entry in entries)
        raise ValueError(f"the status list {list_id!r} is not the one the credential points to ({wanted})")
    entry = matching[0]

    index_text = entry.get("statusListIndex")
    if not isinstance(index_text, str) or not _INDEX_TEXT.fullmatch(index_text):
        raise ValueError(f"the credential's statusListIndex must be a whole number written as text, got {index_text!r}")
    # A revocation bit is one bit; a wider entry belongs to another status scheme than the one checked here.
    if entry.get("statusSize", 1) != 1:
        raise ValueError(f"a revocation entry uses one bit per credential, but this one has statusSize {entry.get('statusSize')!r}")
    if LIST_CREDENTIAL_TYPE not in _types(status_list_credential.get("type")):
        raise ValueError(f"the status list is not a {LIST_CREDENTIAL_TYPE}")
    subject = status_list_credential.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != LIST_TYPE:
        raise ValueError(f"the status list's credentialSubject is not a {LIST_TYPE}")
    if STATUS_PURPOSE not in _types(subject.get("statusPurpose")):
        raise ValueError(f"the status list's purpose is {subject.get('statusPurpose')!r}, not {STATUS_PURPOSE!r}")

    bitstring = decode_list(subject.get("encodedList"))
    index = int(index_text)
    if index >= len(bitstring) * 8:
        raise ValueError(f"the credential's statusListIndex {index} is outside the status list, which has {len(bitstring) * 8} entries")
    if is_set(bitstring, index):
        return True, f"The issuer has revoked this credential: entry {index} of the status list {list_id} is set."
    return False, f"The credential has not been revoked: entry {index} of the status list {list_id} is clear."
