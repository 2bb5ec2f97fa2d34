"""People read titles and formatted texts, never internal keys nor raw Markdown (issue #15, item 3)."""

from __future__ import annotations

import re
from dataclasses import replace

import sqlalchemy as sa

from govflow.accounts.models import User
from govflow.attestations.models import Attestation
from govflow.charters.catalog import get_catalog
from govflow.charters.services import create_commitment, sign_charter
from govflow.extensions import db
from govflow.organisations.models import Organisation
from govflow.richtext import ALLOWED_TAGS, _clean, render_markdown

from ..conftest import login

OCCITANIE = "occitanie-data-ethics"
KEYS = ("independent_review", "data_and_legal_basis", "purpose", OCCITANIE)


def _text(html: str) -> str:
    """What a person reads: the markup without its tags (attribute values such as data-pillar are not read)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", html)).replace("&#39;", "'")


def _between(html: str, start: str, end: str) -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


def _occitanie_commitment(app, officer, org) -> int:
    """A commitment under the Occitanie charter's independent_review pillar, on two themes; returns its instance id."""
    with app.app_context():
        user = db.session.get(User, officer.id)
        charter = get_catalog().get(OCCITANIE)
        signature = sign_charter(user, db.session.get(Organisation, org.id), charter, charter.pillar_keys())
        commitment = create_commitment(
            user, signature, "independent_review", "Submit every shared-data project to the ethics commission.", ["purpose", "data_and_legal_basis"]
        )
        db.session.commit()
        return commitment.instance_id


def test_pillars_and_themes_are_shown_by_title_not_key(app, client, make_user, make_org):
    officer = make_user(name="Officer")
    org = make_org([(officer, "officer")], name="Région Data")
    instance_id = _occitanie_commitment(app, officer, org)
    login(client, officer.email)

    panel = _text(_between(client.get(f"/instances/{instance_id}").get_data(as_text=True), 'data-testid="commitment"', "</section>"))
    assert "Independent ethics review" in panel
    assert "Purpose and public interest, Data and legal basis" in panel
    assert "Occitanie Data charter for the ethical use of data" in panel
    assert not [key for key in KEYS if key in panel], panel

    client.post("/lang", data={"lang": "fr"})
    panel = _text(_between(client.get(f"/instances/{instance_id}").get_data(as_text=True), 'data-testid="commitment"', "</section>"))
    assert "Contrôle éthique indépendant" in panel
    assert "Finalité et intérêt public, Données et base légale" in panel
    assert "Charte éthique des usages des données d'Occitanie Data" in panel
    assert not [key for key in KEYS if key in panel], panel


def test_a_target_duration_is_shown_in_words_not_as_an_iso_code(client):
    page = _text(client.get("/charters/reset-responsible-ai").get_data(as_text=True))
    assert "(3 days)" in page and "PT72H" not in page
    french = _text(client.get("/charters/reset-responsible-ai", headers={"Accept-Language": "fr"}).get_data(as_text=True))
    assert "(3\xa0jours)" in french or "(3 jours)" in french


def test_charter_texts_are_rendered_from_safe_markdown(app, client, monkeypatch):
    html = render_markdown(
        "We **commit** to:\n\n- publish\n- explain\n\n<script>alert(1)</script>\n\n"
        '[trap](javascript:alert(2)) <a href="javascript:alert(3)">raw</a> [source](https://example.org/charter)'
    )
    assert "<strong>commit</strong>" in html and "<ul>" in html and "<li>publish</li>" in html
    assert "<script" not in html and "&lt;script&gt;" in html
    assert not re.search(r"<a [^>]*href=.javascript", html, re.I)  # the raw link stays visible text, never a link
    assert '<a href="https://example.org/charter" rel="nofollow noopener">source</a>' in html
    # HTML that reached the sanitiser some other way loses its script, its handlers and its javascript: link too.
    cleaned = _clean('<p onclick="x()">a<script>alert(1)</script><a href="javascript:alert(1)">b</a></p>', ALLOWED_TAGS)
    assert "script" not in cleaned and "javascript" not in cleaned and "onclick" not in cleaned and "<p>a" in cleaned

    # A pillar text and a summary written in Markdown are shown formatted on the charter's page.
    with app.app_context():
        catalog = get_catalog()
        charter = catalog.get(OCCITANIE)
        pillar = replace(
            charter.pillars[0],
            text={
                "en": "Ask the **commission** first:\n\n1. before\n2. during\n\n<script>alert(1)</script> [x](javascript:alert(1))",
                "fr": "La **commission**.",
            },
        )
        changed = replace(
            charter, pillars=[pillar, *charter.pillars[1:]], summary={"en": "A *summary* with [a link](https://example.org).", "fr": "Un résumé."}
        )
        monkeypatch.setitem(catalog.charters, charter.key, changed)
    page = client.get(f"/charters/{OCCITANIE}").get_data(as_text=True)
    section = _between(page, f'data-pillar="{pillar.key}"', "</section>")
    assert "<strong>commission</strong>" in section and "<ol>" in section and "<li>before</li>" in section
    assert "**" not in section and "<script" not in section and not re.search(r"<a [^>]*href=.javascript", section, re.I)
    summary = _between(page, 'data-testid="summary"', "</div>")
    assert "<em>summary</em>" in summary and '<a href="https://example.org" rel="nofollow noopener">a link</a>' in summary


def test_a_step_label_shows_no_state_keys(app, client, make_user, make_org, make_commitment):
    officer = make_user(name="Officer")
    reviewer = make_user(roles=("committee_member",), name="Reviewer")
    org = make_org([(officer, "officer")], name="Acme Data")
    steps = [("declare", None, {}), ("add_evidence", None, {"evidence_url": "https://acme.example/proof"}), ("verify", reviewer, {})]
    commitment = make_commitment(officer, org, steps=steps)
    with app.app_context():
        uid = db.session.scalars(sa.select(Attestation.uid).where(Attestation.instance_id == commitment.instance_id).order_by(Attestation.id.desc())).first()

    page = client.get(f"/attestations/{uid}").get_data(as_text=True)
    act = _text(_between(page, 'data-testid="act">', "</dd>"))
    assert act.strip() == "Verify (Evidenced → Verified)", act
    assert "Charter commitment" in _text(_between(page, "Procedure", "</dd>"))
    french = client.get(f"/attestations/{uid}", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "(Étayé → Vérifié)" in _text(_between(french, 'data-testid="act">', "</dd>"))

    # The developer-facing definition too names the states a step goes from and to by their titles.
    steps_table = _between(client.get("/workflows/commitment").get_data(as_text=True), 'data-testid="transitions"', "</table>")
    moves = re.findall(r"</code></td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", steps_table, re.S)
    assert len(moves) > 5 and ("Evidenced", "Verified") in moves
    assert not [m for m in moves if re.search(r"\b(draft|declared|evidenced|verified|renewal_due)\b", " ".join(m))], moves
