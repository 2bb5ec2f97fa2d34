"""The form that fires a transition: a field per required input, an optional comment, the version seen, and the
confirmation a signed or final step asks for."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, TextAreaField, URLField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from ..engine import Definition, TransitionDef
from .registry import INPUT_LABELS


class TransitionFireForm(FlaskForm):
    """Base form; ``transition_form`` adds the fields a transition requires."""

    # A whole number, checked by the form: a tampered value is a 422 with the field named, never a ValueError later.
    expected_version = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=0)])


def is_signed(transition: TransitionDef) -> bool:
    """Whether taking ``transition`` signs something publicly: it issues an attestation, or revokes the earlier ones."""
    return transition.attest or transition.revoke


def is_final(transition: TransitionDef, definition: Definition) -> bool:
    """Whether ``transition`` leads to a final state (nothing can be done after it)."""
    dest = definition.states.get(transition.dest)
    return dest is not None and dest.final


def needs_confirmation(transition: TransitionDef, definition: Definition) -> bool:
    """Whether the form of ``transition`` asks for an explicit confirmation: a signed act (an attestation issued or
    revoked, publicly) or a step into a final state, as the workflow definition declares them."""
    return is_signed(transition) or is_final(transition, definition)


# The checkbox's sentence and the message beside it when it is not ticked, by (signed, final).
CONFIRMATIONS = {
    (True, True): (
        _l("I confirm: this act is signed, recorded publicly, and cannot be undone."),
        _l("Tick the box to confirm this signed, final act."),
    ),
    (True, False): (
        _l("I confirm: this act is signed and recorded publicly."),
        _l("Tick the box to confirm this signed act."),
    ),
    (False, True): (
        _l("I confirm: this step is final and cannot be undone."),
        _l("Tick the box to confirm this final step."),
    ),
}


def transition_form(transition: TransitionDef, inputs_spec: dict, definition: Definition, **kwargs) -> TransitionFireForm:
    """A form class for ``transition`` of ``definition`` (built per request from the definition), instantiated."""

    class Form(TransitionFireForm):
        pass

    for name in dict.fromkeys(transition.inputs + transition.accepts + ("comment",)):
        spec = inputs_spec.get(name)
        required = name in transition.inputs
        label = INPUT_LABELS.get(name, name)
        validators = [DataRequired() if required else Optional(), Length(max=spec.max_length if spec else 4000)]
        field = URLField(label, validators=validators) if spec and spec.kind == "url" else TextAreaField(label, validators=validators)
        setattr(Form, name, field)
    confirm = needs_confirmation(transition, definition)
    if confirm:
        label, message = CONFIRMATIONS[(is_signed(transition), is_final(transition, definition))]
        Form.confirm = BooleanField(label, validators=[DataRequired(message=message)])  # type: ignore[attr-defined]
    form = Form(prefix=transition.trigger, **kwargs)
    form.input_names = list(dict.fromkeys(transition.inputs + transition.accepts + ("comment",)))
    form.required_names = set(transition.inputs)
    form.confirms = confirm
    return form
