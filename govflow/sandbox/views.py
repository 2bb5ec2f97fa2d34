"""Sandbox programme pages: programmes and calls, applications, evaluation and ranking, roadmaps, files, questions,
the cohort dashboard with its CSV export, and the synthesis."""

from __future__ import annotations

import functools
import re
from datetime import date

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import format_date, format_datetime, get_locale, to_utc
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from .. import bounds
from ..access import public, roles_required, signed_in
from ..accounts.services import find_user
from ..actions import act, csv_download, refused, run_form, shown_form
from ..engine import utcnow
from ..extensions import db
from ..formfields import edit_rows, pad_rows
from ..i18n import tr
from ..instances.models import WorkflowInstance
from ..instances.services import get_engine
from ..instances.views import render_instance
from ..organisations.models import Organisation
from ..organisations.services import evidence_root, members, user_organisations
from ..organisations.uploads import UploadRefused, inspect_upload, read_limited
from ..web import page_arg
from . import cohort, policies, roadmaps, services
from .forms import (
    ROW_LISTS,
    AnswerForm,
    ApplicationForm,
    AuditionForm,
    AxisForm,
    DatesForm,
    MilestoneForm,
    PeopleForm,
    ProgrammeForm,
    QuestionForm,
    StepAsideForm,
    SynthesisForm,
    score_form,
)
from .models import Application, Axis, Milestone, MilestoneFile, Programme, Question
from .timeline import Bar, timeline_svg

bp = Blueprint("sandbox", __name__)
_act = act
_save = run_form


def _instance_page(instance_id: int):
    """The page of the workflow item a form sits on (an application's or a milestone's panel), rendered again when
    that form is refused (see govflow.actions.refused)."""
    return lambda: render_instance(db.session.get(WorkflowInstance, instance_id))


def _get(model, ident: int):
    row = db.session.get(model, ident)
    if row is None:
        abort(404)
    return row


def _managed(programme_id: int) -> Programme:
    programme = _get(Programme, programme_id)
    if not policies.is_manager(current_user, programme.id):
        abort(403, _("Only the managers of this programme can see this page."))
    return programme


def _visible_application(application_id: int) -> Application:
    """An application whose files and roadmap the user may see (team, managers, evaluators not excluded)."""
    application = _get(Application, application_id)
    if not policies.can_see_application(current_user, application):
        abort(403, _("This application's files are confidential: only its team, the programme's managers and its evaluators who are not excluded see them."))
    return application


def _back(application: Application):
    return url_for("instances.show", instance_id=application.instance_id)


def _roadmap(application: Application) -> str:
    return url_for("sandbox.roadmap", application_id=application.id)


# -- programmes --------------------------------------------------------------------------------------------------
@bp.get("/programmes")
@public
def programmes():
    """Sandbox programmes and their calls, newest edition first."""
    page = services.list_programmes(page_arg(), current_app.config["PAGE_SIZE"])
    return render_template(
        "sandbox/programmes.html",
        page=page,
        call_states={p.id: services.call_state(p) for p in page.items},
        can_open_programme=current_user.is_authenticated and current_user.has_role("programme_manager"),
    )


@bp.get("/programmes/<int:programme_id>")
@public
def programme(programme_id: int):
    """A programme's public page: its call, criteria, grid and axes, laureates, and its synthesis once published."""
    return _programme_page(_get(Programme, programme_id))


def _programme_page(item: Programme):
    manager = policies.is_manager(current_user, item.id)
    state = services.call_state(item)
    call_open = state == "open"
    return render_template(
        "sandbox/programme.html",
        programme=item,
        state=state,
        manager=manager,
        evaluator=policies.is_evaluator(current_user, item.id),
        laureates=services.laureates(item),
        included=services.published_deliverables(item),
        managers=services.managers(item) if manager else [],
        evaluators=services.evaluators(item) if manager else [],
        people_form=shown_form(PeopleForm) if manager else None,
        # While the call is open: members of an organisation apply, anyone signed out is asked to sign in.
        can_apply=call_open and current_user.is_authenticated and bool(user_organisations(current_user)),
        invite_sign_in=call_open and not current_user.is_authenticated,
    )


