"""The base URL credentials carry follows the port govflow serves on (GOVFLOW_PORT, set by `make run` from PORT and by
`govflow run --port`) unless GOVFLOW_BASE_URL says otherwise."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo, pass_script_info

from govflow import cli as govflow_cli
from govflow.attestations.models import Attestation
from govflow.attestations.verify import verify_offline
from govflow.extensions import db

from ..conftest import commitment_factory, make_app, org_factory, user_factory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def port_env(monkeypatch):
    """No GOVFLOW_BASE_URL, and GOVFLOW_PORT under monkeypatch's care (set first, so that it is restored even when a
    command sets it)."""
    monkeypatch.delenv("GOVFLOW_BASE_URL", raising=False)
    monkeypatch.setenv("GOVFLOW_PORT", "8000")
    return monkeypatch


def test_the_default_base_url_names_govflow_port_and_5000_without_it(port_env, app_factory):
    assert app_factory().config["GOVFLOW_BASE_URL"] == "http://127.0.0.1:8000"
    port_env.delenv("GOVFLOW_PORT")
    assert app_factory().config["GOVFLOW_BASE_URL"] == "http://127.0.0.1:5000"


def test_an_explicit_govflow_base_url_wins_over_the_port(port_env, app_factory):
    port_env.setenv("GOVFLOW_BASE_URL", "https://govflow.example")
    assert app_factory().config["GOVFLOW_BASE_URL"] == "https://govflow.example"


def test_a_credential_issued_under_the_port_carries_it_and_verifies(port_env, app_factory):
    app = app_factory()
    officer = user_factory(app)(name="Officer One")
    org = org_factory(app)([(officer, "officer")], name="Acme Analytics")
    commitment = commitment_factory(app)(officer, org, steps=[("declare", None, {})])
    with app.app_context():
        (row,) = db.session.scalars(sa.select(Attestation).where(Attestation.instance_id == commitment.instance_id)).all()
        credential = json.loads(row.credential)
    assert credential["credentialSubject"]["id"] == f"http://127.0.0.1:8000/instances/{commitment.instance_id}"
    status_url = credential["credentialStatus"]["statusListCredential"]
    assert status_url.startswith("http://127.0.0.1:8000/status/")
    client = app.test_client()
    status_list = client.get(status_url.removeprefix("http://127.0.0.1:8000")).json
    assert status_list["id"].startswith(status_url)
    assert client.get("/.well-known/govflow-keys.json").json["log_origin"] == "127.0.0.1:8000/log"
    bundle = client.get(f"/attestations/{row.uid}/bundle.json").json
    assert verify_offline(bundle["credential"], bundle["keys"], bundle["status_list"], bundle["receipt"]).ok


@pytest.fixture
def served(monkeypatch, tmp_path):
    """`govflow run` with Flask's server replaced by a command that builds the app and prints what it would serve."""
    seen = {}
    built = []

    @click.command()
    @pass_script_info
    def fake_server(info, **options):
        app = info.load_app()
        built.append(app)
        seen.update(port=options["port"], base_url=app.config["GOVFLOW_BASE_URL"])

    monkeypatch.setattr(govflow_cli, "flask_run_command", fake_server)

    def run(*args):
        script = ScriptInfo(create_app=lambda: make_app(tmp_path / f"served{len(seen)}"))
        result = CliRunner().invoke(govflow_cli.cli, ["run", *args], obj=script)
        assert result.exit_code == 0, result.output
        return dict(seen)

    yield run
    for app in built:  # close the apps' connections (PostgreSQL warns about connections left open)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_govflow_run_serves_on_govflow_port_and_port_sets_the_base_url(port_env, served):
    assert served() == {"port": 8000, "base_url": "http://127.0.0.1:8000"}
    assert served("--port", "8123") == {"port": 8123, "base_url": "http://127.0.0.1:8123"}
    port_env.setenv("GOVFLOW_BASE_URL", "https://govflow.example")
    assert served("--port", "8124") == {"port": 8124, "base_url": "https://govflow.example"}


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_gives_every_command_of_its_recipe_the_port(tmp_path):
    """`make run` with a stand-in govflow that records its environment (install is taken as done: nothing installs)."""
    calls = tmp_path / "calls"
    stand_in = tmp_path / "govflow"
    stand_in.write_text(f'#!/bin/sh\necho "$GOVFLOW_PORT $*" >> {calls}\n')
    stand_in.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("GOVFLOW_PORT", "PORT", "MAKEFLAGS", "MFLAGS")}
    command = ["make", "-s", "-o", "install", "run", "PORT=8123", f"BIN={tmp_path}", f"VENV={tmp_path / 'venv'}"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # One command prepares the database and serves, with the app built once (govflow demo serve, tests/test_cli.py).
    assert calls.read_text().splitlines() == ["8123 demo serve --host 127.0.0.1 --port 8123"]
