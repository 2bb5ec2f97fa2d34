"""A refused charters form is answered on the page it came from: the sentence beside the field (or the form) it is
about, every typed value kept (a chosen file excepted, said so), the refusal's status, nothing changed; API clients
(``Accept: application/json``) get JSON.

Named after what users met: a refused evidence upload, a bad invitation address, the last officer's demotion, a move
with nothing to move to, a stale withdrawal or edit and a half-filled self-assessment each landed on a bare error page
(or a flash after a redirect) with what they had typed gone."""

from __future__ import annotations

import html
import io
import re
from datetime import datetime

import sqlalchemy as sa

from govflow.charters.models import Commitment, Evidence, SelfAssessment, Signature
from govflow.extensions import db
from govflow.organisations.models import Invitation, Membership

from ..conftest import login
from . import test_web
from .test_web import _signed, count

org_world = test_web.org_world  # the fixture: an organisation with an officer and a contributor, an outsider, a reviewer

ERROR_PAGE = re.compile(r"<h1 data-status=")  # the error page's heading
JSON = {"Accept": "application/json"}
THEMES = ["loyalty", "respect", "transparency", "fairness", "control", "safety"]


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _here(page: str) -> str:
    """The sentence shown beside a hand-written form (``here()`` of _macros.html)."""
    found = re.search(r'data-testid="refusal-here">([^<]*)<', page)
    assert found, "no sentence beside the form"
    return found.group(1)


def _field_error(page: str, field_id: str) -> str:
    found = re.search(rf'id="{re.escape(field_id)}-error">([^<]*)<', page)
    assert found, f"no message next to {field_id}"
    return found.group(1)


def _form_error(page: str) -> str:
    found = re.search(r'data-testid="form-error">([^<]*)<', page)
    assert found, "no message at the top of the form"
    return found.group(1)


def _json_refusal(response, status: int) -> dict:
    assert response.status_code == status and response.is_json, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] and body["status"] == status
    return body


def _evidence(client, commitment_id: int, data: dict, headers=None):
    return client.post(f"/commitments/{commitment_id}/evidence", data=data, content_type="multipart/form-data", headers=headers or {})


# -- evidence (a hand-written form on the commitment's page) -------------------------------------------------------
def test_a_refused_evidence_upload_keeps_the_page_the_url_and_the_description(app, client, org_world):
    _, commitment_id, _ = _signed(app, client, org_world)
    data = {"upload": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 200), "report.pdf"), "url": "https://example.org/minutes", "description": "Board minutes of May"}
    response = _evidence(client, commitment_id, data)
    page = _text(response)
    assert response.status_code == 422
    assert not ERROR_PAGE.search(page) and 'data-testid="commitment"' in page  # the commitment's own page
    assert "not a PDF" in _here(page)
    assert 'value="https://example.org/minutes"' in page and 'value="Board minutes of May"' in page
    assert 'data-testid="error-summary"' in page and "a chosen file must be chosen again" in page
    assert count(app, Evidence) == 0
    data["upload"] = (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 200), "report.pdf")
    assert "not a PDF" in _json_refusal(_evidence(client, commitment_id, data, JSON), 422)["error"]
    assert count(app, Evidence) == 0


def test_a_malformed_evidence_address_is_refused_beside_the_evidence_form_with_the_description_kept(app, client, org_world):
    _, commitment_id, _ = _signed(app, client, org_world)
    data = {"url": "ftp://example.org/minutes", "description": "Board minutes of May"}
    response = _evidence(client, commitment_id, data)
    page = _text(response)
    assert response.status_code == 422 and not ERROR_PAGE.search(page) and 'data-testid="commitment"' in page
    assert "web address" in _here(page)
    assert 'value="ftp://example.org/minutes"' in page and 'value="Board minutes of May"' in page
    assert count(app, Evidence) == 0
    _json_refusal(_evidence(client, commitment_id, data, JSON), 422)
    assert count(app, Evidence) == 0


# -- members (the organisation's page) ------------------------------------------------------------------------------
def _invitations(app) -> int:
    return count(app, Invitation)


def test_an_invitation_to_a_malformed_address_keeps_the_organisation_page_and_the_typed_address(app, client, org_world):
    login(client, org_world.officer.email)
    url = f"/organisations/{org_world.org.id}/members"
    response = client.post(url, data={"email": "jane.doe-at-example.org", "role": "officer"})
    page = _text(response)
    assert response.status_code == 422
    assert not ERROR_PAGE.search(page) and 'data-testid="invite-form"' in page and "<h1>Acme Data</h1>" in page
    assert "e-mail address" in _field_error(page, "email")
    assert 'value="jane.doe-at-example.org"' in page
    assert re.search(r'<option selected value="officer">|<option value="officer" selected>', page), "the chosen role is kept"
    empty = client.post(url, data={"email": "", "role": "contributor"})
    assert empty.status_code == 422 and _field_error(_text(empty), "email") and 'data-testid="invite-form"' in _text(empty)
    body = _json_refusal(client.post(url, data={"email": "jane.doe-at-example.org", "role": "officer"}, headers=JSON), 422)
    assert "email" in body["fields"]
    assert _invitations(app) == 0


