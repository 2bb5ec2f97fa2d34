"""Services of sandbox programmes: programmes and calls, applications, evaluators and their independence, scoring and
ranking, laureates' roadmaps (axes, milestones, files, questions), the cohort dashboard, overdue flags, the synthesis.

They take the actor, flush, and never commit. Refusals raise SandboxError (422), SandboxConflict (409) or
NotPermitted (403) with a sentence a person understands.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from .. import bounds
from ..accounts.models import User
from ..attestations import entries, log
from ..attestations.models import Attestation
from ..engine import NotPermitted, Refused, utcnow
from ..extensions import db, lock_row
from ..instances.models import WorkflowInstance
from ..instances.services import Page, fire_transition, start_instance
from ..interests.services import interest_checker, interest_checkers, interest_reason
from ..memo import remember
from ..organisations.models import Organisation
from ..organisations.services import is_member, organisation_ids
from . import ranking
from .models import (
    SCORE_MAX,
    Application,
    EvaluatorExclusion,
    Milestone,
    Programme,
    ProgrammeEvaluator,
    ProgrammeManager,
    Score,
)
from .policies import applicant_names, conflict_reason, is_evaluator, is_manager, is_team, manages
from .policies import can_see_application as can_see_files

APPLICATION_WORKFLOW = "application"
MILESTONE_WORKFLOW = "milestone"
SCORING_STATES = ("shortlisted", "audition_scheduled", "audition_held")
AUDITION_STATES = ("shortlisted", "audition_scheduled")
LAUREATE_STATES = ("selected", "in_support", "completed", "synthesis_published")
ROADMAP_STATES = ("selected", "in_support", "completed", "synthesis_published")
PLANNING_STATES = ("selected", "in_support")
OPEN_MILESTONE_STATES = ("planned", "in_progress", "submitted", "rework_requested")
FILE_STATES = ("planned", "in_progress", "rework_requested")
UPCOMING_DAYS = 30
LIST_LIMIT = 50


class SandboxError(Refused):
    """Input refused by a sandbox service; the message says why."""

    status = 422


class SandboxConflict(SandboxError):
    """An action that conflicts with the current state of a programme, application or milestone."""

    status = 409


def _actor_ok(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and getattr(user, "id", None) is not None


def required_text(value: str | None, what: str, limit: int, minimum: int = 1) -> str:
    """``value`` stripped, refused when shorter than ``minimum`` or longer than ``limit`` characters."""
    value = (value or "").strip()
    if len(value) < minimum:
        raise SandboxError(_("%(what)s is required.", what=what) if minimum == 1 else _("%(what)s needs at least %(n)s characters.", what=what, n=minimum))
    if len(value) > limit:
        raise SandboxError(_("%(what)s is longer than %(n)s characters.", what=what, n=limit))
    return value


def bilingual(en: str | None, fr: str | None, what: str, limit: int) -> dict[str, str]:
    """An English and French text, both required."""
    return {"en": required_text(en, _("%(what)s (English)", what=what), limit), "fr": required_text(fr, _("%(what)s (French)", what=what), limit)}


# -- programmes --------------------------------------------------------------------------------------------------
def slug_key(text: str, taken: set[str]) -> str:
    """A short identifier made from ``text`` (lower case, ASCII), unique among ``taken``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    base = "_".join(re.findall(r"[a-z0-9]+", ascii_text)[:5])[:48] or "item"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    taken.add(key)
    return key


def _rows(value: str | list | tuple | None, columns: int) -> list[tuple[int, list[str]]]:
    """Numbered rows of ``columns`` texts: from lines of text separated by | (the command line, the demo, older callers)
    or from the form's rows (dicts with en, fr and, for the grid, weight). Empty rows are left out."""
    keys = ("en", "fr", "weight")[:columns]
    if isinstance(value, list | tuple):
        rows = [[("" if row.get(k) is None else str(row.get(k))).strip() for k in keys] for row in value]
    else:
        rows = [[p.strip() for p in line.split("|")] for line in (value or "").splitlines()]
    return [(number, row) for number, row in enumerate(rows, start=1) if any(row)]


def parse_bilingual_lines(text: str | list | None, what: str, field: str | None = None) -> list[dict]:
    """Rows "English | Français" (lines of text or the form's rows) into [{"key", "title": {en, fr}}]; both languages
    are required on each row."""
    out, taken = [], set()
    for number, parts in _rows(text, 2):
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise SandboxError(_("%(what)s, row %(n)s: write the text in English and in French.", what=what, n=number), field=field)
        en, fr = parts
        if len(en) > 300 or len(fr) > 300:
            raise SandboxError(_("%(what)s, row %(n)s: each text is at most 300 characters.", what=what, n=number), field=field)
        out.append({"key": slug_key(en, taken), "title": {"en": en, "fr": fr}})
    if not out:
        raise SandboxError(_("%(what)s: write at least one row.", what=what), field=field)
    return out


