"""Forms of the charters module."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class CommitmentCreateForm(FlaskForm):
    """Register a draft commitment for one of the user's organisations."""

    organisation_id = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    charter = StringField(_l("Charter"), validators=[DataRequired(), Length(max=64)])
    pillar = StringField(_l("Pillar"), validators=[DataRequired(), Length(max=64)])
    statement = TextAreaField(_l("What the organisation commits to do"), validators=[DataRequired(), Length(min=20, max=4000)])
