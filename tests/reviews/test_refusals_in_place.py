"""Refusals in place on the review pages: a refused or invalid form answers on the page it came from, under the
refusal's status, with the sentence beside the form (or its field) and what was typed kept; nothing is changed; JSON
clients get the sentence as JSON."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa
from markupsafe import escape

from govflow.accounts.models import User
from govflow.extensions import db
from govflow.instances.services import fire_transition
from govflow.interests.models import InterestDeclaration
from govflow.reviews import services
from govflow.reviews.models import Condition, Decision, DissentingOpinion, DossierAttachment, DossierVersion, Rapporteur, Recusal, Referral, Vote

from ..conftest import instance_state, login
from .common import DOSSIER, build, vote

JSON = {"Accept": "application/json"}


def _html(response) -> str:
    return response.get_data(as_text=True)


def _here(html: str) -> list[str]:
    """The sentences shown beside a hand-written form (``here``) or at the top of a form class's form."""
    return re.findall(r'<p class="field-error" role="alert" data-testid="refusal-here">(.*?)</p>', html, re.S)


def _field_error(html: str, field_id: str) -> str:
    match = re.search(rf'<span class="field-error" id="{re.escape(field_id)}-error">(.*?)</span>', html, re.S)
    assert match, f"no message beside {field_id}"
    return match.group(1)


def _not_the_error_page(html: str) -> None:
    assert "<h1>Error" not in html and "data-error-status" not in html, "not the error page"
    assert 'data-testid="error-summary"' in html, "the summary says nothing was changed"


def _counts(app, *models) -> list[int]:
    with app.app_context():
        return [db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in models]


def _instance(app, referral_id: int) -> int:
    with app.app_context():
        return db.session.get(Referral, referral_id).instance_id


def _draft_referral(app) -> tuple[int, int]:
    """A holder (holder@test.example) and their draft referral; returns (referral id, instance id)."""
    with app.app_context():
        from govflow.accounts.services import create_user
        from govflow.organisations.services import create_organisation

        holder = create_user("holder@test.example", "Holder", "govflow-demo", ["signatory"])
        org = create_organisation("Ville de Brouillon", "public_body", founder=holder)
        committee = services.create_committee("Draft committee")
        member = create_user("m0@test.example", "Member 0", "govflow-demo", ["committee_member"])
        services.add_committee_member(committee, member, "secretary")
        referral = services.create_referral(holder, org, committee, "Drafted paths", DOSSIER, [], [])
        db.session.commit()
        return referral.id, referral.instance_id


def _decided(app, choices, trigger="record_favourable", inputs=None, tie="new_round"):
    """A referral decided after ``choices`` (one per member); returns (referral id, users, decision id)."""
    referral_id, users, _holder = build(app, members=len(choices), tie=tie)
    for user_id, choice in zip(users, choices, strict=True):
        vote(app, referral_id, user_id, choice, "Because.")
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        fire_transition(db.session.get(User, users[1]), referral.instance, trigger, inputs or {"rationale": "A clear public interest."})
        db.session.commit()
        return referral_id, users, db.session.scalars(sa.select(Decision)).one().id


# -- the dossier's files ---------------------------------------------------------------------------------------------
def test_a_refused_dossier_upload_keeps_the_referral_page_and_says_why(app, client):
    referral_id, instance_id = _draft_referral(app)
    login(client, "holder@test.example")
    before, state = _counts(app, DossierAttachment), instance_state(app, instance_id)
    disguised = {"upload": (io.BytesIO(b"MZ" + b"\0" * 100), "dpia.pdf")}
    response = client.post(f"/referrals/{referral_id}/files", data=disguised, content_type="multipart/form-data")
    assert response.status_code == 422
    html = _html(response)
    _not_the_error_page(html)
    assert 'data-testid="referral"' in html and "Drafted paths" in html, "the referral's page again"
    form = html[html.index('data-testid="dossier-file-form"') : html.index("</form>", html.index('data-testid="dossier-file-form"'))]
    (sentence,) = _here(form)
    assert sentence.startswith("File refused:")
    assert _counts(app, DossierAttachment) == before and instance_state(app, instance_id) == state

    as_json = client.post(
        f"/referrals/{referral_id}/files", data={"upload": (io.BytesIO(b"MZ" + b"\0" * 100), "dpia.pdf")}, content_type="multipart/form-data", headers=JSON
    )
    assert as_json.status_code == 422 and as_json.is_json and as_json.get_json()["error"].startswith("File refused:")
    assert _counts(app, DossierAttachment) == before


