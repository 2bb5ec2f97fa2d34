"""Services running workflow instances: start, fire, register definitions, list what waits on a user.

They take the actor explicitly, flush, and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm.exc import StaleDataError

from ..engine import SYSTEM, Definition, Engine, EngineError, StaleInstance, TransitionDef, TransitionEvent
from ..extensions import db, lock_row
from .models import InstanceHistory, WorkflowDefinitionRecord, WorkflowInstance
from .registry import WorkflowRegistry, prime


def get_engine() -> Engine:
    """The engine of the current app."""
    return current_app.extensions["govflow.engine"]


def get_registry() -> WorkflowRegistry:
    """The workflow registry of the current app."""
    return current_app.extensions["govflow.registry"]


class DefinitionChanged(EngineError):
    """A registered definition version was edited in place (a new version is needed)."""

    status = 409


def definition_digest(definition: Definition) -> str:
    """SHA-256 of the definition's file text."""
    return hashlib.sha256(definition.source_text.encode("utf-8")).hexdigest()


def register_definitions(engine: Engine) -> list[tuple[Definition, str]]:
    """Record every loaded definition version in the database; return (definition, 'new'|'unchanged').

    A version already registered with different text is refused: instances pinned to it would
    silently change behaviour, so a changed procedure must be published as a new version.
    """
    out = []
    existing = {(r.name, r.version): r for r in db.session.scalars(sa.select(WorkflowDefinitionRecord))}
    changed = []
    for d in engine.definitions():
        digest = definition_digest(d)
        record = existing.get(d.key)
        if record is None:
            db.session.add(WorkflowDefinitionRecord(name=d.name, version=d.version, sha256=digest, file=d.file))
            out.append((d, "new"))
        elif record.sha256 != digest:
            changed.append(f"{d.file}: workflow '{d.name}' version {d.version} differs from the registered one; publish the change as version {d.version + 1}")
        else:
            out.append((d, "unchanged"))
    if changed:
        raise DefinitionChanged("\n".join(changed))
    db.session.flush()
    return out


def ensure_registered(definition: Definition) -> None:
    """Register ``definition`` in the database if needed (instances reference it); refuse an edited version."""
    seen: set = current_app.extensions.setdefault("govflow.registered", set())
    if definition.key in seen:
        return
    record = db.session.get(WorkflowDefinitionRecord, definition.key)
    digest = definition_digest(definition)
    if record is None:
        db.session.add(WorkflowDefinitionRecord(name=definition.name, version=definition.version, sha256=digest, file=definition.file))
        db.session.flush()
    elif record.sha256 != digest:
        raise DefinitionChanged(
            f"{definition.file}: workflow '{definition.name}' version {definition.version} differs from the registered one; "
            f"publish the change as version {definition.version + 1}"
        )
    else:
        seen.add(definition.key)


def actor_label(actor: Any) -> str:
    """The name history shows for ``actor``."""
    return "system" if actor is SYSTEM else actor.label


def record_history(
    instance: WorkflowInstance,
    kind: str,
    trigger: str | None,
    from_state: str | None,
    to_state: str,
    actor: Any,
    comment: str | None,
    inputs: dict,
    at: datetime,
    event: TransitionEvent | None = None,
) -> InstanceHistory:
    """Add the history row of a change of ``instance`` (its state, version and deadline as the change left them).

    The order of an act, in this one place: the engine has checked roles, inputs and guards and changed the state
    (``fire_transition``); then the history row; then the effects the definition declares for the step (the source's
    ``on_exit``, the transition's ``effects``, the destination's ``on_enter``); then the log entry and credentials
    (the registry's recorder); the caller commits them all at once."""
    if kind != "start":
        instance.version += 1
    row = InstanceHistory(
        # By id, not through the relationship: the instance is flushed already, and the back-populated collection would
        # make every flush sort a dependency for nothing.
        instance_id=instance.id,
        kind=kind,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        definition_version=instance.definition_version,
        actor_id=None if actor is SYSTEM or actor is None else actor.id,
        actor_label=actor_label(actor) if actor is not None else SYSTEM.label,
        comment=comment,
        inputs=inputs,
        at=at,
        instance_version=instance.version,
        due_at=instance.due_at,
        due_trigger=instance.due_trigger,
    )
    db.session.add(row)
    registry = get_registry()
    if event is not None and event.effects:
        registry.run_effects(instance, row, event)
    if registry.recorder is not None:
        registry.recorder(instance, row, event)
    return row


