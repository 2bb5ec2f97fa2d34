"""Forms of the attestations module."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileSize
from wtforms import TextAreaField
from wtforms.validators import Length, ValidationError


class VerifyForm(FlaskForm):
    """Paste a credential, or upload its file."""

    credential = TextAreaField(_l("Credential (JSON)"), validators=[Length(max=256 * 1024)])
    upload = FileField(_l("…or upload the file"), validators=[FileSize(256 * 1024, message=_l("The file is larger than 256 KB."))])

    def validate_credential(self, field) -> None:
        """One of the two is needed."""
        if not (field.data or "").strip() and not self.upload.data:
            raise ValidationError(_l("Paste a credential or choose a file."))
