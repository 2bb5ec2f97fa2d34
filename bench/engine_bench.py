"""Benchmarks of the workflow engine against bare baselines, in one process (medians of repeated runs).

1. a fired transition in memory against one shared bare ``transitions`` machine (what a user would pick instead);
2. a persisted transition, logged (history row and its pending log entry) and attested (a signed credential too),
   against a bare ORM update + history insert + commit, on SQLite and on PostgreSQL (BENCH_PG_URL, default the local
   server's ``govflow_bench`` database; skipped when unreachable);
3. ``govflow tick`` over many instances against as many bare ORM updates.

Run: ``.venv/bin/python bench/engine_bench.py [--quick]``; the output is recorded in bench/results/engine.txt.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
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
from govflow.attestations.keys import init_keys  # noqa: E402
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
    """One fired transition through govflow's engine vs one shared bare ``transitions`` machine doing the same state
    change with the same role check and guard (``model=None``, fired through ``machine.events[...]``)."""
    from transitions import Machine

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

    def allowed(event):
        return "admin" in event.kwargs["actor"].roles and not guard(None)

    machine = Machine(
        model=None,
        states=["draft", "review"],
        transitions=[
            {"trigger": "submit", "source": "draft", "dest": "review", "conditions": [allowed]},
            {"trigger": "send_back", "source": "review", "dest": "draft", "conditions": [allowed]},
        ],
        initial="draft",
        auto_transitions=False,
        send_event=True,
        model_attribute="status",
    )
    bare = SimpleNamespace(status="draft")

    def bare_fire():
        if not machine.events[cycle[bare.status]].trigger(bare, actor=actor):
            raise PermissionError

    t_engine = median_time(govflow_fire, repeats, number)
    t_bare = median_time(bare_fire, repeats, number)
    return {"govflow_us": t_engine * 1e6, "bare_us": t_bare * 1e6, "ratio": t_engine / t_bare}


# -- 2. persisted, on SQLite and PostgreSQL ---------------------------------------------------------------------------
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/govflow_bench")


def pg_available() -> bool:
    """Whether the benchmark's PostgreSQL database can be reached (created when the server allows it)."""
    url = sa.make_url(PG_URL)
    try:
        admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).scalar():
                conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
        return True
    except sa.exc.OperationalError:
        return False


