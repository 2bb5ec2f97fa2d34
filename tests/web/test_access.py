"""Every route declares its access rule; a route without one is refused; wrong roles are refused."""

from __future__ import annotations

import pytest

from govflow.access import ACCESS_ATTR

from ..conftest import login

PUBLIC = {
    "main.index",
    "main.healthz",
    "main.favicon",
    "accounts.login",
    "accounts.set_language",
    "instances.definitions",
    "instances.definition",
    "static",
    # Trust endpoints: anyone verifies without an account (attestation routes still refuse non-public subjects).
    "attestations.keys_json",
    "attestations.show",
    "attestations.credential_json",
    "attestations.receipt_json",
    "attestations.bundle_json",
    "attestations.status_list",
    # Charters and the public register are open data.
    "charters.charters",
    "charters.charter",
    "register.index",
    "register.download_csv",
    "register.download_json",
    "register.download_jsonl",
    "reviews.published_decisions",
    # Sandbox programmes, their calls, laureates and published syntheses are public; everything else of theirs is not.
    "sandbox.programmes",
    "sandbox.programme",
    "attestations.get_sth",
    "attestations.get_sth_consistency",
    "attestations.get_proof_by_hash",
    "attestations.get_entries",
    "attestations.verify",
    # The log as C2SP tlog-tiles: the checkpoint and immutable tiles (kinds and commitments only).
    "attestations.checkpoint",
    "attestations.tile",
    # Opened ballots: public once the decision is, committee members (not recused) before.
    "reviews.ballot_openings",
}
# Query strings for GET routes that need them (a request without them is a 400 with a sentence).
QUERIES = {"attestations.get_sth_consistency": "?first=0&second=0", "attestations.get_proof_by_hash": None, "attestations.get_entries": "?start=0&end=0"}


def test_every_route_declares_an_access_rule(app):
    missing = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and getattr(app.view_functions[rule.endpoint], ACCESS_ATTR, None) is None
    ]
    assert missing == []


def test_exactly_the_expected_routes_are_public(app):
    public = {
        rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint == "static" or getattr(app.view_functions[rule.endpoint], ACCESS_ATTR) == "public"
    }
    assert public == PUBLIC


def test_a_route_without_an_access_rule_is_refused(app_factory):
    app = app_factory()
    app.add_url_rule("/undeclared", "undeclared", lambda: "secret")
    response = app.test_client().get("/undeclared")
    assert response.status_code == 403
    assert b"secret" not in response.data


def _get_urls(app):
    """Every GET route without path parameters, with a concrete URL (and query string when one is needed)."""
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static":
            query = QUERIES.get(rule.endpoint, "")
            if query is not None:
                yield rule.endpoint, rule.rule + query


def test_anonymous_visitors_reach_only_public_pages(app, client):
    for endpoint, url in _get_urls(app):
        response = client.get(url)
        response.close()  # a streamed download is closed, not left to the garbage collector
        if endpoint in PUBLIC:
            assert response.status_code == 200, url
        else:
            assert response.status_code == 302 and response.headers["Location"].startswith("/login"), url


@pytest.mark.parametrize("roles", [(), ("signatory",), ("committee_member",), ("programme_manager",), ("admin",)])
def test_signed_in_users_of_every_role_get_pages_not_errors(app, client, make_user, roles):
    user = make_user(roles=roles)
    login(client, user.email)
    for endpoint, url in _get_urls(app):
        response = client.get(url)
        expected = {200, 302} if endpoint in ("main.index", "accounts.login") else {200}
        if endpoint == "charters.new_organisation" and not set(roles) & {"signatory", "admin"}:
            expected = {403}  # only signatories (and administrators) create organisations
        if endpoint == "reviews.interests" and not set(roles) & {"committee_member", "committee_secretary", "programme_manager"}:
            expected = {403}  # declarations of interests are for committee members and sandbox evaluators
        if endpoint == "sandbox.new_programme" and "programme_manager" not in roles:
            expected = {403}  # only programme managers open programmes
        if endpoint == "reviews.new_referral":
            expected = {403}  # these users belong to no organisation
        response.close()  # a streamed download is closed, not left to the garbage collector
        assert response.status_code in expected, (url, roles, response.status_code)


def test_organisation_pages_are_refused_to_outsiders(app, client, make_user, make_org):
    insider = make_user()
    outsider = make_user()
    org = make_org([(insider, "officer")])
    login(client, outsider.email)
    assert client.get(f"/organisations/{org.id}").status_code == 403
    client.post("/logout")
    login(client, insider.email)
    assert client.get(f"/organisations/{org.id}").status_code == 200
