"""Firing triggers on the shared machine: roles, inputs, guards, deadlines, and typed errors."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from transitions import Machine

from govflow.engine import SYSTEM, GuardFailed, InvalidTransition, MissingInput, NotPermitted, replay
from govflow.engine.definitions import parse_definition

from .vocab import Item, Person, make_engine, vocabulary

VALID = Path(__file__).parent / "valid"
NOW = datetime(2026, 3, 1, 12, 0)


@pytest.fixture
def engine():
    e = make_engine()
    e.load([VALID])
    return e


@pytest.fixture
def item(engine):
    i = Item()
    i.org, i.statement = "acme", "We publish our model cards."
    engine.start(i, "review", Person(1, orgs={"acme"}), now=NOW)
    return i


HOLDER = Person(1, orgs={"acme"})
REVIEWER = Person(2, roles={"reviewer"})
CONFLICTED_REVIEWER = Person(3, roles={"reviewer"}, orgs={"acme"})
STRANGER = Person(4, roles={"signatory"}, orgs={"other"})


def test_each_definition_version_is_compiled_once_into_one_shared_machine(engine):
    machine = engine.machine("review", 1)
    assert isinstance(machine, Machine)
    assert machine.models == []
    assert engine.machine("review", 1) is machine
    assert not any(name.startswith("to_") for name in machine.events), "auto-transitions must be off"


def test_starting_pins_the_definition_and_sets_the_initial_state(item):
    assert (item.workflow, item.definition_version, item.status) == ("review", 1, "draft")
    assert item.due_at is None


def test_a_permitted_trigger_moves_the_state_and_returns_the_event(engine, item):
    event = engine.fire(item, "submit", HOLDER, now=NOW)
    assert item.status == "submitted"
    assert (event.source, event.dest, event.trigger, event.actor) == ("draft", "submitted", "submit", HOLDER)


def test_entering_a_state_with_a_deadline_records_its_due_time_and_leaving_it_clears_it(engine, item):
    engine.fire(item, "submit", HOLDER, now=NOW)
    assert item.due_at == datetime(2026, 3, 4, 12, 0)
    assert item.due_trigger == "expire"
    engine.fire(item, "send_back", REVIEWER, inputs={"comment": "Say which data you use."}, now=NOW)
    assert item.due_at is None and item.due_trigger is None


@pytest.mark.parametrize("actor", [STRANGER, REVIEWER, SYSTEM], ids=["other-org", "wrong-role", "system"])
def test_an_actor_without_an_allowed_role_is_refused_and_nothing_moves(engine, item, actor):
    with pytest.raises(NotPermitted):
        engine.fire(item, "submit", actor, now=NOW)
    assert item.status == "draft"


def test_a_failing_guard_refuses_with_its_reason_and_nothing_moves(engine, item):
    engine.fire(item, "submit", HOLDER, now=NOW)
    with pytest.raises(GuardFailed) as caught:
        engine.fire(item, "accept", CONFLICTED_REVIEWER, now=NOW)
    assert caught.value.reason == "you belong to this organisation"
    assert item.status == "submitted"


def test_a_missing_required_input_is_refused_and_nothing_moves(engine, item):
    engine.fire(item, "submit", HOLDER, now=NOW)
    with pytest.raises(MissingInput) as caught:
        engine.fire(item, "send_back", REVIEWER, inputs={"comment": "   "}, now=NOW)
    assert caught.value.field == "comment"
    assert item.status == "submitted"


def test_a_trigger_not_possible_from_the_current_state_is_an_invalid_transition(engine, item):
    with pytest.raises(InvalidTransition):
        engine.fire(item, "accept", REVIEWER, now=NOW)
    with pytest.raises(InvalidTransition):
        engine.fire(item, "no_such_trigger", REVIEWER, now=NOW)
    assert item.status == "draft"


def test_system_only_transitions_are_fired_by_the_system_actor_and_never_offered_to_people(engine, item):
    engine.fire(item, "submit", HOLDER, now=NOW)
    assert "expire" not in [t.trigger for t in engine.available(item, REVIEWER)]
    with pytest.raises(NotPermitted):
        engine.fire(item, "expire", REVIEWER, now=NOW)
    engine.fire(item, "expire", SYSTEM, now=NOW)
    assert item.status == "expired"


def test_available_lists_exactly_what_the_actor_may_fire_now(engine, item):
    assert [t.trigger for t in engine.available(item, HOLDER)] == ["submit"]
    assert engine.available(item, STRANGER) == []
    engine.fire(item, "submit", HOLDER, now=NOW)
    assert [t.trigger for t in engine.available(item, REVIEWER)] == ["accept", "send_back"]
    assert [t.trigger for t in engine.available(item, CONFLICTED_REVIEWER)] == ["send_back"]


def test_options_give_the_guards_sentence_for_a_refused_step_and_leave_out_the_steps_of_other_roles(engine, item):
    assert [(t.trigger, reason) for t, reason in engine.options(item, HOLDER)] == [("submit", None)]
    assert engine.options(item, REVIEWER) == [], "submitting is the holder's step, not the reviewer's"
    item.statement = ""
    assert [(t.trigger, reason) for t, reason in engine.options(item, HOLDER)] == [("submit", "the statement is empty")]
    assert engine.available(item, HOLDER) == []
    item.statement = "We publish our model cards."
    engine.fire(item, "submit", HOLDER, now=NOW)
    options = [(t.trigger, reason) for t, reason in engine.options(item, CONFLICTED_REVIEWER)]
    assert options == [("accept", "you belong to this organisation"), ("send_back", None)]
    assert "expire" not in [t.trigger for t, _ in engine.options(item, REVIEWER)], "system-only steps are nobody's"
    assert item.status == "submitted"


def test_a_url_input_must_be_a_web_address():
    engine = make_engine()
    text = (VALID / "review_v1.yaml").read_text().replace("inputs: [comment]", "inputs: [evidence_url]")
    definition, problems = parse_definition(text, "review.yaml", vocabulary())
    assert not problems
    engine.add(definition)
    i = Item()
    i.org, i.statement = "acme", "x"
    engine.start(i, "review", HOLDER)
    engine.fire(i, "submit", HOLDER)
    with pytest.raises(MissingInput):
        engine.fire(i, "send_back", REVIEWER, inputs={"evidence_url": "javascript:alert(1)"})
    engine.fire(i, "send_back", REVIEWER, inputs={"evidence_url": "https://example.org/report.pdf"})
    assert i.status == "draft"


def test_replaying_the_triggers_gives_the_state_and_an_impossible_history_is_detected(engine, item):
    engine.fire(item, "submit", HOLDER, now=NOW)
    engine.fire(item, "send_back", REVIEWER, inputs={"comment": "More detail."}, now=NOW)
    engine.fire(item, "submit", HOLDER, now=NOW)
    definition = engine.definition("review", 1)
    assert replay(definition, [None, "submit", "send_back", "submit"]) == item.status
    with pytest.raises(InvalidTransition):
        replay(definition, ["accept"])


EFFECTFUL = """
name: effectful
version: 1
title: {en: Effectful, fr: Avec effets}
initial: draft
states:
  draft: {title: {en: Draft, fr: Brouillon}, on_exit: [stamp_submission]}
  submitted: {title: {en: Submitted, fr: Déposé}, on_enter: [refresh_recusals, open_vote_round], on_exit: [close_vote_round]}
  done: {title: {en: Done, fr: Fait}, final: true, on_enter: [record_decision]}
