"""The cohort dashboard and the other sandbox pages run a bounded number of queries, whatever the size of the data:
asserted with 50 programmes, 2,000 applications and 20,000 milestones (timing is measured in bench/, not here)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govflow.engine import utcnow
from govflow.extensions import db
from govflow.sandbox.models import Application, Milestone, Programme

from ..conftest import login
from ..register.test_register import counting
from .seed import seed_cohorts

pytestmark = pytest.mark.slow


def pages(app, programme_id: int) -> dict[str, str]:
    with app.app_context():
        laureate = db.session.scalar(
            sa.select(Application.id).where(Application.programme_id == programme_id, Application.selected_at.is_not(None)).order_by(Application.id).limit(1)
        )
        milestone = db.session.scalar(sa.select(Milestone.instance_id).where(Milestone.application_id == laureate).limit(1))
    return {
        "dashboard": f"/programmes/{programme_id}/dashboard",
        "dashboard page 2": f"/programmes/{programme_id}/dashboard?page=2",
        "applications": f"/programmes/{programme_id}/applications",
        "programme": f"/programmes/{programme_id}",
        "programmes": "/programmes?page=2",
        "roadmap": f"/applications/{laureate}/roadmap",
        "milestone": f"/instances/{milestone}",
        "csv": f"/programmes/{programme_id}/milestones.csv",
    }


def query_counts(app, client, programme_id: int) -> dict[str, int]:
    out = {}
    for name, url in pages(app, programme_id).items():
        with counting(app) as seen:
            response = client.get(url)
            body = response.get_data()
        assert response.status_code == 200, (url, response.status_code)
        assert body
        out[name] = len(seen)
    return out


def test_sandbox_pages_run_a_bounded_number_of_queries_with_50_programmes_2000_applications_and_20000_milestones(app, client, make_user):
    manager = make_user(roles=("programme_manager",), email="manager@test.example")
    team = make_user(roles=("signatory",), email="team@test.example")
    today = utcnow().date()
    with app.app_context():
        (small,) = seed_cohorts(1, 8, 40, manager.id, team.id, "Small", today)
    login(client, "manager@test.example")
    small_counts = query_counts(app, client, small)
    with app.app_context():
        large = seed_cohorts(50, 2000, 20_000, manager.id, team.id, "Large", today)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) == 51
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == 2008
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Milestone)) == 20_040
        per_programme = db.session.scalar(sa.select(sa.func.count()).select_from(Milestone).join(Application).where(Application.programme_id == large[0]))
    assert per_programme == 400
    large_counts = query_counts(app, client, large[0])
    assert large_counts == small_counts, f"queries per page grew with the data: {small_counts} -> {large_counts}"
    assert max(large_counts.values()) <= 40, large_counts  # the instance page of a milestone is the heaviest (role checks)
    page = client.get(f"/programmes/{large[0]}/dashboard").get_data(as_text=True)
    assert page.count('data-testid="progress"') == 1 and page.count("<progress ") == 10  # the programme's ten laureates
    assert page.count("data-state=") > 200  # every milestone of the page's laureates is on the timeline
    csv_lines = client.get(f"/programmes/{large[0]}/milestones.csv").get_data(as_text=True).strip().splitlines()
    assert len(csv_lines) == 401
