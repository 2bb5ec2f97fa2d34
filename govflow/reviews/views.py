"""Ethics review pages: declarations of interests, referrals and dossiers, rapporteurs, recusals, sealed votes,
decisions with their conditions and dissenting opinions."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ..access import public, roles_required, signed_in
from ..actions import act, refusal, refused, shown_form
from ..attestations.models import Attestation
from ..charters.catalog import get_catalog
from ..engine import EngineError, Refused
from ..extensions import db
from ..formfields import edit_rows, pad_rows
from ..i18n import tr
from ..instances.models import WorkflowInstance
from ..instances.services import Page
from ..instances.views import render_instance
from ..interests.services import current_declaration, declare_interests
from ..organisations.models import Organisation
from ..organisations.services import evidence_root, user_organisations
from ..organisations.uploads import UploadRefused, inspect_upload, read_limited
from ..web import page_arg
from . import ballots, dossier, policies, services
from .forms import ConditionForm, DissentForm, InterestsForm, RapporteurForm, RecusalForm, ReferralForm, VoteForm
from .models import Committee, Condition, Decision, DossierAttachment, Referral
from .wording import tally_explanation

bp = Blueprint("reviews", __name__)


def _referral(referral_id: int) -> Referral:
    referral = db.session.get(Referral, referral_id)
    if referral is None:
        abort(404)
    if not policies.can_see_referral(current_user, referral):
        abort(403)
    return referral


def _dossier_readable(referral_id: int) -> Referral:
    referral = _referral(referral_id)
    if not policies.can_read_dossier(current_user, referral):
        abort(403, _("The dossier is read by the holder and by the committee's members who are not recused, once it is submitted."))
    return referral


def _referral_page(referral: Referral):
    """The referral's page (its instance's), rendered again by a refusal of one of the panel's forms."""
    instance_id = referral.instance_id

    def page():
        return render_instance(db.session.get(WorkflowInstance, instance_id))

    return page


def _act(referral: Referral, action, success: str, *, page, key: str):
    """Run a member's action on a referral, commit, and go back to its page; a refusal changes nothing and is said
    beside the panel's form ``key`` on ``page`` (the referral's), with what was typed."""
    return act(action, success, url_for("instances.show", instance_id=referral.instance_id), page=page, key=key)


def _interest_items(rows: list[dict]) -> list[dict]:
    """The declaration's rows with an organisation named (empty rows are left out)."""
    named = [(str(row.get("organisation") or "").strip(), row.get("relation") or "works_for") for row in rows]
    return [{"organisation": name, "relation": relation} for name, relation in named if name]


def _interests_page(form: InterestsForm | None = None):
    """The declaration's page: the current version in the form (and an empty row to add one), or what was just refused
    or is being edited, with its messages."""
    current = current_declaration(current_user.id)
    if form is None:
        defaults = {"interests": list(current.interests), "personal_links": current.personal_links} if current is not None else {}
        form = shown_form(InterestsForm, **defaults)
        if g.get("refused_form") is not form:  # room for one more organisation
            pad_rows(form.interests, len(current.interests) + 1 if current is not None else 2)
    return render_template("reviews/interests.html", form=form, current=current)


@bp.route("/interests", methods=["GET", "POST"])
@roles_required("committee_member", "committee_secretary", "programme_manager")
def interests():
    """The signed-in member's or evaluator's declaration of interests: each save is a new dated version."""
    if request.method == "GET":
        return _interests_page()
    form = InterestsForm()
    if edit_rows(form, ("interests",)):
        return _interests_page(form)
    if not form.validate_on_submit():
        return refused(_("Correct the highlighted fields."), 422, page=_interests_page, form=form)
    return act(
        lambda: declare_interests(current_user, _interest_items(form.interests.data), form.personal_links.data),
        _("Your declaration of interests was recorded as a new version."),
        url_for("reviews.interests"),
        page=_interests_page,
        form=form,
    )


