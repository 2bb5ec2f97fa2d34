"""Services for organisations, signatures, commitments, evidence and self-assessments.

They take the actor explicitly, flush, and never commit. Refusals raise CharterError (422), NotPermitted (403)
or AlreadySigned (409) with a sentence a person understands.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from .. import bounds
from ..accounts.models import User
from ..accounts.services import EMAIL_RE
from ..engine import EngineError, NotPermitted, utcnow
from ..extensions import db, lock_row
from ..instances.services import fire_transition, get_engine, start_instance
from ..memo import remember, remember_by
from .catalog import ensure_charter_registered, get_catalog
from .definitions import CharterDef
from .models import (
    Commitment,
    Evidence,
    Invitation,
    MemberRole,
    Membership,
    Organisation,
    OrganisationKind,
    SelfAssessment,
    SelfAssessmentAnswer,
    Signature,
)
from .uploads import CheckedUpload, store

COMMITMENT_WORKFLOW = "commitment"
SIGNATURE_WORKFLOW = "charter_signature"


class CharterConflict(EngineError):
    """A charter act that conflicts with the current state (answered twice, expired): 409."""

    status = 409


class NotFound(EngineError):
    """Something the actor asked for that does not exist for them: 404."""

    status = 404


class CharterError(ValueError):
    """Input refused by a charter service; the message says why."""

    status = 422


class AlreadySigned(EngineError):
    """The organisation already signed this charter version."""

    status = 409


# -- organisations and members -------------------------------------------------------------------------------
def _clean_org_fields(name: str, kind: str, country: str, identifier: str | None, website: str | None) -> dict:
    name = (name or "").strip()
    if not name:
        raise CharterError(_("An organisation needs a name."))
    if kind not in {k.value for k in OrganisationKind}:
        raise CharterError(_("Unknown organisation kind: %(kind)s.", kind=kind))
    country = (country or "").strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise CharterError(_("The country is a two-letter code such as FR."))
    website = (website or "").strip() or None
    if website and not website.startswith(("http://", "https://")):
        raise CharterError(_("The website must start with http:// or https://."))
    return {"name": name, "kind": kind, "country": country, "identifier": (identifier or "").strip() or None, "website": website}


def create_organisation(
    name: str, kind: str, country: str = "FR", identifier: str | None = None, website: str | None = None, founder: Any | None = None
) -> Organisation:
    """Create an organisation; its founder (if given) becomes an officer. Raise CharterError on bad input or a taken name."""
    fields = _clean_org_fields(name, kind, country, identifier, website)
    if db.session.scalar(sa.select(Organisation.id).where(sa.func.lower(Organisation.name) == fields["name"].lower())) is not None:
        raise CharterError(_("An organisation named %(name)s already exists.", name=fields["name"]))
    org = Organisation(**fields)
    db.session.add(org)
    db.session.flush()
    if founder is not None:
        add_member(org, founder, MemberRole.OFFICER.value)
    return org


def update_organisation(actor: Any, org: Organisation, **fields: Any) -> Organisation:
    """Edit an organisation's details (officers and administrators)."""
    if not can_manage_organisation(actor, org):
        raise NotPermitted(_("Only the organisation's officers can edit it."))
    clean = _clean_org_fields(fields["name"], fields["kind"], fields["country"], fields.get("identifier"), fields.get("website"))
    taken = db.session.scalar(sa.select(Organisation.id).where(sa.func.lower(Organisation.name) == clean["name"].lower(), Organisation.id != org.id))
    if taken is not None:
        raise CharterError(_("An organisation named %(name)s already exists.", name=clean["name"]))
    for key, value in clean.items():
        setattr(org, key, value)
    db.session.flush()
    return org


def add_member(organisation: Organisation, user: Any, role: str) -> Membership:
    """Make ``user`` a member of ``organisation`` with ``role`` (officer or contributor)."""
    if role not in {r.value for r in MemberRole}:
        raise CharterError(_("Unknown member role: %(role)s.", role=role))
    if member_role(user, organisation.id) is not None:
        raise CharterError(_("%(name)s is already a member.", name=user.name))
    membership = Membership(organisation=organisation, user=user, role=role)
    db.session.add(membership)
    db.session.flush()
    return membership


