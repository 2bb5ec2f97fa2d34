"""RFC 6962 / RFC 9162 Merkle trees: the transparency-dev vectors, and generator/verifier round trips."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from govflow.attestations.merkle import (
    EMPTY_ROOT,
    ProofError,
    consistency_proof,
    frontier_append,
    frontiers,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from tests.vectors import VECTORS, vector_files, vectors_dir

MERKLE = "merkle/testdata"
INCLUSION = vector_files(f"{MERKLE}/inclusion")
CONSISTENCY = vector_files(f"{MERKLE}/consistency")

# The entries from which the upstream generator built its numbered happy-path vectors (the classic CT test data).
CT_ENTRIES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]


def _vector_id(path: Path) -> str:
    return path.relative_to(VECTORS / MERKLE).as_posix()


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _decode(values: list[str] | None) -> list[bytes]:
    # Go marshals a nil proof as null.
    return [base64.b64decode(value) for value in values or []]


def _leaves(size: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]


def _reference_root(hashes: list[bytes]) -> bytes:
    """Spell out RFC 6962 §2.1 MTH literally, recursion and slices included."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(_reference_root(hashes[:k]), _reference_root(hashes[k:]))


def test_merkle_vectors_are_all_found() -> None:
    folder = vectors_dir() / MERKLE
    assert (folder / "inclusion").is_dir() and (folder / "consistency").is_dir()
    assert len(INCLUSION) + len(CONSISTENCY) > 150
    assert INCLUSION and CONSISTENCY


@pytest.mark.parametrize("path", INCLUSION, ids=_vector_id)
def test_inclusion_vector(path: Path) -> None:
    case = _load(path)
    args = (case["leafIdx"], case["treeSize"], base64.b64decode(case["leafHash"]), _decode(case["proof"]))
    root = base64.b64decode(case["root"])
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args, root)
    else:
        verify_inclusion(*args, root)


@pytest.mark.parametrize("path", CONSISTENCY, ids=_vector_id)
def test_consistency_vector(path: Path) -> None:
    case = _load(path)
    roots = base64.b64decode(case["root1"]), base64.b64decode(case["root2"])
    args = (case["size1"], case["size2"], _decode(case["proof"]), *roots)
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


@pytest.mark.parametrize("path", [p for p in INCLUSION + CONSISTENCY if p.name == "happy-path.json"], ids=_vector_id)
def test_generators_reproduce_the_happy_path_vectors(path: Path) -> None:
    leaves = [leaf_hash(bytes.fromhex(entry)) for entry in CT_ENTRIES]
    case = _load(path)
    if "leafIdx" in case:
        size = case["treeSize"]
        assert root_from_leaf_hashes(leaves[:size]) == base64.b64decode(case["root"])
        assert inclusion_proof(leaves[:size], case["leafIdx"]) == _decode(case["proof"])
    else:
        assert root_from_leaf_hashes(leaves[: case["size1"]]) == base64.b64decode(case["root1"])
        assert root_from_leaf_hashes(leaves[: case["size2"]]) == base64.b64decode(case["root2"])
        assert consistency_proof(leaves, case["size1"], case["size2"]) == _decode(case["proof"])


def test_hashes_follow_rfc6962_domain_separation() -> None:
    assert leaf_hash(b"data") == hashlib.sha256(b"\x00data").digest()
    assert node_hash(b"L", b"R") == hashlib.sha256(b"\x01LR").digest()
    assert root_from_leaf_hashes([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", [*range(0, 70), 127, 128, 129, 1000, 1025])
def test_root_matches_the_recursive_definition(size: int) -> None:
    leaves = _leaves(size)
    assert root_from_leaf_hashes(leaves) == _reference_root(leaves)


@pytest.mark.parametrize("size", range(1, 41))
def test_generated_inclusion_proofs_verify(size: int) -> None:
    leaves = _leaves(size)
    root = root_from_leaf_hashes(leaves)
    for index in range(size):
        proof = inclusion_proof(leaves, index)
        verify_inclusion(index, size, leaves[index], proof, root)
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf_hash(b"not in the tree"), proof, root)


@pytest.mark.parametrize("size", range(1, 41))
def test_generated_consistency_proofs_verify(size: int) -> None:
    leaves = _leaves(size)
    new_root = root_from_leaf_hashes(leaves)
    for old_size in range(1, size + 1):
        old_root = root_from_leaf_hashes(leaves[:old_size])
        proof = consistency_proof(leaves, old_size, size)
        verify_consistency(old_size, size, proof, old_root, new_root)
        if old_size < size:
            with pytest.raises(ProofError):
                verify_consistency(old_size, size, proof, old_root, leaf_hash(b"forked"))


def test_generators_refuse_impossible_requests() -> None:
    leaves = _leaves(4)
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(leaves, 4)
    with pytest.raises(ValueError, match="old size"):
        consistency_proof(leaves, 0, 4)
    with pytest.raises(ValueError, match="old size"):
        consistency_proof(leaves, 3, 5)


def test_proof_errors_say_what_is_wrong() -> None:
    leaves = _leaves(5)
    root = root_from_leaf_hashes(leaves)
    proof = inclusion_proof(leaves, 2)
    with pytest.raises(ProofError, match="not inside a tree of size 5"):
        verify_inclusion(5, 5, leaves[2], proof, root)
    with pytest.raises(ProofError, match="fewer elements"):
        verify_inclusion(2, 5, leaves[2], proof[:-1], root)
    with pytest.raises(ProofError, match="more elements"):
        verify_inclusion(2, 5, leaves[2], [*proof, root], root)
    with pytest.raises(ProofError, match="does not match the expected root"):
        verify_inclusion(2, 5, leaves[3], proof, root)
    with pytest.raises(ProofError, match="larger than the new tree size"):
        verify_consistency(5, 4, [], root, root)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 7, 8, 9, 33, 64])
def test_frontiers_of_every_prefix_match_appending_one_leaf_at_a_time(size: int) -> None:
    leaves = _leaves(size)
    expected, frontier = {0: []}, []
    for count, leaf in enumerate(leaves):
        frontier = frontier_append(frontier, count, leaf)
        expected[count + 1] = frontier
    assert frontiers(leaves, range(size + 1)) == expected
    with pytest.raises(ValueError, match="asked of"):
        frontiers(leaves, [size + 1])