def _programme_values(form: ProgrammeForm) -> dict:
    return {name: getattr(form, name).data for name in form.data if name != "csrf_token"}


def _programme_form_page(form: ProgrammeForm, item: Programme | None):
    return render_template("sandbox/programme_form.html", form=form, programme=item)


@bp.route("/programmes/new", methods=["GET", "POST"])
@roles_required("programme_manager")
def new_programme():
    """A programme manager opens a programme and its call for applications."""
    form = ProgrammeForm()
    if request.method == "GET":  # room to type: a few empty rows in each list
        for name, count in (("eligibility", 2), ("grid", 3), ("axes", 4)):
            pad_rows(getattr(form, name), count)
    if edit_rows(form, ROW_LISTS):
        return _programme_form_page(form, None)
    response, status = _save(
        form,
        lambda: services.create_programme(current_user, **_programme_values(form)),
        _("Programme created. Assign its evaluators from its page."),
        lambda p: url_for("sandbox.programme", programme_id=p.id),
    )
    return response or (_programme_form_page(form, None), status)


def _rows(items: list[dict], weights: bool = False) -> list[dict]:
    return [{"en": i["title"]["en"], "fr": i["title"]["fr"]} | ({"weight": i["weight"]} if weights else {}) for i in items]


@bp.route("/programmes/<int:programme_id>/edit", methods=["GET", "POST"])
@signed_in
def edit_programme(programme_id: int):
    """A manager edits the programme (the grid stays once scored, the criteria once someone applied).

    :raise 403: not a manager of the programme.
    """
    item = _managed(programme_id)
    form = ProgrammeForm()
    if request.method == "GET":
        form.process(
            data={
                "theme_en": item.theme["en"],
                "theme_fr": item.theme["fr"],
                "edition": item.edition,
                "description_en": item.description["en"],
                "description_fr": item.description["fr"],
                "call_opens_on": item.call_opens_on,
                "call_closes_on": item.call_closes_on,
                "eligibility": _rows(item.eligibility),
                "grid": _rows(item.grid, weights=True),
                "cohort_size": item.cohort_size,
                "support_months": item.support_months,
                "axes": _rows(item.axes_template),
            }
        )
    if edit_rows(form, ROW_LISTS):
        return _programme_form_page(form, item)
    response, status = _save(
        form,
        lambda: services.update_programme(current_user, item, **_programme_values(form)),
        _("Programme saved."),
        lambda p: url_for("sandbox.programme", programme_id=p.id),
    )
    return response or (_programme_form_page(form, item), status)


@bp.post("/programmes/<int:programme_id>/people")
@signed_in
def add_person(programme_id: int):
    """A manager assigns an evaluator or adds a manager to the programme.

    :raise 403: not a manager of the programme.
    """
    item = _managed(programme_id)
    form = PeopleForm()
    page = functools.partial(_programme_page, item)
    if not form.validate_on_submit():
        return refused(_("Give the e-mail address of an existing account."), 422, page=page, form=form)
    user = find_user(form.email.data)
    if user is None:
        return refused(_("No account uses this e-mail address."), 422, page=page, form=form, field="email")
    target = url_for("sandbox.programme", programme_id=item.id)
    if form.role.data == "manager":
        return _act(
            lambda: services.add_manager(current_user, item, user), _("%(name)s now manages the programme.", name=user.name), target, page=page, form=form
        )
    return _act(
        lambda: services.assign_evaluator(current_user, item, user), _("%(name)s now evaluates the programme.", name=user.name), target, page=page, form=form
    )


# -- applications ------------------------------------------------------------------------------------------------
def _eligibility_values(programme: Programme) -> dict:
    return {c["key"]: request.form.get(f"eligibility-{c['key']}") == "yes" for c in programme.eligibility}


def _application_form(programme: Programme, **kwargs) -> ApplicationForm:
    form = ApplicationForm(**kwargs)
    form.organisation_id.choices = [SelectChoice(o.id, o.name) for o in user_organisations(current_user)]
    return form