INVITATION_DAYS = 30


def invite_member(actor: Any, organisation: Organisation, email: str, role: str, now: datetime | None = None) -> Invitation:
    """An officer invites the person with ``email`` to join as ``role``; they become a member only once they accept.

    The answer is the same whether or not anyone has an account with that address: nothing is learnt of others'
    accounts. Inviting again renews the pending invitation.
    """
    if not can_manage_organisation(actor, organisation):
        raise NotPermitted(_("Only the organisation's officers can invite members."))
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email):
        raise CharterError(_("Give an e-mail address."))
    if role not in {r.value for r in MemberRole}:
        raise CharterError(_("Unknown member role: %(role)s.", role=role))
    now = now or utcnow()
    pending = db.session.scalar(
        sa.select(Invitation).where(Invitation.organisation_id == organisation.id, Invitation.email == email, Invitation.answered_at.is_(None))
    )
    if pending is None:
        pending = Invitation(organisation_id=organisation.id, email=email, invited_by_id=actor.id, created_at=now)
        db.session.add(pending)
    pending.role, pending.expires_at = role, now + timedelta(days=INVITATION_DAYS)
    db.session.flush()
    return pending


def _actor_ok(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and getattr(user, "id", None) is not None


def pending_invitations(user: Any, now: datetime | None = None) -> list[Invitation]:
    """The invitations waiting for ``user`` (sent to their address, unanswered, not expired)."""
    if not _actor_ok(user):
        return []
    now = now or utcnow()
    return list(
        db.session.scalars(
            sa.select(Invitation).where(Invitation.email == user.email, Invitation.answered_at.is_(None), Invitation.expires_at > now).order_by(Invitation.id)
        )
    )


def organisation_invitations(organisation: Organisation, now: datetime | None = None) -> list[Invitation]:
    """The organisation's invitations still waiting for an answer (for its officers)."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            sa.select(Invitation)
            .where(Invitation.organisation_id == organisation.id, Invitation.answered_at.is_(None), Invitation.expires_at > now)
            .order_by(Invitation.id)
        )
    )


def answer_invitation(actor: Any, invitation_id: int, accept: bool, now: datetime | None = None) -> Invitation:
    """The invited person accepts (and becomes a member) or declines; only the person the address belongs to may.

    The invitation's row is locked first, so two answers at once give one membership and a 409, never a duplicate.
    """
    invitation = lock_row(Invitation, invitation_id)
    now = now or utcnow()
    if invitation is None or not _actor_ok(actor) or invitation.email != actor.email:
        raise NotFound(_("There is no such invitation for you."))
    if invitation.answered_at is not None:
        raise CharterConflict(_("You have already answered this invitation."))
    if invitation.expires_at <= now:
        raise CharterConflict(_("This invitation has expired: ask the organisation's officers to invite you again."))
    invitation.answered_at, invitation.accepted = now, accept
    if accept and member_role(actor, invitation.organisation_id) is None:
        add_member(invitation.organisation, actor, invitation.role)
    db.session.flush()
    return invitation


def change_member_role(actor: Any, organisation: Organisation, user_id: int, role: str | None) -> None:
    """Change a member's role, or remove them (role None); the last officer cannot be removed or demoted."""
    if not can_manage_organisation(actor, organisation):
        raise NotPermitted(_("Only the organisation's officers can manage its members."))
    membership = db.session.get(Membership, (user_id, organisation.id))
    if membership is None:
        raise CharterError(_("This person is not a member."))
    if role is not None and role not in {r.value for r in MemberRole}:
        raise CharterError(_("Unknown member role: %(role)s.", role=role))
    if membership.role == MemberRole.OFFICER.value and role != MemberRole.OFFICER.value:
        officers = db.session.scalar(
            sa.select(sa.func.count()).select_from(Membership).where(Membership.organisation_id == organisation.id, Membership.role == MemberRole.OFFICER.value)
        )
        if officers <= 1:
            raise CharterError(_("An organisation keeps at least one officer: appoint another one first."))
    if role is None:
        db.session.delete(membership)
    else:
        membership.role = role
    db.session.flush()


def organisation_ids(user: Any, role: str | None = None) -> sa.Select:
    """SQL selectable of the ids of the organisations ``user`` belongs to (with ``role`` if given)."""
    query = sa.select(Membership.organisation_id).where(Membership.user_id == user.id)
    return query.where(Membership.role == role) if role else query


def user_organisations(user: Any) -> list[Organisation]:
    """The organisations ``user`` belongs to, by name."""
    return list(db.session.scalars(sa.select(Organisation).where(Organisation.id.in_(organisation_ids(user))).order_by(Organisation.name)))


def member_role(user: Any, organisation_id: int) -> str | None:
    """``user``'s role in the organisation, or None."""
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "id", None) is None:
        return None
    return memberships_of([user.id])[user.id].get(organisation_id)


