"""Bitstring Status List v1.0: bit order, deterministic encoding, round trips and the status check."""

from __future__ import annotations

import base64
import gzip
import random

import pytest

from govflow.attestations.statuslist import (
    MAX_BITS,
    MIN_BITS,
    check_status,
    decode_list,
    encode_list,
    is_set,
    status_entry,
    status_list_credential,
)

LIST_URL = "https://govflow.example/status/1"
ISSUER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def _raw(encoded: str) -> bytes:
    """Decode an encodedList with the standard library alone, as a third party would."""
    text = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def _encode_bytes(data: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(gzip.compress(data, mtime=0)).decode("ascii").rstrip("=")


def _credential(index: int, list_url: str = LIST_URL) -> dict:
    return {"id": "urn:uuid:1", "issuer": ISSUER, "credentialStatus": status_entry(list_url, index)}


def _list(revoked: list[int], list_url: str = LIST_URL) -> dict:
    return status_list_credential(list_url, ISSUER, "2026-11-22T08:00:00Z", encode_list(revoked))


# --- encoding --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "byte", "value"),
    [(0, 0, 0x80), (1, 0, 0x40), (7, 0, 0x01), (8, 1, 0x80), (13, 1, 0x04), (MIN_BITS - 1, MIN_BITS // 8 - 1, 0x01)],
)
def test_known_bit_positions(index: int, byte: int, value: int) -> None:
    raw = _raw(encode_list([index]))
    assert len(raw) == MIN_BITS // 8
    expected = bytearray(MIN_BITS // 8)
    expected[byte] = value
    assert raw == bytes(expected)
    assert is_set(raw, index)
    assert sum(is_set(raw, other) for other in range(max(0, index - 9), min(MIN_BITS, index + 9))) == 1


def test_empty_list_is_the_minimum_size_of_zeros() -> None:
    encoded = encode_list([])
    assert encoded.startswith("u")
    assert "=" not in encoded
    assert set(encoded[1:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_list(encoded) == bytes(MIN_BITS // 8)


def test_encoding_is_deterministic_whatever_the_order_or_duplicates() -> None:
    first = encode_list([5, 1000, 77])
    assert encode_list([5, 1000, 77]) == first
    assert encode_list([77, 5, 1000, 5]) == first
    assert encode_list(iter([1000, 77, 5])) == first
    assert encode_list([5, 1000]) != first


def test_round_trip() -> None:
    rng = random.Random(6962)
    revoked = set(rng.sample(range(MIN_BITS), 500)) | {0, MIN_BITS - 1}
    bitstring = decode_list(encode_list(revoked))
    assert {index for index in range(MIN_BITS) if is_set(bitstring, index)} == revoked


def test_larger_list_round_trips() -> None:
    size = MIN_BITS * 2
    bitstring = decode_list(encode_list([size - 1], size_bits=size))
    assert len(bitstring) == size // 8
    assert is_set(bitstring, size - 1)
    assert not is_set(bitstring, MIN_BITS - 1)


@pytest.mark.parametrize("index", [-1, MIN_BITS, MIN_BITS + 8, True, "3", 1.0])
def test_encode_rejects_bad_indexes(index: object) -> None:
    with pytest.raises(ValueError, match="status list index"):
        encode_list([index])  # type: ignore[list-item]


def test_out_of_range_index_message_is_plain() -> None:
    with pytest.raises(ValueError, match=rf"^status list index {MIN_BITS} is outside a list of {MIN_BITS} entries \(0 to {MIN_BITS - 1}\)$"):
        encode_list([MIN_BITS])


@pytest.mark.parametrize("size", [MIN_BITS - 8, MIN_BITS + 1, MAX_BITS + 8, 0])
def test_encode_rejects_bad_sizes(size: int) -> None:
    with pytest.raises(ValueError, match="multiple of 8 entries"):
        encode_list([], size_bits=size)


def test_is_set_rejects_out_of_range_index() -> None:
    with pytest.raises(ValueError, match="outside a list of 16 entries"):
        is_set(b"\x00\x00", 16)
    with pytest.raises(ValueError, match="outside"):
        is_set(b"\x00\x00", -1)


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("zAAAA", "starting with 'u'"),
        (None, "starting with 'u'"),
        ("uAA*A", "not base64url"),
        ("uA", "not valid base64url"),
        ("u" + base64.urlsafe_b64encode(b"not gzip at all").decode(), "not valid GZIP"),
        (_encode_bytes(bytes(MIN_BITS // 8))[:-10], "not valid GZIP"),
        (_encode_bytes(bytes(100)), "fewer than the minimum"),
    ],
)
def test_decode_rejects_malformed_lists(encoded: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_list(encoded)


def test_decode_refuses_a_list_that_inflates_past_the_cap() -> None:
    # A few kilobytes of GZIP that would expand to more than the cap: the public /verify page must not inflate it.
    with pytest.raises(ValueError, match="larger than"):
        decode_list(_encode_bytes(bytes(MAX_BITS // 8 + 1)))


def test_decode_accepts_padding() -> None:
    encoded = encode_list([3])
    padded = encoded + "=" * (-(len(encoded) - 1) % 4)
    assert decode_list(padded) == decode_list(encoded)


# --- entries and list credentials --------------------------------------------------------------------------------


def test_status_entry_shape() -> None:
    assert status_entry(LIST_URL, 94567) == {
        "id": f"{LIST_URL}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": LIST_URL,
    }
    with pytest.raises(ValueError, match="status list index"):
        status_entry(LIST_URL, -1)


def test_status_list_credential_shape() -> None:
    encoded = encode_list([1])
    assert status_list_credential(LIST_URL, ISSUER, "2026-11-22T08:00:00Z", encoded) == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": ISSUER,
        "validFrom": "2026-11-22T08:00:00Z",
        "credentialSubject": {"id": f"{LIST_URL}#list", "type": "BitstringStatusList", "statusPurpose": "revocation", "encodedList": encoded},
    }


# --- check_status ------------------------------------------------------------------------------------------------


def test_check_status_clear_and_revoked() -> None:
    revoked, sentence = check_status(_credential(42), _list([41, 43]))
    assert revoked is False
    assert sentence == f"The credential has not been revoked: entry 42 of the status list {LIST_URL} is clear."
    revoked, sentence = check_status(_credential(42), _list([42]))
    assert revoked is True
    assert sentence.startswith("The issuer has revoked this credential")


def test_check_status_without_credential_status() -> None:
    revoked, sentence = check_status({"id": "urn:uuid:1"}, _list([]))
    assert revoked is None
    assert "no credentialStatus" in sentence


def test_check_status_ignores_entries_of_other_purposes() -> None:
    credential = _credential(42)
    credential["credentialStatus"] = [{**credential["credentialStatus"], "statusPurpose": "suspension"}]
    assert check_status(credential, _list([42]))[0] is None


def test_check_status_accepts_a_list_of_entries() -> None:
    credential = _credential(42)
    other = status_entry("https://govflow.example/status/2", 7)
    credential["credentialStatus"] = [other, credential["credentialStatus"]]
    assert check_status(credential, _list([42]))[0] is True


def test_check_status_refuses_another_list() -> None:
    with pytest.raises(ValueError, match=r"^the status list 'https://govflow.example/status/2' is not the one the credential points to"):
        check_status(_credential(42), _list([], "https://govflow.example/status/2"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c, s: c["credentialStatus"].update(statusListIndex="4x"), "whole number written as text"),
        (lambda c, s: c["credentialStatus"].update(statusListIndex=42), "whole number written as text"),
        (lambda c, s: c["credentialStatus"].update(statusSize=2), "statusSize 2"),
        (lambda c, s: c["credentialStatus"].update(statusListIndex=str(MIN_BITS)), f"outside the status list, which has {MIN_BITS} entries"),
        (lambda c, s: s.update(type=["VerifiableCredential"]), "not a BitstringStatusListCredential"),
        (lambda c, s: s["credentialSubject"].update(type="StatusList2021"), "credentialSubject is not a BitstringStatusList"),
        (lambda c, s: s["credentialSubject"].update(statusPurpose="suspension"), "purpose is 'suspension'"),
        (lambda c, s: s["credentialSubject"].update(encodedList="not encoded"), "starting with 'u'"),
    ],
)
def test_check_status_refuses_malformed_inputs(change, message: str) -> None:
    credential, status_list = _credential(42), _list([42])
    change(credential, status_list)
    with pytest.raises(ValueError, match=message):
        check_status(credential, status_list)
