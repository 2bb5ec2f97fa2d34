"""Each defect found by trying govflow as an attacker would has its regression test here, named after it: reads that
should be refused, server errors at will, a stored crash, formula injection, accounts and uploads."""

from __future__ import annotations

import csv
import io
import os
import threading
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from govflow.accounts.models import User
from govflow.extensions import db
from govflow.instances.models import InstanceHistory, WorkflowInstance
from govflow.organisations.models import Invitation, Membership
from govflow.reviews import services as reviews
from govflow.reviews.models import DossierAttachment, Referral

from .. import samples
from ..conftest import DEMO_PASSWORD, login
from ..reviews.common import DOSSIER
from ..reviews.common import build as build_referral
from ..sandbox import common as sandbox


def table_counts(app) -> dict[str, int]:
    """Rows in every table: what a refused request must leave as it was."""
    with app.app_context():
        return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in db.metadata.sorted_tables}


# -- reads that should be refused -----------------------------------------------------------------------------------
@pytest.fixture
def draft_referral(app):
    """A committee (chair, secretary, two members), a holder and a referral left in draft with a file attached."""
    referral_id, users, holder_id = build_referral(app, members=4)
    with app.app_context():
        from govflow.organisations.models import Organisation
        from govflow.organisations.uploads import inspect_upload

        holder = db.session.get(User, holder_id)
        organisation = db.session.scalars(sa.select(Organisation)).one()
        committee = db.session.get(Referral, referral_id).committee
        draft = reviews.create_referral(holder, organisation, committee, "A draft project", DOSSIER, [], [])
        reviews.attach_file(holder, draft, samples.PDF, inspect_upload(samples.PDF, "draft.pdf", 10_000_000))
        db.session.commit()
        attachment = db.session.scalars(sa.select(DossierAttachment).where(DossierAttachment.referral_id == draft.id)).one()
        return type("D", (), {"id": draft.id, "instance_id": draft.instance_id, "file_id": attachment.id, "users": users, "submitted": referral_id})


def test_committee_members_cannot_read_a_draft_referral(app, client, draft_referral):
    login(client, "m1@test.example")  # the secretary
    assert client.get(f"/instances/{draft_referral.instance_id}").status_code == 403
    assert client.get(f"/referrals/{draft_referral.id}/changes").status_code == 403
    assert b"Training paths" in client.get(f"/instances/{_instance(app, draft_referral.submitted)}").data  # a submitted one is readable


def test_administrators_cannot_read_a_draft_referral_either(app, client, draft_referral, make_user):
    admin = make_user(roles=("admin",))
    login(client, admin.email)
    assert client.get(f"/instances/{draft_referral.instance_id}").status_code == 403


def test_a_secretary_cannot_download_a_file_of_a_draft_dossier(app, client, draft_referral):
    login(client, "m1@test.example")
    response = client.get(f"/referral-files/{draft_referral.file_id}")
    assert response.status_code == 403 and samples.PDF not in response.data
    client.post("/logout")
    login(client, "holder@test.example")
    with client.get(f"/referral-files/{draft_referral.file_id}") as download:
        assert download.data == samples.PDF


def test_a_recused_member_cannot_read_the_dossier_through_changes(app, client):
    referral_id, _, _ = build_referral(app, members=4, interests={3: "Ville de Test"})
    login(client, "m3@test.example")  # recused automatically: declared an interest in the holder
    response = client.get(f"/referrals/{referral_id}/changes")
    assert response.status_code == 403 and DOSSIER["purpose"].encode() not in response.data
    page = client.get(f"/instances/{_instance(app, referral_id)}")
    assert page.status_code == 200 and DOSSIER["purpose"].encode() not in page.data and b"/referral-files/" not in page.data


def _instance(app, referral_id):
    with app.app_context():
        return db.session.get(Referral, referral_id).instance_id


def test_a_programme_manager_cannot_open_a_draft_application(app, client):
    ids = sandbox.build(app)
    application_id = sandbox.apply(app, ids)
    with app.app_context():
        from govflow.sandbox.models import Application

        instance_id = db.session.get(Application, application_id).instance_id
    login(client, "manager@test.example")
    assert client.get(f"/instances/{instance_id}").status_code == 403
    client.post("/logout")
    login(client, "team@test.example")
    assert client.get(f"/instances/{instance_id}").status_code == 200