transitions:
  - {trigger: submit, title: {en: Submit, fr: Déposer}, source: draft, dest: submitted, roles: [signatory], effects: [mark_examined_version]}
  - {trigger: again, title: {en: Again, fr: Encore}, source: submitted, dest: submitted, roles: [signatory]}
  - {trigger: finish, title: {en: Finish, fr: Finir}, source: submitted, dest: done, roles: [signatory], effects: [use_reconsideration]}
"""


def test_an_event_lists_its_effects_in_order_leaving_then_taking_then_entering():
    definition, problems = parse_definition(EFFECTFUL, "effectful.yaml", vocabulary())
    assert problems == []
    engine = make_engine()
    engine.add(definition)
    item, actor = Item(), Person(1, roles={"signatory"})
    assert engine.start(item, "effectful", actor, now=NOW).effects == (), "starting runs no effect"
    assert engine.fire(item, "submit", actor, now=NOW).effects == ("stamp_submission", "mark_examined_version", "refresh_recusals", "open_vote_round")
    # A step from a state to itself leaves and enters it again.
    assert engine.fire(item, "again", actor, now=NOW).effects == ("close_vote_round", "refresh_recusals", "open_vote_round")
    assert engine.fire(item, "finish", actor, now=NOW).effects == ("close_vote_round", "use_reconsideration", "record_decision")
    assert definition.effect_names() == [
        "stamp_submission",
        "close_vote_round",
        "refresh_recusals",
        "open_vote_round",
        "record_decision",
        "mark_examined_version",
        "use_reconsideration",
    ]
