"""Services for signatures, commitments, evidence and self-assessments (organisations and their members are
``organisations.services``).

They take the actor explicitly, flush, and never commit. Refusals raise CharterError (422), NotPermitted (403)
or AlreadySigned (409) with a sentence a person understands.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import bounds
from ..accounts.models import User
from ..engine import EngineError, NotPermitted, Refused, utcnow
from ..extensions import db
from ..instances.services import fire_transition, get_engine, start_instance
from ..organisations.models import Organisation
from ..organisations.services import is_member, is_officer, store_file
from ..organisations.uploads import CheckedUpload
from ..uniques import expect_duplicate
from .catalog import ensure_charter_registered, get_catalog
from .definitions import LANGUAGES, CharterDef
from .models import (
    Commitment,
    Evidence,
    SelfAssessment,
    SelfAssessmentAnswer,
    Signature,
)

COMMITMENT_WORKFLOW = "commitment"
SIGNATURE_WORKFLOW = "charter_signature"


class CharterError(Refused):
    """Input refused by a charter service; the message says why."""

    status = 422


class AlreadySigned(EngineError):
    """The organisation already signed this charter version."""

    status = 409


# -- signatures ------------------------------------------------------------------------------------------------
def live_signature(organisation_id: int, slug: str, version: int) -> Signature | None:
    """The organisation's signature of this charter version that is not withdrawn, or None."""
    return db.session.scalar(
        sa.select(Signature).where(
            Signature.organisation_id == organisation_id, Signature.charter == slug, Signature.charter_version == version, Signature.withdrawn_at.is_(None)
        )
    )


def tr_in(texts: dict[str, str], lang: str) -> str:
    """``texts`` in ``lang``, English when missing."""
    return texts.get(lang) or texts["en"]


def sign_charter(actor: Any, organisation: Organisation, charter: CharterDef, accepted_pillars: list[str], now: datetime | None = None) -> Signature:
    """Sign ``charter`` for ``organisation``: an attested act, and one draft commitment per pillar.

    Only officers may sign; every pillar must be accepted explicitly; a live signature of the same version is refused.
    """
    if not is_officer(actor, organisation.id):
        raise NotPermitted(_("Only an officer of %(org)s can sign on its behalf.", org=organisation.name))
    missing = [p.key for p in charter.pillars if p.key not in accepted_pillars]
    if missing:
        raise CharterError(_("Accept each pillar of the charter explicitly to sign it."))
    existing = live_signature(organisation.id, charter.slug, charter.version)
    if existing is not None:
        raise AlreadySigned(
            _("%(org)s already signed this version of the charter, on %(date)s.", org=organisation.name, date=existing.signed_at.strftime("%Y-%m-%d"))
        )
    ensure_charter_registered(charter)
    words = {lang: f"{organisation.name}: {charter.title.get(lang) or charter.title['en']} (v{charter.version})" for lang in LANGUAGES}
    instance = start_instance(actor, SIGNATURE_WORKFLOW, title=words["en"][:300], subject_kind="signature", now=now, title_words=words)
    signature = Signature(
        organisation=organisation,
        charter=charter.slug,
        charter_version=charter.version,
        instance=instance,
        accepted_pillars=[p.key for p in charter.pillars],
        signed_by_id=actor.id,
        signed_at=now or utcnow(),
    )
    # Two officers signing at the same instant both pass the check above: the live-signature key lets one through.
    with expect_duplicate(
        Signature.__table__, {"organisation_id", "charter", "charter_version"}, _("%(org)s already signed this version of the charter.", org=organisation.name)
    ):
        db.session.add(signature)
    fire_transition(actor, instance, "sign", {}, now=now)
    signature.signed_at = instance.updated_at
    for pillar in charter.pillars:
        create_commitment(actor, signature, pillar.key, "", now=now)
    return signature


