"""What domain modules plug into the workflow layer: relations, guards, effects, inputs and subject pages.

Each domain declares them in its own ``workflow.py`` as top-level functions registered on a ``Plugin`` with decorators
(``@plugin.guard``, ``@plugin.effect``, ``@plugin.relation``); ``WorkflowRegistry.install`` gathers every plugin, and a
name registered twice is refused. Workflow definitions name guards and effects; an unknown name is a ``file:line``
error when the YAML is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from ..accounts.models import ROLE_VALUES
from ..engine import SYSTEM, Engine, GuardContext, InputSpec, Registry, TransitionEvent


@dataclass(frozen=True)
class Relation:
    """A role that depends on the instance (e.g. "member of the commitment's organisation").

    ``check(user, instance)`` answers for one instance; ``instance_ids(user)`` returns a SQL
    selectable of the instance ids where it holds, so inbox queries stay a single statement.
    """

    name: str
    check: Callable[[Any, Any], bool]
    instance_ids: Callable[[Any], Any]


@dataclass(frozen=True)
class Subject:
    """How the instance page shows what an instance is about (a commitment, a referral...)."""

    kind: str
    template: str
    load: Callable[[Any], dict]
    can_view: Callable[[Any, Any], bool]
    claims: Callable[[Any], dict] | None = None  # what an attestation says about the subject (public facts only)
    is_public: Callable[[Any], bool] | None = None  # whether anyone may see the subject's attestations
    # Confidential subjects are seen only by those ``can_view`` admits: administrators get no pass (a laureate's roadmap).
    confidential: bool = False
    # In the states where this says so, the subject is seen only by those ``can_view`` admits (a draft is its authors').
    private_when: Callable[[Any], bool] | None = None
    # The subject's model (with an ``instance_id`` column): a page of instances loads their subjects in one query each
    # kind (``preload_subjects``), remembered as ``cached(instance, kind)`` would.
    model: Any = None
    # What the subject's panel shows one person: ``panel(actor, instance) -> dict``, added to ``load``'s, with ``can``
    # (the named booleans the template asks: ``can.edit_dossier``...) and the rows they open, computed once from the
    # subject and the actor's standing (remembered). Templates compare no state and call no service.
    panel: Callable[[Any, Any], dict] | None = None
    # The steps the inbox offers one person on an instance, beyond the bare titles of the transitions open to them:
    # ``inbox_links(actor, instance) -> [InboxLink]`` (edit a draft, then declare it...), each domain its own.
    inbox_links: Callable[[Any, Any], list[InboxLink]] | None = None


@dataclass(frozen=True)
class InboxLink:
    """A step the inbox offers on an instance: a sentence and where to take it. ``trigger`` names the transition the
    link leads to, if any, so that the inbox does not list that transition a second time."""

    label: str
    url: str
    trigger: str | None = None


def inbox_links(actor: Any, instance: Any, subjects: dict[str, Subject]) -> list[InboxLink]:
    """What the subject of ``instance`` offers ``actor`` in the inbox (nothing when its domain says nothing)."""
    subject = subjects.get(instance.subject_kind)
    if subject is None or subject.inbox_links is None:
        return []
    return list(subject.inbox_links(actor, instance))


@dataclass(frozen=True)
class Act:
    """What an effect sees: the instance after the step, the step (its event: actor, inputs, time, transition) and its
    history row (flushed on demand for its id)."""

    instance: Any
    event: TransitionEvent
    row: Any

    @property
    def actor(self) -> Any:
        """Who took the step (``SYSTEM`` for timeouts and automatic steps)."""
        return self.event.actor

    @property
    def inputs(self) -> dict[str, str]:
        """The inputs given with the step (comment, reason, rationale...)."""
        return self.event.inputs

    @property
    def at(self) -> Any:
        """When the step is dated."""
        return self.event.at


EffectFn = Callable[[Act], None]


def cached(instance: Any, key: str, load: Callable[[], Any]) -> Any:
    """``load()`` once per loaded instance object (so once per request or per act): the subject of an instance never
    changes, and guards, relations, effects and templates all ask for it. None is not kept (a subject being created)."""
    memo = instance.__dict__.setdefault("_govflow_cache", {})
    if key in memo:
        return memo[key]
    value = load()
    if value is not None:
        memo[key] = value
    return value


def prime(instance: Any, key: str, value: Any) -> None:
    """Give ``cached(instance, key, ...)`` its answer in advance (loaded with many others)."""
    if value is not None:
        instance.__dict__.setdefault("_govflow_cache", {})[key] = value


@dataclass
class Plugin:
    """What one domain lends the workflow layer, declared where it is written (its ``workflow.py``)."""

    name: str
    relations: dict[str, Relation] = field(default_factory=dict)
    guards: dict[str, Callable[[GuardContext], Any]] = field(default_factory=dict)
    effects: dict[str, EffectFn] = field(default_factory=dict)
    subjects: list[Subject] = field(default_factory=list)
    inbox_sections: list[tuple[str, Callable[[Any], dict]]] = field(default_factory=list)
    tick_hooks: list[Callable[[Any], int]] = field(default_factory=list)
    log_sources: dict[str, Callable[[], Any]] = field(default_factory=dict)
    panels: list[tuple[str, Callable[[Any], dict]]] = field(default_factory=list)
    recorder: Callable[[Any, Any, Any], None] | None = None

    def guard(self, name: str) -> Callable:
        """Decorator registering ``fn(context) -> reason or None`` as guard ``name``."""

        def deco(fn: Callable) -> Callable:
            self.guards[name] = fn
            return fn

        return deco

    def effect(self, name: str) -> Callable:
        """Decorator registering ``fn(act)`` as effect ``name`` (named in YAML by ``effects``, ``on_enter``, ``on_exit``)."""

        def deco(fn: EffectFn) -> EffectFn:
            self.effects[name] = fn
            return fn

        return deco

    def relation(self, name: str, instance_ids: Callable[[Any], Any]) -> Callable:
        """Decorator registering ``check(user, instance) -> bool`` as relation role ``name``; ``instance_ids(user)`` is
        the SQL selectable of the instance ids where it holds (for inbox queries)."""

        def deco(check: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
            self.relations[name] = Relation(name, check, instance_ids)
            return check

        return deco

    def subject(self, subject: Subject) -> None:
        """Declare how instances about ``subject.kind`` are shown, who sees them, what their attestations claim."""
        self.subjects.append(subject)

    def inbox_section(self, template: str, load: Callable[[Any], dict]) -> None:
        """Add a section to every dashboard: ``template`` rendered with ``load(user)``."""
        self.inbox_sections.append((template, load))

    def on_tick(self, hook: Callable[[Any], int]) -> None:
        """Run ``hook(now) -> count`` at each ``govflow tick`` (idempotent)."""
        self.tick_hooks.append(hook)

    def log_source(self, kind: str, rows: Callable[[], Any]) -> None:
        """Where the audit finds the acts of log entry ``kind``: ``rows()`` yields (ref, content) per source row."""
        self.log_sources[kind] = rows

    def panel(self, template: str, load: Callable[[Any], dict]) -> None:
        """Add a section to every instance page: ``template`` rendered with ``load(instance)``."""
        self.panels.append((template, load))


class DuplicateName(ValueError):
    """Two plugins register the same guard, effect, relation, subject or log source name."""


@dataclass
class WorkflowRegistry:
    """Collects relations, guards and subjects from domain modules, then builds the engine."""

    relations: dict[str, Relation] = field(default_factory=dict)
    guards: dict[str, Callable[[GuardContext], Any]] = field(default_factory=dict)
    effects: dict[str, EffectFn] = field(default_factory=dict)
    subjects: dict[str, Subject] = field(default_factory=dict)
    # What records every history row last (the log entry and the credentials): ``recorder(instance, row, event)``.
    recorder: Callable[[Any, Any, Any], None] | None = None
    panels: list[tuple[str, Callable[[Any], dict]]] = field(default_factory=list)
    inbox_sections: list[tuple[str, Callable[[Any], dict]]] = field(default_factory=list)
    tick_hooks: list[Callable[[Any], int]] = field(default_factory=list)
    log_sources: dict[str, Callable[[], Any]] = field(default_factory=dict)
    inputs: dict[str, InputSpec] = field(
        default_factory=lambda: {
            "comment": InputSpec("comment", "text", 4000),
            "reason": InputSpec("reason", "text", 4000),
            "rationale": InputSpec("rationale", "text", 8000),
            "evidence_url": InputSpec("evidence_url", "url", 2000),
            "conditions": InputSpec("conditions", "text", 8000),
        }
    )

    def install(self, plugin: Plugin) -> None:
        """Add a domain's relations, guards, effects, subjects, inbox sections, tick hooks and log sources."""
        for kind, mine, theirs in (
            ("relation", self.relations, plugin.relations),
            ("guard", self.guards, plugin.guards),
            ("effect", self.effects, plugin.effects),
            ("log source", self.log_sources, plugin.log_sources),
            ("subject", self.subjects, {s.kind: s for s in plugin.subjects}),
        ):
            clash = sorted(set(mine) & set(theirs))
            if clash:
                raise DuplicateName(f"{plugin.name} registers the {kind} name(s) {', '.join(clash)} already registered")
            mine.update(theirs)
        self.inbox_sections.extend(plugin.inbox_sections)
        self.tick_hooks.extend(plugin.tick_hooks)
        self.panels.extend(plugin.panels)
        if plugin.recorder is not None:
            if self.recorder is not None:
                raise DuplicateName(f"{plugin.name} sets the history recorder, already set")
            self.recorder = plugin.recorder

    def run_effects(self, instance: Any, row: Any, event: TransitionEvent) -> None:
        """Run the effects the definition declares for ``event``, in its order."""
        act = Act(instance, event, row)
        for name in event.effects:
            self.effects[name](act)

    def has_role(self, user: Any, role: str, instance: Any) -> bool:
        """Whether ``user`` holds ``role`` (global) or the relation ``role`` to ``instance``."""
        if user is None or user is SYSTEM or not getattr(user, "is_authenticated", False):
            return False
        if role in ROLE_VALUES:
            return user.has_role(role)
        relation = self.relations.get(role)
        return bool(relation and relation.check(user, instance))

    def build_engine(self) -> Engine:
        """An engine knowing the global roles, the relations, the guards and the inputs."""
        return Engine(
            Registry(
                roles=set(ROLE_VALUES) | set(self.relations),
                guards=dict(self.guards),
                inputs=dict(self.inputs),
                has_role=self.has_role,
                effects=dict(self.effects),
            )
        )


INPUT_LABELS = {
    "comment": _l("Comment"),
    "reason": _l("Reason"),
    "rationale": _l("Rationale"),
    "evidence_url": _l("Evidence (web address)"),
    "conditions": _l("Conditions (one per line)"),
}

# The same inputs as the history shows them, once given (a step's comment, reason, web address...).
HISTORY_LABELS = {
    "comment": _l("Comment"),
    "reason": _l("Reason"),
    "reasons": _l("Reasons"),
    "rationale": _l("Rationale"),
    "evidence_url": _l("Evidence"),
    "url": _l("Web address"),
    "conditions": _l("Conditions"),
}


def history_label(name: str) -> str:
    """An input's name as the history of an item shows it, in the reader's language."""
    label = HISTORY_LABELS.get(name)
    return str(label) if label is not None else name.replace("_", " ")
