"""Every route × every kind of person × the subject states that matter: who passes and who is refused, and a refused
write changes nothing. The table is ``matrix_routes.CASES``; adding a route without a case fails here."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from govflow.extensions import db

from ..conftest import DEMO_PASSWORD, csrf_token, login
from .matrix_routes import CASES
from .matrix_world import EMAILS, PERSONAS, build_world


def fingerprint(app) -> str:
    """What a refused request must leave as it was: every row of every table, column by column (a digest)."""
    digest = hashlib.sha256()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            for row in db.session.execute(sa.select(table).order_by(*order)):
                digest.update(repr((table.name, tuple(row))).encode())
        db.session.rollback()
    return digest.hexdigest()


@pytest.fixture
def matrix(app):
    world = build_world(app)
    clients = {}
    for persona in PERSONAS:
        client = app.test_client()
        if persona != "anonymous":
            login(client, EMAILS[persona])
        clients[persona] = client
    return app, world, clients


def test_every_route_of_the_app_has_its_cases(app):
    routes = {rule.endpoint for rule in app.url_map.iter_rules()}
    covered = {endpoint for endpoint, *_ in CASES}
    assert routes - covered == set(), "a route without a row in tests/web/matrix_routes.py"
    assert covered - routes == set(), "a row for a route the app no longer has"
    methods = {(rule.endpoint, method.lower()) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert methods <= {(endpoint, method) for endpoint, method, *_ in CASES}, "every method of every route is tried"
    assert all(len(expected) == len(PERSONAS) for *_, expected in CASES)


@pytest.mark.slow
def test_each_person_is_let_through_or_refused_as_the_table_says_and_refusals_change_nothing(matrix):
    app, world, clients = matrix
    mismatches, changed = [], []
    # Signing out ends every session of the person (the token is drawn again): tried last, with fresh sessions.
    for endpoint, method, template, data, state, expected in sorted(CASES, key=lambda case: case[0] == "accounts.logout"):
        url = template.format(**vars(world))
        for persona, letter in zip(PERSONAS, expected, strict=True):
            client = clients[persona]
            if endpoint == "accounts.logout":  # ends the session: tried with a fresh one
                client = app.test_client()
                if persona != "anonymous":
                    login(client, EMAILS[persona])
            before = fingerprint(app) if method == "post" and letter != "A" else None
            response = getattr(client, method)(url, data=data)
            status = response.status_code
            refused_to_sign_in = status == 302 and "/login" in response.headers.get("Location", "")
            response.close()
            assert status < 500, f"{method.upper()} {url} as {persona}: {status}"
            got = "R" if status == 403 or refused_to_sign_in else "N" if status == 404 else "A"
            if got != letter:
                mismatches.append(f"{method.upper()} {url} ({state or endpoint}) as {persona}: expected {letter}, got {got} ({status})")
            if before is not None and fingerprint(app) != before:
                changed.append(f"{method.upper()} {url} as {persona} was refused but changed the database")
    assert mismatches == [] and changed == [], "\n".join(mismatches + changed)


def test_every_post_route_refuses_a_request_without_its_csrf_token_and_changes_nothing(app_factory):
    """CSRF on every form: each POST route of the table, sent by a person it lets through but without the form's
    token (as a page of another site would send it), is refused with 400 and writes nothing."""
    app = app_factory(WTF_CSRF_ENABLED=True)
    world = build_world(app)
    clients = {}
    missed = []
    for _endpoint, method, template, data, _state, expected in CASES:
        if method != "post":
            continue
        persona = next((p for p, letter in zip(PERSONAS, expected, strict=True) if letter == "A"), "anonymous")
        if persona not in clients:
            clients[persona] = app.test_client()
            if persona != "anonymous":
                token = csrf_token(clients[persona].get("/login").get_data(as_text=True))
                signed = clients[persona].post("/login", data={"email": EMAILS[persona], "password": DEMO_PASSWORD, "csrf_token": token})
                assert signed.status_code == 302 and "/login" not in signed.headers["Location"], f"{persona} could not sign in"
        url = template.format(**vars(world))
        before = fingerprint(app)
        response = clients[persona].post(url, data=data or {"csrf_token": "forged"})
        if response.status_code != 400 or fingerprint(app) != before:
            missed.append(f"POST {url} as {persona}: {response.status_code}")
    assert missed == [], "\n".join(missed)
