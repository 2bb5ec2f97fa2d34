"""Independent review end to end in the database: recusal, sealed votes, quorum on non-recused members, tallies,
decisions with conditions, dissent, closure; and 20 members voting at once."""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa

from govflow.accounts.models import User
from govflow.attestations.models import Attestation
from govflow.attestations.verify import verify_offline
from govflow.extensions import db
from govflow.instances.services import fire_transition
from govflow.interests.services import declare_interests
from govflow.organisations.models import Organisation
from govflow.reviews import services
from govflow.reviews.models import Committee, Decision, Recusal, Referral, Vote, VoteRound

from .. import samples
from ..conftest import login
from .common import DOSSIER, build, close, vote


def test_a_member_with_a_declared_interest_is_recused_automatically_refused_the_vote_and_the_sealed_votes(app, client):
    referral_id, users, _ = build(app, interests={3: "Ville de Test"})
    with app.app_context():
        (recusal,) = db.session.scalars(sa.select(Recusal)).all()
        assert (recusal.user_id, recusal.kind) == (users[3], "automatic") and "Ville de Test" in recusal.reason
        assert users[3] not in services.eligible_members(db.session.get(Referral, referral_id))
    login(client, "m3@test.example")
    assert client.get(f"/referrals/{referral_id}/vote").status_code == 403
    refused = client.post(f"/referrals/{referral_id}/vote", data={"choice": "favourable"})
    assert refused.status_code == 403 and "recused" in refused.get_data(as_text=True)
    assert client.get(f"/referrals/{referral_id}/votes").status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Vote)) == 0


def test_a_partner_named_in_the_dossier_recuses_its_adviser_too(app):
    referral_id, users, _ = build(app, interests={2: "Université du Test"}, partners=["universite du test"])
    with app.app_context():
        assert {r.user_id for r in db.session.scalars(sa.select(Recusal))} == {users[2]}


def test_votes_stay_sealed_until_the_vote_closes_and_members_may_change_their_vote(app, client):
    referral_id, users, _ = build(app)
    login(client, "m0@test.example")
    assert client.post(f"/referrals/{referral_id}/vote", data={"choice": "unfavourable"}).status_code == 422, "a rationale is required"
    assert client.post(f"/referrals/{referral_id}/vote", data={"choice": "unfavourable", "rationale": "Too risky."}).status_code == 303
    assert client.post(f"/referrals/{referral_id}/vote", data={"choice": "favourable"}).status_code == 303
    with app.app_context():
        (ballot,) = db.session.scalars(sa.select(Vote)).all()
        assert (ballot.member_id, ballot.choice) == (users[0], "favourable")
    sealed = client.get(f"/referrals/{referral_id}/votes")
    assert sealed.status_code == 409 and "sealed" in sealed.get_data(as_text=True)
    page = client.get(f"/instances/{_instance(app, referral_id)}").get_data(as_text=True)
    assert "Too risky." not in page


def _instance(app, referral_id):
    with app.app_context():
        return db.session.get(Referral, referral_id).instance_id


def test_the_quorum_counts_only_members_who_are_not_recused(app):
    # 5 members, 2 recused: 3 eligible, a 50% quorum needs 2 ballots (it would need 3 of 5 without recusals).
    referral_id, users, _ = build(app, members=5, interests={3: "Ville de Test", 4: "Ville de Test"})
    vote(app, referral_id, users[0], "favourable")
    vote(app, referral_id, users[1], "favourable")
    result = close(app, referral_id)
    assert (result["eligible"], result["voted"], result["quorum_met"], result["decision"]) == (3, 2, True, "favourable")


def test_without_quorum_the_vote_fails_and_a_new_round_opens_by_itself(app):
    referral_id, users, _ = build(app, members=4, quorum=("count", 3))
    vote(app, referral_id, users[0], "favourable")
    result = close(app, referral_id)
    assert result["result"] == "no_quorum" and result["decision"] is None
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        assert referral.instance.status == "vote_open", "the system opened the next round as soon as the vote failed"
        assert [(r.number, r.closed_at is not None) for r in db.session.scalars(sa.select(VoteRound).order_by(VoteRound.number))] == [(1, True), (2, False)]
        from govflow.instances.models import InstanceHistory

        history = [
            (h.trigger, h.actor_id)
            for h in db.session.scalars(sa.select(InstanceHistory).where(InstanceHistory.instance_id == referral.instance_id).order_by(InstanceHistory.id))
        ]
        assert history[-2:] == [("close_vote", None), ("new_round", None)]


