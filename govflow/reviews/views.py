"""Ethics review pages: declarations of interests, referrals and dossiers, rapporteurs, recusals, sealed votes,
decisions with their conditions and dissenting opinions."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ..access import public, roles_required, signed_in
from ..actions import act, refusal
from ..attestations.models import Attestation
from ..charters.catalog import get_catalog
from ..engine import EngineError, Refused
from ..extensions import db
from ..i18n import tr
from ..instances.services import Page
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


def _refused(exc: Refused) -> int:
    message, status = refusal(exc)
    flash(message, "error")
    return status


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


def _back(referral: Referral):
    return redirect(url_for("instances.show", instance_id=referral.instance_id)), 303


def _act(referral: Referral, action, success: str):
    """Run a member's action on a referral, commit, and go back to its page; a refusal changes nothing and says why."""
    return act(action, success, url_for("instances.show", instance_id=referral.instance_id))


@bp.route("/interests", methods=["GET", "POST"])
@roles_required("committee_member", "committee_secretary", "programme_manager")
def interests():
    """The signed-in member's or evaluator's declaration of interests: each save is a new dated version."""
    current = current_declaration(current_user.id)
    form = InterestsForm()
    if request.method == "GET" and current is not None:
        form.interests.data = "\n".join(f"{i['organisation']} | {i['relation']}" for i in current.interests)
        form.personal_links.data = current.personal_links
    status = 200
    if form.validate_on_submit():
        items = []
        for line in (form.interests.data or "").splitlines():
            if line.strip():
                name, _sep, relation = line.partition("|")
                items.append({"organisation": name.strip(), "relation": relation.strip() or "works_for"})
        try:
            declare_interests(current_user, items, form.personal_links.data)
        except Refused as exc:
            db.session.rollback()
            status = _refused(exc)
        else:
            db.session.commit()
            flash(_("Your declaration of interests was recorded as a new version."), "success")
            return redirect(url_for("reviews.interests")), 303
    elif form.is_submitted():
        status = 422
    return render_template("reviews/interests.html", form=form, current=current), status


def _referral_form(**kwargs) -> ReferralForm:
    form = ReferralForm(**kwargs)
    form.organisation_id.choices = [SelectChoice(o.id, o.name) for o in user_organisations(current_user)]
    form.committee_id.choices = [SelectChoice(c.id, c.name) for c in db.session.scalars(sa.select(Committee).order_by(Committee.name))]
    form.charters.choices = [SelectChoice(c.slug, tr(c.title)) for c in get_catalog().latest_all()]
    return form


def _dossier_values() -> dict:
    return {f.key: request.form.get(f"dossier-{f.key}", "") for f in dossier.FIELDS}


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


@bp.route("/referrals/new", methods=["GET", "POST"])
@signed_in
def new_referral():
    """File a referral for a project of one of the user's organisations (a draft, submitted when complete).

    :raise 403: the user belongs to no organisation.
    """
    if not user_organisations(current_user):
        abort(403, _("Only members of an organisation can refer a project."))
    form = _referral_form()
    status = 200
    values = _dossier_values() if request.method == "POST" else {}
    if form.validate_on_submit():
        try:
            referral = services.create_referral(
                current_user,
                _organisation(form.organisation_id.data),
                db.session.get(Committee, form.committee_id.data),
                form.title.data,
                values,
                _lines(form.partners.data),
                form.charters.data or [],
                form.publish_consent.data,
            )
        except Refused as exc:
            db.session.rollback()
            status = _refused(exc)
        else:
            db.session.commit()
            flash(_("Referral saved as a draft. Submit it when the dossier is complete."), "success")
            return redirect(url_for("instances.show", instance_id=referral.instance_id))
    elif form.is_submitted():
        status = 422
    return render_template(
        "reviews/referral_form.html",
        form=form,
        values=values,
        fields=dossier.FIELDS,
        max_length=dossier.MAX_LENGTH,
        lang=str(get_locale()),
        errors=dossier.validate(values, str(get_locale())) if values else {},
        referral=None,
    ), status


def _organisation(organisation_id: int):
    return db.session.get(Organisation, organisation_id)