def test_an_application_saved_without_its_partners_field_keeps_its_partners(app, client):
    """Found by the fuzz test on PostgreSQL: the edit form, built on the stored application, held the partners as a
    list when the field was not posted, and saving it was a 500."""
    ids = sandbox.build(app)
    application_id = sandbox.apply(app, ids)
    with app.app_context():
        from govflow.sandbox.models import Application

        db.session.get(Application, application_id).partners = ["Lab of the region", "A school"]
        db.session.commit()
    login(client, "team@test.example")
    response = client.post(f"/applications/{application_id}/edit", data={"summary": "Shorter summary."})
    assert response.status_code in (302, 303)
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application.partners == ["Lab of the region", "A school"]
        assert application.summary == "Shorter summary."


# -- server errors at will ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/login", {"email": "a\x00@b.example", "password": "x"}),
        ("get", "/register?q=na\x00me", None),
        ("get", "/attestations/abc\x00def", None),
        ("post", "/verify", {"credential": "{\x00}"}),
    ],
)
def test_a_nul_byte_in_any_field_is_refused_with_422_and_a_sentence(client, method, path, data):
    response = getattr(client, method)(path, data=data)
    assert response.status_code == 422 and b"control character" in response.data


def test_a_nul_byte_in_a_signed_in_form_changes_nothing(app, client, make_user, make_org):
    officer = make_user()
    org = make_org([(officer, "officer")])
    login(client, officer.email)
    before = table_counts(app)
    response = client.post(f"/organisations/{org.id}/edit", data={"name": "Evil\x00Org", "kind": "company", "country": "FR"})
    assert response.status_code == 422 and table_counts(app) == before


@pytest.mark.parametrize(
    "path",
    [
        "/instances/2147483648",
        "/organisations/99999999999999999999",
        "/referrals/2147483648/changes",
        "/referral-files/4294967296",
        "/evidence/2147483648",
        "/milestone-files/2147483648",
        "/programmes/2147483648",
        "/status/2147483648",
    ],
)
def test_ids_beyond_32_bits_are_simply_not_found(client, make_user, path):
    login(client, make_user().email)
    assert client.get(path).status_code == 404


def test_log_entries_far_beyond_the_log_are_a_400_with_a_sentence_not_a_500(client):
    assert client.get("/log/v1/get-entries?start=0&end=2147483648").status_code == 200
    for query in ("start=0&end=99999999999999999999", "start=99999999999999999999&end=99999999999999999999"):
        response = client.get(f"/log/v1/get-entries?{query}")
        assert response.status_code == 400 and b"must be a whole number" in response.data


@pytest.mark.parametrize("path", ["/register?page=100000000000000000000", "/decisions?page=100000000000000000000", "/programmes?page=-5"])
def test_a_huge_page_number_shows_the_first_page(client, path):
    assert client.get(path).status_code == 200


def test_json_nested_a_thousand_deep_on_verify_is_refused_with_a_sentence(client):
    response = client.post("/verify", data={"credential": "[" * 1000 + "]" * 1000})
    assert response.status_code == 422 and b"not JSON" in response.data
    response = client.post("/verify", data={"credential": "[" * 40 + "]" * 40})
    assert response.status_code == 422 and b"nested deeper" in response.data


def post_at_once(app, email: str, times: int, url: str, data: dict) -> list[int]:
    """The statuses of ``times`` identical POSTs sent together by one person from as many signed-in clients."""
    clients = [app.test_client() for _ in range(times)]
    for c in clients:
        login(c, email)
    barrier = threading.Barrier(times)
    statuses = []

    def send(c):
        barrier.wait(timeout=20)
        statuses.append(c.post(url, data=data).status_code)

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return statuses