@pytest.mark.parametrize(("tie", "state"), [("unfavourable", "unfavourable"), ("changes_requested", "changes_requested")])
def test_a_tie_follows_the_committees_rule(app, tie, state):
    referral_id, users, _ = build(app, members=4, tie=tie)
    vote(app, referral_id, users[0], "favourable")
    vote(app, referral_id, users[1], "favourable")
    vote(app, referral_id, users[2], "unfavourable")
    vote(app, referral_id, users[3], "unfavourable")
    with app.app_context():
        assert db.session.get(Referral, referral_id).instance.status == "vote_closed", "the last ballot closes the vote"
        referral = db.session.get(Referral, referral_id)
        assert services.current_round(referral).tally["decision"] == tie
        fire_transition(db.session.get(User, users[1]), referral.instance, f"record_{state}", {"rationale": "The rule on ties applies."})
        db.session.commit()
        assert referral.instance.status == state


def test_a_decision_with_conditions_dissent_follow_up_and_closure_is_recorded_signed_and_public(app, client):
    referral_id, users, _ = build(app, members=4, interests={3: "Ville de Test"})
    vote(app, referral_id, users[0], "favourable_with_conditions", "Keep a human check.")
    vote(app, referral_id, users[1], "favourable_with_conditions", "Publish the fairness review.")
    vote(app, referral_id, users[2], "unfavourable", "The data are too sensitive.")
    login(client, "m1@test.example")
    instance_id = _instance(app, referral_id)
    with app.app_context():
        version = db.session.get(Referral, referral_id).instance.version
    refused = client.post(
        f"/instances/{instance_id}/fire/record_favourable",
        data={"record_favourable-expected_version": str(version), "record_favourable-rationale": "x", "record_favourable-confirm": "y"},
    )
    assert refused.status_code == 422 and "tally" in refused.get_data(as_text=True)
    ok = client.post(
        f"/instances/{instance_id}/fire/record_with_conditions",
        data={
            "record_with_conditions-expected_version": str(version),
            "record_with_conditions-confirm": "y",
            "record_with_conditions-rationale": "Proportionate safeguards.",
            "record_with_conditions-conditions": "Publish the fairness review.\nKeep a human check.",
        },
    )
    assert ok.status_code == 302, ok.get_data(as_text=True)
    with app.app_context():
        decision = db.session.scalars(sa.select(Decision)).one()
        assert decision.outcome == "favourable_with_conditions" and [c.text for c in decision.conditions] == [
            "Publish the fairness review.",
            "Keep a human check.",
        ]
        assert decision.recused[0]["member"] == "Member 3" and decision.published
        attestation = db.session.scalars(sa.select(Attestation).where(Attestation.instance_id == instance_id)).one()
        credential = json.loads(attestation.credential)
        assert credential["credentialSubject"]["tally"]["eligible"] == 3
        conditions = [c.id for c in decision.conditions]
        decision_id = decision.id
    assert verify_offline(credential).ok
    client.post("/logout")
    login(client, "m2@test.example")
    assert client.post(f"/decisions/{decision_id}/dissent", data={"text": "The data are too sensitive for this use."}).status_code == 303
    client.post("/logout")
    login(client, "m1@test.example")
    with app.app_context():
        version = db.session.get(Referral, referral_id).instance.version
    blocked = client.post(f"/instances/{instance_id}/fire/close", data={"close-expected_version": str(version), "close-confirm": "y"})
    assert blocked.status_code == 422
    for condition_id in conditions:
        assert client.post(f"/conditions/{condition_id}", data={"status": "met", "evidence": "Published on 3 March."}).status_code == 303
    assert client.post(f"/instances/{instance_id}/fire/close", data={"close-expected_version": str(version), "close-confirm": "y"}).status_code == 302
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        assert referral.instance.status == "closed"
        assert db.session.scalars(sa.select(Decision)).one().dissents[0].text.startswith("The data are too sensitive")
    client.post("/logout")
    assert client.get(f"/attestations/{attestation.uid}.json").status_code == 200, "a published decision's attestation is public"


