"""Pages of workflow definitions and instances, and the route that fires a transition."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..access import public, signed_in
from ..actions import refusal, refused
from ..engine import EngineError, Refused
from ..engine.diagrams import in_words, mermaid
from ..extensions import db
from ..i18n import tr
from .forms import TransitionFireForm, transition_form
from .models import WorkflowInstance
from .services import (
    blocked_steps,
    can_view_instance,
    fire_transition,
    get_engine,
    get_registry,
    instance_counts,
    instance_history,
    lock_instance,
    transition_options,
)

bp = Blueprint("instances", __name__)


@bp.get("/workflows")
@public
def definitions():
    """Every loaded workflow definition with its versions and live instance counts."""
    engine = get_engine()
    counts = instance_counts()
    return render_template("instances/definitions.html", definitions=engine.definitions(), counts=counts)


@bp.get("/workflows/<name>", defaults={"version": None})
@bp.get("/workflows/<name>/v<int:version>")
@public
def definition(name: str, version: int | None):
    """One definition: its states, transitions, roles, guards, deadlines.

    :raise 404: when no such workflow or version is loaded.
    """
    engine = get_engine()
    try:
        d = engine.definition(name, version)
    except EngineError:
        abort(404)
    counts = instance_counts()
    return render_template(
        "instances/definition.html", d=d, versions=engine.versions(name), counts=counts.get(d.key, {}), all_counts=counts, diagram_source=mermaid(d)
    )


def _load_visible(instance_id: int) -> WorkflowInstance:
    instance = db.session.get(WorkflowInstance, instance_id)
    if instance is None:
        abort(404)
    if not can_view_instance(current_user, instance):
        abort(403)
    return instance


def _refused_form(trigger: str) -> TransitionFireForm | None:
    """The transition form of ``trigger`` refused in this request (typed values and messages), if any."""
    form = g.get("refused_form")
    if isinstance(form, TransitionFireForm) and form._prefix == f"{trigger}-":
        return form
    return None


def render_instance(instance: WorkflowInstance, status: int = 200, error: str | None = None, failed_form=None):
    """The instance page: subject, state, history, and a form per transition the user may fire now (the one just
    refused, if any, with what the user typed and the refusal beside its field)."""
    engine = get_engine()
    registry = get_registry()
    d = engine.definition_of(instance)
    options = transition_options(current_user, instance)
    refused_forms = {
        t.trigger: failed_form if failed_form is not None and failed_form._prefix == f"{t.trigger}-" else _refused_form(t.trigger) for t, _r in options
    }
    # The step just refused keeps its form (what was typed, the sentence beside it) even when a guard now blocks it.
    options = [(t, reason if refused_forms[t.trigger] is None else None) for t, reason in options]
    forms = []
    for t in (t for t, reason in options if reason is None):
        kept = refused_forms[t.trigger]
        forms.append((t, kept if kept is not None else transition_form(t, registry.inputs, d, formdata=None, expected_version=instance.version)))
    subject = registry.subjects.get(instance.subject_kind)
    shown = subject.load(instance) if subject else {}
    if subject is not None and subject.panel is not None:
        shown = {**shown, **subject.panel(current_user, instance)}
    return render_template(
        "instances/show.html",
        instance=instance,
        d=d,
        history=instance_history(instance),
        forms=forms,
        blocked=blocked_steps(options),
        subject_template=subject.template if subject else None,
        subject=shown,
        can=shown.get("can"),
        error=error,
        # People's words on the item's page (titles in the reader's language); the developers' page keeps the keys.
        diagram_source=in_words(mermaid(d, instance.status, [t.trigger for t, _form in forms]), d, str(get_locale() or "en")),
        open_steps=len(forms),
        panels=[(template, load(instance)) for template, load in registry.panels],
    ), status


@bp.get("/instances/<int:instance_id>")
@signed_in
def show(instance_id: int):
    """An instance's page.

    :raise 403: when the user may not see it. :raise 404: when it does not exist.
    """
    return render_instance(_load_visible(instance_id))


@bp.post("/instances/<int:instance_id>/fire/<trigger>")
@signed_in
def fire(instance_id: int, trigger: str):
    """Fire ``trigger`` as the signed-in user; refusals answer 403/409/422 with a sentence and change nothing.

    :raise 403: not permitted. :raise 409: impossible from this state or changed meanwhile.
    :raise 422: missing input or a guard refused.
    """
    # Locked first and read once: what is checked below is what the transition will change.
    instance = lock_instance(instance_id)
    if instance is None:
        abort(404)
    if not can_view_instance(current_user, instance):
        abort(403)
    engine = get_engine()
    d = engine.definition_of(instance)

    def page():
        # Read again: a refusal rolled the session back, and the page shows the item as it now stands.
        return render_instance(db.session.get(WorkflowInstance, instance_id))

    transition = d.transition(instance.status, trigger)
    if transition is None:
        return refused(_("This step is not possible from the current state."), 409, page=page)
    if not engine.may_act(instance, current_user, transition):
        return refused(_("You are not allowed to take this step."), 403, page=page)
    form = transition_form(transition, get_registry().inputs, d)
    if not form.validate_on_submit():
        return refused(_("Correct the highlighted fields."), 422, page=page, form=form)
    inputs = {name: getattr(form, name).data or "" for name in form.input_names}
    try:
        fire_transition(current_user, instance, trigger, inputs, expected_version=int(form.expected_version.data))
    except Refused as exc:
        db.session.rollback()
        message, status = refusal(exc)
        return refused(message, status, page=page, form=form, field=exc.field)
    db.session.commit()
    flash(_("Done: %(step)s.", step=tr(transition.title)), "success")
    return redirect(url_for("instances.show", instance_id=instance_id))  # the id, not instance.id: no reload after commit
