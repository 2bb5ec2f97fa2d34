"""Ethics committees and their members, referrals with dossier versions, recusals, sealed vote rounds, votes, decisions,
conditions and dissenting opinions (declarations of interests are ``interests.models``)."""

from __future__ import annotations

import os
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..engine import utcnow
from ..extensions import db
from ..instances.models import WorkflowInstance
from ..organisations.models import Organisation, StoredFile

VOTE_CHOICES = ("favourable", "favourable_with_conditions", "changes_requested", "unfavourable", "abstain")
DECISIONS = ("favourable", "favourable_with_conditions", "changes_requested", "unfavourable")


class Committee(db.Model):
    """An ethics committee; its voting rules are data."""

    __tablename__ = "committees"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    quorum_kind: Mapped[str] = mapped_column(sa.String(8), default="share")
    quorum_value: Mapped[int] = mapped_column(default=50)
    decision_rule: Mapped[str] = mapped_column(sa.String(16), default="simple_majority")
    tie_outcome: Mapped[str] = mapped_column(sa.String(20), default="new_round")
    no_majority_outcome: Mapped[str] = mapped_column(sa.String(20), default="changes_requested")
    publish_policy: Mapped[str] = mapped_column(sa.String(16), default="with_consent")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.CheckConstraint(sa.column("quorum_kind").in_(["count", "share"]), name="quorum_kind_known"),
        sa.CheckConstraint("quorum_value >= 1 AND (quorum_kind = 'count' OR quorum_value <= 100)", name="quorum_value_range"),
        sa.CheckConstraint(sa.column("decision_rule").in_(["simple_majority", "two_thirds", "unanimity"]), name="rule_known"),
        sa.CheckConstraint(sa.column("publish_policy").in_(["always", "with_consent", "never"]), name="policy_known"),
    )


class CommitteeMember(db.Model):
    """A member of a committee, with a role and a term."""

    __tablename__ = "committee_members"

    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("committees.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    term_start: Mapped[date] = mapped_column()
    term_end: Mapped[date | None] = mapped_column()

    committee: Mapped[Committee] = relationship()
    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint(sa.column("role").in_(["chair", "member", "secretary"]), name="role_known"),)


class Referral(db.Model):
    """A project referred to a committee by an organisation; its lifecycle is a workflow instance."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("committees.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_instances.id"), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    publish_consent: Mapped[bool] = mapped_column(default=False)
    reconsideration_used: Mapped[bool] = mapped_column(default=False)
    examined_version: Mapped[int | None] = mapped_column()
    submitted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    committee: Mapped[Committee] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    instance: Mapped[WorkflowInstance] = relationship(lazy="joined")


class DossierVersion(db.Model):
    """One version of a referral's dossier; a resubmission adds a version, never edits an examined one."""

    __tablename__ = "dossier_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"), index=True)
    number: Mapped[int] = mapped_column()
    fields: Mapped[dict] = mapped_column(sa.JSON)
    partners: Mapped[list] = mapped_column(sa.JSON, default=list)
    charters: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("referral_id", "number", name="uq_dossier_versions_number"),)


class DossierAttachment(StoredFile, db.Model):
    """A file attached to a dossier version (content-checked, stored by SHA-256); never deleted."""

    __tablename__ = "dossier_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"), index=True)
    version_number: Mapped[int] = mapped_column()


class Recusal(db.Model):
    """A member recused from a referral: automatically (declared interest), by themselves, or by the chair."""

    __tablename__ = "recusals"

    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(12))
    reason: Mapped[str] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")

    __table_args__ = (sa.CheckConstraint(sa.column("kind").in_(["automatic", "self", "chair"]), name="kind_known"),)


class Rapporteur(db.Model):
    """A member assigned to report on a referral."""

    __tablename__ = "rapporteurs"

    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class VoteRound(db.Model):
    """A round of sealed voting on a referral; its tally is computed when it closes."""

    __tablename__ = "vote_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"), index=True)
    number: Mapped[int] = mapped_column()
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closes_at: Mapped[datetime] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    eligible: Mapped[list | None] = mapped_column(sa.JSON)  # user ids eligible when it closed
    tally: Mapped[dict | None] = mapped_column(sa.JSON)
    # The round's secret: the key of the voter pseudonyms and rationale digests in its logged ballots. Never published,
    # so an opened ballot says how a voter voted without saying who.
    seal: Mapped[bytes] = mapped_column(sa.LargeBinary(32), default=lambda: os.urandom(32))

    __table_args__ = (
        sa.UniqueConstraint("referral_id", "number", name="uq_vote_rounds_number"),
        sa.CheckConstraint("(closed_at IS NULL) = (tally IS NULL)", name="closed_with_tally"),
    )


class Vote(db.Model):
    """One member's ballot in one round: one row per (referral, round, member), enforced by the database."""

    __tablename__ = "votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"))
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("vote_rounds.id"), index=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    choice: Mapped[str] = mapped_column(sa.String(32))
    rationale: Mapped[str | None] = mapped_column(sa.Text)
    cast_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("referral_id", "round_id", "member_id", name="uq_votes_one_per_member"),
        sa.CheckConstraint(sa.column("choice").in_(VOTE_CHOICES), name="choice_known"),
        sa.CheckConstraint("choice IN ('favourable', 'abstain') OR rationale IS NOT NULL", name="rationale_given"),
    )


class Decision(db.Model):
    """The committee's recorded decision on a referral: outcome, tally, reasons; signed as an attestation."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"), index=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("vote_rounds.id"), unique=True)
    history_id: Mapped[int] = mapped_column(sa.ForeignKey("instance_history.id"), unique=True)
    outcome: Mapped[str] = mapped_column(sa.String(32))
    reasons: Mapped[str] = mapped_column(sa.Text)
    tally: Mapped[dict] = mapped_column(sa.JSON)
    recused: Mapped[list] = mapped_column(sa.JSON)
    abstaining: Mapped[list] = mapped_column(sa.JSON)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    published: Mapped[bool] = mapped_column(default=False)
    annulled_at: Mapped[datetime | None] = mapped_column()

    conditions: Mapped[list[Condition]] = relationship(back_populates="decision", order_by="Condition.id", lazy="selectin")
    dissents: Mapped[list[DissentingOpinion]] = relationship(lazy="selectin")

    __table_args__ = (sa.CheckConstraint(sa.column("outcome").in_(DECISIONS), name="outcome_known"),)


class Condition(db.Model):
    """A condition attached to a favourable-with-conditions decision, followed until met or not met."""

    __tablename__ = "decision_conditions"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("decisions.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(8), default="open")
    evidence: Mapped[str | None] = mapped_column(sa.Text)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column()

    decision: Mapped[Decision] = relationship(back_populates="conditions")

    __table_args__ = (
        sa.CheckConstraint(sa.column("status").in_(["open", "met", "not_met"]), name="status_known"),
        sa.CheckConstraint("status = 'open' OR (evidence IS NOT NULL AND resolved_at IS NOT NULL)", name="resolution_complete"),
    )


class DissentingOpinion(db.Model):
    """A member's dissenting opinion, published separately from the majority's reasons."""

    __tablename__ = "dissenting_opinions"

    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("decisions.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    text: Mapped[str] = mapped_column(sa.Text)
    written_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[User] = relationship(lazy="joined")
