"""Log entries are encoded with orjson for speed; they must be exactly the RFC 8785 (JCS) bytes."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from govflow.attestations import merkle
from govflow.attestations.log import encode_entry, revocation_payload, transition_entry

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(alphabet=st.characters(max_codepoint=0x7F)), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_entry_encoding_equals_jcs_for_any_json_without_floats(value):
    assert encode_entry(value) == rfc8785.dumps(value)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=2**40),
    texts,
    st.integers(min_value=1, max_value=99),
    st.sampled_from(["start", "transition", "timeout", "migrate"]),
    st.none() | texts,
    st.none() | texts,
    texts,
    st.none() | st.integers(min_value=1, max_value=2**31),
    st.datetimes(min_value=datetime(2000, 1, 1)),
    st.none() | texts,
    st.dictionaries(st.sampled_from(["reason", "evidence_url", "rationale"]), texts, max_size=3),
)
def test_transition_entries_are_jcs_canonical(instance, workflow, version, kind, trigger, source, dest, actor, at, comment, inputs):
    data = transition_entry(instance, workflow, version, kind, trigger, source, dest, actor, at, comment, inputs)
    assert rfc8785.dumps(json.loads(data)) == data


def test_revocation_entries_are_jcs_canonical_and_hash_as_rfc_6962_leaves():
    data = revocation_payload("5f0c0c3e-2d0a-4b4e-9a53-4a1b7e0d9a01", datetime(2026, 11, 22, 8, 0), "Withdrawn: the product was stopped.")
    assert rfc8785.dumps(json.loads(data)) == data
    assert merkle.leaf_hash(data) == hashlib.sha256(b"\x00" + data).digest()