def parse_grid(text: str | list | None) -> list[dict]:
    """Rows "English | Français | weight" (lines of text or the form's rows) into the selection grid
    [{"key", "title": {en, fr}, "weight"}]."""
    what = _("Selection grid")
    out, taken = [], set()
    for number, parts in _rows(text, 3):
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise SandboxError(_("%(what)s, row %(n)s: write the criterion in English and in French, and its weight.", what=what, n=number), field="grid")
        if not parts[2].isdigit() or not 1 <= int(parts[2]) <= 100:
            raise SandboxError(_("%(what)s, row %(n)s: the weight is a whole number from 1 to 100.", what=what, n=number), field="grid")
        out.append({"key": slug_key(parts[0], taken), "title": {"en": parts[0][:300], "fr": parts[1][:300]}, "weight": int(parts[2])})
    if not out:
        raise SandboxError(_("%(what)s: write at least one row.", what=what), field="grid")
    return out


def grid_of(programme: Programme) -> list[ranking.Criterion]:
    """The programme's grid for the ranking."""
    return [ranking.Criterion(c["key"], c["weight"]) for c in programme.grid]


def _programme_fields(fields: dict) -> dict:
    opens, closes = fields["call_opens_on"], fields["call_closes_on"]
    if not isinstance(opens, date) or not isinstance(closes, date):
        raise SandboxError(_("Give the dates the call opens and closes."))
    if closes < opens:
        raise SandboxError(_("The call must close on or after the day it opens."))
    if not (bounds.date_in_range(opens) and bounds.date_in_range(closes)):
        raise SandboxError(date_range_sentence())
    edition = fields["edition"]
    if not isinstance(edition, int) or not 2000 <= edition <= 2100:
        raise SandboxError(_("The edition is a year such as 2023."))
    cohort, months = fields["cohort_size"], fields["support_months"]
    if not isinstance(cohort, int) or not 1 <= cohort <= 100:
        raise SandboxError(_("The cohort size is a whole number from 1 to 100."))
    if not isinstance(months, int) or not 1 <= months <= 36:
        raise SandboxError(_("The support lasts from 1 to 36 months."))
    return {
        "theme": bilingual(fields["theme_en"], fields["theme_fr"], _("Theme"), 300),
        "description": bilingual(fields["description_en"], fields["description_fr"], _("Description"), 8000),
        "edition": edition,
        "call_opens_on": opens,
        "call_closes_on": closes,
        "eligibility": parse_bilingual_lines(fields["eligibility"], _("Eligibility criteria"), "eligibility"),
        "grid": parse_grid(fields["grid"]),
        "cohort_size": cohort,
        "support_months": months,
        "axes_template": parse_bilingual_lines(fields["axes"], _("Work axes"), "axes"),
    }


def date_range_sentence() -> str:
    """The sentence refusing a date outside what anyone may enter."""
    return _("Give a date between %(first)s and %(last)s.", first=bounds.DATE_MIN.isoformat(), last=bounds.DATE_MAX.isoformat())


def create_programme(actor: Any, now: datetime | None = None, **fields: Any) -> Programme:
    """A programme manager creates a programme and its call, and becomes its first manager.

    ``fields``: theme_en, theme_fr, description_en, description_fr, edition, call_opens_on, call_closes_on,
    eligibility, grid and axes (as rows or lines of text, see ``parse_bilingual_lines`` and ``parse_grid``), cohort_size,
    support_months.
    """
    if not _actor_ok(actor) or not actor.has_role("programme_manager"):
        raise NotPermitted(_("Only programme managers can open a sandbox programme."))
    now = now or utcnow()
    programme = Programme(**_programme_fields(fields), created_by_id=actor.id, created_at=now)
    db.session.add(programme)
    db.session.flush()
    db.session.add(ProgrammeManager(programme_id=programme.id, user_id=actor.id, added_at=now))
    db.session.flush()
    return programme


def update_programme(actor: Any, programme: Programme, **fields: Any) -> Programme:
    """A manager edits the programme; the grid cannot change once a sheet was scored, nor the criteria once someone applied."""
    _require_manager(actor, programme)
    values = _programme_fields(fields)
    scored = db.session.scalar(sa.select(sa.func.count()).select_from(Score).join(Application).where(Application.programme_id == programme.id))
    if scored and _grid_signature(values["grid"]) != _grid_signature(programme.grid):
        raise SandboxConflict(_("Evaluators have already scored applications on this grid: its criteria and weights can no longer change."))
    applied = db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(Application.programme_id == programme.id))
    if applied and [c["title"] for c in values["eligibility"]] != [c["title"] for c in programme.eligibility]:
        raise SandboxConflict(_("Organisations have already applied under these eligibility criteria: they can no longer change."))
    if programme.synthesis_published_at is not None:
        raise SandboxConflict(_("The programme's synthesis is published: the programme can no longer change."))
    laureates_now = laureate_count(programme.id)
    if values["cohort_size"] < laureates_now:
        raise SandboxConflict(
            ngettext(
                "The cohort cannot be smaller than the %(num)d laureate already selected.",
                "The cohort cannot be smaller than the %(num)d laureates already selected.",
                laureates_now,
            )
        )
    selected = db.session.scalar(
        sa.select(sa.func.count()).select_from(Application).where(Application.programme_id == programme.id, Application.selected_at.is_not(None))
    )
    if selected and (values["theme"] != programme.theme or values["edition"] != programme.edition):
        raise SandboxConflict(_("Laureates' signed attestations name this theme and edition: they can no longer change."))
    for name, value in values.items():
        setattr(programme, name, value)
    db.session.flush()
    return programme


