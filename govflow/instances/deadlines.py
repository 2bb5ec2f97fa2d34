"""Durable deadlines: ``govflow tick`` fires overdue timeout transitions and records reminders, once each.

Deadlines are due times in the database (set by the engine when a state with a deadline is entered),
not in-process timers, so they survive restarts. Several ticks may run at once on PostgreSQL: each
batch is claimed with ``FOR UPDATE SKIP LOCKED`` and every row's state is re-read after locking, so no
instance is fired twice. On SQLite, writers are serialised and the optimistic version check catches
the rest. A timeout is dated at the deadline it expired, so the next deadline counts from there and a tick
that runs late catches up within the same run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.exc import StaleDataError

from ..engine import SYSTEM, EngineError, StaleInstance, utcnow
from ..engine.durations import add_duration
from ..extensions import db
from .models import InstanceReminder, WorkflowInstance
from .services import fire_transition, get_engine, get_registry

log = logging.getLogger(__name__)
MAX_CONFLICTS = 50


@dataclass
class TickReport:
    """What one tick did."""

    fired: int = 0
    reminders: int = 0
    flagged: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def _claim_batch(now: datetime, size: int, exclude: set[int]) -> list[WorkflowInstance]:
    """Lock up to ``size`` overdue instances that no other tick holds (PostgreSQL skips locked rows).

    On SQLite a no-op write on the overdue rows takes the database's write lock first, so what the batch reads (the
    instances, and what their effects read, such as the ballots a closing vote counts) is read after any concurrent
    writer committed and stays so until the batch commits.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        overdue = sa.and_(WorkflowInstance.due_at <= now, WorkflowInstance.due_trigger.is_not(None))
        db.session.execute(sa.update(WorkflowInstance).where(overdue).values(id=WorkflowInstance.id).execution_options(synchronize_session=False))
    query = (
        sa.select(WorkflowInstance)
        .where(WorkflowInstance.due_at <= now, WorkflowInstance.due_trigger.is_not(None))
        .order_by(WorkflowInstance.due_at, WorkflowInstance.id)
        .limit(size)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if exclude:
        query = query.where(WorkflowInstance.id.not_in(exclude))
    return list(db.session.scalars(query))


def fire_overdue(now: datetime | None = None, batch_size: int = 500) -> TickReport:
    """Fire every overdue timeout transition as the system actor; commit per batch; safe to run concurrently."""
    now = now or utcnow()
    report = TickReport()
    failed: set[int] = set()
    conflicts = 0
    while True:
        try:
            batch = _claim_batch(now, batch_size, failed)
            if not batch:
                db.session.rollback()
                break
            fired = 0
            for instance in batch:
                # Re-checked after the lock: another tick may have fired it between our select and our lock.
                if instance.due_at is None or instance.due_at > now or instance.due_trigger is None:
                    report.skipped += 1
                    continue
                try:
                    # Dated at the expiry itself, so a late tick gives the same history and next deadlines as a punctual one.
                    fire_transition(SYSTEM, instance, instance.due_trigger, now=instance.due_at, kind="timeout", flush=False)
                    fired += 1
                except StaleInstance:
                    raise
                except EngineError as exc:
                    # Refused before anything changed (the engine checks before it moves): skip it from now on.
                    failed.add(instance.id)
                    report.errors.append(f"instance {instance.id}: {instance.due_trigger} refused: {exc.message}")
            db.session.commit()
            report.fired += fired  # counted only once committed: a conflicting batch is rolled back whole
        except (StaleInstance, StaleDataError, sa.exc.OperationalError) as exc:
            # Another tick committed first on these rows (SQLite has no SKIP LOCKED): take a fresh batch.
            db.session.rollback()
            conflicts += 1
            if conflicts > MAX_CONFLICTS:
                report.errors.append(f"gave up after {MAX_CONFLICTS} conflicting batches: {type(exc).__name__}")
                break
            log.info("tick: batch conflicted with a concurrent writer (%s); retrying", type(exc).__name__)
    for message in report.errors:
        log.warning("tick: %s", message)
    return report


def _insert_reminders(rows: list[dict]) -> int:
    """Insert reminder rows, ignoring those already recorded (unique per instance, due time and offset)."""
    if not rows:
        return 0
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        stmt = postgresql.insert(InstanceReminder).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(InstanceReminder).on_conflict_do_nothing()
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database {dialect}")
    result = db.session.execute(stmt.returning(InstanceReminder.id), rows)
    return len(result.all())


def record_reminders(now: datetime | None = None) -> int:
    """Record each reminder whose time has come (deadline minus offset), once; return how many were new."""
    now = now or utcnow()
    created = 0
    for definition in get_engine().definitions():
        for state in definition.states.values():
            if state.deadline is None:
                continue
            for offset_text, offset in state.deadline.remind:
                horizon = add_duration(now, offset)
                already = sa.exists().where(
                    InstanceReminder.instance_id == WorkflowInstance.id,
                    InstanceReminder.due_at == WorkflowInstance.due_at,
                    InstanceReminder.offset == offset_text,
                )
                due = db.session.execute(
                    sa.select(WorkflowInstance.id, WorkflowInstance.due_at).where(
                        WorkflowInstance.workflow == definition.name,
                        WorkflowInstance.definition_version == definition.version,
                        WorkflowInstance.status == state.name,
                        WorkflowInstance.due_at > now,
                        WorkflowInstance.due_at <= horizon,
                        ~already,
                    )
                ).all()
                created += _insert_reminders([{"instance_id": i, "state": state.name, "due_at": d, "offset": offset_text, "recorded_at": now} for i, d in due])
    db.session.commit()
    return created


def tick(now: datetime | None = None, batch_size: int = 500) -> TickReport:
    """One run of ``govflow tick``: fire overdue timeouts, record due reminders, then let domains flag what is overdue."""
    now = now or utcnow()
    report = fire_overdue(now, batch_size)
    report.reminders = record_reminders(now)
    for hook in get_registry().tick_hooks:
        report.flagged += hook(now)
    db.session.commit()
    return report


def reminders_for(instance_ids: list[int]) -> dict[int, InstanceReminder]:
    """The latest reminder of each instance's current deadline, for inbox pages (one query)."""
    if not instance_ids:
        return {}
    rows = db.session.execute(
        sa.select(InstanceReminder)
        .join(WorkflowInstance, WorkflowInstance.id == InstanceReminder.instance_id)
        .where(InstanceReminder.instance_id.in_(instance_ids), InstanceReminder.due_at == WorkflowInstance.due_at)
        .order_by(InstanceReminder.recorded_at)
    ).scalars()
    return {r.instance_id: r for r in rows}
