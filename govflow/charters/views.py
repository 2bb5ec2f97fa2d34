"""Charters, organisations, signatures, commitments, evidence and self-assessment pages."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import bounds
from ..access import public, roles_required, signed_in
from ..accounts.models import User
from ..actions import act, refused, run_form, shown_form
from ..engine import utcnow
from ..extensions import db
from ..i18n import tr
from ..instances.services import can_view_instance
from ..instances.views import render_instance
from ..organisations import services as organisations
from ..organisations.models import Organisation
from ..organisations.uploads import inspect_upload, read_limited
from ..web import int_arg
from . import services
from .catalog import charter_title, get_catalog, item_title
from .charts import maturity_chart_svg
from .forms import (
    CommitmentForm,
    EvidenceForm,
    InvitationAnswerForm,
    MemberAddForm,
    MemberChangeForm,
    OrganisationForm,
    WithdrawForm,
    assessment_form,
    sign_form,
)
from .models import Commitment, Evidence, Signature

bp = Blueprint("charters", __name__)
# People read titles, never keys: ``c.pillar|item_title(c.charter, c.charter_version)``, ``s.charter|charter_title(v)``.
bp.add_app_template_filter(item_title, "item_title")
bp.add_app_template_filter(charter_title, "charter_title")


_run_form = run_form


def can_view_organisation(user, organisation: Organisation) -> bool:
    """Members, administrators, committee members and programme managers see an organisation's page."""
    return organisations.is_member(user, organisation.id) or user.has_role("admin", "committee_member", "programme_manager")


def _organisation(organisation_id: int) -> Organisation:
    org = db.session.get(Organisation, organisation_id)
    if org is None:
        abort(404)
    if not can_view_organisation(current_user, org):
        abort(403)
    return org


# -- charters --------------------------------------------------------------------------------------------------------
@bp.get("/charters")
@public
def charters():
    """Every charter govflow carries, latest version first."""
    return render_template("charters/charters.html", charters=get_catalog().latest_all())


@bp.get("/charters/<slug>", defaults={"version": None})
@bp.get("/charters/<slug>/v<int:version>")
@public
def charter(slug: str, version: int | None):
    """A charter version: summary, pillars, themes, targets, source.

    :raise 404: unknown charter or version.
    """
    catalog = get_catalog()
    c = catalog.get(slug, version)
    if c is None:
        abort(404)
    officer_orgs = []
    if current_user.is_authenticated:
        officer_orgs = [o for o in organisations.user_organisations(current_user) if organisations.is_officer(current_user, o.id)]
    return render_template("charters/charter.html", c=c, versions=catalog.versions(slug), officer_orgs=officer_orgs)


@bp.route("/charters/<slug>/v<int:version>/sign", methods=["GET", "POST"])
@signed_in
def sign(slug: str, version: int):
    """Sign a charter version for an organisation, accepting each pillar explicitly.

    :raise 403: the user is an officer of no organisation. :raise 404: unknown charter version.
    """
    c = get_catalog().get(slug, version)
    if c is None:
        abort(404)
    orgs = [o for o in organisations.user_organisations(current_user) if organisations.is_officer(current_user, o.id)]
    if not orgs:
        abort(403, _("Only an officer of an organisation can sign a charter on its behalf."))
    form = sign_form(c)
    form.organisation_id.choices = _choices(orgs)
    response, status = _run_form(
        form,
        lambda: services.sign_charter(
            current_user, db.session.get(Organisation, form.organisation_id.data), c, [p.key for p in c.pillars if getattr(form, f"pillar_{p.key}").data]
        ),
        lambda signature: _(
            "%(org)s signed %(charter)s. A draft commitment was created for each pillar: describe them, then declare them.",
            org=signature.organisation.name,
            charter=tr(c.title),
        ),
        lambda signature: url_for("charters.organisation", organisation_id=signature.organisation_id),
    )
    if response:
        return response
    return render_template("charters/sign.html", c=c, form=form), status


