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
