"""What charters lend the workflow layer (``workflows/commitment.yaml``, ``workflows/signature.yaml``): relations,
guards, effects and subjects, each a top-level function found by the name the YAML gives it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..instances.models import InstanceHistory
from ..instances.registry import Act, InboxLink, Plugin, Subject, cached
from ..organisations import services as organisations
from ..organisations.models import MemberRole
from . import policies, services
from .models import Commitment, Evidence, Signature

plugin = Plugin("charters")


def commitment_of(instance: Any) -> Commitment | None:
    """The commitment an instance is the lifecycle of (loaded once per instance object)."""
    if instance.id is None:
        return None
    return cached(instance, "commitment", lambda: services.commitment_for_instance(instance.id))


def signature_of(instance: Any) -> Signature | None:
    """The signature an instance is the lifecycle of (loaded once per instance object)."""
    if instance.id is None:
        return None
    return cached(instance, "signature", lambda: services.signature_for_instance(instance.id))


# -- relations ---------------------------------------------------------------------------------------------------
@plugin.relation("org_member", lambda user: sa.select(Commitment.instance_id).where(Commitment.organisation_id.in_(organisations.organisation_ids(user))))
def org_member(user: Any, instance: Any) -> bool:
    """A member of the organisation that made the commitment."""
    commitment = commitment_of(instance)
    return commitment is not None and organisations.is_member(user, commitment.organisation_id)


@plugin.relation(
    "org_officer",
    lambda user: sa.select(Signature.instance_id).where(Signature.organisation_id.in_(organisations.organisation_ids(user, MemberRole.OFFICER.value))),
)
def org_officer(user: Any, instance: Any) -> bool:
    """An officer of the organisation that signed."""
    signature = signature_of(instance)
    return signature is not None and organisations.is_officer(user, signature.organisation_id)


# -- guards ------------------------------------------------------------------------------------------------------
@plugin.guard("has_statement")
def has_statement(context: Any) -> Any:
    """The commitment says what the organisation commits to (20 characters at least)."""
    commitment = commitment_of(context.instance)
    if commitment is None or len(commitment.statement.strip()) < 20:
        return _l("Write the commitment's statement (at least 20 characters) before declaring it.")
    return None


@plugin.guard("independent_of_organisation")
def independent_of_organisation(context: Any) -> Any:
    """Whoever checks a commitment does not belong to the organisation that made it."""
    commitment = commitment_of(context.instance)
    if commitment is not None and organisations.is_member(context.actor, commitment.organisation_id):
        return _l("You belong to this organisation: its commitments must be checked by someone independent of it.")
    return None


def _has_evidence(instance: Any, since: Any = None) -> bool:
    commitment = commitment_of(instance)
    if commitment is None:
        return False
    query = sa.select(sa.func.count()).select_from(Evidence).where(Evidence.commitment_id == commitment.id)
    if since is not None:
        query = query.where(Evidence.added_at >= since)
    return db.session.scalar(query) > 0


@plugin.guard("has_evidence")
def has_evidence(context: Any) -> Any:
    """Evidence is attached, or a web address is given with the step."""
    if context.inputs.get("evidence_url") or _has_evidence(context.instance):
        return None
    return _l("Attach evidence (a file or a web address) before submitting it for verification.")


@plugin.guard("has_fresh_evidence")
def has_fresh_evidence(context: Any) -> Any:
    """Evidence added since the renewal fell due, or a web address given with the step."""
    due_since = db.session.scalar(
        sa.select(sa.func.max(InstanceHistory.at)).where(InstanceHistory.instance_id == context.instance.id, InstanceHistory.to_state == "renewal_due")
    )
    if context.inputs.get("evidence_url") or _has_evidence(context.instance, since=due_since):
        return None
    return _l("Attach evidence from this year (a file or a web address) to renew the commitment.")


# -- effects -----------------------------------------------------------------------------------------------------
@plugin.effect("record_evidence_url")
def record_evidence_url(act: Act) -> None:
    """A web address given with the step becomes evidence of the commitment (once)."""
    url = act.inputs.get("evidence_url")
    commitment = commitment_of(act.instance) if url else None
    if commitment is None:
        return
    exists = db.session.scalar(sa.select(sa.func.count()).select_from(Evidence).where(Evidence.commitment_id == commitment.id, Evidence.url == url))
    if not exists:
        db.session.add(Evidence(commitment=commitment, kind="url", url=url, added_by_id=act.actor.id, added_at=act.at))


# -- subjects ----------------------------------------------------------------------------------------------------
def _organisation_claims(org: Any) -> dict:
    return {"name": org.name, "kind": org.kind, "country": org.country, "identifier": org.identifier}


def commitment_claims(instance: Any) -> dict:
    """What a commitment's attestation says: who committed to what, under which charter, with which evidence files."""
    commitment = commitment_of(instance)
    files = db.session.scalars(sa.select(Evidence).where(Evidence.commitment_id == commitment.id, Evidence.kind == "file").order_by(Evidence.id)).all()
    claims = {
        "organisation": _organisation_claims(commitment.organisation),
        "charter": commitment.charter,
        "charterVersion": commitment.charter_version,
        "pillar": commitment.pillar,
        "themes": list(commitment.themes or []),
        "statement": commitment.statement,
    }
    if files:
        claims["evidence"] = [{"name": e.original_name, "mediaType": e.mime, "digestSHA256": e.sha256} for e in files]
    return claims


