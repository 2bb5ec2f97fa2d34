"""The Merkle tree stored as C2SP tlog-tiles: paths, growing the tiles, and proofs read from a few of them.

Tile (L, N) holds up to 256 consecutive hashes of tree level 8L: at level 0 leaf hashes, above it the root of each
full tile of the level below. Any node of the tree is either in a tile or the root of at most 128 consecutive hashes
of one tile, so an inclusion or consistency proof of a tree of n leaves reads O(log n / 8) tiles whatever n is.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable

from . import merkle

WIDTH = 256
HASH = merkle.HASH_SIZE
TILE_BYTES = WIDTH * HASH
MAX_LEVEL = 63


class TilePathError(ValueError):
    """A tile path that does not follow tlog-tiles."""


def encode_index(index: int) -> str:
    """A tile index as zero-padded 3-digit path elements, all but the last prefixed with ``x`` (1234067 → x001/x234/067)."""
    if index < 0:
        raise ValueError(f"a tile index cannot be negative, got {index}")
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


def tile_path(level: int | str, index: int, width: int = WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]`` (level ``"entries"`` for entry bundles)."""
    suffix = "" if width == WIDTH else f".p/{width}"
    return f"tile/{level}/{encode_index(index)}{suffix}"


def parse_tile_path(rest: str) -> tuple[int | str, int, int]:
    """Parse ``<L>/<N>[.p/<W>]`` (or ``entries/<N>…``) into (level, index, width); raise TilePathError."""
    parts = rest.split("/")
    if len(parts) < 2:
        raise TilePathError("a tile path is <level>/<index>")
    level_text, elements = parts[0], parts[1:]
    width = WIDTH
    if len(elements) >= 2 and elements[-2].endswith(".p"):
        width_text = elements[-1]
        if not width_text.isdigit() or width_text.startswith("0") or not 1 <= int(width_text) <= 255:
            raise TilePathError("a partial tile's width is a number from 1 to 255 without leading zeroes")
        width = int(width_text)
        elements = elements[:-2] + [elements[-2][:-2]]
    if level_text == "entries":
        level: int | str = "entries"
    elif level_text.isdigit() and (level_text == "0" or not level_text.startswith("0")) and int(level_text) <= MAX_LEVEL:
        level = int(level_text)
    else:
        raise TilePathError("a tile level is a number from 0 to 63 without leading zeroes, or 'entries'")
    index = 0
    for position, element in enumerate(elements):
        last = position == len(elements) - 1
        digits = element if last else element[1:]
        if (not last and not element.startswith("x")) or len(digits) != 3 or not digits.isdigit():
            raise TilePathError("a tile index is written as 3-digit elements, all but the last starting with 'x'")
        index = index * 1000 + int(digits)
    if len(elements) > 1 and elements[0] == "x000":
        raise TilePathError("a tile index has no leading zero elements")
    return level, index, width


