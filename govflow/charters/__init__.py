"""Charters: organisations, their members and commitments, and what they plug into the workflow layer."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..instances.registry import Subject, WorkflowRegistry


def register(registry: WorkflowRegistry) -> None:
    """Register the charter relations, guards and subjects with the workflow layer."""
    from . import services
    from .models import Commitment

    def commitment_of(instance):
        return services.commitment_for_instance(instance.id) if instance.id is not None else None

    def org_member(user, instance) -> bool:
        commitment = commitment_of(instance)
        return commitment is not None and services.is_member(user, commitment.organisation_id)

    def org_member_instances(user):
        import sqlalchemy as sa

        return sa.select(Commitment.instance_id).where(Commitment.organisation_id.in_(services.organisation_ids(user)))

    registry.relation("org_member", org_member, org_member_instances)

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

    def load(instance):
        return {"commitment": commitment_of(instance)}

    def claims(instance):
        commitment = commitment_of(instance)
        org = commitment.organisation
        return {
            "organisation": {"name": org.name, "kind": org.kind, "country": org.country, "identifier": org.identifier},
            "charter": commitment.charter,
            "pillar": commitment.pillar,
            "statement": commitment.statement,
        }

    def is_public(instance):
        # A commitment is public once declared: the register shows who committed to what, and who withdrew.
        return instance.status != "draft"

    registry.subject(Subject("commitment", "charters/_commitment_panel.html", load, org_member, claims, is_public))