def _with_choices(form: ReferralForm) -> ReferralForm:
    form.organisation_id.choices = [SelectChoice(o.id, o.name) for o in user_organisations(current_user)]
    form.committee_id.choices = [SelectChoice(c.id, c.name) for c in db.session.scalars(sa.select(Committee).order_by(Committee.name))]
    form.charters.choices = [SelectChoice(c.slug, tr(c.title)) for c in get_catalog().latest_all()]
    return form


def _dossier_values() -> dict:
    return {f.key: request.form.get(f"dossier-{f.key}", "") for f in dossier.FIELDS}


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _dossier_form_page(form: ReferralForm, values: dict, referral: Referral | None):
    """The referral's form (new, or its dossier's edition) with the dossier's sections and their messages."""
    lang = str(get_locale())
    return render_template(
        "reviews/referral_form.html",
        form=form,
        values=values,
        fields=dossier.FIELDS,
        max_length=dossier.MAX_LENGTH,
        lang=lang,
        errors=dossier.validate(values, lang) if values else {},
        referral=referral,
    )


def _new_referral_page():
    """A blank referral, or the one just refused with what was typed (its dossier's sections included)."""
    return _dossier_form_page(_with_choices(shown_form(ReferralForm)), _dossier_values() if request.method == "POST" else {}, None)


@bp.route("/referrals/new", methods=["GET", "POST"])
@signed_in
def new_referral():
    """File a referral for a project of one of the user's organisations (a draft, submitted when complete).

    :raise 403: the user belongs to no organisation.
    """
    if not user_organisations(current_user):
        abort(403, _("Only members of an organisation can refer a project."))
    if request.method == "GET":
        return _new_referral_page()
    form = _with_choices(ReferralForm())
    if not form.validate_on_submit():
        return refused(_("Correct the highlighted fields."), 422, page=_new_referral_page, form=form)
    try:
        referral = services.create_referral(
            current_user,
            _organisation(form.organisation_id.data),
            db.session.get(Committee, form.committee_id.data),
            form.title.data,
            _dossier_values(),
            _lines(form.partners.data),
            form.charters.data or [],
            form.publish_consent.data,
        )
    except Refused as exc:
        db.session.rollback()
        message, status = refusal(exc)
        return refused(message, status, page=_new_referral_page, form=form, field=exc.field)
    db.session.commit()
    flash(_("Referral saved as a draft. Submit it when the dossier is complete."), "success")
    return redirect(url_for("instances.show", instance_id=referral.instance_id))


def _organisation(organisation_id: int):
    return db.session.get(Organisation, organisation_id)


def _edit_dossier_page(referral: Referral):
    """The dossier's form with its latest version, or the edition just refused with what was typed."""
    version = services.latest_dossier(referral)
    form = _with_choices(shown_form(ReferralForm, obj=referral, partners="\n".join(version.partners), charters=list(version.charters)))
    values = _dossier_values() if request.method == "POST" else dict(version.fields)
    return _dossier_form_page(form, values, referral)


@bp.route("/referrals/<int:referral_id>/dossier", methods=["GET", "POST"])
@signed_in
def edit_dossier(referral_id: int):
    """Edit the draft dossier, or file a new version after the committee asked for changes.

    :raise 403: not a member of the referring organisation.
    """
    referral = _referral(referral_id)
    if not policies.can_edit_dossier(current_user, referral):
        abort(403)
    if request.method == "GET":
        return _edit_dossier_page(referral)
    form = _with_choices(ReferralForm(obj=referral))
    form.organisation_id.data, form.committee_id.data = referral.organisation_id, referral.committee_id
    page = functools.partial(_edit_dossier_page, referral)
    if not form.validate_on_submit():
        return refused(_("Correct the highlighted fields."), 422, page=page, form=form)
    return act(
        lambda: services.update_dossier(current_user, referral, _dossier_values(), _lines(form.partners.data), form.charters.data or []),
        _("Dossier saved."),
        url_for("instances.show", instance_id=referral.instance_id),
        page=page,
        form=form,
    )


