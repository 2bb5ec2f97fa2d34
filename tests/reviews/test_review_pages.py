"""What the referral's page and the public decisions offer (issue #15): the committee reads the dossier from its
submission on, admissibility included; a member who voted otherwise finds a dissent form; each published decision
links to its signed attestation. Each test also checks the refused side."""

from __future__ import annotations

import io

import sqlalchemy as sa
from markupsafe import escape

from govflow.accounts.models import User
from govflow.attestations.models import Attestation
from govflow.charters.catalog import get_catalog
from govflow.extensions import db
from govflow.instances.services import fire_transition
from govflow.reviews.models import Decision, DissentingOpinion, DossierAttachment, Referral

from .. import samples
from ..conftest import login
from .common import DOSSIER, build, vote


def _submitted_referral(app, client):
    """A referral just submitted (the secretary judges its admissibility), with a partner, a charter and a file; its
    committee has a secretary, a member, and a member whose declaration names the holder (not recused yet)."""
    with app.app_context():
        from govflow.accounts.services import create_user
        from govflow.interests.services import declare_interests
        from govflow.organisations.services import create_organisation
        from govflow.reviews import services

        holder = create_user("holder@test.example", "Holder", "govflow-demo", ["signatory"])
        org = create_organisation("Ville de Lecture", "public_body", founder=holder)
        committee = services.create_committee("Reading committee")
        for n, role in enumerate(("secretary", "member", "member")):
            member = create_user(f"m{n}@test.example", f"Member {n}", "govflow-demo", ["committee_member"])
            services.add_committee_member(committee, member, role)
        conflicted = db.session.scalar(sa.select(User).where(User.email == "m2@test.example"))
        declare_interests(conflicted, [{"organisation": "Ville de Lecture", "relation": "advises"}])
        charter = get_catalog().latest_all()[0]
        referral = services.create_referral(holder, org, committee, "Reading paths", DOSSIER, ["Université du Test"], [charter.slug])
        db.session.commit()
        referral_id, instance_id, holder_id, charter_title = referral.id, referral.instance_id, holder.id, charter.title["en"]
    login(client, "holder@test.example")
    upload = client.post(f"/referrals/{referral_id}/files", data={"upload": (io.BytesIO(samples.PDF), "dpia.pdf")}, content_type="multipart/form-data")
    assert upload.status_code == 303
    client.post("/logout")
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        fire_transition(db.session.get(User, holder_id), referral.instance, "submit", {})
        db.session.commit()
        assert referral.instance.status == "submitted" and referral.examined_version is None
        attachment_id = db.session.scalars(sa.select(DossierAttachment.id)).one()
    return referral_id, instance_id, attachment_id, charter_title


def test_the_committee_reads_the_dossier_when_judging_admissibility(app, client):
    referral_id, instance_id, attachment_id, charter_title = _submitted_referral(app, client)
    login(client, "m0@test.example")  # the secretary, who declares it admissible or not
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'data-testid="dossier-pane"' in page
    assert "Purpose and public interest" in page and DOSSIER["purpose"] in page, "each section under its title, in people's words"
    assert "Data protection impact assessment (DPIA)" in page and ">Done<" in page, "a choice reads as its label, not its key"
    assert 'data-field="dpia"' in page and ">done<" not in page
    assert DOSSIER["inference"] in page and "Université du Test" in page and str(escape(charter_title)) in page
    assert f"/referral-files/{attachment_id}" in page and "dpia.pdf" in page
    assert 'data-testid="dossier-changes"' not in page, "a single version: nothing changed yet"
    assert "Declare admissible" in page
    download = client.get(f"/referral-files/{attachment_id}")
    assert download.status_code == 200 and download.data == samples.PDF
    download.close()
    client.post("/logout")
    login(client, "m1@test.example")  # any member in term who is not recused reads it too
    assert DOSSIER["purpose"] in client.get(f"/instances/{instance_id}").get_data(as_text=True)
    client.post("/lang", data={"lang": "fr"})
    french = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "Lire le dossier (version 1)" in french and "Finalité et intérêt public" in french and ">Réalisée<" in french


