"""Forms of the accounts module."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    """Sign in with e-mail and password."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


class LanguageForm(FlaskForm):
    """Switch the interface language."""

    lang = SelectField(_l("Language"), choices=[SelectChoice("en", "English"), SelectChoice("fr", "Français")])
    next = HiddenField()