def withdraw_signature(actor: Any, signature: Signature, reason: str) -> Signature:
    """Withdraw from a charter, publicly and with a reason; its attestation and its commitments' are revoked."""
    reason = (reason or "").strip()
    if not reason:
        raise CharterError(_("Say why the organisation withdraws: the reason is public."), field="reason")
    fire_transition(actor, signature.instance, "withdraw", {"reason": reason})
    signature.withdrawn_at = signature.instance.updated_at
    signature.withdrawal_reason = reason
    engine = get_engine()
    for commitment in signature_commitments(signature):
        definition = engine.definition_of(commitment.instance)
        if not definition.states[commitment.instance.status].final:
            fire_transition(actor, commitment.instance, "withdraw", {"reason": reason})
    db.session.flush()
    return signature


def move_signature(actor: Any, signature: Signature, charter: CharterDef) -> Signature:
    """Move an organisation to a newer version of a charter it signed, as the version's migration table says.

    The new version is signed (an attested act); each of its pillars gets a draft commitment whose statement and
    themes carry over, come from another item, or start blank. The old signature stays, marked as superseded.
    """
    if not is_officer(actor, signature.organisation_id):
        raise NotPermitted(_("Only an officer of the organisation can move it to a new version of the charter."))
    if signature.withdrawn_at is not None or signature.superseded_by_id is not None:
        raise CharterError(_("This signature was withdrawn or already moved to a newer version."))
    if charter.slug != signature.charter or charter.version <= signature.charter_version:
        raise CharterError(_("Choose a newer version of the same charter."))
    if charter.migration is None or charter.migration.from_version != signature.charter_version:
        raise CharterError(_("This version says nothing about moving from version %(v)s.", v=signature.charter_version))
    previous = {c.pillar: c for c in signature_commitments(signature) if c.statement}
    moved = sign_charter(actor, signature.organisation, charter, charter.pillar_keys())
    themes_allowed = set(charter.theme_keys())
    for commitment in signature_commitments(moved):
        rule = charter.migration.items.get(commitment.pillar)
        source_key = rule.source if rule is not None and rule.mode in ("carry", "from") else None
        source = previous.get(source_key) if source_key else None
        if source is not None:
            commitment.statement = source.statement
            commitment.themes = [t for t in (source.themes or []) if t in themes_allowed]
    signature.superseded_by_id = moved.id
    db.session.flush()
    return moved


def signature_for_instance(instance_id: int) -> Signature | None:
    """The signature whose lifecycle is instance ``instance_id``."""
    return db.session.scalar(sa.select(Signature).where(Signature.instance_id == instance_id))


def organisation_signatures(organisation: Organisation) -> list[Signature]:
    """An organisation's signatures, newest first."""
    return list(
        db.session.scalars(sa.select(Signature).where(Signature.organisation_id == organisation.id).order_by(Signature.signed_at.desc(), Signature.id.desc()))
    )


def signature_commitments(signature: Signature) -> list[Commitment]:
    """The commitments made under a signature, in pillar order then creation."""
    return list(db.session.scalars(sa.select(Commitment).where(Commitment.signature_id == signature.id).order_by(Commitment.id)))


# -- commitments --------------------------------------------------------------------------------------------------
def _check_commitment_fields(charter: CharterDef, pillar: str, themes: list[str] | None) -> list[str]:
    if pillar not in charter.pillar_keys():
        raise CharterError(_("%(pillar)s is not a pillar of this charter.", pillar=pillar), field="pillar")
    themes = list(dict.fromkeys(themes or []))
    unknown = [t for t in themes if t not in charter.theme_keys()]
    if unknown:
        raise CharterError(_("Unknown theme(s): %(themes)s.", themes=", ".join(unknown)), field="themes")
    return themes


def _check_target_date(target_date: date | None) -> None:
    if not bounds.date_in_range(target_date):
        first, last = bounds.DATE_MIN.isoformat(), bounds.DATE_MAX.isoformat()
        raise CharterError(_("Give a date between %(first)s and %(last)s.", first=first, last=last), field="target_date")


