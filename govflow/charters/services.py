"""Services for organisations and commitments. They take the actor, flush, and never commit."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from ..engine import NotPermitted
from ..extensions import db
from ..instances.services import start_instance
from .models import Commitment, MemberRole, Membership, Organisation, OrganisationKind

COMMITMENT_WORKFLOW = "commitment"


class CharterError(ValueError):
    """Input refused by a charter service; the message says why."""


def create_organisation(name: str, kind: str, country: str = "FR", identifier: str | None = None, website: str | None = None) -> Organisation:
    """Create an organisation; raise CharterError on bad input or a taken name."""
    name = name.strip()
    if not name:
        raise CharterError(_("An organisation needs a name."))
    if kind not in {k.value for k in OrganisationKind}:
        raise CharterError(_("Unknown organisation kind: %(kind)s.", kind=kind))
    if db.session.scalar(sa.select(Organisation.id).where(Organisation.name == name)) is not None:
        raise CharterError(_("An organisation named %(name)s already exists.", name=name))
    org = Organisation(name=name, kind=kind, country=country.upper()[:2], identifier=identifier, website=website)
    db.session.add(org)
    db.session.flush()
    return org


def add_member(organisation: Organisation, user: Any, role: str) -> Membership:
    """Make ``user`` a member of ``organisation`` with ``role`` (officer or contributor)."""
    if role not in {r.value for r in MemberRole}:
        raise CharterError(_("Unknown member role: %(role)s.", role=role))
    membership = Membership(organisation=organisation, user=user, role=role)
    db.session.add(membership)
    db.session.flush()
    return membership


def organisation_ids(user: Any) -> sa.Select:
    """SQL selectable of the ids of the organisations ``user`` belongs to."""
    return sa.select(Membership.organisation_id).where(Membership.user_id == user.id)


def user_organisations(user: Any) -> list[Organisation]:
    """The organisations ``user`` belongs to, by name."""
    return list(db.session.scalars(sa.select(Organisation).where(Organisation.id.in_(organisation_ids(user))).order_by(Organisation.name)))


def is_member(user: Any, organisation_id: int) -> bool:
    """Whether ``user`` is a member (officer or contributor) of the organisation."""
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "id", None) is None:
        return False
    return (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Membership).where(Membership.user_id == user.id, Membership.organisation_id == organisation_id)
        )
        > 0
    )


def commitment_for_instance(instance_id: int) -> Commitment | None:
    """The commitment whose lifecycle is instance ``instance_id``."""
    return db.session.scalar(sa.select(Commitment).where(Commitment.instance_id == instance_id))


def create_commitment(actor: Any, organisation: Organisation, charter: str, pillar: str, statement: str) -> Commitment:
    """Create a draft commitment of ``organisation``; only its members may."""
    if not is_member(actor, organisation.id):
        raise NotPermitted(_("Only members of the organisation can register its commitments."))
    charter, pillar, statement = charter.strip(), pillar.strip(), statement.strip()
    if not charter or not pillar:
        raise CharterError(_("A commitment names its charter and its pillar."))
    instance = start_instance(actor, COMMITMENT_WORKFLOW, title=f"{organisation.name}: {charter} / {pillar}", subject_kind="commitment")
    commitment = Commitment(organisation=organisation, instance=instance, charter=charter, pillar=pillar, statement=statement, created_by_id=actor.id)
    db.session.add(commitment)
    db.session.flush()
    return commitment


def organisation_commitments(organisation: Organisation) -> list[Commitment]:
    """The commitments of ``organisation``, newest first."""
    return list(db.session.scalars(sa.select(Commitment).where(Commitment.organisation_id == organisation.id).order_by(Commitment.id.desc())))
