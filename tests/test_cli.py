"""The govflow command: workflow checks, refusal to start on a broken definition, users, demo data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from govflow.accounts.models import User
from govflow.charters.models import Commitment
from govflow.cli import cli
from govflow.extensions import db
from govflow.instances.models import InstanceHistory, WorkflowInstance
from govflow.organisations.models import Organisation

ROOT = Path(__file__).resolve().parents[1]
BROKEN = ROOT / "tests" / "engine" / "broken"


def run_govflow(*args, env=None, cwd=ROOT):
    """Run the installed ``govflow`` command in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "govflow.cli", *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120)


def test_workflows_check_passes_on_the_bundled_definitions():
    result = run_govflow("workflows", "check")
    assert result.returncode == 0, result.stderr
    assert "commitment version 1" in result.stdout


def test_workflows_check_prints_file_line_message_for_every_problem_and_exits_non_zero():
    result = run_govflow("workflows", "check", str(BROKEN.relative_to(ROOT)))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("tests/engine/broken/")]
    assert "tests/engine/broken/unknown_guard.yaml:16: transition 'finish' names unknown guard 'os.path.isdir'" in result.stderr
    assert "tests/engine/broken/syntax_error.yaml:9: YAML syntax error" in result.stderr
    assert len({line.split(":")[0] for line in lines}) == len(list(BROKEN.glob("*.yaml")))


def test_the_app_refuses_to_start_on_an_invalid_bundled_definition_without_a_traceback(tmp_path):
    env = {"GOVFLOW_WORKFLOWS": str(BROKEN), "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    for args in (["workflows", "list"], ["run", "--port", "5999"]):
        result = run_govflow(*args, env=env)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert "unknown_guard.yaml:16: transition 'finish' names unknown guard 'os.path.isdir'" in result.stderr
        assert "govflow refuses to start" in result.stderr
    wsgi = subprocess.run([sys.executable, "-c", "import wsgi"], capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}, timeout=60)
    assert wsgi.returncode == 2 and "Traceback" not in wsgi.stderr and "govflow refuses to start" in wsgi.stderr


def test_users_create_makes_an_account_and_refuses_a_duplicate(app):
    runner = app.test_cli_runner()
    args = [
        "users",
        "create",
        "--email",
        "New.Person@Test.example",
        "--name",
        "New Person",
        "--role",
        "admin",
        "--role",
        "signatory",
        "--password",
        "a-long-password",
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "new.person@test.example"))
        assert user.role_names == {"admin", "signatory"}
        assert "a-long-password" not in user.password_hash
    again = runner.invoke(cli, args)
    assert again.exit_code != 0 and "already exists" in again.output
    bad_role = runner.invoke(cli, ["users", "create", "--email", "x@test.example", "--name", "X", "--role", "root", "--password", "a-long-password"])
    assert bad_role.exit_code != 0 and "unknown role" in bad_role.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def _counts(app):
    with app.app_context():
        return {
            m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
            for m in (User, Organisation, Commitment, WorkflowInstance, InstanceHistory)
        }


def test_demo_load_is_idempotent_and_creates_the_documented_accounts(app):
    runner = app.test_cli_runner()
    first = runner.invoke(cli, ["demo", "load"])
    assert first.exit_code == 0, first.output
    after_first = _counts(app)
    second = runner.invoke(cli, ["demo", "load"])
    assert "nothing changed" in second.output
    assert _counts(app) == after_first
    # A line per stage as it ends, with its counts, between the announcement and the total (nobody waits in silence).
    from govflow.demo import LAUREATE_TEAMS, ORGANISATIONS, REFERRALS, SIGNATURES, USERS

    stages = [line.strip() for line in first.output.splitlines()]
    assert stages[0] == "demo data: loading, stage by stage"
    assert stages[1:10] == [
        "workflow definitions, charters and keys: ready",
        f"users: {len(USERS)} created, 0 already there",
        f"organisations: {len(ORGANISATIONS)} created, 0 already there",
        f"committee and referrals: committee created, referrals {len(REFERRALS)} created, 0 already there",
        f"sandbox teams: {len(LAUREATE_TEAMS)} created, 0 already there",
        "sandbox edition 2023: replayed (6 applications, 4 laureates and their roadmaps)",
        "sandbox edition 2026: call opened",
        f"signatures and commitments: signatures {len(SIGNATURES)} created, 0 already there, 16 commitment(s) made",
        f"demo data: {len(USERS) + len(ORGANISATIONS) + 1 + len(REFERRALS) + len(LAUREATE_TEAMS) + 2 + len(SIGNATURES)} item(s) created",
    ]
    again = [line.strip() for line in second.output.splitlines()]
    assert f"users: 0 created, {len(USERS)} already there" in again and "sandbox edition 2023: already there" in again
    assert f"signatures and commitments: signatures 0 created, {len(SIGNATURES)} already there, 0 commitment(s) made" in again
    readme = (ROOT / "README.md").read_text()

    with app.app_context():
        roles = {}
        for email, _name, _roles in USERS:
            user = db.session.scalar(sa.select(User).where(User.email == email))
            assert user is not None and email in readme
            for r in user.role_names:
                roles[r] = roles.get(r, 0) + 1
        assert roles["admin"] >= 1 and roles["signatory"] >= 2 and roles["committee_member"] >= 4
        assert roles["programme_manager"] >= 1
        states = set(db.session.scalars(sa.select(WorkflowInstance.status)))
        assert {"draft", "declared", "evidenced", "verified"} <= states
        orgs = db.session.scalars(sa.select(Organisation)).all()
        assert len(orgs) >= 2