def memberships_of(user_ids: Iterable[int]) -> dict[int, dict[int, str]]:
    """User id -> (organisation id -> role) of their memberships: one query per transaction for all the people asked
    about, however often they are asked."""
    return remember_by(
        "memberships",
        (Membership,),
        user_ids,
        lambda ids: sa.select(Membership.user_id, Membership.organisation_id, Membership.role).where(Membership.user_id.in_(ids)),
        dict,
    )


def is_member(user: Any, organisation_id: int) -> bool:
    """Whether ``user`` is a member (officer or contributor) of the organisation."""
    return member_role(user, organisation_id) is not None


def is_officer(user: Any, organisation_id: int) -> bool:
    """Whether ``user`` may sign on behalf of the organisation."""
    return member_role(user, organisation_id) == MemberRole.OFFICER.value


def can_manage_organisation(user: Any, organisation: Organisation) -> bool:
    """Officers and administrators edit an organisation and its members."""
    return is_officer(user, organisation.id) or bool(getattr(user, "is_authenticated", False) and user.has_role("admin"))


def members(organisation: Organisation) -> list[Membership]:
    """The members of an organisation with their users, officers first."""
    return remember(
        ("members", organisation.id),
        (Membership,),
        lambda: list(
            db.session.scalars(
                sa.select(Membership)
                .where(Membership.organisation_id == organisation.id)
                .options(sa.orm.joinedload(Membership.user).lazyload(User.role_rows))
                .order_by(Membership.role.desc(), Membership.joined_at)
            )
        ),
    )


# -- signatures ------------------------------------------------------------------------------------------------
def live_signature(organisation_id: int, slug: str, version: int) -> Signature | None:
    """The organisation's signature of this charter version that is not withdrawn, or None."""
    return db.session.scalar(
        sa.select(Signature).where(
            Signature.organisation_id == organisation_id, Signature.charter == slug, Signature.charter_version == version, Signature.withdrawn_at.is_(None)
        )
    )


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
    title = f"{organisation.name}: {charter.title['en']} (v{charter.version})"
    instance = start_instance(actor, SIGNATURE_WORKFLOW, title=title[:300], subject_kind="signature", now=now)
    signature = Signature(
        organisation=organisation,
        charter=charter.slug,
        charter_version=charter.version,
        instance=instance,
        accepted_pillars=[p.key for p in charter.pillars],
        signed_by_id=actor.id,
        signed_at=now or utcnow(),
    )
    db.session.add(signature)
    db.session.flush()
    fire_transition(actor, instance, "sign", {}, now=now)
    signature.signed_at = instance.updated_at
    for pillar in charter.pillars:
        create_commitment(actor, signature, pillar.key, "", now=now)
    return signature


def withdraw_signature(actor: Any, signature: Signature, reason: str) -> Signature:
    """Withdraw from a charter, publicly and with a reason; its attestation and its commitments' are revoked."""
    reason = (reason or "").strip()
    if not reason:
        raise CharterError(_("Say why the organisation withdraws: the reason is public."))
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
        raise CharterError(_("%(pillar)s is not a pillar of this charter.", pillar=pillar))
    themes = list(dict.fromkeys(themes or []))
    unknown = [t for t in themes if t not in charter.theme_keys()]
    if unknown:
        raise CharterError(_("Unknown theme(s): %(themes)s.", themes=", ".join(unknown)))
    return themes


