"""Demo data: invented people and organisations, charters signed, commitments in varied states (idempotent loader)."""

from __future__ import annotations

from datetime import timedelta

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


def load_demo() -> int:
    """Create whatever demo item is missing; return how many were created (0 on a second run)."""
    register_definitions(get_engine())
    register_all()
    init_keys()
    created = _ensure_users()
    made, orgs = _ensure_organisations()
    created += made
    for org_name, slug, months_ago, pillars, reason in SIGNATURES:
        org = orgs[org_name]
        exists = db.session.scalar(sa.select(Signature.id).where(Signature.organisation_id == org.id, Signature.charter == slug))
        if exists is None:
            _sign(org, slug, months_ago, pillars, reason)
            created += 1
    db.session.commit()
    return created