@contextmanager
def bench_app(tmp: Path, url: str | None = None):
    """An app on a fresh database (SQLite in ``tmp``, or ``url`` emptied), the bench workflows registered, keys made;
    the log's sequencer off (it runs beside the app, off the path measured here)."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{tmp / 'bench.sqlite3'}",
            "WORKFLOWS_PATH": [str(WORKFLOWS)],
            "SECRET_KEY": "bench",
            "GOVFLOW_KEYS_DIR": str(tmp / "keys"),
            "GOVFLOW_SEQUENCER": "off",
        },
        instance_path=str(tmp / "instance"),
    )
    with app.app_context():
        if url:
            db.drop_all()
        db.create_all()
        register_definitions(app.extensions["govflow.engine"])
        init_keys()
        db.session.commit()
        yield app
        db.session.remove()
        if url:
            db.drop_all()
        db.engine.dispose()


def _user_id() -> int:
    from govflow.accounts.services import create_user

    user = create_user("bench@bench.example", "Bench", "quilt-harbour-umber-42", ["admin"])
    db.session.commit()
    return user.id


CYCLE = {"draft": "submit", "review": "send_back"}
DEST = {"submit": "review", "send_back": "draft"}


def bare_orm_step(instance: WorkflowInstance, actor) -> None:
    """The bare baseline of a persisted transition: the state and version updated and a history row added by hand,
    as a user of SQLAlchemy alone would write it (the caller commits)."""
    trigger = CYCLE[instance.status]
    source = instance.status
    instance.status = DEST[trigger]
    instance.version += 1
    db.session.add(
        InstanceHistory(
            instance_id=instance.id,
            kind="transition",
            trigger=trigger,
            from_state=source,
            to_state=instance.status,
            definition_version=1,
            actor_id=actor.id,
            actor_label=actor.label,
            inputs={},
            at=datetime.now(),
            instance_version=instance.version,
        )
    )


def bench_persisted(repeats: int, number: int, url: str | None = None) -> dict:
    """Load + fire + history + log entry (+ credential) + commit through govflow vs a bare ORM update + history insert +
    commit, interleaved so that any drift of the machine hits all alike."""
    from govflow.instances.services import start_instance

    with tempfile.TemporaryDirectory() as tmpdir, bench_app(Path(tmpdir), url):
        actor = Actor(id=_user_id(), roles={"admin"}, label="Bench")
        logged = start_instance(actor, "bench", "logged instance", "bench")
        attested = start_instance(actor, "bench_attested", "attested instance", "bench")
        bare = start_instance(actor, "bench", "bare instance", "bench")
        db.session.commit()
        ids = {"logged": logged.id, "attested": attested.id, "bare": bare.id}
        cycle = {"draft": "submit", "review": "send_back"}

        def govflow_step(instance_id):
            def step():
                instance = db.session.get(WorkflowInstance, instance_id)
                fire_transition(actor, instance, cycle[instance.status], {})
                db.session.commit()

            return step

        def bare_step():
            bare_orm_step(db.session.get(WorkflowInstance, ids["bare"]), actor)
            db.session.commit()

        steps = {"logged": govflow_step(ids["logged"]), "attested": govflow_step(ids["attested"]), "bare": bare_step}
        samples: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(repeats):
            for name, step in steps.items():
                samples[name].append(median_time(step, 1, number))
        t = {name: statistics.median(values) for name, values in samples.items()}
        return {
            "logged_us": t["logged"] * 1e6,
            "attested_us": t["attested"] * 1e6,
            "bare_us": t["bare"] * 1e6,
            "logged_ratio": t["logged"] / t["bare"],
            "attested_ratio": t["attested"] / t["bare"],
        }


def bench_sequencer(entries: int, url: str | None = None) -> dict:
    """How fast the sequencer integrates pending entries (off the acts' path): entries per second in batches."""
    from govflow.attestations import log
    from govflow.attestations.sequencer import integrate_all

    with tempfile.TemporaryDirectory() as tmpdir, bench_app(Path(tmpdir), url):
        for n in range(entries):
            log.add_entry("score", f"sheet {n}".encode(), ref=str(n))
            if n % 5000 == 4999:
                db.session.commit()
        db.session.commit()
        start = time.perf_counter()
        done = integrate_all()
        elapsed = time.perf_counter() - start
        assert done == entries
        return {"rate": entries / elapsed, "seconds": elapsed}


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
                        instance.version += 1
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
                                instance_version=instance.version,
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


def machine_facts() -> str:
    """The commit, date, CPU and versions a result file names."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip() or "unknown"
    # The result files themselves are being written while the benchmark runs: they do not make the code dirty.
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench/results"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    cpu = "unknown CPU"
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and cpu == "unknown CPU":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    except OSError:
        pass
    sha = "with" if " sha_ni" in flags else "without"
    return (
        f"commit {commit}{' (uncommitted changes)' if dirty else ''}  {datetime.now().isoformat(timespec='seconds')}  {cpu} ({os.cpu_count()} CPUs, "
        f"{sha} SHA instructions)  python {platform.python_version()}  sqlalchemy {sa.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    mem_n, pers_n, total, overdue, reps, pending = (2_000, 50, 10_000, 1_000, 3, 5_000) if args.quick else (20_000, 300, 100_000, 10_000, 5, 100_000)
    print(f"govflow engine benchmark  {machine_facts()}")
    mem = bench_in_memory(reps, mem_n)
    print(
        f"1. fired transition in memory ({mem_n} per run, median of {reps}): govflow {mem['govflow_us']:.2f} us, "
        f"one shared bare transitions machine (same role check and guard) {mem['bare_us']:.2f} us, ratio {mem['ratio']:.1f}x"
    )
    databases = [("SQLite/WAL", None)] + ([("PostgreSQL", PG_URL)] if pg_available() else [])
    for label, url in databases:
        pers = bench_persisted(reps, pers_n, url)
        print(
            f"2. persisted transition on {label} ({pers_n} per run, median of {reps}): bare ORM update + history insert + commit "
            f"{pers['bare_us']:.0f} us; govflow logged {pers['logged_us']:.0f} us, ratio {pers['logged_ratio']:.2f}x (target <= 1.3x); "
            f"govflow attested {pers['attested_us']:.0f} us, ratio {pers['attested_ratio']:.2f}x (target <= 2x)"
        )
    if len(databases) == 1:
        print(f"2. persisted transition on PostgreSQL: skipped, {PG_URL} is not reachable")
    for label, url in databases:
        seq = bench_sequencer(pending, url)
        print(f"3. the log's sequencer on {label}: {pending} pending entries integrated in {seq['seconds']:.2f} s ({seq['rate']:.0f} entries/s)")
    tk = bench_tick(total, overdue, max(1, reps // 2))
    print(
        f"4. govflow tick over {total} instances, {overdue} overdue (SQLite, median of {max(1, reps // 2)}): tick {tk['tick_s']:.2f} s "
        f"({tk['tick_queries']:.0f} queries), bare ORM updates {tk['bare_s']:.2f} s ({tk['bare_queries']:.0f} queries), "
        f"ratio {tk['ratio']:.2f}x"
    )


if __name__ == "__main__":
    main()