def _check_target_date(target_date: date | None) -> None:
    if not bounds.date_in_range(target_date):
        raise CharterError(_("Give a date between %(first)s and %(last)s.", first=bounds.DATE_MIN.isoformat(), last=bounds.DATE_MAX.isoformat()))


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
    if owner_id is not None and not is_member(db.session.get(_user_model(), owner_id), organisation.id):
        raise CharterError(_("The owner must be a member of the organisation."))
    pillar_def = charter.item(pillar)
    title = f"{organisation.name}: {charter.title['en']} / {pillar_def.code or pillar_def.title['en']}"
    instance = start_instance(actor, COMMITMENT_WORKFLOW, title=title[:300], subject_kind="commitment", now=now)
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


def _user_model():
    from ..accounts.models import User

    return User


def update_commitment(
    actor: Any, commitment: Commitment, statement: str, themes: list[str] | None, owner_id: int | None, target_date: date | None
) -> Commitment:
    """Edit a draft commitment (once declared, its statement is attested and stays as declared)."""
    if not is_member(actor, commitment.organisation_id):
        raise NotPermitted(_("Only members of the organisation can edit its commitments."))
    if commitment.instance.status != "draft":
        raise CharterError(_("Only a draft commitment can be edited: once declared, it stays as declared."))
    charter = get_catalog().get(commitment.charter, commitment.charter_version)
    commitment.themes = _check_commitment_fields(charter, commitment.pillar, themes)
    if owner_id is not None and not is_member(db.session.get(_user_model(), owner_id), commitment.organisation_id):
        raise CharterError(_("The owner must be a member of the organisation."))
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


def evidence_root() -> Path:
    """Where evidence files are stored (content-addressed)."""
    return Path(current_app.config.get("GOVFLOW_EVIDENCE_DIR") or Path(current_app.instance_path) / "evidence")


def store_file(actor: Any, data: bytes, checked: CheckedUpload, now: datetime | None = None) -> dict[str, Any]:
    """Store a content-checked upload under its content address; return the columns of a file row (``StoredFile``)."""
    path = store(evidence_root(), data, checked)
    return {
        "sha256": checked.sha256,
        "size": checked.size,
        "mime": checked.mime,
        "original_name": checked.original_name,
        "storage_name": str(path.relative_to(evidence_root())),
        "added_by_id": actor.id,
        "added_at": now or utcnow(),
    }


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
        raise CharterError(_("Evidence must be a web address starting with http:// or https://."))
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
                raise CharterError(_("Say why the organisation is not concerned by %(theme)s.", theme=charter.item(theme).title["en"]))
            rows.append(SelfAssessmentAnswer(theme=theme, level=None, not_concerned=True, justification=justification))
        elif level is None or not 0 <= level <= 4:
            raise CharterError(_("Give a level from 0 to 4 for %(theme)s, or mark it not concerned.", theme=charter.item(theme).title["en"]))
        else:
            rows.append(SelfAssessmentAnswer(theme=theme, level=level, not_concerned=False, justification=justification))
    existing = db.session.scalar(sa.select(SelfAssessment).where(SelfAssessment.signature_id == signature.id, SelfAssessment.year == year))
    if existing is not None:
        raise CharterError(_("The %(year)s self-assessment was already submitted.", year=year))
    assessment = SelfAssessment(signature=signature, year=year, submitted_by_id=actor.id, answers=rows)
    db.session.add(assessment)
    db.session.flush()
    return assessment


def signature_assessments(signature: Signature) -> list[SelfAssessment]:
    """A signature's self-assessments, by year."""
    return list(db.session.scalars(sa.select(SelfAssessment).where(SelfAssessment.signature_id == signature.id).order_by(SelfAssessment.year)))
