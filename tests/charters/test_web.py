"""Signing, commitments, evidence, withdrawal and self-assessment through the web, checked in the database."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from govflow.attestations.models import Attestation
from govflow.charters.models import Commitment, Evidence, SelfAssessment, SelfAssessmentAnswer, Signature
from govflow.extensions import db
from govflow.instances.models import WorkflowInstance
from govflow.organisations.models import Invitation, Membership, Organisation

from .. import samples
from ..conftest import login

NUMEUM = "numeum-ethical-ai"
ALL_PILLARS = {"pillar_faire": "y", "pillar_communiquer": "y", "pillar_progresser": "y"}
PDF = samples.PDF


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.fixture
def org_world(make_user, make_org):
    officer = make_user(name="Officer")
    contributor = make_user(name="Contributor")
    outsider = make_user(name="Outsider")
    reviewer = make_user(roles=("committee_member",), name="Reviewer")
    org = make_org([(officer, "officer"), (contributor, "contributor")], name="Acme Data")
    return type("W", (), dict(officer=officer, contributor=contributor, outsider=outsider, reviewer=reviewer, org=org))


def sign(client, org_id, extra=None, pillars=ALL_PILLARS):
    data = {"organisation_id": org_id, "confirm": "y", **pillars, **(extra or {})}
    return client.post(f"/charters/{NUMEUM}/v1/sign", data=data)


def test_the_charters_and_a_charter_page_are_public_and_bilingual(client):
    assert "Numeum" in client.get("/charters").get_data(as_text=True)
    page = client.get(f"/charters/{NUMEUM}").get_data(as_text=True)
    assert "FAIRE" in page and "COMMUNIQUER" in page and "PROGRESSER" in page and "https://numeum.fr" in page
    french = client.get(f"/charters/{NUMEUM}", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Manifeste" in french
    assert client.get("/charters/nothing").status_code == 404


def test_an_officer_signs_accepting_each_pillar_and_gets_a_draft_per_pillar_and_an_attestation(app, client, org_world):
    login(client, org_world.officer.email)
    response = sign(client, org_world.org.id)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        (signature,) = db.session.scalars(sa.select(Signature)).all()
        assert (signature.organisation_id, signature.charter, signature.charter_version, signature.instance.status) == (org_world.org.id, NUMEUM, 1, "signed")
        pillars = sorted(c.pillar for c in db.session.scalars(sa.select(Commitment).where(Commitment.signature_id == signature.id)))
        assert pillars == ["communiquer", "faire", "progresser"]
        (attestation,) = db.session.scalars(sa.select(Attestation).where(Attestation.instance_id == signature.instance_id)).all()
        claims = json.loads(attestation.credential)["credentialSubject"]
        assert claims["acceptedPillars"] == ["faire", "communiquer", "progresser"] and claims["organisation"]["name"] == "Acme Data"


def test_signing_without_accepting_every_pillar_changes_nothing(app, client, org_world):
    login(client, org_world.officer.email)
    response = sign(client, org_world.org.id, pillars={"pillar_faire": "y", "pillar_communiquer": "y"})
    assert response.status_code == 422 and "Accept each pillar" in response.get_data(as_text=True)
    unconfirmed = client.post(f"/charters/{NUMEUM}/v1/sign", data={"organisation_id": org_world.org.id, **ALL_PILLARS})
    assert unconfirmed.status_code == 422
    assert count(app, Signature) == 0 and count(app, WorkflowInstance) == 0


def test_a_second_signature_of_the_same_version_is_refused_with_a_clear_message(app, client, org_world):
    login(client, org_world.officer.email)
    assert sign(client, org_world.org.id).status_code == 302
    before = (count(app, Signature), count(app, Commitment), count(app, Attestation))
    again = sign(client, org_world.org.id)
    assert again.status_code == 409 and "already signed this version" in again.get_data(as_text=True)
    assert (count(app, Signature), count(app, Commitment), count(app, Attestation)) == before


def test_a_contributor_or_outsider_cannot_sign(app, client, org_world):
    login(client, org_world.contributor.email)
    assert client.get(f"/charters/{NUMEUM}/v1/sign").status_code == 403
    assert sign(client, org_world.org.id).status_code == 403
    client.post("/logout")
    login(client, org_world.outsider.email)
    assert sign(client, org_world.org.id).status_code == 403
    assert count(app, Signature) == 0


def _signed(app, client, org_world):
    login(client, org_world.officer.email)
    assert sign(client, org_world.org.id).status_code == 302
    with app.app_context():
        signature = db.session.scalars(sa.select(Signature)).one()
        faire = db.session.scalars(sa.select(Commitment).where(Commitment.pillar == "faire")).one()
        return signature.id, faire.id, faire.instance_id


def test_a_commitment_is_written_declared_evidenced_with_a_checked_file_and_verified(app, client, org_world):
    _, commitment_id, instance_id = _signed(app, client, org_world)
    edit = client.post(
        f"/commitments/{commitment_id}/edit",
        data={
            "pillar": "faire",
            "statement": "Review each model with the guide's six themes.",
            "themes": ["transparency", "fairness"],
            "owner_id": str(org_world.contributor.id),
        },
    )
    assert edit.status_code == 302
    assert client.post(f"/instances/{instance_id}/fire/declare", data={"declare-expected_version": "1", "declare-confirm": "y"}).status_code == 302
    refused = client.post(f"/instances/{instance_id}/fire/add_evidence", data={"add_evidence-expected_version": "2"})
    assert refused.status_code == 422 and "Attach evidence" in refused.get_data(as_text=True)
    upload = client.post(
        f"/commitments/{commitment_id}/evidence",
        data={"upload": (io.BytesIO(PDF), "review.pdf"), "description": "Review minutes"},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 303
    with app.app_context():
        (evidence,) = db.session.scalars(sa.select(Evidence)).all()
        assert (evidence.kind, evidence.mime, evidence.size, evidence.original_name) == ("file", "application/pdf", len(PDF), "review.pdf")
        import hashlib

        assert evidence.sha256 == hashlib.sha256(PDF).hexdigest() and evidence.storage_name.endswith(".pdf")
        assert "review" not in evidence.storage_name
        commitment = db.session.get(Commitment, commitment_id)
        assert commitment.themes == ["transparency", "fairness"] and commitment.owner_id == org_world.contributor.id
    download = client.get(f"/evidence/{evidence.id}")
    assert download.status_code == 200 and download.data == PDF
    download.close()
    assert client.post(f"/instances/{instance_id}/fire/add_evidence", data={"add_evidence-expected_version": "2"}).status_code == 302
    client.post("/logout")
    login(client, org_world.reviewer.email)
    assert client.post(f"/instances/{instance_id}/fire/verify", data={"verify-expected_version": "3", "verify-confirm": "y"}).status_code == 302
    with app.app_context():
        assert db.session.get(WorkflowInstance, instance_id).status == "verified"
        credential = json.loads(
            db.session.scalars(sa.select(Attestation).where(Attestation.instance_id == instance_id).order_by(Attestation.id.desc())).first().credential
        )
        assert credential["credentialSubject"]["evidence"][0]["digestSHA256"] == evidence.sha256


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("report.pdf", b"MZ\x90\x00" + b"\x00" * 200, "not a PDF"),
        ("page.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "not a PDF"),
        ("empty.pdf", b"", "empty"),
        ("big.pdf", PDF + b"0" * 3000, "larger than"),
    ],
    ids=["exe-renamed", "html-renamed", "empty", "oversized"],
)
def test_a_disguised_empty_or_oversized_file_is_refused_and_nothing_is_stored(app_factory, make_user, name, data, reason):
    app = app_factory(EVIDENCE_MAX_BYTES=2048)
    client = app.test_client()
    with app.app_context():
        from govflow.accounts.services import create_user
        from govflow.charters.catalog import get_catalog
        from govflow.charters.services import sign_charter, signature_commitments
        from govflow.organisations.services import create_organisation

        user = create_user("o@test.example", "O", "govflow-demo", ["signatory"])
        org = create_organisation("Org", "company", founder=user)
        charter = get_catalog().get(NUMEUM)
        commitment_id = signature_commitments(sign_charter(user, org, charter, charter.pillar_keys()))[0].id
        db.session.commit()
    login(client, "o@test.example")
    response = client.post(f"/commitments/{commitment_id}/evidence", data={"upload": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    assert response.status_code == 422 and reason in response.get_data(as_text=True)
    assert count(app, Evidence) == 0


def test_members_of_other_organisations_cannot_attach_evidence(app, client, org_world):
    _, commitment_id, _ = _signed(app, client, org_world)
    client.post("/logout")
    login(client, org_world.outsider.email)
    response = client.post(f"/commitments/{commitment_id}/evidence", data={"url": "https://x.example/a"})
    assert response.status_code == 403 and count(app, Evidence) == 0


def test_withdrawal_is_public_needs_a_reason_and_revokes_every_attestation_concerned(app, client, org_world):
    signature_id, commitment_id, instance_id = _signed(app, client, org_world)
    client.post(f"/commitments/{commitment_id}/edit", data={"pillar": "faire", "statement": "Review each model with the guide's six themes."})
    client.post(f"/instances/{instance_id}/fire/declare", data={"declare-expected_version": "1", "declare-confirm": "y"})
    assert client.post(f"/signatures/{signature_id}/withdraw", data={"reason": "", "confirm": "y"}).status_code == 422
    assert client.post(f"/signatures/{signature_id}/withdraw", data={"reason": "We stopped our AI activity."}).status_code == 422
    with app.app_context():
        assert db.session.get(Signature, signature_id).withdrawn_at is None
    assert client.post(f"/signatures/{signature_id}/withdraw", data={"reason": "We stopped our AI activity.", "confirm": "y"}).status_code == 302
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature.withdrawal_reason == "We stopped our AI activity." and signature.instance.status == "withdrawn"
        states = set(db.session.scalars(sa.select(WorkflowInstance.status).join(Commitment, Commitment.instance_id == WorkflowInstance.id)))
        assert states == {"withdrawn"}
        attestations = db.session.scalars(sa.select(Attestation)).all()
        assert len(attestations) == 2 and all(a.revoked_at is not None for a in attestations)
    register = client.get("/register").get_data(as_text=True)
    assert "We stopped our AI activity." in register
    resign = sign(client, org_world.org.id)
    assert resign.status_code == 302, "a withdrawn signature does not block signing again"


def test_the_self_assessment_needs_a_level_or_a_justified_not_concerned_and_draws_the_chart(app, client, org_world):
    signature_id, _, _ = _signed(app, client, org_world)
    themes = ["loyalty", "respect", "transparency", "fairness", "control", "safety"]
    data = {f"level_{t}": "2" for t in themes}
    data["level_safety"] = ""
    data["nc_safety"] = "y"
    year = str(__import__("datetime").datetime.now().year)
    missing = client.post(f"/signatures/{signature_id}/assessment?year={year}", data={**data, "year": year})
    assert missing.status_code == 422 and "Say why" in missing.get_data(as_text=True)
    assert count(app, SelfAssessment) == 0
    ok = client.post(f"/signatures/{signature_id}/assessment", data={**data, "why_safety": "We build no system that acts on the world.", "year": year})
    assert ok.status_code == 302
    with app.app_context():
        answers = {a.theme: (a.level, a.not_concerned) for a in db.session.scalars(sa.select(SelfAssessmentAnswer))}
        assert answers["safety"] == (None, True) and answers["loyalty"] == (2, False) and len(answers) == 6
    page = client.get(f"/organisations/{org_world.org.id}").get_data(as_text=True)
    assert 'data-testid="maturity-chart"' in page and "<svg" in page
    twice = client.post(f"/signatures/{signature_id}/assessment", data={**data, "why_safety": "Same.", "year": year})
    assert twice.status_code == 422 and count(app, SelfAssessment) == 1


def test_organisations_are_created_edited_and_keep_an_officer(app, client, make_user):
    signatory = make_user(name="Founder")
    other = make_user(name="Colleague")
    login(client, signatory.email)
    bad = client.post("/organisations/new", data={"name": "Nova", "kind": "company", "country": "France"})
    assert bad.status_code == 422 and count(app, Organisation) == 0
    assert client.post("/organisations/new", data={"name": "Nova", "kind": "company", "country": "FR", "identifier": "SIREN 123"}).status_code == 302
    with app.app_context():
        org = db.session.scalars(sa.select(Organisation)).one()
        assert (org.name, org.identifier, db.session.get(Membership, (signatory.id, org.id)).role) == ("Nova", "SIREN 123", "officer")
        org_id = org.id
    duplicate = client.post("/organisations/new", data={"name": "nova", "kind": "school", "country": "FR"})
    assert duplicate.status_code == 422 and count(app, Organisation) == 1
    assert (
        client.post(
            f"/organisations/{org_id}/edit", data={"name": "Nova Data", "kind": "company", "country": "FR", "website": "https://nova.example"}
        ).status_code
        == 302
    )
    invited = client.post(f"/organisations/{org_id}/members", data={"email": other.email, "role": "contributor"})
    assert invited.status_code == 303
    alone = client.post(f"/organisations/{org_id}/members/{signatory.id}", data={"role": "contributor"})
    assert alone.status_code == 422 and "at least one officer" in alone.get_data(as_text=True), "refused in place, on the organisation's page"
    with app.app_context():
        assert db.session.get(Organisation, org_id).name == "Nova Data"
        assert db.session.get(Membership, (signatory.id, org_id)).role == "officer", "the last officer stays"
        assert db.session.get(Membership, (other.id, org_id)) is None, "nobody is attached without accepting"
        invitation_id = db.session.scalars(sa.select(Invitation)).one().id
    client.post("/logout")
    login(client, other.email)
    assert "Nova Data" in client.get("/dashboard").get_data(as_text=True)
    assert client.post(f"/invitations/{invitation_id}", data={"answer": "accept"}).status_code == 303
    with app.app_context():
        assert db.session.get(Membership, (other.id, org_id)).role == "contributor"
    assert client.post(f"/invitations/{invitation_id}", data={"answer": "accept"}).status_code == 409
    assert client.post(f"/organisations/{org_id}/edit", data={"name": "Hijack", "kind": "company", "country": "FR"}).status_code == 403
    with app.app_context():
        assert db.session.get(Organisation, org_id).name == "Nova Data"


def test_members_without_the_right_role_are_refused_officer_and_member_actions(app, client, org_world):
    signature_id, commitment_id, instance_id = _signed(app, client, org_world)
    client.post(f"/commitments/{commitment_id}/evidence", data={"upload": (io.BytesIO(PDF), "r.pdf")}, content_type="multipart/form-data")
    with app.app_context():
        evidence_id = db.session.scalars(sa.select(Evidence)).one().id
    client.post("/logout")
    login(client, org_world.contributor.email)
    assert client.post(f"/signatures/{signature_id}/withdraw", data={"reason": "Not my call at all.", "confirm": "y"}).status_code == 403
    assert client.post(f"/signatures/{signature_id}/move").status_code == 403
    assert client.post(f"/organisations/{org_world.org.id}/members", data={"email": org_world.outsider.email, "role": "officer"}).status_code == 403
    client.post("/logout")
    login(client, org_world.outsider.email)
    assert client.get(f"/signatures/{signature_id}/assessment").status_code == 403
    assert client.get(f"/evidence/{evidence_id}").status_code == 403
    assert client.get(f"/commitments/{commitment_id}/edit").status_code == 403
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature.withdrawn_at is None and signature.superseded_by_id is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 2


def test_two_officers_signing_at_the_same_instant_get_one_signature_and_a_409_with_a_sentence(app, client, org_world, monkeypatch):
    from govflow.charters import services as charter_services

    login(client, org_world.officer.email)
    assert sign(client, org_world.org.id).status_code == 302
    before = (count(app, Signature), count(app, Commitment), count(app, WorkflowInstance))
    # The second request read "not signed yet" before the first committed: only the database's key can refuse it.
    monkeypatch.setattr(charter_services, "live_signature", lambda *args: None)
    again = sign(client, org_world.org.id)
    assert again.status_code == 409 and "already signed this version" in again.get_data(as_text=True)
    assert (count(app, Signature), count(app, Commitment), count(app, WorkflowInstance)) == before


@pytest.mark.parametrize("year", ["", "twenty", "99999"], ids=["empty", "not-a-number", "out-of-range"])
def test_an_empty_or_tampered_assessment_year_is_a_422_not_a_500(app, client, org_world, year):
    """Found by the fuzz once ValueErrors stopped being turned into refusals: the hidden year was read with int()."""
    signature_id, _, _ = _signed(app, client, org_world)
    data = {f"level_{t}": "2" for t in ["loyalty", "respect", "transparency", "fairness", "control", "safety"]}
    response = client.post(f"/signatures/{signature_id}/assessment", data={**data, "year": year})
    assert response.status_code == 422
    assert count(app, SelfAssessment) == 0
