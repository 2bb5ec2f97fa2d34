"""Merkle tree hashes, inclusion proofs and consistency proofs of RFC 6962 / RFC 9162 (SHA-256)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from itertools import islice

HASH_SIZE = 32
# Domain separation prefixes (RFC 6962 §2.1) keep a leaf from ever being read as an inner node.
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A Merkle inclusion or consistency proof that does not verify; the message says why."""


def leaf_hash(entry: bytes) -> bytes:
    """Return the RFC 6962 hash of a log entry: SHA-256(0x00 || entry)."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 hash of an inner node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(hashes: Iterable[bytes]) -> bytes:
    """Return the Merkle Tree Hash (RFC 6962 §2.1) of leaf hashes, in linear time and logarithmic memory."""
    # A stack of perfect subtrees (a compact range) hashes each node once and never copies the input;
    # folding it right to left at the end gives exactly the RFC's "split at the largest power of two" tree.
    stack: list[bytes] = []
    sha256 = hashlib.sha256  # a local name: this loop runs once per leaf, a million times in the benchmark
    for count, current in enumerate(hashes):
        # Each set low bit of the count of leaves already seen is a finished subtree to merge with.
        merges = count
        while merges & 1:
            current = sha256(_NODE_PREFIX + stack.pop() + current).digest()
            merges >>= 1
        stack.append(current)
    if not stack:
        return EMPTY_ROOT
    root = stack.pop()
    while stack:
        root = sha256(_NODE_PREFIX + stack.pop() + root).digest()
    return root


def _subtree_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    return root_from_leaf_hashes(islice(leaf_hashes, start, end))


def _split(size: int) -> int:
    # The largest power of two strictly smaller than size (size >= 2).
    return 1 << ((size - 1).bit_length() - 1)


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Return the audit path PATH(index, D[n]) of RFC 6962 §2.1.1, from the leaf level up to the root."""
    return inclusion_proof_from(lambda start, end: _subtree_root(leaf_hashes, start, end), index, len(leaf_hashes))


def inclusion_proof_from(subtree_root: Callable[[int, int], bytes], index: int, size: int) -> list[bytes]:
    """The audit path of leaf ``index`` in a tree of ``size`` leaves, ``subtree_root(start, end)`` giving MTH(D[start:end]).

    Only the O(log n) subtrees on the path are asked for, so a tree stored as tiles answers from a few of them.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
    # Walk down from the root instead of recursing on slices; the siblings come out top-down.
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            path.append(subtree_root(middle, end))
            end = middle
        else:
            path.append(subtree_root(start, middle))
            start = middle
    path.reverse()
    return path


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Return PROOF(old_size, D[new_size]) of RFC 6962 §2.1.2; empty when both sizes are equal."""
    if not new_size <= len(leaf_hashes):
        raise ValueError(f"a consistency proof needs 0 < old size <= new size <= {len(leaf_hashes)} leaves, got old size {old_size} and new size {new_size}")
    return consistency_proof_from(lambda start, end: _subtree_root(leaf_hashes, start, end), old_size, new_size)


def consistency_proof_from(subtree_root: Callable[[int, int], bytes], old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) with ``subtree_root(start, end)`` giving MTH(D[start:end]); empty for equal sizes."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"a consistency proof needs 0 < old size <= new size, got old size {old_size} and new size {new_size}")
    # Iterative SUBPROOF(m, D[start:end], complete): the nodes come out top-down, the RFC lists them bottom-up.
    proof: list[bytes] = []
    start, end, m, complete = 0, new_size, old_size, True
    while m != end - start:
        middle = start + _split(end - start)
        if m <= middle - start:
            proof.append(subtree_root(middle, end))
            end = middle
        else:
            proof.append(subtree_root(start, middle))
            m -= middle - start
            start = middle
            complete = False
    if not complete:
        # The old tree's root is not a node the verifier already knows, so the proof must carry it.
        proof.append(subtree_root(start, end))
    proof.reverse()
    return proof


def _check_hash_sizes(proof: Sequence[bytes]) -> None:
    for position, element in enumerate(proof):
        if len(element) != HASH_SIZE:
            raise ProofError(f"proof element {position} is {len(element)} bytes long instead of {HASH_SIZE}")


def _shift_until_lsb_set_or_zero(fn: int, sn: int) -> tuple[int, int]:
    while not fn & 1 and fn != 0:
        fn >>= 1
        sn >>= 1
    return fn, sn


