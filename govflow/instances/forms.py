"""The form that fires a transition: a field per required input, an optional comment, the version seen."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, TextAreaField, URLField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from ..engine import TransitionDef
from .registry import INPUT_LABELS


class TransitionFireForm(FlaskForm):
    """Base form; ``transition_form`` adds the fields a transition requires."""

    # A whole number, checked by the form: a tampered value is a 422 with the field named, never a ValueError later.
    expected_version = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=0)])


def transition_form(transition: TransitionDef, inputs_spec: dict, **kwargs) -> TransitionFireForm:
    """A form class for ``transition`` (built per request from the definition), instantiated."""

    class Form(TransitionFireForm):
        pass

    for name in dict.fromkeys(transition.inputs + transition.accepts + ("comment",)):
        spec = inputs_spec.get(name)
        required = name in transition.inputs
        label = INPUT_LABELS.get(name, name)
        validators = [DataRequired() if required else Optional(), Length(max=spec.max_length if spec else 4000)]
        field = URLField(label, validators=validators) if spec and spec.kind == "url" else TextAreaField(label, validators=validators)
        setattr(Form, name, field)
    form = Form(prefix=transition.trigger, **kwargs)
    form.input_names = list(dict.fromkeys(transition.inputs + transition.accepts + ("comment",)))
    form.required_names = set(transition.inputs)
    return form