def _grid_signature(grid: list[dict]) -> list[tuple]:
    return [(c["title"]["en"], c["title"]["fr"], c["weight"]) for c in grid]


def lock_programme(programme_id: int) -> Programme:
    """The programme, its row locked for the rest of the transaction, so that what is read next is read after any
    concurrent transaction holding the lock has committed."""
    return lock_row(Programme, programme_id)


def managed_programme_ids(user: Any) -> sa.Select:
    """SQL selectable of the ids of the programmes ``user`` manages."""
    return sa.select(ProgrammeManager.programme_id).where(ProgrammeManager.user_id == user.id)


def _require_manager(actor: Any, programme: Programme) -> None:
    if not is_manager(actor, programme.id):
        raise NotPermitted(_("Only the managers of this programme can do this."))


def managers(programme: Programme) -> list[ProgrammeManager]:
    """The programme's managers."""
    return remember(
        ("managers", programme.id),
        (ProgrammeManager,),
        lambda: list(
            db.session.scalars(
                sa.select(ProgrammeManager)
                .options(joinedload(ProgrammeManager.user).lazyload(User.role_rows))
                .where(ProgrammeManager.programme_id == programme.id)
                .order_by(ProgrammeManager.added_at)
            )
        ),
    )


def add_manager(actor: Any, programme: Programme, user: Any) -> ProgrammeManager:
    """A manager adds another programme manager to the programme."""
    _require_manager(actor, programme)
    if user is None or not user.has_role("programme_manager"):
        raise SandboxError(_("Only people holding the programme manager role can manage a programme."))
    row = db.session.get(ProgrammeManager, (programme.id, user.id))
    if row is None:
        row = ProgrammeManager(programme_id=programme.id, user_id=user.id, added_at=utcnow())
        db.session.add(row)
        db.session.flush()
    return row


def evaluators(programme: Programme) -> list[ProgrammeEvaluator]:
    """The evaluators assigned to the programme."""
    return remember(
        ("evaluators", programme.id),
        (ProgrammeEvaluator,),
        lambda: list(
            db.session.scalars(
                sa.select(ProgrammeEvaluator)
                .options(joinedload(ProgrammeEvaluator.user).lazyload(User.role_rows))
                .where(ProgrammeEvaluator.programme_id == programme.id)
                .order_by(ProgrammeEvaluator.user_id)
            )
        ),
    )


def assign_evaluator(actor: Any, programme: Programme, user: Any, now: datetime | None = None) -> ProgrammeEvaluator:
    """A manager assigns an evaluator (a programme manager or committee member); conflicts exclude them at once."""
    _require_manager(actor, programme)
    if user is None or not user.has_role("programme_manager", "committee_member"):
        raise SandboxError(_("Evaluators are chosen among programme managers and ethics-committee members."))
    row = db.session.get(ProgrammeEvaluator, (programme.id, user.id))
    if row is None:
        row = ProgrammeEvaluator(programme_id=programme.id, user_id=user.id, assigned_by_id=actor.id, assigned_at=now or utcnow())
        db.session.add(row)
        db.session.flush()
    for application in db.session.scalars(
        sa.select(Application).join(WorkflowInstance).where(Application.programme_id == programme.id, WorkflowInstance.status.in_(SCORING_STATES))
    ):
        refresh_exclusions(application)
    return row


def call_state(programme: Programme, today: date | None = None) -> str:
    """'upcoming', 'open' or 'closed': whether applications are accepted today."""
    today = today or utcnow().date()
    if today < programme.call_opens_on:
        return "upcoming"
    return "open" if today <= programme.call_closes_on else "closed"


def call_refusal(programme: Programme, today: date | None = None) -> str | None:
    """Why an application cannot be filed or submitted today, or None when the call is open."""
    state = call_state(programme, today)
    if state == "upcoming":
        return _("The call for applications opens on %(date)s: applications are accepted from then.", date=format_date(programme.call_opens_on, "long"))
    if state == "closed":
        return _(
            "The call for applications is closed: applications were accepted from %(opens)s to %(closes)s.",
            opens=format_date(programme.call_opens_on, "long"),
            closes=format_date(programme.call_closes_on, "long"),
        )
    return None