def create_commitment(
    actor: Any,
    signature: Signature,
    pillar: str,
    statement: str,
    themes: list[str] | None = None,
    owner_id: int | None = None,
    target_date: date | None = None,
    now: datetime | None = None,
) -> Commitment:
    """Register a draft commitment under a pillar of a live signature; only the organisation's members may."""
    organisation = signature.organisation
    if not is_member(actor, organisation.id):
        raise NotPermitted(_("Only members of the organisation can register its commitments."))
    if signature.withdrawn_at is not None:
        raise CharterError(_("This signature was withdrawn: no commitment can be added under it."))
    charter = get_catalog().get(signature.charter, signature.charter_version)
    themes = _check_commitment_fields(charter, pillar, themes)
    _check_target_date(target_date)
    if owner_id is not None and not is_member(db.session.get(User, owner_id), organisation.id):
        raise CharterError(_("The owner must be a member of the organisation."), field="owner_id")
    pillar_def = charter.item(pillar)
    words = {
        lang: f"{organisation.name}: {charter.title.get(lang) or charter.title['en']} / {pillar_def.code or tr_in(pillar_def.title, lang)}"
        for lang in LANGUAGES
    }
    instance = start_instance(actor, COMMITMENT_WORKFLOW, title=words["en"][:300], subject_kind="commitment", now=now, title_words=words)
    commitment = Commitment(
        organisation=organisation,
        signature=signature,
        instance=instance,
        charter=charter.slug,
        charter_version=charter.version,
        pillar=pillar,
        themes=themes,
        statement=(statement or "").strip(),
        owner_id=owner_id,
        target_date=target_date,
        created_by_id=actor.id,
        created_at=instance.created_at,
    )
    db.session.add(commitment)
    db.session.flush()
    return commitment


# A commitment is edited in these states only: once declared, its statement is attested and stays as declared.
EDITABLE_STATES = ("draft",)


def update_commitment(
    actor: Any, commitment: Commitment, statement: str, themes: list[str] | None, owner_id: int | None, target_date: date | None
) -> Commitment:
    """Edit a draft commitment (once declared, its statement is attested and stays as declared)."""
    if not is_member(actor, commitment.organisation_id):
        raise NotPermitted(_("Only members of the organisation can edit its commitments."))
    if commitment.instance.status not in EDITABLE_STATES:
        raise CharterError(_("Only a draft commitment can be edited: once declared, it stays as declared."))
    charter = get_catalog().get(commitment.charter, commitment.charter_version)
    commitment.themes = _check_commitment_fields(charter, commitment.pillar, themes)
    if owner_id is not None and not is_member(db.session.get(User, owner_id), commitment.organisation_id):
        raise CharterError(_("The owner must be a member of the organisation."), field="owner_id")
    commitment.statement = (statement or "").strip()
    _check_target_date(target_date)
    commitment.owner_id, commitment.target_date = owner_id, target_date
    db.session.flush()
    return commitment


def commitment_for_instance(instance_id: int) -> Commitment | None:
    """The commitment whose lifecycle is instance ``instance_id``."""
    return db.session.scalar(sa.select(Commitment).where(Commitment.instance_id == instance_id))


def organisation_commitments(organisation: Organisation) -> list[Commitment]:
    """The commitments of ``organisation``, newest first."""
    return list(db.session.scalars(sa.select(Commitment).where(Commitment.organisation_id == organisation.id).order_by(Commitment.id.desc())))


# -- evidence ------------------------------------------------------------------------------------------------------
EVIDENCE_STATES = ("draft", "declared", "evidenced", "renewal_due", "renewed", "verified")


def _check_evidence_allowed(actor: Any, commitment: Commitment) -> None:
    if not is_member(actor, commitment.organisation_id):
        raise NotPermitted(_("Only members of the organisation can attach evidence to its commitments."))
    if commitment.instance.status not in EVIDENCE_STATES:
        raise CharterError(_("No evidence can be attached to a commitment in this state."))


