"""The ``govflow`` command: Flask's commands (run, db, shell) plus workflows, users and demo data."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

import click
from click.core import ParameterSource
from flask.cli import AppGroup, FlaskGroup, NoAppException
from flask.cli import run_command as flask_run_command

from .config import PROJECT_ROOT
from .engine import DefinitionError

REFUSAL = "govflow refuses to start: fix the workflow definitions above."


def _create_app():
    """Build the app; an invalid bundled definition becomes a clean CLI error (no traceback)."""
    from . import create_app

    try:
        return create_app()
    except DefinitionError as exc:
        raise NoAppException("\n".join(str(p) for p in exc.problems) + "\n" + REFUSAL) from None


cli = FlaskGroup(name="govflow", create_app=_create_app, help="govflow: governance workflows for ethics charters.")
workflows = AppGroup("workflows", help="Check, register and list workflow definitions.")
users = AppGroup("users", help="Manage user accounts.")
demo = AppGroup("demo", help="Demo data.")
keys = AppGroup("keys", help="Ed25519 keys for attestations and the transparency log.")
attest = AppGroup("attest", help="Attestations (signed credentials).")
audit = AppGroup("audit", help="Tamper evidence.")
log_group = AppGroup("log", help="The transparency log: its sequencer and its state.")
charters = AppGroup("charters", help="Charters as data (workflows/charters/*.yaml).")
committees = AppGroup("committees", help="Ethics committees, their members and voting rules.")


@cli.command("run", params=flask_run_command.params, short_help=flask_run_command.short_help, with_appcontext=False)
@click.pass_context
def run_command(ctx: click.Context, **options) -> None:
    """Run a development server on --port (default: GOVFLOW_PORT, else 5000).

    The port is also the one the default base URL names (http://127.0.0.1:PORT) unless GOVFLOW_BASE_URL is set.
    """
    if ctx.get_parameter_source("port") is ParameterSource.DEFAULT and os.environ.get("GOVFLOW_PORT"):
        options["port"] = int(os.environ["GOVFLOW_PORT"])
    os.environ["GOVFLOW_PORT"] = str(options["port"])  # read by config.base_url() when the app is built, just after
    ctx.invoke(flask_run_command, **options)


def _check_files(load, targets: list[Path], describe) -> None:
    """Run a loader over ``targets``; print file:line: message per problem and exit 1, or one line per file."""
    from .engine.definitions import definition_files

    try:
        found = load(targets)
    except DefinitionError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        n = len(exc.problems)
        click.echo(f"{n} problem{'s' if n != 1 else ''} found in {len(definition_files(targets))} file(s).", err=True)
        sys.exit(1)
    for item in found:
        click.echo(f"ok  {describe(item)}")


@workflows.command("check", with_appcontext=False)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def workflows_check(paths: tuple[Path, ...]) -> None:
    """Validate definition files (default: the bundled workflows/); print file:line: message per problem."""
    from . import build_registry
    from .engine.definitions import load_definitions

    vocabulary = build_registry().build_engine().registry.vocabulary()
    _check_files(
        lambda targets: load_definitions(targets, vocabulary, base=Path.cwd()),
        list(paths) or [PROJECT_ROOT / "workflows"],
        lambda d: f"{d.file}: {d.name} version {d.version} ({len(d.states)} states, {len(d.transitions)} transitions)",
    )


@workflows.command("load")
def workflows_load() -> None:
    """Register the loaded definitions in the database (idempotent; refuses an edited version)."""
    from .charters.catalog import CharterChanged, register_all
    from .extensions import db
    from .instances.services import DefinitionChanged, get_engine, register_definitions

    try:
        rows = register_definitions(get_engine())
        charter_rows = register_all()
    except (DefinitionChanged, CharterChanged) as exc:
        db.session.rollback()
        click.echo(str(exc), err=True)
        sys.exit(1)
    db.session.commit()
    for d, what in rows:
        click.echo(f"{what:9}  {d.name} version {d.version}")
    for c, what in charter_rows:
        click.echo(f"{what:9}  charter {c.slug} version {c.version}")


@charters.command("check", with_appcontext=False)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def charters_check(paths: tuple[Path, ...]) -> None:
    """Validate charter files (default: workflows/charters/); print file:line: message per problem."""
    from .charters.definitions import load_charters

    _check_files(
        lambda targets: load_charters(targets, base=Path.cwd()),
        list(paths) or [PROJECT_ROOT / "workflows" / "charters"],
        lambda c: f"{c.file}: {c.slug} version {c.version} ({len(c.pillars)} pillars, {len(c.themes)} themes)",
    )


@workflows.command("list")
def workflows_list() -> None:
    """List the loaded definitions with their instance counts."""
    from .instances.services import get_engine, instance_counts

    counts = instance_counts()
    for d in get_engine().definitions():
        click.echo(f"{d.name} v{d.version}  {sum(counts.get(d.key, {}).values())} instance(s)  {d.file}")


@workflows.command("migrate")
@click.argument("name")
@click.option("--to", "to_version", type=int, required=True, help="the definition version to move running instances to")
@click.option("--map", "pairs", multiple=True, metavar="OLD=NEW", help="map a state of the old version to one of the new")
@click.option("--dry-run", is_flag=True, help="print what would move and change nothing")
def workflows_migrate(name: str, to_version: int, pairs: tuple[str, ...], dry_run: bool) -> None:
    """Move running instances of NAME to another definition version, with an explicit state mapping."""
    from .extensions import db
    from .instances.migration import MigrationRefused, migrate_instances, parse_mapping

    try:
        plan = migrate_instances(name, to_version, parse_mapping(pairs), dry_run=dry_run)
    except MigrationRefused as exc:
        db.session.rollback()
        raise click.ClickException(f"migration refused, nothing changed: {exc.message}") from None
    for line in plan.summary():
        click.echo(line)
    if dry_run:
        db.session.rollback()
        click.echo(f"dry run: {plan.total} instance(s) would move to version {to_version}; nothing changed")
    else:
        db.session.commit()
        click.echo(f"moved {plan.total} instance(s) of '{name}' to version {to_version}")


@workflows.command("diagram")
@click.argument("name")
@click.option("--version", "version", type=int, default=None, help="definition version (default: the latest)")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "svg"]), default="mermaid", show_default=True)
@click.option("--highlight", default=None, help="a state to highlight")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="file to write (default: stdout)")
def workflows_diagram(name: str, version: int | None, fmt: str, highlight: str | None, output: Path | None) -> None:
    """Write the state diagram of a definition (Mermaid text, or SVG when Graphviz is installed)."""
    from .engine import EngineError
    from .engine.diagrams import mermaid, svg
    from .instances.services import get_engine

    try:
        definition = get_engine().definition(name, version)
        text = mermaid(definition, highlight) if fmt == "mermaid" else svg(definition, highlight)
    except (EngineError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if text is None:
        raise click.ClickException("SVG needs Graphviz (the `dot` program and the `graphviz` Python package); use --format mermaid")
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text)


@committees.command("create")
@click.argument("name")
@click.option("--quorum", default="share:50", show_default=True, help="count:N (members who voted) or share:P (percent of members not recused)")
@click.option("--rule", type=click.Choice(["simple_majority", "two_thirds", "unanimity"]), default="simple_majority", show_default=True)
@click.option("--tie", type=click.Choice(["changes_requested", "unfavourable", "new_round"]), default="new_round", show_default=True)
@click.option("--no-majority", type=click.Choice(["changes_requested", "unfavourable", "new_round"]), default="changes_requested", show_default=True)
@click.option("--publish", type=click.Choice(["always", "with_consent", "never"]), default="with_consent", show_default=True)
def committees_create(name: str, quorum: str, rule: str, tie: str, no_majority: str, publish: str) -> None:
    """Create an ethics committee with its voting rules."""
    from .extensions import db
    from .reviews.services import create_committee

    kind, _sep, value = quorum.partition(":")
    try:
        committee = create_committee(
            name, publish_policy=publish, quorum_kind=kind, quorum_value=int(value), decision_rule=rule, tie_outcome=tie, no_majority_outcome=no_majority
        )
    except ValueError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created committee {committee.id}: {committee.name}")


@committees.command("add-member")
@click.argument("committee_name")
@click.argument("email")
@click.option("--role", type=click.Choice(["chair", "member", "secretary"]), default="member", show_default=True)
@click.option("--until", "term_end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="end of the term (YYYY-MM-DD)")
def committees_add_member(committee_name: str, email: str, role: str, term_end) -> None:
    """Appoint an existing user to a committee for a term starting today."""
    import sqlalchemy as sa

    from .accounts.services import find_user
    from .extensions import db
    from .reviews.models import Committee
    from .reviews.services import add_committee_member

    committee = db.session.scalar(sa.select(Committee).where(Committee.name == committee_name))
    user = find_user(email)
    if committee is None or user is None:
        raise click.ClickException("unknown committee or user")
    add_committee_member(committee, user, role, term_end=term_end.date() if term_end else None)
    db.session.commit()
    click.echo(f"{user.name} is now {role} of {committee.name}")


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", "roles", multiple=True, help="admin, signatory, committee_member, committee_secretary, programme_manager")
@click.password_option(help="at least 10 characters (prompted when not given)")
def users_create(email: str, name: str, roles: tuple[str, ...], password: str) -> None:
    """Create a user account."""
    from .accounts.services import AccountError, create_user
    from .extensions import db

    try:
        user = create_user(email, name, password, roles)
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created user {user.id} <{user.email}> with roles: {', '.join(sorted(user.role_names)) or 'none'}")


@cli.command("tick")
@click.option("--now", "now_text", default=None, help="pretend it is this UTC time (ISO 8601), for tests and replays")
@click.option("--batch-size", default=500, show_default=True, help="instances claimed per transaction")
def tick_command(now_text: str | None, batch_size: int) -> None:
    """Fire every overdue timeout transition, record due reminders and flag overdue milestones (idempotent; safe to run concurrently)."""
    from datetime import UTC, datetime

    from .instances.deadlines import tick

    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
            now = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
        except ValueError:
            raise click.BadParameter(f"'{now_text}' is not an ISO 8601 date-time", param_hint="--now") from None
    report = tick(now, batch_size=batch_size)
    click.echo(
        f"tick: fired {report.fired} timeout(s), recorded {report.reminders} reminder(s), flagged {report.flagged} overdue milestone(s), "
        f"skipped {report.skipped}"
    )
    for message in report.errors:
        click.echo(f"tick: {message}", err=True)
    if report.errors:
        sys.exit(1)


@demo.command("load")
def demo_load() -> None:
    """Load the demo accounts, organisations and commitments (running it twice changes nothing)."""
    from .attestations.sequencer import integrate_all
    from .demo import load_demo

    click.echo("demo data: loading, stage by stage")
    created = load_demo(progress=lambda line: click.echo(f"  {line}"))
    click.echo(f"demo data: {created} item(s) created" if created else "demo data: already loaded, nothing changed")
    integrated = integrate_all()
    if integrated:
        click.echo(f"transparency log: {integrated} entries integrated")


@demo.command("serve", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="The interface to listen on.")
@click.option("--port", type=int, default=None, help="The port (default: GOVFLOW_PORT, else 5000).")
@click.pass_context
def demo_serve(ctx: click.Context, host: str, port: int | None) -> None:
    """Prepare the database (migrations, workflows, keys, demo data) and serve the app on it: what `make run` does, with
    the app built once (five separate commands built it five times). A development server: production runs gunicorn
    (docs/operations.md)."""
    from flask.cli import ScriptInfo
    from flask_migrate import upgrade
    from werkzeug.serving import run_simple

    port = port or int(os.environ.get("GOVFLOW_PORT") or 5000)
    os.environ["GOVFLOW_PORT"] = str(port)  # read by config.base_url() when the app is built, just below
    started = time.perf_counter()
    app = ctx.ensure_object(ScriptInfo).load_app()
    built = time.perf_counter() - started
    with app.app_context():
        upgrade(directory=str(PROJECT_ROOT / "migrations"))
        ctx.invoke(workflows_load)
        ctx.invoke(keys_init)
        ctx.invoke(demo_load)
    click.echo(f"ready in {time.perf_counter() - started:.1f} s (the app built once, in {built:.1f} s): http://{host}:{port}/")
    run_simple(host, port, app, threaded=True, use_reloader=False)  # what `flask run` serves with, minus the reloader


@keys.command("init")
def keys_init() -> None:
    """Create the issuing key and the log-signing key when missing (idempotent); private keys never printed."""
    from .attestations.keys import init_keys
    from .attestations.sequencer import integrate_all
    from .extensions import db

    for purpose, did, what in init_keys():
        click.echo(f"{purpose:12} {what:24} {did}")
    db.session.commit()
    integrate_all()  # signs the log's first checkpoint (or integrates what is pending) with the key just made


@keys.command("rotate")
@click.option("--purpose", type=click.Choice(["attestation", "log"]), default="attestation", show_default=True)
def keys_rotate(purpose: str) -> None:
    """Retire the current key (kept published so old attestations still verify) and start a new one."""
    from .attestations.keys import KeysMissing, rotate_key
    from .extensions import db

    try:
        old, new = rotate_key(purpose)
    except KeysMissing as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"{purpose}: retired {old}\n{purpose}: now signing with {new}")


@attest.command("verify", with_appcontext=False)
@click.argument("credential", type=click.Path(dir_okay=False))
@click.option("--keys", "keys_path", type=click.Path(dir_okay=False), help="saved key history (/.well-known/govflow-keys.json)")
@click.option("--status-list", "status_path", type=click.Path(dir_okay=False), help="saved status list credential (/status/N)")
@click.option("--receipt", "receipt_path", type=click.Path(dir_okay=False), help="saved log receipt")
def attest_verify(credential: str, keys_path: str | None, status_path: str | None, receipt_path: str | None) -> None:
    """Verify a credential offline, with no database: signature, key validity, revocation, log inclusion.

    A downloaded bundle (credential, receipt, keys, status list) is verified with what it carries unless
    other files are given.
    """
    from .attestations.verify import verify_files

    text, code = verify_files(credential, keys_path, status_path, receipt_path)
    click.echo(text)
    sys.exit(code)


@attest.command("verify-ballots", with_appcontext=False)
@click.argument("openings", type=click.Path(path_type=Path))
@click.option("--keys", "keys_path", type=click.Path(path_type=Path), help="The key history (/.well-known/govflow-keys.json).")
@click.option("--credential", "credential_path", type=click.Path(path_type=Path), help="The decision's credential, to check it names this tally.")
def attest_verify_ballots(openings: Path, keys_path: Path | None, credential_path: Path | None) -> None:
    """Check a published vote's opened ballots offline (/decisions/<id>/ballots.json): every counted ballot was logged
    before the close, one per voter, and the tally is made of exactly them. Exit 0 when everything holds."""
    from .attestations.verify import verify_ballot_files

    text, code = verify_ballot_files(openings, keys_path, credential_path)
    click.echo(text)
    sys.exit(code)


@log_group.command("sequencer")
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds between rounds.")
@click.option("--once", is_flag=True, help="Integrate what is pending, sign a checkpoint and stop.")
def log_sequencer(interval: float, once: bool) -> None:
    """Integrate pending log entries and sign checkpoints (run it as a service when GOVFLOW_SEQUENCER=off)."""
    from .attestations.sequencer import integrate_all, run_forever

    if once:
        click.echo(f"log: {integrate_all()} entries integrated")
        return
    click.echo(f"log sequencer: a round every {interval} s (Ctrl-C to stop)")
    with contextlib.suppress(KeyboardInterrupt):
        run_forever(interval)


@log_group.command("status")
def log_status() -> None:
    """The log's size, its pending entries and its latest checkpoint."""
    from .attestations.log import latest_head, log_size, pending_count

    head = latest_head()
    click.echo(f"entries integrated: {log_size()}")
    click.echo(f"entries pending:    {pending_count()}")
    click.echo("latest checkpoint:" + ("\n" + head.checkpoint if head is not None else " none yet"))


@audit.command("verify")
def audit_verify() -> None:
    """Recompute the transparency log from the database and name the first entry that was tampered with."""
    from .attestations.audit import audit_log

    report = audit_log()
    for line in report.lines():
        click.echo(line)
    sys.exit(0 if report.ok else 1)


cli.add_command(workflows)
cli.add_command(keys)
cli.add_command(charters)
cli.add_command(committees)
cli.add_command(attest)
cli.add_command(audit)
cli.add_command(log_group)
cli.add_command(users)
cli.add_command(demo)


def main() -> None:
    """Entry point of the ``govflow`` command."""
    cli.main(prog_name="govflow")


if __name__ == "__main__":  # pragma: no cover
    main()
