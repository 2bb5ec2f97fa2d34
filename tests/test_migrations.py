"""Models and Alembic migrations agree: upgrading an empty database leaves autogenerate nothing to add."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from govflow import create_app
from govflow.extensions import db


def _drift(url: str, tmp_path) -> list:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True}, instance_path=str(tmp_path / "instance"))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
        downgrade(revision="base")
        with db.engine.connect() as conn:
            left = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
        db.engine.dispose()
    assert left == set(), f"downgrade left tables behind: {left}"
    return diff


def test_migrations_match_the_models_on_sqlite(tmp_path):
    assert _drift(f"sqlite:///{tmp_path}/drift.sqlite3", tmp_path) == []


@pytest.mark.skipif(not os.environ.get("GOVFLOW_TEST_DATABASE_URL"), reason="PostgreSQL runs under CI (make test-postgres)")
def test_migrations_match_the_models_on_postgresql(tmp_path):
    base = os.environ["GOVFLOW_TEST_DATABASE_URL"]
    name = f"govflow_drift_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
        assert _drift(url, tmp_path) == []
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrading_a_database_of_the_first_log_commits_every_act_to_the_private_log(tmp_path):
    """A demo database made by the release before the private log (its dump in tests/fixtures) upgrades: every act,
    ballot, recusal and scoring sheet is committed anew, the old public leaves are gone, and the audit passes."""
    import gzip
    import re
    import sqlite3
    from pathlib import Path

    from govflow.attestations.audit import audit_log
    from govflow.attestations.keys import init_keys
    from govflow.attestations.sequencer import integrate_all

    path = tmp_path / "first-log.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.executescript(gzip.decompress((Path(__file__).parent / "fixtures" / "first_log_demo.sql.gz").read_bytes()).decode("utf-8"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "TESTING": True, "GOVFLOW_KEYS_DIR": str(tmp_path / "keys")}, instance_path=str(tmp_path))
    with app.app_context():
        with db.engine.connect() as conn:
            old = conn.execute(sa.text("SELECT count(*), sum(length(leaf_input)) FROM log_entries")).one()
            history = conn.execute(sa.text("SELECT count(*) FROM instance_history")).scalar()
        assert old[0] == 227 and old[1] > 100_000, "the first log's leaves held whole acts"
        upgrade()
        init_keys()  # the dump's key files are not shipped: new keys sign from now on, the old ones stay published
        db.session.commit()
        assert integrate_all() == 253
        report = audit_log()
        assert report.ok, report.lines()
        assert (report.entries, report.history_rows) == (253, history)
        with db.engine.connect() as conn:
            leaves = [bytes(r[0]) for r in conn.execute(sa.text("SELECT leaf_input FROM log_entries"))]
            kinds = dict(conn.execute(sa.text("SELECT kind, count(*) FROM log_entries GROUP BY kind")).all())
            versions = conn.execute(
                sa.text("SELECT count(*) FROM workflow_instances i WHERE version != (SELECT count(*) FROM instance_history h WHERE h.instance_id = i.id)")
            ).scalar()
        assert all(re.fullmatch(rb'\{"commitment":"[0-9a-f]{64}","type":"govflow\.[a-z]+"\}', leaf) for leaf in leaves)
        assert {"transition", "attestation", "ballot", "tally", "recusal", "score", "declaration"} <= set(kinds)
        assert versions == 0, "every instance's version counts its history rows"
        # The bundled definitions now name their effects: the registrations moved to the new text, nothing else changed.
        from flask import current_app

        from govflow.instances.services import register_definitions

        assert {status for _, status in register_definitions(current_app.extensions["govflow.engine"])} == {"unchanged"}
        db.session.remove()
        db.engine.dispose()
