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

from ..charters.services import is_member
from ..extensions import db
from ..memo import keep, known, remember
from .models import Application, EvaluatorExclusion, ProgrammeEvaluator, ProgrammeManager


def signed_in(user: Any) -> bool:
    """Whether ``user`` is a signed-in person (not anonymous, not a half-built object)."""
    return user is not None and getattr(user, "is_authenticated", False) and getattr(user, "id", None) is not None


def _programmes_of(model: Any, user_id: int) -> set[int]:
    """Ids of the programmes ``user_id`` manages (ProgrammeManager) or evaluates (ProgrammeEvaluator): one query per
    transaction, however many applications a page checks."""
    return remember((model.__tablename__, user_id), (model,), lambda: set(db.session.scalars(sa.select(model.programme_id).where(model.user_id == user_id))))


def prefetch_standing(user_ids: Iterable[int]) -> None:
    """Load in a few queries what ``can_see_application`` asks of each of many people: their memberships, the
    programmes they manage and evaluate, the applications they are excluded from, their declarations of interest."""
    from ..charters.services import prefetch_memberships
    from ..reviews.services import prefetch_declarations

    ids = sorted({u for u in user_ids if u is not None})
    prefetch_memberships(ids)
    prefetch_declarations(ids)
    for model in (ProgrammeManager, ProgrammeEvaluator):
        missing = [u for u in ids if not known((model.__tablename__, u))]
        if missing:
            found: dict[int, set[int]] = {u: set() for u in missing}
            for user_id, programme_id in db.session.execute(sa.select(model.user_id, model.programme_id).where(model.user_id.in_(missing))):
                found[user_id].add(programme_id)
            keep({(model.__tablename__, u): programmes for u, programmes in found.items()}, (model,))
    missing = [u for u in ids if not known(("excluded_from", u))]
    if missing:
        excluded: dict[int, set[int]] = {u: set() for u in missing}
        for user_id, application_id in db.session.execute(
            sa.select(EvaluatorExclusion.user_id, EvaluatorExclusion.application_id).where(EvaluatorExclusion.user_id.in_(missing))
        ):
            excluded[user_id].add(application_id)
        keep({("excluded_from", u): apps for u, apps in excluded.items()}, (EvaluatorExclusion,))


def is_manager(user: Any, programme_id: int) -> bool:
    """Whether ``user`` manages the programme."""
    return signed_in(user) and programme_id in _programmes_of(ProgrammeManager, user.id)


def is_evaluator(user: Any, programme_id: int) -> bool:
    """Whether ``user`` is assigned to evaluate the programme's applications."""
    return signed_in(user) and programme_id in _programmes_of(ProgrammeEvaluator, user.id)


def is_team(user: Any, application: Application) -> bool:
    """Whether ``user`` belongs to the applying organisation (the laureate's team)."""
    return signed_in(user) and is_member(user, application.organisation_id)


def manages(user: Any, application: Application) -> bool:
    """Whether ``user`` manages the application's programme and is independent of the applicant."""
    return is_manager(user, application.programme_id) and not is_member(user, application.organisation_id)


def is_excluded(user: Any, application: Application) -> bool:
    """Whether ``user`` is excluded from the application (recorded, or a conflict in their current declaration)."""
    from .services import conflict_reason  # the conflict rule reads declared interests, a service of its own

    if not signed_in(user):
        return False
    if application.id in remember(
        ("excluded_from", user.id),
        (EvaluatorExclusion,),
        lambda: set(db.session.scalars(sa.select(EvaluatorExclusion.application_id).where(EvaluatorExclusion.user_id == user.id))),
    ):
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
