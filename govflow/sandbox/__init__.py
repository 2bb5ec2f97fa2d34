"""Sandbox programmes: calls, applications and their evaluation, laureates' roadmaps and milestones, cohort tracking,
and what they plug into the workflow layer."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ..instances.registry import Subject, WorkflowRegistry


def register(registry: WorkflowRegistry) -> None:
    """Register the sandbox relations, guards, history hook, subjects, inbox section and overdue flags."""
    from ..charters.services import organisation_ids
    from ..engine import utcnow
    from . import policies, roadmaps, services
    from .models import Application, Milestone

    def application_of(instance):
        """The application an instance is about: itself, or the one a milestone belongs to."""
        if instance.id is None:
            return None
        if instance.subject_kind == "application":
            return services.application_for_instance(instance.id)
        if instance.subject_kind == "milestone":
            milestone = services.milestone_for_instance(instance.id)
            return milestone.application if milestone is not None else None
        return None

    def instance_ids(application_filter):
        """Instance ids of the applications matching ``application_filter`` and of their milestones (one selectable)."""
        return sa.union(
            sa.select(Application.instance_id).where(application_filter),
            sa.select(Milestone.instance_id).join(Application, Application.id == Milestone.application_id).where(application_filter),
        )

    def team(user, instance) -> bool:
        application = application_of(instance)
        return application is not None and policies.is_team(user, application)

    def manager(user, instance) -> bool:
        application = application_of(instance)
        return application is not None and policies.manages(user, application)

    registry.relation("applicant_team", team, lambda user: instance_ids(Application.organisation_id.in_(organisation_ids(user))))
    registry.relation(
        "sandbox_manager",
        manager,
        lambda user: instance_ids(
            sa.and_(Application.programme_id.in_(services.managed_programme_ids(user)), Application.organisation_id.not_in(organisation_ids(user)))
        ),
    )

    @registry.guard("call_open")
    def call_open(context):
        return services.call_refusal(application_of(context.instance).programme, context.now.date() if context.now else None)

    @registry.guard("application_complete")
    def application_complete(context):
        missing = services.missing_for_submission(application_of(context.instance))
        return _l("Complete the application first: %(missing)s.", missing="; ".join(missing)) if missing else None

    @registry.guard("audition_date_set")
    def audition_date_set(context):
        return None if application_of(context.instance).audition_at else _l("Set the audition's date, time and place first.")

    @registry.guard("scored")
    def scored(context):
        application = application_of(context.instance)
        if services.counted_sheets([application.id])[application.id]:
            return None
        return _l("At least one evaluator who is not excluded must score the application on the grid first.")

    @registry.guard("cohort_has_room")
    def cohort_has_room(context):
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

    @registry.guard("roadmap_planned")
    def roadmap_planned(context):
        counts = roadmaps.milestone_counts(application_of(context.instance))
        return None if counts["total"] else _l("Plan at least one milestone on the laureate's roadmap first.")

    @registry.guard("roadmap_settled")
    def roadmap_settled(context):
        still_open = roadmaps.milestone_counts(application_of(context.instance))["open"]
        return _l("%(n)s milestone(s) are still open: accept or cancel them first.", n=still_open) if still_open else None

    @registry.guard("synthesis_published")
    def synthesis_published(context):
        if application_of(context.instance).programme.synthesis_published_at is None:
            return _l("The programme's synthesis is not published yet.")
        return None

    @registry.guard("support_running")
    def support_running(context):
        if application_of(context.instance).instance.status != "in_support":
            return _l("A milestone can only progress while the laureate's support is running.")
        return None

    @registry.guard("deliverable_attached")
    def deliverable_attached(context):
        milestone = services.milestone_for_instance(context.instance.id)
        if milestone.kind != "deliverable" or roadmaps.milestone_files(milestone):
            return None
        return _l("Attach the deliverable's file before submitting it.")

    def on_history(instance, row, event) -> None:
        if instance.subject_kind == "application":
            application = application_of(instance)
            if application is None:  # the start row is written before the application exists
                return
            if row.to_state == "submitted":
                application.submitted_at = row.at
            elif row.to_state == "shortlisted":
                services.refresh_exclusions(application, row.at)
            elif row.to_state == "selected":
                application.selected_at = row.at
                roadmaps.create_axes(application, row.at)
            elif row.to_state == "withdrawn":
                roadmaps.cancel_open_milestones(application, event.inputs.get("reason", "") if event is not None else "", row.at)
        elif instance.subject_kind == "milestone" and row.to_state == "accepted":
            milestone = services.milestone_for_instance(instance.id)
            milestone.accepted_at = row.at

    registry.on_history(on_history)

    def organisation_claims(application):
        org = application.organisation
        programme = application.programme
        return {
            "organisation": {"name": org.name, "kind": org.kind, "country": org.country, "identifier": org.identifier},
            "programme": {"theme": dict(programme.theme), "edition": programme.edition},
            "project": application.title,
        }

    def application_claims(instance):
        application = application_of(instance)
        claims = organisation_claims(application)
        sheets = services.counted_sheets([application.id])[application.id]
        if instance.status == "selected":
            # No floats in credentials (verifiers in other languages could serialise them differently): a decimal string.
            score = services.ranking_of(application.programme, [application.id])[application.id].score
            claims["evaluation"] = {"sheets": len(sheets), "weightedScore": f"{score:.1f}/100" if score is not None else None}
        return claims

    def milestone_claims(instance):
        milestone = services.milestone_for_instance(instance.id)
        claims = organisation_claims(milestone.application)
        claims["axis"] = dict(milestone.axis.title)
        claims["milestone"] = {"kind": milestone.kind, "title": milestone.title, "dueOn": milestone.due_on.isoformat()}
        files = roadmaps.milestone_files(milestone)
        if files:
            claims["documents"] = [{"name": f.original_name, "mediaType": f.mime, "digestSHA256": f.sha256} for f in files]
        return claims

    def load_application(instance):
        application = application_of(instance)
        return {"application": application}

    def load_milestone(instance):
        milestone = services.milestone_for_instance(instance.id) if instance.id is not None else None
        return {"milestone": milestone}

    def can_view(user, instance) -> bool:
        application = application_of(instance)
        return application is not None and policies.can_see_application(user, application)

    def application_public(instance) -> bool:
        # Laureates are announced: their selection (and, if it happens, its revocation) is public.
        application = application_of(instance)
        return application is not None and application.selected_at is not None

    def milestone_public(instance) -> bool:
        # An accepted deliverable becomes public when the programme's published synthesis includes it.
        milestone = services.milestone_for_instance(instance.id)
        programme = milestone.application.programme if milestone is not None else None
        return programme is not None and programme.synthesis_published_at is not None and milestone.id in (programme.synthesis_milestones or [])

    # A laureate's application and roadmap are confidential: its team, the programme's managers and its evaluators who
    # are not excluded see them; nobody else, administrators included.
    registry.subject(
        Subject("application", "sandbox/_application_panel.html", load_application, can_view, application_claims, application_public, confidential=True)
    )
    registry.subject(Subject("milestone", "sandbox/_milestone_panel.html", load_milestone, can_view, milestone_claims, milestone_public, confidential=True))
    registry.inbox_section("sandbox/_inbox.html", services.inbox)
    registry.on_tick(lambda now: roadmaps.flag_overdue_milestones(now or utcnow()))
    services.log_sources(registry)