def test_twenty_identical_declares_at_once_give_one_step_and_409s(app, make_user, make_org, make_commitment):
    officer = make_user()
    commitment = make_commitment(officer, make_org([(officer, "officer")]))
    statuses = post_at_once(
        app, officer.email, 20, f"/instances/{commitment.instance_id}/fire/declare", {"declare-expected_version": "1", "declare-confirm": "y"}
    )
    assert 500 not in statuses and statuses.count(302) == 1 and set(statuses) <= {302, 409}, statuses
    with app.app_context():
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(InstanceHistory).where(InstanceHistory.instance_id == commitment.instance_id))
        assert db.session.get(WorkflowInstance, commitment.instance_id).status == "declared" and rows == 2


def test_two_acceptances_of_one_invitation_at_once_give_one_membership(app, make_user, make_org):
    officer, invited = make_user(), make_user()
    org = make_org([(officer, "officer")])
    with app.app_context():
        from govflow.organisations import services as organisations
        from govflow.organisations.models import Organisation

        invitation = organisations.invite_member(db.session.get(User, officer.id), db.session.get(Organisation, org.id), invited.email, "contributor")
        db.session.commit()
        invitation_id = invitation.id
    statuses = post_at_once(app, invited.email, 2, f"/invitations/{invitation_id}", {"answer": "accept"})
    assert sorted(statuses) == [303, 409], statuses
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership).where(Membership.user_id == invited.id)) == 1


# -- a stored crash ---------------------------------------------------------------------------------------------------
def test_a_milestone_due_9999_12_31_no_longer_breaks_the_cohort_dashboard(app, client):
    ids = sandbox.build(app)
    application_id = sandbox.apply(app, ids)
    sandbox.advance(app, ids, application_id, "in_support")
    with app.app_context():
        from govflow.sandbox.models import Milestone

        # As a database holds it when it was written before dates were bounded.
        db.session.execute(sa.update(Milestone).values(starts_on=date(1, 1, 1), due_on=date(9999, 12, 31)))
        db.session.commit()
    login(client, "manager@test.example")
    assert client.get(f"/programmes/{ids.programme}/dashboard").status_code == 200


@pytest.mark.parametrize(("starts", "due"), [("2026-01-01", "9999-12-31"), ("0001-01-01", "2026-01-01"), ("2026-02-01", "2026-01-01")])
def test_a_milestone_out_of_the_calendar_or_due_before_it_starts_is_refused(app, client, starts, due):
    ids = sandbox.build(app)
    application_id = sandbox.apply(app, ids)
    sandbox.advance(app, ids, application_id, "selected")
    with app.app_context():
        from govflow.sandbox.models import Axis

        axis_id = db.session.scalars(sa.select(Axis.id).where(Axis.application_id == application_id)).first()
    login(client, "manager@test.example")
    before = table_counts(app)
    data = {
        "axis_id": axis_id,
        "kind": "deliverable",
        "title": "An impact assessment",
        "starts_on": starts,
        "due_on": due,
        "manager_owner_id": ids.manager,
        "team_owner_id": ids.team,
    }
    response = client.post(f"/applications/{application_id}/milestones", data=data)
    assert response.status_code == 422 and table_counts(app) == before
    expected = b"due on or after the day it starts" if starts == "2026-02-01" else b"between 1900-01-01 and 2200-12-31"
    assert expected in response.data


# -- exports safe to open -----------------------------------------------------------------------------------------------
FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_register_csv_cells_starting_like_formulas_are_neutralised(app, client, make_user, make_org, make_commitment, formula):
    officer = make_user()
    org = make_org([(officer, "officer")], name=formula)
    make_commitment(officer, org, statement=formula + " is what we commit to, in full.", steps=[("declare", None, {})])
    rows = list(csv.DictReader(io.StringIO(client.get("/register.csv").get_data(as_text=True))))
    assert rows and all(row["organisation"] == "'" + formula for row in rows)
    assert any(row["commitment_statement"].startswith("'" + formula) for row in rows)


def test_milestones_csv_cells_starting_like_formulas_are_neutralised(app, client):
    ids = sandbox.build(app)
    application_id = sandbox.apply(app, ids, title="=cmd|' /C calc'!A0")
    sandbox.advance(app, ids, application_id, "in_support")
    login(client, "manager@test.example")
    text = client.get(f"/programmes/{ids.programme}/milestones.csv").get_data(as_text=True)
    assert "=cmd" in text and ",=cmd" not in text and "'=cmd" in text


