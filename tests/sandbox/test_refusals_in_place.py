"""A refused sandbox form is answered on the page it came from: the sentence beside the field it is about, every typed
value kept (a chosen file excepted, said so), the refusal's status, nothing changed; API clients get JSON.

Named after what users met: a refused upload, a milestone due before it starts and a bad form each landed on a bare
"Error 422" page with the typed values gone; a forgotten criterion on the scoring sheet became a silent 0; an audition
time was typed in UTC and shown in Paris time."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from govflow.engine import utcnow
from govflow.extensions import db
from govflow.instances.models import WorkflowInstance
from govflow.sandbox.models import Application, Milestone, Question, Score

from ..conftest import app_with_world, login
from .common import advance, apply, build
from .test_refusals import EMAILS, _build_world
from .test_sandbox_flow import counts


@pytest.fixture
def app(request, tmp_path, _pg_schema):
    """The sandbox refusals' world (built once per process, copied per test) when asked for, an empty app otherwise."""
    yield from app_with_world(request, tmp_path, "sandbox-refusals", _build_world)


@pytest.fixture
def world(app):
    return app.world


ERROR_PAGE = re.compile(r"data-error-status=")  # the error page's mark


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _milestone_rows(app, application_id: int) -> list[tuple]:
    with app.app_context():
        return list(db.session.execute(sa.select(Milestone.id, Milestone.starts_on, Milestone.due_on).where(Milestone.application_id == application_id)))


def _milestone_form(world, **changes) -> dict:
    data = {
        "axis_id": str(world.axis),
        "kind": "deliverable",
        "title": "Retention schedule for the call recordings",
        "starts_on": "2031-03-10",
        "due_on": "2031-03-01",
        "manager_owner_id": "",
        "team_owner_id": "",
    }
    return {**data, **changes}


def _owners(app, client, world) -> dict:
    """The owner choices the roadmap's form offers (the first of each list)."""
    page = client.get(f"/applications/{world.laureate}/roadmap").get_data(as_text=True)
    manager = re.search(r'<select[^>]*name="manager_owner_id"[^>]*>\s*<option[^>]*value="(\d+)"', page).group(1)
    team = re.search(r'<select[^>]*name="team_owner_id"[^>]*>\s*<option[^>]*value="(\d+)"', page).group(1)
    return {"manager_owner_id": manager, "team_owner_id": team}


def test_a_refused_upload_keeps_the_milestone_page_and_says_why_beside_the_file_form(app, client, world):
    before = counts(app)
    login(client, EMAILS["team"])
    response = client.post(
        f"/milestones/{world.milestone}/files", data={"upload": (io.BytesIO(b"MZ\x90\x00binary"), "report.pdf")}, content_type="multipart/form-data"
    )
    page = _text(response)
    assert response.status_code == 422
    assert not ERROR_PAGE.search(page) and 'data-testid="milestone"' in page  # the milestone's own page
    here = re.search(r'data-testid="refusal-here">([^<]*)<', page)
    assert here and "File refused" in here.group(1)
    assert 'data-testid="error-summary"' in page and "a chosen file must be chosen again" in page
    assert counts(app) == before


def test_a_milestone_due_before_it_starts_keeps_the_typed_values_and_says_so_next_to_the_due_date(app, client, world):
    before = _milestone_rows(app, world.laureate)
    login(client, EMAILS["manager"])
    data = _milestone_form(world) | _owners(app, client, world)
    response = client.post(f"/applications/{world.laureate}/milestones", data=data)
    page = _text(response)
    assert response.status_code == 422
    assert not ERROR_PAGE.search(page) and 'data-testid="milestone-form"' in page  # the roadmap, not an error page
    beside = re.search(r'<span class="field-error" id="due_on-error">([^<]*)</span>', page)
    assert beside and "due on or after the day it starts" in beside.group(1)
    assert 'value="Retention schedule for the call recordings"' in page
    assert 'value="2031-03-10"' in page and 'value="2031-03-01"' in page
    assert re.search(r'<a href="#due_on">', page)  # the summary links to the field
    assert _milestone_rows(app, world.laureate) == before


def test_a_bad_form_keeps_every_typed_value_and_marks_the_missing_field(app, client, world):
    before = _milestone_rows(app, world.laureate)
    login(client, EMAILS["manager"])
    data = _milestone_form(world, title="", due_on="2031-04-01") | _owners(app, client, world)
    response = client.post(f"/applications/{world.laureate}/milestones", data=data)
    page = _text(response)
    assert response.status_code == 422 and not ERROR_PAGE.search(page)
    assert re.search(r'id="title"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="title"', page)
    assert 'id="title-error"' in page
    assert 'value="2031-03-10"' in page and 'value="2031-04-01"' in page
    assert _milestone_rows(app, world.laureate) == before