def _partner_lines(text: str | list[str] | None) -> list[str]:
    """One partner a line; a form built on a stored application and posted without the field holds its list."""
    lines = text if isinstance(text, list | tuple) else (text or "").splitlines()
    return [str(line).strip() for line in lines if str(line).strip()]


@bp.route("/programmes/<int:programme_id>/apply", methods=["GET", "POST"])
@signed_in
def apply(programme_id: int):
    """A member of an organisation starts a draft application while the call is open.

    :raise 403: the user belongs to no organisation. :raise 422: the call is not open.
    """
    item = _get(Programme, programme_id)
    if not user_organisations(current_user):
        abort(403, _("Only members of an organisation can apply: create or join your organisation first."))
    refusal = services.call_refusal(item)
    if refusal:
        abort(422, refusal)
    form = _application_form(item)
    declared = _eligibility_values(item) if request.method == "POST" else {}
    response, status = _save(
        form,
        lambda: services.create_application(
            current_user,
            item,
            db.session.get(Organisation, form.organisation_id.data),
            form.title.data,
            form.summary.data,
            declared,
            _partner_lines(form.partners.data),
        ),
        _("Application saved as a draft. Submit it from its page before the call closes."),
        lambda a: url_for("instances.show", instance_id=a.instance_id),
    )
    return response or (render_template("sandbox/application_form.html", form=form, programme=item, declared=declared, application=None), status)


@bp.route("/applications/<int:application_id>/edit", methods=["GET", "POST"])
@signed_in
def edit_application(application_id: int):
    """The applicant edits the draft application.

    :raise 403: not a member of the applying organisation.
    """
    application = _get(Application, application_id)
    if not policies.is_team(current_user, application):
        abort(403, _("Only members of the applying organisation can edit its application."))
    form = _application_form(application.programme, obj=application)
    form.organisation_id.choices = [SelectChoice(application.organisation_id, application.organisation.name)]
    form.organisation_id.data = application.organisation_id
    if request.method == "GET":
        form.partners.data = "\n".join(application.partners)
    declared = _eligibility_values(application.programme) if request.method == "POST" else dict(application.eligibility)
    response, status = _save(
        form,
        lambda: services.update_application(current_user, application, form.title.data, form.summary.data, declared, _partner_lines(form.partners.data)),
        _("Application saved."),
        lambda a: _back(a),
    )
    return response or (
        render_template("sandbox/application_form.html", form=form, programme=application.programme, declared=declared, application=application),
        status,
    )


@bp.get("/programmes/<int:programme_id>/applications")
@signed_in
def applications(programme_id: int):
    """The programme's applications with their state and ranking, for its managers and evaluators.

    :raise 403: neither a manager nor an evaluator of the programme.
    """
    item = _get(Programme, programme_id)
    if not (policies.is_manager(current_user, item.id) or policies.is_evaluator(current_user, item.id)):
        abort(403, _("Only the programme's managers and evaluators see its applications."))
    states = get_engine().definition(services.APPLICATION_WORKFLOW).states
    status = request.args.get("status", "")
    status = status if status in states else ""
    listing = services.programme_applications(current_user, item, page_arg(), current_app.config["PAGE_SIZE"], status=status)
    return render_template("sandbox/applications.html", programme=item, listing=listing, status=status, states=states)


@bp.post("/applications/<int:application_id>/audition")
@signed_in
def audition(application_id: int):
    """A manager sets the audition's date, time and place.

    :raise 403: not a manager of the programme independent of the applicant.
    """
    application = _get(Application, application_id)
    if not policies.manages(current_user, application):
        abort(403, _("Only the programme's managers, independent of the applicant, schedule auditions."))
    form = AuditionForm()
    page = _instance_page(application.instance_id)
    if not form.validate_on_submit():
        return refused(_("Give the audition's date, time and place."), 422, page=page, form=form, key=application.id)
    when = to_utc(form.when.data)  # typed in the user's time zone, stored in UTC
    return _act(
        lambda: services.schedule_audition(current_user, application, when, form.place.data),
        _("Audition set for %(when)s.", when=format_datetime(when, "medium")),
        _back(application),
        page=page,
        form=form,
        key=application.id,
    )


