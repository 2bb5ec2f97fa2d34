"""What domain modules plug into the workflow layer: relations, guards, inputs and subject pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from ..accounts.models import ROLE_VALUES
from ..engine import SYSTEM, Engine, GuardContext, InputSpec, Registry


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


@dataclass
class WorkflowRegistry:
    """Collects relations, guards and subjects from domain modules, then builds the engine."""

    relations: dict[str, Relation] = field(default_factory=dict)
    guards: dict[str, Callable[[GuardContext], Any]] = field(default_factory=dict)
    subjects: dict[str, Subject] = field(default_factory=dict)
    history_hooks: list[Callable[[Any, Any, Any], None]] = field(default_factory=list)
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

    def relation(self, name: str, check: Callable, instance_ids: Callable) -> None:
        """Register a relation role."""
        self.relations[name] = Relation(name, check, instance_ids)

    def guard(self, name: str) -> Callable:
        """Decorator registering a named guard: ``fn(context) -> reason or None``."""

        def deco(fn: Callable) -> Callable:
            self.guards[name] = fn
            return fn

        return deco

    def on_history(self, hook: Callable[[Any, Any, Any], None]) -> None:
        """Register ``hook(instance, history_row, event_or_None)``, called in the same transaction as each history row."""
        self.history_hooks.append(hook)

    def panel(self, template: str, load: Callable[[Any], dict]) -> None:
        """Add a section to every instance page: ``template`` rendered with ``load(instance)``."""
        self.panels.append((template, load))

    def inbox_section(self, template: str, load: Callable[[Any], dict]) -> None:
        """Add a section to every dashboard: ``template`` rendered with ``load(user)`` (what waits outside transitions)."""
        self.inbox_sections.append((template, load))

    def on_tick(self, hook: Callable[[Any], int]) -> None:
        """Register ``hook(now) -> count``, run by each ``govflow tick`` to flag what fell overdue outside the engine's
        deadlines (e.g. milestones with their own due dates); it must be idempotent."""
        self.tick_hooks.append(hook)

    def log_source(self, kind: str, rows: Callable[[], Any]) -> None:
        """Register where the audit finds the acts of log entry ``kind``: ``rows()`` yields (ref, content) for every
        source row as it stands, ``content`` being the bytes the entry committed to."""
        self.log_sources[kind] = rows

    def subject(self, subject: Subject) -> None:
        """Register how to show a kind of subject."""
        self.subjects[subject.kind] = subject

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
            )
        )


INPUT_LABELS = {
    "comment": _l("Comment"),
    "reason": _l("Reason"),
    "rationale": _l("Rationale"),
    "evidence_url": _l("Evidence (web address)"),
    "conditions": _l("Conditions (one per line)"),
}
