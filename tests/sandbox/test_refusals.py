"""Every sandbox route refuses the wrong people with a sentence, changes nothing when it refuses, and lets the right
person through (so that a refusal is never an accident of the request)."""

from __future__ import annotations

import html
import io

import pytest
import sqlalchemy as sa

from govflow.engine import utcnow
from govflow.extensions import db
from govflow.sandbox import roadmaps
from govflow.sandbox.models import Application, Axis, Milestone, ProgrammeEvaluator, Question

from ..conftest import app_with_world, login
from .common import advance, apply, build, user
from .test_sandbox_flow import PDF, counts

EMAILS = {
    "manager": "manager@test.example",
    "evaluator": "evaluator@test.example",
    "conflicted": "conflicted@test.example",
    "team": "team@test.example",
    "other_team": "other@test.example",
    "outsider": "outsider@test.example",
    "admin": "admin@test.example",
}


@pytest.fixture
def app(request, tmp_path, _pg_schema):
    """The world below, built once per test process and copied for each test that asks for it."""
    yield from app_with_world(request, tmp_path, "sandbox-refusals", _build_world)


@pytest.fixture
def world(app):
    return app.world


def _build_world(app):
    """A laureate in support with a milestone holding a file, an axis with a question; and a draft of another applicant."""
    ids = build(app)
    laureate = apply(app, ids)
    advance(app, ids, laureate, "in_support")
    draft = apply(app, ids, org="other_org", title="Event detection")
    with app.app_context():
        from govflow.instances.services import fire_transition
        from govflow.organisations.uploads import inspect_upload

        application = db.session.get(Application, laureate)
        milestone = db.session.scalar(sa.select(Milestone).where(Milestone.application_id == laureate))
        fire_transition(user(ids.team), milestone.instance, "start", {})
        row = roadmaps.attach_milestone_file(user(ids.team), milestone, PDF, inspect_upload(PDF, "dpia.pdf", 10_000))
        axis = roadmaps.axes(application)[0]
        question = roadmaps.raise_question(user(ids.team), axis, "Which retention period?")
        db.session.commit()
        ids.laureate, ids.draft, ids.milestone, ids.file, ids.axis, ids.question = laureate, draft, milestone.id, row.id, axis.id, question.id
    return ids


today = utcnow().date().isoformat()
PROGRAMME_FORM = {
    "theme_en": "Health data",
    "theme_fr": "Données de santé",
    "edition": "2027",
    "description_en": "A call on health data.",
    "description_fr": "Un appel sur les données de santé.",
    "call_opens_on": today,
    "call_closes_on": today,
    "eligibility-0-en": "Not in production",
    "eligibility-0-fr": "Pas en production",
    "grid-0-en": "Public benefit",
    "grid-0-fr": "Intérêt public",
    "grid-0-weight": "2",
    "cohort_size": "3",
    "support_months": "6",
    "axes-0-en": "Data",
    "axes-0-fr": "Données",
}