# -- accounts -------------------------------------------------------------------------------------------------------------
def test_fifty_wrong_passwords_lock_the_account_for_a_while_and_the_right_one_then_waits(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True)
    with app.app_context():
        from govflow.accounts.services import create_user

        create_user("target@test.example", "Target", DEMO_PASSWORD, ["signatory"])
        db.session.commit()
    client = app.test_client()
    statuses = [client.post("/login", data={"email": "target@test.example", "password": f"wrong-{n}"}).status_code for n in range(50)]
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
    right = client.post("/login", data={"email": "target@test.example", "password": DEMO_PASSWORD})
    assert right.status_code == 429 and b"Too many attempts" in right.data
    # Another account is not locked by someone else's attempts on this one.
    with app.app_context():
        from govflow.accounts.services import create_user

        create_user("other@test.example", "Other", DEMO_PASSWORD, ["signatory"])
        db.session.commit()
    assert client.post("/login", data={"email": "other@test.example", "password": DEMO_PASSWORD}).status_code == 302


def redis_url() -> str | None:
    """The Redis the machine runs (REDIS_URL, else 127.0.0.1:6379, database 15) when it answers; CI requires it."""
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs Redis at {url} to test shared rate limits")
        return None
    return url


def test_sign_in_limits_are_shared_by_every_process_through_redis(app_factory):
    """Production runs several processes: with REDIS_URL they count the same attempts (two apps stand for two
    processes here), so a guesser gains nothing by spreading attempts over workers."""
    url = redis_url()
    if url is None:
        pytest.skip("no Redis on this machine")
    settings = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": url, "RATELIMIT_KEY_PREFIX": f"govflow-test-{uuid.uuid4().hex}"}
    first, second = app_factory(**settings), app_factory(**settings)
    tries = [first.test_client().post("/login", data={"email": "target@test.example", "password": f"wrong-{n}"}).status_code for n in range(6)]
    tries += [second.test_client().post("/login", data={"email": "target@test.example", "password": f"wrong-{n}"}).status_code for n in range(5)]
    assert tries[:10] == [401] * 10 and tries[10] == 429
    import redis

    store = redis.Redis.from_url(url)
    counters = store.keys(f"*{settings['RATELIMIT_KEY_PREFIX']}*")
    assert counters, "the attempts were not counted in Redis"
    store.delete(*counters)


def test_anonymous_posts_are_rate_limited(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_ANONYMOUS_POSTS="5 per minute")
    client = app.test_client()
    statuses = [client.post("/lang", data={"lang": "fr"}).status_code for _ in range(8)]
    assert statuses[:5] == [302] * 5 and statuses[5:] == [429] * 3


def test_a_session_cookie_captured_before_sign_out_no_longer_works(app, make_user):
    user = make_user()
    client = app.test_client()
    login(client, user.email)
    captured = client.get_cookie("session").value
    assert client.get("/dashboard").status_code == 200
    client.post("/logout")
    thief = app.test_client()
    thief.set_cookie("session", captured)
    assert thief.get("/dashboard").status_code == 302  # to the sign-in page


def test_a_new_password_ends_every_other_session(app, make_user):
    user = make_user()
    first, second = app.test_client(), app.test_client()
    login(first, user.email)
    login(second, user.email)
    response = first.post("/account/password", data={"current": DEMO_PASSWORD, "new": "four unrelated words here", "confirm": "four unrelated words here"})
    assert response.status_code == 302
    assert first.get("/dashboard").status_code == 200, "the session that changed it carries on"
    assert second.get("/dashboard").status_code == 302, "the other one is signed out"
    assert login(app.test_client(), user.email, "four unrelated words here")


@pytest.mark.parametrize("weak", ["aaaaaaaaaa", "1234567890", "password12", "aaaaaaaaaaaa", "123456789012", "password1234", "abcdefghijkl"])
def test_weak_passwords_are_refused(app, client, make_user, weak):
    user = make_user()
    login(client, user.email)
    response = client.post("/account/password", data={"current": DEMO_PASSWORD, "new": weak, "confirm": weak})
    assert response.status_code == 422
    with app.app_context():
        from werkzeug.security import check_password_hash

        assert check_password_hash(db.session.get(User, user.id).password_hash, DEMO_PASSWORD), "nothing changed"


