"""Attestations issued by transitions, revocation, keys, the log endpoints, /verify, and tamper evidence."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest
import sqlalchemy as sa

from govflow.attestations import merkle
from govflow.attestations.audit import audit_log
from govflow.attestations.credentials import public_key_from_did, verify_credential
from govflow.attestations.models import Attestation, LogEntry, LogState, SigningKey
from govflow.attestations.sth import verify_tree_head
from govflow.attestations.verify import verify_offline
from govflow.cli import cli
from govflow.extensions import db
from govflow.instances.models import InstanceHistory

from ..conftest import login

EVIDENCE = {"evidence_url": "https://org.example/evidence"}


@pytest.fixture
def declared(make_user, make_org, make_commitment):
    officer = make_user(name="Officer One")
    reviewer = make_user(roles=("committee_member",), name="Reviewer One")
    org = make_org([(officer, "officer")], name="Acme Analytics")
    commitment = make_commitment(officer, org, steps=[("declare", None, {})])
    return type("D", (), dict(officer=officer, reviewer=reviewer, org=org, commitment=commitment))


def only_attestation(app, instance_id) -> dict:
    with app.app_context():
        (a,) = db.session.scalars(sa.select(Attestation).where(Attestation.instance_id == instance_id)).all()
        return {"uid": a.uid, "credential": json.loads(a.credential), "revoked_at": a.revoked_at, "history_id": a.history_id}


def test_declaring_issues_one_signed_credential_with_history_and_log_in_the_same_transaction(app, declared):
    a = only_attestation(app, declared.commitment.instance_id)
    credential = a["credential"]
    assert verify_credential(credential).ok
    assert all(isinstance(c, str) for c in credential["@context"])
    assert credential["issuer"] == credential["proof"]["verificationMethod"].split("#")[0]
    assert credential["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    subject = credential["credentialSubject"]
    assert (subject["act"], subject["fromState"], subject["toState"], subject["workflow"], subject["definitionVersion"]) == (
        "declare",
        "draft",
        "declared",
        "commitment",
        1,
    )
    assert subject["actor"] == "Officer One" and subject["organisation"]["name"] == "Acme Analytics"
    assert credential["credentialStatus"]["type"] == "BitstringStatusListEntry"
    with app.app_context():
        history = db.session.get(InstanceHistory, a["history_id"])
        assert history.trigger == "declare"
        kinds = [k for _, k in db.session.execute(sa.select(LogEntry.index, LogEntry.kind).order_by(LogEntry.index)).all()]
        # signature started and signed (its credential, then its history row), a draft per pillar started, then the
        # declaration (its credential, then its history row): each act's effects first, its log entries last
        assert kinds == ["transition", "attestation", "transition", "transition", "transition", "transition", "attestation", "transition"]
        assert db.session.get(LogState, 1).size == len(kinds)


def test_a_refused_transition_issues_nothing_and_logs_nothing(app, client, declared):
    with app.app_context():
        before = (db.session.scalar(sa.select(sa.func.count()).select_from(Attestation)), db.session.get(LogState, 1).size)
    login(client, declared.reviewer.email)
    assert (
        client.post(f"/instances/{declared.commitment.instance_id}/fire/verify", data={"verify-expected_version": "2", "verify-confirm": "y"}).status_code
        == 409
    )
    with app.app_context():
        after = (db.session.scalar(sa.select(sa.func.count()).select_from(Attestation)), db.session.get(LogState, 1).size)
    assert after == before


def test_the_credential_and_its_bundle_verify_with_keys_status_list_and_receipt(app, client, declared):
    uid = only_attestation(app, declared.commitment.instance_id)["uid"]
    raw = client.get(f"/attestations/{uid}.json")
    assert raw.status_code == 200 and raw.mimetype == "application/json"
    bundle = client.get(f"/attestations/{uid}/bundle.json").json
    assert bundle["credential"] == json.loads(raw.data)
    report = verify_offline(bundle["credential"], bundle["keys"], bundle["status_list"], bundle["receipt"])
    assert report.ok and [c.ok for c in report.checks] == [True, True, True, True], report.checks
    page = client.get(f"/attestations/{uid}").get_data(as_text=True)
    assert "Valid: not revoked." in page and "Acme Analytics" in page


def test_withdrawal_revokes_the_attestation_through_the_status_list(app, client, declared):
    login(client, declared.officer.email)
    response = client.post(
        f"/instances/{declared.commitment.instance_id}/fire/withdraw",
        data={"withdraw-expected_version": "2", "withdraw-reason": "The product was discontinued.", "withdraw-confirm": "y"},
    )
    assert response.status_code == 302
    a = only_attestation(app, declared.commitment.instance_id)
    assert a["revoked_at"] is not None
    bundle = client.get(f"/attestations/{a['uid']}/bundle.json").json
    report = verify_offline(bundle["credential"], bundle["keys"], bundle["status_list"], bundle["receipt"])
    revocation = next(c for c in report.checks if c.name == "revocation")
    assert revocation.ok is False and not report.ok
    assert "Revoked on" in client.get(f"/attestations/{a['uid']}").get_data(as_text=True)
    with app.app_context():
        assert [k for (k,) in db.session.execute(sa.select(LogEntry.kind).order_by(LogEntry.index))][-2:] == ["revocation", "transition"]
    assert audit_ok(app)


def audit_ok(app) -> bool:
    with app.app_context():
        return audit_log().ok


def test_private_keys_are_files_readable_by_their_owner_only_and_never_published(app, client, declared):
    keys = client.get("/.well-known/govflow-keys.json").json
    assert {k["purpose"] for k in keys["keys"]} == {"attestation", "log"}
    folder = app.config["GOVFLOW_KEYS_DIR"]
    files = os.listdir(folder)
    assert len(files) == 2
    for name in files:
        path = os.path.join(folder, name)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path) as fh:
            pem = fh.read()
        assert "PRIVATE KEY" in pem
        body = pem.split("-----")[2].strip()
        assert body not in json.dumps(keys)


def test_rotation_keeps_old_keys_published_and_old_attestations_valid(app, client, declared, make_commitment):
    old_uid = only_attestation(app, declared.commitment.instance_id)["uid"]
    result = app.test_cli_runner().invoke(cli, ["keys", "rotate", "--purpose", "attestation"])
    assert result.exit_code == 0, result.output
    second = make_commitment(declared.officer, declared.org, steps=[("declare", None, {})])
    new = only_attestation(app, second.instance_id)["credential"]
    keys = client.get("/.well-known/govflow-keys.json").json
    attestation_keys = [k for k in keys["keys"] if k["purpose"] == "attestation"]
    assert len(attestation_keys) == 2 and attestation_keys[0]["validUntil"] is not None and attestation_keys[1]["validUntil"] is None
    assert new["issuer"] == keys["issuer"] != attestation_keys[0]["controller"]
    bundle = client.get(f"/attestations/{old_uid}/bundle.json").json
    report = verify_offline(bundle["credential"], bundle["keys"], bundle["status_list"], bundle["receipt"])
    assert report.ok, report.checks


def test_the_log_endpoints_follow_rfc_6962_and_their_proofs_check(app, client, declared, make_commitment):
    make_commitment(declared.officer, declared.org, steps=[("declare", None, {}), ("add_evidence", None, EVIDENCE)])
    first = client.get("/log/v1/get-sth").json
    make_commitment(declared.officer, declared.org, steps=[("declare", None, {})])
    sth = client.get("/log/v1/get-sth").json
    assert set(sth) == {"tree_size", "timestamp", "sha256_root_hash", "tree_head_signature"}
    with app.app_context():
        log_key = db.session.scalar(sa.select(SigningKey).where(SigningKey.purpose == "log"))
        verify_tree_head(public_key_from_did(log_key.did), sth)
    root1, root2 = (base64.b64decode(s["sha256_root_hash"]) for s in (first, sth))
    proof = client.get(f"/log/v1/get-sth-consistency?first={first['tree_size']}&second={sth['tree_size']}").json["consistency"]
    merkle.verify_consistency(first["tree_size"], sth["tree_size"], [base64.b64decode(p) for p in proof], root1, root2)
    entries = client.get(f"/log/v1/get-entries?start=0&end={sth['tree_size'] - 1}").json["entries"]
    assert len(entries) == sth["tree_size"]
    leaves = [merkle.leaf_hash(base64.b64decode(e["leaf_input"])) for e in entries]
    assert merkle.root_from_leaf_hashes(leaves) == root2
    target = leaves[5]
    answer = client.get("/log/v1/get-proof-by-hash", query_string={"hash": base64.b64encode(target).decode(), "tree_size": sth["tree_size"]}).json
    merkle.verify_inclusion(answer["leaf_index"], sth["tree_size"], target, [base64.b64decode(p) for p in answer["audit_path"]], root2)
    assert client.get("/log/v1/get-entries?start=3&end=1").status_code == 400
    assert client.get("/log/v1/get-proof-by-hash?hash=notbase64!&tree_size=1").status_code == 400
    assert client.get(f"/log/v1/get-sth-consistency?first=2&second={sth['tree_size'] + 5}").status_code == 400


def test_the_verify_page_gives_a_verdict_anyone_can_read(app, client, declared):
    uid = only_attestation(app, declared.commitment.instance_id)["uid"]
    text = client.get(f"/attestations/{uid}.json").get_data(as_text=True)
    good = client.post("/verify", data={"credential": text})
    assert good.status_code == 200 and 'data-ok="yes"' in good.get_data(as_text=True)
    tampered = text.replace("Acme Analytics", "Acme Analytica")
    bad = client.post("/verify", data={"credential": tampered})
    page = bad.get_data(as_text=True)
    assert 'data-ok="no"' in page and 'data-check="signature" data-result="failed"' in page
    assert client.post("/verify", data={"credential": "not json"}).status_code == 422
    assert client.post("/verify", data={"credential": ""}).status_code == 422


def test_govflow_attest_verify_checks_a_downloaded_bundle_offline_and_names_what_fails(app, client, declared, tmp_path):
    uid = only_attestation(app, declared.commitment.instance_id)["uid"]
    bundle = client.get(f"/attestations/{uid}/bundle.json").get_data(as_text=True)
    good = tmp_path / "bundle.json"
    good.write_text(bundle)
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["attest", "verify", str(good)])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "tampered.json"
    bad.write_text(bundle.replace('"pillar":"faire"', '"pillar":"fairf"'))
    assert bundle != bad.read_text()
    result = runner.invoke(cli, ["attest", "verify", str(bad)])
    assert result.exit_code == 1 and "FAILED" in result.output


def test_attestations_of_a_non_public_subject_are_refused_to_strangers(app, client, make_user, make_org, make_commitment):
    officer = make_user()
    org = make_org([(officer, "officer")])
    draft = make_commitment(officer, org)
    with app.app_context():
        from govflow.attestations.services import issue_attestation
        from govflow.engine import TransitionEvent
        from govflow.instances.models import WorkflowInstance
        from govflow.instances.services import get_engine

        instance = db.session.get(WorkflowInstance, draft.instance_id)
        definition = get_engine().definition_of(instance)
        row = db.session.scalars(sa.select(InstanceHistory).where(InstanceHistory.instance_id == instance.id)).one()
        event = TransitionEvent(instance, definition, definition.transition("draft", "declare"), "draft", "draft", officer, {}, row.at)
        event.actor = type("A", (), {"label": "x", "id": officer.id})()
        uid = issue_attestation(instance, row, event).uid
        db.session.commit()
    assert client.get(f"/attestations/{uid}").status_code == 403
    assert client.get(f"/attestations/{uid}.json").status_code == 403
    login(client, officer.email)
    assert client.get(f"/attestations/{uid}.json").status_code == 200
