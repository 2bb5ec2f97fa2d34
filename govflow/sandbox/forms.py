"""Forms of sandbox programmes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    EmailField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..formfields import MAX_ROWS, DateInRange
from ..i18n import tr
from .models import SCORE_MAX

KIND_CHOICES = [SelectChoice("workshop", _l("Workshop")), SelectChoice("deliverable", _l("Deliverable")), SelectChoice("meeting", _l("Meeting"))]


class BilingualRow(Form):
    """One row of a list typed in both languages (an eligibility criterion, a work axis)."""

    en = StringField(_l("English"), validators=[Optional(), Length(max=300)])
    fr = StringField(_l("French"), validators=[Optional(), Length(max=300)])


class GridRow(BilingualRow):
    """One criterion of the selection grid: its title in both languages and its weight."""

    weight = IntegerField(_l("Weight (1-100)"), validators=[Optional(), NumberRange(1, 100)])


#: The programme form's lists of rows, each edited with "add a row" and "remove" buttons that work without JavaScript.
ROW_LISTS = ("eligibility", "grid", "axes")


class ProgrammeForm(FlaskForm):
    """Open or edit a programme and its call."""

    theme_en = StringField(_l("Theme (English)"), validators=[DataRequired(), Length(max=300)])
    theme_fr = StringField(_l("Theme (French)"), validators=[DataRequired(), Length(max=300)])
    edition = IntegerField(_l("Edition (year)"), validators=[DataRequired(), NumberRange(2000, 2100)])
    description_en = TextAreaField(_l("Description (English)"), validators=[DataRequired(), Length(max=8000)])
    description_fr = TextAreaField(_l("Description (French)"), validators=[DataRequired(), Length(max=8000)])
    call_opens_on = DateField(_l("The call opens on"), validators=[DataRequired(), DateInRange()])
    call_closes_on = DateField(_l("The call closes on (last day included)"), validators=[DataRequired(), DateInRange()])
    eligibility = FieldList(FormField(BilingualRow), label=_l("Eligibility criteria"), min_entries=1, max_entries=MAX_ROWS)
    grid = FieldList(FormField(GridRow), label=_l("Selection grid: criteria and their weights"), min_entries=1, max_entries=MAX_ROWS)
    cohort_size = IntegerField(_l("Cohort size (laureates)"), validators=[DataRequired(), NumberRange(1, 100)])
    support_months = IntegerField(_l("Support duration (months)"), validators=[DataRequired(), NumberRange(1, 36)])
    axes = FieldList(FormField(BilingualRow), label=_l("Work axes of every roadmap"), min_entries=1, max_entries=MAX_ROWS)


class ApplicationForm(FlaskForm):
    """Apply to a programme, or edit the draft application; eligibility declarations are added from the programme."""

    organisation_id = SelectField(_l("Organisation"), coerce=int)
    title = StringField(_l("Project title"), validators=[DataRequired(), Length(max=300)])
    summary = TextAreaField(_l("The project in a few lines: its purpose, the data it uses, where it stands"), validators=[Optional(), Length(max=8000)])
    partners = TextAreaField(_l("Partner organisations, one per line"), validators=[Optional(), Length(max=4000)])


class AuditionForm(FlaskForm):
    """Schedule an audition."""

    when = DateTimeLocalField(_l("Date and time (your time zone)"), format="%Y-%m-%dT%H:%M", validators=[DataRequired(), DateInRange()])
    place = StringField(_l("Place or video link"), validators=[DataRequired(), Length(max=300)])


class StepAsideForm(FlaskForm):
    """An evaluator steps aside from an application."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


class PeopleForm(FlaskForm):
    """Add an evaluator or a manager to a programme."""

    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("As"), choices=[SelectChoice("evaluator", _l("Evaluator")), SelectChoice("manager", _l("Manager"))])


class AxisForm(FlaskForm):
    """Add or rename a work axis."""

    title_en = StringField(_l("Axis (English)"), validators=[DataRequired(), Length(max=300)])
    title_fr = StringField(_l("Axis (French)"), validators=[DataRequired(), Length(max=300)])


class MilestoneForm(FlaskForm):
    """Plan a milestone."""

    axis_id = SelectField(_l("Axis"), coerce=int)
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    starts_on = DateField(_l("Starts on"), validators=[DataRequired(), DateInRange()])
    due_on = DateField(_l("Due on"), validators=[DataRequired(), DateInRange()])
    manager_owner_id = SelectField(_l("Owner for the programme"), coerce=int)
    team_owner_id = SelectField(_l("Owner for the laureate"), coerce=int)


class DatesForm(FlaskForm):
    """Move a milestone's dates."""

    starts_on = DateField(_l("Starts on"), validators=[DataRequired(), DateInRange()])
    due_on = DateField(_l("Due on"), validators=[DataRequired(), DateInRange()])


class QuestionForm(FlaskForm):
    """Raise a question to resolve on an axis."""

    text = TextAreaField(_l("Question to resolve"), validators=[DataRequired(), Length(max=4000)])


class AnswerForm(FlaskForm):
    """Answer a question."""

    text = TextAreaField(_l("Answer"), validators=[DataRequired(), Length(max=8000)])


class SynthesisForm(FlaskForm):
    """Write and publish the programme's synthesis."""

    text_en = TextAreaField(_l("Synthesis (English)"), validators=[DataRequired(), Length(min=40, max=20000)])
    text_fr = TextAreaField(_l("Synthesis (French)"), validators=[DataRequired(), Length(min=40, max=20000)])
    milestones = SelectMultipleField(_l("Accepted milestones to include"), coerce=int, widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


def score_form(grid: list[dict], formdata=None, sheet=None) -> FlaskForm:
    """A scoring sheet for ``grid``: a score from 0 to the top and an optional comment per criterion, and a general comment."""
    # No score is preset: a blank first choice, refused if left so, rather than a forgotten criterion becoming a silent 0.
    choices = [SelectChoice("", _l("— choose a score —"))] + [SelectChoice(str(n), str(n)) for n in range(SCORE_MAX + 1)]
    required = DataRequired(message=_l("Choose a score for this criterion: one left blank is not counted as 0."))

    class ScoreForm(FlaskForm):
        comment = TextAreaField(_l("General comment"), validators=[Optional(), Length(max=4000)])

    for criterion in grid:
        key = criterion["key"]
        setattr(ScoreForm, f"score_{key}", SelectField(tr(criterion["title"]), choices=choices, validators=[required]))
        setattr(ScoreForm, f"note_{key}", TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)]))
    data = {}
    if sheet is not None:
        data = {f"score_{k}": str(v) for k, v in sheet.scores.items()} | {f"note_{k}": v for k, v in (sheet.comments or {}).items()}
        data["comment"] = sheet.comment
    return ScoreForm(formdata=formdata, data=data)
