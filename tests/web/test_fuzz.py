"""Fuzzing every form and query parameter (Hypothesis, bounded examples): whatever is sent, never a 5xx, and a request
answered with a refusal or an error changes nothing."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..conftest import login
from .matrix_routes import CASES
from .matrix_world import EMAILS, PERSONAS, build_world
from .test_route_matrix import fingerprint

pytestmark = pytest.mark.slow

# The names forms and query strings use across the app, so that each route gets values for the fields it reads.
FIELDS = (
    "title",
    "name",
    "email",
    "password",
    "current",
    "new",
    "confirm",
    "text",
    "reason",
    "statement",
    "comment",
    "rationale",
    "evidence",
    "url",
    "description",
    "kind",
    "role",
    "answer",
    "choice",
    "status",
    "starts_on",
    "due_on",
    "when",
    "place",
    "call_opens_on",
    "call_closes_on",
    "edition",
    "cohort_size",
    "support_months",
    "user_id",
    "axis_id",
    "organisation_id",
    "committee_id",
    "interests",
    "credential",
    "lang",
    "next",
    "target_date",
    "country",
    "q",
    "page",
    "year",
    "start",
    "end",
    "first",
    "second",
    "tree_size",
    "hash",
    "title_en",
    "title_fr",
    "summary",
    "partners",
    "expected_version",
)
values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x1F), min_size=1, max_size=5),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", "0", "-1", "9999-12-31", "0001-01-01", "2026-02-30", "1e309", "NaN", "null", "[]", "{}", "'; DROP TABLE users; --"]),
    st.just("x" * 20_000),
    st.text(alphabet="éàü€😀\u202e\u2028", max_size=10),
)
RUNS = int(os.environ.get("GOVFLOW_FUZZ_EXAMPLES", "3"))


@settings(max_examples=RUNS, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_input_ever_gives_a_server_error_and_refusals_write_nothing(app, data):
    world = getattr(app, "matrix_world", None)
    if world is None:
        world = app.matrix_world = build_world(app)
    clients = {}
    for endpoint, method, template, _, _state, expected in CASES:
        if endpoint in ("accounts.logout", "accounts.password", "static"):
            continue  # these end or change the session; their input is fuzzed in the accounts tests
        # The request is sent by the first person the route lets through (so it reaches its form), or a stranger.
        persona = next((p for p, letter in zip(PERSONAS, expected, strict=True) if letter == "A"), "anonymous")
        if persona not in clients:
            clients[persona] = app.test_client()
            if persona != "anonymous":
                login(clients[persona], EMAILS[persona])
        names = data.draw(st.lists(st.sampled_from(FIELDS), max_size=6, unique=True), label=f"fields of {endpoint}")
        fields = {name: data.draw(values, label=name) for name in names}
        url = template.format(**vars(world))
        before = fingerprint(app) if method == "post" else None
        response = clients[persona].get(url.split("?")[0], query_string=fields) if method == "get" else clients[persona].post(url, data=fields)
        status = response.status_code
        response.close()
        assert status < 500, f"{method.upper()} {url} with {fields!r} as {persona}: {status}"
        if before is not None and status >= 400:
            assert fingerprint(app) == before, f"{method.upper()} {url} with {fields!r} was refused ({status}) but wrote"
