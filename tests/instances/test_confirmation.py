"""Every step that signs an attestation (or revokes one) or reaches a final state asks for an explicit confirmation in
its form, worded for what it is; the server refuses the step without it, in place, and nothing changes."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from govflow.attestations.models import Attestation
from govflow.extensions import db
from govflow.instances.forms import needs_confirmation, transition_form
from govflow.instances.services import get_engine, get_registry

from ..conftest import instance_state, login

SIGNED = "I confirm: this act is signed and recorded publicly."
FINAL = "I confirm: this step is final and cannot be undone."
SIGNED_AND_FINAL = "I confirm: this act is signed, recorded publicly, and cannot be undone."


@pytest.fixture
def evidenced(people, make_commitment):
    return make_commitment(people.officer, people.org, steps=[("declare", None, {}), ("add_evidence", None, {"evidence_url": "https://org-a.example/report"})])


def step_form(page: str, trigger: str) -> str:
    found = re.search(rf'<form [^>]*data-trigger="{trigger}".*?</form>', page, re.S)
    assert found, page
    return html.unescape(found[0])


def attestations(app, instance_id: int) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Attestation).where(Attestation.instance_id == instance_id))


def test_verifying_a_commitment_asks_for_confirmation_and_changes_nothing_without_it(app, client, people, evidenced):
    login(client, people.reviewer.email)
    form = step_form(client.get(f"/instances/{evidenced.instance_id}").get_data(as_text=True), "verify")
    assert 'type="checkbox"' in form and 'name="verify-confirm"' in form and SIGNED in form
    before = (instance_state(app, evidenced.instance_id), attestations(app, evidenced.instance_id))
    assert before[0] == ("evidenced", 3, 3)

    response = client.post(f"/instances/{evidenced.instance_id}/fire/verify", data={"verify-expected_version": "3", "verify-comment": "Checked the report."})
    assert response.status_code == 422
    assert (instance_state(app, evidenced.instance_id), attestations(app, evidenced.instance_id)) == before, "nothing changed"
    form = step_form(response.get_data(as_text=True), "verify")
    assert re.search(r'id="verify-confirm-error"[^>]*>Tick the box to confirm this signed act\.', form), "the message is beside the box"
    assert 'aria-describedby="verify-confirm-error"' in form
    assert "Checked the report.</textarea>" in form, "the typed comment is kept"

    done = client.post(
        f"/instances/{evidenced.instance_id}/fire/verify", data={"verify-expected_version": "3", "verify-comment": "Checked the report.", "verify-confirm": "y"}
    )
    assert done.status_code == 302
    assert instance_state(app, evidenced.instance_id) == ("verified", 4, 4)
    assert attestations(app, evidenced.instance_id) == before[1] + 1


def test_declaring_a_commitment_asks_for_confirmation(app, client, people, make_commitment):
    draft = make_commitment(people.officer, people.org)
    login(client, people.officer.email)
    page = client.get(f"/instances/{draft.instance_id}").get_data(as_text=True)
    assert SIGNED in step_form(page, "declare")
    refused = client.post(f"/instances/{draft.instance_id}/fire/declare", data={"declare-expected_version": "1"})
    assert refused.status_code == 422
    assert instance_state(app, draft.instance_id) == ("draft", 1, 1) and attestations(app, draft.instance_id) == 0
    assert "Tick the box to confirm this signed act." in refused.get_data(as_text=True)


def test_withdrawing_a_commitment_is_worded_as_public_and_final(app, client, people, make_commitment):
    draft = make_commitment(people.officer, people.org)
    login(client, people.officer.email)
    page = client.get(f"/instances/{draft.instance_id}").get_data(as_text=True)
    assert SIGNED_AND_FINAL in step_form(page, "withdraw")
    refused = client.post(f"/instances/{draft.instance_id}/fire/withdraw", data={"withdraw-expected_version": "1", "withdraw-reason": "The project stopped."})
    assert refused.status_code == 422
    assert instance_state(app, draft.instance_id) == ("draft", 1, 1)
    form = step_form(refused.get_data(as_text=True), "withdraw")
    assert "Tick the box to confirm this signed, final act." in form and "The project stopped.</textarea>" in form


def test_a_step_that_signs_nothing_asks_no_confirmation(app, client, people, make_commitment):
    declared = make_commitment(people.officer, people.org, steps=[("declare", None, {})])
    login(client, people.officer.email)
    form = step_form(client.get(f"/instances/{declared.instance_id}").get_data(as_text=True), "add_evidence")
    assert "confirm" not in form.replace("data-confirm", "")
    done = client.post(
        f"/instances/{declared.instance_id}/fire/add_evidence", data={"add_evidence-expected_version": "2", "add_evidence-evidence_url": "https://a.example/x"}
    )
    assert done.status_code == 302 and instance_state(app, declared.instance_id) == ("evidenced", 3, 3)


def test_a_json_client_is_told_which_field_is_missing(app, client, people, evidenced):
    login(client, people.reviewer.email)
    response = client.post(f"/instances/{evidenced.instance_id}/fire/verify", data={"verify-expected_version": "3"}, headers={"Accept": "application/json"})
    assert response.status_code == 422 and response.json["error"]
    assert response.json["fields"]["confirm"] == ["Tick the box to confirm this signed act."]
    assert instance_state(app, evidenced.instance_id) == ("evidenced", 3, 3)


@pytest.mark.parametrize(
    ("workflow", "trigger", "wording"),
    [
        ("commitment", "verify", SIGNED),
        ("commitment", "declare", SIGNED),
        ("commitment", "withdraw", SIGNED_AND_FINAL),
        ("application", "select", SIGNED),
        ("referral", "record_favourable", SIGNED),
        ("referral", "record_with_conditions", SIGNED),
        ("referral", "close", FINAL),
        ("milestone", "accept", SIGNED_AND_FINAL),
    ],
)
def test_selecting_a_laureate_recording_a_decision_and_other_signed_or_final_steps_ask_for_it(app, workflow, trigger, wording):
    with app.test_request_context():
        d = get_engine().definition(workflow, None)
        transition = next(t for t in d.transitions if t.trigger == trigger)
        assert needs_confirmation(transition, d)
        form = transition_form(transition, get_registry().inputs, d, formdata=None, expected_version=1)
        assert form.confirms and str(form.confirm.label.text) == wording and form.confirm.flags.required


def test_every_loaded_definition_asks_confirmation_exactly_for_its_signed_or_final_steps(app):
    with app.test_request_context():
        for d in get_engine().definitions():
            for t in d.transitions:
                expected = t.attest or t.revoke or d.states[t.dest].final
                assert needs_confirmation(t, d) == expected, (d.name, t.trigger)
                form = transition_form(t, get_registry().inputs, d, formdata=None, expected_version=1)
                assert ("confirm" in form) == expected, (d.name, t.trigger)
        commitment = get_engine().definition("commitment", None)
        unsigned = [t.trigger for t in commitment.transitions if not needs_confirmation(t, commitment)]
        assert unsigned == ["add_evidence", "request_changes", "renewal_falls_due", "suspend", "reinstate"]
