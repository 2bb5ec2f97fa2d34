"""A new charter version: existing signatures stay; an officer moves with statements carried over by the table."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from govflow.charters.models import Commitment, Signature
from govflow.extensions import db

from ..conftest import login

VERSIONS = Path(__file__).parent / "versions"


def test_an_officer_moves_to_version_2_with_statements_carried_over_as_the_table_says(app_factory, make_user):
    app = app_factory(CHARTERS_PATH=[str(VERSIONS)])
    client = app.test_client()
    with app.app_context():
        from govflow.accounts.services import create_user
        from govflow.charters.catalog import get_catalog
        from govflow.charters.services import sign_charter, signature_commitments
        from govflow.organisations.services import create_organisation

        officer = create_user("officer@test.example", "Officer", "govflow-demo", ["signatory"])
        org = create_organisation("Org", "company", founder=officer)
        v1 = get_catalog().get("test-charter", 1)
        signature = sign_charter(officer, org, v1, v1.pillar_keys())
        for commitment in signature_commitments(signature):
            commitment.statement = f"Statement written for {commitment.pillar} in version one."
        db.session.commit()
        old_id, org_id = signature.id, org.id
        v2 = get_catalog().get("test-charter", 2)
        table = {k: (r.mode, r.source) for k, r in v2.migration.items.items()}
    login(client, "officer@test.example")
    page = client.get(f"/organisations/{org_id}").get_data(as_text=True)
    assert 'data-testid="invite"' in page
    assert client.post(f"/signatures/{old_id}/move").status_code == 303
    with app.app_context():
        old = db.session.get(Signature, old_id)
        new = db.session.get(Signature, old.superseded_by_id)
        assert (old.charter_version, old.withdrawn_at, new.charter_version, new.instance.status) == (1, None, 2, "signed")
        statements = {c.pillar: c.statement for c in db.session.scalars(sa.select(Commitment).where(Commitment.signature_id == new.id))}
    for key, statement in statements.items():
        mode, source = table[key]
        if mode == "blank":
            assert statement == ""
        else:
            assert statement == f"Statement written for {source} in version one."
    again = client.post(f"/signatures/{old_id}/move")
    assert again.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 2
