"""Services for organisations, their members and invitations, and stored files.

They take the actor explicitly, flush, and never commit. Refusals raise OrganisationError (422), NotPermitted (403),
NotFound (404) or InvitationConflict (409) with a sentence a person understands.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..accounts.models import User
from ..accounts.services import EMAIL_RE
from ..engine import NotPermitted, Refused, utcnow
from ..extensions import db, lock_row
from ..memo import remember, remember_by
from ..uniques import expect_duplicate
from .models import Invitation, MemberRole, Membership, Organisation, OrganisationKind
from .uploads import CheckedUpload, store


class OrganisationError(Refused):
    """Input refused by an organisation service; the message says why."""

    status = 422


class InvitationConflict(Refused):
    """An answer to an invitation that conflicts with its state (answered twice, expired): 409."""

    status = 409


class NotFound(Refused):
    """Something the actor asked for that does not exist for them: 404."""

    status = 404


# -- organisations and members -------------------------------------------------------------------------------
def _clean_org_fields(name: str, kind: str, country: str, identifier: str | None, website: str | None) -> dict:
    name = (name or "").strip()
    if not name:
        raise OrganisationError(_("An organisation needs a name."), field="name")
    if kind not in {k.value for k in OrganisationKind}:
        raise OrganisationError(_("Unknown organisation kind: %(kind)s.", kind=kind), field="kind")
    country = (country or "").strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise OrganisationError(_("The country is a two-letter code such as FR."), field="country")
    website = (website or "").strip() or None
    if website and not website.startswith(("http://", "https://")):
        raise OrganisationError(_("The website must start with http:// or https://."), field="website")
    return {"name": name, "kind": kind, "country": country, "identifier": (identifier or "").strip() or None, "website": website}


def create_organisation(
    name: str, kind: str, country: str = "FR", identifier: str | None = None, website: str | None = None, founder: Any | None = None
) -> Organisation:
    """Create an organisation; its founder (if given) becomes an officer. Raise OrganisationError on bad input or a taken name."""
    fields = _clean_org_fields(name, kind, country, identifier, website)
    if db.session.scalar(sa.select(Organisation.id).where(sa.func.lower(Organisation.name) == fields["name"].lower())) is not None:
        raise OrganisationError(_("An organisation named %(name)s already exists.", name=fields["name"]), field="name")
    org = Organisation(**fields)
    with expect_duplicate(Organisation.__table__, {"name"}, _("An organisation named %(name)s already exists.", name=fields["name"])):
        db.session.add(org)
    if founder is not None:
        add_member(org, founder, MemberRole.OFFICER.value)
    return org


def update_organisation(actor: Any, org: Organisation, **fields: Any) -> Organisation:
    """Edit an organisation's details (officers and administrators)."""
    if not can_manage_organisation(actor, org):
        raise NotPermitted(_("Only the organisation's officers can edit it."))
    clean = _clean_org_fields(fields["name"], fields["kind"], fields["country"], fields.get("identifier"), fields.get("website"))
    taken = db.session.scalar(sa.select(Organisation.id).where(sa.func.lower(Organisation.name) == clean["name"].lower(), Organisation.id != org.id))
    if taken is not None:
        raise OrganisationError(_("An organisation named %(name)s already exists.", name=clean["name"]), field="name")
    for key, value in clean.items():
        setattr(org, key, value)
    db.session.flush()
    return org


def add_member(organisation: Organisation, user: Any, role: str) -> Membership:
    """Make ``user`` a member of ``organisation`` with ``role`` (officer or contributor)."""
    if role not in {r.value for r in MemberRole}:
        raise OrganisationError(_("Unknown member role: %(role)s.", role=role))
    if member_role(user, organisation.id) is not None:
        raise OrganisationError(_("%(name)s is already a member.", name=user.name))
    membership = Membership(organisation=organisation, user=user, role=role)
    db.session.add(membership)
    db.session.flush()
    return membership


INVITATION_DAYS = 30


def invite_member(actor: Any, organisation: Organisation, email: str, role: str, now: datetime | None = None) -> Invitation:
    """An officer invites the person with ``email`` to join as ``role``; they become a member only once they accept.

    The answer is the same whether or not anyone has an account with that address: nothing is learnt of others'
    accounts. Inviting again renews the pending invitation.
    """
    if not can_manage_organisation(actor, organisation):
        raise NotPermitted(_("Only the organisation's officers can invite members."))
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email):
        raise OrganisationError(_("Give an e-mail address."), field="email")
    if role not in {r.value for r in MemberRole}:
        raise OrganisationError(_("Unknown member role: %(role)s.", role=role), field="role")
    now = now or utcnow()
    pending = db.session.scalar(
        sa.select(Invitation).where(Invitation.organisation_id == organisation.id, Invitation.email == email, Invitation.answered_at.is_(None))
    )
    if pending is None:
        pending = Invitation(organisation_id=organisation.id, email=email, invited_by_id=actor.id, created_at=now)
        db.session.add(pending)
    pending.role, pending.expires_at = role, now + timedelta(days=INVITATION_DAYS)
    db.session.flush()
    return pending


