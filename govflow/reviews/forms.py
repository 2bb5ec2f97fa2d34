"""Forms of ethics review."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..formfields import MAX_ROWS

VOTE_CHOICES = [
    SelectChoice("favourable", _l("Favourable")),
    SelectChoice("favourable_with_conditions", _l("Favourable with conditions")),
    SelectChoice("changes_requested", _l("Changes requested")),
    SelectChoice("unfavourable", _l("Unfavourable")),
    SelectChoice("abstain", _l("Abstain")),
]


class InterestRow(Form):
    """One declared interest: an organisation and how one is linked to it."""

    organisation = StringField(_l("Organisation"), validators=[Optional(), Length(max=300)])
    relation = SelectField(
        _l("Link"),
        choices=[
            SelectChoice("works_for", _l("I work for it")),
            SelectChoice("advises", _l("I advise it")),
            SelectChoice("funds", _l("I fund it")),
            SelectChoice("funded_by", _l("It funds me")),
        ],
    )


class InterestsForm(FlaskForm):
    """A new version of one's declaration of interests."""

    interests = FieldList(FormField(InterestRow), label=_l("Organisations you are linked to"), min_entries=1, max_entries=MAX_ROWS)
    personal_links = TextAreaField(_l("Personal links to declare"), validators=[Optional(), Length(max=4000)])


class ReferralForm(FlaskForm):
    """File or edit a referral; dossier fields are added from the dossier schema."""

    organisation_id = SelectField(_l("Organisation"), coerce=int)
    committee_id = SelectField(_l("Committee"), coerce=int)
    title = StringField(_l("Project title"), validators=[DataRequired(), Length(max=300)])
    partners = TextAreaField(_l("Partner organisations, one per line"), validators=[Optional(), Length(max=4000)])
    charters = SelectMultipleField(_l("Charters the project claims to follow"), validators=[Optional()])
    publish_consent = BooleanField(_l("We consent to the decision being published on the register"))


class VoteForm(FlaskForm):
    """A sealed ballot."""

    choice = SelectField(_l("Your vote"), choices=VOTE_CHOICES)
    rationale = TextAreaField(_l("Rationale (required unless favourable or abstaining)"), validators=[Optional(), Length(max=8000)])


class RecusalForm(FlaskForm):
    """Record a recusal."""

    user_id = SelectField(_l("Member"), coerce=int)
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


class RapporteurForm(FlaskForm):
    """Assign a rapporteur."""

    user_id = SelectField(_l("Member"), coerce=int)


class ConditionForm(FlaskForm):
    """Follow up a condition."""

    status = SelectField(_l("Condition"), choices=[SelectChoice("met", _l("Met")), SelectChoice("not_met", _l("Not met"))])
    evidence = TextAreaField(_l("Evidence"), validators=[DataRequired(), Length(max=4000)])


class DissentForm(FlaskForm):
    """A dissenting opinion."""

    text = TextAreaField(_l("Dissenting opinion"), validators=[DataRequired(), Length(max=8000)])
