"""Organisation pages and commitment registration."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ..access import signed_in
from ..engine import NotPermitted
from ..extensions import db
from .forms import CommitmentCreateForm
from .models import Organisation
from .services import CharterError, create_commitment, is_member, organisation_commitments, user_organisations

bp = Blueprint("charters", __name__)


def can_view_organisation(user, organisation: Organisation) -> bool:
    """Members, administrators, committee members and programme managers see an organisation's page."""
    return is_member(user, organisation.id) or user.has_role("admin", "committee_member", "programme_manager")


@bp.get("/organisations")
@signed_in
def my_organisations():
    """The organisations the signed-in user belongs to."""
    return render_template("charters/organisations.html", organisations=user_organisations(current_user))


@bp.get("/organisations/<int:organisation_id>")
@signed_in
def organisation(organisation_id: int):
    """An organisation with its commitments and their states.

    :raise 403: for users outside it without a reviewing role. :raise 404: when it does not exist.
    """
    org = db.session.get(Organisation, organisation_id)
    if org is None:
        abort(404)
    if not can_view_organisation(current_user, org):
        abort(403)
    return render_template("charters/organisation.html", org=org, commitments=organisation_commitments(org), member=is_member(current_user, org.id))


@bp.route("/commitments/new", methods=["GET", "POST"])
@signed_in
def new_commitment():
    """Register a draft commitment for one of the user's organisations.

    :raise 403: when the user belongs to no organisation.
    """
    orgs = user_organisations(current_user)
    if not orgs:
        abort(403, _("You belong to no organisation, so you cannot register commitments."))
    form = CommitmentCreateForm()
    form.organisation_id.choices = [SelectChoice(o.id, o.name) for o in orgs]
    status = 200
    if form.validate_on_submit():
        org = db.session.get(Organisation, form.organisation_id.data)
        try:
            commitment = create_commitment(current_user, org, form.charter.data, form.pillar.data, form.statement.data)
        except (CharterError, NotPermitted) as exc:
            db.session.rollback()
            flash(str(exc), "error")
            status = 422
        else:
            db.session.commit()
            flash(_("Commitment registered as a draft."), "success")
            return redirect(url_for("instances.show", instance_id=commitment.instance_id))
    elif form.is_submitted():
        status = 422
    return render_template("charters/new_commitment.html", form=form), status
