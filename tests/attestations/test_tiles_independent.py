"""A checkpoint and an inclusion proof read from the tiles verify with code written from the specifications alone.

Nothing of govflow's own log code is used here: the note is parsed and its Ed25519 signature checked as C2SP
signed-note says, the checkpoint read as tlog-checkpoint says, tiles fetched by the paths tlog-tiles gives, the tree
hashed as RFC 6962 §2.1 defines it, and the proof checked with the algorithm of RFC 9162 §2.1.3.2.
docs/verification.md walks through the same steps.
"""

from __future__ import annotations

import base64
import hashlib
import json

import base58
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from govflow.extensions import db

# -- C2SP signed-note and tlog-checkpoint -----------------------------------------------------------------------------


def verify_checkpoint(note: str, public_key_bytes: bytes) -> tuple[str, int, bytes]:
    """Return (origin, size, root) of a checkpoint signed by the Ed25519 key whose name is the origin."""
    cut = note.rindex("\n\n")  # "the text is separated from the signatures by the last empty line"
    text, signatures = note[: cut + 1], note[cut + 2 :].splitlines()
    origin, size, root = text.split("\n")[:3]
    key_id = hashlib.sha256(origin.encode() + b"\n" + b"\x01" + public_key_bytes).digest()[:4]
    verified = False
    for line in signatures:
        dash, name, blob_b64 = line.split(" ")
        blob = base64.b64decode(blob_b64)
        if dash == "\u2014" and name == origin and blob[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(public_key_bytes).verify(blob[4:], text.encode())  # raises if altered
            verified = True
    assert verified, "no signature of the log's key"
    return origin, int(size), base64.b64decode(root)


def did_key_bytes(did: str) -> bytes:
    """The raw Ed25519 key of a did:key (multibase base58btc 'z', multicodec 0xed 0x01)."""
    raw = base58.b58decode(did.removeprefix("did:key:")[1:])
    assert raw[:2] == b"\xed\x01"
    return raw[2:]


# -- C2SP tlog-tiles and RFC 6962 -------------------------------------------------------------------------------------


def tile_url(level: int, index: int, width: int) -> str:
    parts = []
    while True:
        parts.append(f"{index % 1000:03d}")
        index //= 1000
        if not index:
            break
    parts.reverse()
    path = "/".join(["x" + p for p in parts[:-1]] + [parts[-1]])
    return f"/log/tile/{level}/{path}" + ("" if width == 256 else f".p/{width}")


class Tiles:
    """Hashes of the tree read from tiles: level 0 holds leaf hashes, level L the MTH of each full tile below."""

    def __init__(self, client, size: int):
        self.client, self.size, self.cache = client, size, {}

    def hashes(self, level: int, index: int) -> list[bytes]:
        if (level, index) not in self.cache:
            count = self.size // 256**level  # hashes at this level
            width = min(256, count - index * 256)
            data = self.client.get(tile_url(level, index, width)).data
            assert len(data) == 32 * width
            self.cache[level, index] = [data[i : i + 32] for i in range(0, len(data), 32)]
        return self.cache[level, index]

    def mth(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) (RFC 6962 §2.1), using a tile hash when the range is a whole tile of some level."""
        n = end - start
        for level in (2, 1):
            span = 256**level
            if n == span and start % span == 0:
                return self.hashes(level, start // (256 * span))[start // span % 256]
        if n == 1:
            return self.hashes(0, start // 256)[start % 256]
        k = 1 << ((n - 1).bit_length() - 1)  # the largest power of two smaller than n
        return hashlib.sha256(b"\x01" + self.mth(start, start + k) + self.mth(start + k, end)).digest()

    def path(self, m: int, start: int, end: int) -> list[bytes]:
        """PATH(m, D[start:end]) of RFC 6962 §2.1.1."""
        n = end - start
        if n == 1:
            return []
        k = 1 << ((n - 1).bit_length() - 1)
        if m < k:
            return self.path(m, start, start + k) + [self.mth(start + k, end)]
        return self.path(m - k, start + k, end) + [self.mth(start, start + k)]


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def test_a_credential_is_proven_in_a_checkpoint_from_tiles_alone(app, client, make_user, make_org, make_commitment):
    from govflow.attestations import log
    from govflow.attestations.sequencer import integrate_all

    officer = make_user()
    make_commitment(officer, make_org([(officer, "officer")]), steps=[("declare", None, {})])
    # Enough other entries for tiles of level 1 to exist (the log commits to any act the same way).
    with app.app_context():
        for n in range(700):
            log.add_entry("score", f"a scoring sheet {n}".encode(), ref=f"bench-{n}")
        db.session.commit()
        integrate_all()
    row = next(r for r in client.get("/register.json").json["rows"] if r["commitment_attestation"])
    uid = row["commitment_attestation"].rsplit("/", 1)[-1].removesuffix(".json")
    credential = client.get(f"/attestations/{uid}.json").json
    keys = client.get("/.well-known/govflow-keys.json").json

    origin, size, root = verify_checkpoint(client.get("/log/checkpoint").get_data(as_text=True), did_key_bytes(keys["log"]))
    assert origin == keys["log_origin"] and size > 512

    # The leaf commits to the credential: SHA-256 of its JCS bytes, in the canonical JSON of the public leaf input.
    commitment = hashlib.sha256(rfc8785.dumps(credential)).hexdigest()
    leaf = hashlib.sha256(b"\x00" + json.dumps({"commitment": commitment, "type": "govflow.attestation"}, separators=(",", ":")).encode()).digest()
    tiles = Tiles(client, size)
    index = next(i for i in range(size) if tiles.hashes(0, i // 256)[i % 256] == leaf)
    proof = tiles.path(index, 0, size)
    assert tiles.mth(0, size) == root, "the tiles make up the checkpoint's tree"
    assert verify_inclusion(index, size, leaf, proof, root)
    assert any(level == 1 for level, _ in tiles.cache), "the proof used a tile of level 1"
    # The RFC 6962 endpoint answers the same path, and the entry bundle holds the leaf input (a kind and a commitment).
    served = client.get("/log/v1/get-proof-by-hash", query_string={"hash": base64.b64encode(leaf).decode(), "tree_size": size}).json
    assert served["leaf_index"] == index and [base64.b64decode(p) for p in served["audit_path"]] == proof
    bundle = client.get(tile_url("entries", index // 256, min(256, size - index // 256 * 256))).data
    entries, position = [], 0
    while position < len(bundle):
        length = int.from_bytes(bundle[position : position + 2], "big")
        entries.append(bundle[position + 2 : position + 2 + length])
        position += 2 + length
    assert hashlib.sha256(b"\x00" + entries[index % 256]).digest() == leaf
    # One changed byte anywhere and it fails.
    assert not verify_inclusion(index, size, leaf, [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]], root)
    assert not verify_inclusion(index, size, hashlib.sha256(b"other").digest(), proof, root)


def test_tiles_are_immutable_cacheable_and_absent_tiles_are_404(app, client, make_user, make_org, make_commitment):
    officer = make_user()
    make_commitment(officer, make_org([(officer, "officer")]), steps=[("declare", None, {})])
    size = client.get("/log/v1/get-sth").json["tree_size"]
    response = client.get(tile_url(0, 0, size))
    assert response.status_code == 200 and "immutable" in response.headers["Cache-Control"]
    assert client.get(tile_url(0, 0, size), headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    assert client.get(tile_url(0, 0, size + 1)).status_code == 404  # not that many entries yet
    assert client.get(tile_url(0, 1, 1)).status_code == 404
    assert client.get("/log/tile/0/1234").status_code == 404  # malformed index
    assert client.get("/log/tile/99/000").status_code == 404  # no such level
    checkpoint = client.get("/log/checkpoint")
    assert checkpoint.headers["Content-Type"] == "text/plain; charset=utf-8" and "max-age=5" in checkpoint.headers["Cache-Control"]
