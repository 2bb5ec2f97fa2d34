"""Shared review fixtures: a committee with members, a holder organisation and a referral brought to vote_open."""

from __future__ import annotations

import sqlalchemy as sa

from govflow.accounts.models import User
from govflow.engine import SYSTEM
from govflow.extensions import db
from govflow.instances.services import fire_transition
from govflow.interests.services import declare_interests
from govflow.reviews import services
from govflow.reviews.models import Referral, VoteRound

DOSSIER = {
    "purpose": "Suggest training paths to job seekers.",
    "data_used": "Past service records.",
    "personal_data": "Pseudonymised; public mission.",
    "rights": "Information page and objection through the DPO.",
    "dpia": "done",
    "dpia_details": "Done with the DPO.",
    "training": "On pseudonymised records.",
    "inference": "Suggestions checked by an agent.",
}


def build(app, members=4, quorum=("share", 50), rule="simple_majority", tie="new_round", interests=None, partners=()):
    """A committee (chair, secretary, members), a holder organisation and a referral in vote_open; returns ids."""
    with app.app_context():
        from govflow.accounts.services import create_user
        from govflow.organisations.services import create_organisation

        holder = create_user("holder@test.example", "Holder", "govflow-demo", ["signatory"])
        org = create_organisation("Ville de Test", "public_body", founder=holder)
        committee = services.create_committee(
            "Test committee", quorum_kind=quorum[0], quorum_value=quorum[1], decision_rule=rule, tie_outcome=tie, publish_policy="always"
        )
        users = []
        for n in range(members):
            user = create_user(f"m{n}@test.example", f"Member {n}", "govflow-demo", ["committee_member"])
            services.add_committee_member(committee, user, "chair" if n == 0 else "secretary" if n == 1 else "member")
            if interests and n in interests:
                declare_interests(user, [{"organisation": interests[n], "relation": "advises"}])
            users.append(user.id)
        referral = services.create_referral(holder, org, committee, "Training paths", DOSSIER, list(partners), [], publish_consent=True)
        secretary = db.session.get(User, users[1])
        fire_transition(holder, referral.instance, "submit", {})
        fire_transition(secretary, referral.instance, "declare_admissible", {})
        services.assign_rapporteur(secretary, referral, next(u for u in services.eligible_members(referral) if u != users[1]))
        fire_transition(secretary, referral.instance, "assign_rapporteurs", {})
        fire_transition(secretary, referral.instance, "open_deliberation", {})
        fire_transition(secretary, referral.instance, "open_vote", {})
        db.session.commit()
        return referral.id, users, holder.id


def vote(app, referral_id, user_id, choice, rationale="Because."):
    """Cast a ballot as the vote page does: commit it, then close the vote if it was the last one."""
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        services.cast_vote(db.session.get(User, user_id), referral, choice, rationale)
        db.session.commit()
        if services.close_vote_when_complete(referral):
            db.session.commit()


def close(app, referral_id):
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        fire_transition(SYSTEM, referral.instance, "close_vote", {})
        db.session.commit()
        closed = db.session.scalars(
            sa.select(VoteRound).where(VoteRound.referral_id == referral_id, VoteRound.closed_at.is_not(None)).order_by(VoteRound.number.desc())
        ).first()
        return dict(closed.tally)