def record_event(instance: WorkflowInstance, event: TransitionEvent) -> InstanceHistory:
    """Add the history row of ``event``."""
    inputs = {k: v for k, v in event.inputs.items() if k != "comment"}
    return record_history(instance, event.kind, event.trigger, event.source, event.dest, event.actor, event.inputs.get("comment"), inputs, event.at, event)


def start_instance(
    actor: Any,
    workflow: str,
    title: str,
    subject_kind: str,
    version: int | None = None,
    now: datetime | None = None,
    title_words: dict[str, str] | None = None,
) -> WorkflowInstance:
    """Create an instance of ``workflow`` (latest version by default) in its initial state, with history.
    ``title_words``: the title in each language when govflow's own words are part of it (pages show the reader's)."""
    instance = WorkflowInstance(title=title, subject_kind=subject_kind, title_words={k: v[:300] for k, v in title_words.items()} if title_words else None)
    event = get_engine().start(instance, workflow, actor, version=version, now=now)
    ensure_registered(event.definition)
    instance.created_at = instance.updated_at = event.at
    db.session.add(instance)
    db.session.flush()  # history hooks (the log) need the instance's id
    record_event(instance, event)
    db.session.flush()
    return instance


def lock_instance(instance_id: int) -> WorkflowInstance | None:
    """Load an instance with its row locked for the rest of the transaction, so side effects of a transition never run
    twice and what is read next (its state, its ballots) is read after any concurrent writer committed."""
    return lock_row(WorkflowInstance, instance_id)


def fire_transition(
    actor: Any,
    instance: WorkflowInstance,
    trigger: str,
    inputs: dict[str, str] | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
    kind: str = "transition",
    flush: bool = True,
) -> TransitionEvent:
    """Fire ``trigger`` on ``instance`` as ``actor``, record history, flush; raise typed engine errors.

    ``expected_version`` is the version the actor saw: if the instance moved since, StaleInstance.
    A concurrent writer that flushed first makes this flush fail: StaleInstance too.
    """
    if expected_version is not None and instance.version != expected_version:
        raise StaleInstance("this item changed since you opened it; reload the page and check its new state", technical=True)
    event = get_engine().fire(instance, trigger, actor, inputs=inputs, now=now, kind=kind)
    instance.updated_at = event.at
    try:
        # History hooks may query (the log locks its row), which autoflushes the instance: a concurrent
        # writer can therefore surface here as well as at the explicit flush.
        record_event(instance, event)
        if flush:  # batch callers (tick) flush once per batch
            db.session.flush()
    except StaleDataError:
        raise StaleInstance("someone else changed this item at the same time; reload the page", technical=True) from None
    _follow_automatic(instance, now=event.at, flush=flush)
    return event


def _follow_automatic(instance: WorkflowInstance, now: datetime, flush: bool) -> None:
    """Fire, as the system, an automatic transition whose guards pass from the state just entered (e.g. a new vote
    round when a vote closed without quorum), recorded like any other step (and followed in turn)."""
    engine = get_engine()
    definition = engine.definition_of(instance)
    for t in definition.transitions_from(instance.status):
        if not t.auto:
            continue
        try:
            engine.check(instance, t.trigger, SYSTEM)
        except EngineError:
            continue
        fire_transition(SYSTEM, instance, t.trigger, {}, now=now, flush=flush)
        return


def instance_history(instance: WorkflowInstance) -> list[InstanceHistory]:
    """The history rows of ``instance``, oldest first."""
    return list(db.session.scalars(sa.select(InstanceHistory).where(InstanceHistory.instance_id == instance.id).order_by(InstanceHistory.id)))


