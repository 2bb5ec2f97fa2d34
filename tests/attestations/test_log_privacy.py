"""The public log is private by design: whatever a public page refuses, no public log resource reveals.

Every kind of entry is written under every confidentiality rule that governs its act (a draft and a declared
commitment, an unpublished unfavourable decision with its sealed ballots, recusal and declarations, a laureate's
confidential roadmap with its accepted deliverable, scoring sheets and exclusions); then every public resource of the
log (RFC 6962 endpoints, checkpoint, tiles, entry bundles) is read as an anonymous visitor would, and must show nothing
but kinds and commitments.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
import sqlalchemy as sa

from govflow.accounts.models import User
from govflow.attestations import entries, tiles
from govflow.attestations.models import Attestation, LogEntry
from govflow.extensions import db
from govflow.instances.services import fire_transition
from govflow.reviews import services as reviews
from govflow.reviews.models import Committee, Decision, Referral
from govflow.sandbox.models import Application, Milestone, MilestoneFile

from ..conftest import app_with_world, commitment_factory, org_factory, user_factory
from ..reviews.common import build as build_referral
from ..reviews.common import vote
from ..sandbox import common as sandbox

LEAF = re.compile(rb'\{"commitment":"[0-9a-f]{64}","type":"govflow\.([a-z]+)"\}')


@pytest.fixture
def app(request, tmp_path, _pg_schema):
    """The world below, built once per test process and copied for each test that asks for it."""
    yield from app_with_world(request, tmp_path, "log-privacy", _build_world)


@pytest.fixture
def world(app):
    return app.world


def _build_world(app):
    """Acts of every kind under every confidentiality rule; returns the texts no public page may show."""
    make_user, make_org, make_commitment = user_factory(app), org_factory(app), commitment_factory(app)
    officer = make_user()
    org = make_org([(officer, "officer")], name="Clairvoie Secrète")
    make_commitment(officer, org, statement="An unpublished draft statement about our hiring model.")  # a draft stays private
    make_commitment(officer, org, statement="A declared statement anyone may read on the register.", steps=[("declare", None, {})])
    make_commitment(
        officer, org, statement="A statement declared, then withdrawn openly.", steps=[("declare", None, {}), ("withdraw", None, {"reason": "Stopped."})]
    )
    # An unfavourable decision the committee does not publish, with sealed ballots, a recusal and declarations.
    referral_id, users, _ = build_referral(app, members=4, interests={3: "Ville de Test"})
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        db.session.get(Committee, referral.committee_id).publish_policy = "never"
        db.session.commit()
    for user_id in users[:3]:
        vote(app, referral_id, user_id, "unfavourable", "The training data are not lawful.")
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        fire_transition(db.session.get(User, users[1]), referral.instance, "record_unfavourable", {"rationale": "Unlawful data collection."})
        db.session.commit()
        decision = reviews.latest_decision(referral)
        assert decision.outcome == "unfavourable" and not decision.published
        secret_decision = decision.id
    # A laureate's confidential roadmap: a deliverable accepted, with its file; scoring sheets and an exclusion.
    ids = sandbox.build(app)
    application_id = sandbox.apply(app, ids, title="Prévision confidentielle de consommation d'eau")
    sandbox.advance(app, ids, application_id, "in_support")
    with app.app_context():
        application = db.session.get(Application, application_id)
        milestone = db.session.scalars(sa.select(Milestone).where(Milestone.application_id == application.id)).first()
        sandbox.submit_deliverable(ids, milestone, name="analyse-impact-secrete.pdf")
        fire_transition(sandbox.user(ids.manager), milestone.instance, "accept", {})
        db.session.commit()
        document = db.session.scalars(sa.select(MilestoneFile).where(MilestoneFile.milestone_id == milestone.id)).one()
        secrets = [
            "Clairvoie",
            "unpublished draft statement",
            "Ville de Test",
            "Training paths",
            "unfavourable",
            "not lawful",
            "Unlawful data collection",
            "Métropole de Test",
            "Prévision confidentielle",
            milestone.title,
            "analyse-impact-secrete",
            document.sha256,
            "Solid project",
        ]
        hidden_attestations = [a.uid for a in db.session.scalars(sa.select(Attestation)) if not _public(app, a.uid)]
    return {"secrets": secrets, "hidden": hidden_attestations, "decision": secret_decision}


def _public(app, uid) -> bool:
    return app.test_client().get(f"/attestations/{uid}.json").status_code == 200


def _public_log(client) -> list[bytes]:
    """Every public resource of the log, as bytes, with base64 and bundles decoded."""
    out = []
    sth = client.get("/log/v1/get-sth")
    assert sth.status_code == 200
    out.append(sth.data)
    size = sth.json["tree_size"]
    for start in range(0, size, 256):
        response = client.get(f"/log/v1/get-entries?start={start}&end={start + 255}")
        out.append(response.data)
        out += [base64.b64decode(e["leaf_input"]) for e in response.json["entries"]]
    checkpoint = client.get("/log/checkpoint")
    out.append(checkpoint.data)
    full, partial = tiles.tile_count(size, 0)
    for index in range(full + (1 if partial else 0)):
        width = tiles.WIDTH if index < full else partial
        bundle = client.get("/log/" + tiles.tile_path("entries", index, width))
        assert bundle.status_code == 200
        out += tiles.split_bundle(bundle.data)
        out.append(client.get("/log/" + tiles.tile_path(0, index, width)).data)
    return out


def test_the_public_log_reveals_nothing_a_public_page_refuses(app, client, world):
    resources = _public_log(client)
    for secret in world["secrets"]:
        needles = {secret.encode(), secret.encode().hex().encode(), json.dumps(secret).encode()[1:-1]}
        for data in resources:
            assert not any(n in data for n in needles), f"{secret!r} is readable in the public log"
    # Each leaf is a kind and a commitment, nothing more, whatever its act.
    with app.app_context():
        leaves = [bytes(x) for x in db.session.scalars(sa.select(LogEntry.leaf_input).where(LogEntry.index.is_not(None)))]
        kinds = {LEAF.fullmatch(leaf).group(1).decode() for leaf in leaves}
    assert all(LEAF.fullmatch(leaf) for leaf in leaves)
    assert kinds == set(entries.KINDS), "every kind of entry was written by this world"


@pytest.mark.parametrize("kind", entries.KINDS)
def test_each_kind_commits_to_its_act_without_revealing_it(app, world, kind):
    """Guessing the act (its content) does not find its leaf: every kind but a credential (unguessable) is salted."""
    from govflow.attestations.audit import audit_log

    with app.app_context():
        rows = db.session.execute(sa.select(LogEntry.salt, LogEntry.leaf_input).where(LogEntry.kind == kind)).all()
        assert rows, f"no {kind} entry was written"
        for salt, leaf in rows:
            assert (salt is None) == (kind in entries.UNSALTED)
            assert set(json.loads(leaf)) == {"commitment", "type"}
        # And each entry does commit to its act: the audit opens every one from the database.
        assert audit_log().ok


def test_non_public_credentials_are_refused_and_only_committed_to(app, client, world):
    assert world["hidden"], "the world has credentials a visitor may not read"
    with app.app_context():
        for uid in world["hidden"]:
            attestation = db.session.scalar(sa.select(Attestation).where(Attestation.uid == uid))
            entry = db.session.scalar(sa.select(LogEntry).where(LogEntry.attestation_id == attestation.id, LogEntry.kind == "attestation"))
            digest = hashlib.sha256(attestation.credential.encode()).hexdigest()
            assert json.loads(entry.leaf_input) == {"commitment": digest, "type": "govflow.attestation"}
    for uid in world["hidden"]:
        assert client.get(f"/attestations/{uid}/receipt.json").status_code == 403
        assert client.get(f"/attestations/{uid}/bundle.json").status_code == 403


def test_the_ballots_of_an_unpublished_decision_stay_closed_to_the_public(client, world):
    response = client.get(f"/decisions/{world['decision']}/ballots.json")
    assert response.status_code == 403 and b"published" in response.data


def test_a_decision_made_public_later_is_provable_with_the_same_leaf(app, client, world):
    with app.app_context():
        decision = db.session.get(Decision, world["decision"])
        attestation = db.session.scalar(sa.select(Attestation).where(Attestation.history_id == decision.history_id))
        leaf_before = db.session.scalar(sa.select(LogEntry.leaf_hash).where(LogEntry.attestation_id == attestation.id, LogEntry.kind == "attestation"))
        uid = attestation.uid
        assert client.get(f"/attestations/{uid}/receipt.json").status_code == 403
        decision.published = True
        db.session.commit()
    receipt = client.get(f"/attestations/{uid}/receipt.json").json
    credential = client.get(f"/attestations/{uid}.json").json
    from govflow.attestations.verify import credential_leaf, verify_offline

    assert credential_leaf(credential) == leaf_before
    report = verify_offline(credential, client.get("/.well-known/govflow-keys.json").json, None, receipt)
    assert next(c for c in report.checks if c.name == "log").ok