@bp.get("/referrals/<int:referral_id>/changes")
@signed_in
def changes(referral_id: int):
    """What changed in the dossier since the version the committee last examined.

    :raise 403: anyone who may not read the dossier (see ``policies``).
    """
    referral = _dossier_readable(referral_id)
    versions = services.dossier_versions(referral)
    latest = versions[-1]
    base = next((v for v in versions if v.number == referral.examined_version), None)
    if base is latest:
        base = versions[-2] if len(versions) > 1 else None
    lang = str(get_locale())
    return render_template(
        "reviews/changes.html",
        referral=referral,
        latest=latest,
        base=base,
        changes=dossier.diff(base.fields if base else None, latest.fields, lang),
        partners=dossier.diff_lists(base.partners if base else [], latest.partners),
        text_diff=dossier.text_diff,
    )


def _member_choices(referral: Referral, eligible_only: bool) -> list:
    users = {m.user_id: m.user.name for m in services.members_in_term(referral.committee_id)}
    ids = services.eligible_members(referral) if eligible_only else list(users)
    return [SelectChoice(i, users[i]) for i in ids]


@bp.post("/referrals/<int:referral_id>/rapporteurs")
@signed_in
def add_rapporteur(referral_id: int):
    """The secretary or chair assigns a rapporteur.

    :raise 403: not the committee's secretary or chair.
    """
    referral = _referral(referral_id)
    if not policies.can_lead(current_user, referral):
        abort(403, _("Only the committee's secretary or chair can assign rapporteurs."))
    form = RapporteurForm()
    form.user_id.choices = _member_choices(referral, True)
    page, key = _referral_page(referral), "rapporteur"
    if not form.validate_on_submit():
        return refused(_("Choose a member of the committee who is not recused."), 422, page=page, key=key)
    return _act(referral, lambda: services.assign_rapporteur(current_user, referral, form.user_id.data), _("Rapporteur assigned."), page=page, key=key)


@bp.post("/referrals/<int:referral_id>/recusals")
@signed_in
def add_recusal(referral_id: int):
    """A member recuses themselves, or the chair records a member's recusal.

    :raise 403: neither the member concerned nor the chair.
    """
    referral = _referral(referral_id)
    if services.committee_role(current_user, referral.committee_id) is None:
        abort(403, _("Only the member concerned or the committee's chair can record a recusal."))
    form = RecusalForm()
    form.user_id.choices = _member_choices(referral, False)
    page, key = _referral_page(referral), "recusal"
    if not form.validate_on_submit():
        return refused(_("A recusal needs a member and a reason."), 422, page=page, key=key)
    return _act(
        referral, lambda: services.recuse(current_user, referral, form.user_id.data, form.reason.data), _("The recusal was recorded."), page=page, key=key
    )


def _vote_page(referral: Referral):
    """The ballot's page: one's current vote in the form, or the ballot just refused with what was chosen and typed."""
    mine = services.my_vote(current_user, referral)
    receipt = services.ballot_leaves([mine.id]).get(mine.id) if mine is not None else None
    return render_template(
        "reviews/vote.html",
        referral=referral,
        form=shown_form(VoteForm, obj=mine),
        mine=mine,
        vote_round=services.current_round(referral),
        receipt=receipt.hex() if receipt else None,
    )