def partial_width(size: int, level: int) -> int:
    """The width of the partial tile of ``level`` in a tree of ``size`` leaves (0 when there is none)."""
    span: int = WIDTH**level  # an int: levels are never negative
    return (size // span) % WIDTH


def tile_count(size: int, level: int) -> tuple[int, int]:
    """(full tiles, width of the partial tile) of ``level`` in a tree of ``size`` leaves."""
    hashes = size // WIDTH**level
    return hashes // WIDTH, hashes % WIDTH


def perfect_root(hashes: bytes) -> bytes:
    """The root of a perfect subtree whose level hashes are concatenated in ``hashes`` (a power of two of them)."""
    level = [hashes[i : i + HASH] for i in range(0, len(hashes), HASH)]
    sha256 = hashlib.sha256
    while len(level) > 1:
        level = [sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
    return level[0]


def extend(size: int, leaf_hashes: list[bytes], read_tile: Callable[[int, int], bytes]) -> dict[tuple[int, int], bytes]:
    """The tiles that change when ``leaf_hashes`` are appended to a tree of ``size`` leaves: {(level, index): content}.

    ``read_tile(level, index)`` returns a stored (partial) tile; it is asked only for the right edge of each level.
    """
    changed: dict[tuple[int, int], bytes] = {}
    level, hashes = 0, leaf_hashes
    while hashes:
        position = size // WIDTH**level  # hashes already at this level
        completed: list[bytes] = []
        taken = 0
        while taken < len(hashes):
            index, offset = divmod(position, WIDTH)
            tile = changed.get((level, index))
            if tile is None:
                tile = read_tile(level, index) if offset else b""
            if len(tile) != offset * HASH:
                raise ValueError(f"tile {level}/{index} holds {len(tile) // HASH} hashes where {offset} were expected")
            take = min(WIDTH - offset, len(hashes) - taken)
            tile += b"".join(hashes[taken : taken + take])
            changed[level, index] = tile
            if len(tile) == TILE_BYTES:
                completed.append(perfect_root(tile))
            taken += take
            position += take
        level, hashes = level + 1, completed
    return changed


def _tile_levels(tile: bytes) -> list[list[bytes]]:
    """The 8 levels of nodes inside a tile (complete pairs only), level 0 being the tile's own hashes."""
    levels = [[tile[i : i + HASH] for i in range(0, len(tile), HASH)]]
    sha256 = hashlib.sha256
    for _ in range(7):
        below = levels[-1]
        levels.append([sha256(b"\x01" + below[i] + below[i + 1]).digest() for i in range(0, len(below) - 1, 2)])
    return levels


class TileTree:
    """The tree of the first ``size`` leaves, read from tiles through ``fetch(level, index) -> bytes``.

    Tiles are fetched once each; ``fetched`` counts them (what a proof costs in storage reads).
    """

    def __init__(self, size: int, fetch: Callable[[int, int], bytes]):
        self.size = size
        self._fetch = fetch
        self._levels: dict[tuple[int, int], list[list[bytes]]] = {}
        self.fetched = 0

    def _tile(self, level: int, index: int) -> list[list[bytes]]:
        levels = self._levels.get((level, index))
        if levels is None:
            self.fetched += 1
            levels = self._levels[level, index] = _tile_levels(self._fetch(level, index))
        return levels

    def node(self, height: int, k: int) -> bytes:
        """The root of the perfect subtree of 2^height leaves starting at leaf k * 2^height (inside the tree)."""
        if (k + 1) << height > self.size:
            raise ValueError(f"node {height}/{k} is not inside a tree of {self.size} leaves")
        level, within = divmod(height, 8)
        index = (k << within) // WIDTH
        nodes = self._tile(level, index)[within]
        position = k % (WIDTH >> within)
        if position >= len(nodes):
            raise ValueError(f"tile {level}/{index} is missing the hashes of node {height}/{k}")
        return nodes[position]

    def subtree_root(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range whose start is aligned to a power of two at least its length (what RFC 6962
        proofs ask for): the right fold of its perfect subtrees, largest first."""
        if not 0 <= start < end <= self.size:
            raise ValueError(f"range [{start}, {end}) is not inside a tree of {self.size} leaves")
        nodes = []
        position = start
        while position < end:
            height = (end - position).bit_length() - 1
            while position & ((1 << height) - 1):
                height -= 1
            nodes.append(self.node(height, position >> height))
            position += 1 << height
        root = nodes.pop()
        while nodes:
            root = merkle.node_hash(nodes.pop(), root)
        return root

    def root(self) -> bytes:
        """The root of the whole tree (the empty root when it has no leaf)."""
        return self.subtree_root(0, self.size) if self.size else merkle.EMPTY_ROOT

    def leaf(self, index: int) -> bytes:
        """The hash of leaf ``index``."""
        return self.node(0, index)

    def inclusion_proof(self, index: int) -> list[bytes]:
        """The RFC 6962 audit path of leaf ``index``."""
        return merkle.inclusion_proof_from(self.subtree_root, index, self.size)

    def consistency_proof(self, old_size: int) -> list[bytes]:
        """The RFC 6962 consistency proof from a tree of ``old_size`` leaves to this one."""
        return merkle.consistency_proof_from(self.subtree_root, old_size, self.size)


def entry_bundle(entries: Iterable[bytes]) -> bytes:
    """An entry bundle: each entry prefixed with its length as a big-endian uint16."""
    out = bytearray()
    for entry in entries:
        if len(entry) > 0xFFFF:
            raise ValueError("a log entry is longer than 65,535 bytes")
        out += struct.pack(">H", len(entry)) + entry
    return bytes(out)


def split_bundle(bundle: bytes) -> list[bytes]:
    """The entries of an entry bundle; raise ValueError when it is truncated."""
    entries, position = [], 0
    while position < len(bundle):
        if position + 2 > len(bundle):
            raise ValueError("the entry bundle ends inside a length prefix")
        (length,) = struct.unpack_from(">H", bundle, position)
        position += 2
        if position + length > len(bundle):
            raise ValueError("the entry bundle ends inside an entry")
        entries.append(bundle[position : position + length])
        position += length
    return entries
