"""Services of independent ethics review: committees, recusal on declared interests (``interests.services``), referrals
and dossiers, sealed votes, decisions and their conditions. They take the actor, flush, and never commit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from ..accounts.models import User
from ..attestations import entries, log
from ..attestations.models import LogEntry
from ..engine import SYSTEM, EngineError, NotPermitted, Refused, utcnow
from ..extensions import db
from ..instances.models import WorkflowInstance
from ..instances.services import fire_transition, lock_instance, start_instance
from ..interests.services import declared_interest
from ..memo import remember
from ..organisations.services import is_member, organisation_ids, store_file
from ..uniques import expect_duplicate
from . import dossier, tally
from .models import (
    VOTE_CHOICES,
    Committee,
    CommitteeMember,
    Condition,
    Decision,
    DissentingOpinion,
    DossierAttachment,
    DossierVersion,
    Rapporteur,
    Recusal,
    Referral,
    Vote,
    VoteRound,
)

REFERRAL_WORKFLOW = "referral"
# The dossier is changed (text and files) in draft, and in a new version when the committee asks for changes.
DOSSIER_STATES = ("draft", "changes_requested")
# The committee roles that lead an examination: assign rapporteurs, follow up a decision's conditions.
LEAD_ROLES = ("secretary", "chair")


class ReviewError(Refused):
    """Input refused by a review service; the message says why."""

    status = 422


class VoteRefused(EngineError):
    """A ballot that may not be cast (not eligible, recused, vote not open)."""

    status = 403


# -- committees and members ---------------------------------------------------------------------------------------
DEFAULT_RULES = {
    "quorum_kind": "share",
    "quorum_value": 50,
    "decision_rule": "simple_majority",
    "tie_outcome": "new_round",
    "no_majority_outcome": "changes_requested",
}


def create_committee(name: str, publish_policy: str = "with_consent", **rules: Any) -> Committee:
    """Create a committee with its voting rules (checked by the tally's own validation)."""
    rules = {**DEFAULT_RULES, **rules}
    tally.Rules(**rules)
    committee = Committee(name=name.strip(), publish_policy=publish_policy, **rules)
    with expect_duplicate(Committee.__table__, {"name"}, _("A committee named %(name)s already exists.", name=committee.name)):
        db.session.add(committee)
    return committee


def add_committee_member(
    committee: Committee, user: Any, role: str = "member", term_start: date | None = None, term_end: date | None = None
) -> CommitteeMember:
    """Appoint ``user`` to ``committee`` with a role and a term."""
    if role not in ("chair", "member", "secretary"):
        raise ReviewError(_("Unknown committee role: %(role)s.", role=role))
    member = CommitteeMember(committee=committee, user_id=user.id, role=role, term_start=term_start or utcnow().date(), term_end=term_end)
    db.session.add(member)
    db.session.flush()
    return member


def members_in_term(committee_id: int, on: date | None = None) -> list[CommitteeMember]:
    """The committee's members whose term covers ``on`` (today by default)."""
    on = on or utcnow().date()
    return remember(
        ("members_in_term", committee_id, on),
        (CommitteeMember,),
        lambda: list(
            db.session.scalars(
                sa.select(CommitteeMember)
                .options(joinedload(CommitteeMember.user).lazyload(User.role_rows))
                .where(
                    CommitteeMember.committee_id == committee_id,
                    CommitteeMember.term_start <= on,
                    sa.or_(CommitteeMember.term_end.is_(None), CommitteeMember.term_end >= on),
                )
                .order_by(CommitteeMember.user_id)
            )
        ),
    )


def committee_role(user: Any, committee_id: int) -> str | None:
    """``user``'s role in the committee (in term), or None."""
    if user is None or user is SYSTEM or not getattr(user, "is_authenticated", False):
        return None
    return next((m.role for m in members_in_term(committee_id) if m.user_id == user.id), None)


# -- recusal -------------------------------------------------------------------------------------------------------
def latest_dossier(referral: Referral) -> DossierVersion | None:
    """The latest version of the referral's dossier."""
    return db.session.scalar(sa.select(DossierVersion).where(DossierVersion.referral_id == referral.id).order_by(DossierVersion.number.desc()).limit(1))


def conflicts(referral: Referral) -> dict[int, str]:
    """Members in term whose current declaration names the referring organisation or a partner: user id → reason."""
    version = latest_dossier(referral)
    names = [referral.organisation.name, *(version.partners if version else [])]
    out = {}
    for member in members_in_term(referral.committee_id):
        reason = declared_interest(member.user_id, names)
        if reason is not None:
            out[member.user_id] = reason
    return out


def conflict_of(user_id: int, referral: Referral) -> str | None:
    """Why ``user_id``'s current declaration conflicts with the referring organisation or a partner, or None."""
    version = latest_dossier(referral)
    return declared_interest(user_id, [referral.organisation.name, *(version.partners if version else [])])


def refresh_recusals(referral: Referral) -> list[Recusal]:
    """Add an automatic recusal for each conflicted member not yet recused; return the new ones."""
    existing = {r.user_id for r in recusals(referral)}
    added = []
    for user_id, reason in conflicts(referral).items():
        if user_id not in existing:
            recusal = Recusal(referral_id=referral.id, user_id=user_id, kind="automatic", reason=reason, recorded_at=utcnow())
            db.session.add(recusal)
            log_recusal(recusal)
            added.append(recusal)
    db.session.flush()
    return added


def recusal_content(recusal: Recusal) -> bytes:
    """What the log commits to for a recusal."""
    return entries.recusal_entry(recusal.referral_id, recusal.user_id, recusal.kind, recusal.reason, recusal.recorded_by_id, recusal.recorded_at)


def log_recusal(recusal: Recusal) -> None:
    """Write the pending log entry of a recusal."""
    log.add_entry("recusal", recusal_content(recusal), ref=f"{recusal.referral_id}/{recusal.user_id}")


def recusals(referral: Referral) -> list[Recusal]:
    """Recusals recorded on a referral (asked once per transaction)."""
    return remember(
        ("recusals", referral.id),
        (Recusal,),
        lambda: list(
            db.session.scalars(
                sa.select(Recusal)
                .options(joinedload(Recusal.user).lazyload(User.role_rows))
                .where(Recusal.referral_id == referral.id)
                .order_by(Recusal.recorded_at)
            )
        ),
    )


def is_recused(user: Any, referral: Referral) -> bool:
    """Whether ``user`` is recused from the referral."""
    user_id = getattr(user, "id", None)
    return user_id is not None and any(r.user_id == user_id for r in recusals(referral))


def recuse(actor: Any, referral: Referral, user_id: int, reason: str) -> Recusal:
    """A member recuses themselves, or the chair records a member's recusal; a reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError(_("A recusal needs a reason."))
    role = committee_role(actor, referral.committee_id)
    if actor.id == user_id and role is not None:
        kind = "self"
    elif role == "chair" and not is_recused(actor, referral):
        kind = "chair"
    else:
        raise NotPermitted(_("Only the member concerned or the committee's chair can record a recusal."))
    if committee_role(db.session.get(User, user_id), referral.committee_id) is None:
        raise ReviewError(_("This person is not a member of the committee."))
    if db.session.get(Recusal, (referral.id, user_id)) is not None:
        raise ReviewError(_("This member is already recused."))
    recusal = Recusal(referral_id=referral.id, user_id=user_id, kind=kind, reason=reason, recorded_by_id=actor.id, recorded_at=utcnow())
    db.session.add(recusal)
    log_recusal(recusal)
    db.session.query(Rapporteur).filter_by(referral_id=referral.id, user_id=user_id).delete()
    db.session.flush()
    return recusal


def eligible_members(referral: Referral) -> list[int]:
    """User ids of the members who may vote: in term and not recused (the quorum base)."""
    recused = {r.user_id for r in recusals(referral)}
    return [m.user_id for m in members_in_term(referral.committee_id) if m.user_id not in recused]


# -- referrals and dossiers ----------------------------------------------------------------------------------------
def create_referral(
    actor: Any, organisation: Any, committee: Committee, title: str, fields: dict, partners: list[str], charters: list[str], publish_consent: bool = False
) -> Referral:
    """File a draft referral of a project of ``organisation`` (its members only) with dossier version 1."""
    if not is_member(actor, organisation.id):
        raise NotPermitted(_("Only members of the organisation can refer its projects."))
    title = (title or "").strip()
    if not title:
        raise ReviewError(_("A referral needs a title."), field="title")
    instance = start_instance(actor, REFERRAL_WORKFLOW, title=f"{organisation.name}: {title}"[:300], subject_kind="referral")
    referral = Referral(
        committee=committee, organisation=organisation, instance=instance, title=title[:300], publish_consent=publish_consent, submitted_by_id=actor.id
    )
    db.session.add(referral)
    db.session.flush()
    _add_version(actor, referral, 1, fields, partners, charters)
    return referral


def _clean_list(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def _check_lengths(fields: dict) -> None:
    """Every section, draft or not, within the dossier's limit (a draft is stored too)."""
    long = [key for key, value in fields.items() if isinstance(value, str) and len(value) > dossier.MAX_LENGTH]
    if long:
        raise ReviewError(
            _("Keep each section of the dossier to %(max)s characters or fewer (too long: %(keys)s).", max=dossier.MAX_LENGTH, keys=", ".join(long))
        )


def _add_version(actor, referral, number, fields, partners, charters) -> DossierVersion:
    _check_lengths(fields)
    version = DossierVersion(
        referral_id=referral.id,
        number=number,
        fields=dossier.clean(fields),
        partners=_clean_list(partners),
        charters=_clean_list(charters),
        created_by_id=actor.id,
        created_at=utcnow(),
    )
    sentence = _("The dossier was changed at the same time by someone else. Nothing was overwritten: reload the page and check it.")
    with expect_duplicate(DossierVersion.__table__, {"referral_id", "number"}, sentence):
        db.session.add(version)
    return version


def update_dossier(actor: Any, referral: Referral, fields: dict, partners: list[str], charters: list[str]) -> DossierVersion:
    """Edit the draft dossier, or add a new version after the committee asked for changes."""
    if not is_member(actor, referral.organisation_id):
        raise NotPermitted(_("Only members of the organisation can edit its dossier."))
    status = referral.instance.status
    current = latest_dossier(referral)
    if status == "draft":
        _check_lengths(fields)
        current.fields, current.partners, current.charters = dossier.clean(fields), _clean_list(partners), _clean_list(charters)
        db.session.flush()
        return current
    if status == "changes_requested":
        return _add_version(actor, referral, current.number + 1, fields, partners, charters)
    raise ReviewError(_("The dossier can only be changed in draft or when the committee asked for changes."))


def attach_file(actor: Any, referral: Referral, data: bytes, checked: Any) -> DossierAttachment:
    """Attach a content-checked file to the current dossier version (draft, or after changes were requested)."""
    if not is_member(actor, referral.organisation_id):
        raise NotPermitted(_("Only members of the organisation can add files to its dossier."))
    if referral.instance.status not in DOSSIER_STATES:
        raise ReviewError(_("Files can be added in draft or when the committee asked for changes."))
    attachment = DossierAttachment(referral_id=referral.id, version_number=latest_dossier(referral).number, **store_file(actor, data, checked))
    db.session.add(attachment)
    db.session.flush()
    return attachment


def attachments(referral: Referral) -> list[DossierAttachment]:
    """The files of a referral's dossier, oldest first."""
    return list(db.session.scalars(sa.select(DossierAttachment).where(DossierAttachment.referral_id == referral.id).order_by(DossierAttachment.id)))


def referral_for_instance(instance_id: int) -> Referral | None:
    """The referral whose lifecycle is instance ``instance_id``."""
    return db.session.scalar(sa.select(Referral).where(Referral.instance_id == instance_id))


def dossier_versions(referral: Referral) -> list[DossierVersion]:
    """Every version of the dossier, oldest first."""
    return list(db.session.scalars(sa.select(DossierVersion).where(DossierVersion.referral_id == referral.id).order_by(DossierVersion.number)))


def assign_rapporteur(actor: Any, referral: Referral, user_id: int) -> Rapporteur:
    """The secretary or chair names an eligible member as rapporteur."""
    if committee_role(actor, referral.committee_id) not in LEAD_ROLES or is_recused(actor, referral):
        raise NotPermitted(_("Only the committee's secretary or chair can assign rapporteurs."))
    if user_id not in eligible_members(referral):
        raise ReviewError(_("A rapporteur must be a member of the committee who is not recused."))
    if db.session.get(Rapporteur, (referral.id, user_id)) is None:
        db.session.add(Rapporteur(referral_id=referral.id, user_id=user_id, assigned_at=utcnow()))
        db.session.flush()
    return db.session.get(Rapporteur, (referral.id, user_id))


def rapporteurs(referral: Referral) -> list[Rapporteur]:
    """The referral's rapporteurs."""
    return list(db.session.scalars(sa.select(Rapporteur).where(Rapporteur.referral_id == referral.id)))


# -- votes ---------------------------------------------------------------------------------------------------------
def current_round(referral: Referral) -> VoteRound | None:
    """The latest vote round of the referral (asked once per transaction unless a round is added)."""
    return remember(
        ("current_round", referral.id),
        (VoteRound,),
        lambda: db.session.scalar(sa.select(VoteRound).where(VoteRound.referral_id == referral.id).order_by(VoteRound.number.desc()).limit(1)),
    )


def open_round(referral: Referral, closes_at: datetime, now: datetime) -> VoteRound:
    """Start the next vote round."""
    last = current_round(referral)
    vote_round = VoteRound(referral_id=referral.id, number=(last.number + 1) if last else 1, opened_at=now, closes_at=closes_at)
    db.session.add(vote_round)
    db.session.flush()
    return vote_round


def cast_vote(actor: Any, referral: Referral, choice: str, rationale: str | None) -> Vote:
    """Cast or change ``actor``'s sealed ballot in the open round (one row per member and round, upserted), and commit it
    to the log (a salted commitment that says nothing of the choice while the vote is sealed).

    The referral's instance is locked first: a close running at the same time either waits for this ballot to commit
    and counts it, or has closed the vote and this ballot is refused. A ballot answered "recorded" is always counted.
    """
    instance = lock_instance(referral.instance_id)
    if instance is None or instance.status != "vote_open":
        raise VoteRefused(_("The vote is not open."))
    if is_recused(actor, referral):
        raise VoteRefused(_("You are recused from this referral: you cannot vote on it or see its votes."))
    if actor.id not in eligible_members(referral):
        raise VoteRefused(_("Only members of this committee can vote on its referrals."))
    if choice not in VOTE_CHOICES:
        raise ReviewError(_("Choose one of the proposed votes."), field="choice")
    rationale = (rationale or "").strip() or None
    if choice not in ("favourable", "abstain") and not rationale:
        raise ReviewError(_("Give the rationale of your vote."), field="rationale")
    vote_round = current_round(referral)
    now = utcnow()
    values = {
        "referral_id": referral.id,
        "round_id": vote_round.id,
        "member_id": actor.id,
        "choice": choice,
        "rationale": rationale,
        "cast_at": now,
        "changed_at": now,
    }
    insert = postgresql.insert(Vote) if db.engine.dialect.name == "postgresql" else sqlite.insert(Vote)
    statement = insert.values(**values).on_conflict_do_update(
        index_elements=["referral_id", "round_id", "member_id"],
        set_={"choice": choice, "rationale": rationale, "changed_at": now},
    )
    db.session.execute(statement)
    vote = db.session.scalar(sa.select(Vote).where(Vote.round_id == vote_round.id, Vote.member_id == actor.id).execution_options(populate_existing=True))
    log.add_entry("ballot", ballot_content(vote, vote_round), ref=str(vote.id))
    return vote


def ballot_content(vote: Vote, vote_round: VoteRound) -> bytes:
    """What the log commits to for ``vote`` as it stands (each cast or change is committed anew)."""
    return entries.ballot_entry(vote_round.id, vote_round.seal, vote.member_id, vote.choice, vote.rationale, vote.changed_at)


def ballot_leaves(vote_ids: list[int]) -> dict[int, bytes]:
    """The leaf hash of the latest logged ballot of each vote (the ballot as it stands)."""
    if not vote_ids:
        return {}
    log.write_pending()
    rows = db.session.execute(
        sa.select(LogEntry.ref, LogEntry.leaf_hash).where(LogEntry.kind == "ballot", LogEntry.ref.in_([str(i) for i in vote_ids])).order_by(LogEntry.id)
    )
    return {int(ref): bytes(leaf) for ref, leaf in rows}


def tally_content(vote_round: VoteRound, counted: list[Vote], leaves: dict[int, bytes]) -> bytes:
    """What the log commits to when ``vote_round`` closes: the leaves of exactly the ballots counted, and the tally."""
    return entries.tally_entry(vote_round.id, vote_round.closed_at, len(vote_round.eligible or []), [leaves[v.id].hex() for v in counted], vote_round.tally)


def my_vote(user: Any, referral: Referral) -> Vote | None:
    """``user``'s own ballot in the current round (a member sees only their own before closing)."""
    vote_round = current_round(referral)
    if vote_round is None:
        return None
    return db.session.scalar(sa.select(Vote).where(Vote.round_id == vote_round.id, Vote.member_id == user.id))


def round_votes(vote_round: VoteRound) -> list[Vote]:
    """Every ballot of a round (only shown once it closed)."""
    return list(
        db.session.scalars(
            sa.select(Vote).options(joinedload(Vote.member).lazyload(User.role_rows)).where(Vote.round_id == vote_round.id).order_by(Vote.member_id)
        )
    )


def rules_of(committee: Committee) -> tally.Rules:
    """The committee's voting rules for the tally."""
    return tally.Rules(committee.quorum_kind, committee.quorum_value, committee.decision_rule, committee.tie_outcome, committee.no_majority_outcome)


def everyone_voted(referral: Referral) -> bool:
    """Whether every eligible member has a ballot in the open round."""
    vote_round = current_round(referral)
    eligible = set(eligible_members(referral))
    voted = set(db.session.scalars(sa.select(Vote.member_id).where(Vote.round_id == vote_round.id))) if vote_round else set()
    return bool(eligible) and eligible <= voted


def close_round(referral: Referral, now: datetime) -> VoteRound:
    """Close the open round, store its tally (recused members are outside the quorum base) and commit to the log the
    exact ballots it counted. The caller holds the instance's lock, so no ballot can slip in after this read."""
    vote_round = current_round(referral)
    eligible = eligible_members(referral)
    counted = [v for v in round_votes(vote_round) if v.member_id in eligible]
    outcome = tally.tally(rules_of(referral.committee), len(eligible), [v.choice for v in counted])
    vote_round.closed_at = now
    vote_round.eligible = eligible
    vote_round.tally = {
        "result": outcome.result,
        "decision": outcome.decision,
        "quorum_met": outcome.quorum_met,
        "eligible": outcome.eligible,
        "voted": outcome.voted,
        "cast": outcome.cast,
        "counts": dict(outcome.counts),
        "explanation": outcome.explanation,
        "reason": outcome.reason,  # worded in the reader's language by wording.tally_explanation
    }
    log.add_entry("tally", tally_content(vote_round, counted, ballot_leaves([v.id for v in counted])), ref=str(vote_round.id))
    db.session.flush()
    return vote_round


# -- decisions and conditions --------------------------------------------------------------------------------------
def record_decision(referral: Referral, history_row: Any, outcome: str, reasons: str, conditions_text: str | None) -> Decision:
    """Store the decision of the closed round: tally, recused and abstaining members, reasons, conditions."""
    vote_round = current_round(referral)
    votes = round_votes(vote_round)
    decision = Decision(
        referral_id=referral.id,
        round_id=vote_round.id,
        history_id=history_row.id,
        outcome=outcome,
        reasons=reasons,
        tally=vote_round.tally,
        recused=[{"member": r.user.name, "kind": r.kind, "reason": r.reason} for r in recusals(referral)],
        abstaining=[v.member.name for v in votes if v.choice == "abstain"],
        decided_at=history_row.at,
        published=referral.committee.publish_policy == "always" or (referral.committee.publish_policy == "with_consent" and referral.publish_consent),
    )
    db.session.add(decision)
    for line in (conditions_text or "").splitlines():
        if line.strip():
            decision.conditions.append(Condition(text=line.strip()))
    db.session.flush()
    return decision


def latest_decision(referral: Referral) -> Decision | None:
    """The referral's latest decision that was not annulled."""
    return db.session.scalar(
        sa.select(Decision).where(Decision.referral_id == referral.id, Decision.annulled_at.is_(None)).order_by(Decision.id.desc()).limit(1)
    )


def resolve_condition(actor: Any, condition: Condition, status: str, evidence: str) -> Condition:
    """The secretary or chair records a condition as met or not met, with the evidence."""
    referral = db.session.get(Referral, condition.decision.referral_id)
    if committee_role(actor, referral.committee_id) not in LEAD_ROLES:
        raise NotPermitted(_("Only the committee's secretary or chair follows up conditions."))
    if status not in ("met", "not_met") or not (evidence or "").strip():
        raise ReviewError(_("Say whether the condition is met, with the evidence."))
    condition.status, condition.evidence = status, evidence.strip()
    condition.resolved_by_id, condition.resolved_at = actor.id, utcnow()
    db.session.flush()
    return condition


def may_dissent(user: Any, decision: Decision) -> bool:
    """Whether ``user`` voted otherwise than ``decision`` (and not abstained), so may write a dissenting opinion."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    vote = db.session.scalar(sa.select(Vote).where(Vote.round_id == decision.round_id, Vote.member_id == user.id))
    return vote is not None and vote.choice not in (decision.outcome, "abstain")


def add_dissent(actor: Any, decision: Decision, text: str) -> DissentingOpinion:
    """A member who voted otherwise than the decision writes a dissenting opinion, published separately."""
    if not may_dissent(actor, decision):
        raise NotPermitted(_("Only a member who voted otherwise can write a dissenting opinion."))
    if not (text or "").strip():
        raise ReviewError(_("Write the dissenting opinion."))
    already = _("You already wrote a dissenting opinion on this decision.")
    if db.session.get(DissentingOpinion, (decision.id, actor.id)) is not None:
        raise ReviewError(already)
    opinion = DissentingOpinion(decision_id=decision.id, member_id=actor.id, text=text.strip(), written_at=utcnow())
    with expect_duplicate(DissentingOpinion.__table__, {"decision_id", "member_id"}, already):
        db.session.add(opinion)
    return opinion


def inbox(user: Any) -> dict:
    """What waits on ``user`` outside transitions: open votes without their ballot, dossiers to read as rapporteur,
    and the referrals of their organisations with their latest decision."""
    today = utcnow().date()
    member_of = sa.select(CommitteeMember.committee_id).where(
        CommitteeMember.user_id == user.id, CommitteeMember.term_start <= today, sa.or_(CommitteeMember.term_end.is_(None), CommitteeMember.term_end >= today)
    )
    not_recused = ~sa.exists().where(Recusal.referral_id == Referral.id, Recusal.user_id == user.id)
    open_votes = db.session.execute(
        sa.select(Referral, VoteRound)
        .join(WorkflowInstance, WorkflowInstance.id == Referral.instance_id)
        .join(VoteRound, sa.and_(VoteRound.referral_id == Referral.id, VoteRound.closed_at.is_(None)))
        .where(
            WorkflowInstance.status == "vote_open",
            Referral.committee_id.in_(member_of),
            not_recused,
            ~sa.exists().where(Vote.round_id == VoteRound.id, Vote.member_id == user.id),
        )
        .order_by(VoteRound.closes_at)
        .limit(50)
    ).all()
    to_read = db.session.scalars(
        sa.select(Referral)
        .join(Rapporteur, Rapporteur.referral_id == Referral.id)
        .join(WorkflowInstance, WorkflowInstance.id == Referral.instance_id)
        .where(Rapporteur.user_id == user.id, WorkflowInstance.status.in_(["under_examination", "rapporteurs_assigned", "deliberation"]))
        .order_by(Referral.id)
        .limit(50)
    ).all()
    mine = db.session.scalars(sa.select(Referral).where(Referral.organisation_id.in_(organisation_ids(user))).order_by(Referral.id.desc()).limit(50)).all()
    committee = user.has_role("committee_member", "committee_secretary")
    return {
        "open_votes": open_votes,
        "to_read": to_read,
        "mine": mine,
        "can_refer": committee or bool(mine),  # the link to refer a project
        "can_declare_interests": committee,
    }


def close_vote_when_complete(referral: Referral) -> bool:
    """Close the vote as the system once every eligible member voted (the instance locked first); True when it did."""
    instance = lock_instance(referral.instance_id)
    if instance.status == "vote_open" and everyone_voted(referral):
        fire_transition(SYSTEM, instance, "close_vote", {})
        return True
    return False
