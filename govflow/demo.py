"""Demo data: invented people and organisations, commitments in varied states (idempotent loader)."""

from __future__ import annotations

import sqlalchemy as sa

from .accounts.services import create_user, find_user
from .attestations.keys import init_keys
from .charters.models import Commitment, Organisation
from .charters.services import add_member, create_commitment, create_organisation
from .extensions import db
from .instances.services import fire_transition, get_engine, register_definitions

DEMO_PASSWORD = "govflow-demo"  # noqa: S105 - documented demo password, created only by this loader

USERS = [
    ("admin@govflow.example", "Aline Ferrand", ["admin"]),
    ("bastien.roux@clairvoie.example", "Bastien Roux", ["signatory"]),
    ("chloe.marchal@saint-aubrac.example", "Chloé Marchal", ["signatory"]),
    ("damien.oudin@comite.example", "Damien Oudin", ["committee_member"]),
    ("elise.varenne@comite.example", "Élise Varenne", ["committee_member", "committee_secretary"]),
    ("fabrice.nalet@comite.example", "Fabrice Nalet", ["committee_member"]),
    ("gaelle.pons@comite.example", "Gaëlle Pons", ["committee_member"]),
    ("hugo.lemaire@sandbox.example", "Hugo Lemaire", ["programme_manager"]),
]

ORGANISATIONS = [
    ("Clairvoie Analytique", "company", "FR", "SIREN 000000001", "https://clairvoie.example", [("bastien.roux@clairvoie.example", "officer")]),
    ("Commune de Saint-Aubrac", "public_body", "FR", "SIREN 000000002", "https://saint-aubrac.example", [("chloe.marchal@saint-aubrac.example", "officer")]),
]

REVIEWER = "damien.oudin@comite.example"
EVIDENCE = "https://clairvoie.example/ethics/report-2026"

# (organisation, charter, pillar, statement, steps to replay: (trigger, actor e-mail or None for the officer, inputs))
COMMITMENTS = [
    (
        "Clairvoie Analytique",
        "Numeum Ethical AI",
        "FAIRE",
        "Run the practical guide's self-review before each model goes into production, and keep the record.",
        [],
    ),
    (
        "Clairvoie Analytique",
        "Numeum Ethical AI",
        "COMMUNIQUER",
        "Publish, for each AI product we sell, a plain-language note on what it does and where its limits are.",
        [("declare", None, {})],
    ),
    (
        "Clairvoie Analytique",
        "Numeum Ethical AI",
        "PROGRESSER",
        "Send a data scientist to the guide's revision group twice a year and share our lessons learnt.",
        [("declare", None, {}), ("add_evidence", None, {"evidence_url": EVIDENCE})],
    ),
    (
        "Commune de Saint-Aubrac",
        "Numeum Ethical AI",
        "FAIRE",
        "Review every algorithm used in public services with the guide's six themes before it is deployed.",
        [("declare", None, {})],
    ),
    (
        "Commune de Saint-Aubrac",
        "Numeum Ethical AI",
        "COMMUNIQUER",
        "List the municipal algorithms and explain them to residents on the town's website.",
        [
            ("declare", None, {}),
            ("add_evidence", None, {"evidence_url": "https://saint-aubrac.example/algorithmes"}),
            ("verify", REVIEWER, {"comment": "The public list is online and readable."}),
        ],
    ),
]


def load_demo() -> int:
    """Create whatever demo item is missing; return how many were created (0 on a second run)."""
    created = 0
    register_definitions(get_engine())
    init_keys()
    for email, name, roles in USERS:
        if find_user(email) is None:
            create_user(email, name, DEMO_PASSWORD, roles)
            created += 1
    orgs = {}
    for name, kind, country, identifier, website, members in ORGANISATIONS:
        org = db.session.scalar(sa.select(Organisation).where(Organisation.name == name))
        if org is None:
            org = create_organisation(name, kind, country, identifier, website)
            for email, role in members:
                add_member(org, find_user(email), role)
            created += 1
        orgs[name] = (org, find_user(members[0][0]))
    for org_name, charter, pillar, statement, steps in COMMITMENTS:
        org, officer = orgs[org_name]
        exists = db.session.scalar(
            sa.select(Commitment.id).where(Commitment.organisation_id == org.id, Commitment.charter == charter, Commitment.pillar == pillar)
        )
        if exists is not None:
            continue
        commitment = create_commitment(officer, org, charter, pillar, statement)
        for trigger, actor_email, inputs in steps:
            actor = find_user(actor_email) if actor_email else officer
            fire_transition(actor, commitment.instance, trigger, inputs)
        created += 1
    db.session.commit()
    return created