def _choices(orgs):
    from wtforms.fields.choices import SelectChoice

    return [SelectChoice(o.id, o.name) for o in orgs]


# -- organisations ---------------------------------------------------------------------------------------------------
@bp.get("/organisations")
@signed_in
def my_organisations():
    """The organisations the signed-in user belongs to."""
    return render_template(
        "charters/organisations.html",
        organisations=organisations.user_organisations(current_user),
        can_create_organisation=current_user.has_role("signatory", "admin"),
    )


@bp.route("/organisations/new", methods=["GET", "POST"])
@roles_required("signatory", "admin")
def new_organisation():
    """Create an organisation; its creator becomes an officer."""
    form = OrganisationForm()
    response, status = _run_form(
        form,
        lambda: organisations.create_organisation(
            form.name.data, form.kind.data, form.country.data, form.identifier.data, form.website.data, founder=db.session.get(User, current_user.id)
        ),
        _("Organisation created. You are its officer."),
        lambda org: url_for("charters.organisation", organisation_id=org.id),
    )
    if response:
        return response
    return render_template("charters/organisation_form.html", form=form, org=None), status


@bp.route("/organisations/<int:organisation_id>/edit", methods=["GET", "POST"])
@signed_in
def edit_organisation(organisation_id: int):
    """Edit an organisation's details.

    :raise 403: not an officer or administrator. :raise 404: unknown organisation.
    """
    org = _organisation(organisation_id)
    if not organisations.can_manage_organisation(current_user, org):
        abort(403)
    form = OrganisationForm(obj=org)
    response, status = _run_form(
        form,
        lambda: organisations.update_organisation(
            current_user, org, name=form.name.data, kind=form.kind.data, country=form.country.data, identifier=form.identifier.data, website=form.website.data
        ),
        _("Saved."),
        lambda _org: url_for("charters.organisation", organisation_id=org.id),
    )
    if response:
        return response
    return render_template("charters/organisation_form.html", form=form, org=org), status


@bp.get("/organisations/<int:organisation_id>")
@signed_in
def organisation(organisation_id: int):
    """An organisation: details, members, signatures with their commitments, self-assessment chart.

    :raise 403: for users outside it without a reviewing role. :raise 404: unknown organisation.
    """
    return _organisation_page(_organisation(organisation_id))


def _organisation_page(org: Organisation):
    """The organisation's page; also the page its forms (invite, member roles, move) are refused on, in place."""
    signatures = services.organisation_signatures(org)
    catalog = get_catalog()
    commitments = {s.id: services.signature_commitments(s) for s in signatures}
    charts = {}
    for s in signatures:
        c = catalog.get(s.charter, s.charter_version)
        assessments = services.signature_assessments(s)
        if c.themes:
            levels = {(a.theme, x.year): a.level for x in assessments for a in x.answers}
            charts[s.id] = maturity_chart_svg(
                [(t.key, tr(t.title)) for t in c.themes],
                [x.year for x in assessments],
                levels,
                _("Maturity by theme and year"),
                {"level": _("Level"), "not_concerned": _("Not concerned"), "year": _("Year"), "empty": _("No self-assessment yet")},
            )
    newer = {
        s.id: catalog.get(s.charter)
        for s in signatures
        if s.withdrawn_at is None and s.superseded_by_id is None and catalog.get(s.charter).version > s.charter_version
    }
    return render_template(
        "charters/organisation.html",
        org=org,
        member=organisations.is_member(current_user, org.id),
        manager=organisations.can_manage_organisation(current_user, org),
        officer=organisations.is_officer(current_user, org.id),
        members=organisations.members(org),
        signatures=signatures,
        commitments=commitments,
        catalog=catalog,
        charts=charts,
        newer=newer,
        add_form=shown_form(MemberAddForm),
        invitations=organisations.organisation_invitations(org) if organisations.can_manage_organisation(current_user, org) else [],
    )


