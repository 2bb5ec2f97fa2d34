"""Property: random trigger sequences only ever follow the definition, and replaying history gives the state."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from govflow.engine import SYSTEM, EngineError, replay
from govflow.engine.definitions import load_definitions

from .vocab import Item, Person, make_engine, vocabulary

ROOT = Path(__file__).resolve().parents[2]
ALL_ROLES = Person(1, roles={"reviewer", "signatory", "admin", "committee_member", "programme_manager", "applicant_team", "sandbox_manager"}, orgs={"acme"})


def _engine():
    engine = make_engine(guards={name: (lambda ctx: None) for name in vocabulary().guards})
    from .test_definitions import _app_vocabulary

    for d in load_definitions([ROOT / "workflows", Path(__file__).parent / "valid"], _app_vocabulary()):
        engine.add(d)
    return engine


ENGINE = _engine()
NAMES = sorted({d.name for d in ENGINE.definitions()})
TRIGGERS = sorted({t for d in ENGINE.definitions() for t in d.triggers()} | {"bogus"})


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(NAMES), steps=st.lists(st.tuples(st.sampled_from(TRIGGERS), st.booleans()), max_size=40))
def test_random_trigger_sequences_follow_the_definition_and_history_replays(name, steps):
    definition = ENGINE.definition(name)
    item = Item()
    item.org = "acme"
    ENGINE.start(item, name, ALL_ROLES)
    history: list[str] = []
    for trigger, as_system in steps:
        before = item.status
        allowed = definition.transition(before, trigger)
        actor = SYSTEM if as_system else ALL_ROLES
        try:
            event = ENGINE.fire(
                item, trigger, actor, inputs={"comment": "c", "reason": "r", "rationale": "x", "conditions": "y", "evidence_url": "https://example.org/e"}
            )
        except EngineError:
            assert item.status == before, "a refused trigger must not move the instance"
            continue
        assert allowed is not None, f"{trigger} fired from {before} but the definition has no such transition"
        assert (event.source, event.dest) == (before, allowed.dest) == (before, item.status)
        assert not definition.states[before].final
        history.append(trigger)
        deadline = definition.states[item.status].deadline
        assert (item.due_trigger is None) == (deadline is None)
    assert replay(definition, history) == item.status