def list_programmes(page: int, per_page: int) -> Page:
    """Programmes, newest edition first, paginated."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = db.session.scalars(sa.select(Programme).order_by(Programme.edition.desc(), Programme.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(rows), page, per_page, total)


# -- applications ------------------------------------------------------------------------------------------------
def _application_fields(programme: Programme, title: str, summary: str, eligibility: dict, partners: list[str]) -> dict:
    keys = {c["key"] for c in programme.eligibility}
    return {
        "title": required_text(title, _("The project's title"), 300),
        "summary": (summary or "").strip()[:8000],
        "eligibility": {k: True for k, v in (eligibility or {}).items() if v and k in keys},
        "partners": list(dict.fromkeys(p.strip()[:200] for p in partners if p and p.strip())),
    }


def create_application(
    actor: Any,
    programme: Programme,
    organisation: Organisation,
    title: str,
    summary: str,
    eligibility: dict,
    partners: list[str],
    now: datetime | None = None,
) -> Application:
    """A member of ``organisation`` starts a draft application while the call is open."""
    if organisation is None or not is_member(actor, organisation.id):
        raise NotPermitted(_("Only members of the organisation can apply on its behalf."))
    now = now or utcnow()
    refusal = call_refusal(programme, now.date())
    if refusal:
        raise SandboxError(refusal)
    values = _application_fields(programme, title, summary, eligibility, partners)
    instance = start_instance(actor, APPLICATION_WORKFLOW, title=f"{organisation.name}: {values['title']}"[:300], subject_kind="application", now=now)
    application = Application(programme=programme, organisation=organisation, instance=instance, created_by_id=actor.id, created_at=now, **values)
    db.session.add(application)
    db.session.flush()
    return application


def update_application(actor: Any, application: Application, title: str, summary: str, eligibility: dict, partners: list[str]) -> Application:
    """The applicant edits the draft application."""
    if not is_member(actor, application.organisation_id):
        raise NotPermitted(_("Only members of the organisation can edit its application."))
    if application.instance.status != "draft":
        raise SandboxConflict(_("The application was submitted: it can no longer be edited."))
    for name, value in _application_fields(application.programme, title, summary, eligibility, partners).items():
        setattr(application, name, value)
    application.instance.title = f"{application.organisation.name}: {application.title}"[:300]
    db.session.flush()
    return application


def _by_instance(model, instance_id: int):
    # Role checks, guards and panels ask many times per request which row an instance is about; the link never
    # changes, so the row's id is remembered for the session and the row then comes from the identity map.
    known = db.session.info.setdefault(f"sandbox.{model.__tablename__}", {})
    if instance_id in known:
        return db.session.get(model, known[instance_id])
    row = db.session.scalar(sa.select(model).where(model.instance_id == instance_id))
    if row is not None:
        known[instance_id] = row.id
    return row


def application_for_instance(instance_id: int) -> Application | None:
    """The application whose lifecycle is instance ``instance_id``."""
    return _by_instance(Application, instance_id)


def milestone_for_instance(instance_id: int) -> Milestone | None:
    """The milestone whose lifecycle is instance ``instance_id``."""
    return _by_instance(Milestone, instance_id)


def missing_for_submission(application: Application) -> list[str]:
    """What the application still lacks before it can be submitted (empty when complete)."""
    missing = []
    if len(application.summary.strip()) < 40:
        missing.append(_("a summary of the project of at least 40 characters"))
    undeclared = [c for c in application.programme.eligibility if not application.eligibility.get(c["key"])]
    if undeclared:
        missing.append(_("a declaration for each eligibility criterion"))
    return missing


def schedule_audition(actor: Any, application: Application, when: datetime, place: str) -> Application:
    """A manager sets the audition's date, time and place (then confirms it with the workflow step)."""
    if not manages(actor, application):
        raise NotPermitted(_("Only the programme's managers, independent of the applicant, schedule auditions."))
    if application.instance.status not in AUDITION_STATES:
        raise SandboxConflict(_("Auditions are scheduled for shortlisted applications."))
    if not isinstance(when, datetime):
        raise SandboxError(_("Give the audition's date and time."), field="when")
    if not bounds.date_in_range(when):
        raise SandboxError(date_range_sentence(), field="when")
    application.audition_at = when
    application.audition_place = required_text(place, _("The audition's place"), 300)
    db.session.flush()
    return application


# -- independence of evaluators ----------------------------------------------------------------------------------
def exclusions(application: Application) -> list[EvaluatorExclusion]:
    """The evaluators excluded from an application."""
    return list(
        db.session.scalars(sa.select(EvaluatorExclusion).where(EvaluatorExclusion.application_id == application.id).order_by(EvaluatorExclusion.user_id))
    )


