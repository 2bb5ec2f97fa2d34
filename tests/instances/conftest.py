"""Fixtures the instance pages' tests share."""

from __future__ import annotations

import pytest


@pytest.fixture
def people(make_user, make_org):
    officer = make_user(name="Officer A")
    reviewer = make_user(roles=("committee_member",), name="Independent Reviewer")
    org = make_org([(officer, "officer")], name="Org A")
    return type("People", (), dict(officer=officer, reviewer=reviewer, org=org))
