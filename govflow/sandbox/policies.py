"""Who may read and act on what of a sandbox programme, in one place: applications, laureates' roadmaps, milestones
and their files.

Every view, template and download asks these predicates; none restates the rule.

| reader                                          | draft application | submitted and after                    |
|-------------------------------------------------|-------------------|----------------------------------------|
| the applying organisation's members (the team)  | all               | all; roadmap questions                 |
| the programme's managers, independent of it     | —                 | all; roadmap planning and questions    |
| the programme's evaluators, not excluded        | —                 | all (scoring while it is open)         |
| evaluators excluded (recorded or by a conflict) | —                 | —                                      |
| administrators, anyone else                     | —                 | only what is public: a selection once  |
|                                                 |                   | announced, deliverables a published    |
|                                                 |                   | synthesis includes                     |

A milestone and its files follow their application. A manager who belongs to the applying organisation counts as its
team, never as its manager. An evaluator's exclusion is recorded when they step aside and follows, without a record,
from a declared interest naming the applicant or a partner.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from ..interests.services import current_declarations, declared_interest
from ..memo import remember_by
from ..organisations.services import is_member, memberships_of
from .models import Application, EvaluatorExclusion, ProgrammeEvaluator, ProgrammeManager


def signed_in(user: Any) -> bool:
    """Whether ``user`` is a signed-in person (not anonymous, not a half-built object)."""
    return user is not None and getattr(user, "is_authenticated", False) and getattr(user, "id", None) is not None


def _programmes_of(model: Any, user_ids: Iterable[int]) -> dict[int, set[int]]:
    """User id -> ids of the programmes they manage (ProgrammeManager) or evaluate (ProgrammeEvaluator)."""
    return remember_by(model.__tablename__, (model,), user_ids, lambda ids: sa.select(model.user_id, model.programme_id).where(model.user_id.in_(ids)), set)


def _excluded_from(user_ids: Iterable[int]) -> dict[int, set[int]]:
    """User id -> ids of the applications they are recorded as excluded from."""
    return remember_by(
        "excluded_from",
        (EvaluatorExclusion,),
        user_ids,
        lambda ids: sa.select(EvaluatorExclusion.user_id, EvaluatorExclusion.application_id).where(EvaluatorExclusion.user_id.in_(ids)),
        set,
    )


def prefetch_standing(user_ids: Iterable[int]) -> None:
    """Load in a few queries what ``can_see_application`` asks of each of many people: their memberships, the
    programmes they manage and evaluate, the applications they are excluded from, their declarations of interest."""
    ids = list(user_ids)
    memberships_of(ids)
    current_declarations(ids)
    _programmes_of(ProgrammeManager, ids)
    _programmes_of(ProgrammeEvaluator, ids)
    _excluded_from(ids)


def is_manager(user: Any, programme_id: int) -> bool:
    """Whether ``user`` manages the programme."""
    return signed_in(user) and programme_id in _programmes_of(ProgrammeManager, [user.id])[user.id]


def is_evaluator(user: Any, programme_id: int) -> bool:
    """Whether ``user`` is assigned to evaluate the programme's applications."""
    return signed_in(user) and programme_id in _programmes_of(ProgrammeEvaluator, [user.id])[user.id]


def is_team(user: Any, application: Application) -> bool:
    """Whether ``user`` belongs to the applying organisation (the laureate's team)."""
    return signed_in(user) and is_member(user, application.organisation_id)


def manages(user: Any, application: Application) -> bool:
    """Whether ``user`` manages the application's programme and is independent of the applicant."""
    return is_manager(user, application.programme_id) and not is_member(user, application.organisation_id)


def applicant_names(application: Application) -> list[str]:
    """The names an evaluator's declared interests are checked against: the applicant and the partners it names."""
    return [application.organisation.name, *application.partners]


def conflict_reason(user_id: int, application: Application) -> str | None:
    """Why the evaluator is conflicted on this application (their declared interests), or None."""
    return declared_interest(user_id, applicant_names(application))


def is_excluded(user: Any, application: Application) -> bool:
    """Whether ``user`` is excluded from the application (recorded, or a conflict in their current declaration)."""
    if not signed_in(user):
        return False
    if application.id in _excluded_from([user.id])[user.id]:
        return True
    return conflict_reason(user.id, application) is not None


def is_draft(application: Application) -> bool:
    """Whether the application is still its team's draft."""
    return application.instance.status == "draft"


def can_see_application(user: Any, application: Application) -> bool:
    """Whether ``user`` may read the application, its roadmap, its milestones and their files: the team always; once
    submitted, the programme's independent managers and its evaluators who are not excluded; nobody else."""
    if not signed_in(user):
        return False
    if is_team(user, application):
        return True
    if is_draft(application):
        return False
    if manages(user, application):
        return True
    return is_evaluator(user, application.programme_id) and not is_excluded(user, application)


def is_roadmap_party(user: Any, application: Application) -> bool:
    """Whether ``user`` discusses the roadmap (raises and answers its questions): the team or the independent
    managers."""
    return is_team(user, application) or manages(user, application)
