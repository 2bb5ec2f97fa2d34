"""A small vocabulary and registry for engine tests (no Flask, no database)."""

from __future__ import annotations

from types import SimpleNamespace

from govflow.engine import Engine, InputSpec, Registry, Vocabulary

ROLES = {
    "signatory",
    "reviewer",
    "admin",
    "org_member",
    "org_officer",
    "referral_holder",
    "referral_secretary",
    "referral_chair",
    "applicant_team",
    "sandbox_manager",
}
REVIEW_GUARDS = (
    "dossier_complete",
    "has_rapporteurs",
    "vote_may_close",
    "tally_favourable",
    "tally_favourable_with_conditions",
    "tally_changes_requested",
    "tally_unfavourable",
    "tally_calls_new_round",
    "dossier_changed",
    "reconsideration_available",
    "conditions_resolved",
)
SANDBOX_GUARDS = (
    "call_open",
    "application_complete",
    "audition_date_set",
    "scored",
    "cohort_has_room",
    "roadmap_planned",
    "roadmap_settled",
    "synthesis_published",
    "support_running",
    "deliverable_attached",
)
EFFECTS = (
    "record_evidence_url",
    "mark_examined_version",
    "refresh_recusals",
    "use_reconsideration",
    "open_vote_round",
    "close_vote_round",
    "record_decision",
    "stamp_submission",
    "refresh_exclusions",
    "stamp_selection",
    "create_roadmap_axes",
    "cancel_open_milestones",
    "stamp_acceptance",
)
INPUTS = {
    "comment": InputSpec("comment"),
    "reason": InputSpec("reason"),
    "rationale": InputSpec("rationale"),
    "conditions": InputSpec("conditions"),
    "evidence_url": InputSpec("evidence_url", "url", 2000),
}


def vocabulary(guards=("has_statement", "independent_of_organisation", "has_evidence", "has_fresh_evidence", *REVIEW_GUARDS, *SANDBOX_GUARDS)) -> Vocabulary:
    """The names test definitions may use."""
    return Vocabulary(set(ROLES), set(guards), dict(INPUTS), set(EFFECTS))


class Item(SimpleNamespace):
    """An in-memory instance (what a database row is to the engine)."""

    def __init__(self):
        super().__init__(workflow=None, definition_version=None, status=None, due_at=None, due_trigger=None)


class Person(SimpleNamespace):
    """An actor holding global roles and belonging to organisations."""

    def __init__(self, id, roles=(), orgs=()):
        super().__init__(id=id, roles=set(roles), orgs=set(orgs), label=f"person {id}", is_authenticated=True)


def make_engine(guards=None, org_of=lambda item: getattr(item, "org", None)) -> Engine:
    """An engine with role checks: global roles, and org_member as a relation through ``item.org``."""

    def has_role(actor, role, item):
        if role == "org_member":
            return org_of(item) in actor.orgs
        return role in actor.roles

    guards = (
        guards
        if guards is not None
        else {
            "has_statement": lambda ctx: None if getattr(ctx.instance, "statement", "") else "the statement is empty",
            "independent_of_organisation": lambda ctx: "you belong to this organisation" if getattr(ctx.instance, "org", None) in ctx.actor.orgs else None,
            "has_evidence": lambda ctx: None if ctx.inputs.get("evidence_url") or getattr(ctx.instance, "evidence", False) else "no evidence",
            "has_fresh_evidence": lambda ctx: None if ctx.inputs.get("evidence_url") else "no fresh evidence",
            **{name: (lambda ctx: None) for name in REVIEW_GUARDS + SANDBOX_GUARDS},
        }
    )
    return Engine(
        Registry(
            roles=set(ROLES) | {"committee_member", "programme_manager"},
            guards=guards,
            inputs=dict(INPUTS),
            has_role=has_role,
            effects={name: None for name in EFFECTS},
        )
    )