def test_a_member_with_a_declared_interest_or_an_outsider_does_not_read_the_dossier_at_admissibility(app, client, make_user):
    referral_id, instance_id, attachment_id, _title = _submitted_referral(app, client)
    login(client, "m2@test.example")  # names the holder in their declaration; the recusal is recorded at examination
    page = client.get(f"/instances/{instance_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'data-testid="dossier-pane"' not in text and DOSSIER["purpose"] not in text and "dpia.pdf" not in text
    assert client.get(f"/referral-files/{attachment_id}").status_code == 403
    assert client.get(f"/referrals/{referral_id}/changes").status_code == 403
    client.post("/logout")
    outsider = make_user()
    login(client, outsider.email)
    assert client.get(f"/instances/{instance_id}").status_code == 403
    assert client.get(f"/referral-files/{attachment_id}").status_code == 403


def test_a_recused_member_sees_the_referral_but_not_the_dossier(app, client):
    referral_id, users, _holder = build(app, interests={3: "Ville de Test"})
    instance_id = _instance(app, referral_id)
    login(client, "m3@test.example")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'data-testid="recusals"' in page
    assert 'data-testid="dossier-pane"' not in page and DOSSIER["purpose"] not in page
    client.post("/logout")
    login(client, "m2@test.example")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'data-testid="dossier-pane"' in page and DOSSIER["purpose"] in page, "a member who is not recused still reads it while the vote is open"


def _instance(app, referral_id):
    with app.app_context():
        return db.session.get(Referral, referral_id).instance_id


def _decide_favourable(app, referral_id, users, choices):
    for user_id, choice in zip(users, choices, strict=True):
        vote(app, referral_id, user_id, choice, "The data are too sensitive." if choice == "unfavourable" else "Because.")
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        fire_transition(db.session.get(User, users[1]), referral.instance, "record_favourable", {"rationale": "A clear public interest."})
        db.session.commit()
        return db.session.scalars(sa.select(Decision)).one().id


def test_a_member_who_voted_otherwise_finds_a_dissent_form_and_the_dissent_is_recorded(app, client):
    referral_id, users, _holder = build(app, members=4)
    decision_id = _decide_favourable(app, referral_id, users, ["favourable", "favourable", "unfavourable", "favourable"])
    instance_id = _instance(app, referral_id)
    login(client, "m2@test.example")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'data-testid="dissent-form"' in page and f'action="/decisions/{decision_id}/dissent"' in page
    posted = client.post(f"/decisions/{decision_id}/dissent", data={"text": "The data are too sensitive for this use."})
    assert posted.status_code == 303 and posted.headers["Location"].endswith(f"/instances/{instance_id}")
    with app.app_context():
        (opinion,) = db.session.scalars(sa.select(DissentingOpinion)).all()
        assert (opinion.decision_id, opinion.member_id, opinion.text) == (decision_id, users[2], "The data are too sensitive for this use.")
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'data-testid="dissent"' in page and "Dissenting opinion of Member 2: The data are too sensitive for this use." in page
    assert 'data-testid="dissent-form"' not in page, "one opinion per member"
    again = client.post(f"/decisions/{decision_id}/dissent", data={"text": "Once more."})
    assert again.status_code == 422 and "already wrote" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DissentingOpinion)) == 1
    client.post("/logout")
    assert "The data are too sensitive for this use." in client.get("/decisions").get_data(as_text=True), "published with the decision"


def test_a_member_who_voted_with_the_majority_or_the_holder_finds_no_dissent_form(app, client):
    referral_id, users, _holder = build(app, members=4)
    decision_id = _decide_favourable(app, referral_id, users, ["favourable", "favourable", "unfavourable", "abstain"])
    instance_id = _instance(app, referral_id)
    for email in ("m0@test.example", "m3@test.example", "holder@test.example"):  # with the majority, abstained, the holder
        login(client, email)
        page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
        assert 'data-testid="decision"' in page and 'data-testid="dissent-form"' not in page, email
        assert client.post(f"/decisions/{decision_id}/dissent", data={"text": "I disagree."}).status_code == 403, email
        client.post("/logout")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DissentingOpinion)) == 0


def test_each_decision_links_to_its_attestation(app, client):
    referral_id, users, _holder = build(app, members=3)
    decision_id = _decide_favourable(app, referral_id, users, ["favourable", "favourable", "favourable"])
    with app.app_context():
        decision = db.session.get(Decision, decision_id)
        assert decision.published
        attestation = db.session.scalars(sa.select(Attestation).where(Attestation.history_id == decision.history_id)).one()
        uid = attestation.uid
    page = client.get("/decisions").get_data(as_text=True)
    assert page.count('data-testid="published-decision"') == 1
    assert page.count('data-testid="decision-attestation"') == 1 and f'href="/attestations/{uid}"' in page
    assert f'href="/attestations/{uid}/bundle.json"' in page
    shown = client.get(f"/attestations/{uid}")
    assert shown.status_code == 200 and "Training paths" in shown.get_data(as_text=True), "anyone opens a published decision's attestation"
    assert client.get(f"/attestations/{uid}/bundle.json").status_code == 200