@bp.route("/applications/<int:application_id>/score", methods=["GET", "POST"])
@signed_in
def score(application_id: int):
    """An evaluator scores a shortlisted application on the programme's grid, with comments.

    :raise 403: not an evaluator of the programme, or excluded from this application. :raise 409: not open to scoring.
    """
    application = _get(Application, application_id)
    refusal = services.scoring_refusal(current_user, application)
    if refusal is not None:
        status, message = refusal
        abort(status, message)
    mine = services.my_score(current_user, application)
    grid = application.programme.grid
    form = score_form(grid, request.form if request.method == "POST" else None, mine)
    page = functools.partial(_score_page, application, form, mine)
    if not form.is_submitted():
        return page()
    if not form.validate():
        return refused(_("Give every criterion a score: a criterion left blank is not counted."), 422, page=page, form=form)
    values = {c["key"]: int(getattr(form, f"score_{c['key']}").data) for c in grid}
    notes = {c["key"]: getattr(form, f"note_{c['key']}").data or "" for c in grid}
    return _act(
        lambda: services.score_application(current_user, application, values, notes, form.comment.data),
        _("Your scores were recorded. You may change them until the selection is decided."),
        url_for("sandbox.applications", programme_id=application.programme_id),
        page=page,
        form=form,
    )


def _score_page(application: Application, form, mine):
    return render_template("sandbox/score.html", application=application, form=form, grid=application.programme.grid, mine=mine, top=services.SCORE_MAX)


@bp.post("/applications/<int:application_id>/step-aside")
@signed_in
def step_aside(application_id: int):
    """An evaluator steps aside from an application, with a reason.

    :raise 403: not an evaluator of the programme.
    """
    application = _get(Application, application_id)
    if not policies.is_evaluator(current_user, application.programme_id):
        abort(403, _("Only the programme's evaluators can step aside from an application."))
    form = StepAsideForm()
    page = functools.partial(_score_page, application, score_form(application.programme.grid, None, services.my_score(current_user, application)), None)
    if not form.validate_on_submit():
        return refused(_("Say why you step aside."), 422, page=page, form=form, field="reason")
    return _act(
        lambda: services.exclude_self(current_user, application, form.reason.data),
        _("You stepped aside: you will not score or see this application."),
        url_for("sandbox.applications", programme_id=application.programme_id),
        page=page,
        form=form,
    )


# -- roadmaps ----------------------------------------------------------------------------------------------------
def _milestone_form(application: Application, axes: list[Axis], form: MilestoneForm | None = None) -> MilestoneForm:
    form = form or shown_form(MilestoneForm)
    form.axis_id.choices = [SelectChoice(a.id, tr(a.title)) for a in axes]
    form.manager_owner_id.choices = [SelectChoice(u.id, u.name) for u in roadmaps.programme_owners(application)]
    form.team_owner_id.choices = [SelectChoice(m.user_id, m.user.name) for m in members(application.organisation)]
    return form


@bp.get("/applications/<int:application_id>/roadmap")
@signed_in
def roadmap(application_id: int):
    """A laureate's roadmap: axes, milestones with dates, owners and states, files, questions to resolve.

    :raise 403: anyone but the laureate's team, the programme's managers and its evaluators who are not excluded.
    """
    return _roadmap_page(_visible_application(application_id))


def _roadmap_page(application: Application):
    axes = roadmaps.axes(application)
    milestones = roadmaps.milestones_of(application)
    by_axis: dict[int, list[Milestone]] = {}
    for m in milestones:
        by_axis.setdefault(m.axis_id, []).append(m)
    files = roadmaps.files_by_milestone(application) if milestones else {}
    can = services.roadmap_permissions(current_user, application)
    return render_template(
        "sandbox/roadmap.html",
        application=application,
        axes=axes,
        by_axis=by_axis,
        files=files,
        questions=roadmaps.questions(application),
        can=can,
        overdue=services.overdue_ids(milestones, utcnow().date()),
        milestone_form=_milestone_form(application, axes) if can.plan_milestone else None,
        axis_form=shown_form(AxisForm) if can.plan_milestone else None,
        definition=get_engine().definition(services.MILESTONE_WORKFLOW),
    )