@bp.post("/organisations/<int:organisation_id>/members")
@signed_in
def add_member(organisation_id: int):
    """Invite a person by e-mail to join the organisation; they become a member when they accept. The answer is the same
    whether or not the address has an account.

    :raise 403: not an officer or administrator.
    """
    org = _organisation(organisation_id)
    if not organisations.can_manage_organisation(current_user, org):
        abort(403)
    form = MemberAddForm()

    def page():
        return _organisation_page(org)

    if not form.validate_on_submit():
        return refused(_("Give an e-mail address and a role."), 422, page=page, form=form)
    email = form.email.data.strip().lower()
    return act(
        lambda: organisations.invite_member(current_user, org, email, form.role.data),
        _("An invitation to %(email)s was recorded. The person becomes a member once they accept it, signed in with this address.", email=email),
        url_for("charters.organisation", organisation_id=org.id),
        page=page,
        form=form,
    )


@bp.post("/invitations/<int:invitation_id>")
@signed_in
def answer_invitation(invitation_id: int):
    """The invited person accepts or declines an invitation sent to their address.

    :raise 404: no such invitation for this user. :raise 409: already answered or expired.
    """
    form = InvitationAnswerForm()
    key = ("invitation", invitation_id)

    def page():
        # The invitation's buttons are on the dashboard (an inbox section): it is rendered again, by its own view.
        return current_app.view_functions["main.dashboard"]()

    if not form.validate_on_submit():
        return refused(_("Accept or decline the invitation."), 422, page=page, key=key)
    accept = form.answer.data == "accept"
    return act(
        lambda: organisations.answer_invitation(current_user, invitation_id, accept),
        _("Welcome to the organisation.") if accept else _("The invitation was declined."),
        url_for("main.dashboard"),
        page=page,
        key=key,
    )


@bp.post("/organisations/<int:organisation_id>/members/<int:user_id>")
@signed_in
def change_member(organisation_id: int, user_id: int):
    """Change a member's role or remove them; the last officer stays.

    :raise 403: not an officer or administrator.
    """
    org = _organisation(organisation_id)
    form = MemberChangeForm()
    if not organisations.can_manage_organisation(current_user, org):
        abort(403)
    key = ("member", user_id)  # the page has a role form per member: the sentence goes beside this one

    def page():
        return _organisation_page(org)

    if not form.validate_on_submit():
        return refused(_("Choose one of the roles offered, or removal."), 422, page=page, key=key)
    return act(
        lambda: organisations.change_member_role(current_user, org, user_id, None if form.role.data == "remove" else form.role.data),
        _("Saved."),
        url_for("charters.organisation", organisation_id=org.id),
        page=page,
        key=key,
    )


# -- signatures ------------------------------------------------------------------------------------------------------
def _signature(signature_id: int) -> Signature:
    signature = db.session.get(Signature, signature_id)
    if signature is None:
        abort(404)
    if not organisations.is_member(current_user, signature.organisation_id) and not current_user.has_role("admin"):
        abort(403)
    return signature


@bp.route("/signatures/<int:signature_id>/withdraw", methods=["GET", "POST"])
@signed_in
def withdraw(signature_id: int):
    """Withdraw the organisation from a charter (public, with a reason; revokes the attestations concerned).

    :raise 403: not an officer of the organisation.
    """
    signature = _signature(signature_id)
    if not organisations.is_officer(current_user, signature.organisation_id):
        abort(403, _("Only an officer of the organisation can withdraw it from a charter."))
    form = WithdrawForm()
    charter = get_catalog().get(signature.charter, signature.charter_version)
    if signature.withdrawn_at is not None:
        if request.method != "POST":
            abort(409, _("This signature was already withdrawn."))
        # Withdrawn meanwhile (another officer, another tab): the form is shown again with its reason kept.
        return refused(
            _("This signature was already withdrawn."),
            409,
            page=lambda: render_template("charters/withdraw.html", s=signature, c=charter, form=form),
            form=form,
        )
    response, status = _run_form(
        form,
        lambda: services.withdraw_signature(current_user, signature, form.reason.data),
        _("The organisation withdrew from the charter. This is shown on the public register."),
        lambda _s: url_for("charters.organisation", organisation_id=signature.organisation_id),
    )
    if response:
        return response
    return render_template("charters/withdraw.html", s=signature, c=charter, form=form), status


