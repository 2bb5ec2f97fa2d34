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
moves (the recusal is recorded there), never the dossier.
"""

from __future__ import annotations

from typing import Any

from ..charters.services import is_member
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
        return True
    return is_holder(user, referral)


def can_lead(user: Any, referral: Referral) -> bool:
    """Whether ``user`` leads the referral's examination: its committee's secretary or chair, not recused."""
    return _signed_in(user) and services.committee_role(user, referral.committee_id) in ("secretary", "chair") and not services.is_recused(user, referral)
