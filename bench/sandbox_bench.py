"""Benchmark of the sandbox cohort dashboard against a bare baseline, in one process (medians of repeated runs).

With 50 programmes, 2,000 applications and 20,000 milestones on SQLite:
1. the cohort dashboard of one programme (10 laureates, 400 milestones), served whole (access checks, queries,
   timeline SVG, template) vs reading the same rows with plain SQL and writing them as a bare HTML table;
2. the programme's milestones CSV vs a plain SQL query written with the csv module.

Run: ``.venv/bin/python bench/sandbox_bench.py [--quick]``; output recorded in bench/results/sandbox.txt.
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engine_bench import machine_facts  # noqa: E402

from govflow import create_app  # noqa: E402
from govflow.accounts.services import create_user  # noqa: E402
from govflow.engine import utcnow  # noqa: E402
from govflow.extensions import db  # noqa: E402
from govflow.instances.services import register_definitions  # noqa: E402
from govflow.sandbox.cohort import WINDOW_MONTHS, add_months  # noqa: E402
from tests.sandbox.seed import seed_cohorts  # noqa: E402

BARE_DASHBOARD = [
    "SELECT a.id, o.name, a.title, i.status FROM applications a JOIN organisations o ON o.id = a.organisation_id "
    "JOIN workflow_instances i ON i.id = a.instance_id WHERE a.programme_id = :p AND a.selected_at IS NOT NULL ORDER BY a.selected_at, a.id LIMIT 20",
    # The same bounded content as the page: each laureate's progress counted, and its milestones in the six-month
    # window, twelve at most (the page's timeline since the scale issue; it used to draw every milestone).
    "SELECT m.application_id, count(*), sum(CASE WHEN i.status = 'accepted' THEN 1 ELSE 0 END) FROM milestones m "
    "JOIN workflow_instances i ON i.id = m.instance_id JOIN applications a ON a.id = m.application_id "
    "WHERE a.programme_id = :p AND i.status <> 'cancelled' GROUP BY m.application_id",
    "SELECT * FROM (SELECT m.application_id, x.title, m.title, m.starts_on, m.due_on, i.status, "
    "row_number() OVER (PARTITION BY m.application_id ORDER BY x.position, m.due_on, m.id) AS r FROM milestones m "
    "JOIN axes x ON x.id = m.axis_id JOIN workflow_instances i ON i.id = m.instance_id JOIN applications a ON a.id = m.application_id "
    "WHERE a.programme_id = :p AND m.starts_on < :wend AND m.due_on >= :wstart) AS w WHERE r <= 12 ORDER BY application_id, r",
    "SELECT x.key, i.status, count(*) FROM milestones m JOIN axes x ON x.id = m.axis_id JOIN workflow_instances i ON i.id = m.instance_id "
    "JOIN applications a ON a.id = m.application_id WHERE a.programme_id = :p GROUP BY x.key, i.status",
    "SELECT m.title, m.due_on, i.status FROM milestones m JOIN workflow_instances i ON i.id = m.instance_id JOIN applications a ON a.id = m.application_id "
    "WHERE a.programme_id = :p AND i.status IN ('planned', 'in_progress', 'submitted', 'rework_requested') AND m.due_on < :today ORDER BY m.due_on LIMIT 50",
    "SELECT m.title, m.due_on, i.status FROM milestones m JOIN workflow_instances i ON i.id = m.instance_id JOIN applications a ON a.id = m.application_id "
    "WHERE a.programme_id = :p AND i.status IN ('planned', 'in_progress', 'submitted', 'rework_requested') AND m.due_on >= :today "
    "AND m.due_on <= :soon ORDER BY m.due_on LIMIT 50",
]
BARE_CSV = (
    "SELECT o.name, a.title, x.title, m.id, m.kind, m.title, m.starts_on, m.due_on, i.status, m.overdue_at, m.accepted_at, u1.name, u2.name "
    "FROM milestones m JOIN applications a ON a.id = m.application_id JOIN organisations o ON o.id = a.organisation_id JOIN axes x ON x.id = m.axis_id "
    "JOIN workflow_instances i ON i.id = m.instance_id JOIN users u1 ON u1.id = m.manager_owner_id JOIN users u2 ON u2.id = m.team_owner_id "
    "WHERE a.programme_id = :p ORDER BY o.name, a.id, x.position, m.due_on, m.id"
)


def timed(fn, repeats: int) -> float:
    """Median seconds of ``fn`` over ``repeats`` runs (after one warm-up run)."""
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bare_dashboard(programme_id: int) -> str:
    """The dashboard's rows read with plain SQL and written as one bare HTML table (no access checks, no SVG)."""
    today = utcnow().date()
    start = add_months(today.replace(day=1), -1)
    params = {"p": programme_id, "today": today, "soon": today + timedelta(days=30), "wstart": start, "wend": add_months(start, WINDOW_MONTHS)}
    out = ["<table>"]
    with db.engine.connect() as conn:
        for sql in BARE_DASHBOARD:
            for row in conn.execute(sa.text(sql), params):
                out.append("<tr>" + "".join(f"<td>{value}</td>" for value in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def bare_csv(programme_id: int) -> str:
    """The milestones read with one plain SQL query and written with the csv module."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    with db.engine.connect() as conn:
        for row in conn.execute(sa.text(BARE_CSV), {"p": programme_id}):
            writer.writerow(row)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    programmes, applications, milestones, repeats = (5, 200, 2_000, 3) if args.quick else (50, 2_000, 20_000, 15)
    print(f"govflow sandbox benchmark  {machine_facts()}")
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3", "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False, "GOVFLOW_KEYS_DIR": f"{tmp}/keys"},
            instance_path=f"{tmp}/instance",
        )
        with app.app_context():
            db.create_all()
            register_definitions(app.extensions["govflow.engine"])
            manager = create_user("manager@bench.example", "Bench Manager", "quilt-harbour-umber-42", ["programme_manager"])
            team = create_user("team@bench.example", "Bench Team", "quilt-harbour-umber-42", ["signatory"])
            db.session.commit()
            start = time.perf_counter()
            programme_id = seed_cohorts(programmes, applications, milestones, manager.id, team.id, "Bench", utcnow().date())[0]
            seeded = time.perf_counter() - start
        client = app.test_client()
        client.post("/login", data={"email": "manager@bench.example", "password": "quilt-harbour-umber-42"})
        url = f"/programmes/{programme_id}"

        def page(path: str) -> None:
            response = client.get(url + path)
            assert response.status_code == 200, response.status_code
            response.get_data()

        with app.app_context():
            dashboard, bare = timed(lambda: page("/dashboard"), repeats), timed(lambda: bare_dashboard(programme_id), repeats)
            export, bare_export = timed(lambda: page("/milestones.csv"), repeats), timed(lambda: bare_csv(programme_id), repeats)
    print(
        f"1. cohort dashboard of one programme ({milestones // programmes} milestones) among {programmes} programmes, {applications} applications, "
        f"{milestones} milestones (median of {repeats}): govflow {dashboard * 1000:.1f} ms, bare SQL + HTML table {bare * 1000:.1f} ms, "
        f"ratio {dashboard / bare:.1f}x; seeding took {seeded:.0f} s"
    )
    print(
        f"2. milestones CSV of that programme (median of {repeats}): govflow {export * 1000:.1f} ms, bare SQL + csv module {bare_export * 1000:.1f} ms, "
        f"ratio {export / bare_export:.1f}x"
    )


if __name__ == "__main__":
    main()