def attach_evidence_file(actor: Any, commitment: Commitment, data: bytes, checked: CheckedUpload, description: str | None = None) -> Evidence:
    """Store a content-checked file and attach it to ``commitment``."""
    _check_evidence_allowed(actor, commitment)
    evidence = Evidence(commitment=commitment, kind="file", description=(description or "").strip()[:500] or None, **store_file(actor, data, checked))
    db.session.add(evidence)
    db.session.flush()
    return evidence


def attach_evidence_url(actor: Any, commitment: Commitment, url: str, description: str | None = None) -> Evidence:
    """Attach a web address as evidence."""
    _check_evidence_allowed(actor, commitment)
    url = (url or "").strip()
    if not url.startswith(("http://", "https://")) or len(url) > 2000 or " " in url:
        raise CharterError(_("Evidence must be a web address starting with http:// or https://."), field="url")
    evidence = Evidence(
        commitment=commitment, kind="url", url=url, description=(description or "").strip()[:500] or None, added_by_id=actor.id, added_at=utcnow()
    )
    db.session.add(evidence)
    db.session.flush()
    return evidence


def commitment_evidence(commitment_id: int) -> list[Evidence]:
    """Evidence of a commitment, oldest first."""
    return list(db.session.scalars(sa.select(Evidence).where(Evidence.commitment_id == commitment_id).order_by(Evidence.id)))


# -- self-assessment -----------------------------------------------------------------------------------------------
def submit_self_assessment(actor: Any, signature: Signature, year: int, answers: dict[str, tuple[int | None, bool, str | None]]) -> SelfAssessment:
    """Record the yearly self-assessment of a signature: a level 0–4 per theme, or "not concerned" with a justification."""
    if not is_member(actor, signature.organisation_id):
        raise NotPermitted(_("Only members of the organisation can fill in its self-assessment."))
    if signature.withdrawn_at is not None:
        raise CharterError(_("This signature was withdrawn."))
    this_year = utcnow().year
    if not signature.signed_at.year <= year <= this_year:
        raise CharterError(_("The year must be between the signing year and this year."))
    charter = get_catalog().get(signature.charter, signature.charter_version)
    if not charter.themes:
        raise CharterError(_("This charter has no self-assessment themes."))
    rows = []
    for theme in charter.theme_keys():
        level, not_concerned, justification = answers.get(theme, (None, False, None))
        justification = (justification or "").strip() or None
        if not_concerned:
            if not justification:
                raise CharterError(_("Say why the organisation is not concerned by %(theme)s.", theme=charter.item(theme).title["en"]), field=f"why_{theme}")
            rows.append(SelfAssessmentAnswer(theme=theme, level=None, not_concerned=True, justification=justification))
        elif level is None or not 0 <= level <= 4:
            title = charter.item(theme).title["en"]
            raise CharterError(_("Give a level from 0 to 4 for %(theme)s, or mark it not concerned.", theme=title), field=f"level_{theme}")
        else:
            rows.append(SelfAssessmentAnswer(theme=theme, level=level, not_concerned=False, justification=justification))
    existing = db.session.scalar(sa.select(SelfAssessment).where(SelfAssessment.signature_id == signature.id, SelfAssessment.year == year))
    if existing is not None:
        raise CharterError(_("The %(year)s self-assessment was already submitted.", year=year))
    assessment = SelfAssessment(signature=signature, year=year, submitted_by_id=actor.id, answers=rows)
    with expect_duplicate(SelfAssessment.__table__, {"signature_id", "year"}, _("The %(year)s self-assessment was already submitted.", year=year)):
        db.session.add(assessment)
    return assessment


def signature_assessments(signature: Signature) -> list[SelfAssessment]:
    """A signature's self-assessments, by year."""
    return list(db.session.scalars(sa.select(SelfAssessment).where(SelfAssessment.signature_id == signature.id).order_by(SelfAssessment.year)))
