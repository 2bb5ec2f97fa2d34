"""Benchmarks of the workflow engine against bare baselines, in one process (medians of repeated runs).

Run: ``.venv/bin/python bench/engine_bench.py [--quick]``; the output is recorded in bench/results/engine.txt.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from govflow import create_app  # noqa: E402
from govflow.engine import Engine, InputSpec, Registry  # noqa: E402
from govflow.engine.definitions import load_definitions  # noqa: E402
from govflow.extensions import db  # noqa: E402
from govflow.instances.deadlines import tick  # noqa: E402
from govflow.instances.models import InstanceHistory, WorkflowInstance  # noqa: E402
from govflow.instances.services import fire_transition, register_definitions  # noqa: E402

WORKFLOWS = ROOT / "bench" / "workflows"


def median_time(fn, repeats: int, number: int) -> float:
    """Median seconds per call of ``fn`` over ``repeats`` runs of ``number`` calls."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


class Actor(SimpleNamespace):
    """A signed-in actor holding global roles, without database access."""

    is_authenticated = True

    def has_role(self, *roles):
        return bool(self.roles.intersection(roles))


# -- 1. in memory ------------------------------------------------------------------------------------------
def bench_in_memory(repeats: int, number: int) -> dict:
    """One fired transition on the shared machine vs a bare dict lookup doing the same state change and guard."""
    guard_calls = {"n": 0}

    def guard(ctx):
        guard_calls["n"] += 1
        return None

    registry = Registry(roles={"admin"}, guards={"ok": guard}, inputs={"comment": InputSpec("comment")}, has_role=lambda actor, role, item: role in actor.roles)
    text = (WORKFLOWS / "bench.yaml").read_text().replace("roles: [admin]}", "roles: [admin], guards: [ok]}")
    tmp = Path(tempfile.mkdtemp()) / "bench.yaml"
    tmp.write_text(text)
    engine = Engine(registry)
    (definition,) = load_definitions([tmp], registry.vocabulary())
    engine.add(definition)
    actor = Actor(id=1, roles={"admin"})
    item = SimpleNamespace(workflow=None, definition_version=None, status=None, due_at=None, due_trigger=None)
    engine.start(item, "bench", actor)
    cycle = {"draft": "submit", "review": "send_back"}

    def govflow_fire():
        engine.fire(item, cycle[item.status], actor)

    table = {("draft", "submit"): ("review", ("admin",), guard), ("review", "send_back"): ("draft", ("admin",), guard)}
    bare = SimpleNamespace(status="draft")

    def bare_fire():
        dest, roles, g = table[(bare.status, cycle[bare.status])]
        if not any(r in actor.roles for r in roles):
            raise PermissionError
        if g(None):
            raise ValueError
        bare.status = dest

    t_engine = median_time(govflow_fire, repeats, number)
    t_bare = median_time(bare_fire, repeats, number)
    return {"govflow_us": t_engine * 1e6, "bare_us": t_bare * 1e6, "ratio": t_engine / t_bare}


# -- 2. persisted on SQLite ----------------------------------------------------------------------------------
@contextmanager
def bench_app(tmp: Path):
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite3'}", "WORKFLOWS_PATH": [str(WORKFLOWS)], "SECRET_KEY": "bench"},
        instance_path=str(tmp / "instance"),
    )
    with app.app_context():
        db.create_all()
        register_definitions(app.extensions["govflow.engine"])
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def _user_id() -> int:
    from govflow.accounts.services import create_user

    user = create_user("bench@bench.example", "Bench", "bench-password", ["admin"])
    db.session.commit()
    return user.id


def bench_persisted(repeats: int, number: int) -> dict:
    """Load + fire + history + version + commit through govflow vs a bare ORM update + history insert + commit."""
    from govflow.instances.services import start_instance

    with tempfile.TemporaryDirectory() as tmpdir, bench_app(Path(tmpdir)):
        actor = Actor(id=_user_id(), roles={"admin"}, label="Bench")
        a = start_instance(actor, "bench", "govflow instance", "bench")
        b = start_instance(actor, "bench", "bare instance", "bench")
        db.session.commit()
        a_id, b_id = a.id, b.id
        cycle = {"draft": "submit", "review": "send_back"}
        dest = {"submit": "review", "send_back": "draft"}

        def govflow_step():
            instance = db.session.get(WorkflowInstance, a_id)
            fire_transition(actor, instance, cycle[instance.status], {})
            db.session.commit()

        def bare_step():
            instance = db.session.get(WorkflowInstance, b_id)
            trigger = cycle[instance.status]
            source = instance.status
            instance.status = dest[trigger]
            db.session.add(
                InstanceHistory(
                    instance_id=b_id,
                    kind="transition",
                    trigger=trigger,
                    from_state=source,
                    to_state=instance.status,
                    definition_version=1,
                    actor_id=actor.id,
                    actor_label=actor.label,
                    inputs={},
                    at=datetime.now(),
                )
            )
            db.session.commit()

        # Interleave the two so that any drift of the machine hits both alike.
        t_g, t_b = [], []
        for _ in range(repeats):
            t_g.append(median_time(govflow_step, 1, number))
            t_b.append(median_time(bare_step, 1, number))
        t_engine, t_bare = statistics.median(t_g), statistics.median(t_b)
        return {"govflow_us": t_engine * 1e6, "bare_us": t_bare * 1e6, "ratio": t_engine / t_bare}