def refresh_exclusions(application: Application, now: datetime | None = None) -> list[EvaluatorExclusion]:
    """Record an automatic exclusion for each assigned evaluator whose declaration conflicts; return the new ones."""
    existing = {e.user_id for e in exclusions(application)}
    added = []
    for evaluator in evaluators(application.programme):
        if evaluator.user_id in existing:
            continue
        reason = conflict_reason(evaluator.user_id, application)
        if reason is not None:
            row = EvaluatorExclusion(application_id=application.id, user_id=evaluator.user_id, kind="automatic", reason=reason, recorded_at=now or utcnow())
            db.session.add(row)
            log_exclusion(row)
            added.append(row)
    db.session.flush()
    return added


def exclude_self(actor: Any, application: Application, reason: str) -> EvaluatorExclusion:
    """An evaluator steps aside from an application, with a reason."""
    if not is_evaluator(actor, application.programme_id):
        raise NotPermitted(_("Only the programme's evaluators can step aside from an application."))
    if application.instance.status not in SCORING_STATES:
        raise SandboxConflict(_("An evaluator steps aside while the application is being scored, not once the selection is decided."))
    reason = required_text(reason, _("The reason"), 2000)
    if db.session.get(EvaluatorExclusion, (application.id, actor.id)) is not None:
        raise SandboxConflict(_("You are already excluded from this application."))
    row = EvaluatorExclusion(application_id=application.id, user_id=actor.id, kind="self", reason=reason, recorded_at=utcnow())
    db.session.add(row)
    log_exclusion(row)
    db.session.flush()
    return row


def exclusion_content(row: EvaluatorExclusion) -> bytes:
    """What the log commits to for an evaluator's exclusion."""
    return entries.exclusion_entry(row.application_id, row.user_id, row.kind, row.reason, row.recorded_at)


def log_exclusion(row: EvaluatorExclusion) -> None:
    """Write the pending log entry of an evaluator's exclusion."""
    log.add_entry("exclusion", exclusion_content(row), ref=f"{row.application_id}/{row.user_id}")


def score_content(sheet: Score) -> bytes:
    """What the log commits to for a scoring sheet as saved."""
    return entries.score_entry(sheet.application_id, sheet.evaluator_id, sheet.scores, sheet.comments, sheet.comment, sheet.changed_at)


def log_sources(registry: Any) -> None:
    """Tell the audit where sandbox acts live: scoring sheets as they stand, and exclusions."""

    def scores():
        for sheet in db.session.scalars(sa.select(Score).order_by(Score.id)):
            yield str(sheet.id), score_content(sheet)

    def exclusion_rows():
        for row in db.session.scalars(sa.select(EvaluatorExclusion).order_by(EvaluatorExclusion.application_id, EvaluatorExclusion.user_id)):
            yield f"{row.application_id}/{row.user_id}", exclusion_content(row)

    registry.log_source("score", scores)
    registry.log_source("exclusion", exclusion_rows)


# -- scoring -----------------------------------------------------------------------------------------------------
def scoring_refusal(user: Any, application: Application) -> tuple[int, str] | None:
    """(status, sentence) when ``user`` may not score the application now, else None."""
    if not is_evaluator(user, application.programme_id):
        return 403, _("Only the evaluators assigned to this programme can score its applications.")
    if is_team(user, application):
        return 403, _("You belong to the applying organisation: you cannot score its application.")
    recorded = db.session.get(EvaluatorExclusion, (application.id, user.id))
    reason = recorded.reason if recorded is not None else conflict_reason(user.id, application)
    if reason is not None:
        return 403, _("You are excluded from scoring this application: %(reason)s", reason=interest_reason(reason))
    if application.instance.status not in SCORING_STATES:
        return 409, _("Applications are scored once shortlisted and until the selection is decided.")
    return None


def score_application(
    actor: Any, application: Application, scores: dict[str, int], comments: dict[str, str], comment: str | None, now: datetime | None = None
) -> Score:
    """Record or change the evaluator's sheet for the application (one row per evaluator, upserted)."""
    refusal = scoring_refusal(actor, application)
    if refusal is not None:
        status, message = refusal
        raise NotPermitted(message) if status == 403 else SandboxConflict(message)
    try:
        sheet = ranking.check_sheet(grid_of(application.programme), scores, SCORE_MAX)
    except ranking.GridError:
        raise SandboxError(_("Give every criterion of the grid a whole score from 0 to %(top)s.", top=SCORE_MAX)) from None
    notes = {k: v.strip()[:2000] for k, v in (comments or {}).items() if k in sheet and v and v.strip()}
    now = now or utcnow()
    values = {"scores": sheet, "comments": notes, "comment": (comment or "").strip()[:4000] or None, "changed_at": now}
    # One sheet per evaluator, upserted: a double submission changes the sheet instead of colliding with itself.
    insert = postgresql.insert(Score) if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert(Score)
    db.session.execute(
        insert.values(application_id=application.id, evaluator_id=actor.id, scored_at=now, **values).on_conflict_do_update(
            index_elements=["application_id", "evaluator_id"], set_=values
        )
    )
    db.session.flush()
    saved = db.session.scalar(
        sa.select(Score).where(Score.application_id == application.id, Score.evaluator_id == actor.id).execution_options(populate_existing=True)
    )
    log.add_entry("score", score_content(saved), ref=str(saved.id))
    return saved


