"""Firing transitions through the web: what changes in the database, and clear refusals that change nothing."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from govflow.extensions import db
from govflow.instances.models import InstanceHistory, WorkflowInstance

from ..conftest import instance_state, login

EVIDENCE = {"declared": [("declare", None, {})]}


@pytest.fixture
def world(make_user, make_org, make_commitment):
    """Two organisations with one officer each, an independent committee member, and a member of org A's committee."""
    officer_a = make_user(name="Officer A")
    officer_b = make_user(name="Officer B")
    reviewer = make_user(roles=("committee_member",), name="Independent Reviewer")
    insider = make_user(roles=("committee_member",), name="Insider Reviewer")
    org_a = make_org([(officer_a, "officer"), (insider, "contributor")], name="Org A")
    org_b = make_org([(officer_b, "officer")], name="Org B")
    draft = make_commitment(officer_a, org_a)
    evidenced = make_commitment(officer_a, org_a, steps=[("declare", None, {}), ("add_evidence", None, {"evidence_url": "https://org-a.example/report"})])
    return type(
        "World",
        (),
        dict(officer_a=officer_a, officer_b=officer_b, reviewer=reviewer, insider=insider, org_a=org_a, org_b=org_b, draft=draft, evidenced=evidenced),
    )


def fire(client, instance_id, trigger, version, confirm=True, **inputs):
    """Post the ``trigger`` form as a browser would, its confirmation box ticked unless ``confirm`` is false."""
    data = {f"{trigger}-expected_version": str(version)}
    if confirm:
        data[f"{trigger}-confirm"] = "y"
    data.update({f"{trigger}-{k}": v for k, v in inputs.items()})
    return client.post(f"/instances/{instance_id}/fire/{trigger}", data=data)


def test_an_officer_moves_a_commitment_one_step_and_sees_history_and_new_buttons(app, client, world):
    login(client, world.officer_a.email)
    page = client.get(f"/instances/{world.draft.instance_id}").get_data(as_text=True)
    assert 'data-testid="fire-declare"' in page
    response = fire(client, world.draft.instance_id, "declare", 1, comment="Ready for review.")
    assert response.status_code == 302
    assert instance_state(app, world.draft.instance_id) == ("declared", 2, 2)
    with app.app_context():
        row = db.session.scalars(
            sa.select(InstanceHistory).where(InstanceHistory.instance_id == world.draft.instance_id).order_by(InstanceHistory.id.desc())
        ).first()
        assert (row.kind, row.trigger, row.from_state, row.to_state) == ("transition", "declare", "draft", "declared")
        assert (row.actor_id, row.comment, row.definition_version) == (world.officer_a.id, "Ready for review.", 1)
    page = client.get(f"/instances/{world.draft.instance_id}").get_data(as_text=True)
    assert 'data-testid="fire-add_evidence"' in page and 'data-testid="fire-withdraw"' in page
    assert 'data-testid="fire-declare"' not in page
    assert "Ready for review." in page


def test_another_organisations_signatory_can_neither_see_nor_move_the_commitment(app, client, world):
    login(client, world.officer_b.email)
    assert client.get(f"/instances/{world.draft.instance_id}").status_code == 403
    response = fire(client, world.draft.instance_id, "declare", 1)
    assert response.status_code == 403
    assert instance_state(app, world.draft.instance_id) == ("draft", 1, 1)


def test_a_reviewer_who_may_see_but_not_take_a_step_is_refused_with_403(app, client, world):
    login(client, world.reviewer.email)
    assert client.get(f"/instances/{world.evidenced.instance_id}").status_code == 200
    response = fire(client, world.evidenced.instance_id, "withdraw", 3)
    assert response.status_code == 403
    assert "not allowed to take this step" in response.get_data(as_text=True)
    assert instance_state(app, world.evidenced.instance_id) == ("evidenced", 3, 3)


def test_a_draft_commitment_is_its_organisations_until_declared_reviewers_included(app, client, world):
    login(client, world.reviewer.email)
    assert client.get(f"/instances/{world.draft.instance_id}").status_code == 403
    assert fire(client, world.draft.instance_id, "declare", 1).status_code == 403
    assert instance_state(app, world.draft.instance_id) == ("draft", 1, 1)


def test_an_independent_reviewer_verifies_and_the_renewal_deadline_is_set(app, client, world):
    login(client, world.reviewer.email)
    assert fire(client, world.evidenced.instance_id, "verify", 3).status_code == 302
    with app.app_context():
        instance = db.session.get(WorkflowInstance, world.evidenced.instance_id)
        assert (instance.status, instance.due_trigger) == ("verified", "renewal_falls_due")
        assert 360 <= (instance.due_at - instance.updated_at).days <= 366


def test_a_reviewer_from_the_organisation_is_refused_by_the_independence_guard(app, client, world):
    login(client, world.insider.email)
    response = fire(client, world.evidenced.instance_id, "verify", 3)
    assert response.status_code == 422
    assert "someone independent" in response.get_data(as_text=True)
    assert instance_state(app, world.evidenced.instance_id) == ("evidenced", 3, 3)


