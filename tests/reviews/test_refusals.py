"""Each review action refuses the wrong person with 403 and changes nothing."""

from __future__ import annotations

import sqlalchemy as sa

from govflow.extensions import db
from govflow.reviews.models import Condition, Decision, DissentingOpinion, Rapporteur, Recusal, Referral

from ..conftest import login
from .test_review_flow import build, vote


def counts(app):
    with app.app_context():
        return [db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Rapporteur, Recusal, Condition, DissentingOpinion)]


def test_wrong_people_are_refused_every_review_action(app, client, make_user):
    referral_id, users, holder_id = build(app, members=4)
    for n in range(3):
        vote(app, referral_id, users[n], "favourable_with_conditions", "With a condition.")
    vote(app, referral_id, users[3], "favourable", None)  # the last ballot closes the vote
    with app.app_context():
        from govflow.accounts.models import User
        from govflow.instances.services import fire_transition

        referral = db.session.get(Referral, referral_id)
        fire_transition(
            db.session.get(User, users[1]),
            referral.instance,
            "record_with_conditions",
            {"rationale": "Fine with one condition.", "conditions": "Publish the review."},
        )
        db.session.commit()
        decision = db.session.scalars(sa.select(Decision)).one()
        decision_id, condition_id = decision.id, decision.conditions[0].id
    outsider = make_user(roles=("committee_member",))
    before = counts(app)
    login(client, "m2@test.example")  # a plain member: neither secretary nor chair
    assert client.post(f"/referrals/{referral_id}/rapporteurs", data={"user_id": users[3]}).status_code == 403
    assert client.post(f"/conditions/{condition_id}", data={"status": "met", "evidence": "Done."}).status_code == 403
    assert client.post(f"/referrals/{referral_id}/recusals", data={"user_id": users[3], "reason": "Not mine to say."}).status_code == 403
    assert client.post(f"/decisions/{decision_id}/dissent", data={"text": "I agreed, in fact."}).status_code == 403, "voted with the majority"
    client.post("/logout")
    login(client, outsider.email)  # a committee member of no committee here
    for url in (f"/referrals/{referral_id}/vote", f"/referrals/{referral_id}/votes", f"/referrals/{referral_id}/dossier"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/referrals/{referral_id}/files", data={}).status_code == 403
    client.post("/logout")
    login(client, "holder@test.example")  # the holder may not act for the committee
    assert client.post(f"/conditions/{condition_id}", data={"status": "met", "evidence": "Trust us."}).status_code == 403
    assert counts(app) == before
