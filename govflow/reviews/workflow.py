"""What ethics review lends the workflow layer (``workflows/referral.yaml``): relations, guards, effects and the
referral subject, each a top-level function found by the name the YAML gives it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from ..charters.catalog import get_catalog
from ..engine import SYSTEM
from ..extensions import db
from ..i18n import tr
from ..instances.registry import Act, Plugin, Subject, cached
from ..organisations.services import is_member, organisation_ids
from . import ballots, dossier, policies, services
from .models import CommitteeMember, Recusal, Referral
from .wording import tally_explanation

DECIDED = {"favourable", "favourable_with_conditions", "changes_requested", "unfavourable"}

plugin = Plugin("reviews")


def referral_of(instance: Any) -> Referral | None:
    """The referral an instance is the lifecycle of (loaded once per instance object)."""
    if instance.id is None:
        return None
    return cached(instance, "referral", lambda: services.referral_for_instance(instance.id))


# -- relations ---------------------------------------------------------------------------------------------------
@plugin.relation("referral_holder", lambda user: sa.select(Referral.instance_id).where(Referral.organisation_id.in_(organisation_ids(user))))
def referral_holder(user: Any, instance: Any) -> bool:
    """A member of the organisation that referred the project."""
    referral = referral_of(instance)
    return referral is not None and is_member(user, referral.organisation_id)


def _officer_ids(role: str):
    def ids(user: Any) -> sa.Select:
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

    return ids


def _is_officer(user: Any, instance: Any, role: str) -> bool:
    referral = referral_of(instance)
    return referral is not None and services.committee_role(user, referral.committee_id) == role and not services.is_recused(user, referral)


@plugin.relation("referral_secretary", _officer_ids("secretary"))
def referral_secretary(user: Any, instance: Any) -> bool:
    """The secretary of the referral's committee, in term and not recused."""
    return _is_officer(user, instance, "secretary")


@plugin.relation("referral_chair", _officer_ids("chair"))
def referral_chair(user: Any, instance: Any) -> bool:
    """The chair of the referral's committee, in term and not recused."""
    return _is_officer(user, instance, "chair")


# -- guards ------------------------------------------------------------------------------------------------------
@plugin.guard("dossier_complete")
def dossier_complete(context: Any) -> Any:
    """Every required section of the dossier is filled in."""
    version = services.latest_dossier(referral_of(context.instance))
    errors = dossier.validate(version.fields if version else {})
    if errors:
        return _l("Complete the dossier first: %(fields)s.", fields=", ".join(sorted(errors)))
    return None


@plugin.guard("has_rapporteurs")
def has_rapporteurs(context: Any) -> Any:
    """At least one rapporteur is assigned."""
    return None if services.rapporteurs(referral_of(context.instance)) else _l("Assign at least one rapporteur first.")


@plugin.guard("vote_may_close")
def vote_may_close(context: Any) -> Any:
    """The vote closes at its deadline (the system), or early once every eligible member voted."""
    if context.actor is SYSTEM or services.everyone_voted(referral_of(context.instance)):
        return None
    return _l("The vote closes at its deadline or once every eligible member has voted.")


def _tally_says(context: Any, expected: str) -> Any:
    vote_round = services.current_round(referral_of(context.instance))
    result = (vote_round.tally or {}) if vote_round else {}
    if expected == "new_round":
        ok = result.get("result") in ("new_round", "no_quorum")
    else:
        ok = result.get("result") == "decided" and result.get("decision") == expected
    return None if ok else _l("The tally of the vote does not give this outcome: %(explanation)s", explanation=tally_explanation(result))


@plugin.guard("tally_favourable")
def tally_favourable(context: Any) -> Any:
    """The closed vote's tally decides a favourable opinion."""
    return _tally_says(context, "favourable")


@plugin.guard("tally_favourable_with_conditions")
def tally_favourable_with_conditions(context: Any) -> Any:
    """The closed vote's tally decides a favourable opinion with conditions."""
    return _tally_says(context, "favourable_with_conditions")


@plugin.guard("tally_changes_requested")
def tally_changes_requested(context: Any) -> Any:
    """The closed vote's tally decides to request changes."""
    return _tally_says(context, "changes_requested")


@plugin.guard("tally_unfavourable")
def tally_unfavourable(context: Any) -> Any:
    """The closed vote's tally decides an unfavourable opinion."""
    return _tally_says(context, "unfavourable")


@plugin.guard("tally_calls_new_round")
def tally_calls_new_round(context: Any) -> Any:
    """The closed vote's tally calls a new round (a tie the rules settle so, or no quorum)."""
    return _tally_says(context, "new_round")


@plugin.guard("dossier_changed")
def dossier_changed(context: Any) -> Any:
    """The dossier has a version the committee has not examined, and it is complete."""
    referral = referral_of(context.instance)
    version = services.latest_dossier(referral)
    if version is None or (referral.examined_version or 0) >= version.number:
        return _l("Change the dossier first: the committee examines a new version.")
    return dossier_complete(context)


