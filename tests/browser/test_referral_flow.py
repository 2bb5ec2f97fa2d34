"""A commune refers a project to the ethics committee and the committee carries it through to a closed referral.

Chloé Marchal files and submits the dossier; Élise Varenne (secretary) examines it, assigns a rapporteur and opens the
vote; Fabrice Nalet, who advises the commune, is recused automatically and refused the vote; the three other members
vote and the last ballot closes the vote; Élise records the decision with two conditions, whose signed attestation is
verified offline with ``govflow attest verify`` (and fails once tampered with); she follows both conditions up and
closes the referral. All of it in headless Chromium, with no request leaving localhost.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from govflow.reviews.dossier import FIELDS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "govflow-demo"
CHLOE = "chloe.marchal@saint-aubrac.example"
DAMIEN = "damien.oudin@comite.example"
ELISE = "elise.varenne@comite.example"
FABRICE = "fabrice.nalet@comite.example"
GAELLE = "gaelle.pons@comite.example"
COMMITTEE = "Comité d'éthique de la donnée (démo)"
TITLE = "Predicting which school canteens need more staff"

# Every required section of the dossier ("dpia" is a select, the others are text areas).
DOSSIER = {
    "purpose": "Plan canteen staff a week ahead so that no pupil waits too long for lunch.",
    "data_used": "Daily meal counts of the town's eight canteens over four years; no partner supplies data.",
    "personal_data": "None: counts per canteen and per day only, no pupil is identified.",
    "rights": "Families are told on the town's website; the data protection officer answers any request.",
    "dpia": "not_needed",
    "training": "A small regression trained once a term on the aggregated counts.",
    "inference": "Suggests a staffing level each Friday; the canteen manager decides.",
}
CONDITIONS = ["Publish the model's weekly error on the town's website.", "Review the staffing suggestions with the unions each term."]


def sign_in(page, base, email):
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")


def sign_out(page):
    page.click("header form.inline:not(.lang) button")
    expect(page.locator("header .who")).to_have_count(0)


def fire(page, trigger, state, **inputs):
    """Fill the inputs of the ``trigger`` form, press its button and wait until the page shows ``state``."""
    for name, value in inputs.items():
        page.fill(f"[name={trigger}-{name}]", value)
    confirm = page.locator(f"[data-testid=confirm-{trigger}]")  # a signed or final step asks to tick its box
    if confirm.count():
        confirm.check()
    page.click(f"[data-testid=fire-{trigger}]")
    expect(page.locator("[data-testid=state]")).to_have_text(state)


def fill_referral(page):
    """Fill the new referral's form: the commune, the committee, the title and every required dossier section."""
    page.select_option("select[name=organisation_id]", label="Commune de Saint-Aubrac")
    page.select_option("select[name=committee_id]", label=COMMITTEE)
    page.fill("input[name=title]", TITLE)
    for key, value in DOSSIER.items():
        if key == "dpia":
            page.select_option("select[name=dossier-dpia]", value)
        else:
            page.fill(f"textarea[name=dossier-{key}]", value)


def vote(page, instance_url, choice, rationale=None):
    page.goto(instance_url)
    page.click("[data-testid=go-vote]")
    page.select_option("select[name=choice]", choice)
    if rationale:
        page.fill("textarea[name=rationale]", rationale)
    page.click("[data-testid=cast-vote]")
    page.wait_for_url(instance_url)


