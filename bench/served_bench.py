"""Served benchmark: transitions per second with 8 concurrent HTTP clients under gunicorn on PostgreSQL, govflow's
step against a bare Flask endpoint doing the ORM step, in the same gunicorn and the same run.

Each endpoint works on a pool of its own instances, picked at random, so that clients rarely meet on a row: what is
measured is whether transitions queue behind each other (a shared lock would show here). The log's sequencer runs as
its own process, as in production. Load: wrk (Debian's package) with 8 connections; the two endpoints alternate.

Run: ``.venv/bin/python bench/served_bench.py [--quick]``; output recorded in bench/results/served.txt.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engine_bench import machine_facts  # noqa: E402

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/govflow_bench_served")
PORT = int(os.environ.get("BENCH_PORT", "5091"))
BIN = Path(sys.executable).parent


def prepare(url: str, instance_path: Path, pool: int) -> None:
    """An empty database with the bench workflows, keys, an administrator (id 1) and two pools of instances."""
    from govflow import create_app
    from govflow.accounts.services import create_user
    from govflow.attestations.keys import init_keys
    from govflow.attestations.sequencer import integrate_all
    from govflow.extensions import db
    from govflow.instances.services import register_definitions, start_instance

    admin = sa.create_engine(sa.make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = sa.make_url(url).database
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "WORKFLOWS_PATH": [str(ROOT / "bench" / "workflows")],
            "SECRET_KEY": "bench",
            "GOVFLOW_KEYS_DIR": str(instance_path / "keys"),
            "GOVFLOW_SEQUENCER": "off",
        },
        instance_path=str(instance_path),
    )
    with app.app_context():
        db.create_all()
        register_definitions(app.extensions["govflow.engine"])
        init_keys()
        user = create_user("bench@bench.example", "Bench", "quilt-harbour-umber-42", ["admin"])
        db.session.commit()
        assert user.id == 1
        for n in range(2 * pool):
            start_instance(user, "bench", f"instance {n}", "bench")
            if n % 500 == 499:
                db.session.commit()
        db.session.commit()
        integrate_all()
        db.engine.dispose()


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - a local URL we started
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def load(path: str, seconds: int, script: Path) -> dict:
    """wrk with 8 connections on two threads; requests per second and the share that was not 2xx."""
    out = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "-s", str(script), f"http://127.0.0.1:{PORT}{path}"], capture_output=True, text=True, check=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(failed.group(1)) if failed else 0
    return {"rate": rate * (total - errors) / total if total else 0.0, "errors": errors, "total": total}


def workers_rss_mb(master: int) -> float:
    """The resident memory of gunicorn's worker processes (the master's children), summed, in MB (Linux /proc)."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(master):
            total += int(fields.get("VmRSS", "0 kB").split()[0])
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter runs, for a smoke run")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker: more than 1 runs gthread workers")
    args = parser.parse_args()
    seconds, rounds, pool = (3, 1, 200) if args.quick else (15, 3, 2000)
    workers, threads = args.workers, args.threads
    kind = f"{workers} sync workers" if threads == 1 else f"{workers} gthread workers x {threads} threads"
    print(f"govflow served benchmark  {machine_facts()}")
    if shutil.which("wrk") is None:
        print("1. served transitions: skipped, wrk is not installed (apt-get install wrk)")
        return
    try:
        sa.create_engine(sa.make_url(PG_URL).set(database="postgres")).connect().close()
    except sa.exc.OperationalError:
        print(f"1. served transitions: skipped, PostgreSQL is not reachable at {PG_URL}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        instance_path = Path(tmp)
        prepare(PG_URL, instance_path, pool)
        script = instance_path / "post.lua"
        script.write_text('wrk.method = "POST"\n')
        env = {
            **os.environ,
            "BENCH_DATABASE_URL": PG_URL,
            "BENCH_INSTANCE_PATH": str(instance_path),
            "BENCH_POOL": str(pool),
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}",
        }
        sequencer_env = {
            **env,
            "DATABASE_URL": PG_URL,
            "GOVFLOW_WORKFLOWS": str(ROOT / "bench" / "workflows"),
            "GOVFLOW_KEYS_DIR": str(instance_path / "keys"),
            "GOVFLOW_SEQUENCER": "off",
            "SECRET_KEY": "bench",
        }
        threading = ["-k", "gthread", "--threads", str(threads)] if threads > 1 else []
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", str(workers), *threading, "-b", f"127.0.0.1:{PORT}", "--log-level", "warning", "served_app:app"],
            cwd=ROOT / "bench",
            env=env,
        )
        sequencer = subprocess.Popen([str(BIN / "govflow"), "log", "sequencer", "--interval", "0.5"], env=sequencer_env, stdout=subprocess.DEVNULL)
        try:
            wait_for(f"http://127.0.0.1:{PORT}/healthz")
            load("/bench/govflow", 2, script)  # warm the workers' connections and caches
            load("/bench/bare", 2, script)
            results: dict[str, list[dict]] = {"govflow": [], "bare": []}
            for _ in range(rounds):
                for name in ("bare", "govflow"):
                    results[name].append(load(f"/bench/{name}", seconds, script))
            memory = workers_rss_mb(server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            sequencer.send_signal(signal.SIGINT)
            sequencer.wait(timeout=30)
        engine = sa.create_engine(PG_URL)
        with engine.connect() as conn:
            pending = conn.execute(sa.text('SELECT count(*) FROM log_entries WHERE "index" IS NULL')).scalar()
            integrated = conn.execute(sa.text("SELECT size FROM log_state")).scalar()
        engine.dispose()
    g = statistics.median(r["rate"] for r in results["govflow"])
    b = statistics.median(r["rate"] for r in results["bare"])
    conflicts = sum(r["errors"] for r in results["govflow"])
    print(
        f"1. transitions per second, 8 concurrent clients (wrk), gunicorn {kind} on PostgreSQL, {seconds} s runs, median of {rounds}: "
        f"govflow {g:.0f}/s ({conflicts} answered 409 on a row another client moved), bare Flask ORM step {b:.0f}/s, ratio {g / b:.2f} (target >= 0.7); "
        f"the log's sequencer (its own process) had integrated {integrated} entries with {pending} pending when the load stopped; "
        f"the workers' resident memory after the load: {memory:.0f} MB in all"
    )


if __name__ == "__main__":
    main()
