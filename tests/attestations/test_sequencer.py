"""The log's sequencer: off the acts' path, a promise at once, integration within a second in one process, and
several sequencers at once never giving two entries the same index."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from govflow.attestations import log, tiles
from govflow.attestations.audit import audit_log
from govflow.attestations.merkle import root_from_leaf_hashes
from govflow.attestations.models import LogEntry, LogState, TreeHead
from govflow.attestations.sequencer import integrate, integrate_all
from govflow.attestations.verify import verify_offline
from govflow.cli import cli
from govflow.extensions import db


def _uid(client):
    row = next(r for r in client.get("/register.json").json["rows"] if r["commitment_attestation"])
    return row["commitment_attestation"].rsplit("/", 1)[-1].removesuffix(".json")


def _declare_one(app) -> None:
    """An organisation signs the Numeum manifesto and declares a commitment (two attested acts)."""
    from govflow.accounts.services import create_user
    from govflow.charters.catalog import get_catalog
    from govflow.charters.models import Commitment
    from govflow.charters.services import sign_charter
    from govflow.instances.services import fire_transition
    from govflow.organisations.services import add_member, create_organisation

    with app.app_context():
        officer = create_user("officer@test.example", "Officer", "govflow-demo", ["signatory"])
        org = create_organisation("Acme", "company")
        add_member(org, officer, "officer")
        charter = get_catalog().get("numeum-ethical-ai")
        signature = sign_charter(officer, org, charter, charter.pillar_keys())
        commitment = db.session.scalars(sa.select(Commitment).where(Commitment.signature_id == signature.id)).first()
        commitment.statement = "Publish a plain-language note for every AI product we ship."
        fire_transition(officer, commitment.instance, "declare", {})
        db.session.commit()


def test_a_pending_entry_gets_a_signed_promise_and_its_proof_once_integrated(app_factory):
    app = app_factory(GOVFLOW_SEQUENCER="off")
    client = app.test_client()
    _declare_one(app)
    with app.app_context():
        pending = db.session.scalar(sa.select(sa.func.count()).select_from(LogEntry).where(LogEntry.index.is_(None)))
        assert pending > 0 and db.session.get(LogState, 1).size == 0, "acts never wait for the sequencer"
    uid = _uid(client)
    credential = client.get(f"/attestations/{uid}.json").json
    keys = client.get("/.well-known/govflow-keys.json").json
    receipt = client.get(f"/attestations/{uid}/receipt.json").json
    assert receipt["status"] == "pending" and "govflow-promise/v1" in receipt["promise"]
    check = next(c for c in verify_offline(credential, keys, None, receipt).checks if c.name == "log")
    assert check.ok is None and "promise to include this credential" in check.message
    # A promise for another credential, or a forged one, fails.
    forged = {**receipt, "promise": receipt["promise"][:-10] + "AAAAAAAAA\n"}
    assert next(c for c in verify_offline(credential, keys, None, forged).checks if c.name == "log").ok is False
    other = dict(credential, id="urn:uuid:00000000-0000-4000-8000-000000000000")
    assert next(c for c in verify_offline(other, keys, None, receipt).checks if c.name == "log").ok is False
    # The sequencer integrates; the same address now answers the inclusion proof.
    result = app.test_cli_runner().invoke(cli, ["log", "sequencer", "--once"])
    assert result.exit_code == 0 and "entries integrated" in result.output
    receipt = client.get(f"/attestations/{uid}/receipt.json").json
    assert next(c for c in verify_offline(credential, keys, None, receipt).checks if c.name == "log").ok is True
    status = app.test_cli_runner().invoke(cli, ["log", "status"])
    assert "entries pending:    0" in status.output


def test_in_one_process_the_sequencer_thread_integrates_within_a_second(app_factory):
    app = app_factory(GOVFLOW_SEQUENCER="thread")
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # the first request starts the thread
    with app.app_context():
        size = db.session.get(LogState, 1).size
        log.add_entry("declaration", b"a declaration of interests", ref="thread-test")
        db.session.commit()  # wakes the thread
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        with app.app_context():
            if db.session.get(LogState, 1).size == size + 1:
                break
        time.sleep(0.05)
    with app.app_context():
        assert db.session.get(LogState, 1).size == size + 1
        assert db.session.scalar(sa.select(TreeHead.tree_size).order_by(TreeHead.tree_size.desc()).limit(1)) == size + 1


def test_sequencers_running_at_once_beside_writers_never_share_an_index(app_factory):
    app = app_factory(GOVFLOW_SEQUENCER="off")
    stop = threading.Event()
    errors = []

    def writer(n):
        with app.app_context():
            try:
                for i in range(40):
                    log.add_entry("declaration", f"writer {n} act {i}".encode(), ref=f"w{n}-{i}")
                    db.session.commit()
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    def sequencer():
        with app.app_context():
            try:
                while not stop.is_set():
                    integrate()
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    sequencers = [threading.Thread(target=sequencer) for _ in range(3)]
    writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in sequencers + writers:
        t.start()
    for t in writers:
        t.join(timeout=120)
    stop.set()
    for t in sequencers:
        t.join(timeout=60)
    assert errors == [], errors
    with app.app_context():
        integrate_all()
        indexes = list(db.session.scalars(sa.select(LogEntry.index).order_by(LogEntry.index)))
        assert indexes == list(range(len(indexes))) and len(indexes) == 160
        heads = list(db.session.scalars(sa.select(TreeHead.tree_size).order_by(TreeHead.tree_size)))
        assert heads == sorted(set(heads)) and heads[-1] == 160
        # Every signed head is the root of the entries before it, and the tiles hold the same tree.
        leaves = [bytes(h) for h in db.session.scalars(sa.select(LogEntry.leaf_hash).order_by(LogEntry.index))]
        for head in db.session.scalars(sa.select(TreeHead)):
            assert head.root_hash == root_from_leaf_hashes(leaves[: head.tree_size])
        assert tiles.TileTree(160, log.tile_fetcher()).root() == root_from_leaf_hashes(leaves)
        # The audit finds the tree and the heads sound (only the 160 test acts, which no table holds, are reported).
        problems = audit_log().problems
        assert problems and {kind for kind, _, _ in problems} == {"act"}
