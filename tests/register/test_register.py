"""The public register: what it shows, filters, downloads, and a bounded number of queries at national scale."""

from __future__ import annotations

import csv
import html
import io
import re
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from govflow.charters.catalog import register_all
from govflow.charters.models import Commitment, Signature
from govflow.extensions import db
from govflow.instances.models import WorkflowInstance
from govflow.organisations.models import Organisation
from govflow.register.services import COLUMNS

from ..conftest import login

EVIDENCE = {"evidence_url": "https://org.example/evidence"}


@pytest.fixture
def listed(make_user, make_org, make_commitment):
    """Two organisations on the register: one with commitments in several states, one that withdrew."""
    officer = make_user()
    reviewer = make_user(roles=("committee_member",))
    other = make_user()
    acme = make_org([(officer, "officer")], name="Acme Analytics", kind="company")
    town = make_org([(other, "officer")], name="Town of Brieuc", kind="public_body")
    make_commitment(officer, acme, statement="A draft the public must not see yet.")
    make_commitment(officer, acme, steps=[("declare", None, {})], statement="Explain every model to its users in plain words.", pillar="communiquer")
    make_commitment(
        officer,
        acme,
        steps=[("declare", None, {}), ("add_evidence", None, EVIDENCE), ("verify", reviewer, {})],
        statement="Join the guide's revision group twice a year.",
        pillar="progresser",
    )
    withdrawn = make_commitment(other, town, steps=[("declare", None, {})], statement="Review each algorithm before deployment.")
    return type("L", (), dict(officer=officer, other=other, acme=acme, town=town, withdrawn=withdrawn))


def test_the_register_is_public_and_shows_declared_commitments_but_not_drafts(client, listed):
    page = client.get("/register").get_data(as_text=True)
    assert "Acme Analytics" in page and "Town of Brieuc" in page
    assert "Explain every model to its users in plain words." in page and "Join the guide" in page
    assert "A draft the public must not see yet." not in page
    assert "2 signatures" in page
    assert page.count('data-testid="signature-attestation"') == 2


def test_search_and_filters_narrow_the_register(client, listed):
    assert "Town of Brieuc" not in client.get("/register?q=acme").get_data(as_text=True)
    assert "Acme Analytics" not in client.get("/register?kind=public_body").get_data(as_text=True)
    verified = client.get("/register?status=verified").get_data(as_text=True)
    assert "Acme Analytics" in verified and "Town of Brieuc" not in verified
    by_pillar = client.get("/register?pillar=faire").get_data(as_text=True)
    assert "Town of Brieuc" in by_pillar and "Acme Analytics" not in by_pillar, "Acme's faire commitment is still a draft"
    assert "No signature matches." in client.get("/register?q=nobody-at-all").get_data(as_text=True)
    assert client.get("/register?status=bogus&kind=bogus&charter=bogus").status_code == 200