@bp.route("/referrals/<int:referral_id>/vote", methods=["GET", "POST"])
@signed_in
def vote(referral_id: int):
    """Cast or change one's sealed ballot while the vote is open; nobody sees others' ballots before it closes.

    :raise 403: recused or not an eligible member.
    """
    referral = _referral(referral_id)
    if services.is_recused(current_user, referral):
        abort(403, _("You are recused from this referral: you cannot vote on it or see its votes."))
    if current_user.id not in services.eligible_members(referral):
        abort(403, _("Only members of this committee can vote on its referrals."))
    if request.method == "GET":
        return _vote_page(referral)
    form = VoteForm(obj=services.my_vote(current_user, referral))
    page = functools.partial(_vote_page, referral)
    if not form.validate_on_submit():
        return refused(_("Correct the highlighted fields."), 422, page=page, form=form)
    try:
        services.cast_vote(current_user, referral, form.choice.data, form.rationale.data)
    except Refused as exc:
        db.session.rollback()
        message, status = refusal(exc)
        return refused(message, status, page=page, form=form, field=exc.field)
    db.session.commit()
    flash(_("Your vote was recorded. You may change it until the vote closes."), "success")
    try:  # the last ballot closes the vote; a concurrent closing is not an error for this voter
        if services.close_vote_when_complete(referral):
            db.session.commit()
    except EngineError:
        db.session.rollback()
    return redirect(url_for("instances.show", instance_id=referral.instance_id), code=303)


@bp.get("/referrals/<int:referral_id>/votes")
@signed_in
def votes(referral_id: int):
    """The ballots of closed rounds, for members who are not recused.

    :raise 403: recused, or not a member. :raise 409: no round has closed yet.
    """
    referral = _referral(referral_id)
    if services.committee_role(current_user, referral.committee_id) is None or services.is_recused(current_user, referral):
        abort(403, _("You are recused from this referral: you cannot vote on it or see its votes."))
    rounds = [
        r
        for r in db.session.scalars(sa.select(services.VoteRound).where(services.VoteRound.referral_id == referral.id).order_by(services.VoteRound.number))
        if r.closed_at is not None
    ]
    if not rounds:
        abort(409, _("The votes stay sealed until the vote closes."))
    return render_template("reviews/votes.html", referral=referral, rounds=[(r, services.round_votes(r)) for r in rounds])


@bp.post("/conditions/<int:condition_id>")
@signed_in
def follow_condition(condition_id: int):
    """The secretary or chair records a condition as met or not met, with the evidence.

    :raise 403: not the secretary or chair. :raise 404: unknown condition.
    """
    condition = db.session.get(Condition, condition_id)
    if condition is None:
        abort(404)
    referral = _referral(condition.decision.referral_id)
    if not policies.can_lead(current_user, referral):
        abort(403, _("Only the committee's secretary or chair follows up conditions."))
    form = ConditionForm()
    page, key = _referral_page(referral), f"condition-{condition.id}"
    if not form.validate_on_submit():
        return refused(_("Say whether the condition is met, with the evidence."), 422, page=page, key=key)
    return _act(
        referral,
        lambda: services.resolve_condition(current_user, condition, form.status.data, form.evidence.data),
        _("Condition followed up."),
        page=page,
        key=key,
    )


@bp.post("/decisions/<int:decision_id>/dissent")
@signed_in
def dissent(decision_id: int):
    """A member who voted otherwise adds a dissenting opinion.

    :raise 403: did not vote otherwise. :raise 404: unknown decision.
    """
    decision = db.session.get(Decision, decision_id)
    if decision is None:
        abort(404)
    referral = _referral(decision.referral_id)
    if not services.may_dissent(current_user, decision):
        abort(403, _("Only a member who voted otherwise can write a dissenting opinion."))
    form = DissentForm()
    page, key = _referral_page(referral), "dissent"
    if not form.validate_on_submit():
        return refused(_("Write the dissenting opinion."), 422, page=page, key=key)
    return _act(referral, lambda: services.add_dissent(current_user, decision, form.text.data), _("Your dissenting opinion was recorded."), page=page, key=key)