# (method, url template, form data, refused people, allowed person)
ROUTES = [
    ("get", "/programmes/new", None, ["evaluator", "team", "admin"], "manager"),
    ("post", "/programmes/new", PROGRAMME_FORM, ["evaluator", "team", "admin"], "manager"),
    ("get", "/programmes/{programme}/edit", None, ["evaluator", "team", "admin"], "manager"),
    ("post", "/programmes/{programme}/people", {"email": "outsider@test.example", "role": "evaluator"}, ["evaluator", "team", "admin"], None),
    ("get", "/programmes/{programme}/apply", None, ["evaluator", "admin"], "outsider_with_org"),
    ("get", "/applications/{draft}/edit", None, ["team", "manager", "admin"], "other_team"),
    ("post", "/applications/{draft}/edit", {"title": "Renamed", "summary": "x"}, ["team", "manager", "admin"], "other_team"),
    ("get", "/programmes/{programme}/applications", None, ["team", "outsider", "admin"], "evaluator"),
    ("post", "/applications/{laureate}/audition", {"when": "2030-01-01T10:00", "place": "Room"}, ["evaluator", "team", "admin"], None),
    ("get", "/applications/{laureate}/score", None, ["team", "outsider", "admin", "conflicted"], None),
    ("post", "/applications/{laureate}/step-aside", {"reason": "I know them"}, ["team", "outsider", "admin"], None),
    ("get", "/applications/{laureate}/roadmap", None, ["other_team", "outsider", "admin", "conflicted"], "evaluator"),
    ("post", "/applications/{laureate}/axes", {"title_en": "Security", "title_fr": "Sécurité"}, ["team", "evaluator", "other_team", "admin"], "manager"),
    ("post", "/axes/{axis}", {"title_en": "Data", "title_fr": "Données"}, ["team", "evaluator", "other_team", "admin"], "manager"),
    ("post", "/applications/{laureate}/milestones", {"title": "Workshop", "kind": "workshop"}, ["team", "evaluator", "admin"], None),
    ("post", "/milestones/{milestone}/dates", {"starts_on": today, "due_on": today}, ["team", "evaluator", "admin"], "manager"),
    ("post", "/milestones/{milestone}/files", "upload", ["evaluator", "other_team", "admin", "outsider"], "team"),
    ("get", "/milestone-files/{file}", None, ["other_team", "outsider", "admin", "conflicted"], "evaluator"),
    ("post", "/axes/{axis}/questions", {"text": "Why?"}, ["evaluator", "other_team", "admin"], "team"),
    ("post", "/questions/{question}/answer", {"text": "Because."}, ["evaluator", "other_team", "admin"], "manager"),
    ("get", "/programmes/{programme}/dashboard", None, ["evaluator", "team", "admin"], "manager"),
    ("get", "/programmes/{programme}/milestones.csv", None, ["evaluator", "team", "admin"], "manager"),
    ("get", "/programmes/{programme}/synthesis", None, ["evaluator", "team", "admin"], "manager"),
    ("post", "/programmes/{programme}/synthesis", {"text_en": "x" * 60, "text_fr": "y" * 60}, ["evaluator", "team", "admin"], None),
]


def _send(client, method, url, data):
    if data == "upload":
        return client.post(url, data={"upload": (io.BytesIO(PDF), "minutes.pdf")}, content_type="multipart/form-data")
    return client.get(url) if method == "get" else client.post(url, data=data)


@pytest.mark.parametrize("method, template, data, refused, allowed", ROUTES, ids=[f"{m} {t}" for m, t, *_ in ROUTES])
def test_the_wrong_people_are_refused_and_nothing_changes(app, client, world, method, template, data, refused, allowed):
    url = template.format(programme=world.programme, **{k: getattr(world, k) for k in ("draft", "laureate", "axis", "milestone", "file", "question")})
    before = counts(app)
    with app.app_context():
        evaluators_before = db.session.scalar(sa.select(sa.func.count()).select_from(ProgrammeEvaluator))
    for who in refused:
        login(client, EMAILS[who])
        response = _send(client, method, url, data)
        client.post("/logout")
        assert response.status_code == 403, (who, url, response.status_code)
        assert "<h1>" in response.get_data(as_text=True), "a page with a sentence, not a bare status"
    assert counts(app) == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProgrammeEvaluator)) == evaluators_before
    response = client.get(url) if method == "get" else client.post(url, data=data if isinstance(data, dict) else None)
    assert response.status_code in (302, 400) and (response.status_code == 400 or "/login" in response.headers["Location"]), "anonymous visitors sign in first"
    if allowed == "outsider_with_org":
        from govflow.organisations.services import add_member, create_organisation

        with app.app_context():
            add_member(create_organisation("Outsider Org", "company"), user(world.outsider), "officer")
            db.session.commit()
        allowed = "outsider"
    if allowed:
        login(client, EMAILS[allowed])
        response = _send(client, method, url, data)
        response.close()  # a downloaded file is streamed from disk
        assert response.status_code in (200, 302, 303), (allowed, url, response.status_code, response.get_data(as_text=True)[-600:])