def test_downloads_use_the_documented_columns_and_show_withdrawals(app, client, listed):
    login(client, listed.other.email)
    with app.app_context():
        signature_id = db.session.get(Commitment, listed.withdrawn.id).signature_id
    client.post(f"/signatures/{signature_id}/withdraw", data={"reason": "The council ended the programme.", "confirm": "y"})
    client.post("/logout")
    response = client.get("/register.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == COLUMNS
    town = [r for r in rows if r["organisation"] == "Town of Brieuc"]
    assert town and all(r["withdrawal_reason"] == "The council ended the programme." and r["withdrawn_at"] for r in town)
    assert {r["commitment_attestation_revoked"] for r in town if r["commitment_id"]} == {"yes"}
    acme = {r["pillar"]: r["commitment_status"] for r in rows if r["organisation"] == "Acme Analytics"}
    assert acme == {"communiquer": "declared", "progresser": "verified"}
    data = client.get("/register.json?kind=company").json
    assert data["columns"] == COLUMNS and {r["organisation"] for r in data["rows"]} == {"Acme Analytics"}
    docs = (__import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "register.md").read_text()
    assert all(f"`{column}`" in docs for column in COLUMNS), "every column is documented"


def test_the_register_shows_a_withdrawal_reason(app, client, listed):
    with app.app_context():
        alone = db.session.scalars(sa.select(Commitment).where(Commitment.statement.startswith("Explain every model"))).one()
        alone_id, instance_id, version = alone.id, alone.instance_id, alone.instance.version
        signature_id = db.session.get(Commitment, listed.withdrawn.id).signature_id
    login(client, listed.officer.email)  # Acme withdraws one commitment and keeps its signature
    withdrawn = client.post(
        f"/instances/{instance_id}/fire/withdraw",
        data={"withdraw-expected_version": str(version), "withdraw-reason": "We merged this pillar into our yearly audit.", "withdraw-confirm": "y"},
    )
    assert withdrawn.status_code == 302, withdrawn.get_data(as_text=True)
    client.post("/logout")
    login(client, listed.other.email)  # the Town withdraws its signature, and its commitments with it
    client.post(f"/signatures/{signature_id}/withdraw", data={"reason": "The council ended the programme.", "confirm": "y"})
    client.post("/logout")
    with app.app_context():
        assert db.session.get(Commitment, alone_id).instance.status == "withdrawn"
        assert db.session.get(Signature, signature_id).withdrawal_reason == "The council ended the programme."
    page = client.get("/register").get_data(as_text=True)
    assert page.count('data-testid="commitment-withdrawal"') == 1, "a commitment withdrawn with its signature shows the signature's reason once"
    assert "Withdrawn on" in page and "Reason: We merged this pillar into our yearly audit." in page
    assert 'data-testid="withdrawal"' in page and "Reason: The council ended the programme." in page
    rows = list(csv.DictReader(io.StringIO(client.get("/register.csv").get_data(as_text=True))))
    (alone_row,) = [r for r in rows if r["commitment_id"] == str(alone_id)]
    assert alone_row["commitment_status"] == "withdrawn" and alone_row["commitment_withdrawn_at"]
    assert alone_row["commitment_withdrawal_reason"] == "We merged this pillar into our yearly audit." and alone_row["withdrawal_reason"] == ""
    town = [r for r in rows if r["organisation"] == "Town of Brieuc" and r["commitment_id"]]
    assert town and all(r["commitment_withdrawal_reason"] == "The council ended the programme." for r in town)
    others = [r for r in rows if r["organisation"] == "Acme Analytics" and r["commitment_id"] and r["commitment_id"] != str(alone_id)]
    assert others and all(r["commitment_withdrawn_at"] == "" and r["commitment_withdrawal_reason"] == "" for r in others)


@contextmanager
def counting(app):
    with app.app_context():
        engine = db.engine
    seen = []

    def before(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def seed(app, organisations: int, per_signature: int, prefix: str) -> None:
    """Insert organisations, one Numeum signature each and commitments in varied states (bulk inserts)."""
    states = ["declared", "evidenced", "verified", "renewal_due", "withdrawn", "draft"]
    kinds = ["company", "public_body", "school", "association"]
    now = datetime(2026, 1, 1)
    with app.app_context():
        register_all()
        db.session.commit()
        base_org = (db.session.scalar(sa.select(sa.func.max(Organisation.id))) or 0) + 1
        base_instance = (db.session.scalar(sa.select(sa.func.max(WorkflowInstance.id))) or 0) + 1
        base_signature = (db.session.scalar(sa.select(sa.func.max(Signature.id))) or 0) + 1
        user_id = db.session.scalar(sa.text("SELECT min(id) FROM users"))
        orgs, instances, signatures, commitments = [], [], [], []
        instance_id = base_instance
        for n in range(organisations):
            org_id, signature_id = base_org + n, base_signature + n
            orgs.append({"id": org_id, "name": f"{prefix} organisation {n:05d}", "kind": kinds[n % 4], "country": "FR", "created_at": now})
            instances.append(
                {
                    "id": instance_id,
                    "workflow": "charter_signature",
                    "definition_version": 1,
                    "status": "signed",
                    "version": 2,
                    "title": f"sig {n}",
                    "subject_kind": "signature",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            signatures.append(
                {
                    "id": signature_id,
                    "organisation_id": org_id,
                    "charter": "numeum-ethical-ai",
                    "charter_version": 1,
                    "instance_id": instance_id,
                    "accepted_pillars": ["faire", "communiquer", "progresser"],
                    "signed_by_id": user_id,
                    "signed_at": now - timedelta(minutes=n),
                }
            )
            instance_id += 1
            for k in range(per_signature):
                instances.append(
                    {
                        "id": instance_id,
                        "workflow": "commitment",
                        "definition_version": 1,
                        "status": states[(n + k) % len(states)],
                        "version": 2,
                        "title": f"c {n}.{k}",
                        "subject_kind": "commitment",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                commitments.append(
                    {
                        "organisation_id": org_id,
                        "signature_id": signature_id,
                        "instance_id": instance_id,
                        "charter": "numeum-ethical-ai",
                        "charter_version": 1,
                        "pillar": ["faire", "communiquer", "progresser"][k % 3],
                        "themes": [],
                        "statement": f"Seeded commitment {n}.{k}",
                        "created_by_id": user_id,
                        "created_at": now,
                    }
                )
                instance_id += 1
        for table, rows in ((Organisation, orgs), (WorkflowInstance, instances), (Signature, signatures), (Commitment, commitments)):
            for start in range(0, len(rows), 5000):
                db.session.execute(sa.insert(table), rows[start : start + 5000])
        db.session.commit()


PAGES = ["/register", "/register?q=organisation%2000042", "/register?charter=numeum-ethical-ai&status=verified&pillar=faire&kind=school"]


def _older(client, url: str) -> str:
    """The address of the page after ``url`` (its "Next" link), or ``url`` itself on the last page."""
    found = re.search(r'href="([^"]+)" rel="next"', client.get(url).get_data(as_text=True))
    return html.unescape(found.group(1)) if found else url


def query_counts(app, client) -> list[int]:
    counts = []
    deep = "/register"
    for _ in range(3):  # a few pages down, by their "Next" links
        deep = _older(client, deep)
    for url in [*PAGES, deep]:
        with counting(app) as seen:
            response = client.get(url)
        assert response.status_code == 200, url
        counts.append(len(seen))
    return counts


@pytest.mark.slow
def test_register_pages_run_a_bounded_number_of_queries_with_10000_organisations_and_100000_commitments(app, client, make_user):
    make_user()
    seed(app, 10, 10, "Small")
    small = query_counts(app, client)
    seed(app, 10_000, 10, "Seeded")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Commitment)) == 100_100
    large = query_counts(app, client)
    # count + page of ids + signatures + their commitments + their attestations (+ published sandbox syntheses on the
    # unfiltered first page), however big the register is
    assert max(small) <= 6 and max(large) <= 6, (small, large)
    assert large[0] == small[0], f"queries per page grew with the data: {small} -> {large}"
    page = client.get("/register").get_data(as_text=True)
    assert "More than 10000 signatures" in page and page.count('data-testid="register-entry"') == 20