def test_api_clients_get_the_refusal_as_json(app, client, world):
    before = _milestone_rows(app, world.laureate)
    login(client, EMAILS["manager"])
    data = _milestone_form(world) | _owners(app, client, world)
    response = client.post(f"/applications/{world.laureate}/milestones", data=data, headers={"Accept": "application/json"})
    assert response.status_code == 422 and response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.get_data(as_text=True))
    assert "due on or after" in body["error"] and body["status"] == 422
    assert any("due on or after" in m for m in body["fields"]["due_on"])
    assert _milestone_rows(app, world.laureate) == before


def test_moving_a_milestones_dates_wrongly_keeps_them_on_its_page(app, client, world):
    before = _milestone_rows(app, world.laureate)
    login(client, EMAILS["manager"])
    response = client.post(f"/milestones/{world.milestone}/dates", data={"starts_on": "2031-05-20", "due_on": "2031-05-02"})
    page = _text(response)
    assert response.status_code == 422 and not ERROR_PAGE.search(page) and 'data-testid="milestone"' in page
    assert "<details open" in page  # the dates form is open, not folded away
    assert 'value="2031-05-20"' in page and 'value="2031-05-02"' in page
    assert "due on or after the day it starts" in page
    assert _milestone_rows(app, world.laureate) == before


def test_an_empty_answer_keeps_the_roadmap_and_says_what_is_missing_beside_that_question(app, client, world):
    login(client, EMAILS["manager"])
    response = client.post(f"/questions/{world.question}/answer", data={"text": "   "})
    page = _text(response)
    assert response.status_code == 422 and not ERROR_PAGE.search(page) and 'data-testid="milestone-form"' in page
    question_form = page[page.index(f'action="/questions/{world.question}/answer"') :]
    assert question_form.index('data-testid="refusal-here"') < question_form.index("</form>")
    with app.app_context():
        assert db.session.get(Question, world.question).answer is None


def test_answering_an_answered_question_is_a_conflict_shown_on_the_roadmap(app, client, world):
    login(client, EMAILS["manager"])
    assert client.post(f"/questions/{world.question}/answer", data={"text": "Twelve months."}).status_code == 303
    response = client.post(f"/questions/{world.question}/answer", data={"text": "Six months, after review."})
    page = _text(response)
    assert response.status_code == 409 and not ERROR_PAGE.search(page) and 'data-testid="milestone-form"' in page
    assert "already answered" in page and "Twelve months." in page
    with app.app_context():
        assert db.session.get(Question, world.question).answer == "Twelve months."


def test_a_forgotten_criterion_is_refused_not_scored_zero(app, client):
    ids = build(app)
    application_id = apply(app, ids)
    advance(app, ids, application_id, "shortlisted")
    login(client, "evaluator@test.example")
    sheet = client.get(f"/applications/{application_id}/score").get_data(as_text=True)
    select = re.search(r'<select id="score_public_benefit".*?</select>', sheet, re.S).group(0)
    assert '<option value="">' in select and "selected" not in select  # nothing preset: the blank choice shows
    response = client.post(
        f"/applications/{application_id}/score",
        data={"score_public_benefit": "5", "score_data_protection_stakes": "4", "score_commitment_to_compliance": "", "comment": "Clear benefit."},
    )
    page = _text(response)
    assert response.status_code == 422
    beside = re.search(r'id="score_commitment_to_compliance-error">([^<]*)<', page)
    assert beside and "not counted as 0" in beside.group(1)
    assert "Clear benefit." in page and re.search(r'<option selected value="5">|<option value="5" selected', page)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Score)) == 0


def test_an_audition_time_is_typed_and_shown_in_the_users_time_zone(app, client):
    ids = build(app)
    application_id = apply(app, ids)
    advance(app, ids, application_id, "shortlisted")
    login(client, "manager@test.example")  # no time zone of their own: the configured one, Europe/Paris
    day = (utcnow() + timedelta(days=40)).date()
    summer = datetime(day.year + 1, 7, 1, 10, 0)  # Paris is UTC+2 in July
    response = client.post(f"/applications/{application_id}/audition", data={"when": summer.strftime("%Y-%m-%dT%H:%M"), "place": "Room 4"})
    assert response.status_code == 303
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.audition_at == summer - timedelta(hours=2)  # stored in UTC
        instance_id = application.instance_id
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'value="' + summer.strftime("%Y-%m-%dT%H:%M") + '"' in page  # the form shows it back as typed
    assert "10:00" in re.search(r'data-testid="audition">([^<]*)<', page).group(1)  # and the page too
    assert "Europe/Paris" in page


def test_a_refused_audition_keeps_the_place_typed(app, client):
    ids = build(app)
    application_id = apply(app, ids)
    advance(app, ids, application_id, "shortlisted")
    login(client, "manager@test.example")
    response = client.post(f"/applications/{application_id}/audition", data={"when": "", "place": "Salle du conseil"})
    page = _text(response)
    assert response.status_code == 422 and not ERROR_PAGE.search(page)
    assert 'value="Salle du conseil"' in page and 'id="when-error"' in page
    with app.app_context():
        assert db.session.get(Application, application_id).audition_at is None
        assert db.session.get(WorkflowInstance, db.session.get(Application, application_id).instance_id).status == "shortlisted"