def test_administrators_are_refused_a_laureates_application_roadmap_milestones_and_their_attestations(app, client, world):
    from govflow.attestations.models import Attestation

    with app.app_context():
        milestone = db.session.get(Milestone, world.milestone)
        application = db.session.get(Application, world.laureate)
        milestone_page, application_page = f"/instances/{milestone.instance_id}", f"/instances/{application.instance_id}"
        selection = db.session.scalar(sa.select(Attestation.uid).where(Attestation.instance_id == application.instance_id))
    login(client, EMAILS["admin"])
    for url in (milestone_page, application_page, f"/applications/{world.laureate}/roadmap", f"/milestone-files/{world.file}"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "dpia.pdf" not in response.get_data(as_text=True) and "Which retention period?" not in response.get_data(as_text=True)
    assert client.get(f"/attestations/{selection}.json").status_code == 200, "a laureate's selection is public"
    client.post("/logout")
    login(client, EMAILS["team"])
    assert "dpia.pdf" in client.get(milestone_page).get_data(as_text=True)


def test_a_private_milestones_attestation_is_refused_to_administrators(app, client, world):
    from govflow.attestations.models import Attestation
    from govflow.instances.services import fire_transition

    with app.app_context():
        milestone = db.session.get(Milestone, world.milestone)
        fire_transition(user(world.team), milestone.instance, "submit", {})
        fire_transition(user(world.manager), milestone.instance, "accept", {})
        db.session.commit()
        uid = db.session.scalar(sa.select(Attestation.uid).where(Attestation.instance_id == milestone.instance_id))
    login(client, EMAILS["admin"])
    assert client.get(f"/attestations/{uid}.json").status_code == 403
    assert client.get(f"/attestations/{uid}").status_code == 403
    client.post("/logout")
    login(client, EMAILS["manager"])
    assert client.get(f"/attestations/{uid}.json").status_code == 200


def test_viewing_an_application_page_takes_no_lock(app, client, world):
    from ..register.test_register import counting

    other = apply(app, world, org="other_org", title="Video analytics")
    advance(app, world, other, "audition_held", org="other_org")
    with app.app_context():
        instance_id = db.session.get(Application, other).instance_id
    login(client, EMAILS["manager"])
    with counting(app) as seen:
        page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'data-testid="fire-select"' in page  # the guard ran to offer the step
    assert not [q for q in seen if q.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")) or "FOR UPDATE" in q.upper()]


def test_a_duplicate_written_at_the_same_time_is_a_conflict_not_an_error(app, client, world, monkeypatch):
    """Two managers adding the same axis at once both compute a free key; the database's key refuses the second with a
    sentence (409), where the code expects it — and nowhere else: a duplicate nobody expected is a 500."""
    login(client, EMAILS["manager"])
    assert client.post(f"/applications/{world.laureate}/axes", data={"title_en": "Security", "title_fr": "Sécurité"}).status_code == 303
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Axis))
    monkeypatch.setattr(roadmaps, "slug_key", lambda title, taken: "security")  # as if the first had not committed yet
    again = client.post(f"/applications/{world.laureate}/axes", data={"title_en": "Security", "title_fr": "Sécurité"})
    assert again.status_code == 409 and "at the same time" in html.unescape(again.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Axis)) == before


def test_another_laureates_files_are_refused_with_a_clear_message(app, client, world):
    login(client, EMAILS["other_team"])
    response = client.get(f"/milestone-files/{world.file}")
    assert response.status_code == 403
    assert "This application's files are confidential" in html.unescape(response.get_data(as_text=True))
    assert response.headers["Content-Type"].startswith("text/html") and PDF not in response.data


def test_a_refused_upload_names_the_problem_and_stores_nothing(app, client, world):
    before = counts(app)
    login(client, EMAILS["team"])
    response = client.post(
        f"/milestones/{world.milestone}/files", data={"upload": (io.BytesIO(b"MZ\x90\x00binary"), "report.pdf")}, content_type="multipart/form-data"
    )
    assert response.status_code == 422 and "File refused" in response.get_data(as_text=True)
    assert counts(app) == before


def test_a_question_is_answered_once_over_http(app, client, world):
    login(client, EMAILS["manager"])
    assert client.post(f"/questions/{world.question}/answer", data={"text": "Twelve months."}).status_code == 303
    response = client.post(f"/questions/{world.question}/answer", data={"text": "Six months."})
    assert response.status_code == 409 and "already answered" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Question, world.question).answer == "Twelve months."


def test_the_axis_a_manager_adds_is_on_the_roadmap(app, client, world):
    login(client, EMAILS["manager"])
    assert client.post(f"/applications/{world.laureate}/axes", data={"title_en": "Security", "title_fr": "Sécurité"}).status_code == 303
    with app.app_context():
        titles = [a.title["en"] for a in db.session.scalars(sa.select(Axis).where(Axis.application_id == world.laureate).order_by(Axis.position))]
    assert titles[-1] == "Security" and len(titles) == 5