def _actor_ok(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and getattr(user, "id", None) is not None


def pending_invitations(user: Any, now: datetime | None = None) -> list[Invitation]:
    """The invitations waiting for ``user`` (sent to their address, unanswered, not expired)."""
    if not _actor_ok(user):
        return []
    now = now or utcnow()
    return list(
        db.session.scalars(
            sa.select(Invitation).where(Invitation.email == user.email, Invitation.answered_at.is_(None), Invitation.expires_at > now).order_by(Invitation.id)
        )
    )


def organisation_invitations(organisation: Organisation, now: datetime | None = None) -> list[Invitation]:
    """The organisation's invitations still waiting for an answer (for its officers)."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            sa.select(Invitation)
            .where(Invitation.organisation_id == organisation.id, Invitation.answered_at.is_(None), Invitation.expires_at > now)
            .order_by(Invitation.id)
        )
    )


def answer_invitation(actor: Any, invitation_id: int, accept: bool, now: datetime | None = None) -> Invitation:
    """The invited person accepts (and becomes a member) or declines; only the person the address belongs to may.

    The invitation's row is locked first, so two answers at once give one membership and a 409, never a duplicate.
    """
    invitation = lock_row(Invitation, invitation_id)
    now = now or utcnow()
    if invitation is None or not _actor_ok(actor) or invitation.email != actor.email:
        raise NotFound(_("There is no such invitation for you."))
    if invitation.answered_at is not None:
        raise InvitationConflict(_("You have already answered this invitation."))
    if invitation.expires_at <= now:
        raise InvitationConflict(_("This invitation has expired: ask the organisation's officers to invite you again."))
    invitation.answered_at, invitation.accepted = now, accept
    if accept and member_role(actor, invitation.organisation_id) is None:
        add_member(invitation.organisation, actor, invitation.role)
    db.session.flush()
    return invitation


def change_member_role(actor: Any, organisation: Organisation, user_id: int, role: str | None) -> None:
    """Change a member's role, or remove them (role None); the last officer cannot be removed or demoted."""
    if not can_manage_organisation(actor, organisation):
        raise NotPermitted(_("Only the organisation's officers can manage its members."))
    membership = db.session.get(Membership, (user_id, organisation.id))
    if membership is None:
        raise OrganisationError(_("This person is not a member."))
    if role is not None and role not in {r.value for r in MemberRole}:
        raise OrganisationError(_("Unknown member role: %(role)s.", role=role))
    if membership.role == MemberRole.OFFICER.value and role != MemberRole.OFFICER.value:
        officers = db.session.scalar(
            sa.select(sa.func.count()).select_from(Membership).where(Membership.organisation_id == organisation.id, Membership.role == MemberRole.OFFICER.value)
        )
        if officers <= 1:
            raise OrganisationError(_("An organisation keeps at least one officer: appoint another one first."))
    if role is None:
        db.session.delete(membership)
    else:
        membership.role = role
    db.session.flush()


def organisation_ids(user: Any, role: str | None = None) -> sa.Select:
    """SQL selectable of the ids of the organisations ``user`` belongs to (with ``role`` if given)."""
    query = sa.select(Membership.organisation_id).where(Membership.user_id == user.id)
    return query.where(Membership.role == role) if role else query


def user_organisations(user: Any) -> list[Organisation]:
    """The organisations ``user`` belongs to, by name."""
    return list(db.session.scalars(sa.select(Organisation).where(Organisation.id.in_(organisation_ids(user))).order_by(Organisation.name)))


def member_role(user: Any, organisation_id: int) -> str | None:
    """``user``'s role in the organisation, or None."""
    if user is None or not getattr(user, "is_authenticated", False) or getattr(user, "id", None) is None:
        return None
    return memberships_of([user.id])[user.id].get(organisation_id)


def memberships_of(user_ids: Iterable[int]) -> dict[int, dict[int, str]]:
    """User id -> (organisation id -> role) of their memberships: one query per transaction for all the people asked
    about, however often they are asked."""
    return remember_by(
        "memberships",
        (Membership,),
        user_ids,
        lambda ids: sa.select(Membership.user_id, Membership.organisation_id, Membership.role).where(Membership.user_id.in_(ids)),
        dict,
    )


def is_member(user: Any, organisation_id: int) -> bool:
    """Whether ``user`` is a member (officer or contributor) of the organisation."""
    return member_role(user, organisation_id) is not None


def is_officer(user: Any, organisation_id: int) -> bool:
    """Whether ``user`` may sign on behalf of the organisation."""
    return member_role(user, organisation_id) == MemberRole.OFFICER.value


def can_manage_organisation(user: Any, organisation: Organisation) -> bool:
    """Officers and administrators edit an organisation and its members."""
    return is_officer(user, organisation.id) or bool(getattr(user, "is_authenticated", False) and user.has_role("admin"))


def members(organisation: Organisation) -> list[Membership]:
    """The members of an organisation with their users, officers first."""
    return remember(
        ("members", organisation.id),
        (Membership,),
        lambda: list(
            db.session.scalars(
                sa.select(Membership)
                .where(Membership.organisation_id == organisation.id)
                .options(sa.orm.joinedload(Membership.user).lazyload(User.role_rows))
                .order_by(Membership.role.desc(), Membership.joined_at)
            )
        ),
    )


# -- stored files --------------------------------------------------------------------------------------------------
def evidence_root() -> Path:
    """Where evidence files are stored (content-addressed)."""
    return Path(current_app.config.get("GOVFLOW_EVIDENCE_DIR") or Path(current_app.instance_path) / "evidence")


def store_file(actor: Any, data: bytes, checked: CheckedUpload, now: datetime | None = None) -> dict[str, Any]:
    """Store a content-checked upload under its content address; return the columns of a file row (``StoredFile``)."""
    path = store(evidence_root(), data, checked)
    return {
        "sha256": checked.sha256,
        "size": checked.size,
        "mime": checked.mime,
        "original_name": checked.original_name,
        "storage_name": str(path.relative_to(evidence_root())),
        "added_by_id": actor.id,
        "added_at": now or utcnow(),
    }
