"""Pages answer conditional GETs (issue #16, item 4): an ETag on every page answered whole, 304 with no body when the
reader's copy is current, a new ETag when what the page shows changed; never shared between readers."""

from __future__ import annotations

from ..conftest import login


def test_a_page_seen_before_answers_304_until_it_changes(client, make_user, make_org, make_commitment):
    first = client.get("/register")
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag
    assert "no-cache" in first.headers["Cache-Control"] and "private" in first.headers["Cache-Control"]
    assert "Cookie" in first.headers["Vary"]
    again = client.get("/register", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    officer = make_user()
    org = make_org([(officer, "officer")], name="Newly Listed", kind="company")
    make_commitment(officer, org, steps=[("declare", None, {})], statement="Explain every model to its users in plain words.")
    changed = client.get("/register", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "Newly Listed" in changed.get_data(as_text=True)
    assert changed.headers["ETag"] != etag


def test_signed_in_pages_are_conditional_too_and_errors_never_are(app, client, make_user):
    user = make_user()
    login(client, user.email)
    client.get("/dashboard")  # shows the welcome message once
    page = client.get("/dashboard")
    assert client.get("/dashboard", headers={"If-None-Match": page.headers["ETag"]}).status_code == 304
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "ETag" not in missing.headers
