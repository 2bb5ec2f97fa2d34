"""The public visitor's journey (issue #15, item 8), in English and in French, each on a desktop screen and on a phone: the menu
holds no developer page; the register reads in words (filters, pillars, a withdrawal and its reason); a charter's
text is rendered from Markdown; an attestation reads in words and is verified on /verify, with a verdict in the
visitor's language; the state diagrams are readable. Screenshots of each step are saved (see kit.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_public_visitor(journey):
    page = journey.page
    journey.go("/")
    journey.choose_language()
    nav = page.locator("header nav")
    assert nav.locator("a[href^='/workflows']").count() == 0, "the developers' page is not in the public menu"
    journey.shot("home")

    # The register: filters offered in words, entries with their pillars in words, a withdrawal with its reason.
    nav.locator("a[href='/register']").click()
    options = page.eval_on_selector_all("#status option, #kind option, #pillar option", "els => els.map(e => e.textContent.trim())")
    assert options and not any("_" in o for o in options), options
    expect(page.locator("[data-testid=register-entry]").first).to_be_visible()
    withdrawal = page.locator("[data-testid=withdrawal]").first
    expect(withdrawal).to_contain_text(journey.words("Reason:", "Motif"))
    journey.shot("register")
    page.select_option("#status", index=1)
    page.locator("form[role=search] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"status=\w"))
    journey.shot("register filtered")

    # A charter's page: its summary rendered from Markdown (no raw markup shown).
    nav.locator("a[href='/charters']").click()
    page.locator("main a[href^='/charters/']").first.click()
    summary = page.locator("[data-testid=summary]")
    expect(summary).to_be_visible()
    assert "**" not in summary.inner_text() and "](" not in summary.inner_text()
    journey.no_english()
    journey.shot("charter")

    # An attestation from the register, in words; its credential verified on /verify.
    journey.go("/register")
    page.locator("[data-testid=signature-attestation]").first.click()
    act = page.locator("[data-testid=act]")
    assert "_" not in act.inner_text(), act.inner_text()
    journey.no_english()
    journey.shot("attestation")
    credential = page.evaluate("async () => await (await fetch(location.pathname + '.json')).text()")
    nav.locator("a[href='/verify']").click()
    page.fill("textarea[name=credential]", credential)
    page.locator("main form button[type=submit]").click()
    verdict = page.locator("[data-testid=verdict]")
    expect(verdict).to_have_attribute("data-ok", "yes")
    journey.no_english()
    journey.shot("verified")

    # A workflow's diagram, drawn readable (the developers' page is reached from the footer).
    page.locator("[data-testid=workflow-definitions]").click()
    page.locator("main a[href^='/workflows/']").first.click()
    page.wait_for_selector("[data-testid=diagram][data-rendered='1']")
    journey.shot("workflow diagram")
    assert page.outside_requests == []
