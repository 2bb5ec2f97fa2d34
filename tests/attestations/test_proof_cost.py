"""Proofs read O(log n) stored hashes: the same handful of tiles at a thousand entries and at a million (read as
statements counted, never timed; bench/ times them)."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from govflow.attestations import log, merkle, tiles
from govflow.attestations.models import LogState, LogTile
from govflow.attestations.sequencer import _sign
from govflow.attestations.verify import verify_offline
from govflow.extensions import db


def grow(app, total: int) -> None:
    """Append synthetic leaves until the log holds ``total`` entries, as the sequencer stores them, and sign the head."""
    with app.app_context(), Session(db.engine) as session:
        size = session.scalar(sa.select(LogState.size))
        existing: dict = {}

        def read(level, index):
            data = session.scalar(sa.select(LogTile.hashes).where(LogTile.level == level, LogTile.idx == index))
            existing[level, index] = data
            return bytes(data) if data is not None else b""

        leaves = [hashlib.sha256(n.to_bytes(8, "big")).digest() for n in range(size, total)]
        changed = tiles.extend(size, leaves, read)
        session.execute(sa.delete(LogTile).where(sa.tuple_(LogTile.level, LogTile.idx).in_([k for k in changed if existing.get(k) is not None])))
        session.execute(sa.insert(LogTile), [{"level": level, "idx": index, "hashes": data} for (level, index), data in changed.items()])
        root = tiles.TileTree(total, log.tile_fetcher(session)).root()
        session.execute(sa.update(LogState).values(size=total, root_hash=root))
        _sign(session, total, root)
        session.commit()


def count_statements(app, action) -> tuple[int, object]:
    statements = []
    with app.app_context():
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            result = action()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
    return len(statements), result


@pytest.mark.parametrize("size", [1_000, 100_000, 1_000_000])
def test_inclusion_and_consistency_proofs_read_a_few_tiles_whatever_the_size(app, size):
    grow(app, size)
    # Levels of tiles (256 hashes each): 2 at a thousand entries, 3 at a hundred thousand and at a million. A proof reads
    # at most the tile on its path and the tile of the tree's right edge at each level, one statement each.
    tile_levels = 1 + (size - 1).bit_length() // 8
    for index in (0, size // 3, size - 1):
        statements, (proof, fetched) = count_statements(app, lambda index=index: _inclusion(size, index))
        assert statements == fetched <= 2 * tile_levels, f"{statements} statements for an inclusion proof at {size} entries"
        with app.app_context():
            leaf = log.stored_tree(size).leaf(index)
            merkle.verify_inclusion(index, size, leaf, proof, log.stored_tree(size).root())
    for old in (1, size // 2 + 1, size - 1):
        statements, (proof, fetched) = count_statements(app, lambda old=old: _consistency(size, old))
        assert statements == fetched <= 2 * tile_levels, f"{statements} statements for a consistency proof at {size} entries"


def _inclusion(size, index):
    tree = log.stored_tree(size)
    return tree.inclusion_proof(index), tree.fetched


def _consistency(size, old):
    tree = log.stored_tree(size)
    return tree.consistency_proof(old), tree.fetched


def test_a_receipt_costs_the_same_statements_at_a_hundred_thousand_entries(app, client, make_user, make_org, make_commitment):
    officer = make_user()
    make_commitment(officer, make_org([(officer, "officer")]), steps=[("declare", None, {})])
    uid = next(r for r in client.get("/register.json").json["rows"] if r["commitment_attestation"])["commitment_attestation"].rsplit("/", 1)[-1][:-5]
    small, _ = count_statements(app, lambda: client.get(f"/attestations/{uid}/receipt.json"))
    grow(app, 100_000)
    large, response = count_statements(app, lambda: client.get(f"/attestations/{uid}/receipt.json"))
    receipt = response.json
    assert receipt["tree_size"] == 100_000
    assert large <= small + 4, f"a receipt took {small} statements at a few entries and {large} at 100,000"
    report = verify_offline(client.get(f"/attestations/{uid}.json").json, client.get("/.well-known/govflow-keys.json").json, None, receipt)
    assert next(c for c in report.checks if c.name == "log").ok


def test_a_status_list_is_served_from_storage_and_signed_once_per_change(app, client, make_user, make_org, make_commitment):
    officer = make_user()
    org = make_org([(officer, "officer")])
    make_commitment(officer, org, steps=[("declare", None, {})])
    first = client.get("/status/1")
    assert first.status_code == 200
    statements, again = count_statements(app, lambda: client.get("/status/1"))
    assert again.data == first.data and statements <= 3, "served as stored, not signed again"
    assert client.get("/status/1", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    make_commitment(officer, org, steps=[("declare", None, {}), ("withdraw", None, {"reason": "Stopped."})])
    changed = client.get("/status/1")
    assert changed.data != first.data, "a revocation signed the list again"
    assert client.get("/status/2").status_code == 404
