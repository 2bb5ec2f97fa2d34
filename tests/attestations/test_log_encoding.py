"""Log entries are encoded with orjson for speed; they must be exactly the RFC 8785 (JCS) bytes."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from govflow.attestations import merkle
from govflow.attestations.entries import encode_entry, leaf_input, leaf_of, revocation_entry, transition_entry, transition_entry_builder

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
    st.integers(min_value=1, max_value=2**31),
    st.none() | st.datetimes(min_value=datetime(2000, 1, 1)),
    st.none() | texts,
)
def test_transition_entries_are_jcs_canonical(instance, workflow, version, kind, trigger, source, dest, actor, at, comment, inputs, counter, due, due_trigger):
    data = transition_entry(instance, workflow, version, kind, trigger, source, dest, actor, at, comment, inputs, counter, due, due_trigger)
    assert rfc8785.dumps(json.loads(data)) == data


# History rows as the audit reads them: a few instances, versions, states and actors (so the builder's kept parts are
# reused across rows), any text anywhere, times as SQLite's text or other text or datetimes, inputs as JSON text or
# dicts; and, as a table rebuilt without types could hold, floats and booleans equal to the integers beside them.
few_texts = st.sampled_from(["draft", "declared", 'état "signé"', "a\\b", "\u2028\x00", ""]) | texts
odd_numbers = st.sampled_from([1.0, 2.0, True, False, 0])
small_ids = st.integers(min_value=1, max_value=4) | st.integers(min_value=1, max_value=2**40) | odd_numbers
stored_times = st.datetimes(min_value=datetime(2000, 1, 1)).flatmap(
    lambda moment: st.sampled_from([moment, moment.isoformat(sep=" ", timespec="microseconds"), moment.isoformat(), moment.isoformat(sep=" ")])
)
input_dicts = st.dictionaries(st.sampled_from(["reason", "evidence_url", "rationale"]), texts, max_size=3)
history_rows = st.tuples(
    small_ids,
    st.integers(min_value=1, max_value=3) | odd_numbers,
    st.sampled_from(["start", "transition", "timeout", "migrate"]) | texts | odd_numbers,
    st.none() | few_texts | odd_numbers,
    st.none() | few_texts | odd_numbers,
    few_texts | odd_numbers,
    st.none() | small_ids,
    stored_times,
    st.none() | st.just("") | texts,
    input_dicts | input_dicts.map(json.dumps) | st.sampled_from(["{}", "null", '{"reason": "d\u00e9j\u00e0"}']),
    st.integers(min_value=1, max_value=5) | odd_numbers | st.none(),
    st.none() | stored_times,
    st.none() | few_texts | odd_numbers,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.integers(min_value=1, max_value=4), st.none() | few_texts | odd_numbers), st.lists(history_rows, min_size=1, max_size=30))
def test_the_audits_entry_builder_gives_transition_entrys_bytes(workflows, rows):
    build = transition_entry_builder(workflows.get)  # one builder for all rows, as in an audit worker
    for instance, version, kind, trigger, source, dest, actor, at, comment, inputs, counter, due, due_trigger in rows:
        parsed = json.loads(inputs) if isinstance(inputs, str) else inputs
        expected = transition_entry(
            instance, workflows.get(instance), version, kind, trigger, source, dest, actor, at, comment, parsed, counter, due, due_trigger
        )
        assert build(instance, version, kind, trigger, source, dest, actor, at, comment, inputs, counter, due, due_trigger) == expected


def test_revocation_entries_are_jcs_canonical_and_hash_as_rfc_6962_leaves():
    data = revocation_entry("5f0c0c3e-2d0a-4b4e-9a53-4a1b7e0d9a01", datetime(2026, 11, 22, 8, 0), "Withdrawn: the product was stopped.")
    assert rfc8785.dumps(json.loads(data)) == data
    assert merkle.leaf_hash(data) == hashlib.sha256(b"\x00" + data).digest()


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["transition", "attestation", "ballot", "recusal"]), st.binary(min_size=32, max_size=32))
def test_a_leaf_input_is_canonical_json_of_the_kind_and_the_commitment_only(kind, digest):
    data = leaf_input(kind, digest)
    assert rfc8785.dumps(json.loads(data)) == data
    assert json.loads(data) == {"commitment": digest.hex(), "type": f"govflow.{kind}"}


def test_a_salted_commitment_cannot_be_confirmed_by_guessing_the_act():
    content = b'{"from":"draft","to":"declared"}'
    salted = [leaf_of("transition", content, bytes([n]) * 16) for n in range(2)]
    assert salted[0] != salted[1] != leaf_of("transition", content, None)
    assert leaf_of("attestation", content, None) == leaf_input("attestation", hashlib.sha256(content).digest())