@bp.route("/referrals/<int:referral_id>/dossier", methods=["GET", "POST"])
@signed_in
def edit_dossier(referral_id: int):
    """Edit the draft dossier, or file a new version after the committee asked for changes.

    :raise 403: not a member of the referring organisation.
    """
    referral = _referral(referral_id)
    if referral.organisation_id not in {o.id for o in user_organisations(current_user)}:
        abort(403)
    version = services.latest_dossier(referral)
    form = _referral_form(obj=referral)
    form.organisation_id.data, form.committee_id.data = referral.organisation_id, referral.committee_id
    values = _dossier_values() if request.method == "POST" else dict(version.fields)
    if request.method == "GET":
        form.partners.data = "\n".join(version.partners)
        form.charters.data = list(version.charters)
    status = 200
    if form.validate_on_submit():
        try:
            services.update_dossier(current_user, referral, values, _lines(form.partners.data), form.charters.data or [])
        except Refused as exc:
            db.session.rollback()
            status = _refused(exc)
        else:
            db.session.commit()
            flash(_("Dossier saved."), "success")
            return _back(referral)
    elif form.is_submitted():
        status = 422
    return render_template(
        "reviews/referral_form.html",
        form=form,
        values=values,
        fields=dossier.FIELDS,
        max_length=dossier.MAX_LENGTH,
        lang=str(get_locale()),
        errors=dossier.validate(values, str(get_locale())),
        referral=referral,
    ), status


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
    if not form.validate_on_submit():
        flash(_("Choose a member of the committee who is not recused."), "error")
        return _back(referral)
    return _act(referral, lambda: services.assign_rapporteur(current_user, referral, form.user_id.data), _("Rapporteur assigned."))


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
    if not form.validate_on_submit():
        flash(_("A recusal needs a member and a reason."), "error")
        return _back(referral)
    return _act(referral, lambda: services.recuse(current_user, referral, form.user_id.data, form.reason.data), _("The recusal was recorded."))


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
    mine = services.my_vote(current_user, referral)
    form = VoteForm(obj=mine)
    status = 200
    if form.validate_on_submit():
        try:
            services.cast_vote(current_user, referral, form.choice.data, form.rationale.data)
        except Refused as exc:
            db.session.rollback()
            status = _refused(exc)
        else:
            db.session.commit()
            flash(_("Your vote was recorded. You may change it until the vote closes."), "success")
            try:  # the last ballot closes the vote; a concurrent closing is not an error for this voter
                if services.close_vote_when_complete(referral):
                    db.session.commit()
            except EngineError:
                db.session.rollback()
            return _back(referral)
    elif form.is_submitted():
        status = 422
    receipt = services.ballot_leaves([mine.id]).get(mine.id) if mine is not None else None
    return render_template(
        "reviews/vote.html", referral=referral, form=form, mine=mine, vote_round=services.current_round(referral), receipt=receipt.hex() if receipt else None
    ), status


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
    if not form.validate_on_submit():
        flash(_("Say whether the condition is met, with the evidence."), "error")
        return _back(referral)
    return _act(referral, lambda: services.resolve_condition(current_user, condition, form.status.data, form.evidence.data), _("Condition followed up."))


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
    if not form.validate_on_submit():
        flash(_("Write the dissenting opinion."), "error")
        return _back(referral)
    return _act(referral, lambda: services.add_dissent(current_user, decision, form.text.data), _("Your dissenting opinion was recorded."))


@bp.post("/referrals/<int:referral_id>/files")
@signed_in
def add_file(referral_id: int):
    """Attach a file (checked by content and size) to the dossier.

    :raise 403: not a member of the referring organisation.
    """
    referral = _referral(referral_id)
    upload = request.files.get("upload")
    if upload is None or not upload.filename:
        flash(_("Choose a file."), "error")
        return _back(referral)
    max_bytes = current_app.config["EVIDENCE_MAX_BYTES"]
    try:
        data = read_limited(upload.stream, max_bytes)
        checked = inspect_upload(data, upload.filename, max_bytes)
    except UploadRefused as exc:
        return render_template("errors/error.html", status=422, message=_("File refused: %(why)s", why=str(exc))), 422
    return _act(referral, lambda: services.attach_file(current_user, referral, data, checked), _("File attached to the dossier."))


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
    """The review forms templates build (who sees them is decided by ``policies.referral_permissions``)."""
    return {
        "rapporteur_form": RapporteurForm,
        "recusal_form": RecusalForm,
        "condition_form": ConditionForm,
        "dissent_form": DissentForm,
        "tally_explanation": tally_explanation,
    }