def preload_subjects(instances: list[WorkflowInstance]) -> None:
    """Load the subjects of a page of instances in one query per kind of subject, instead of one per instance."""
    subjects = get_registry().subjects
    by_kind: dict[str, list[WorkflowInstance]] = {}
    for instance in instances:
        subject = subjects.get(instance.subject_kind)
        loadable = instance.id is not None and subject is not None and subject.model is not None
        if loadable and subject.kind not in instance.__dict__.get("_govflow_cache", {}):
            by_kind.setdefault(subject.kind, []).append(instance)
    for kind, items in by_kind.items():
        model = subjects[kind].model
        rows = {row.instance_id: row for row in db.session.scalars(sa.select(model).where(model.instance_id.in_([i.id for i in items])))}
        for instance in items:
            prime(instance, kind, rows.get(instance.id))


def transition_options(user: Any, instance: WorkflowInstance) -> list[tuple[TransitionDef, str | None]]:
    """Each step from ``instance``'s state that ``user``'s roles allow, with None when they may take it now or the
    sentence of the guard refusing it (translated, as the guard words it). Steps of other roles are not listed."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return get_engine().options(instance, user)


def available_transitions(user: Any, instance: WorkflowInstance) -> list[TransitionDef]:
    """The transitions ``user`` may fire now on ``instance``."""
    return [t for t, reason in transition_options(user, instance) if reason is None]


def blocked_steps(options: list[tuple[TransitionDef, str | None]]) -> list[tuple[TransitionDef, str]]:
    """The steps of ``options`` (from ``transition_options``) a guard refuses, with its sentence."""
    return [(t, reason) for t, reason in options if reason is not None]


def can_view_instance(user: Any, instance: WorkflowInstance) -> bool:
    """Admins, users holding a role the definition uses, and users the subject's rules admit may view; a confidential
    subject only the last."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    subject = get_registry().subjects.get(instance.subject_kind)
    if subject is not None and (subject.confidential or (subject.private_when is not None and subject.private_when(instance))):
        return subject.can_view(user, instance)
    if user.has_role("admin"):
        return True
    if subject is not None and subject.can_view(user, instance):
        return True
    definition = get_engine().definition_of(instance)
    roles = {r for t in definition.transitions for r in t.roles}
    return bool(user.role_names & roles)


def _waiting_clause(user: Any) -> sa.ColumnElement[bool] | None:
    """SQL condition for instances where ``user`` holds a role on a transition leaving the current state."""
    registry = get_registry()
    clauses = []
    for d in get_engine().definitions():
        for state in d.states:
            direct = False
            relations: set[str] = set()
            for t in d.transitions_from(state):
                if t.system_only or not t.inbox:
                    continue
                for role in t.roles:
                    if role in registry.relations:
                        relations.add(role)
                    elif user.has_role(role):
                        direct = True
            where = sa.and_(WorkflowInstance.workflow == d.name, WorkflowInstance.definition_version == d.version, WorkflowInstance.status == state)
            if direct:
                clauses.append(where)
            elif relations:
                ids = [registry.relations[r].instance_ids(user) for r in sorted(relations)]
                clauses.append(sa.and_(where, sa.or_(*(WorkflowInstance.id.in_(s) for s in ids))))
    return sa.or_(*clauses) if clauses else None


@dataclass
class Page:
    """One page of results."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.per_page))


def waiting_on(user: Any, page: int = 1, per_page: int = 20) -> Page:
    """Instances waiting on ``user`` (a step they may take), soonest deadline first, paginated."""
    clause = _waiting_clause(user)
    if clause is None:
        return Page([], 1, per_page, 0)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(WorkflowInstance).where(clause))
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = db.session.scalars(
        sa.select(WorkflowInstance)
        .where(clause)
        .order_by(WorkflowInstance.due_at.is_(None), WorkflowInstance.due_at, WorkflowInstance.updated_at.desc(), WorkflowInstance.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(rows), page, per_page, total)


def instance_counts() -> dict[tuple[str, int], dict[str, int]]:
    """Number of instances per (workflow, version) and state."""
    out: dict[tuple[str, int], dict[str, int]] = {}
    rows = db.session.execute(
        sa.select(WorkflowInstance.workflow, WorkflowInstance.definition_version, WorkflowInstance.status, sa.func.count()).group_by(
            WorkflowInstance.workflow, WorkflowInstance.definition_version, WorkflowInstance.status
        )
    )
    for name, version, status, n in rows:
        out.setdefault((name, version), {})[status] = n
    return out