def verify_inclusion(leaf_index: int, tree_size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Check an inclusion proof with the algorithm of RFC 9162 §2.1.3.2; raise ProofError when it fails."""
    if leaf_index < 0:
        raise ProofError(f"leaf index {leaf_index} is negative")
    if leaf_index >= tree_size:
        raise ProofError(f"leaf index {leaf_index} is not inside a tree of size {tree_size}")
    # The RFC algorithm would accept an empty leaf hash against an empty root; a real hash has a fixed size.
    if len(leaf_hash) != HASH_SIZE:
        raise ProofError(f"the leaf hash is {len(leaf_hash)} bytes long instead of {HASH_SIZE}")
    _check_hash_sizes(proof)

    fn, sn = leaf_index, tree_size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError(f"the proof has more elements than a tree of size {tree_size} needs")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                fn, sn = _shift_until_lsb_set_or_zero(fn, sn)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"the proof has fewer elements than a tree of size {tree_size} needs")
    if r != root:
        raise ProofError("the root computed from the inclusion proof does not match the expected root")


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Check a consistency proof with the algorithm of RFC 9162 §2.1.4.2; raise ProofError when it fails."""
    # The RFC algorithm covers 0 < size1 < size2; the bounds and the equal-size case are checked first.
    if size1 <= 0:
        raise ProofError(f"the old tree size must be at least 1, got {size1}: nothing can be proven about an empty tree")
    if size1 > size2:
        raise ProofError(f"the old tree size {size1} is larger than the new tree size {size2}")
    if size1 == size2:
        if proof:
            raise ProofError("the tree sizes are equal, so the consistency proof must be empty")
        if root1 != root2:
            raise ProofError("the tree sizes are equal but the two roots differ")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    _check_hash_sizes(proof)

    path = list(proof)
    if size1 & (size1 - 1) == 0:
        # The old tree is a perfect subtree of the new one, so its root is the proof's implicit first node.
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"the proof has more elements than trees of sizes {size1} and {size2} need")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                fn, sn = _shift_until_lsb_set_or_zero(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"the proof has fewer elements than trees of sizes {size1} and {size2} need")
    if fr != root1:
        raise ProofError("the old root computed from the consistency proof does not match the expected old root")
    if sr != root2:
        raise ProofError("the new root computed from the consistency proof does not match the expected new root")


def frontier_append(frontier: Sequence[bytes], size: int, leaf: bytes) -> list[bytes]:
    """The frontier after appending ``leaf`` (a leaf hash) to a tree of ``size`` leaves.

    The frontier is the list of roots of the perfect subtrees that make up the tree, largest first (one per
    set bit of ``size``), so the root is computable in O(log n) without reading the leaves.
    """
    out = list(frontier)
    frontier_push(out, size, leaf)
    return out


def frontier_push(frontier: list[bytes], size: int, leaf: bytes) -> None:
    """Append ``leaf`` to a tree of ``size`` leaves, updating ``frontier`` in place (for long scans)."""
    sha256 = hashlib.sha256
    node, n = leaf, size
    while n & 1:
        node = sha256(_NODE_PREFIX + frontier.pop() + node).digest()
        n >>= 1
    frontier.append(node)


def levels(leaf_hashes: Sequence[bytes]) -> list[list[bytes]]:
    """Every complete level of the tree over ``leaf_hashes`` (a power-of-two-aligned span): level k holds the roots of its
    aligned subtrees of 2^k leaves."""
    # Hashing level by level (one comprehension per level) costs a third less than a frontier push per leaf.
    out = [list(leaf_hashes)]
    sha256 = hashlib.sha256
    while len(out[-1]) > 1:
        pairs = iter(out[-1])
        out.append([sha256(_NODE_PREFIX + left + right).digest() for left, right in zip(pairs, pairs, strict=False)])
    return out


def frontiers(leaf_hashes: Sequence[bytes], sizes: Iterable[int], tree_levels: list[list[bytes]] | None = None) -> dict[int, list[bytes]]:
    """The frontiers of the trees of the first ``size`` leaf hashes, for each of ``sizes`` (at most the number of leaves)."""
    # The frontier of any prefix is read off the levels: bit k of its size is the node (size >> k) - 1 of level k.
    tree_levels = tree_levels if tree_levels is not None else levels(leaf_hashes)
    out = {}
    for size in sizes:
        if not 0 <= size <= len(leaf_hashes):
            raise ValueError(f"a frontier of {size} leaves asked of {len(leaf_hashes)} leaves")
        out[size] = [tree_levels[k][(size >> k) - 1] for k in reversed(range(size.bit_length())) if size >> k & 1]
    return out


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """The RFC 6962 root of the tree a frontier describes (the empty root for an empty tree)."""
    if not frontier:
        return EMPTY_ROOT
    node = frontier[-1]
    for left in reversed(frontier[:-1]):
        node = node_hash(left, node)
    return node
