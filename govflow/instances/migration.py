"""Explicit, audited migration of running instances from one definition version to another."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from ..engine import SYSTEM, Definition, EngineError, utcnow
from ..engine.durations import add_duration
from ..extensions import db
from .models import InstanceHistory, WorkflowInstance
from .services import ensure_registered, get_engine, record_history


class MigrationRefused(EngineError):
    """The migration cannot run as asked; nothing was changed."""

    status = 409


@dataclass
class MigrationPlan:
    """Which running instances move, from which state to which, and what could not be mapped."""

    name: str
    to_version: int
    moves: Counter = field(default_factory=Counter)  # (from_version, old_state, new_state) -> count
    unmapped: Counter = field(default_factory=Counter)  # (from_version, old_state) -> count
    instance_ids: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Number of instances the plan moves."""
        return sum(self.moves.values())

    def summary(self) -> list[str]:
        """One line per (version, old state → new state), for the command's output."""
        lines = [f"v{v} {old} -> v{self.to_version} {new}: {n} instance(s)" for (v, old, new), n in sorted(self.moves.items())]
        lines += [f"v{v} {old}: {n} instance(s) with no state in version {self.to_version}" for (v, old), n in sorted(self.unmapped.items())]
        return lines


def parse_mapping(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Turn ``["old=new", ...]`` into a dict; raise MigrationRefused on a malformed pair."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise MigrationRefused(f"'{pair}' is not a mapping of the form old_state=new_state")
        mapping[old.strip()] = new.strip()
    return mapping


def _running(name: str, to_version: int) -> sa.ColumnElement[bool]:
    """SQL condition: instances of ``name`` on another version, in a non-final state of that version."""
    engine = get_engine()
    clauses = []
    for version in engine.versions(name):
        if version == to_version:
            continue
        finals = [s.name for s in engine.definition(name, version).states.values() if s.final]
        clauses.append(sa.and_(WorkflowInstance.definition_version == version, WorkflowInstance.status.not_in(finals)))
    return sa.and_(WorkflowInstance.workflow == name, sa.or_(*clauses) if clauses else sa.false())


def plan_migration(name: str, to_version: int, mapping: dict[str, str]) -> MigrationPlan:
    """Plan moving every running (non-final) instance of ``name`` to ``to_version``; change nothing."""
    engine = get_engine()
    try:
        target: Definition = engine.definition(name, to_version)
    except EngineError:
        raise MigrationRefused(f"workflow '{name}' version {to_version} is not loaded") from None
    unknown = sorted(new for new in mapping.values() if new not in target.states)
    if unknown:
        raise MigrationRefused(f"version {to_version} of '{name}' has no state {', '.join(unknown)}")
    plan = MigrationPlan(name, to_version)
    rows = db.session.execute(
        sa.select(WorkflowInstance.definition_version, WorkflowInstance.status, sa.func.count())
        .where(_running(name, to_version))
        .group_by(WorkflowInstance.definition_version, WorkflowInstance.status)
    ).all()
    for version, state, n in rows:
        new = mapping.get(state, state)
        if new in target.states:
            plan.moves[(version, state, new)] += n
        else:
            plan.unmapped[(version, state)] += n
    return plan


def migrate_instances(name: str, to_version: int, mapping: dict[str, str], dry_run: bool = False, now: datetime | None = None) -> MigrationPlan:
    """Move running instances to ``to_version`` with ``mapping``; refuse (changing nothing) if any state is unmapped.

    Each moved instance gets a history row (kind ``migrate``); its deadline is recomputed from the time it
    entered its current state, under the new version's rules. The caller commits.
    """
    now = now or utcnow()
    plan = plan_migration(name, to_version, mapping)
    if plan.unmapped:
        states = ", ".join(f"'{s}' (v{v})" for v, s in sorted(plan.unmapped))
        raise MigrationRefused(f"no mapping for state {states} in version {to_version}: add --map old=new")
    if dry_run:
        return plan
    target = get_engine().definition(name, to_version)
    ensure_registered(target)
    query = sa.select(WorkflowInstance).where(_running(name, to_version)).order_by(WorkflowInstance.id).with_for_update()
    instances = list(db.session.scalars(query))
    entered = (
        dict(
            db.session.execute(
                sa.select(InstanceHistory.instance_id, sa.func.max(InstanceHistory.at))
                .where(InstanceHistory.instance_id.in_([i.id for i in instances]))
                .group_by(InstanceHistory.instance_id)
            ).all()
        )
        if instances
        else {}
    )
    for instance in instances:
        old_state, old_version = instance.status, instance.definition_version
        new_state = mapping.get(old_state, old_state)
        instance.definition_version = to_version
        instance.status = new_state
        deadline = target.states[new_state].deadline
        since = entered.get(instance.id, now)
        instance.due_at = add_duration(since, deadline.duration) if deadline else None
        instance.due_trigger = deadline.fire if deadline else None
        instance.updated_at = now
        record_history(instance, "migrate", None, old_state, new_state, SYSTEM, f"migrated from version {old_version} to version {to_version}", {}, now)
        plan.instance_ids.append(instance.id)
    db.session.flush()
    return plan