def test_workflows_load_registers_once_and_refuses_an_edited_version(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["workflows", "load"])
    assert result.exit_code == 0 and "unchanged  commitment version 1" in result.output
    from govflow.instances.models import WorkflowDefinitionRecord

    with app.app_context():
        record = db.session.get(WorkflowDefinitionRecord, ("commitment", 1))
        record.sha256 = "0" * 64
        db.session.commit()
    refused = runner.invoke(cli, ["workflows", "load"])
    assert refused.exit_code == 1
    assert "publish the change as version 2" in refused.output


def test_charters_check_reports_every_problem_and_the_app_refuses_to_start_on_a_broken_charter(tmp_path):
    broken = ROOT / "tests" / "charters" / "broken"
    result = run_govflow("charters", "check", str(broken.relative_to(ROOT)))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "tests/charters/broken/unknown_key.yaml:9: unknown key 'sumary'" in result.stderr
    assert run_govflow("charters", "check").returncode == 0
    env = {"GOVFLOW_CHARTERS": str(broken), "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    refused = run_govflow("workflows", "list", env=env)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "unknown_key.yaml:9: unknown key 'sumary'" in refused.stderr and "govflow refuses to start" in refused.stderr


def test_committees_are_created_with_their_rules_and_members_appointed(app):
    from govflow.accounts.services import create_user
    from govflow.reviews.models import Committee, CommitteeMember

    runner = app.test_cli_runner()
    bad = runner.invoke(cli, ["committees", "create", "Regional committee", "--quorum", "share:150"])
    assert bad.exit_code != 0 and "1" in bad.output
    ok = runner.invoke(cli, ["committees", "create", "Regional committee", "--quorum", "count:3", "--rule", "two_thirds", "--tie", "unfavourable"])
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        create_user("chair@test.example", "Chair", "govflow-demo", ["committee_member"])
        db.session.commit()
    assert runner.invoke(cli, ["committees", "add-member", "Regional committee", "chair@test.example", "--role", "chair"]).exit_code == 0
    with app.app_context():
        committee = db.session.scalar(sa.select(Committee))
        assert (committee.quorum_kind, committee.quorum_value, committee.decision_rule, committee.tie_outcome) == ("count", 3, "two_thirds", "unfavourable")
        assert db.session.scalar(sa.select(CommitteeMember.role)) == "chair"


def test_make_run_prepares_the_database_and_serves_with_the_app_built_once(tmp_path, monkeypatch):
    """`govflow demo serve` (what `make run` runs): migrations, workflows, keys and demo data, then the server, all
    with one app (five separate commands built it five times, 8.9 s on an existing database)."""
    import werkzeug.serving
    from click.testing import CliRunner

    import govflow

    built, served = [], []
    real_create_app = govflow.create_app

    def counted_create_app(*args, **kwargs):
        app = real_create_app(*args, **{"instance_path": str(tmp_path / "instance"), **kwargs})  # its keys stay in tmp_path
        built.append(app)
        return app

    monkeypatch.setattr(govflow, "create_app", counted_create_app)
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda host, port, app, **options: served.append((host, port, app, options)))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'serve.sqlite3'}")
    monkeypatch.delenv("GOVFLOW_PORT", raising=False)
    result = CliRunner().invoke(cli, ["demo", "serve", "--port", "5123"])
    assert result.exit_code == 0, result.output
    assert len(built) == 1 and served == [("127.0.0.1", 5123, built[0], {"threaded": True, "use_reloader": False})]
    assert "demo data: 31 item(s) created" in result.output and "ready in" in result.output
    assert built[0].config["GOVFLOW_BASE_URL"] == "http://127.0.0.1:5123"
    with built[0].app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) >= 4
        assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) is not None