@bp.post("/applications/<int:application_id>/axes")
@signed_in
def add_axis(application_id: int):
    """A manager adds a work axis to the laureate's roadmap.

    :raise 403: not a manager of the programme independent of the laureate.
    """
    application = _visible_application(application_id)
    if not policies.manages(current_user, application):
        abort(403, _("Only the programme's managers, independent of the laureate, plan its roadmap."))
    form = AxisForm()
    page = functools.partial(_roadmap_page, application)
    if not form.validate_on_submit():
        return refused(_("Give the axis's title in English and in French."), 422, page=page, form=form)
    return _act(
        lambda: roadmaps.add_axis(current_user, application, form.title_en.data, form.title_fr.data),
        _("Axis added."),
        _roadmap(application),
        page=page,
        form=form,
    )


@bp.post("/axes/<int:axis_id>")
@signed_in
def rename_axis(axis_id: int):
    """A manager renames an axis of a laureate's roadmap.

    :raise 403: not a manager of the programme independent of the laureate.
    """
    axis = _get(Axis, axis_id)
    application = _visible_application(axis.application_id)
    if not policies.manages(current_user, application):
        abort(403, _("Only the programme's managers, independent of the laureate, plan its roadmap."))
    form = AxisForm()
    page, key = functools.partial(_roadmap_page, application), f"axis-{axis.id}"
    if not form.validate_on_submit():
        return refused(_("Give the axis's title in English and in French."), 422, page=page, key=key)
    return _act(
        lambda: roadmaps.rename_axis(current_user, axis, form.title_en.data, form.title_fr.data),
        _("Axis renamed."),
        _roadmap(application),
        page=page,
        key=key,
    )


@bp.post("/applications/<int:application_id>/milestones")
@signed_in
def add_milestone(application_id: int):
    """A manager plans a milestone on the laureate's roadmap.

    :raise 403: not a manager of the programme independent of the laureate.
    """
    application = _visible_application(application_id)
    if not policies.manages(current_user, application):
        abort(403, _("Only the programme's managers, independent of the laureate, plan its roadmap."))
    form = _milestone_form(application, roadmaps.axes(application), MilestoneForm())
    page = functools.partial(_roadmap_page, application)
    if not form.validate_on_submit():
        return refused(_("The milestone could not be planned: correct the highlighted fields."), 422, page=page, form=form)
    return _act(
        lambda: roadmaps.add_milestone(
            current_user,
            application,
            db.session.get(Axis, form.axis_id.data),
            form.kind.data,
            form.title.data,
            form.starts_on.data,
            form.due_on.data,
            form.manager_owner_id.data,
            form.team_owner_id.data,
        ),
        _("Milestone planned."),
        _roadmap(application),
        page=page,
        form=form,
    )


@bp.post("/milestones/<int:milestone_id>/dates")
@signed_in
def reschedule(milestone_id: int):
    """A manager moves an open milestone's dates.

    :raise 403: not a manager of the programme independent of the laureate.
    """
    milestone = _get(Milestone, milestone_id)
    application = _visible_application(milestone.application_id)
    if not policies.manages(current_user, application):
        abort(403, _("Only the programme's managers, independent of the laureate, plan its roadmap."))
    form = DatesForm()
    page = _instance_page(milestone.instance_id)
    if not form.validate_on_submit():
        return refused(_("Give the milestone's start and due dates."), 422, page=page, form=form, key=milestone.id)
    return _act(
        lambda: roadmaps.reschedule_milestone(current_user, milestone, form.starts_on.data, form.due_on.data),
        _("Dates changed."),
        _roadmap(application),
        page=page,
        form=form,
        key=milestone.id,
    )