def test_demoting_the_last_officer_is_refused_beside_that_members_role_form(app, client, org_world):
    login(client, org_world.officer.email)
    url = f"/organisations/{org_world.org.id}/members/{org_world.officer.id}"
    response = client.post(url, data={"role": "contributor"})
    page = _text(response)
    assert response.status_code == 422 and not ERROR_PAGE.search(page) and "<h1>Acme Data</h1>" in page
    form = re.search(rf'<form[^>]*data-member="{org_world.officer.id}".*?</form>', page, re.S).group(0)
    assert "at least one officer" in _here(form)
    assert re.search(r'<option value="contributor" selected>', form), "the role chosen is kept in that member's form"
    assert 'aria-invalid="true"' in form
    other = re.search(rf'<form[^>]*data-member="{org_world.contributor.id}".*?</form>', page, re.S).group(0)
    assert 'data-testid="refusal-here"' not in other and '<option value="contributor" selected>' in other
    assert "at least one officer" in _json_refusal(client.post(url, data={"role": "contributor"}, headers=JSON), 422)["error"]
    with app.app_context():
        assert db.session.get(Membership, (org_world.officer.id, org_world.org.id)).role == "officer"


def test_an_unknown_member_role_is_refused_on_the_organisation_page_not_an_error_page(app, client, org_world):
    login(client, org_world.officer.email)
    url = f"/organisations/{org_world.org.id}/members/{org_world.contributor.id}"
    response = client.post(url, data={"role": "owner"})
    page = _text(response)
    assert response.status_code == 422 and not ERROR_PAGE.search(page) and "<h1>Acme Data</h1>" in page
    form = re.search(rf'<form[^>]*data-member="{org_world.contributor.id}".*?</form>', page, re.S).group(0)
    assert "roles offered" in _here(form)
    _json_refusal(client.post(url, data={"role": "owner"}, headers=JSON), 422)
    with app.app_context():
        assert db.session.get(Membership, (org_world.contributor.id, org_world.org.id)).role == "contributor"


def test_answering_an_invitation_already_answered_or_with_a_tampered_answer_stays_on_the_dashboard(app, client, org_world):
    login(client, org_world.officer.email)
    assert client.post(f"/organisations/{org_world.org.id}/members", data={"email": org_world.outsider.email, "role": "contributor"}).status_code == 303
    with app.app_context():
        invitation_id = db.session.scalars(sa.select(Invitation)).one().id
    client.post("/logout")
    login(client, org_world.outsider.email)
    tampered = client.post(f"/invitations/{invitation_id}", data={"answer": "maybe"})
    page = _text(tampered)
    assert tampered.status_code == 422 and not ERROR_PAGE.search(page) and 'data-testid="my-invitations"' in page
    assert "Accept or decline" in _here(page)
    _json_refusal(client.post(f"/invitations/{invitation_id}", data={"answer": "maybe"}, headers=JSON), 422)
    assert client.post(f"/invitations/{invitation_id}", data={"answer": "accept"}).status_code == 303
    again = client.post(f"/invitations/{invitation_id}", data={"answer": "decline"})
    page = _text(again)
    assert again.status_code == 409 and not ERROR_PAGE.search(page) and 'data-testid="error-summary"' in page
    assert "already answered" in page and "Waiting on you" in page  # the dashboard
    assert "already answered" in _json_refusal(client.post(f"/invitations/{invitation_id}", data={"answer": "decline"}, headers=JSON), 409)["error"]
    with app.app_context():
        assert db.session.get(Membership, (org_world.outsider.id, org_world.org.id)).role == "contributor", "accepted once, not declined after"


# -- signatures --------------------------------------------------------------------------------------------------------
def test_moving_with_no_newer_version_is_refused_on_the_organisation_page(app, client, org_world):
    signature_id, _, _ = _signed(app, client, org_world)
    response = client.post(f"/signatures/{signature_id}/move")
    page = _text(response)
    assert response.status_code == 422
    assert not ERROR_PAGE.search(page) and "<h1>Acme Data</h1>" in page and 'data-testid="commitments"' in page
    assert 'data-testid="error-summary"' in page and "newer version" in page
    _json_refusal(client.post(f"/signatures/{signature_id}/move", headers=JSON), 422)
    assert count(app, Signature) == 1
    with app.app_context():
        assert db.session.get(Signature, signature_id).superseded_by_id is None