def test_an_officer_cannot_attach_an_account_without_its_consent_nor_learn_that_it_exists(app, client, make_user, make_org):
    officer, existing = make_user(), make_user()
    org = make_org([(officer, "officer")])
    login(client, officer.email)
    answers = [
        client.post(f"/organisations/{org.id}/members", data={"email": e, "role": "officer"}, follow_redirects=True)
        for e in (existing.email, "nobody@test.example")
    ]
    texts = [a.get_data(as_text=True).replace(existing.email, "EMAIL").replace("nobody@test.example", "EMAIL") for a in answers]
    assert answers[0].status_code == answers[1].status_code == 200
    assert ("An invitation to EMAIL was recorded" in texts[0]) and ("An invitation to EMAIL was recorded" in texts[1])
    with app.app_context():
        assert db.session.get(Membership, (existing.id, org.id)) is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 2


# -- uploads --------------------------------------------------------------------------------------------------------------
def _polyglot(data: bytes) -> bytes:
    return data + b"\n<html><body><script>alert(document.cookie)</script></body></html>\n"


@pytest.mark.parametrize(("name", "data"), [("report.pdf", _polyglot(samples.PDF)), ("photo.png", _polyglot(samples.PNG))])
def test_pdf_and_png_polyglots_carrying_html_are_refused(app, client, make_user, make_org, make_commitment, name, data):
    officer = make_user()
    commitment = make_commitment(officer, make_org([(officer, "officer")]))
    login(client, officer.email)
    before = table_counts(app)
    response = client.post(f"/commitments/{commitment.id}/evidence", data={"upload": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    assert response.status_code == 422 and b"markup" in response.data and table_counts(app) == before


def test_a_file_that_only_starts_like_a_pdf_is_refused(app, client, make_user, make_org, make_commitment):
    officer = make_user()
    commitment = make_commitment(officer, make_org([(officer, "officer")]))
    login(client, officer.email)
    fake = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    response = client.post(f"/commitments/{commitment.id}/evidence", data={"upload": (io.BytesIO(fake), "r.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 422 and b"cannot be read as a whole" in response.data


def test_draft_dossier_sections_are_limited_in_size(app, client, draft_referral):
    login(client, "holder@test.example")
    before = table_counts(app)
    data = {f"dossier-{k}": v for k, v in DOSSIER.items()} | {"dossier-purpose": "x" * 10_001, "title": "A draft project"}
    response = client.post(f"/referrals/{draft_referral.id}/dossier", data=data)
    assert response.status_code == 422 and table_counts(app) == before
    assert b'maxlength="10000"' in client.get(f"/referrals/{draft_referral.id}/dossier").data


# -- the generic error page ---------------------------------------------------------------------------------------------
def test_an_unexpected_error_is_logged_and_shows_its_request_id(app, caplog):
    def broken():
        raise RuntimeError("a programming error")

    from govflow.access import public

    app.add_url_rule("/broken-for-test", "broken", public(broken))
    response = app.test_client().get("/broken-for-test", headers={"X-Request-Id": "test-request-0042"})
    assert response.status_code == 500 and b"test-request-0042" in response.data and b"programming error" not in response.data
    assert any("test-request-0042" in r.getMessage() for r in caplog.records)


def test_passwords_are_hashed_with_scrypt_at_its_default_cost_unless_configured(tmp_path, app):
    """Production hashes with scrypt N=2^15 (the suite lowers N to run fast); every hash verifies whatever its cost."""
    from werkzeug.security import check_password_hash

    from govflow import create_app
    from govflow.accounts.services import hash_password

    production = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.sqlite3", "TESTING": True}, instance_path=str(tmp_path / "p"))
    with production.app_context():
        strong = hash_password("correct horse battery")
    with app.app_context():
        light = hash_password("correct horse battery")
    assert strong.startswith("scrypt:32768:8:1$") and light.startswith("scrypt:1024:8:1$")
    assert check_password_hash(strong, "correct horse battery") and check_password_hash(light, "correct horse battery")
    assert not check_password_hash(strong, "correct horse battery!")