@plugin.guard("reconsideration_available")
def reconsideration_available(context: Any) -> Any:
    """A reconsideration was not requested before."""
    return _l("A reconsideration can be requested only once.") if referral_of(context.instance).reconsideration_used else None


@plugin.guard("conditions_resolved")
def conditions_resolved(context: Any) -> Any:
    """Every condition of the decision is followed up (met or not met)."""
    decision = services.latest_decision(referral_of(context.instance))
    if decision is not None and any(c.status == "open" for c in decision.conditions):
        return _l("Every condition must be followed up (met or not met) before closing.")
    return None


# -- effects -----------------------------------------------------------------------------------------------------
@plugin.effect("mark_examined_version")
def mark_examined_version(act: Act) -> None:
    """The committee examines the dossier's latest version (a resubmission must change it again)."""
    referral = referral_of(act.instance)
    referral.examined_version = services.latest_dossier(referral).number


@plugin.effect("refresh_recusals")
def refresh_recusals(act: Act) -> None:
    """Members whose declared interests name the holder or a partner are recused (recorded, with the reason)."""
    services.refresh_recusals(referral_of(act.instance))


@plugin.effect("use_reconsideration")
def use_reconsideration(act: Act) -> None:
    """The holder's one reconsideration is spent."""
    referral_of(act.instance).reconsideration_used = True


@plugin.effect("open_vote_round")
def open_vote_round(act: Act) -> None:
    """A sealed vote round opens for the eligible members, until the state's deadline."""
    services.open_round(referral_of(act.instance), act.instance.due_at, act.at)


@plugin.effect("close_vote_round")
def close_vote_round(act: Act) -> None:
    """The round closes: its ballots are counted and the tally sealed."""
    services.close_round(referral_of(act.instance), act.at)


@plugin.effect("record_decision")
def record_decision(act: Act) -> None:
    """The decision is recorded with its rationale, conditions, tally, recusals and dissent."""
    db.session.flush()  # the decision names its history row
    services.record_decision(referral_of(act.instance), act.row, act.row.to_state, act.inputs.get("rationale", ""), act.inputs.get("conditions"))


# -- subject -----------------------------------------------------------------------------------------------------
def claims(instance: Any) -> dict:
    """What a referral's attestation says: who referred which project to which committee, and once decided, the tally."""
    referral = referral_of(instance)
    org = referral.organisation
    out: dict[str, Any] = {
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


def load(instance: Any) -> dict:
    return {"referral": referral_of(instance)}


def _charter_titles(slugs: list[str]) -> list[str]:
    """The titles, in the reader's language, of the charters a dossier claims (a slug no longer known as written)."""
    catalog = get_catalog()
    return [tr(charter.title) if (charter := catalog.get(slug)) is not None else slug for slug in slugs]


def referral_panel(actor: Any, instance: Any) -> dict:
    """What the referral's panel offers ``actor`` (``can``, see ``policies.CanReferral``) and the rows it shows them:
    the dossier's latest version, its sections (labelled in the reader's language), charters and files to those who
    read it, recusals, rapporteurs, the members who may be assigned, the vote round, whether they voted, the decision
    and the conditions they may follow up."""
    referral = referral_of(instance)
    if referral is None:
        return {"can": policies.CanReferral()}
    decision = services.latest_decision(referral)
    can = policies.referral_permissions(actor, referral, decision)
    version = services.latest_dossier(referral)
    choices = []
    if can.assign_rapporteur:
        eligible = set(services.eligible_members(referral))
        choices = [m for m in services.members_in_term(referral.committee_id) if m.user_id in eligible]
    return {
        "can": can,
        "dossier": version,
        "sections": dossier.sections(version.fields, str(get_locale())) if can.read_dossier and version else [],
        "charters": _charter_titles(version.charters) if can.read_dossier and version else [],
        "files": services.attachments(referral) if can.read_dossier else [],
        "recusals": services.recusals(referral),
        "rapporteurs": services.rapporteurs(referral) if can.examine else [],
        "rapporteur_choices": choices,
        "vote_round": services.current_round(referral),
        "has_voted": can.vote and services.my_vote(actor, referral) is not None,
        "decision": decision,
        "followable_conditions": {c.id for c in decision.conditions if c.status == "open"} if decision and can.follow_conditions else set(),
    }


def can_view(user: Any, instance: Any) -> bool:
    referral = referral_of(instance)
    return referral is not None and policies.can_see_referral(user, referral)


def is_public(instance: Any) -> bool:
    decision = services.latest_decision(referral_of(instance))
    return decision is not None and decision.published


# A draft is its authors' alone: not even administrators open it (``private_when``).
plugin.subject(
    Subject(
        "referral",
        "reviews/_referral_panel.html",
        load,
        can_view,
        claims,
        is_public,
        private_when=lambda instance: instance.status == "draft",
        model=Referral,
        panel=referral_panel,
    )
)
plugin.inbox_section("reviews/_inbox.html", services.inbox)
ballots.register_sources(plugin)