def my_score(user: Any, application: Application) -> Score | None:
    """``user``'s own sheet for the application."""
    return db.session.scalar(sa.select(Score).where(Score.application_id == application.id, Score.evaluator_id == user.id))


def counted_sheets(application_ids: list[int]) -> dict[int, list[Score]]:
    """The sheets that count, per application: those of evaluators who are not excluded, whether the exclusion was
    recorded or follows from their current declaration of interests (three queries)."""
    out: dict[int, list[Score]] = {a: [] for a in application_ids}
    if not application_ids:
        return out
    excluded = sa.exists().where(EvaluatorExclusion.application_id == Score.application_id, EvaluatorExclusion.user_id == Score.evaluator_id)
    rows = db.session.scalars(sa.select(Score).where(Score.application_id.in_(application_ids), ~excluded).order_by(Score.evaluator_id)).all()
    if not rows:
        return out
    names = {
        application_id: [organisation, *partners]
        for application_id, organisation, partners in db.session.execute(
            sa.select(Application.id, Organisation.name, Application.partners)
            .join(Organisation, Organisation.id == Application.organisation_id)
            .where(Application.id.in_(application_ids))
        )
    }
    conflicted = interest_checkers(sorted({row.evaluator_id for row in rows}))
    for row in rows:
        if conflicted[row.evaluator_id](names[row.application_id]) is None:
            out[row.application_id].append(row)
    return out


def ranking_of(programme: Programme, application_ids: list[int]) -> dict[int, ranking.Ranked]:
    """The ranking of the given applications on the programme's grid."""
    sheets = counted_sheets(application_ids)
    ranked = ranking.rank(grid_of(programme), {a: [s.scores for s in rows] for a, rows in sheets.items()}, SCORE_MAX)
    return {r.application_id: r for r in ranked}


def laureate_count(programme_id: int) -> int:
    """How many applications of the programme are laureates (selected and not withdrawn)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Application)
            .join(WorkflowInstance)
            .where(Application.programme_id == programme_id, WorkflowInstance.status.in_(LAUREATE_STATES))
        )
        or 0
    )


@dataclass
class ApplicationList:
    """A page of a programme's applications with their ranking and the sheets the viewer may see."""

    page: Page
    ranked: dict[int, ranking.Ranked]
    hidden: set[int]  # applications the viewer is excluded from: listed without scores
    scorable: set[int]  # applications the viewer may score now
    states: dict[str, int]