@bp.post("/milestones/<int:milestone_id>/files")
@signed_in
def add_file(milestone_id: int):
    """The laureate's team (or a manager) attaches a file, checked by content and size, to an open milestone.

    :raise 403: anyone else, evaluators included.
    """
    milestone = _get(Milestone, milestone_id)
    application = _visible_application(milestone.application_id)
    if not (policies.is_team(current_user, application) or policies.manages(current_user, application)):
        abort(403, _("Only the laureate's team and the programme's managers can add files to this milestone."))
    page, key = _instance_page(milestone.instance_id), f"file-{milestone.id}"
    upload = request.files.get("upload")
    if upload is None or not upload.filename:
        return refused(_("Choose a file."), 422, page=page, key=key)
    max_bytes = current_app.config["EVIDENCE_MAX_BYTES"]
    try:
        data = read_limited(upload.stream, max_bytes)
        checked = inspect_upload(data, upload.filename, max_bytes)
    except UploadRefused as exc:
        return refused(_("File refused: %(why)s", why=str(exc)), 422, page=page, key=key)
    return _act(
        lambda: roadmaps.attach_milestone_file(current_user, milestone, data, checked),
        _("File attached."),
        url_for("instances.show", instance_id=milestone.instance_id),
        page=page,
        key=key,
    )


@bp.get("/milestone-files/<int:file_id>")
@signed_in
def file(file_id: int):
    """Download a milestone file: the laureate's team, the programme's managers and its evaluators who are not excluded.

    :raise 403: anyone else, administrators included. :raise 404: unknown file.
    """
    row = _get(MilestoneFile, file_id)
    _visible_application(row.application_id)
    return send_file(evidence_root() / row.storage_name, mimetype=row.mime, as_attachment=True, download_name=row.original_name)


@bp.post("/axes/<int:axis_id>/questions")
@signed_in
def ask(axis_id: int):
    """The laureate's team or a manager raises a question to resolve on an axis.

    :raise 403: anyone else.
    """
    axis = _get(Axis, axis_id)
    application = _visible_application(axis.application_id)
    if not policies.is_roadmap_party(current_user, application):
        abort(403, _("Only the laureate's team and the programme's managers discuss its roadmap."))
    form = QuestionForm()
    page, key = functools.partial(_roadmap_page, application), f"question-{axis.id}"
    if not form.validate_on_submit():
        return refused(_("Write the question."), 422, page=page, key=key)
    return _act(
        lambda: roadmaps.raise_question(current_user, axis, form.text.data),
        _("Question raised."),
        _roadmap(application) + f"#axis-{axis.id}",
        page=page,
        key=key,
    )


@bp.post("/questions/<int:question_id>/answer")
@signed_in
def answer(question_id: int):
    """The laureate's team or a manager answers a question.

    :raise 403: anyone else. :raise 409: already answered.
    """
    question = _get(Question, question_id)
    application = _visible_application(question.application_id)
    if not policies.is_roadmap_party(current_user, application):
        abort(403, _("Only the laureate's team and the programme's managers discuss its roadmap."))
    form = AnswerForm()
    page, key = functools.partial(_roadmap_page, application), f"answer-{question.id}"
    if not form.validate_on_submit():
        return refused(_("Write the answer."), 422, page=page, key=key)
    return _act(
        lambda: roadmaps.answer_question(current_user, question, form.text.data),
        _("Answer recorded."),
        _roadmap(application) + f"#axis-{question.axis_id}",
        page=page,
        key=key,
    )


# -- cohort dashboard, export, synthesis -------------------------------------------------------------------------
STATE_KEYS = ("planned", "in_progress", "submitted", "rework_requested", "accepted", "cancelled")