def test_twenty_members_voting_at_once_lose_no_vote_and_double_none(app):
    referral_id, users, _ = build(app, members=21)
    voters = users[1:]  # 20 members vote at once; the chair has not voted, so the vote stays open
    barrier = threading.Barrier(len(voters))
    errors = []

    def worker(user_id):
        with app.app_context():
            try:
                referral = db.session.get(Referral, referral_id)
                actor = db.session.get(User, user_id)
                barrier.wait(timeout=20)
                services.cast_vote(actor, referral, "favourable", None)
                db.session.commit()
            except Exception as exc:  # reported below
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(u,)) for u in voters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    assert sqlite or errors == [], errors
    with app.app_context():
        ballots = db.session.execute(sa.select(Vote.member_id, sa.func.count()).group_by(Vote.member_id)).all()
        assert all(n == 1 for _, n in ballots), "no member has two ballots"
        assert len(ballots) + len(errors) == 20 and (sqlite or len(ballots) == 20)


def test_only_the_holders_organisation_may_file_and_outsiders_see_nothing(app, client, make_user):
    referral_id, users, holder_id = build(app)
    outsider = make_user()
    login(client, outsider.email)
    assert client.get(f"/instances/{_instance(app, referral_id)}").status_code == 403
    assert client.get(f"/referrals/{referral_id}/changes").status_code == 403
    assert client.get("/referrals/new").status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Committee)) == 1
        assert db.session.get(Organisation, db.session.get(Referral, referral_id).organisation_id).name == "Ville de Test"


def test_the_inbox_shows_open_votes_to_eligible_members_only_and_published_decisions_are_public(app, client):
    referral_id, users, _ = build(app, members=4, interests={3: "Ville de Test"})
    login(client, "m2@test.example")
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'data-testid="open-votes"' in page and "Training paths" in page
    client.post("/logout")
    login(client, "m3@test.example")
    assert 'data-testid="open-votes"' not in client.get("/dashboard").get_data(as_text=True), "a recused member has no ballot waiting"
    client.post("/logout")
    for n in range(3):
        vote(app, referral_id, users[n], "favourable")
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        fire_transition(db.session.get(User, users[1]), referral.instance, "record_favourable", {"rationale": "A clear public interest."})
        db.session.commit()
    public = client.get("/decisions").get_data(as_text=True)
    assert "Training paths" in public and "Ville de Test" in public and "Suggest training paths" not in public, "never the dossier"


def test_dossier_files_are_checked_and_only_the_holder_and_unrecused_members_read_them(app, client, make_user):
    import io

    with app.app_context():
        from govflow.accounts.services import create_user
        from govflow.organisations.services import create_organisation

        holder = create_user("h@test.example", "Holder", "govflow-demo", ["signatory"])
        org = create_organisation("Ville de Fichiers", "public_body", founder=holder)
        committee = services.create_committee("Files committee")
        member = create_user("c@test.example", "Member", "govflow-demo", ["committee_member"])
        services.add_committee_member(committee, member, "member")
        declare_interests(member, [{"organisation": "Ville de Fichiers", "relation": "works_for"}])
        referral = services.create_referral(holder, org, committee, "With files", DOSSIER, [], [])
        db.session.commit()
        referral_id, instance_id, holder_id = referral.id, referral.instance_id, holder.id
    login(client, "h@test.example")
    pdf = samples.PDF
    disguised = client.post(
        f"/referrals/{referral_id}/files", data={"upload": (io.BytesIO(b"MZ" + b"\0" * 100), "dpia.pdf")}, content_type="multipart/form-data"
    )
    assert disguised.status_code == 422
    ok = client.post(f"/referrals/{referral_id}/files", data={"upload": (io.BytesIO(pdf), "dpia.pdf")}, content_type="multipart/form-data")
    assert ok.status_code == 303
    with app.app_context():
        from govflow.reviews.models import DossierAttachment

        (attachment,) = db.session.scalars(sa.select(DossierAttachment)).all()
        assert (attachment.version_number, attachment.mime, attachment.original_name) == (1, "application/pdf", "dpia.pdf")
        attachment_id = attachment.id
        referral = db.session.get(Referral, referral_id)
        fire_transition(db.session.get(User, holder_id), referral.instance, "submit", {})
        services.refresh_recusals(referral)
        db.session.commit()
    download = client.get(f"/referral-files/{attachment_id}")
    assert download.status_code == 200 and download.data == pdf
    download.close()
    assert (
        client.post(f"/referrals/{referral_id}/files", data={"upload": (io.BytesIO(pdf), "again.pdf")}, content_type="multipart/form-data").status_code == 422
    ), "files are added in draft or after a request for changes"
    client.post("/logout")
    login(client, "c@test.example")
    assert client.get(f"/referral-files/{attachment_id}").status_code == 403, "a recused member does not read the dossier's files"
    assert instance_id
