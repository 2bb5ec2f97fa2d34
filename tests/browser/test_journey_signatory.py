"""The signatory's journey (issue #15, item 8), in English and in French, each on a desktop screen and on a phone: an officer of
a demo organisation signs in and finds its draft commitments' steps in the inbox; signs a charter for the organisation
(sent first without the confirmation: refused beside the box, the pillars kept); describes a draft through the inbox (a
refused value comes back on the same form, beside its field, with what was typed kept); declares it; attaches evidence
(a refused file comes back beside the evidence form with the web address and description kept, then a web address and
a small PDF are accepted) and submits it; reads the item's diagram and its history in words; and finds the commitment
on the public register. Screenshots of each step are saved (see kit.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..samples import PDF

pytestmark = pytest.mark.browser

OFFICER = "bastien.roux@clairvoie.example"
ORGANISATION = "Clairvoie Analytique"
CHARTER = "occitanie-data-ethics"
STATEMENT = "Submit each shared-data project to the regional ethics committee before it starts, and publish its opinion."
EVIDENCE_URL = "https://clairvoie.example/ethics/committee-opinions"
EVIDENCE_TEXT = "Opinions of the regional ethics committee"


def test_signatory(journey):
    page = journey.page

    # 1. The inbox offers a draft commitment's steps as links: describe it, declare it (not only "Withdraw").
    journey.sign_in(OFFICER)
    inbox = page.locator("[data-testid=inbox]")
    expect(inbox).to_be_visible()
    describe = inbox.locator("[data-testid=inbox-link][href*='/commitments/'][href$='/edit']")
    declare = inbox.locator("[data-testid=inbox-link][data-trigger=declare]")
    expect(describe.first).to_be_visible()
    expect(declare.first).to_be_visible()
    assert re.search(r"/instances/\d+#step-declare$", declare.first.get_attribute("href"))
    journey.no_english()
    journey.shot("inbox")

    # 2. Sign a charter for the organisation: charters list, charter page, sign form with its pillars (sent
    #    first without its confirmation: refused beside the box, the pillars' ticks kept).
    page.locator("header nav a[href='/charters']").click()
    page.locator(f"[data-charter={CHARTER}] h2 a").click()
    journey.no_english()
    journey.shot("charter")
    page.click("[data-testid=sign]")
    page.select_option("select[name=organisation_id]", label=ORGANISATION)
    pillars = page.locator("[data-testid^=accept-]")
    assert pillars.count() > 1
    for n in range(pillars.count()):
        pillars.nth(n).check()
    page.click("[data-testid=sign-submit]")  # without the confirmation: the same form, its ticks kept
    page.wait_for_load_state()
    assert page.locator("[data-error-status]").count() == 0
    expect(page.locator("#confirm-error")).to_be_visible()
    expect(page.locator("select[name=organisation_id] option:checked")).to_have_text(ORGANISATION)
    for n in range(pillars.count()):
        expect(pillars.nth(n)).to_be_checked()
    journey.no_english()
    journey.shot("sign form")
    page.check("[data-testid=confirm]")
    page.click("[data-testid=sign-submit]")
    expect(page.locator(".flash.success")).to_be_visible()
    signed = page.locator("section:has([data-testid=commitments] tr[data-pillar=independent_review])")
    expect(signed.first).to_be_visible()
    journey.no_english()
    journey.shot("signed")

    # 3. Describe a draft through the inbox: a statement too short is refused on the same form, then corrected.
    journey.go("/dashboard")
    edit_url = describe.first.get_attribute("href")
    describe.first.click()
    page.wait_for_url(re.compile(r"/commitments/\d+/edit$"))
    page.fill("textarea[name=statement]", "Too short.")
    page.click("[data-testid=save-commitment]")
    page.wait_for_load_state()
    assert page.locator("[data-error-status]").count() == 0, "a refused value shows the form again, not an error page"
    assert page.url.endswith(edit_url)
    expect(page.locator("#statement-error")).to_be_visible()
    expect(page.locator("textarea[name=statement]")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("textarea[name=statement]")).to_have_value("Too short.")
    journey.no_english()
    journey.shot("description refused")
    page.fill("textarea[name=statement]", STATEMENT)
    page.click("[data-testid=save-commitment]")
    page.wait_for_url(re.compile(r"/instances/\d+$"))
    expect(page.locator("[data-testid=statement]")).to_have_text(STATEMENT)
    expect(page.locator("[data-testid=state] [data-state=draft]")).to_have_count(1)
    item_url = page.url
    journey.no_english()
    journey.shot("described")

    # 4. Declare it on its item page.
    journey.fire("declare", "declared")
    expect(page.locator("[data-testid=edit-commitment]")).to_have_count(0)
    journey.no_english()
    journey.shot("declared")

    # 5. Evidence: a file that is not what its name says is refused beside the form, keeping what was typed; then a
    #    web address and a small PDF are accepted, and the evidence is submitted.
    page.set_input_files("[data-testid=evidence-file]", {"name": "report.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00"})
    page.fill("[data-testid=evidence-url]", EVIDENCE_URL)
    page.fill(".evidence-form input[name=description]", EVIDENCE_TEXT)
    page.click("[data-testid=attach-evidence]")
    page.wait_for_load_state()
    assert page.locator("[data-error-status]").count() == 0
    expect(page.locator(".evidence-form [data-testid=refusal-here]")).to_be_visible()
    expect(page.locator("[data-testid=evidence-url]")).to_have_value(EVIDENCE_URL)
    expect(page.locator(".evidence-form input[name=description]")).to_have_value(EVIDENCE_TEXT)
    expect(page.locator("[data-testid=evidence] li")).to_have_count(0)
    journey.no_english()
    journey.shot("evidence refused")
    page.click("[data-testid=attach-evidence]")
    page.wait_for_load_state()
    expect(page.locator("[data-testid=evidence] li")).to_have_count(1)
    expect(page.locator("[data-testid=evidence]")).to_contain_text(EVIDENCE_URL)
    page.set_input_files("[data-testid=evidence-file]", {"name": "opinion.pdf", "mimeType": "application/pdf", "buffer": PDF})
    page.click("[data-testid=attach-evidence]")
    page.wait_for_load_state()
    expect(page.locator("[data-testid=evidence] li")).to_have_count(2)
    expect(page.locator("[data-testid=evidence]")).to_contain_text("opinion.pdf")
    journey.no_english()
    journey.shot("evidence attached")
    journey.fire("add_evidence", "evidenced")

    # 6. The item page: its diagram drawn, its history told in step titles, not keys.
    assert page.url.startswith(item_url)
    page.wait_for_selector("[data-testid=diagram][data-rendered='1']")
    steps = page.eval_on_selector_all("[data-testid=history] tbody tr td:nth-child(3)", "els => els.map(e => e.textContent.trim())")
    assert len(steps) >= 3 and not any("_" in s for s in steps), steps
    journey.no_english()
    journey.shot("history and diagram")

    # 7. The public register shows the organisation's commitment.
    page.locator("header nav a[href='/register']").click()
    page.fill("[data-testid=register-search]", ORGANISATION)
    page.locator("form[role=search] button[type=submit]").click()
    entries = page.locator(f"[data-testid=register-entry][data-org='{ORGANISATION}']")
    expect(entries.filter(has_text=STATEMENT)).to_have_count(1)
    journey.no_english()
    journey.shot("register")
    assert page.outside_requests == []
