"""French pages say in French the sentences govflow writes itself: the tally, a recusal's reason, /verify's verdicts,
the history's field names and upload refusals (issue #15, item 6)."""

from __future__ import annotations

import html
import io

from govflow.extensions import db
from govflow.reviews.models import Referral

from ..conftest import login
from ..reviews.common import build, vote


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _french(client) -> None:
    client.post("/lang", data={"lang": "fr"})


def test_generated_sentences_are_french_on_french_pages(app, client, make_user, make_org, make_commitment):
    # -- a referral whose vote closed, with a member recused on a declared interest -----------------------------------
    referral_id, users, _holder = build(app, members=4, interests={3: "Ville de Test"})
    vote(app, referral_id, users[0], "favourable")
    vote(app, referral_id, users[1], "favourable")
    vote(app, referral_id, users[2], "abstain")
    with app.app_context():
        instance_id = db.session.get(Referral, referral_id).instance_id
    login(client, "m0@test.example")
    _french(client)
    page = _page(client.get(f"/instances/{instance_id}"))
    assert (
        "Participation : 3 sur 3 membres habilités (quorum 2), dont 1 abstention : 2 sur 2 votes exprimés sont « favorable », soit une majorité simple." in page
    )
    assert "eligible members voted" not in page and "votes cast are" not in page and "which is a simple majority" not in page
    assert "Intérêt déclaré : conseille Ville de Test." in page
    assert "Declared interest" not in page and "(advises)" not in page
    client.post("/logout")

    # -- /verify: a credential that holds, and the same credential tampered ---------------------------------------------
    officer = make_user(name="Officer One")
    org = make_org([(officer, "officer")], name="Acme Analytics")
    declared = make_commitment(officer, org, steps=[("declare", None, {})])
    with app.app_context():
        from govflow.attestations.models import Attestation

        uid = db.session.query(Attestation.uid).filter_by(instance_id=declared.instance_id).scalar()
    _french(client)
    text = client.get(f"/attestations/{uid}.json").get_data(as_text=True)
    good = _page(client.post("/verify", data={"credential": text}))
    assert 'data-ok="yes"' in good
    assert "La signature est valide : l'attestation est exactement telle que" in good
    assert "La clé de signature figure dans l'historique des clés" in good
    assert "L'attestation n'a pas été révoquée" in good
    assert "du journal de transparence de govflow" in good
    assert "Signature :" in good and "Clé de signature :" in good and "Révocation :" in good and "Journal de transparence :" in good
    for english in ("The signature is valid", "The signing key is listed", "has not been revoked", "transparency log;", "Signing key:"):
        assert english not in good
    bad = _page(client.post("/verify", data={"credential": text.replace("Acme Analytics", "Acme Analytica")}))
    assert 'data-ok="no"' in bad
    assert "La vérification de la signature a échoué : la signature ne correspond pas" in bad
    assert "The signature check failed" not in bad and "the signature does not match" not in bad

    # -- an item's history with a comment and a reason ------------------------------------------------------------------
    other = make_org([(officer, "officer")], name="Beta Analytics")
    withdrawn = make_commitment(
        officer,
        other,
        steps=[
            ("declare", None, {}),
            ("add_evidence", None, {"evidence_url": "https://org.example/evidence"}),
            ("withdraw", None, {"reason": "Plus d'actualité.", "comment": "Fait."}),
        ],
    )
    login(client, officer.email)
    _french(client)
    history = _page(client.get(f"/instances/{withdrawn.instance_id}")).split('data-testid="history"', 1)[1]
    assert "Motif :" in history and "Preuves :" in history
    assert "reason:" not in history and "evidence_url:" not in history and "Reason:" not in history

    # -- an upload refused ------------------------------------------------------------------------------------------------
    evidence = make_commitment(officer, make_org([(officer, "officer")], name="Gamma Analytics"), steps=[("declare", None, {})])
    response = client.post(
        f"/commitments/{evidence.id}/evidence", data={"upload": (io.BytesIO(b"MZ\x90\x00binary"), "report.pdf")}, content_type="multipart/form-data"
    )
    refused = _page(response)
    assert response.status_code == 422
    assert "Le contenu du fichier n'est pas un PDF alors que son nom se termine par .pdf" in refused
    assert "The file's content is not" not in refused and "a PDF" not in refused and "it looks like" not in refused


def test_in_english_the_worded_sentences_are_the_pure_modules_own(app):
    """The pure tally and the offline verifier keep their English sentences (the command line prints them); worded
    from their codes in English, the pages say exactly the same."""
    import random

    from govflow.attestations.verify import verify_offline
    from govflow.attestations.wording import check_message
    from govflow.reviews.tally import CHOICES, DECISION_RULES, FALLBACKS, Rules, tally
    from govflow.reviews.wording import tally_explanation

    draw = random.Random(15)
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        for _ in range(400):
            rules = Rules(draw.choice(["count", "share"]), draw.choice([1, 2, 3, 50, 100]), *draw.choices(DECISION_RULES), *draw.choices(FALLBACKS, k=2))
            eligible = draw.randint(0, 7)
            outcome = tally(rules, eligible, draw.choices(CHOICES, k=draw.randint(0, eligible)))
            stored = {"eligible": outcome.eligible, "voted": outcome.voted, "cast": outcome.cast, "reason": outcome.reason}
            assert tally_explanation(stored) == outcome.explanation
        assert tally_explanation({"explanation": "Stored before reasons were data."}) == "Stored before reasons were data."
        for document in ("not an object", {}, {"proof": {"verificationMethod": "did:key:nothing"}}):
            for check in verify_offline(document, key_history={"keys": []}).checks:
                assert check.code and check_message(check) == check.message


def test_a_charters_items_are_titled_in_the_readers_language(app, client, make_user, make_org):
    """A signature's and a commitment's titles are made of the charter's and the pillar's titles: each reader sees them
    in their language (the English one stays the stored title, as records and older items have it)."""
    import sqlalchemy as sa

    from govflow.accounts.models import User
    from govflow.charters.catalog import get_catalog
    from govflow.charters.services import sign_charter
    from govflow.instances.models import WorkflowInstance
    from govflow.organisations.models import Organisation

    officer = make_user(name="Officer T")
    org = make_org([(officer, "officer")], name="Org T")
    with app.app_context():
        charter = next(c for c in get_catalog().latest_all() if c.title.get("fr") and c.title["fr"] != c.title["en"])
        signature = sign_charter(db.session.get(User, officer.id), db.session.get(Organisation, org.id), charter, [p.key for p in charter.pillars])
        db.session.commit()
        instance = db.session.get(WorkflowInstance, signature.instance_id)
        assert instance.title == f"Org T: {charter.title['en']} (v{charter.version})"
        assert instance.title_words["fr"] == f"Org T: {charter.title['fr']} (v{charter.version})"
        commitment = db.session.scalars(sa.select(WorkflowInstance).where(WorkflowInstance.subject_kind == "commitment")).first()
        commitment_id, signature_id = commitment.id, instance.id
        french_commitment = commitment.title_words["fr"]
    login(client, officer.email)
    _french(client)
    assert f"<h1>Org T: {charter.title['fr']} (v{charter.version})</h1>" in _page(client.get(f"/instances/{signature_id}"))
    dashboard = _page(client.get("/dashboard"))
    assert french_commitment in dashboard and charter.title["en"] not in dashboard
    assert french_commitment in _page(client.get(f"/instances/{commitment_id}"))
