"""The engine: holds compiled definitions and fires triggers with permission, input and guard checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from transitions import EventData, Machine, MachineError

from .definitions import (
    SYSTEM_ROLE,
    Definition,
    InputSpec,
    TransitionDef,
    Vocabulary,
    load_definitions,
)
from .durations import add_duration
from .errors import EngineError, GuardFailed, InvalidTransition, MissingInput, NotPermitted
from .machine import STATE_ATTRIBUTE, compile_machine

ALWAYS_ACCEPTED_INPUTS = ("comment",)


class Instance(Protocol):
    """What the engine needs of an instance: its pinned definition, state and deadline fields."""

    workflow: str
    definition_version: int
    status: str
    due_at: datetime | None
    due_trigger: str | None


class _System:
    """The actor of timeouts and other automatic acts."""

    id = None
    label = "system"

    def __repr__(self) -> str:
        return "<system>"


SYSTEM = _System()


@dataclass(frozen=True)
class GuardContext:
    """What a guard sees: the instance, the actor, the transition, the inputs given and the time of the act.

    ``now`` is the moment the step is dated (a timeout fired late is judged at its expiry); None when a page only
    asks whether a step would be possible, in which case guards judge at the present time.
    """

    instance: Any
    actor: Any
    transition: TransitionDef
    definition: Definition
    inputs: dict[str, str]
    now: datetime | None = None


GuardFn = Callable[[GuardContext], "str | None"]
EffectFn = Callable[..., None]


@dataclass
class Registry:
    """Everything the app lends the engine: roles and relations, named guards, inputs, a role check, and the names of
    the effects definitions may declare (the engine orders them on each event; the caller runs them, since they write
    to its database)."""

    roles: set[str]
    guards: dict[str, GuardFn]
    inputs: dict[str, InputSpec]
    has_role: Callable[[Any, str, Any], bool]
    effects: dict[str, EffectFn] = field(default_factory=dict)

    def vocabulary(self) -> Vocabulary:
        """The names a definition may use."""
        return Vocabulary(set(self.roles), set(self.guards), dict(self.inputs), set(self.effects))


@dataclass
class TransitionEvent:
    """One state change, as the caller records it in history."""

    instance: Any
    definition: Definition
    transition: TransitionDef | None
    source: str | None
    dest: str
    actor: Any
    inputs: dict[str, str]
    at: datetime
    kind: str = "transition"
    due_at: datetime | None = None
    due_trigger: str | None = None
    effects: tuple[str, ...] = ()  # what the definition says this step does, in order (none for a start)

    @property
    def trigger(self) -> str | None:
        """The trigger fired (None for the start of an instance)."""
        return self.transition.trigger if self.transition else None


@dataclass
class _Compiled:
    definition: Definition
    machine: Machine


def utcnow() -> datetime:
    """Now, in UTC, without microseconds noise in history."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Engine:
    """Loads definitions, compiles each once, and fires triggers on any instance."""

    registry: Registry
    _compiled: dict[tuple[str, int], _Compiled] = field(default_factory=dict)

    # -- definitions -------------------------------------------------------------------------
    def load(self, paths: Iterable[str | Path], base: Path | None = None) -> list[Definition]:
        """Validate and compile every definition under ``paths`` (DefinitionError lists all problems)."""
        definitions = load_definitions(list(paths), self.registry.vocabulary(), base)
        for d in definitions:
            self.add(d)
        return definitions

    def add(self, definition: Definition) -> None:
        """Compile ``definition`` and make it available; an already loaded version is replaced."""
        machine = compile_machine(definition, self._check_condition, self._after_change)
        self._compiled[definition.key] = _Compiled(definition, machine)

    def definitions(self) -> list[Definition]:
        """Every loaded definition, by name then version."""
        return [c.definition for _, c in sorted(self._compiled.items())]

    def versions(self, name: str) -> list[int]:
        """The loaded versions of workflow ``name``, ascending."""
        return sorted(v for (n, v) in self._compiled if n == name)

    def definition(self, name: str, version: int | None = None) -> Definition:
        """The definition ``name`` at ``version`` (the latest when None)."""
        return self._get(name, version).definition

    def machine(self, name: str, version: int) -> Machine:
        """The shared compiled machine of a definition version."""
        return self._get(name, version).machine

    def _get(self, name: str, version: int | None) -> _Compiled:
        if version is None:
            versions = self.versions(name)
            if not versions:
                raise EngineError(f"no workflow named '{name}' is loaded")
            version = versions[-1]
        try:
            return self._compiled[(name, version)]
        except KeyError:
            raise EngineError(f"workflow '{name}' version {version} is not loaded") from None

    def definition_of(self, instance: Instance) -> Definition:
        """The definition version ``instance`` is pinned to."""
        return self.definition(instance.workflow, instance.definition_version)

    # -- running -----------------------------------------------------------------------------
    def start(self, instance: Instance, name: str, actor: Any, version: int | None = None, now: datetime | None = None) -> TransitionEvent:
        """Pin ``instance`` to a definition, put it in the initial state, and set its deadline."""
        definition = self.definition(name, version)
        now = now or utcnow()
        instance.workflow = definition.name
        instance.definition_version = definition.version
        setattr(instance, STATE_ATTRIBUTE, definition.initial)
        event = TransitionEvent(instance, definition, None, None, definition.initial, actor, {}, now, kind="start")
        self._set_deadline(event)
        return event

    def fire(
        self, instance: Instance, trigger: str, actor: Any, inputs: dict[str, str] | None = None, now: datetime | None = None, kind: str = "transition"
    ) -> TransitionEvent:
        """Fire ``trigger`` on ``instance`` as ``actor``; return the event, or raise a typed error.

        The instance is changed in memory only: the caller records the event and commits.
        """
        compiled = self._get(instance.workflow, instance.definition_version)
        event = compiled.machine.events.get(trigger)
        state = getattr(instance, STATE_ATTRIBUTE)
        if event is None or compiled.definition.transition(state, trigger) is None:
            raise InvalidTransition(f"'{trigger}' is not possible from state '{state}'", technical=True)
        out: list[TransitionEvent] = []
        try:
            event.trigger(instance, actor=actor, inputs=dict(inputs or {}), now=now or utcnow(), kind=kind, definition=compiled.definition, out=out)
        except MachineError as exc:
            raise InvalidTransition(str(exc), technical=True) from exc
        if not out:  # pragma: no cover - our condition raises rather than returning False
            raise InvalidTransition(f"'{trigger}' did not move the instance", technical=True)
        return out[0]

    def check(self, instance: Instance, trigger: str, actor: Any, inputs: dict[str, str] | None = None, check_inputs: bool = False) -> TransitionDef:
        """Raise the error ``fire`` would raise, without changing anything; return the transition."""
        definition = self.definition_of(instance)
        state = getattr(instance, STATE_ATTRIBUTE)
        transition = definition.transition(state, trigger)
        if transition is None:
            raise InvalidTransition(f"'{trigger}' is not possible from state '{state}'", technical=True)
        self._authorise(instance, actor, transition)
        clean = self._clean_inputs(transition, inputs or {}) if check_inputs else dict(inputs or {})
        self._run_guards(instance, actor, transition, definition, clean)
        return transition

    def available(self, instance: Instance, actor: Any) -> list[TransitionDef]:
        """The transitions ``actor`` may fire now (inputs aside); system-only ones are never offered."""
        return [t for t, reason in self.options(instance, actor) if reason is None]

    def options(self, instance: Instance, actor: Any) -> list[tuple[TransitionDef, str | None]]:
        """Each transition from the current state that ``actor``'s roles allow (system-only ones only to the system),
        with None when it may be fired now (inputs aside) or the sentence of the first guard refusing it."""
        definition = self.definition_of(instance)
        out: list[tuple[TransitionDef, str | None]] = []
        for t in definition.transitions_from(getattr(instance, STATE_ATTRIBUTE)):
            if t.system_only and actor is not SYSTEM:
                continue
            if not self.may_act(instance, actor, t):
                continue
            reason: str | None = None
            # A step accepting optional inputs may have its guards satisfied by one given with it: they run when fired.
            if not t.accepts:
                try:
                    self._run_guards(instance, actor, t, definition, {})
                except GuardFailed as exc:
                    reason = str(exc.reason)
                except EngineError as exc:
                    reason = exc.sentence
            out.append((t, reason))
        return out

    def may_act(self, instance: Instance, actor: Any, transition: TransitionDef) -> bool:
        """Whether ``actor`` holds a role ``transition`` allows (guards aside)."""
        try:
            self._authorise(instance, actor, transition)
        except NotPermitted:
            return False
        return True

    # -- callbacks given to the machine ---------------------------------------------------------
    def _check_condition(self, event_data: EventData) -> bool:
        kwargs = event_data.kwargs
        definition: Definition = kwargs["definition"]
        transition = definition.transition(event_data.state.name, event_data.event.name)
        assert transition is not None  # the machine was compiled from the definition: its transitions are the definition's
        self._authorise(event_data.model, kwargs["actor"], transition)
        kwargs["inputs"] = self._clean_inputs(transition, kwargs["inputs"])
        self._run_guards(event_data.model, kwargs["actor"], transition, definition, kwargs["inputs"], kwargs["now"])
        return True

    def _after_change(self, event_data: EventData) -> None:
        kwargs = event_data.kwargs
        definition: Definition = kwargs["definition"]
        # The library calls this for a transition that changed the state: one of the definition's, with a destination.
        changed = event_data.transition
        assert changed is not None and changed.dest is not None
        source = changed.source
        transition = definition.transition(source, event_data.event.name)
        assert transition is not None
        event = TransitionEvent(
            instance=event_data.model,
            definition=definition,
            transition=transition,
            source=source,
            dest=changed.dest,
            actor=kwargs["actor"],
            inputs=kwargs["inputs"],
            at=kwargs["now"],
            kind=kwargs["kind"],
            effects=definition.effects_of(transition, source),
        )
        self._set_deadline(event)
        kwargs["out"].append(event)

    # -- checks ------------------------------------------------------------------------------
    def _authorise(self, instance: Any, actor: Any, transition: TransitionDef) -> None:
        if actor is SYSTEM:
            if SYSTEM_ROLE in transition.roles:
                return
        elif any(r != SYSTEM_ROLE and self.registry.has_role(actor, r, instance) for r in transition.roles):
            return
        raise NotPermitted(f"you are not allowed to '{transition.trigger}' here", technical=True)

    def _clean_inputs(self, transition: TransitionDef, inputs: dict[str, str]) -> dict[str, str]:
        clean: dict[str, str] = {}
        for name in dict.fromkeys(transition.inputs + transition.accepts + ALWAYS_ACCEPTED_INPUTS):
            spec = self.registry.inputs.get(name, InputSpec(name))
            value = inputs.get(name)
            value = value.strip() if isinstance(value, str) else ""
            if not value:
                if name in transition.inputs:
                    raise MissingInput(name, f"'{name}' is required for this step")
                continue
            if len(value) > spec.max_length:
                raise MissingInput(name, f"'{name}' is longer than {spec.max_length} characters")
            if spec.kind == "url":
                parsed = urlparse(value)
                if parsed.scheme not in ("http", "https") or not parsed.netloc:
                    raise MissingInput(name, f"'{name}' must be a web address starting with http:// or https://")
            clean[name] = value
        return clean

    def _run_guards(
        self, instance: Any, actor: Any, transition: TransitionDef, definition: Definition, inputs: dict[str, str], now: datetime | None = None
    ) -> None:
        context = GuardContext(instance, actor, transition, definition, inputs, now)
        for name in transition.guards:
            reason = self.registry.guards[name](context)
            if reason:
                raise GuardFailed(name, str(reason))

    @staticmethod
    def _set_deadline(event: TransitionEvent) -> None:
        deadline = event.definition.states[event.dest].deadline
        if deadline is not None:
            event.due_at = add_duration(event.at, deadline.duration)
            event.due_trigger = deadline.fire
        instance = event.instance
        instance.due_at = event.due_at
        instance.due_trigger = event.due_trigger


def replay(definition: Definition, triggers: Iterable[str | None]) -> str:
    """The state reached by firing ``triggers`` from the initial state (None entries are skipped)."""
    state = definition.initial
    for trigger in triggers:
        if trigger is None:
            continue
        t = definition.transition(state, trigger)
        if t is None:
            raise InvalidTransition(f"history replays '{trigger}' from '{state}', which the definition does not allow", technical=True)
        state = t.dest
    return state
