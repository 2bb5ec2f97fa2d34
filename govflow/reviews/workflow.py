"""What ethics review plugs into the workflow layer: relations, guards, history hooks, and the referral subject."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..engine import SYSTEM
from ..instances.registry import Subject, WorkflowRegistry

DECIDED = {"favourable", "favourable_with_conditions", "changes_requested", "unfavourable"}


def register(registry: WorkflowRegistry) -> None:
    """Register the review relations, guards, hooks and subject."""
    from ..charters.services import is_member, organisation_ids
    from . import ballots, dossier, policies, services
    from .models import CommitteeMember, Recusal, Referral

    def referral_of(instance):
        return services.referral_for_instance(instance.id) if instance.id is not None else None

    def holder(user, instance) -> bool:
        referral = referral_of(instance)
        return referral is not None and is_member(user, referral.organisation_id)

    def officer_of(role):
        def check(user, instance) -> bool:
            referral = referral_of(instance)
            return referral is not None and services.committee_role(user, referral.committee_id) == role and not services.is_recused(user, referral)

        def ids(user):
            today = sa.func.current_date()
            return (
                sa.select(Referral.instance_id)
                .join(CommitteeMember, CommitteeMember.committee_id == Referral.committee_id)
                .where(
                    CommitteeMember.user_id == user.id,
                    CommitteeMember.role == role,
                    CommitteeMember.term_start <= today,
                    sa.or_(CommitteeMember.term_end.is_(None), CommitteeMember.term_end >= today),
                    ~sa.exists().where(Recusal.referral_id == Referral.id, Recusal.user_id == user.id),
                )
            )

        return check, ids

    registry.relation("referral_holder", holder, lambda user: sa.select(Referral.instance_id).where(Referral.organisation_id.in_(organisation_ids(user))))
    registry.relation("referral_secretary", *officer_of("secretary"))
    registry.relation("referral_chair", *officer_of("chair"))

    @registry.guard("dossier_complete")
    def dossier_complete(context):
        version = services.latest_dossier(referral_of(context.instance))
        errors = dossier.validate(version.fields if version else {})
        if errors:
            return _l("Complete the dossier first: %(fields)s.", fields=", ".join(sorted(errors)))
        return None

    @registry.guard("has_rapporteurs")
    def has_rapporteurs(context):
        return None if services.rapporteurs(referral_of(context.instance)) else _l("Assign at least one rapporteur first.")

    @registry.guard("vote_may_close")
    def vote_may_close(context):
        referral = referral_of(context.instance)
        if context.actor is SYSTEM or services.everyone_voted(referral):
            return None
        return _l("The vote closes at its deadline or once every eligible member has voted.")

    def tally_guard(expected):
        def guard(context):
            vote_round = services.current_round(referral_of(context.instance))
            result = (vote_round.tally or {}) if vote_round else {}
            if expected == "new_round":
                ok = result.get("result") in ("new_round", "no_quorum")
            else:
                ok = result.get("result") == "decided" and result.get("decision") == expected
            return None if ok else _l("The tally of the vote does not give this outcome: %(explanation)s", explanation=result.get("explanation", "—"))

        return guard

    for name, expected in (
        ("tally_favourable", "favourable"),
        ("tally_favourable_with_conditions", "favourable_with_conditions"),
        ("tally_changes_requested", "changes_requested"),
        ("tally_unfavourable", "unfavourable"),
        ("tally_calls_new_round", "new_round"),
    ):
        registry.guard(name)(tally_guard(expected))

    @registry.guard("dossier_changed")
    def dossier_changed(context):
        referral = referral_of(context.instance)
        version = services.latest_dossier(referral)
        if version is None or (referral.examined_version or 0) >= version.number:
            return _l("Change the dossier first: the committee examines a new version.")
        return dossier_complete(context)

    @registry.guard("reconsideration_available")
    def reconsideration_available(context):
        return _l("A reconsideration can be requested only once.") if referral_of(context.instance).reconsideration_used else None

    @registry.guard("conditions_resolved")
    def conditions_resolved(context):
        decision = services.latest_decision(referral_of(context.instance))
        if decision is not None and any(c.status == "open" for c in decision.conditions):
            return _l("Every condition must be followed up (met or not met) before closing.")
        return None

    def on_history(instance, row, event) -> None:
        if instance.subject_kind != "referral":
            return
        referral = referral_of(instance)
        if row.to_state == "under_examination":
            referral.examined_version = services.latest_dossier(referral).number
            services.refresh_recusals(referral)
        if event is not None and event.trigger == "request_reconsideration":
            referral.reconsideration_used = True
        if row.to_state == "vote_open":
            services.refresh_recusals(referral)
            services.open_round(referral, instance.due_at, row.at)
        if row.to_state == "vote_closed":
            services.close_round(referral, row.at)
        if row.to_state in DECIDED and event is not None:
            services.db.session.flush()
            services.record_decision(referral, row, row.to_state, event.inputs.get("rationale", ""), event.inputs.get("conditions"))

    registry.on_history(on_history)

    def claims(instance):
        referral = referral_of(instance)
        org = referral.organisation
        out = {
            "organisation": {"name": org.name, "kind": org.kind, "country": org.country, "identifier": org.identifier},
            "committee": referral.committee.name,
            "project": referral.title,
        }
        decision_round = services.current_round(referral)
        if instance.status in DECIDED and decision_round is not None:
            out["tally"] = {k: decision_round.tally[k] for k in ("eligible", "voted", "cast", "counts")}
            out["recused"] = len(services.recusals(referral))
            leaf = ballots.tally_leaf(decision_round)
            if leaf is not None:
                # Binds the signed decision to the sealed ballots it was made of (opened once the decision is published).
                out["tallyLeaf"] = leaf.hex()
        return out

    def load(instance):
        referral = referral_of(instance)
        return {"referral": referral}

    def can_view(user, instance) -> bool:
        referral = referral_of(instance)
        return referral is not None and policies.can_see_referral(user, referral)

    def is_public(instance) -> bool:
        decision = services.latest_decision(referral_of(instance))
        return decision is not None and decision.published

    # A draft is its authors' alone: not even administrators open it (``private_when``).
    registry.subject(
        Subject("referral", "reviews/_referral_panel.html", load, can_view, claims, is_public, private_when=lambda instance: instance.status == "draft")
    )
    registry.inbox_section("reviews/_inbox.html", services.inbox)
    ballots.register_sources(registry)