def test_an_upload_without_a_file_keeps_the_referral_page_and_asks_for_one(app, client):
    referral_id, instance_id = _draft_referral(app)
    login(client, "holder@test.example")
    response = client.post(f"/referrals/{referral_id}/files", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    html = _html(response)
    _not_the_error_page(html)
    assert 'data-testid="dossier-file-form"' in html and _here(html) == ["Choose a file."]
    assert _counts(app, DossierAttachment) == [0]


# -- dissenting opinions ---------------------------------------------------------------------------------------------
def test_an_empty_dissent_keeps_the_page_and_says_what_is_missing(app, client):
    referral_id, users, decision_id = _decided(app, ["favourable", "favourable", "unfavourable", "favourable"])
    login(client, "m2@test.example")
    response = client.post(f"/decisions/{decision_id}/dissent", data={"text": "   "})
    assert response.status_code == 422
    html = _html(response)
    _not_the_error_page(html)
    assert 'data-testid="decision"' in html and 'data-testid="dissent-form"' in html
    form = html[html.index('data-testid="dissent-form"') :]
    assert _here(form)[0] == "Write the dissenting opinion."
    assert _counts(app, DissentingOpinion) == [0]

    as_json = client.post(f"/decisions/{decision_id}/dissent", data={"text": ""}, headers=JSON)
    assert as_json.status_code == 422 and as_json.get_json()["error"] == "Write the dissenting opinion."


def test_a_too_long_dissent_keeps_what_was_written(app, client):
    referral_id, users, decision_id = _decided(app, ["favourable", "favourable", "unfavourable", "favourable"])
    login(client, "m2@test.example")
    text = "The data are too sensitive. " * 300  # over the 8,000 characters
    response = client.post(f"/decisions/{decision_id}/dissent", data={"text": text})
    assert response.status_code == 422
    html = _html(response)
    _not_the_error_page(html)
    assert f'name="text" rows="4" maxlength="8000" required>{escape(text)}</textarea>' in html, "what was written is kept"
    assert _here(html), "and the sentence is beside the form"
    assert _counts(app, DissentingOpinion) == [0]


# -- recusals, rapporteurs, conditions --------------------------------------------------------------------------------
def test_a_refused_recusal_keeps_the_reason_typed_and_says_why(app, client):
    referral_id, users, _holder = build(app, members=4)
    instance_id = _instance(app, referral_id)
    login(client, "m2@test.example")
    before, state = _counts(app, Recusal), instance_state(app, instance_id)
    reason = "I advised the city on this project. " * 60  # over the 2,000 characters
    response = client.post(f"/referrals/{referral_id}/recusals", data={"user_id": users[2], "reason": reason})
    assert response.status_code == 422
    html = _html(response)
    _not_the_error_page(html)
    form = html[html.index('data-testid="recusal-form"') :]
    assert _here(form)[0] == "A recusal needs a member and a reason."
    assert f'name="reason" rows="2">{escape(reason)}</textarea>' in form
    assert _counts(app, Recusal) == before and instance_state(app, instance_id) == state

    as_json = client.post(f"/referrals/{referral_id}/recusals", data={"user_id": users[2], "reason": ""}, headers=JSON)
    assert as_json.status_code == 422 and as_json.get_json()["error"] == "A recusal needs a member and a reason."


def test_a_rapporteur_who_may_not_be_assigned_keeps_the_page_and_says_why(app, client):
    referral_id, users, _holder = build(app, members=4)
    with app.app_context():  # back to the examination, where rapporteurs are assigned
        referral = db.session.get(Referral, referral_id)
        referral.instance.status = "rapporteurs_assigned"
        db.session.commit()
    instance_id = _instance(app, referral_id)
    login(client, "m1@test.example")  # the secretary
    before, state = _counts(app, Rapporteur), instance_state(app, instance_id)
    response = client.post(f"/referrals/{referral_id}/rapporteurs", data={"user_id": 99999})
    assert response.status_code == 422
    html = _html(response)
    _not_the_error_page(html)
    assert 'data-testid="rapporteur-select"' in html
    assert "Choose a member of the committee who is not recused." in _here(html)
    assert _counts(app, Rapporteur) == before and instance_state(app, instance_id) == state


def test_a_condition_follow_up_without_enough_evidence_keeps_what_was_typed(app, client):
    referral_id, users, decision_id = _decided(
        app,
        ["favourable_with_conditions"] * 4,
        "record_with_conditions",
        {"rationale": "Fine with one condition.", "conditions": "Publish the review."},
    )
    with app.app_context():
        condition_id = db.session.scalars(sa.select(Condition.id)).one()
    login(client, "m1@test.example")  # the secretary
    evidence = "Published on the city's site. " * 150  # over the 4,000 characters
    response = client.post(f"/conditions/{condition_id}", data={"status": "not_met", "evidence": evidence})
    assert response.status_code == 422
    html = _html(response)
    _not_the_error_page(html)
    item = html[html.index(f'data-condition="{condition_id}"') :]
    assert _here(item)[0] == "Say whether the condition is met, with the evidence."
    assert f'value="{escape(evidence)}"' in item and '<option value="not_met" selected>' in item
    with app.app_context():
        condition = db.session.get(Condition, condition_id)
        assert (condition.status, condition.evidence) == ("open", None)


# -- the ballot, the declaration, the referral's form ----------------------------------------------------------------
def test_a_ballot_without_its_rationale_keeps_the_vote_page_and_the_choice(app, client):
    referral_id, users, _holder = build(app, members=4)
    instance_id = _instance(app, referral_id)
    login(client, "m0@test.example")
    before, state = _counts(app, Vote), instance_state(app, instance_id)
    response = client.post(f"/referrals/{referral_id}/vote", data={"choice": "unfavourable", "rationale": ""})
    assert response.status_code == 422
    html = _html(response)
    _not_the_error_page(html)
    assert 'data-testid="cast-vote"' in html and "Your vote on Training paths" in html
    assert _field_error(html, "rationale") == "Give the rationale of your vote."
    assert '<option selected value="unfavourable">' in html, "the choice is kept"
    assert _counts(app, Vote) == before and instance_state(app, instance_id) == state

    as_json = client.post(f"/referrals/{referral_id}/vote", data={"choice": "unfavourable", "rationale": ""}, headers=JSON)
    body = as_json.get_json()
    assert as_json.status_code == 422 and body["error"] == "Give the rationale of your vote."
    assert body["fields"]["rationale"] == ["Give the rationale of your vote."]
    assert _counts(app, Vote) == before


def test_a_declaration_with_an_unknown_relation_keeps_what_was_typed_and_says_why(app, client):
    build(app, members=3)
    login(client, "m2@test.example")
    typed = {
        "interests-0-organisation": "Ville de Test",
        "interests-0-relation": "owns",  # not one of the offered links (a tampered form)
        "interests-1-organisation": "Université du Test",
        "interests-1-relation": "advises",
        "personal_links": "My sister works there.",
    }
    response = client.post("/interests", data=typed)
    assert response.status_code == 422
    html = _html(response)
    _not_the_error_page(html)
    assert "Declaration of interests</h1>" in html
    assert _field_error(html, "interests-0-relation") == "Not a valid choice."
    assert 'value="Ville de Test"' in html and 'value="Université du Test"' in html and "My sister works there." in html
    assert '<option selected value="advises">' in html
    assert _counts(app, InterestDeclaration) == [0]

    as_json = client.post("/interests", data=typed, headers=JSON)
    assert as_json.status_code == 422 and as_json.get_json()["fields"]["interests-0-relation"] == ["Not a valid choice."]


def test_interests_are_declared_as_rows_added_and_removed_without_javascript(app, client):
    build(app, members=3)
    login(client, "m2@test.example")
    page = _html(client.get("/interests"))
    assert 'name="interests-0-organisation"' in page and 'name="add_row" value="interests"' in page
    assert "name | works_for" not in page and ">I advise it</option>" in page  # rows in words, not a line format
    typed = {"interests-0-organisation": "Ville de Test", "interests-0-relation": "advises", "personal_links": ""}
    added = _html(client.post("/interests", data=typed | {"add_row": "interests"}))
    assert 'name="interests-1-organisation"' in added and 'value="Ville de Test"' in added
    removed = _html(
        client.post("/interests", data=typed | {"interests-1-organisation": "Bus Co", "interests-1-relation": "funds", "remove_row": "interests-0"})
    )
    assert 'value="Bus Co"' in removed and 'value="Ville de Test"' not in removed
    assert _counts(app, InterestDeclaration) == [0]
    saved = client.post("/interests", data=typed | {"interests-1-organisation": "", "interests-1-relation": "funds"})
    assert saved.status_code == 303
    with app.app_context():
        declarations = db.session.scalars(sa.select(InterestDeclaration)).all()
        assert [d.interests for d in declarations] == [[{"organisation": "Ville de Test", "relation": "advises"}]]
    again = _html(client.get("/interests"))
    assert 'value="Ville de Test"' in again and '<option selected value="advises">' in again
    assert 'name="interests-1-organisation"' in again  # an empty row to add another


def test_a_referral_without_a_title_keeps_the_dossier_typed_and_says_what_is_missing(app, client):
    _draft_referral(app)
    login(client, "holder@test.example")
    with app.app_context():
        from govflow.organisations.models import Organisation

        organisation_id = db.session.scalars(sa.select(Organisation.id)).one()
        committee_id = db.session.scalars(sa.select(services.Committee.id)).one()
    before = _counts(app, Referral, DossierVersion)
    data = {"organisation_id": organisation_id, "committee_id": committee_id, "title": "", "dossier-purpose": "Route buses by demand.", "partners": "Bus Co"}
    response = client.post("/referrals/new", data=data)
    assert response.status_code == 422
    html = _html(response)
    _not_the_error_page(html)
    assert "Refer a project to an ethics committee</h1>" in html
    assert _field_error(html, "title") and 'aria-invalid="true"' in html
    assert ">Route buses by demand.</textarea>" in html and "Bus Co</textarea>" in html
    assert _counts(app, Referral, DossierVersion) == before


def test_a_too_long_dossier_section_keeps_the_dossier_typed_and_says_which(app, client):
    referral_id, instance_id = _draft_referral(app)
    login(client, "holder@test.example")
    long = "a" * 10_001
    response = client.post(f"/referrals/{referral_id}/dossier", data={"dossier-purpose": long, "dossier-training": "Kept as typed."})
    assert response.status_code == 422
    html = _html(response)
    _not_the_error_page(html)
    assert "Edit the dossier</h1>" in html
    assert "10,000 characters" in _field_error(html, "dossier-purpose")
    assert f">{long}</textarea>" in html and ">Kept as typed.</textarea>" in html
    with app.app_context():
        (version,) = db.session.scalars(sa.select(DossierVersion)).all()
        assert version.fields["purpose"] == DOSSIER["purpose"]

    as_json = client.post(f"/referrals/{referral_id}/dossier", data={"dossier-purpose": long}, headers=JSON)
    assert as_json.status_code == 422 and "too long: purpose" in as_json.get_json()["error"]


# -- who is offered the dossier's form --------------------------------------------------------------------------------
def test_the_edit_dossier_link_is_offered_only_to_those_the_dossier_page_admits(app, client, make_user):
    referral_id, users, decision_id = _decided(
        app, ["favourable", "favourable", "unfavourable", "unfavourable"], "record_changes_requested", tie="changes_requested"
    )
    instance_id = _instance(app, referral_id)
    admin = make_user(roles=("admin",))
    login(client, admin.email)
    page = _html(client.get(f"/instances/{instance_id}"))
    assert 'data-testid="referral"' in page
    assert 'data-testid="edit-dossier"' not in page and 'data-testid="dossier-file-form"' not in page
    assert client.get(f"/referrals/{referral_id}/dossier").status_code == 403
    client.post("/logout")
    login(client, "holder@test.example")
    page = _html(client.get(f"/instances/{instance_id}"))
    assert 'data-testid="edit-dossier"' in page and 'data-testid="dossier-file-form"' in page
    assert client.get(f"/referrals/{referral_id}/dossier").status_code == 200
