"""What sandbox programmes lend the workflow layer (``workflows/application.yaml``, ``workflows/milestone.yaml``):
relations, guards, effects and subjects, each a top-level function found by the name the YAML gives it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ..engine import utcnow
from ..instances.registry import Act, Plugin, Subject, cached
from ..organisations.services import organisation_ids
from . import policies, roadmaps, services
from .models import Application, Milestone

plugin = Plugin("sandbox")


def milestone_of(instance: Any) -> Milestone | None:
    """The milestone an instance is the lifecycle of (loaded once per instance object)."""
    if instance.id is None or instance.subject_kind != "milestone":
        return None
    return cached(instance, "milestone", lambda: services.milestone_for_instance(instance.id))


def application_of(instance: Any) -> Application | None:
    """The application an instance is about: itself, or the one a milestone belongs to (loaded once)."""
    if instance.id is None:
        return None
    if instance.subject_kind == "application":
        return cached(instance, "application", lambda: services.application_for_instance(instance.id))
    milestone = milestone_of(instance)
    return milestone.application if milestone is not None else None


def _instance_ids(application_filter: Any) -> Any:
    """Instance ids of the applications matching ``application_filter`` and of their milestones (one selectable)."""
    return sa.union(
        sa.select(Application.instance_id).where(application_filter),
        sa.select(Milestone.instance_id).join(Application, Application.id == Milestone.application_id).where(application_filter),
    )


# -- relations ---------------------------------------------------------------------------------------------------
@plugin.relation("applicant_team", lambda user: _instance_ids(Application.organisation_id.in_(organisation_ids(user))))
def applicant_team(user: Any, instance: Any) -> bool:
    """A member of the applying organisation (the laureate's team)."""
    application = application_of(instance)
    return application is not None and policies.is_team(user, application)


@plugin.relation(
    "sandbox_manager",
    lambda user: _instance_ids(
        sa.and_(Application.programme_id.in_(services.managed_programme_ids(user)), Application.organisation_id.not_in(organisation_ids(user)))
    ),
)
def sandbox_manager(user: Any, instance: Any) -> bool:
    """A manager of the programme, independent of the applicant."""
    application = application_of(instance)
    return application is not None and policies.manages(user, application)


# -- guards ------------------------------------------------------------------------------------------------------
@plugin.guard("call_open")
def call_open(context: Any) -> Any:
    """The programme's call is open on the day of the step."""
    return services.call_refusal(application_of(context.instance).programme, context.now.date() if context.now else None)


@plugin.guard("application_complete")
def application_complete(context: Any) -> Any:
    """The application has a summary and a declaration for each eligibility criterion."""
    missing = services.missing_for_submission(application_of(context.instance))
    return _l("Complete the application first: %(missing)s.", missing="; ".join(missing)) if missing else None


@plugin.guard("audition_date_set")
def audition_date_set(context: Any) -> Any:
    """The audition has a date, a time and a place."""
    return None if application_of(context.instance).audition_at else _l("Set the audition's date, time and place first.")


@plugin.guard("scored")
def scored(context: Any) -> Any:
    """At least one evaluator who is not excluded scored the application."""
    application = application_of(context.instance)
    if services.counted_sheets([application.id])[application.id]:
        return None
    return _l("At least one evaluator who is not excluded must score the application on the grid first.")


@plugin.guard("cohort_has_room")
def cohort_has_room(context: Any) -> Any:
    """The cohort has a place left."""
    # Two managers selecting two applications at once must not both take the last place: the programme's row is
    # locked (PostgreSQL) so the second selection counts after the first one committed.
    programme = application_of(context.instance).programme
    if context.now is not None:  # a step being taken, not a page asking which buttons to show
        programme = services.lock_programme(programme.id)
    if services.laureate_count(programme.id) < programme.cohort_size:
        return None
    return ngettext(
        "The cohort is full: the programme takes %(num)d laureate.", "The cohort is full: the programme takes %(num)d laureates.", programme.cohort_size
    )


@plugin.guard("roadmap_planned")
def roadmap_planned(context: Any) -> Any:
    """The laureate's roadmap has at least one milestone."""
    counts = roadmaps.milestone_counts(application_of(context.instance))
    return None if counts["total"] else _l("Plan at least one milestone on the laureate's roadmap first.")


@plugin.guard("roadmap_settled")
def roadmap_settled(context: Any) -> Any:
    """No milestone of the roadmap is still open."""
    still_open = roadmaps.milestone_counts(application_of(context.instance))["open"]
    return _l("%(n)s milestone(s) are still open: accept or cancel them first.", n=still_open) if still_open else None


@plugin.guard("synthesis_published")
def synthesis_published(context: Any) -> Any:
    """The programme's public synthesis is published."""
    if application_of(context.instance).programme.synthesis_published_at is None:
        return _l("The programme's synthesis is not published yet.")
    return None


@plugin.guard("support_running")
def support_running(context: Any) -> Any:
    """The laureate's support is running (its application is in support)."""
    if application_of(context.instance).instance.status != "in_support":
        return _l("A milestone can only progress while the laureate's support is running.")
    return None


@plugin.guard("deliverable_attached")
def deliverable_attached(context: Any) -> Any:
    """A deliverable has its file attached."""
    milestone = milestone_of(context.instance)
    if milestone.kind != "deliverable" or roadmaps.milestone_files(milestone):
        return None
    return _l("Attach the deliverable's file before submitting it.")


# -- effects -----------------------------------------------------------------------------------------------------
@plugin.effect("stamp_submission")
def stamp_submission(act: Act) -> None:
    """The application records when it was submitted."""
    application_of(act.instance).submitted_at = act.at


@plugin.effect("refresh_exclusions")
def refresh_exclusions(act: Act) -> None:
    """Evaluators whose declared interests name the applicant or a partner are excluded (recorded, with the reason)."""
    services.refresh_exclusions(application_of(act.instance), act.at)


@plugin.effect("stamp_selection")
def stamp_selection(act: Act) -> None:
    """The application records when it was selected (the laureate is announced)."""
    application_of(act.instance).selected_at = act.at


@plugin.effect("create_roadmap_axes")
def create_roadmap_axes(act: Act) -> None:
    """The laureate's roadmap gets the programme's work axes."""
    roadmaps.create_axes(application_of(act.instance), act.at)


@plugin.effect("cancel_open_milestones")
def cancel_open_milestones(act: Act) -> None:
    """Every open milestone of the roadmap is cancelled, with the withdrawal's reason."""
    roadmaps.cancel_open_milestones(application_of(act.instance), act.inputs.get("reason", ""), act.at)


@plugin.effect("stamp_acceptance")
def stamp_acceptance(act: Act) -> None:
    """The milestone records when it was accepted."""
    milestone_of(act.instance).accepted_at = act.at


# -- subjects ----------------------------------------------------------------------------------------------------
def _organisation_claims(application: Application) -> dict:
    org = application.organisation
    programme = application.programme
    return {
        "organisation": {"name": org.name, "kind": org.kind, "country": org.country, "identifier": org.identifier},
        "programme": {"theme": dict(programme.theme), "edition": programme.edition},
        "project": application.title,
    }


def application_claims(instance: Any) -> dict:
    """What an application's attestation says: who applied with which project; once selected, its evaluation."""
    application = application_of(instance)
    claims = _organisation_claims(application)
    sheets = services.counted_sheets([application.id])[application.id]
    if instance.status == "selected":
        # No floats in credentials (verifiers in other languages could serialise them differently): a decimal string.
        score = services.ranking_of(application.programme, [application.id])[application.id].score
        claims["evaluation"] = {"sheets": len(sheets), "weightedScore": f"{score:.1f}/100" if score is not None else None}
    return claims


def milestone_claims(instance: Any) -> dict:
    """What a milestone's attestation says: its axis, kind, title, due date, and the files delivered."""
    milestone = milestone_of(instance)
    claims = _organisation_claims(milestone.application)
    claims["axis"] = dict(milestone.axis.title)
    claims["milestone"] = {"kind": milestone.kind, "title": milestone.title, "dueOn": milestone.due_on.isoformat()}
    files = roadmaps.milestone_files(milestone)
    if files:
        claims["documents"] = [{"name": f.original_name, "mediaType": f.mime, "digestSHA256": f.sha256} for f in files]
    return claims


def load_application(instance: Any) -> dict:
    return {"application": application_of(instance)}


def load_milestone(instance: Any) -> dict:
    return {"milestone": milestone_of(instance)}


def application_panel(actor: Any, instance: Any) -> dict:
    """What the application's panel offers ``actor`` (``can``, see ``services.CanApplication``) and the rows it opens:
    what the draft still lacks (its team), the evaluators excluded (its managers and evaluators)."""
    application = application_of(instance)
    can = services.application_permissions(actor, application)
    return {
        "can": can,
        "missing": services.missing_for_submission(application) if can.edit_application else [],
        "exclusions": services.exclusions(application) if can.see_evaluation else [],
    }


def milestone_panel(actor: Any, instance: Any) -> dict:
    """What the milestone's panel offers ``actor`` (``can``, see ``services.CanMilestone``), its files for those who
    see the roadmap, and whether it is flagged overdue."""
    milestone = milestone_of(instance)
    can = services.milestone_permissions(actor, milestone)
    return {
        "can": can,
        "files": roadmaps.milestone_files(milestone) if can.see_roadmap else [],
        "is_overdue": milestone is not None and services.is_flagged_overdue(milestone),
    }


def can_view(user: Any, instance: Any) -> bool:
    application = application_of(instance)
    return application is not None and policies.can_see_application(user, application)


def application_public(instance: Any) -> bool:
    # Laureates are announced: their selection (and, if it happens, its revocation) is public.
    application = application_of(instance)
    return application is not None and application.selected_at is not None


def milestone_public(instance: Any) -> bool:
    # An accepted deliverable becomes public when the programme's published synthesis includes it.
    milestone = milestone_of(instance)
    programme = milestone.application.programme if milestone is not None else None
    return programme is not None and programme.synthesis_published_at is not None and milestone.id in (programme.synthesis_milestones or [])


# A laureate's application and roadmap are confidential: its team, the programme's managers and its evaluators who
# are not excluded see them; nobody else, administrators included.
plugin.subject(
    Subject(
        "application",
        "sandbox/_application_panel.html",
        load_application,
        can_view,
        application_claims,
        application_public,
        confidential=True,
        model=Application,
        panel=application_panel,
    )
)
plugin.subject(
    Subject(
        "milestone",
        "sandbox/_milestone_panel.html",
        load_milestone,
        can_view,
        milestone_claims,
        milestone_public,
        confidential=True,
        model=Milestone,
        panel=milestone_panel,
    )
)
plugin.inbox_section("sandbox/_inbox.html", services.inbox)
plugin.on_tick(lambda now: roadmaps.flag_overdue_milestones(now or utcnow()))
services.log_sources(plugin)
