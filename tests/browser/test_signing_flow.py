"""A signatory signs the Numeum manifesto, commits under each pillar, attaches evidence, and finds it on the register."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

STATEMENTS = {
    "faire": "Run the guide's review on every model before it reaches production.",
    "communiquer": "Publish a plain-language note for each AI product we sell.",
    "progresser": "Send a data scientist to the guide's revision group twice a year.",
}


def test_sign_commit_evidence_and_find_it_on_the_register_in_english_and_french(live_server, browser_page):
    page, base = browser_page, live_server
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base}/login")
    page.fill("input[name=email]", "bastien.roux@clairvoie.example")
    page.fill("input[name=password]", "govflow-demo")
    page.click("form.card button[type=submit]")
    page.goto(f"{base}/organisations/new")
    page.fill("input[name=name]", "Coopérative Lumen")
    page.select_option("select[name=kind]", "association")
    page.fill("input[name=identifier]", "RNA W000000042")
    page.click("form.card button[type=submit]")
    expect(page.locator("h1")).to_have_text("Coopérative Lumen")

    page.goto(f"{base}/charters/numeum-ethical-ai")
    page.click("[data-testid=sign]")
    page.select_option("select[name=organisation_id]", label="Coopérative Lumen")
    for pillar in STATEMENTS:
        page.check(f"[data-testid=accept-{pillar}]")
    page.check("[data-testid=confirm]")
    page.click("[data-testid=sign-submit]")
    expect(page.locator(".flash.success")).to_contain_text("signed")

    for pillar, statement in STATEMENTS.items():
        page.click(f"section[data-signature] tr[data-pillar={pillar}] a")
        page.click("[data-testid=edit-commitment]")
        page.fill("textarea[name=statement]", statement)
        page.click("[data-testid=save-commitment]")
        expect(page.locator("[data-testid=statement]")).to_have_text(statement)
        page.check("[data-testid=confirm-declare]")
        page.click("[data-testid=fire-declare]")
        expect(page.locator("[data-testid=state]")).to_have_text("Declared")
        if pillar == "faire":
            page.fill("[data-testid=evidence-url]", "https://lumen.example/ethics/review-2026")
            page.click("[data-testid=attach-evidence]")
            expect(page.locator("[data-testid=evidence]")).to_contain_text("lumen.example/ethics/review-2026")
            page.click("[data-testid=fire-add_evidence]")
            expect(page.locator("[data-testid=state]")).to_have_text("Evidenced")
        page.goto(f"{base}/organisations")
        page.click("text=Coopérative Lumen")

    page.goto(f"{base}/register?q=Lumen")
    entry = page.locator("[data-testid=register-entry]")
    expect(entry).to_have_count(1)
    for statement in STATEMENTS.values():
        assert statement in entry.inner_text()
    page.click("[data-testid=signature-attestation]")
    expect(page.locator("[data-testid=status]")).to_contain_text("Valid")
    uid = re.search(r"/attestations/([0-9a-f-]+)$", page.url).group(1)
    credential = page.request.get(f"{base}/attestations/{uid}.json").text()
    assert json.loads(credential)["credentialSubject"]["organisation"]["name"] == "Coopérative Lumen"
    page.goto(f"{base}/verify")
    page.fill("textarea[name=credential]", credential)
    page.click("form.card button[type=submit]")
    expect(page.locator("[data-testid=verdict]")).to_have_attribute("data-ok", "yes")

    page.click("[data-testid=lang-fr]")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.goto(f"{base}/register?q=Lumen")
    expect(page.locator("h1")).to_have_text("Registre public")
    expect(page.locator("[data-testid=register-entry]")).to_contain_text("Coopérative Lumen")
    expect(page.locator("[data-testid=register-entry]")).to_contain_text("Déclaré")
    assert page.outside_requests == []