@bp.post("/signatures/<int:signature_id>/move")
@signed_in
def move(signature_id: int):
    """Move the organisation to the latest version of a charter it signed (statements carried over as the charter says).

    :raise 403: not an officer. :raise 409/422: nothing to move to.
    """
    signature = _signature(signature_id)
    if not organisations.is_officer(current_user, signature.organisation_id):
        abort(403, _("Only an officer of the organisation can move it to a new version of the charter."))
    latest = get_catalog().get(signature.charter)
    org = signature.organisation
    return act(
        lambda: services.move_signature(current_user, signature, latest),
        _("Moved to version %(v)s: review the carried-over commitments, then declare them.", v=latest.version),
        url_for("charters.organisation", organisation_id=org.id),
        page=lambda: _organisation_page(org),
        key=("move", signature.id),
    )


@bp.route("/signatures/<int:signature_id>/commitments/new", methods=["GET", "POST"])
@signed_in
def new_commitment(signature_id: int):
    """Register one more commitment under a pillar of a signed charter.

    :raise 403: not a member of the organisation.
    """
    signature = _signature(signature_id)
    if not organisations.is_member(current_user, signature.organisation_id):
        abort(403)
    charter = get_catalog().get(signature.charter, signature.charter_version)
    form = _commitment_form(charter, signature.organisation)
    form.pillar.data = form.pillar.data or request.args.get("pillar")
    response, status = _run_form(
        form,
        lambda: services.create_commitment(
            current_user, signature, form.pillar.data, form.statement.data, form.themes.data, form.owner_id.data, form.target_date.data
        ),
        _("Commitment registered as a draft."),
        lambda commitment: url_for("instances.show", instance_id=commitment.instance_id),
    )
    if response:
        return response
    return render_template("charters/commitment_form.html", form=form, signature=signature, c=charter, commitment=None), status


def _commitment_form(charter, organisation, **kwargs) -> CommitmentForm:
    from wtforms.fields.choices import SelectChoice

    form = CommitmentForm(**kwargs)
    form.pillar.choices = [SelectChoice(p.key, f"{p.code or ''} {tr(p.title)}".strip()) for p in charter.pillars]
    form.themes.choices = [SelectChoice(t.key, tr(t.title)) for t in charter.themes]
    form.owner_id.choices = [SelectChoice("", "—")] + [SelectChoice(m.user_id, m.user.name) for m in organisations.members(organisation)]
    return form


@bp.route("/commitments/<int:commitment_id>/edit", methods=["GET", "POST"])
@signed_in
def edit_commitment(commitment_id: int):
    """Edit a draft commitment.

    :raise 403: not a member. :raise 404: unknown commitment. :raise 409: not a draft any more.
    """
    commitment = db.session.get(Commitment, commitment_id)
    if commitment is None:
        abort(404)
    if not organisations.is_member(current_user, commitment.organisation_id):
        abort(403)
    charter = get_catalog().get(commitment.charter, commitment.charter_version)
    form = _commitment_form(charter, commitment.organisation, obj=commitment)
    form.pillar.data = commitment.pillar
    if commitment.instance.status != "draft":
        if request.method != "POST":
            abort(409, _("Only a draft commitment can be edited: once declared, it stays as declared."))
        # Declared meanwhile: the form is shown again with what was typed, so that nothing written is lost.
        return refused(
            _("Only a draft commitment can be edited: once declared, it stays as declared."),
            409,
            page=lambda: render_template("charters/commitment_form.html", form=form, signature=commitment.signature, c=charter, commitment=commitment),
            form=form,
        )
    response, status = _run_form(
        form,
        lambda: services.update_commitment(current_user, commitment, form.statement.data, form.themes.data, form.owner_id.data, form.target_date.data),
        _("Saved."),
        lambda _c: url_for("instances.show", instance_id=commitment.instance_id),
    )
    if response:
        return response
    return render_template("charters/commitment_form.html", form=form, signature=commitment.signature, c=charter, commitment=commitment), status