@bp.post("/referrals/<int:referral_id>/files")
@signed_in
def add_file(referral_id: int):
    """Attach a file (checked by content and size) to the dossier.

    :raise 403: not a member of the referring organisation.
    """
    referral = _referral(referral_id)
    if not policies.can_edit_dossier(current_user, referral):
        abort(403, _("Only members of the organisation can add files to its dossier."))
    page, key = _referral_page(referral), "file"
    upload = request.files.get("upload")
    if upload is None or not upload.filename:
        return refused(_("Choose a file."), 422, page=page, key=key)
    max_bytes = current_app.config["EVIDENCE_MAX_BYTES"]
    try:
        data = read_limited(upload.stream, max_bytes)
        checked = inspect_upload(data, upload.filename, max_bytes)
    except UploadRefused as exc:
        return refused(_("File refused: %(why)s", why=str(exc)), 422, page=page, key=key)
    return _act(referral, lambda: services.attach_file(current_user, referral, data, checked), _("File attached to the dossier."), page=page, key=key)


@bp.get("/referral-files/<int:attachment_id>")
@signed_in
def file(attachment_id: int):
    """Download a dossier file (the holder's organisation and the committee's members who are not recused).

    :raise 403: anyone else, recused members included. :raise 404: unknown file.
    """
    attachment = db.session.get(DossierAttachment, attachment_id)
    if attachment is None:
        abort(404)
    _dossier_readable(attachment.referral_id)
    return send_file(evidence_root() / attachment.storage_name, mimetype=attachment.mime, as_attachment=True, download_name=attachment.original_name)


@bp.get("/decisions")
@public
def published_decisions():
    """Published decisions of the ethics committees: project, organisation, decision, conditions, date (never the dossier)."""
    page_number = page_arg()
    per_page = 20
    query = sa.select(Decision).where(Decision.published.is_(True), Decision.annulled_at.is_(None))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    decisions = db.session.scalars(query.order_by(Decision.decided_at.desc()).limit(per_page).offset((page_number - 1) * per_page)).all()
    referrals = {r.id: r for r in db.session.scalars(sa.select(Referral).where(Referral.id.in_([d.referral_id for d in decisions])))}
    # Each decision's signed attestation: the one its recording step issued (same history row).
    attestations = {
        a.history_id: a
        for a in db.session.scalars(
            sa.select(Attestation).where(Attestation.history_id.in_([d.history_id for d in decisions])).options(sa.orm.lazyload(Attestation.key))
        )
    }
    return render_template("reviews/decisions.html", page=Page(decisions, page_number, per_page, total), referrals=referrals, attestations=attestations)


@bp.get("/decisions/<int:decision_id>/ballots.json")
@public
def ballot_openings(decision_id: int):
    """The decision's round opened: every logged ballot and the tally entry with their salts and inclusion proofs, to
    check offline with ``govflow attest verify-ballots``. Anyone once the decision is published; before that, the
    committee's members who are not recused.

    :raise 403: an unpublished decision and the user is not an unrecused member. :raise 404: unknown decision.
    """
    decision = db.session.get(Decision, decision_id)
    if decision is None or decision.annulled_at is not None:
        abort(404)
    if not decision.published:
        referral = db.session.get(Referral, decision.referral_id)
        if services.committee_role(current_user, referral.committee_id) is None or services.is_recused(current_user, referral):
            abort(403, _("The ballots of this decision are opened to the public once the decision is published."))
    response = jsonify(ballots.ballot_openings(decision))
    response.headers["Content-Disposition"] = f'attachment; filename="govflow-decision-{decision.id}-ballots.json"'
    return response


@bp.app_context_processor
def _review_helpers():
    """The review forms templates build, through ``shown_form`` (who sees them is decided by ``policies.referral_permissions``)."""
    return {
        "rapporteur_form": functools.partial(shown_form, RapporteurForm),
        "recusal_form": functools.partial(shown_form, RecusalForm),
        "condition_form": functools.partial(shown_form, ConditionForm),
        "dissent_form": functools.partial(shown_form, DissentForm),
        "tally_explanation": tally_explanation,
    }
