"""What a person may do with a commitment, in one place, as named answers the pages ask.

The states that allow each act are the services' (``services.EDITABLE_STATES``, ``services.EVIDENCE_STATES``), which
refuse the same acts; templates read the answers and compare no state.

| act                              | who                                   | states                                  |
|----------------------------------|---------------------------------------|-----------------------------------------|
| edit the commitment              | the organisation's members            | draft                                   |
| attach evidence (file or address)| the organisation's members            | draft to verified, renewal due, renewed |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..organisations.services import is_member
from .models import Commitment
from .services import EDITABLE_STATES, EVIDENCE_STATES


@dataclass(frozen=True)
class CanCommitment:
    """What the commitment's panel offers one person."""

    edit_commitment: bool = False
    attach_evidence: bool = False


def commitment_permissions(actor: Any, commitment: Commitment | None) -> CanCommitment:
    """What ``actor`` may do with ``commitment`` now (their memberships are remembered for the request)."""
    if commitment is None or not is_member(actor, commitment.organisation_id):
        return CanCommitment()
    status = commitment.instance.status
    return CanCommitment(edit_commitment=status in EDITABLE_STATES, attach_evidence=status in EVIDENCE_STATES)