def programme_applications(viewer: Any, programme: Programme, page: int, per_page: int, status: str = "") -> ApplicationList:
    """A page of the programme's applications (ranked ones first) for its managers and evaluators; bounded queries."""
    base = sa.select(Application.id).join(WorkflowInstance).where(Application.programme_id == programme.id)
    if status:
        base = base.where(WorkflowInstance.status == status)
    all_ids = list(db.session.scalars(base.where(WorkflowInstance.status != "draft")))
    ranked = ranking_of(programme, all_ids)
    order = sorted(all_ids, key=lambda a: (ranked[a].rank is None, ranked[a].rank or 0, a))
    total = len(order)
    page = max(1, min(page, max(1, -(-total // per_page))))
    ids = order[(page - 1) * per_page : page * per_page]
    rows = {a.id: a for a in db.session.scalars(sa.select(Application).where(Application.id.in_(ids)))} if ids else {}
    # Exclusions, conflicts and membership are read once for the page, not once per application.
    recorded = set(db.session.scalars(sa.select(EvaluatorExclusion.application_id).where(EvaluatorExclusion.user_id == viewer.id)))
    conflict = interest_checker(viewer.id)
    excluded = {a for a in ids if a in recorded or conflict(applicant_names(rows[a])) is not None}
    # Nobody sees the scores of their own organisation's application, a manager included.
    mine = set(db.session.scalars(organisation_ids(viewer)))
    own = {a for a in ids if rows[a].organisation_id in mine}
    hidden = own if is_manager(viewer, programme.id) else own | excluded
    scorable: set[int] = set()
    if is_evaluator(viewer, programme.id):
        scorable = {a for a in ids if a not in hidden and a not in excluded and rows[a].instance.status in SCORING_STATES}
    states = dict(
        db.session.execute(
            sa.select(WorkflowInstance.status, sa.func.count())
            .select_from(Application)
            .join(WorkflowInstance)
            .where(Application.programme_id == programme.id, WorkflowInstance.status != "draft")
            .group_by(WorkflowInstance.status)
        ).all()
    )
    return ApplicationList(Page([rows[a] for a in ids], page, per_page, total), ranked, hidden, scorable, states)


# -- synthesis ---------------------------------------------------------------------------------------------------
def accepted_milestones(programme: Programme) -> list[Milestone]:
    """The accepted milestones of the laureates whose support was completed: what a synthesis may include."""
    application_instance = sa.orm.aliased(WorkflowInstance)
    return list(
        db.session.scalars(
            sa.select(Milestone)
            .join(WorkflowInstance, WorkflowInstance.id == Milestone.instance_id)
            .join(Application, Application.id == Milestone.application_id)
            .join(application_instance, application_instance.id == Application.instance_id)
            .where(Application.programme_id == programme.id, WorkflowInstance.status == "accepted", application_instance.status == "completed")
            .order_by(Application.id, Milestone.due_on, Milestone.id)
        )
    )


def publish_synthesis(actor: Any, programme: Programme, text_en: str, text_fr: str, milestone_ids: list[int], now: datetime | None = None) -> Programme:
    """A manager publishes the programme's synthesis (text and accepted deliverables) once the support is over;
    every completed application moves to "synthesis published" in the same transaction."""
    _require_manager(actor, programme)
    programme = lock_programme(programme.id)  # a second manager publishing at the same time finds it published
    if programme.synthesis_published_at is not None:
        raise SandboxConflict(_("The synthesis is already published: a public record is not rewritten."))
    states = dict(
        db.session.execute(
            sa.select(WorkflowInstance.status, sa.func.count())
            .select_from(Application)
            .join(WorkflowInstance)
            .where(Application.programme_id == programme.id)
            .group_by(WorkflowInstance.status)
        ).all()
    )
    if states.get("selected") or states.get("in_support"):
        raise SandboxConflict(_("The synthesis is published once every laureate's support is completed."))
    if not states.get("completed"):
        raise SandboxConflict(_("The synthesis is published once at least one laureate's support is completed."))
    texts = {"en": required_text(text_en, _("The synthesis (English)"), 20000, 40), "fr": required_text(text_fr, _("The synthesis (French)"), 20000, 40)}
    allowed = {m.id for m in accepted_milestones(programme)}
    chosen = sorted(set(milestone_ids or []))
    if any(m not in allowed for m in chosen):
        raise SandboxError(_("The synthesis can only include accepted milestones of laureates whose support was completed."))
    now = now or utcnow()
    programme.synthesis, programme.synthesis_milestones, programme.synthesis_published_at = texts, chosen, now
    db.session.flush()
    for application in db.session.scalars(
        sa.select(Application)
        .join(WorkflowInstance)
        .where(Application.programme_id == programme.id, WorkflowInstance.status == "completed")
        .order_by(Application.id)
    ):
        fire_transition(actor, application.instance, "publish_synthesis", {}, now=now)
    return programme


def published_deliverables(programme: Programme) -> list[tuple[Milestone, Any]]:
    """The accepted deliverables a published synthesis includes, each with its acceptance attestation (two queries)."""
    if programme.synthesis_published_at is None or not programme.synthesis_milestones:
        return []
    included = db.session.scalars(
        sa.select(Milestone).where(Milestone.id.in_(programme.synthesis_milestones)).order_by(Milestone.application_id, Milestone.due_on)
    ).all()
    attestations = {
        a.instance_id: a
        for a in db.session.scalars(sa.select(Attestation).where(Attestation.instance_id.in_([m.instance_id for m in included]), Attestation.act == "accept"))
    }
    return [(m, attestations.get(m.instance_id)) for m in included]


def published_syntheses(limit: int = 20) -> list[Programme]:
    """Programmes whose synthesis is published, latest first (for the public register)."""
    return list(
        db.session.scalars(
            sa.select(Programme).where(Programme.synthesis_published_at.is_not(None)).order_by(Programme.synthesis_published_at.desc()).limit(limit)
        )
    )


def laureates(programme: Programme) -> list[tuple[Application, str]]:
    """The programme's laureates with their state (public once selected)."""
    return list(
        db.session.execute(
            sa.select(Application, WorkflowInstance.status)
            .join(WorkflowInstance, WorkflowInstance.id == Application.instance_id)
            .where(Application.programme_id == programme.id, Application.selected_at.is_not(None))
            .order_by(Application.selected_at, Application.id)
        ).all()
    )


# -- inbox -------------------------------------------------------------------------------------------------------
def inbox(user: Any) -> dict:
    """What the dashboard shows of sandboxes: programmes the user manages or evaluates, overdue milestones they own,
    and their organisations' applications."""
    if not isinstance(user, User):
        return {}
    managed = db.session.scalars(sa.select(Programme).where(Programme.id.in_(managed_programme_ids(user))).order_by(Programme.edition.desc()).limit(20)).all()
    evaluated = db.session.scalars(
        sa.select(Programme)
        .where(Programme.id.in_(sa.select(ProgrammeEvaluator.programme_id).where(ProgrammeEvaluator.user_id == user.id)))
        .order_by(Programme.edition.desc())
        .limit(20)
    ).all()
    # An owner who has since left the laureate's organisation or been excluded no longer sees the milestone.
    owned = db.session.execute(
        sa.select(Milestone, WorkflowInstance.status)
        .join(WorkflowInstance, WorkflowInstance.id == Milestone.instance_id)
        .where(
            sa.or_(Milestone.manager_owner_id == user.id, Milestone.team_owner_id == user.id),
            Milestone.overdue_at.is_not(None),
            WorkflowInstance.status.in_(OPEN_MILESTONE_STATES),
        )
        .order_by(Milestone.due_on)
        .limit(20)
    ).all()
    owned = [(m, status) for m, status in owned if can_see_files(user, m.application)]
    mine = db.session.scalars(
        sa.select(Application).where(Application.organisation_id.in_(organisation_ids(user))).order_by(Application.id.desc()).limit(20)
    ).all()
    return {
        "managed": managed,
        "evaluated": evaluated,
        "overdue_owned": owned,
        "applications": mine,
        "can_manage_programmes": user.has_role("programme_manager"),
    }


# -- what the pages offer ----------------------------------------------------------------------------------------
# Named answers computed once per page from the subject and the actor's standing (remembered by ``policies``):
# templates read them and compare no state. The states are the sets above, which the services refuse acts by.
@dataclass(frozen=True)
class CanApplication:
    """What the application's panel offers one person."""

    see_application: bool = False  # its summary, partners and eligibility (``policies.can_see_application``)
    edit_application: bool = False  # the team, while it is a draft
    schedule_audition: bool = False  # the programme's managers independent of the applicant, shortlisted until held
    see_evaluation: bool = False  # its exclusions and the programme's ranking: its managers and evaluators who see it
    score: bool = False  # an evaluator who may score it now (``scoring_refusal``)
    open_roadmap: bool = False  # those who see it, once selected


def application_permissions(actor: Any, application: Application | None) -> CanApplication:
    """What ``actor`` may do on the application's panel now."""
    if application is None:
        return CanApplication()
    insider = can_see_files(actor, application)
    manager = manages(actor, application)
    status = application.instance.status
    evaluation = insider and (manager or is_evaluator(actor, application.programme_id))
    return CanApplication(
        see_application=insider,
        edit_application=status == "draft" and is_team(actor, application),
        schedule_audition=manager and status in AUDITION_STATES,
        see_evaluation=evaluation,
        score=evaluation and scoring_refusal(actor, application) is None,
        open_roadmap=insider and status in ROADMAP_STATES,
    )


@dataclass(frozen=True)
class CanMilestone:
    """What the milestone's panel offers one person."""

    see_roadmap: bool = False  # the laureate's roadmap and the milestone's files (``policies.can_see_application``)
    upload_milestone_file: bool = False  # the team or an independent manager, before the milestone is submitted
    reschedule_milestone: bool = False  # an independent manager, while the milestone is open and the laureate planned


def milestone_permissions(actor: Any, milestone: Milestone | None) -> CanMilestone:
    """What ``actor`` may do on the milestone's panel now."""
    if milestone is None or not can_see_files(actor, milestone.application):
        return CanMilestone()
    application = milestone.application
    manager = manages(actor, application)
    status = milestone.instance.status
    return CanMilestone(
        see_roadmap=True,
        upload_milestone_file=status in FILE_STATES and (manager or is_team(actor, application)),
        reschedule_milestone=manager and status in OPEN_MILESTONE_STATES and application.instance.status in PLANNING_STATES,
    )


@dataclass(frozen=True)
class CanRoadmap:
    """What a laureate's roadmap page offers one person (who may see it)."""

    plan_milestone: bool = False  # plan milestones, add and rename axes: an independent manager, selected or in support
    discuss_roadmap: bool = False  # raise and answer questions: the team or an independent manager, once selected


def roadmap_permissions(actor: Any, application: Application) -> CanRoadmap:
    """What ``actor`` may do on the application's roadmap page now."""
    status = application.instance.status
    return CanRoadmap(
        plan_milestone=manages(actor, application) and status in PLANNING_STATES,
        discuss_roadmap=(is_team(actor, application) or manages(actor, application)) and status in ROADMAP_STATES,
    )


def is_flagged_overdue(milestone: Milestone) -> bool:
    """Whether the milestone is open and ``govflow tick`` flagged it overdue."""
    return milestone.overdue_at is not None and milestone.instance.status in OPEN_MILESTONE_STATES


def overdue_ids(milestones: list[Milestone], today: date) -> set[int]:
    """The ids of the open milestones among ``milestones`` due before ``today`` (their instances already loaded)."""
    return {m.id for m in milestones if m.due_on < today and m.instance.status in OPEN_MILESTONE_STATES}
