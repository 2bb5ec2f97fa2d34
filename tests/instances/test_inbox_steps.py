"""The inbox offers the steps a person really takes on an item: on a draft commitment, describe it and declare it, not
only withdraw it (each domain supplies its links through ``Subject.inbox_links``)."""

from __future__ import annotations

import html
import re

from ..conftest import instance_state, login


def inbox_row(page: str, instance_id: int) -> str:
    found = re.search(rf'<tr>\s*<td><a href="/instances/{instance_id}">.*?</tr>', page, re.S)
    assert found, page
    return html.unescape(found[0])


def test_a_draft_commitment_in_the_inbox_offers_to_describe_and_declare_it(app, client, make_user, make_org, make_commitment):
    officer = make_user(name="Officer A")
    org = make_org([(officer, "officer")], name="Org A")
    draft = make_commitment(officer, org, statement="")
    login(client, officer.email)
    row = inbox_row(client.get("/dashboard").get_data(as_text=True), draft.instance_id)
    assert f'<a href="/commitments/{draft.id}/edit" data-testid="inbox-link">Describe the commitment</a>' in row
    assert f'<a href="/instances/{draft.instance_id}#step-declare" data-testid="inbox-link" data-trigger="declare">Declare it</a>' in row
    assert "Withdraw" in row, "withdrawing stays possible"
    assert instance_state(app, draft.instance_id) == ("draft", 1, 1), "looking changes nothing"

    # Described, the commitment can be declared: the inbox still names the step once, as the link.
    client.post(f"/commitments/{draft.id}/edit", data={"pillar": "faire", "statement": "Review each model with the guide's six themes."})
    row = inbox_row(client.get("/dashboard").get_data(as_text=True), draft.instance_id)
    assert row.count("Declare") == 1 and "Describe the commitment" in row

    # Declared, it is no longer a draft: no editing is offered.
    assert client.post(f"/instances/{draft.instance_id}/fire/declare", data={"declare-expected_version": "1", "declare-confirm": "y"}).status_code == 302
    assert instance_state(app, draft.instance_id) == ("declared", 2, 2)
    page = client.get("/dashboard").get_data(as_text=True)
    if f'href="/instances/{draft.instance_id}"' in page:
        row = inbox_row(page, draft.instance_id)
        assert "Describe the commitment" not in row and 'data-testid="inbox-link"' not in row


def test_a_member_of_another_organisation_is_offered_nothing_on_the_draft(app, client, make_user, make_org, make_commitment):
    officer = make_user(name="Officer A")
    outsider = make_user(name="Officer B")
    org = make_org([(officer, "officer")], name="Org A")
    make_org([(outsider, "officer")], name="Org B")
    draft = make_commitment(officer, org)
    login(client, outsider.email)
    page = client.get("/dashboard").get_data(as_text=True)
    assert f"/commitments/{draft.id}/edit" not in page and f'href="/instances/{draft.instance_id}"' not in page
