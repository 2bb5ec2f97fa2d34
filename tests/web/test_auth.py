"""Signing in and out, redirects, and CSRF on forms."""

from __future__ import annotations

from govflow.accounts.models import User
from govflow.extensions import db

from ..conftest import csrf_token, instance_state, login, ref


def test_a_user_signs_in_with_the_right_password_and_sees_their_dashboard(client, make_user):
    user = make_user(name="Inès Dardel")
    login(client, user.email)
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "Inès Dardel" in page.get_data(as_text=True)


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": "not-the-password"})
    assert response.status_code == 401
    assert "Wrong e-mail or password." in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302
    unknown = client.post("/login", data={"email": "nobody@test.example", "password": "whatever-long"})
    assert unknown.status_code == 401
    assert "Wrong e-mail or password." in unknown.get_data(as_text=True)


def test_an_inactive_user_cannot_sign_in(app, client, make_user):
    user = make_user()
    with app.app_context():
        db.session.get(User, user.id).active = False
        db.session.commit()
    assert client.post("/login", data={"email": user.email, "password": "govflow-demo"}).status_code == 401


def test_after_sign_in_only_same_site_paths_are_followed(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": "govflow-demo", "next": "//evil.example/x"})
    assert response.headers["Location"] == "/dashboard"
    client.post("/logout")
    response = client.post("/login", data={"email": user.email, "password": "govflow-demo", "next": "/workflows"})
    assert response.headers["Location"] == "/workflows"


def test_sign_out_is_a_post_and_ends_the_session(client, make_user):
    user = make_user()
    login(client, user.email)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_pages_that_need_an_account_send_anonymous_visitors_to_sign_in(client):
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_forms_without_a_valid_csrf_token_are_refused_and_change_nothing(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        from govflow.accounts.services import create_user
        from govflow.charters.catalog import get_catalog
        from govflow.charters.services import sign_charter, signature_commitments
        from govflow.organisations.services import create_organisation

        user = create_user("officer@test.example", "Officer", "govflow-demo", ["signatory"])
        org = create_organisation("Org", "company", founder=user)
        charter = get_catalog().get("numeum-ethical-ai")
        draft = signature_commitments(sign_charter(user, org, charter, charter.pillar_keys()))[0]
        draft.statement = "A statement long enough to declare."
        commitment = ref(draft)
        db.session.commit()
    client = app.test_client()
    refused = client.post("/login", data={"email": "officer@test.example", "password": "govflow-demo"})
    assert refused.status_code == 400
    assert "form has expired" in refused.get_data(as_text=True)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    ok = client.post("/login", data={"email": "officer@test.example", "password": "govflow-demo", "csrf_token": token})
    assert ok.status_code == 302
    url = f"/instances/{commitment.instance_id}"
    page = client.get(url).get_data(as_text=True)
    assert client.post(f"{url}/fire/declare", data={"declare-expected_version": "1"}).status_code == 400
    forged = client.post(f"{url}/fire/declare", data={"declare-expected_version": "1", "declare-csrf_token": "forged"})
    assert forged.status_code == 400
    assert instance_state(app, commitment.instance_id) == ("draft", 1, 1)
    done = client.post(f"{url}/fire/declare", data={"declare-expected_version": "1", "declare-confirm": "y", "declare-csrf_token": csrf_token(page)})
    assert done.status_code == 302
    assert instance_state(app, commitment.instance_id) == ("declared", 2, 2)