@bp.get("/programmes/<int:programme_id>/dashboard")
@signed_in
def dashboard(programme_id: int):
    """The cohort dashboard: a timeline of every laureate's milestones, counts per axis, overdue and upcoming
    milestones, progress per laureate. A fixed number of queries per page.

    :raise 403: not a manager of the programme.
    """
    item = _managed(programme_id)
    view = cohort.cohort(item, page_arg(), current_app.config["PAGE_SIZE"], window_start=_month_arg("from"))
    definition = get_engine().definition(services.MILESTONE_WORKFLOW)
    labels = {s: tr(definition.states[s].title) for s in STATE_KEYS}
    # Hundreds of bars share a few dozen dates and one sentence: format and translate each once.
    day = functools.cache(lambda d: format_date(d, "medium"))
    show = url_for("instances.show", instance_id=0).removesuffix("0")
    sentence, late = _("%(axis)s — %(title)s: %(state)s, due on %(due)s"), _("overdue")
    lang = str(get_locale() or "en")
    bars = []
    for p in view.laureates.items:
        for m in p.milestones:
            overdue = m.status in services.OPEN_MILESTONE_STATES and m.due_on < view.today
            tip = sentence % {
                "axis": m.axis_title.get(lang) or m.axis_title["en"],
                "title": m.title,
                "state": labels.get(m.status, m.status),
                "due": day(m.due_on),
            }
            bars.append(
                Bar(
                    group=f"{p.application.organisation.name} — {p.application.title}",
                    label=m.title,
                    starts_on=m.starts_on,
                    due_on=m.due_on,
                    state=m.status,
                    overdue=overdue,
                    tip=tip + (" — " + late if overdue else ""),
                    href=f"{show}{m.instance_id}",
                )
            )
    svg = timeline_svg(
        bars,
        view.today,
        lambda d: format_date(d, "MMM yyyy"),
        labels,
        _("Timeline of the laureates' milestones"),
        _("No milestone of these laureates falls in these months."),
        _("today"),
        window=(view.window.start, view.window.end) if view.window else None,
    )
    months = view.window.start, cohort.add_months(view.window.end, -1)
    window_label = _("%(first)s to %(last)s", first=format_date(months[0], "MMMM yyyy"), last=format_date(months[1], "MMMM yyyy"))
    return render_template("sandbox/dashboard.html", programme=item, view=view, svg=svg, labels=labels, state_keys=STATE_KEYS, window_label=window_label)


def _month_arg(name: str) -> date | None:
    """A month from the query string (``2024-01``), within the dates anyone may enter; None otherwise."""
    text = request.args.get(name, "")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text) or int(text[:4]) < 1:
        return None
    month = date(int(text[:4]), int(text[5:]), 1)
    return month if bounds.date_in_range(month) and bounds.date_in_range(cohort.add_months(month, cohort.WINDOW_MONTHS)) else None


@bp.get("/programmes/<int:programme_id>/milestones.csv")
@signed_in
def milestones_csv(programme_id: int):
    """Every milestone of the programme as CSV (UTF-8; columns in docs/sandbox.md).

    :raise 403: not a manager of the programme.
    """
    item = _managed(programme_id)
    today = utcnow().date()
    return csv_download(
        cohort.milestone_rows(item, today), cohort.MILESTONE_COLUMNS, f"govflow-milestones-{item.edition}-{item.id}-{today.strftime('%Y%m%d')}.csv"
    )


@bp.route("/programmes/<int:programme_id>/synthesis", methods=["GET", "POST"])
@signed_in
def synthesis(programme_id: int):
    """A manager writes the programme's synthesis, picks accepted deliverables and publishes it (irreversible).

    :raise 403: not a manager of the programme. :raise 409: already published, or support not over.
    """
    item = _managed(programme_id)
    if item.synthesis_published_at is not None:
        return redirect(url_for("sandbox.programme", programme_id=item.id)), 303
    accepted = services.accepted_milestones(item)
    form = SynthesisForm()
    form.milestones.choices = [SelectChoice(m.id, f"{m.application.organisation.name} — {m.title}") for m in accepted]
    response, status = _save(
        form,
        lambda: services.publish_synthesis(current_user, item, form.text_en.data, form.text_fr.data, form.milestones.data or []),
        _("The synthesis is published on the programme's page and on the public register."),
        lambda p: url_for("sandbox.programme", programme_id=p.id),
    )
    return response or (render_template("sandbox/synthesis_form.html", form=form, programme=item), status)


@bp.app_context_processor
def _sandbox_helpers():
    """The sandbox forms templates build (who sees them is decided by the views' ``can`` values)."""
    return {
        "audition_form": functools.partial(shown_form, AuditionForm),
        "step_aside_form": functools.partial(shown_form, StepAsideForm),
        "dates_form": functools.partial(shown_form, DatesForm),
    }
