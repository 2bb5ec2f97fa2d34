"""Compiles a Definition once into a shared ``transitions`` machine with no model attached."""

from __future__ import annotations

from collections.abc import Callable

from transitions import EventData, Machine

from .definitions import Definition

STATE_ATTRIBUTE = "status"


def compile_machine(definition: Definition, check: Callable[[EventData], bool], after: Callable[[EventData], None]) -> Machine:
    """Build the machine for ``definition``: every transition guarded by ``check``, ``after`` called on change.

    Auto-transitions are off (they would add ``to_<state>`` triggers that bypass every guard), and
    callbacks are callables, never strings: the library would resolve a string as a dotted import path.
    """
    return Machine(
        model=None,
        states=list(definition.states),
        initial=definition.initial,
        transitions=[{"trigger": t.trigger, "source": list(t.sources), "dest": t.dest, "conditions": [check]} for t in definition.transitions],
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
        model_attribute=STATE_ATTRIBUTE,
        after_state_change=[after],
        name=f"{definition.name}@{definition.version}",
    )
