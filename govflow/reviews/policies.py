"""Who may read what of a referral, in one place: its page, its dossier's text and its files.

Every view, template and download asks these predicates; none restates the rule.

| reader                                   | draft | submitted and after |
|------------------------------------------|-------|---------------------|
| the holder organisation's members        | all   | all                 |
| committee members in term, not recused   | —     | page, dossier, files|
| committee members recused                | —     | page only           |
| administrators                           | —     | page only           |
| anyone else                              | —     | —                   |

A draft is its authors' until they submit it. A recused member still sees that the referral exists and how it
moves (the recusal is recorded there), never the dossier. The committee reads the dossier from its submission on, to
judge its admissibility; until the examination starts (when the automatic recusals are recorded), a member whose
declaration of interests names the organisation or a partner is treated as recused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..instances.services import get_engine
from ..organisations.services import is_member
from . import services
from .models import Referral


def _signed_in(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def is_holder(user: Any, referral: Referral) -> bool:
    """Whether ``user`` belongs to the organisation that filed the referral."""
    return _signed_in(user) and is_member(user, referral.organisation_id)


def is_draft(referral: Referral) -> bool:
    """Whether the referral is still its authors' draft."""
    return referral.instance.status == "draft"


def can_see_referral(user: Any, referral: Referral) -> bool:
    """Whether ``user`` may open the referral's page (its state, history, decision)."""
    if not _signed_in(user):
        return False
    if not is_draft(referral) and (services.committee_role(user, referral.committee_id) is not None or user.has_role("admin")):
        return True
    return is_holder(user, referral)


def can_read_dossier(user: Any, referral: Referral) -> bool:
    """Whether ``user`` may read the dossier's text, its versions and changes, and its files."""
    if not _signed_in(user):
        return False
    if not is_draft(referral) and services.committee_role(user, referral.committee_id) is not None and not services.is_recused(user, referral):
        if referral.examined_version is None and services.conflict_of(user.id, referral) is not None:
            return is_holder(user, referral)  # the examination will record the recusal; the declared interest counts now
        return True
    return is_holder(user, referral)


def can_edit_dossier(user: Any, referral: Referral) -> bool:
    """Whether ``user`` may open the dossier's form and add files to it: the holder organisation's members (the services
    then accept a change in draft and when the committee asked for changes only)."""
    return is_holder(user, referral)


def can_lead(user: Any, referral: Referral) -> bool:
    """Whether ``user`` leads the referral's examination: its committee's secretary or chair, not recused."""
    return _signed_in(user) and services.committee_role(user, referral.committee_id) in services.LEAD_ROLES and not services.is_recused(user, referral)


# -- what the referral's panel offers --------------------------------------------------------------------------------
# The panel offers to assign rapporteurs while the committee examines the referral.
RAPPORTEUR_STATES = ("under_examination", "rapporteurs_assigned")


@dataclass(frozen=True)
class CanReferral:
    """What the referral's panel offers one person: named answers the template reads (it compares no state)."""

    read_dossier: bool = False  # its text, its files, what changed (``can_read_dossier``)
    edit_dossier: bool = False  # change it and add files (``can_edit_dossier``), in draft or when changes were requested
    see_recusals: bool = False  # the committee's members, and anyone once a member is recused
    examine: bool = False  # the committee's members in term, not recused: the rapporteurs
    see_votes: bool = False  # the same members: the ballots of closed rounds
    assign_rapporteur: bool = False  # its secretary or chair, not recused, while the committee examines it
    recuse_self: bool = False  # a member who examines it, until it ends (a final state of its workflow)
    vote: bool = False  # an eligible member (in term, not recused) while the vote is open
    follow_conditions: bool = False  # its secretary or chair: the decision's open conditions
    dissent: bool = False  # a member who voted otherwise than the decision (``services.may_dissent``), once


_LOAD: Any = object()  # ``referral_permissions`` loads the latest decision itself


def may_write_dissent(actor: Any, decision: Any) -> bool:
    """Whether ``actor`` may write a dissenting opinion on ``decision`` now: they voted otherwise and wrote none yet."""
    return decision is not None and services.may_dissent(actor, decision) and all(o.member_id != actor.id for o in decision.dissents)


def referral_permissions(actor: Any, referral: Referral, decision: Any = _LOAD) -> CanReferral:
    """What ``actor`` may do on the referral's panel now, from the committee's members and the referral's recusals
    (each read once per transaction); ``decision`` is the referral's latest decision when the caller has it loaded."""
    if not _signed_in(actor):
        return CanReferral()
    if decision is _LOAD:
        decision = services.latest_decision(referral)
    role = services.committee_role(actor, referral.committee_id)
    recused = services.is_recused(actor, referral)
    status = referral.instance.status
    examine = role is not None and not recused
    final = get_engine().definition_of(referral.instance).states[status].final
    return CanReferral(
        read_dossier=can_read_dossier(actor, referral),
        edit_dossier=can_edit_dossier(actor, referral) and status in services.DOSSIER_STATES,
        see_recusals=role is not None or bool(services.recusals(referral)),
        examine=examine,
        see_votes=examine,
        assign_rapporteur=examine and role in services.LEAD_ROLES and status in RAPPORTEUR_STATES,
        recuse_self=examine and not final,
        vote=status == "vote_open" and actor.id in services.eligible_members(referral),
        follow_conditions=role in services.LEAD_ROLES,
        dissent=may_write_dissent(actor, decision),
    )
