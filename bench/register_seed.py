"""Fast seeding of a large public register (issue #16): one organisation is signed up through govflow's own services
(a signature of the Numeum manifesto and a declared commitment per pillar), then copied ``n`` times with bulk inserts
(``executemany`` in batches), new ids and names, so that 100,000 organisations take seconds, not hours.

    python bench/register_seed.py --orgs 10000 --database sqlite:////tmp/register.sqlite3

The copies are rows as the services write them (instances, signatures, commitments), without history or attestations:
enough for the register's pages and downloads, which read those tables."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from govflow import create_app  # noqa: E402
from govflow.extensions import db  # noqa: E402

TEMPLATE_ORG = "Template Analytics"


def build_template() -> int:
    """Sign the Numeum manifesto for one organisation and declare each pillar's commitment; return its id."""
    from govflow.accounts.services import create_user
    from govflow.charters.catalog import get_catalog, register_all
    from govflow.charters.models import Commitment
    from govflow.charters.services import sign_charter
    from govflow.instances.services import fire_transition
    from govflow.organisations.services import add_member, create_organisation

    register_all()
    officer = create_user("officer@register.example", "Anna Officer", "correct horse battery staple 42")
    organisation = create_organisation(TEMPLATE_ORG, "company")
    add_member(organisation, officer, "officer")
    charter = get_catalog().get("numeum-ethical-ai")  # its latest version
    signature = sign_charter(officer, organisation, charter, [p.key for p in charter.pillars])
    for commitment in db.session.scalars(sa.select(Commitment).where(Commitment.signature_id == signature.id)):
        commitment.statement = f"Publish a plain-language note for every AI product ({commitment.pillar})."
        fire_transition(officer, commitment.instance, "declare", {})
    db.session.commit()
    return organisation.id


def _rows(table: sa.Table, where) -> list[dict]:
    return [dict(row._mapping) for row in db.session.execute(sa.select(table).where(where))]


def clone(organisation_id: int, copies: int, batch: int = 5000) -> None:
    """Insert ``copies`` copies of the organisation, its signature and commitments and their instances."""
    tables = db.metadata.tables
    orgs, instances, signatures, commitments = (tables[n] for n in ("organisations", "workflow_instances", "signatures", "commitments"))
    org = _rows(orgs, orgs.c.id == organisation_id)[0]
    signature = _rows(signatures, signatures.c.organisation_id == organisation_id)[0]
    pledges = _rows(commitments, commitments.c.organisation_id == organisation_id)
    instance_rows = {r["id"]: r for r in _rows(instances, instances.c.id.in_([signature["instance_id"], *(c["instance_id"] for c in pledges)]))}
    next_org = (db.session.scalar(sa.select(sa.func.max(orgs.c.id))) or 0) + 1
    next_instance = (db.session.scalar(sa.select(sa.func.max(instances.c.id))) or 0) + 1
    next_signature = (db.session.scalar(sa.select(sa.func.max(signatures.c.id))) or 0) + 1
    next_commitment = (db.session.scalar(sa.select(sa.func.max(commitments.c.id))) or 0) + 1
    for start in range(0, copies, batch):
        new_orgs, new_instances, new_signatures, new_commitments = [], [], [], []
        for n in range(start, min(copies, start + batch)):
            org_id = next_org + n
            new_orgs.append({**org, "id": org_id, "name": f"Organisation {org_id:07d}"})
            instance_id = next_instance + n * (1 + len(pledges))
            new_instances.append({**instance_rows[signature["instance_id"]], "id": instance_id, "title": f"Organisation {org_id:07d}: signature"})
            new_signatures.append({**signature, "id": next_signature + n, "organisation_id": org_id, "instance_id": instance_id})
            for k, pledge in enumerate(pledges, start=1):
                new_instances.append({**instance_rows[pledge["instance_id"]], "id": instance_id + k, "title": f"Organisation {org_id:07d}: {pledge['pillar']}"})
                new_commitments.append(
                    {
                        **pledge,
                        "id": next_commitment + n * len(pledges) + k - 1,
                        "organisation_id": org_id,
                        "signature_id": next_signature + n,
                        "instance_id": instance_id + k,
                    }
                )
        db.session.execute(orgs.insert(), new_orgs)
        db.session.execute(instances.insert(), new_instances)
        db.session.execute(signatures.insert(), new_signatures)
        db.session.execute(commitments.insert(), new_commitments)
        db.session.commit()


def make_app(database_url: str, instance_path: str):
    """The app on ``database_url`` (its keys under ``instance_path``)."""
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True}, instance_path=instance_path)


def seed(database_url: str, organisations: int, instance_path: str) -> float:
    """A register of ``organisations`` organisations (3 commitments each) in a new database; the seconds it took."""
    from govflow.attestations.keys import init_keys
    from govflow.attestations.sequencer import integrate_all
    from govflow.instances.services import get_engine, register_definitions

    started = time.perf_counter()
    app = make_app(database_url, instance_path)
    with app.app_context():
        db.create_all()
        register_definitions(get_engine())
        init_keys()
        db.session.commit()
        integrate_all()
        template = build_template()
        clone(template, organisations - 1)
        db.session.remove()
        db.engine.dispose()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", type=int, default=10000)
    parser.add_argument("--database", required=True, help="a SQLAlchemy URL of an empty database")
    parser.add_argument("--instance", required=True, help="the app's instance folder (its signing keys)")
    args = parser.parse_args()
    seconds = seed(args.database, args.orgs, args.instance)
    print(f"seeded {args.orgs} organisations in {seconds:.1f} s")


if __name__ == "__main__":
    main()