# -- 3. tick over many instances --------------------------------------------------------------------------------
@contextmanager
def count_queries():
    counter = {"n": 0}

    def before(*_args):
        counter["n"] += 1

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)


def _seed(total: int, overdue: int, now: datetime) -> None:
    """Insert ``total`` waiting instances, ``overdue`` of them past their deadline (core inserts, fast)."""
    rows = []
    for n in range(total):
        due = now - timedelta(hours=1) if n < overdue else now + timedelta(days=1)
        rows.append(
            {
                "workflow": "bench",
                "definition_version": 1,
                "status": "waiting",
                "version": 1,
                "title": f"i{n}",
                "subject_kind": "bench",
                "created_at": now,
                "updated_at": now,
                "due_at": due,
                "due_trigger": "expire",
            }
        )
    for start in range(0, total, 10_000):
        db.session.execute(sa.insert(WorkflowInstance), rows[start : start + 10_000])
    db.session.commit()


def bench_tick(total: int, overdue: int, repeats: int) -> dict:
    """``govflow tick`` over ``total`` instances of which ``overdue`` are due, vs as many bare ORM updates."""
    tick_times, bare_times, tick_queries, bare_queries = [], [], [], []
    now = datetime(2030, 1, 1)
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmpdir, bench_app(Path(tmpdir)):
            _seed(total, overdue, now)
            with count_queries() as q:
                start = time.perf_counter()
                report = tick(now)
                tick_times.append(time.perf_counter() - start)
            assert report.fired == overdue, report
            tick_queries.append(q["n"])
        with tempfile.TemporaryDirectory() as tmpdir, bench_app(Path(tmpdir)):
            _seed(total, overdue, now)
            with count_queries() as q:
                start = time.perf_counter()
                done = 0
                while True:
                    batch = db.session.scalars(
                        sa.select(WorkflowInstance).where(WorkflowInstance.due_at <= now).order_by(WorkflowInstance.due_at, WorkflowInstance.id).limit(500)
                    ).all()
                    if not batch:
                        break
                    for instance in batch:
                        instance.status, instance.due_at, instance.due_trigger = "expired", None, None
                        db.session.add(
                            InstanceHistory(
                                instance=instance,
                                kind="timeout",
                                trigger="expire",
                                from_state="waiting",
                                to_state="expired",
                                definition_version=1,
                                actor_label="system",
                                inputs={},
                                at=now,
                            )
                        )
                        done += 1
                    db.session.commit()
                bare_times.append(time.perf_counter() - start)
            assert done == overdue
            bare_queries.append(q["n"])
    t_tick, t_bare = statistics.median(tick_times), statistics.median(bare_times)
    return {
        "tick_s": t_tick,
        "bare_s": t_bare,
        "ratio": t_tick / t_bare,
        "tick_queries": statistics.median(tick_queries),
        "bare_queries": statistics.median(bare_queries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    mem_n, pers_n, total, overdue, reps = (2_000, 100, 10_000, 1_000, 3) if args.quick else (20_000, 500, 100_000, 10_000, 5)
    print(f"govflow engine benchmark  python {sys.version.split()[0]}  sqlalchemy {sa.__version__}  {datetime.now().isoformat(timespec='seconds')}")
    mem = bench_in_memory(reps, mem_n)
    print(
        f"1. fired transition in memory ({mem_n} per run, median of {reps}): govflow {mem['govflow_us']:.2f} us, "
        f"bare dict + guard {mem['bare_us']:.2f} us, ratio {mem['ratio']:.1f}x"
    )
    pers = bench_persisted(reps, pers_n)
    print(
        f"2. persisted transition on SQLite/WAL ({pers_n} per run, median of {reps}): govflow {pers['govflow_us']:.0f} us, "
        f"bare ORM update + history insert + commit {pers['bare_us']:.0f} us, ratio {pers['ratio']:.2f}x (target <= 1.5x)"
    )
    tk = bench_tick(total, overdue, max(1, reps // 2))
    print(
        f"3. govflow tick over {total} instances, {overdue} overdue (median of {max(1, reps // 2)}): tick {tk['tick_s']:.2f} s "
        f"({tk['tick_queries']:.0f} queries), bare ORM updates {tk['bare_s']:.2f} s ({tk['bare_queries']:.0f} queries), "
        f"ratio {tk['ratio']:.2f}x"
    )


if __name__ == "__main__":
    main()