def verify_bundle(path):
    return subprocess.run([sys.executable, "-m", "govflow.cli", "attest", "verify", str(path)], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_a_referral_goes_from_dossier_to_vote_decision_attestation_and_closure(live_server, browser_page, tmp_path):
    page, base = browser_page, live_server
    page.on("dialog", lambda dialog: dialog.accept())
    assert set(DOSSIER) == {f.key for f in FIELDS if f.required}

    # 1. The commune's officer files the dossier and submits it.
    sign_in(page, base, CHLOE)
    page.goto(f"{base}/referrals/new")
    fill_referral(page)
    page.click("[data-testid=save-referral]")
    page.wait_for_url(re.compile(r"/instances/\d+$"))
    instance_url = page.url
    expect(page.locator("h1")).to_contain_text(TITLE)
    expect(page.locator("[data-testid=state]")).to_have_text("Draft")
    fire(page, "submit", "Submitted")
    sign_out(page)

    # 2. The secretary examines it, assigns a rapporteur and opens the vote; Fabrice is recused automatically.
    sign_in(page, base, ELISE)
    page.goto(instance_url)
    fire(page, "declare_admissible", "Under examination")
    page.select_option("[data-testid=rapporteur-select]", label="Gaëlle Pons")
    page.click("[data-testid=add-rapporteur]")
    expect(page.locator("[data-testid=rapporteurs]")).to_contain_text("Gaëlle Pons")
    fire(page, "assign_rapporteurs", "Rapporteurs assigned")
    fire(page, "open_deliberation", "Deliberation")
    fire(page, "open_vote", "Vote open")
    expect(page.locator("[data-testid=recusals]")).to_contain_text("Fabrice Nalet")
    vote_url = page.locator("[data-testid=go-vote]").get_attribute("href")
    assert re.fullmatch(r"/referrals/\d+/vote", vote_url)
    sign_out(page)

    # 3. The recused member may not vote.
    sign_in(page, base, FABRICE)
    refused = page.goto(f"{base}{vote_url}")
    assert refused.status == 403
    sign_out(page)

    # 4. The three other members vote; the last ballot closes the vote.
    sign_in(page, base, DAMIEN)
    vote(page, instance_url, "favourable_with_conditions", "Publish how often the model is wrong.")
    expect(page.locator("[data-testid=state]")).to_have_text("Vote open")
    sign_out(page)
    sign_in(page, base, GAELLE)
    vote(page, instance_url, "favourable_with_conditions", "The unions should see the suggestions.")
    expect(page.locator("[data-testid=state]")).to_have_text("Vote open")
    sign_out(page)
    sign_in(page, base, ELISE)
    vote(page, instance_url, "favourable")
    expect(page.locator("[data-testid=state]")).to_have_text("Vote closed")

    # 5. The secretary records the decision with two conditions.
    fire(
        page,
        "record_with_conditions",
        "Favourable with conditions",
        rationale="A clear public interest, no personal data, and a manager keeps the decision.",
        conditions="\n".join(CONDITIONS),
    )
    decision = page.locator("[data-testid=decision]")
    expect(decision).to_have_attribute("data-outcome", "favourable_with_conditions")
    conditions = page.locator("[data-testid=conditions] li")
    expect(conditions).to_have_count(2)
    for n, text in enumerate(CONDITIONS):
        expect(conditions.nth(n)).to_contain_text(text)
        expect(conditions.nth(n)).to_have_attribute("data-status", "open")

    # 6. The decision's attestation bundle verifies offline, and no longer does once one character changed.
    link = page.locator("[data-testid=attestations] li[data-attestation] a", has_text="Record a favourable decision with conditions")
    expect(link).to_have_count(1)
    uid = re.fullmatch(r"/attestations/([0-9a-f-]+)", link.get_attribute("href")).group(1)
    download = page.request.get(f"{base}/attestations/{uid}/bundle.json")
    assert download.ok, download.status
    bundle = download.json()
    assert bundle["credential"]["credentialSubject"]["toState"] == "favourable_with_conditions"
    good = tmp_path / "bundle.json"
    good.write_bytes(download.body())
    result = verify_bundle(good)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verdict: VALID." in result.stdout, result.stdout
    bundle["credential"]["credentialSubject"]["toState"] = "favourable_with_conditionz"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(bundle))
    result = verify_bundle(tampered)
    assert result.returncode != 0, result.stdout
    assert "Verdict: NOT VALID." in result.stdout and re.search(r"^Signature +FAILED", result.stdout, re.M), result.stdout

    # 7. Both conditions are met, with evidence, and the referral is closed.
    for n in (1, 2):
        page.fill(f"[data-testid=condition-evidence-{n}]", f"Checked at the committee meeting, item {n}.")
        page.click(f"[data-testid=follow-condition-{n}]")
        expect(conditions.nth(n - 1)).to_have_attribute("data-status", "met")
    for n in range(2):
        expect(conditions.nth(n)).to_contain_text("Checked at the committee meeting")
    fire(page, "close", "Closed")
    assert page.outside_requests == []
