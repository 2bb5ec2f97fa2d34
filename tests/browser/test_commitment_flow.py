"""A new user's path in a real browser: sign in, move a demo commitment one step, be refused as an outsider."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PASSWORD = "govflow-demo"


def sign_in(page, base, email):
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")


def sign_out(page):
    page.click("header form.inline:not(.lang) button")


def test_a_signatory_moves_a_commitment_and_another_organisation_is_refused(live_server, browser_page):
    page, base = browser_page, live_server
    sign_in(page, base, "bastien.roux@clairvoie.example")
    inbox = page.locator("[data-testid=inbox]")
    assert inbox.is_visible()
    page.click('[data-testid=inbox] a:has-text("Clairvoie Analytique"):has-text("/ FAIRE")')
    instance_url = page.url
    assert re.search(r"/instances/\d+$", instance_url)
    expect(page.locator("[data-testid=state]")).to_have_text("Draft")

    page.fill("textarea[name=declare-comment]", "Our review method is written down.")
    page.check("[data-testid=confirm-declare]")
    page.click("[data-testid=fire-declare]")
    page.wait_for_load_state()
    expect(page.locator(".flash.success")).to_contain_text("Done: Declare")
    expect(page.locator("[data-testid=state]")).to_have_text("Declared")
    history = page.locator("[data-testid=history] tbody tr")
    assert history.first.get_attribute("data-trigger") == "declare"
    assert "Our review method is written down." in history.first.inner_text()
    assert page.locator("[data-testid=fire-add_evidence]").is_visible()
    assert page.locator("[data-testid=fire-declare]").count() == 0

    sign_out(page)
    sign_in(page, base, "chloe.marchal@saint-aubrac.example")
    response = page.goto(instance_url)
    assert response.status == 403
    assert "not allowed" in page.locator("[role=alert]").inner_text()

    page.click("[data-testid=lang-fr]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.outside_requests == []


def test_a_refused_step_shows_a_sentence_and_changes_nothing(live_server, browser_page):
    page, base = browser_page, live_server
    sign_in(page, base, "bastien.roux@clairvoie.example")
    page.click('[data-testid=inbox] a:has-text("Clairvoie Analytique"):has-text("/ COMMUNIQUER")')
    page.click("[data-testid=fire-add_evidence]")
    page.wait_for_load_state()
    expect(page.locator("[data-testid=state]")).to_have_text("Declared")
    expect(page.locator("[data-trigger=add_evidence] [data-testid=form-error]")).to_contain_text("Attach evidence")
    page.fill("input[name=add_evidence-evidence_url]", "https://clairvoie.example/notes")
    page.click("[data-testid=fire-add_evidence]")
    page.wait_for_load_state()
    expect(page.locator("[data-testid=state]")).to_have_text("Evidenced")
    assert page.outside_requests == []
