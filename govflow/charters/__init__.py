"""Charters: organisations, signatures, commitments, evidence, self-assessments, and what they plug into the workflow layer."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..instances.registry import Subject, WorkflowRegistry


def register(registry: WorkflowRegistry) -> None:
    """Register the charter relations, guards, history hook and subjects with the workflow layer."""
    from . import services
    from .models import Commitment, Evidence, MemberRole, Signature

    def commitment_of(instance):
        return services.commitment_for_instance(instance.id) if instance.id is not None else None

    def signature_of(instance):
        return services.signature_for_instance(instance.id) if instance.id is not None else None

    def org_member(user, instance) -> bool:
        commitment = commitment_of(instance)
        return commitment is not None and services.is_member(user, commitment.organisation_id)

    def org_officer(user, instance) -> bool:
        signature = signature_of(instance)
        return signature is not None and services.is_officer(user, signature.organisation_id)

    registry.relation(
        "org_member",
        org_member,
        lambda user: sa.select(Commitment.instance_id).where(Commitment.organisation_id.in_(services.organisation_ids(user))),
    )
    registry.relation(
        "org_officer",
        org_officer,
        lambda user: sa.select(Signature.instance_id).where(Signature.organisation_id.in_(services.organisation_ids(user, MemberRole.OFFICER.value))),
    )

    @registry.guard("has_statement")
    def has_statement(context):
        commitment = commitment_of(context.instance)
        if commitment is None or len(commitment.statement.strip()) < 20:
            return _l("Write the commitment's statement (at least 20 characters) before declaring it.")
        return None

    @registry.guard("independent_of_organisation")
    def independent_of_organisation(context):
        commitment = commitment_of(context.instance)
        if commitment is not None and services.is_member(context.actor, commitment.organisation_id):
            return _l("You belong to this organisation: its commitments must be checked by someone independent of it.")
        return None

    def _has_evidence(instance, since=None) -> bool:
        commitment = commitment_of(instance)
        if commitment is None:
            return False
        query = sa.select(sa.func.count()).select_from(Evidence).where(Evidence.commitment_id == commitment.id)
        if since is not None:
            query = query.where(Evidence.added_at >= since)
        return services.db.session.scalar(query) > 0

    @registry.guard("has_evidence")
    def has_evidence(context):
        if context.inputs.get("evidence_url") or _has_evidence(context.instance):
            return None
        return _l("Attach evidence (a file or a web address) before submitting it for verification.")

    @registry.guard("has_fresh_evidence")
    def has_fresh_evidence(context):
        from ..instances.models import InstanceHistory

        due_since = services.db.session.scalar(
            sa.select(sa.func.max(InstanceHistory.at)).where(InstanceHistory.instance_id == context.instance.id, InstanceHistory.to_state == "renewal_due")
        )
        if context.inputs.get("evidence_url") or _has_evidence(context.instance, since=due_since):
            return None
        return _l("Attach evidence from this year (a file or a web address) to renew the commitment.")

    def record_evidence_input(instance, row, event) -> None:
        """A web address given with a step becomes evidence of the commitment (once)."""
        url = event.inputs.get("evidence_url") if event is not None else None
        commitment = commitment_of(instance) if url and instance.subject_kind == "commitment" else None
        if commitment is None:
            return
        exists = services.db.session.scalar(
            sa.select(sa.func.count()).select_from(Evidence).where(Evidence.commitment_id == commitment.id, Evidence.url == url)
        )
        if not exists:
            services.db.session.add(Evidence(commitment=commitment, kind="url", url=url, added_by_id=event.actor.id, added_at=event.at))

    registry.on_history(record_evidence_input)

    def commitment_claims(instance):
        commitment = commitment_of(instance)
        org = commitment.organisation
        files = services.db.session.scalars(
            sa.select(Evidence).where(Evidence.commitment_id == commitment.id, Evidence.kind == "file").order_by(Evidence.id)
        ).all()
        claims = {
            "organisation": {"name": org.name, "kind": org.kind, "country": org.country, "identifier": org.identifier},
            "charter": commitment.charter,
            "charterVersion": commitment.charter_version,
            "pillar": commitment.pillar,
            "themes": list(commitment.themes or []),
            "statement": commitment.statement,
        }
        if files:
            claims["evidence"] = [{"name": e.original_name, "mediaType": e.mime, "digestSHA256": e.sha256} for e in files]
        return claims

    def signature_claims(instance):
        signature = signature_of(instance)
        org = signature.organisation
        return {
            "organisation": {"name": org.name, "kind": org.kind, "country": org.country, "identifier": org.identifier},
            "charter": signature.charter,
            "charterVersion": signature.charter_version,
            "acceptedPillars": list(signature.accepted_pillars),
        }

    def load_commitment(instance):
        commitment = commitment_of(instance)
        return {"commitment": commitment, "evidence": services.commitment_evidence(commitment.id) if commitment else []}

    def load_signature(instance):
        signature = signature_of(instance)
        return {"signature": signature, "commitments": services.signature_commitments(signature) if signature else []}

    def signature_member(user, instance) -> bool:
        signature = signature_of(instance)
        return signature is not None and services.is_member(user, signature.organisation_id)

    registry.inbox_section("charters/_invitations.html", lambda user: {"invitations": services.pending_invitations(user)})

    # Public once declared (commitments) or signed (signatures): the register shows who committed to what, and who withdrew.
    registry.subject(
        Subject(
            "commitment",
            "charters/_commitment_panel.html",
            load_commitment,
            org_member,
            commitment_claims,
            lambda instance: instance.status != "draft",
            # A draft is the organisation's own until declared: reviewers and administrators see it once declared.
            private_when=lambda instance: instance.status == "draft",
        )
    )
    registry.subject(
        Subject(
            "signature", "charters/_signature_panel.html", load_signature, signature_member, signature_claims, lambda instance: instance.status != "pending"
        )
    )
