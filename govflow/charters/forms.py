"""Forms of the charters module."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, EmailField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from .. import bounds
from ..formfields import DateInRange

KIND_CHOICES = [
    SelectChoice("company", _l("Company")),
    SelectChoice("public_body", _l("Public body")),
    SelectChoice("school", _l("School")),
    SelectChoice("association", _l("Association")),
]
ROLE_CHOICES = [SelectChoice("officer", _l("Officer (may sign)")), SelectChoice("contributor", _l("Contributor"))]


class OrganisationForm(FlaskForm):
    """Create or edit an organisation."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES)
    country = StringField(_l("Country (two-letter code)"), default="FR", validators=[DataRequired(), Length(min=2, max=2)])
    identifier = StringField(_l("SIREN or other identifier"), validators=[Optional(), Length(max=64)])
    website = URLField(_l("Website"), validators=[Optional(), URL(require_tld=False), Length(max=300)])


class InvitationAnswerForm(FlaskForm):
    """Accept or decline an invitation."""

    answer = SelectField(choices=[SelectChoice("accept", _l("Accept")), SelectChoice("decline", _l("Decline"))])


class MemberAddForm(FlaskForm):
    """Invite a person to an organisation."""

    email = EmailField(_l("E-mail of the person"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class MemberChangeForm(FlaskForm):
    """Change a member's role or remove them."""

    role = SelectField(_l("Role"), choices=[*ROLE_CHOICES, SelectChoice("remove", _l("Remove from the organisation"))])


class SignForm(FlaskForm):
    """Sign a charter version on behalf of an organisation; a checkbox per pillar is added per charter."""

    organisation_id = SelectField(_l("On behalf of"), coerce=int)
    confirm = BooleanField(
        _l("I am authorised to commit my organisation, and I understand that the signature is public."),
        validators=[DataRequired(message=_l("Confirm that you may commit your organisation."))],
    )


def sign_form(charter, **kwargs) -> SignForm:
    """A sign form with one required checkbox per pillar of ``charter``."""

    class Form(SignForm):
        pass

    for pillar in charter.pillars:
        setattr(Form, f"pillar_{pillar.key}", BooleanField(pillar.key))
    return Form(**kwargs)


class WithdrawForm(FlaskForm):
    """Withdraw from a charter: public, with a reason."""

    reason = TextAreaField(_l("Why the organisation withdraws (public)"), validators=[DataRequired(), Length(min=10, max=2000)])
    confirm = BooleanField(
        _l("I understand that this is public and revokes the attestations of this signature and its commitments."),
        validators=[DataRequired(message=_l("Confirm the withdrawal."))],
    )


class CommitmentForm(FlaskForm):
    """Register or edit a commitment under a pillar."""

    pillar = SelectField(_l("Pillar"))
    statement = TextAreaField(_l("What the organisation commits to do"), validators=[DataRequired(), Length(min=20, max=4000)])
    themes = SelectMultipleField(_l("Themes it serves"), validators=[Optional()])
    owner_id = SelectField(_l("Owner"), coerce=lambda v: int(v) if v not in (None, "", "None") else None, validators=[Optional()])
    target_date = DateField(_l("Target date"), validators=[Optional(), DateInRange()])


class EvidenceForm(FlaskForm):
    """Attach evidence: a file, or a web address."""

    upload = FileField(_l("File (PDF, image, office document or text)"))
    url = URLField(_l("…or a web address"), validators=[Optional(), URL(require_tld=False), Length(max=2000)])
    description = StringField(_l("What it shows"), validators=[Optional(), Length(max=500)])


class AssessmentForm(FlaskForm):
    """Yearly self-assessment: fields per theme are added per charter."""

    # Checked by the form: a tampered or empty year is a 422 naming the field, never a ValueError in the view.
    year = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=bounds.DATE_MIN.year, max=bounds.DATE_MAX.year)])


def assessment_form(charter, **kwargs) -> AssessmentForm:
    """A self-assessment form with a level, a not-concerned box and a justification per theme of ``charter``."""

    class Form(AssessmentForm):
        pass

    levels = [SelectChoice("", "—")] + [SelectChoice(str(n), str(n)) for n in range(5)]
    for theme in charter.themes:
        setattr(Form, f"level_{theme.key}", SelectField(theme.key, choices=levels, validators=[Optional()]))
        setattr(Form, f"nc_{theme.key}", BooleanField(_l("Not concerned")))
        setattr(Form, f"why_{theme.key}", TextAreaField(_l("Justification"), validators=[Optional(), Length(max=2000)]))
    return Form(**kwargs)
