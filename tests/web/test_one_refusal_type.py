"""One refusal type: every service raises ``Refused`` (status and sentence); the web answers each the same way; nothing
else becomes a polite refusal — a ValueError or a CHECK violation is a programming error and answers 500, changing
nothing; a duplicate is translated only where the code expects one (``govflow.uniques.expect_duplicate``)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
import sqlalchemy as sa

import govflow
from govflow.actions import act, refusal, run_form
from govflow.engine import EngineError, GuardFailed, InvalidTransition, MissingInput, NotPermitted, Refused, StaleInstance
from govflow.extensions import db
from govflow.organisations.models import Organisation
from govflow.uniques import expect_duplicate
from tests.conftest import login

ROOT = Path(govflow.__file__).parent

# Narrow catches of the exceptions a parser of untrusted bytes raises, each next to the parsing it guards.
PARSING_CATCHES = {
    "attestations/verify.py",  # the offline verifier reads whatever file it is given
    "attestations/credentials.py",  # decoding a credential from its compact form
    "attestations/views.py",  # base64 and JSON sent to the public verification form
    "attestations/services.py",  # a status-list index read from a credential
    "organisations/uploads.py",  # PDF, image and archive parsers on uploaded files
    "charters/definitions.py",  # a date in a charter file, reported as file:line
    "engine/definitions.py",  # the same for workflow files
    "engine/durations.py",  # ISO 8601 durations in workflow files
    "cli.py",  # the command line prints a refusal or a bad argument and exits non-zero
}
BROAD = {"ValueError", "IntegrityError", "<bare>"}
# Where a request's action runs, catching everything would hide a bug too (a background loop may log and go on).
REQUEST_MODULES = {"views.py", "actions.py", "services.py", "roadmaps.py", "workflow.py", "policies.py", "web.py"}


def _caught_names(handler: ast.ExceptHandler) -> set[str]:
    if handler.type is None:
        return {"<bare>"}
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "?") for node in nodes}


def test_no_view_or_service_turns_a_valueerror_or_an_integrityerror_into_a_refusal():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in PARSING_CATCHES or relative == "uniques.py":  # uniques: the one place that reads a duplicate
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ExceptHandler):
                continue
            broad = BROAD | ({"Exception", "BaseException"} if path.name in REQUEST_MODULES else set())
            if _caught_names(node) & broad:
                found.append(f"govflow/{relative}:{node.lineno}: except {', '.join(sorted(_caught_names(node)))}")
    assert found == []


def test_every_error_a_service_raises_is_a_refused():
    not_refusals = []
    for info in pkgutil.walk_packages([str(ROOT)], "govflow."):
        module = importlib.import_module(info.name)
        if info.name.rsplit(".", 1)[-1] not in ("services", "roadmaps", "uploads", "catalog", "migration", "policies", "ballots", "cohort"):
            continue
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == info.name and issubclass(cls, Exception) and not issubclass(cls, Refused):
                not_refusals.append(f"{info.name}.{name}")
    assert not_refusals == []


def test_the_engine_errors_are_refusals_with_a_status():
    for cls, status in [(NotPermitted, 403), (InvalidTransition, 409), (StaleInstance, 409), (EngineError, 400)]:
        assert issubclass(cls, Refused) and cls("x").status == status
    assert GuardFailed("g", "why").status == 422 and MissingInput("f", "x").status == 422
    assert Refused("Not now.", 409).status == 409 and Refused("Not now.").status == 422


@pytest.mark.parametrize(
    ("error", "english", "french"),
    [
        (NotPermitted("you are not allowed to 'submit' here", technical=True), "You are not allowed to take this step.", "pas autorisé"),
        (InvalidTransition("'x' is not possible from state 'draft'", technical=True), "not possible from the current state", "pas possible"),
        (MissingInput("comment", "'comment' is required"), "A required field is missing or invalid: comment.", "comment"),
        (StaleInstance("changed", technical=True), "Nothing was overwritten", "Rien n"),
        (GuardFailed("has_evidence", "attach evidence first"), "This step is refused: attach evidence first", "attach evidence first"),
        (NotPermitted("Only officers can sign."), "Only officers can sign.", "Only officers can sign."),
    ],
    ids=["technical-not-permitted", "technical-invalid", "missing-input", "stale", "guard", "service-sentence-kept"],
)
def test_each_refusal_becomes_one_sentence_in_the_readers_language(app, error, english, french):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert english in refusal(error)[0] and refusal(error)[1] == error.status
    with app.test_request_context("/?lang=fr", headers={"Accept-Language": "fr"}):
        message = refusal(error)[0]
        assert french in message and "'submit'" not in message and "state 'draft'" not in message


def test_act_and_run_form_let_a_valueerror_through_as_the_programming_error_it_is(app):
    def broken():
        raise ValueError("a bug, not a refusal")

    form = type("Form", (), {"validate_on_submit": lambda self: True, "is_submitted": lambda self: True})()
    with app.test_request_context("/", method="POST"):
        with pytest.raises(ValueError):
            act(broken, "Done.", "/")
        with pytest.raises(ValueError):
            run_form(form, broken, "Done.", lambda r: "/")
        page, status = act(lambda: (_ for _ in ()).throw(Refused("Not now.", 409)), "Done.", "/")
        assert status == 409 and "Not now." in page


def test_a_valueerror_in_a_service_is_a_500_and_changes_nothing(app, client, make_user, monkeypatch):
    from govflow.organisations import services as organisations

    real = organisations.create_organisation

    def buggy(*args, **kwargs):
        real(*args, **kwargs)  # writes the organisation, then a bug
        raise ValueError("unexpected")

    monkeypatch.setattr(organisations, "create_organisation", buggy)
    founder = make_user()
    login(client, founder.email)
    response = client.post("/organisations/new", data={"name": "Nova", "kind": "company", "country": "FR"})
    assert response.status_code == 500 and "Nothing was changed" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 0


def test_a_check_violation_is_a_500_not_a_polite_refusal(app, client, make_user, monkeypatch):
    from govflow.organisations import services as organisations

    def breaks_a_check(*args, **kwargs):
        org = Organisation(name="Nova", kind="not-a-kind", country="FR")
        db.session.add(org)
        db.session.flush()  # the CHECK kind_known refuses it: a programming error
        return org

    monkeypatch.setattr(organisations, "create_organisation", breaks_a_check)
    founder = make_user()
    login(client, founder.email)
    response = client.post("/organisations/new", data={"name": "Nova", "kind": "company", "country": "FR"})
    assert response.status_code == 500
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 0


def test_a_duplicate_is_refused_only_on_the_key_the_code_expects(app):
    with app.app_context():
        db.session.add(Organisation(name="Acme", kind="company", country="FR"))
        db.session.commit()
        with pytest.raises(Refused) as refused, expect_duplicate(Organisation.__table__, {"name"}, "An organisation named Acme already exists."):
            db.session.add(Organisation(name="Acme", kind="school", country="FR"))
        assert refused.value.status == 409 and refused.value.sentence == "An organisation named Acme already exists."
        db.session.rollback()  # as act and run_form do with every refusal
        db.session.add(Organisation(name="Beta", kind="company", country="FR"))
        db.session.commit()
        assert sorted(db.session.scalars(sa.select(Organisation.name))) == ["Acme", "Beta"]
        # A duplicate on another key than the one named is not expected.
        with pytest.raises(sa.exc.IntegrityError), expect_duplicate(Organisation.__table__, {"identifier"}, "unused"):
            db.session.add(Organisation(name="Acme", kind="company", country="FR"))
        db.session.rollback()
        # A CHECK violation is never a duplicate.
        with pytest.raises(sa.exc.IntegrityError), expect_duplicate(Organisation.__table__, {"name"}, "unused"):
            db.session.add(Organisation(name="Gamma", kind="bogus", country="FR"))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 2


def test_the_fire_route_refuses_a_tampered_version_field_with_422_and_changes_nothing(app, client, make_user, make_org, make_commitment):
    from tests.conftest import instance_state

    officer = make_user()
    org = make_org(members=[(officer, "officer")])
    commitment = make_commitment(officer, org)
    login(client, officer.email)
    before = instance_state(app, commitment.instance_id)
    response = client.post(f"/instances/{commitment.instance_id}/fire/declare", data={"expected_version": "one"})
    assert response.status_code == 422
    assert instance_state(app, commitment.instance_id) == before
