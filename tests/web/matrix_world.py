"""The world of the route × role × state matrix: every kind of person, and subjects in the states that matter."""

from __future__ import annotations

from types import SimpleNamespace

import sqlalchemy as sa

from govflow.accounts.models import User
from govflow.extensions import db

from .. import samples
from ..conftest import DEMO_PASSWORD
from ..reviews.common import DOSSIER, vote
from ..reviews.common import build as build_referral
from ..sandbox import common as sandbox

PERSONAS = (
    "anonymous",
    "outsider",  # signed in, signatory of no organisation
    "officer",  # officer of the organisation that signed a charter (its commitments and evidence)
    "contributor",  # contributor of that organisation
    "holder",  # officer of the organisation that referred a project to the committee
    "team",  # officer of a laureate of the sandbox programme
    "other_team",  # officer of another applicant (a draft application)
    "chair",
    "secretary",
    "member",  # a committee member
    "recused",  # a committee member recused from the referral (declared interest)
    "manager",  # the programme's manager
    "evaluator",  # the programme's evaluator
    "excluded",  # an evaluator excluded from the laureate (declared interest)
    "admin",
)
EMAILS = {
    "outsider": "outsider@test.example",
    "officer": "officer@matrix.example",
    "contributor": "contributor@matrix.example",
    "holder": "holder@test.example",
    "team": "team@test.example",
    "other_team": "other@test.example",
    "chair": "m0@test.example",
    "secretary": "m1@test.example",
    "member": "m2@test.example",
    "recused": "m3@test.example",
    "manager": "manager@test.example",
    "evaluator": "evaluator@test.example",
    "excluded": "conflicted@test.example",
    "admin": "admin@test.example",
}


def build_world(app) -> SimpleNamespace:
    """Build the world; return the ids the route table's addresses use."""
    from govflow.accounts.services import create_user
    from govflow.attestations.models import Attestation
    from govflow.charters.catalog import get_catalog
    from govflow.charters.models import Commitment, Evidence
    from govflow.charters.services import attach_evidence_file, sign_charter
    from govflow.instances.services import fire_transition
    from govflow.organisations.models import Organisation
    from govflow.organisations.services import add_member, create_organisation, invite_member
    from govflow.organisations.uploads import inspect_upload
    from govflow.reviews import services as reviews
    from govflow.reviews.models import Condition, Decision, DossierAttachment, Referral
    from govflow.sandbox import roadmaps
    from govflow.sandbox.models import Application, Milestone

    w = SimpleNamespace()
    # Ethics review: a referral whose vote closed with a decision (published), a member recused; and a draft referral.
    w.referral, users, _ = build_referral(app, members=4, interests={3: "Ville de Test"})
    for user_id in users[:3]:
        vote(app, w.referral, user_id, "favourable_with_conditions", "With a condition.")
    # The sandbox: a laureate in support with a milestone, a file, an axis, a question; another applicant's draft.
    ids = sandbox.build(app)
    w.programme = ids.programme
    w.laureate = sandbox.apply(app, ids)
    sandbox.advance(app, ids, w.laureate, "in_support")
    w.draft_application = sandbox.apply(app, ids, org="other_org", title="Event detection")
    with app.app_context():
        secretary = db.session.get(User, users[1])
        referral = db.session.get(Referral, w.referral)
        fire_transition(secretary, referral.instance, "record_with_conditions", {"rationale": "Fine with one condition.", "conditions": "Publish the review."})
        holder = db.session.scalar(sa.select(User).where(User.email == "holder@test.example"))
        organisation = db.session.get(Organisation, referral.organisation_id)
        draft = reviews.create_referral(holder, organisation, referral.committee, "A draft project", DOSSIER, [], [])
        checked = inspect_upload(samples.PDF, "dossier.pdf", 10_000_000)
        reviews.attach_file(holder, draft, samples.PDF, checked)
        w.draft_referral, w.draft_referral_instance = draft.id, draft.instance_id
        w.draft_file = db.session.scalar(sa.select(DossierAttachment.id).where(DossierAttachment.referral_id == draft.id))
        w.referral_instance = referral.instance_id
        decision = db.session.scalars(sa.select(Decision)).one()
        w.decision, w.condition = decision.id, db.session.scalar(sa.select(Condition.id))
        # Charters: an organisation with an officer and a contributor, signed, a draft and a declared commitment, evidence.
        officer = create_user(EMAILS["officer"], "Olivia Officer", DEMO_PASSWORD, ["signatory"])
        contributor = create_user(EMAILS["contributor"], "Carl Contributor", DEMO_PASSWORD, ["signatory"])
        org = create_organisation("Matrix Analytics", "company")
        add_member(org, officer, "officer")
        add_member(org, contributor, "contributor")
        charter = get_catalog().get("numeum-ethical-ai")
        signature = sign_charter(officer, org, charter, charter.pillar_keys())
        commitments = db.session.scalars(sa.select(Commitment).where(Commitment.signature_id == signature.id).order_by(Commitment.id)).all()
        declared, draft_commitment = commitments[0], commitments[1]
        declared.statement = "Publish a plain-language note for every AI product we ship."
        fire_transition(officer, declared.instance, "declare", {})
        attach_evidence_file(officer, declared, samples.PDF, inspect_upload(samples.PDF, "note.pdf", 10_000_000))
        w.organisation, w.signature, w.commitment, w.draft_commitment = org.id, signature.id, declared.id, draft_commitment.id
        w.commitment_instance, w.draft_commitment_instance = declared.instance_id, draft_commitment.instance_id
        w.evidence = db.session.scalar(sa.select(Evidence.id).where(Evidence.commitment_id == declared.id))
        w.member_user = contributor.id
        # An invitation of the outsider to the organisation.
        w.invitation = invite_member(officer, org, EMAILS["outsider"], "contributor").id
        # The laureate's roadmap: a milestone started, with a file, an axis and a question; then accepted elsewhere.
        application = db.session.get(Application, w.laureate)
        milestone = db.session.scalar(sa.select(Milestone).where(Milestone.application_id == w.laureate))
        team = sandbox.user(ids.team)
        fire_transition(team, milestone.instance, "start", {})
        milestone_file = roadmaps.attach_milestone_file(team, milestone, samples.PDF, inspect_upload(samples.PDF, "dpia.pdf", 10_000_000))
        axis = roadmaps.axes(application)[0]
        question = roadmaps.raise_question(team, axis, "Which retention period?")
        fire_transition(team, milestone.instance, "submit", {})
        fire_transition(sandbox.user(ids.manager), milestone.instance, "accept", {})
        w.milestone, w.milestone_instance, w.milestone_file = milestone.id, milestone.instance_id, milestone_file.id
        w.axis, w.question, w.laureate_instance = axis.id, question.id, application.instance_id
        w.draft_application_instance = db.session.get(Application, w.draft_application).instance_id
        attestations = {a.instance_id: a.uid for a in db.session.scalars(sa.select(Attestation))}
        w.public_attestation, w.confidential_attestation = attestations[declared.instance_id], attestations[milestone.instance_id]
        w.contributor_id = contributor.id
        db.session.commit()
    return w