def test_evidence_is_required_before_a_commitment_becomes_evidenced(app, client, world, make_commitment):
    declared = make_commitment(world.officer_a, world.org_a, steps=[("declare", None, {})])
    login(client, world.officer_a.email)
    missing = fire(client, declared.instance_id, "add_evidence", 2)
    assert missing.status_code == 422
    bad = fire(client, declared.instance_id, "add_evidence", 2, evidence_url="javascript:alert(1)")
    assert bad.status_code == 422
    assert instance_state(app, declared.instance_id) == ("declared", 2, 2)
    ok = fire(client, declared.instance_id, "add_evidence", 2, evidence_url="https://org-a.example/policy")
    assert ok.status_code == 302
    assert instance_state(app, declared.instance_id) == ("evidenced", 3, 3)


def test_a_statement_too_short_to_declare_is_refused_with_the_guard_reason(app, client, world, make_commitment):
    vague = make_commitment(world.officer_a, world.org_a, statement="Be good.")
    login(client, world.officer_a.email)
    response = fire(client, vague.instance_id, "declare", 1)
    assert response.status_code == 422
    assert "at least 20 characters" in response.get_data(as_text=True)
    assert instance_state(app, vague.instance_id) == ("draft", 1, 1)


def test_a_step_from_a_page_opened_before_someone_else_moved_the_item_is_a_409(app, client, world):
    login(client, world.officer_a.email)
    assert fire(client, world.draft.instance_id, "declare", 1).status_code == 302
    stale = fire(client, world.draft.instance_id, "withdraw", 1, reason="Changed our mind.")
    assert stale.status_code == 409
    assert "Nothing was overwritten" in stale.get_data(as_text=True)
    assert instance_state(app, world.draft.instance_id) == ("declared", 2, 2)


def test_a_step_not_possible_from_the_current_state_is_a_409(app, client, world):
    login(client, world.officer_a.email)
    response = fire(client, world.draft.instance_id, "add_evidence", 1, evidence_url="https://a.example/x")
    assert response.status_code == 409
    assert instance_state(app, world.draft.instance_id) == ("draft", 1, 1)


def test_withdrawal_needs_a_reason_and_is_final(app, client, world):
    login(client, world.officer_a.email)
    assert fire(client, world.draft.instance_id, "withdraw", 1).status_code == 422
    assert instance_state(app, world.draft.instance_id) == ("draft", 1, 1)
    assert fire(client, world.draft.instance_id, "withdraw", 1, reason="The project stopped.").status_code == 302
    page = client.get(f"/instances/{world.draft.instance_id}").get_data(as_text=True)
    assert 'data-testid="no-actions"' in page and "The project stopped." in page


def test_anonymous_visitors_cannot_fire_anything(app, client, world):
    response = fire(client, world.draft.instance_id, "declare", 1)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert instance_state(app, world.draft.instance_id) == ("draft", 1, 1)


def test_the_dashboard_lists_what_waits_on_each_user(app, client, world):
    login(client, world.officer_a.email)
    page = client.get("/dashboard").get_data(as_text=True)
    assert f"/instances/{world.draft.instance_id}" in page
    assert f"/instances/{world.evidenced.instance_id}" not in page
    client.post("/logout")
    login(client, world.reviewer.email)
    page = client.get("/dashboard").get_data(as_text=True)
    assert f"/instances/{world.evidenced.instance_id}" in page
    assert f"/instances/{world.draft.instance_id}" not in page
    client.post("/logout")
    login(client, world.officer_b.email)
    assert "Nothing is waiting on you right now." in client.get("/dashboard").get_data(as_text=True)


def test_the_dashboard_paginates(app, client, world, make_commitment):
    for _ in range(25):
        make_commitment(world.officer_a, world.org_a)
    login(client, world.officer_a.email)
    first = client.get("/dashboard").get_data(as_text=True)
    second = client.get("/dashboard?page=2").get_data(as_text=True)
    total = int(re.search(r"(\d+) items wait on a step you can take", first).group(1))
    assert total > 20
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert len(re.findall(r'href="/instances/\d+"', first)) == 20, "one link per item (a draft's steps link to its parts)"
    assert len(re.findall(r'href="/instances/\d+"', second)) == total - 20


def test_a_missing_instance_is_a_404(client, world):
    login(client, world.officer_a.email)
    assert client.get("/instances/999999").status_code == 404


def test_the_definition_page_lists_states_transitions_and_live_counts(app, client, world):
    page = client.get("/workflows/commitment").get_data(as_text=True)
    assert "renewal_falls_due" in page and "independent_of_organisation" in page
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(WorkflowInstance).where(WorkflowInstance.workflow == "commitment"))
    assert count >= 2 and f"{count} instances" in page
    assert client.get("/workflows/commitment/v9").status_code == 404
    assert client.get("/workflows/nothing").status_code == 404