def test_a_withdrawal_sent_after_another_officers_keeps_the_typed_reason(app, client, org_world):
    signature_id, _, _ = _signed(app, client, org_world)
    assert client.post(f"/signatures/{signature_id}/withdraw", data={"reason": "We stopped our AI activity.", "confirm": "y"}).status_code == 302
    with app.app_context():
        withdrawn_at = db.session.get(Signature, signature_id).withdrawn_at
    late = {"reason": "Our board decided to leave the manifesto.", "confirm": "y"}
    response = client.post(f"/signatures/{signature_id}/withdraw", data=late)
    page = _text(response)
    assert response.status_code == 409
    assert not ERROR_PAGE.search(page) and 'data-testid="withdraw-submit"' in page
    assert "already withdrawn" in _form_error(page)
    assert "Our board decided to leave the manifesto.</textarea>" in page
    assert "already withdrawn" in _json_refusal(client.post(f"/signatures/{signature_id}/withdraw", data=late, headers=JSON), 409)["error"]
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert (signature.withdrawn_at, signature.withdrawal_reason) == (withdrawn_at, "We stopped our AI activity.")
    assert client.get(f"/signatures/{signature_id}/withdraw").status_code == 409, "the page itself is not offered any more"


def test_a_withdrawal_without_a_reason_says_so_next_to_the_reason(app, client, org_world):
    signature_id, _, _ = _signed(app, client, org_world)
    response = client.post(f"/signatures/{signature_id}/withdraw", data={"reason": "   ", "confirm": "y"})
    page = _text(response)
    assert response.status_code == 422 and not ERROR_PAGE.search(page) and 'data-testid="withdraw-submit"' in page
    assert _field_error(page, "reason")
    assert re.search(r'id="confirm"[^>]*checked|checked[^>]*id="confirm"', page), "the confirmation stays ticked"
    _json_refusal(client.post(f"/signatures/{signature_id}/withdraw", data={"reason": "   ", "confirm": "y"}, headers=JSON), 422)
    with app.app_context():
        assert db.session.get(Signature, signature_id).withdrawn_at is None


# -- commitments -----------------------------------------------------------------------------------------------------
def test_editing_a_commitment_declared_meanwhile_keeps_the_typed_statement(app, client, org_world):
    _, commitment_id, instance_id = _signed(app, client, org_world)
    statement = "Review each model with the guide's six themes."
    assert client.post(f"/commitments/{commitment_id}/edit", data={"pillar": "faire", "statement": statement}).status_code == 302
    assert client.post(f"/instances/{instance_id}/fire/declare", data={"declare-expected_version": "1", "declare-confirm": "y"}).status_code == 302
    late = {"pillar": "faire", "statement": "Review every model twice a year with an outside reviewer."}
    response = client.post(f"/commitments/{commitment_id}/edit", data=late)
    page = _text(response)
    assert response.status_code == 409
    assert not ERROR_PAGE.search(page) and 'data-testid="save-commitment"' in page
    assert "Only a draft commitment" in _form_error(page)
    assert "Review every model twice a year with an outside reviewer.</textarea>" in page
    _json_refusal(client.post(f"/commitments/{commitment_id}/edit", data=late, headers=JSON), 409)
    with app.app_context():
        assert db.session.get(Commitment, commitment_id).statement == statement


def test_a_commitment_owner_outside_the_organisation_is_refused_next_to_the_owner(app, client, org_world):
    _, commitment_id, _ = _signed(app, client, org_world)
    data = {"pillar": "faire", "statement": "Review each model with the guide's six themes.", "owner_id": str(org_world.outsider.id)}
    response = client.post(f"/commitments/{commitment_id}/edit", data=data)
    page = _text(response)
    # Not offered by the select: the form itself refuses it, next to the owner.
    assert response.status_code == 422 and not ERROR_PAGE.search(page) and 'data-testid="save-commitment"' in page
    assert _field_error(page, "owner_id")
    assert "Review each model with the guide's six themes.</textarea>" in page
    assert "owner_id" in _json_refusal(client.post(f"/commitments/{commitment_id}/edit", data=data, headers=JSON), 422)["fields"]
    with app.app_context():
        assert db.session.get(Commitment, commitment_id).statement == ""


# -- self-assessment -------------------------------------------------------------------------------------------------
def test_a_self_assessment_missing_a_justification_says_so_beside_that_theme_and_keeps_the_levels(app, client, org_world):
    signature_id, _, _ = _signed(app, client, org_world)
    year = str(datetime.now().year)
    data = {**{f"level_{t}": "3" for t in THEMES}, "level_safety": "", "nc_safety": "y", "why_control": "Reviewed by our DPO.", "year": year}
    response = client.post(f"/signatures/{signature_id}/assessment", data=data)
    page = _text(response)
    assert response.status_code == 422 and not ERROR_PAGE.search(page) and 'data-theme="safety"' in page
    assert "Say why" in _field_error(page, "why_safety")
    assert page.count('<option selected value="3">') + page.count('<option value="3" selected>') == 5, "the levels given are kept"
    assert "Reviewed by our DPO.</textarea>" in page
    body = _json_refusal(client.post(f"/signatures/{signature_id}/assessment", data=data, headers=JSON), 422)
    assert "why_safety" in body["fields"]
    assert count(app, SelfAssessment) == 0
