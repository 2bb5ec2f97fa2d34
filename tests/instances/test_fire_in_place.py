"""A refused step is answered in place: the instance page again, what was typed kept, the sentence beside its field
(or at the top of the step's form), under the refusal's status; JSON clients get the sentence as JSON. Nothing changes."""

from __future__ import annotations

import html
import re

from govflow.engine import Refused

from ..conftest import instance_state, login


def post(client, instance_id, trigger, fields, **headers):
    data = {f"{trigger}-{name}": value for name, value in fields.items()}
    return client.post(f"/instances/{instance_id}/fire/{trigger}", data=data, headers=headers)


def step_form(page: str, trigger: str) -> str:
    """The HTML of the form of step ``trigger`` on an instance page."""
    found = re.search(rf'<form [^>]*data-trigger="{trigger}".*?</form>', page, re.S)
    assert found, page
    return found[0]


def test_a_refused_step_keeps_the_typed_comment(app, client, people, make_commitment):
    vague = make_commitment(people.officer, people.org, statement="Be good.")
    login(client, people.officer.email)
    before = instance_state(app, vague.instance_id)
    response = post(client, vague.instance_id, "declare", {"expected_version": "1", "comment": "Ready for the committee.", "confirm": "y"})
    assert response.status_code == 422
    assert instance_state(app, vague.instance_id) == before == ("draft", 1, 1)
    form = html.unescape(step_form(response.get_data(as_text=True), "declare"))
    assert "Ready for the committee.</textarea>" in form, "the typed comment is kept"
    assert re.search(r'data-testid="form-error">[^<]*at least 20 characters', form), "the guard's sentence tops the step's form"
    assert 'data-testid="error-summary"' in response.get_data(as_text=True)


def test_a_malformed_web_address_is_refused_beside_its_field_with_what_was_typed(app, client, people, make_commitment):
    declared = make_commitment(people.officer, people.org, steps=[("declare", None, {})])
    login(client, people.officer.email)
    response = post(client, declared.instance_id, "add_evidence", {"expected_version": "2", "evidence_url": "javascript:alert(1)", "comment": "Our policy."})
    assert response.status_code == 422
    assert instance_state(app, declared.instance_id) == ("declared", 2, 2)
    form = html.unescape(step_form(response.get_data(as_text=True), "add_evidence"))
    assert 'id="add_evidence-evidence_url-error"' in form, "the engine's MissingInput names the field: its sentence is beside it"
    assert 'value="javascript:alert(1)"' in form and "Our policy.</textarea>" in form
    assert 'data-testid="form-error"' not in form


def test_a_missing_reason_is_marked_beside_the_reason_and_the_other_steps_stay_blank(app, client, people, make_commitment):
    draft = make_commitment(people.officer, people.org)
    login(client, people.officer.email)
    response = post(client, draft.instance_id, "withdraw", {"expected_version": "1", "comment": "We stop.", "confirm": "y"})
    assert response.status_code == 422
    assert instance_state(app, draft.instance_id) == ("draft", 1, 1)
    page = html.unescape(response.get_data(as_text=True))
    withdraw = step_form(page, "withdraw")
    assert 'id="withdraw-reason-error"' in withdraw and "We stop.</textarea>" in withdraw
    assert re.search(r'<input checked [^>]*name="withdraw-confirm"', withdraw), "the ticked box stays ticked"
    declare = step_form(page, "declare")
    assert "field-error" not in declare and "We stop." not in declare


def test_a_service_refusal_about_a_field_is_shown_beside_it(app, client, people, make_commitment, monkeypatch):
    draft = make_commitment(people.officer, people.org)

    def refuse(*_args, **_kwargs):
        raise Refused("This comment names a person: remove the name.", field="comment")

    monkeypatch.setattr("govflow.instances.views.fire_transition", refuse)
    login(client, people.officer.email)
    response = post(client, draft.instance_id, "declare", {"expected_version": "1", "comment": "Thanks to Jane Doe.", "confirm": "y"})
    assert response.status_code == 422
    form = html.unescape(step_form(response.get_data(as_text=True), "declare"))
    assert re.search(r'id="declare-comment-error"[^>]*>This comment names a person', form)
    assert "Thanks to Jane Doe.</textarea>" in form
    assert instance_state(app, draft.instance_id) == ("draft", 1, 1)


def test_a_stale_form_is_refused_with_409_and_keeps_the_typed_reason(app, client, people, make_commitment):
    draft = make_commitment(people.officer, people.org)
    login(client, people.officer.email)
    assert post(client, draft.instance_id, "declare", {"expected_version": "1", "confirm": "y"}).status_code == 302
    response = post(client, draft.instance_id, "withdraw", {"expected_version": "1", "reason": "The project stopped.", "confirm": "y"})
    assert response.status_code == 409
    assert instance_state(app, draft.instance_id) == ("declared", 2, 2)
    page = html.unescape(response.get_data(as_text=True))
    assert "Someone else changed this item" in step_form(page, "withdraw")
    assert "The project stopped.</textarea>" in step_form(page, "withdraw")


def test_a_step_not_open_to_the_user_is_refused_with_403(app, client, people, make_commitment):
    evidenced = make_commitment(
        people.officer, people.org, steps=[("declare", None, {}), ("add_evidence", None, {"evidence_url": "https://org-a.example/report"})]
    )
    login(client, people.reviewer.email)
    response = post(client, evidenced.instance_id, "withdraw", {"expected_version": "3", "reason": "Not mine to withdraw.", "confirm": "y"})
    assert response.status_code == 403
    assert "not allowed to take this step" in response.get_data(as_text=True)
    assert instance_state(app, evidenced.instance_id) == ("evidenced", 3, 3)


def test_a_step_impossible_from_the_state_is_refused_with_409(app, client, people, make_commitment):
    draft = make_commitment(people.officer, people.org)
    login(client, people.officer.email)
    response = post(client, draft.instance_id, "add_evidence", {"expected_version": "1", "evidence_url": "https://a.example/x"})
    assert response.status_code == 409
    assert "not possible from the current state" in response.get_data(as_text=True)
    assert instance_state(app, draft.instance_id) == ("draft", 1, 1)


def test_a_json_client_gets_the_refusal_as_json(app, client, people, make_commitment):
    vague = make_commitment(people.officer, people.org, statement="Be good.")
    login(client, people.officer.email)
    accept = {"Accept": "application/json"}
    response = post(client, vague.instance_id, "declare", {"expected_version": "1", "confirm": "y"}, **accept)
    assert response.status_code == 422 and response.is_json
    assert "at least 20 characters" in response.json["error"] and response.json["status"] == 422
    invalid = post(client, vague.instance_id, "withdraw", {"expected_version": "1", "confirm": "y"}, **accept)
    assert invalid.status_code == 422 and invalid.json["error"] and "reason" in invalid.json["fields"]
    assert instance_state(app, vague.instance_id) == ("draft", 1, 1)
