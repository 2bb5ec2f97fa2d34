"""Demo data: invented people and organisations, charters signed, commitments in varied states (idempotent loader)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from .accounts.services import create_user, find_user
from .attestations.keys import current_record, init_keys
from .attestations.models import LogState, SigningKey
from .charters.catalog import get_catalog, register_all
from .charters.models import Signature
from .charters.services import (
    attach_evidence_url,
    sign_charter,
    signature_commitments,
    submit_self_assessment,
    withdraw_signature,
)
from .engine import SYSTEM, utcnow
from .extensions import db
from .instances.services import fire_transition, get_engine, register_definitions
from .interests.services import declare_interests
from .organisations.models import Organisation
from .organisations.services import add_member, create_organisation
from .organisations.uploads import inspect_upload
from .reviews.models import Committee, Referral
from .reviews.services import add_committee_member, assign_rapporteur, cast_vote, create_committee, create_referral
from .sandbox import roadmaps
from .sandbox import services as sandbox
from .sandbox.models import Programme
from .sandbox.roadmaps import attach_milestone_file

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


def _sign(org: Organisation, slug: str, months_ago: int, pillars: dict, reason: str | None) -> int:
    """Sign ``slug`` for ``org`` and take its commitments through their steps; return how many commitments it made."""
    charter = get_catalog().get(slug)
    officer = find_user(next(o[5] for o in ORGANISATIONS if o[0] == org.name))
    start = utcnow() - timedelta(days=30 * months_ago)
    signature = sign_charter(officer, org, charter, charter.pillar_keys(), now=start)
    moment = start
    commitments = signature_commitments(signature)
    for commitment in commitments:
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
    return len(commitments)


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


# -- the sandbox: a replay of the 2023 "AI for the benefit of public services" edition ---------------------------------
MANAGER = "hugo.lemaire@sandbox.example"
REPLAY_STARTS = date(2023, 6, 1)  # the earliest act the demo replays
# e-mail, name, organisation, kind, identifier, website (people and organisations invented for the demo)
LAUREATE_TEAMS = [
    ("nadia.ferrer@atelier-public.example", "Nadia Ferrer", "Atelier Public Numérique", "public_body", "SIREN 000000011", "https://atelier-public.example"),
    ("olivier.cassan@emploi-horizon.example", "Olivier Cassan", "Réseau Emploi Horizon", "public_body", "SIREN 000000012", "https://emploi-horizon.example"),
    ("pauline.rivet@lorvanne.example", "Pauline Rivet", "Métropole de Lorvanne", "public_body", "SIREN 000000013", "https://lorvanne.example"),
    ("quentin.delorme@vigilis.example", "Quentin Delorme", "Vigilis Vision", "company", "SIREN 000000014", "https://vigilis.example"),
]
EDITION_2023 = {
    "theme_en": "AI for the benefit of public services",
    "theme_fr": "L'intelligence artificielle au service des services publics",
    "description_en": (
        "A yearly sandbox edition: public bodies and companies building AI tools for public services apply, a few are "
        "selected and receive six months of close support on data protection, then the lessons are published for all."
    ),
    "description_fr": (
        "Une édition annuelle du bac à sable : organismes publics et entreprises qui conçoivent des outils d'IA pour les "
        "services publics candidatent, quelques-uns sont retenus et accompagnés six mois sur la protection des données, "
        "puis les enseignements sont publiés pour tous."
    ),
    "edition": 2023,
    "call_opens_on": date(2023, 7, 3),
    "call_closes_on": date(2023, 9, 29),
    "eligibility": (
        "The project is not in production yet | Le projet n'est pas encore en production\n"
        "The project serves a public-service mission | Le projet sert une mission de service public\n"
        "A team can take part for the six months of support | Une équipe peut participer pendant les six mois d'accompagnement"
    ),
    "grid": (
        "Public benefit of the project | Intérêt public du projet | 2\n"
        "Data-protection stakes it raises | Enjeux de protection des données soulevés | 2\n"
        "Commitment to compliance | Engagement dans une démarche de conformité | 1"
    ),
    "cohort_size": 4,
    "support_months": 6,
    "axes": (
        "Which data are needed, and is collecting them lawful? | Quelles données sont nécessaires, et leur collecte est-elle licite ?\n"
        "Anonymisation: when, and by which method for which use | Anonymisation : à quel moment, et par quelle méthode pour quel usage\n"
        "Guaranteeing people's rights | Garantir les droits des personnes\n"
        "Which impact assessments to run | Quelles analyses d'impact mener"
    ),
}
EDITION_2026 = {
    **EDITION_2023,
    "theme_en": "Sharing data between public bodies",
    "theme_fr": "Le partage de données entre administrations",
    "description_en": "A new call: projects where public bodies pool data to serve people better, supported for six months.",
    "description_fr": "Un nouvel appel : des projets où des administrations mettent des données en commun pour mieux servir les usagers, accompagnés six mois.",
    "edition": 2026,
    "cohort_size": 3,
}
# organisation, project title, summary, final state, scores per evaluator (public benefit, stakes, compliance)
APPLICATIONS_2023 = [
    (
        "Atelier Public Numérique",
        "Drafting assistant for public agents",
        "Helps agents find the right rule in internal documentation and draft replies to users; an agent always reviews the text.",
        "laureate",
        (5, 4, 4),
    ),
    (
        "Réseau Emploi Horizon",
        "Conversational helper for job counsellors",
        "Answers counsellors' questions on training schemes and suggests leads for the people they support.",
        "laureate",
        (4, 5, 4),
    ),
    (
        "Métropole de Lorvanne",
        "Household water-use comparison",
        "Compares a household's water use with a reference household of the same size, from smart-meter readings.",
        "laureate",
        (4, 4, 5),
    ),
    (
        "Vigilis Vision",
        "Detecting predefined events in video streams",
        "Spots a short list of predefined events (a fall, an abandoned object) in live video without identifying anyone.",
        "laureate",
        (3, 5, 4),
    ),
    (
        "Commune de Saint-Aubrac",
        "Predicting demand at the town's help desk",
        "Forecasts weekly visits to the help desk to plan the opening hours.",
        "not_selected",
        (3, 2, 3),
    ),
    (
        "Association Données Communes",
        "Open-data quality checker",
        "Checks the quality of datasets published by member towns; already used in production since 2022.",
        "ineligible",
        None,
    ),
]
# axis position, kind, title, start, due, state reached per laureate (index in LAUREATE_TEAMS)
ROADMAP = [
    (1, "workshop", "Kick-off workshop: inventory of the data", date(2024, 1, 10), date(2024, 1, 17), ["accepted", "accepted", "accepted", "accepted"]),
    (1, "deliverable", "Data inventory and legal bases", date(2024, 1, 15), date(2024, 2, 16), ["accepted", "accepted", "accepted", "in_progress"]),
    (2, "deliverable", "Anonymisation report", date(2024, 2, 12), date(2024, 4, 12), ["accepted", "accepted", "rework_requested", "planned"]),
    (3, "workshop", "Interface design workshop: informing users", date(2024, 3, 4), date(2024, 3, 20), ["accepted", "accepted", "accepted", "cancelled"]),
    (4, "deliverable", "Data protection impact assessment", date(2024, 4, 1), date(2024, 6, 14), ["accepted", "submitted", "in_progress", "planned"]),
    (4, "meeting", "Closing meeting", date(2024, 6, 24), date(2024, 6, 28), ["accepted", "planned", "planned", "planned"]),
]
MILESTONE_PATHS = {
    "planned": [],
    "in_progress": ["start"],
    "submitted": ["start", "submit"],
    "rework_requested": ["start", "submit", "request_rework"],
    "accepted": ["start", "submit", "accept"],
    "cancelled": ["cancel"],
}
QUESTIONS = [
    (0, 2, "May the assistant be trained on past replies written by agents?", "Yes, once names and case numbers are removed; keep that step documented."),
    (2, 2, "Can daily meter readings be kept in open data if aggregated by street?", None),
    (3, 3, "Do we need to inform people filmed when no one is identified?", "Yes: signs on site and a page explaining the events detected."),
]


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour))


def _date_keys_for_replay(start: datetime) -> None:
    """On a fresh database, date the keys' service from the replay's first act, so that its credentials verify.

    The demo replays acts from 2023 although its keys were made today; a database that already logged real acts
    keeps its key history untouched.
    """
    if (db.session.scalar(sa.select(LogState.size).where(LogState.id == 1)) or 0) > 0:
        return
    for key in db.session.scalars(sa.select(SigningKey).where(SigningKey.valid_until.is_(None))):
        key.valid_from = min(key.valid_from, start)
    db.session.flush()


def _ensure_laureate_teams() -> int:
    created = 0
    for email, name, org_name, kind, identifier, website in LAUREATE_TEAMS:
        user = find_user(email)
        if user is None:
            user = create_user(email, name, DEMO_PASSWORD, ["signatory"])
            created += 1
        if db.session.scalar(sa.select(Organisation).where(Organisation.name == org_name)) is None:
            add_member(create_organisation(org_name, kind, "FR", identifier, website), user, "officer")
    return created


def _demo_file(kind: str, title: str) -> tuple[bytes, Any]:
    data = f"{title}\n\nDemo deliverable written for the govflow sandbox replay ({kind}). Invented content.\n".encode()
    return data, inspect_upload(data, title.lower().replace(" ", "-").replace(":", "") + ".txt", 1_000_000)


def _milestone_steps(milestone, state: str, due: date, manager, team) -> None:
    moment = _at(due - timedelta(days=5), 9)
    for trigger in MILESTONE_PATHS[state]:
        if trigger == "submit" and milestone.kind == "deliverable":
            data, checked = _demo_file(milestone.kind, milestone.title)
            attach_milestone_file(team, milestone, data, checked, now=moment)
        actor = manager if trigger in ("accept", "request_rework", "cancel") else team
        inputs = {
            "request_rework": {"comment": "Say when the re-identification test was run and by whom."},
            "cancel": {"reason": "Merged with the information notice prepared under the rights axis."},
        }.get(trigger, {})
        fire_transition(actor, milestone.instance, trigger, inputs, now=moment)
        moment += timedelta(days=2)


def _ensure_sandbox() -> int:
    if db.session.scalar(sa.select(Programme.id).where(Programme.edition == 2023)) is not None:
        return 0
    key = current_record("attestation")
    if key is None or key.valid_from > _at(REPLAY_STARTS):
        # The replay's credentials would be dated before their key's service began and never verify (a database that
        # logged acts before this demo existed keeps its key history): no replay rather than unverifiable attestations.
        current_app.logger.warning("demo: the 2023 sandbox edition is not replayed: the signing key's service starts after 2023-06-01")
        return 0
    manager = find_user(MANAGER)
    evaluators = [manager, find_user("gaelle.pons@comite.example"), find_user("fabrice.nalet@comite.example")]
    programme = sandbox.create_programme(manager, now=_at(date(2023, 6, 20), 9), **EDITION_2023)
    for evaluator in evaluators:
        sandbox.assign_evaluator(manager, programme, evaluator, now=_at(date(2023, 6, 21)))
    orgs = {o.name: o for o in db.session.scalars(sa.select(Organisation))}
    teams = {org: find_user(email) for email, _name, org, *_rest in LAUREATE_TEAMS}
    teams.update({o[0]: find_user(o[5]) for o in ORGANISATIONS})
    declared = {c["key"]: True for c in programme.eligibility}
    grid = [c["key"] for c in programme.grid]
    laureates = []
    for n, (org_name, title, summary, outcome, scores) in enumerate(APPLICATIONS_2023):
        team = teams[org_name]
        filed = _at(date(2023, 8, 21) + timedelta(days=5 * n))
        application = sandbox.create_application(team, programme, orgs[org_name], title, summary, declared, [], now=filed)
        instance = application.instance
        fire_transition(team, instance, "submit", {}, now=filed + timedelta(days=7))
        fire_transition(manager, instance, "check_eligibility", {}, now=_at(date(2023, 10, 2)))
        if outcome == "ineligible":
            fire_transition(manager, instance, "declare_ineligible", {"reason": "The tool has been in production since 2022."}, now=_at(date(2023, 10, 4)))
            continue
        fire_transition(manager, instance, "shortlist", {}, now=_at(date(2023, 10, 5)))
        sandbox.schedule_audition(manager, application, _at(date(2023, 10, 23) + timedelta(days=n), 14), "Video call")
        fire_transition(manager, instance, "schedule_audition", {}, now=_at(date(2023, 10, 6)))
        for evaluator in evaluators:
            if sandbox.scoring_refusal(evaluator, application) is None:
                sheet = dict(zip(grid, scores, strict=True))
                sandbox.score_application(evaluator, application, sheet, {}, "Scored after the audition.", now=_at(date(2023, 10, 27)))
        fire_transition(manager, instance, "hold_audition", {}, now=_at(date(2023, 10, 27), 17))
        if outcome == "not_selected":
            fire_transition(manager, instance, "reject", {"reason": "Ranked fifth for a cohort of four."}, now=_at(date(2023, 11, 15)))
            continue
        fire_transition(manager, instance, "select", {}, now=_at(date(2023, 11, 15)))
        laureates.append((application, team))
    for index, (application, team) in enumerate(laureates):
        axes = roadmaps.axes(application)
        planned = [
            (
                roadmaps.add_milestone(manager, application, axes[position - 1], kind, title, starts, due, manager.id, team.id, now=_at(date(2023, 12, 14))),
                states,
            )
            for position, kind, title, starts, due, states in ROADMAP
        ]
        fire_transition(manager, application.instance, "start_support", {}, now=_at(date(2024, 1, 8)))
        for milestone, states in planned:
            _milestone_steps(milestone, states[index], milestone.due_on, manager, team)
        if index == 0:  # the first laureate's roadmap is all accepted: its support is over
            fire_transition(manager, application.instance, "complete", {}, now=_at(date(2024, 7, 1)))
    for index, axis_position, question, answer in QUESTIONS:
        application, team = laureates[index]
        row = roadmaps.raise_question(team, roadmaps.axes(application)[axis_position - 1], question, now=_at(date(2024, 2, 20)))
        if answer:
            roadmaps.answer_question(manager, row, answer, now=_at(date(2024, 2, 27)))
    roadmaps.flag_overdue_milestones(utcnow())
    return 1


def _ensure_open_call() -> int:
    """A second programme whose call is open today, to try applying (not a replay: dated now)."""
    if db.session.scalar(sa.select(Programme.id).where(Programme.edition == EDITION_2026["edition"])) is not None:
        return 0
    manager = find_user(MANAGER)
    today = utcnow().date()
    programme = sandbox.create_programme(manager, **{**EDITION_2026, "call_opens_on": today - timedelta(days=14), "call_closes_on": today + timedelta(days=60)})
    for email in (MANAGER, "gaelle.pons@comite.example"):
        sandbox.assign_evaluator(manager, programme, find_user(email))
    return 1


def _counted(made: int, total: int) -> str:
    return f"{made} created, {total - made} already there"


def load_demo(progress: Callable[[str], None] | None = None) -> int:
    """Create whatever demo item is missing; return how many were created (0 on a second run).

    ``progress`` is given one line per stage as the stage ends, with its counts (``govflow demo load`` prints them:
    a first load takes 20-30 s).
    """
    say = progress or (lambda _line: None)
    register_definitions(get_engine())
    register_all()
    init_keys()
    _date_keys_for_replay(_at(REPLAY_STARTS))
    say("workflow definitions, charters and keys: ready")
    created = made = _ensure_users()
    say(f"users: {_counted(made, len(USERS))}")
    made, orgs = _ensure_organisations()
    created += made
    say(f"organisations: {_counted(made, len(ORGANISATIONS))}")
    committee, made = _ensure_committee()
    created += made
    referred = 0
    for org_name, title, stage in REFERRALS:
        if db.session.scalar(sa.select(Referral.id).where(Referral.title == title)) is None:
            _refer(committee, orgs[org_name], title, stage)
            created += 1
            referred += 1
    say(f"committee and referrals: committee {'created' if made else 'already there'}, referrals {_counted(referred, len(REFERRALS))}")
    made = _ensure_laureate_teams()
    created += made
    say(f"sandbox teams: {_counted(made, len(LAUREATE_TEAMS))}")
    made = _ensure_sandbox()
    created += made
    if made:
        laureates = sum(1 for *_rest, outcome, _scores in APPLICATIONS_2023 if outcome == "laureate")
        say(f"sandbox edition 2023: replayed ({len(APPLICATIONS_2023)} applications, {laureates} laureates and their roadmaps)")
    elif db.session.scalar(sa.select(Programme.id).where(Programme.edition == 2023)) is not None:
        say("sandbox edition 2023: already there")
    else:
        say("sandbox edition 2023: not replayed (the signing key's service starts after 2023-06-01)")
    made = _ensure_open_call()
    created += made
    say(f"sandbox edition {EDITION_2026['edition']}: call {'opened' if made else 'already there'}")
    signed = commitments = 0
    for org_name, slug, months_ago, pillars, reason in SIGNATURES:
        org = orgs[org_name]
        exists = db.session.scalar(sa.select(Signature.id).where(Signature.organisation_id == org.id, Signature.charter == slug))
        if exists is None:
            commitments += _sign(org, slug, months_ago, pillars, reason)
            created += 1
            signed += 1
    say(f"signatures and commitments: signatures {_counted(signed, len(SIGNATURES))}, {commitments} commitment(s) made")
    db.session.commit()
    return created