def signature_claims(instance: Any) -> dict:
    """What a signature's attestation says: who signed which charter version, accepting which pillars."""
    signature = signature_of(instance)
    return {
        "organisation": _organisation_claims(signature.organisation),
        "charter": signature.charter,
        "charterVersion": signature.charter_version,
        "acceptedPillars": list(signature.accepted_pillars),
    }


def load_commitment(instance: Any) -> dict:
    commitment = commitment_of(instance)
    return {"commitment": commitment, "evidence": services.commitment_evidence(commitment.id) if commitment else []}


def commitment_panel(actor: Any, instance: Any) -> dict:
    """What the commitment's panel offers ``actor``: ``can.edit_commitment``, ``can.attach_evidence``."""
    return {"can": policies.commitment_permissions(actor, commitment_of(instance))}


def commitment_inbox_links(actor: Any, instance: Any) -> list[InboxLink]:
    """What the inbox offers a signatory on a draft commitment: describe it (its edit page), then declare it (its page,
    where the declaration is taken, or where it says what is still missing)."""
    commitment = commitment_of(instance)
    if commitment is None or not policies.commitment_permissions(actor, commitment).edit_commitment:
        return []
    return [
        InboxLink(_("Describe the commitment"), url_for("charters.edit_commitment", commitment_id=commitment.id)),
        InboxLink(_("Declare it"), url_for("instances.show", instance_id=instance.id, _anchor="step-declare"), trigger="declare"),
    ]


def load_signature(instance: Any) -> dict:
    signature = signature_of(instance)
    return {"signature": signature, "commitments": services.signature_commitments(signature) if signature else []}


def signature_member(user: Any, instance: Any) -> bool:
    """A member of the organisation that signed."""
    signature = signature_of(instance)
    return signature is not None and organisations.is_member(user, signature.organisation_id)


plugin.inbox_section("charters/_invitations.html", lambda user: {"invitations": organisations.pending_invitations(user)})
# Public once declared (commitments) or signed (signatures): the register shows who committed to what, and who withdrew.
plugin.subject(
    Subject(
        "commitment",
        "charters/_commitment_panel.html",
        load_commitment,
        org_member,
        commitment_claims,
        lambda instance: instance.status != "draft",
        # A draft is the organisation's own until declared: reviewers and administrators see it once declared.
        private_when=lambda instance: instance.status == "draft",
        model=Commitment,
        panel=commitment_panel,
        inbox_links=commitment_inbox_links,
    )
)
plugin.subject(
    Subject(
        "signature",
        "charters/_signature_panel.html",
        load_signature,
        signature_member,
        signature_claims,
        lambda instance: instance.status != "pending",
        model=Signature,
    )
)
