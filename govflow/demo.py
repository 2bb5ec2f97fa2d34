"""Demo data: invented people and organisations, charters signed, commitments in varied states (idempotent loader)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from .accounts.services import create_user, find_user
from .attestations.keys import init_keys
from .charters.catalog import get_catalog, register_all
from .charters.models import Organisation, Signature
from .charters.services import (
    add_member,
    attach_evidence_url,
    create_organisation,
    sign_charter,
    signature_commitments,
    submit_self_assessment,
    withdraw_signature,
)
from .engine import utcnow
from .extensions import db
from .instances.services import fire_transition, get_engine, register_definitions

DEMO_PASSWORD = "govflow-demo"  # noqa: S105 - documented demo password, created only by this loader

USERS = [
    ("admin@govflow.example", "Aline Ferrand", ["admin"]),
    ("bastien.roux@clairvoie.example", "Bastien Roux", ["signatory"]),
    ("chloe.marchal@saint-aubrac.example", "Chloé Marchal", ["signatory"]),
    ("ines.berthier@trois-rivieres.example", "Inès Berthier", ["signatory"]),
    ("jules.marot@donnees-communes.example", "Jules Marot", ["signatory"]),
    ("damien.oudin@comite.example", "Damien Oudin", ["committee_member"]),
    ("elise.varenne@comite.example", "Élise Varenne", ["committee_member", "committee_secretary"]),
    ("fabrice.nalet@comite.example", "Fabrice Nalet", ["committee_member"]),
    ("gaelle.pons@comite.example", "Gaëlle Pons", ["committee_member"]),
    ("hugo.lemaire@sandbox.example", "Hugo Lemaire", ["programme_manager"]),
]

# name, kind, country, identifier, website, officer e-mail
ORGANISATIONS = [
    ("Clairvoie Analytique", "company", "FR", "SIREN 000000001", "https://clairvoie.example", "bastien.roux@clairvoie.example"),
    ("Commune de Saint-Aubrac", "public_body", "FR", "SIREN 000000002", "https://saint-aubrac.example", "chloe.marchal@saint-aubrac.example"),
    ("Lycée des Trois-Rivières", "school", "FR", "UAI 0000000X", "https://trois-rivieres.example", "ines.berthier@trois-rivieres.example"),
    ("Association Données Communes", "association", "FR", "RNA W000000001", "https://donnees-communes.example", "jules.marot@donnees-communes.example"),
]

NUMEUM, OCCITANIE = "numeum-ethical-ai", "occitanie-data-ethics"
REVIEWER = "damien.oudin@comite.example"
DECLARE = [("declare", None, {})]
EVIDENCED = [*DECLARE, ("add_evidence", None, {"evidence_url": "EVIDENCE"})]
VERIFIED = [*EVIDENCED, ("verify", REVIEWER, {"comment": "The evidence shows the commitment in practice."})]

# organisation, charter, months ago signed, {pillar: (statement, steps)}, withdrawal reason or None
SIGNATURES = [
    (
        "Clairvoie Analytique",
        NUMEUM,
        26,
        {
            "faire": ("Run the practical guide's self-review before each model goes into production, and keep the record.", []),
            "communiquer": ("Publish, for each AI product we sell, a plain-language note on what it does and where its limits are.", DECLARE),
            "progresser": ("Send a data scientist to the guide's revision group twice a year and share our lessons learnt.", EVIDENCED),
        },
        None,
    ),
    (
        "Commune de Saint-Aubrac",
        NUMEUM,
        14,
        {
            "faire": ("Review every algorithm used in public services with the guide's six themes before it is deployed.", DECLARE),
            "communiquer": ("List the municipal algorithms and explain them to residents on the town's website.", VERIFIED),
            "progresser": ("Train the digital team every year on bias and explainability, and report what changed.", EVIDENCED),
        },
        None,
    ),
    (
        "Commune de Saint-Aubrac",
        OCCITANIE,
        8,
        {
            "independent_review": ("Submit every project using shared data to the regional ethics committee before it starts.", VERIFIED),
            "general_interest": ("State, for each data project, the public benefit it serves and how it will be measured.", DECLARE),
        },
        None,
    ),
    (
        "Lycée des Trois-Rivières",
        NUMEUM,
        5,
        {
            "faire": ("Use the guide's method in the AI option class and in the tools the school chooses.", VERIFIED),
            "communiquer": ("Explain to pupils and parents how the school's digital tools use their data.", DECLARE),
        },
        None,
    ),
    (
        "Association Données Communes",
        NUMEUM,
        12,
        {
            "faire": ("Apply the guide to the open-data tools we build for member towns.", EVIDENCED),
        },
        "The association merged into a federation that signs charters on its behalf.",
    ),
]


def _ensure_users() -> int:
    created = 0
    for email, name, roles in USERS:
        if find_user(email) is None:
            create_user(email, name, DEMO_PASSWORD, roles)
            created += 1
    return created


def _ensure_organisations() -> tuple[int, dict[str, Organisation]]:
    created, orgs = 0, {}
    for name, kind, country, identifier, website, officer in ORGANISATIONS:
        org = db.session.scalar(sa.select(Organisation).where(Organisation.name == name))
        if org is None:
            org = create_organisation(name, kind, country, identifier, website)
            add_member(org, find_user(officer), "officer")
            created += 1
        orgs[name] = org
    return created, orgs


def _sign(org: Organisation, slug: str, months_ago: int, pillars: dict, reason: str | None) -> None:
    charter = get_catalog().get(slug)
    officer = find_user(next(o[5] for o in ORGANISATIONS if o[0] == org.name))
    start = utcnow() - timedelta(days=30 * months_ago)
    signature = sign_charter(officer, org, charter, charter.pillar_keys(), now=start)
    moment = start
    for commitment in signature_commitments(signature):
        statement, steps = pillars.get(commitment.pillar, ("", []))
        commitment.statement = statement
        for trigger, actor_email, inputs in steps:
            moment += timedelta(days=9)
            actor = find_user(actor_email) if actor_email else officer
            if trigger == "add_evidence":
                attach_evidence_url(officer, commitment, f"{org.website}/ethics/{commitment.pillar}", "Public page describing the practice.")
                inputs = {}
            fire_transition(actor, commitment.instance, trigger, inputs, now=moment)
    if charter.themes and slug == NUMEUM and org.kind != "association":
        for years_back in range(months_ago // 12, -1, -1):
            year = utcnow().year - years_back
            if year < signature.signed_at.year:
                continue
            base = 1 + (2 - years_back) % 3
            answers = {t: (min(4, base + i % 2), False, None) for i, t in enumerate(charter.theme_keys())}
            if org.kind == "school":
                answers[charter.theme_keys()[-1]] = (None, True, "The school builds no system whose failure could harm people.")
            submit_self_assessment(officer, signature, year, answers)
    if reason:
        withdraw_signature(officer, signature, reason)


COMMITTEE = "Comité d'éthique de la donnée (démo)"
# e-mail, committee role, declared interests
COMMITTEE_MEMBERS = [
    ("damien.oudin@comite.example", "chair", [("Université du Midi (démo)", "works_for")]),
    ("elise.varenne@comite.example", "secretary", []),
    ("fabrice.nalet@comite.example", "member", [("Commune de Saint-Aubrac", "advises")]),
    ("gaelle.pons@comite.example", "member", [("Fondation Pour Demain (démo)", "funded_by")]),
]


def _dossier(purpose: str) -> dict:
    return {
        "purpose": purpose,
        "data_used": "Service records of the last three years, kept by the organisation; no data bought from third parties.",
        "personal_data": "Names and contact details are removed before use; the legal basis is the public-service mission.",
        "minimisation": "Only the fields the model needs are extracted; extracts are deleted after 12 months.",
        "anonymisation": "Identifiers are replaced by random keys before the data leaves the service.",
        "rights": "People are told on the service's page and can object or ask for access through the data protection officer.",
        "dpia": "done",
        "dpia_details": "Impact assessment carried out with the data protection officer and reviewed yearly.",
        "fairness": "Results are compared across districts and age groups each quarter.",
        "human_oversight": "An agent checks every suggestion before anything is decided for a person.",
        "environment": "The model is small and retrained twice a year on existing servers.",
        "training": "Trained on pseudonymised past records only.",
        "inference": "Used to suggest, never to decide; suggestions are logged.",
    }


# organisation, title, final step: "draft" | "submitted" | "examination" | "vote" | "decided"
REFERRALS = [
    ("Commune de Saint-Aubrac", "Suggesting training paths to job seekers", "decided"),
    ("Clairvoie Analytique", "Forecasting bus ridership for the metropolis", "vote"),
    ("Clairvoie Analytique", "Spotting duplicate invoices in public procurement", "examination"),
    ("Lycée des Trois-Rivières", "Guidance assistant for pupils' study choices", "submitted"),
    ("Association Données Communes", "Map of open datasets for small towns", "draft"),
]


def _ensure_committee() -> tuple[Any, int]:
    from .reviews.models import Committee
    from .reviews.services import add_committee_member, create_committee, declare_interests

    committee = db.session.scalar(sa.select(Committee).where(Committee.name == COMMITTEE))
    if committee is not None:
        return committee, 0
    committee = create_committee(COMMITTEE, publish_policy="with_consent")
    for email, role, interests in COMMITTEE_MEMBERS:
        user = find_user(email)
        add_committee_member(committee, user, role, term_start=utcnow().date() - timedelta(days=400))
        declare_interests(user, [{"organisation": o, "relation": r} for o, r in interests])
    return committee, 1


def _refer(committee, org: Organisation, title: str, stage: str) -> None:
    from .engine import SYSTEM
    from .reviews.services import assign_rapporteur, cast_vote, create_referral

    holder = find_user(next(o[5] for o in ORGANISATIONS if o[0] == org.name))
    secretary, chair = find_user("elise.varenne@comite.example"), find_user("damien.oudin@comite.example")
    referral = create_referral(
        holder,
        org,
        committee,
        title,
        _dossier(f"{title}: to serve residents better with public data."),
        ["Université du Midi (démo)"] if stage == "vote" else [],
        ["occitanie-data-ethics"],
        publish_consent=True,
    )
    steps = {"draft": 0, "submitted": 1, "examination": 2, "vote": 3, "decided": 4}[stage]
    if steps >= 1:
        fire_transition(holder, referral.instance, "submit", {})
    if steps >= 2:
        fire_transition(secretary, referral.instance, "declare_admissible", {})
        assign_rapporteur(secretary, referral, find_user("gaelle.pons@comite.example").id)
    if steps >= 3:
        fire_transition(secretary, referral.instance, "assign_rapporteurs", {})
        fire_transition(chair if stage != "vote" else secretary, referral.instance, "open_deliberation", {})
        fire_transition(secretary, referral.instance, "open_vote", {})
        cast_vote(find_user("gaelle.pons@comite.example"), referral, "favourable_with_conditions", "Publish the quarterly fairness review.")
    if steps >= 4:
        cast_vote(chair, referral, "favourable_with_conditions", "Keep a human check on every suggestion.")
        cast_vote(secretary, referral, "favourable", None)
        fire_transition(SYSTEM, referral.instance, "close_vote", {})
        fire_transition(
            secretary,
            referral.instance,
            "record_with_conditions",
            {
                "rationale": "The project serves a clear public interest and its safeguards are proportionate.",
                "conditions": "Publish the quarterly fairness review on the town's website.\nLet an agent validate every suggestion.",
            },
        )


def load_demo() -> int:
    """Create whatever demo item is missing; return how many were created (0 on a second run)."""
    register_definitions(get_engine())
    register_all()
    init_keys()
    created = _ensure_users()
    made, orgs = _ensure_organisations()
    created += made
    committee, made = _ensure_committee()
    created += made
    from .reviews.models import Referral

    for org_name, title, stage in REFERRALS:
        if db.session.scalar(sa.select(Referral.id).where(Referral.title == title)) is None:
            _refer(committee, orgs[org_name], title, stage)
            created += 1
    for org_name, slug, months_ago, pillars, reason in SIGNATURES:
        org = orgs[org_name]
        exists = db.session.scalar(sa.select(Signature.id).where(Signature.organisation_id == org.id, Signature.charter == slug))
        if exists is None:
            _sign(org, slug, months_ago, pillars, reason)
            created += 1
    db.session.commit()
    return created