@bp.post("/commitments/<int:commitment_id>/evidence")
@signed_in
def add_evidence(commitment_id: int):
    """Attach a file (checked by content and size) or a web address to a commitment.

    :raise 403: not a member. :raise 404: unknown commitment.
    """
    commitment = db.session.get(Commitment, commitment_id)
    if commitment is None:
        abort(404)
    if not organisations.is_member(current_user, commitment.organisation_id):
        abort(403)
    form = EvidenceForm()
    instance = commitment.instance
    key = commitment.id  # the evidence form of the commitment panel is hand-written: typed() and here() use this key

    def page():
        return render_instance(instance)

    if not form.validate_on_submit():
        if form.url.errors:
            message = _("Check the web address: give a whole one, such as https://example.org/report.")
        elif form.description.errors:
            message = _("Say what the evidence shows in at most %(n)s characters.", n=500)
        else:
            message = _("The form could not be checked: send it again.")
        return refused(message, 422, page=page, key=key)

    def attach():
        if form.upload.data and form.upload.data.filename:
            max_bytes = current_app.config["EVIDENCE_MAX_BYTES"]
            data = read_limited(form.upload.data.stream, max_bytes)
            checked = inspect_upload(data, form.upload.data.filename, max_bytes)
            services.attach_evidence_file(current_user, commitment, data, checked, form.description.data)
        elif form.url.data:
            services.attach_evidence_url(current_user, commitment, form.url.data, form.description.data)
        else:
            raise services.CharterError(_("Choose a file or give a web address."))

    return act(attach, _("Evidence attached."), url_for("instances.show", instance_id=commitment.instance_id), page=page, key=key)


@bp.get("/evidence/<int:evidence_id>")
@signed_in
def evidence_file(evidence_id: int):
    """Download an evidence file (for those who may see the commitment).

    :raise 403: the user may not see the commitment. :raise 404: unknown evidence or not a file.
    """
    evidence = db.session.get(Evidence, evidence_id)
    if evidence is None or evidence.kind != "file":
        abort(404)
    if not can_view_instance(current_user, evidence.commitment.instance):
        abort(403)
    path = organisations.evidence_root() / evidence.storage_name
    return send_file(path, mimetype=evidence.mime, as_attachment=True, download_name=evidence.original_name or path.name)


@bp.route("/signatures/<int:signature_id>/assessment", methods=["GET", "POST"])
@signed_in
def assessment(signature_id: int):
    """This year's self-assessment of a signature: a level 0–4 per theme, or not concerned with a justification.

    :raise 403: not a member. :raise 409: the charter has no themes.
    """
    signature = _signature(signature_id)
    if not organisations.is_member(current_user, signature.organisation_id):
        abort(403)
    charter = get_catalog().get(signature.charter, signature.charter_version)
    if not charter.themes:
        abort(409, _("This charter has no self-assessment themes."))
    year = int_arg("year", utcnow().year, bounds.DATE_MIN.year, bounds.DATE_MAX.year)
    form = assessment_form(charter, year=year)

    def submit():
        answers = {}
        for t in charter.themes:
            level = getattr(form, f"level_{t.key}").data
            answers[t.key] = (int(level) if level not in (None, "") else None, getattr(form, f"nc_{t.key}").data, getattr(form, f"why_{t.key}").data)
        return services.submit_self_assessment(current_user, signature, form.year.data, answers)

    response, status = _run_form(
        form, submit, _("Self-assessment recorded."), lambda _a: url_for("charters.organisation", organisation_id=signature.organisation_id)
    )
    if response:
        return response
    return render_template("charters/assessment.html", s=signature, c=charter, form=form, year=year), status
