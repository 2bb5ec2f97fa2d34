"""Each problem people met in the browser (issue #15), shown gone by a browser test named after it, on the demo data.
The journeys (test_journey_*.py) walk the same ground as each kind of user, in both languages and on a phone; these
tests are the short, named proof of each problem."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .test_referral_flow import sign_in

pytestmark = pytest.mark.browser

BASTIEN = "bastien.roux@clairvoie.example"  # officer of Clairvoie Analytique (signatory)
QUENTIN = "quentin.delorme@vigilis.example"  # Vigilis Vision, a 2023 laureate in support
ELISE = "elise.varenne@comite.example"  # the committee's secretary
HUGO = "hugo.lemaire@sandbox.example"  # the sandbox's programme manager
DELIVERABLE = "Data inventory and legal bases"  # Vigilis Vision's deliverable in progress, no file yet
SUBMITTED = "Guidance assistant for pupils' study choices"  # a referral waiting for admissibility
DECIDED = "Suggesting training paths to job seekers"  # a referral decided with conditions


def _open_from_inbox(page, text: str) -> None:
    page.locator("[data-testid=inbox] a[href^='/instances/']", has_text=text).first.click()
    expect(page.locator("[data-testid=state]")).to_have_count(1)
    page.wait_for_load_state("load")


def test_refused_input_keeps_the_users_work(live_server, browser_page):
    page, base = browser_page, live_server
    sign_in(page, base, QUENTIN)
    _open_from_inbox(page, DELIVERABLE)
    item = page.url
    page.set_input_files("[data-testid=milestone-file]", {"name": "report.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00binary"})
    page.click("[data-testid=attach-file]")
    expect(page.locator("[data-testid=refusal-here]")).to_contain_text("File refused")
    expect(page.locator("[data-testid=error-summary]")).to_contain_text("a chosen file must be chosen again")
    assert page.locator("[data-error-status]").count() == 0  # not the error page
    expect(page.locator("[data-testid=milestone]")).to_be_visible()  # the milestone's own page, answered in place
    expect(page.locator("h1")).to_contain_text(DELIVERABLE)
    assert item
    assert page.outside_requests == []


def test_a_blocked_step_says_why_and_what_to_do(live_server, browser_page):
    page, base = browser_page, live_server
    sign_in(page, base, QUENTIN)
    waiting = page.locator("[data-testid=inbox] tr", has_text=DELIVERABLE).locator("[data-testid=blocked]")
    expect(waiting).to_contain_text("file")  # the guard's own sentence, not "open it to see why"
    assert "open it to see why" not in waiting.inner_text()
    _open_from_inbox(page, DELIVERABLE)
    blocked = page.locator("[data-testid=blocked-steps]")
    expect(blocked).to_contain_text("file")
    assert "There is no step you can take" not in page.locator("main").inner_text()
    page.wait_for_selector("[data-testid=diagram][data-rendered='1']")
    assert page.locator("[data-testid=diagram] svg").get_by_text("✓").count() == 0  # not drawn as open


def test_the_committee_reads_the_dossier_when_judging_admissibility(live_server, browser_page):
    page, base = browser_page, live_server
    sign_in(page, base, ELISE)
    _open_from_inbox(page, SUBMITTED)
    expect(page.locator("[data-testid=state] [data-state=submitted]")).to_have_count(1)
    pane = page.locator("[data-testid=dossier-pane]")
    expect(pane).to_be_visible()
    expect(pane.locator("[data-field=purpose]")).to_contain_text("to serve residents better with public data")
    expect(page.locator("[data-testid=fire-declare_admissible]")).to_be_visible()


def test_dissent_has_a_form_decisions_link_their_attestation_and_withdrawals_say_why(live_server, browser_page):
    page, base = browser_page, live_server
    sign_in(page, base, ELISE)  # voted "favourable"; the decision is "favourable with conditions"
    page.goto(f"{base}/decisions")
    decision = page.locator("[data-testid=published-decision]", has_text=DECIDED)
    expect(decision.locator("[data-testid=decision-attestation]")).to_have_attribute("href", re.compile(r"^/attestations/"))
    page.goto(f"{base}/dashboard")
    _open_from_inbox(page, DECIDED)
    form = page.locator("[data-testid=dissent-form]")
    expect(form).to_be_visible()
    form.locator("textarea").fill("The conditions should also cover the data kept after the pilot.")
    page.click("[data-testid=add-dissent]")
    expect(page.locator("[data-testid=dissent]")).to_contain_text("data kept after the pilot")
    page.goto(f"{base}/register")
    expect(page.locator("[data-testid=withdrawal]").first).to_contain_text("Reason:")


def test_people_read_titles_never_keys(live_server, browser_page):
    page, base = browser_page, live_server
    page.goto(f"{base}/register")
    assert page.locator("header nav a[href^='/workflows']").count() == 0, "the developers' page is out of the menu"
    options = page.eval_on_selector_all("select option", "els => els.map(e => e.textContent.trim())")
    assert options and not [o for o in options if "_" in o], options
    sign_in(page, base, BASTIEN)
    _open_from_inbox(page, "Clairvoie")
    panel = page.locator("[data-testid=pillar]")
    expect(panel).to_be_visible()
    assert not re.fullmatch(r"[a-z_]+", panel.inner_text().strip()), panel.inner_text()
    history = page.eval_on_selector_all("[data-testid=history] tbody tr td:nth-child(3)", "els => els.map(e => e.textContent.trim())")
    assert history and not [h for h in history if "_" in h], history
    page.goto(f"{base}/charters")
    page.locator("main a[href^='/charters/']").first.click()
    summary = page.locator("[data-testid=summary]").inner_text()
    assert "**" not in summary and "](" not in summary  # Markdown rendered, not shown raw


def test_french_reaches_the_generated_sentences(live_server, browser_page):
    page, base = browser_page, live_server
    sign_in(page, base, ELISE)
    page.click("[data-testid=lang-fr]")
    _open_from_inbox(page, DECIDED)
    tally = page.locator("[data-testid=tally]")
    expect(tally).to_contain_text("membres")
    text = page.locator("main").inner_text()
    for english in ("eligible members voted", "votes cast", "Current state", "History"):
        assert english not in text, english
    assert "Historique" in text


def test_structured_data_is_typed_as_rows_not_as_text_lines(live_server, browser_page):
    """A programme's lists and a declaration of interests are rows; the scoring sheet's blank start (no preset 0) is
    walked in test_journey_sandbox.py, where an application is brought to scoring."""
    page, base = browser_page, live_server
    sign_in(page, base, HUGO)
    page.goto(f"{base}/programmes/new")
    assert page.locator("textarea[name=grid], textarea[name=eligibility], textarea[name=axes]").count() == 0
    page.fill("[name=grid-0-en]", "Public benefit")
    page.click("button[name=add_row][value=grid]")
    expect(page.locator("[name=grid-0-en]")).to_have_value("Public benefit")
    assert page.locator("[data-testid=rows-grid] [data-row]").count() == 4
    page.goto(f"{base}/interests")
    expect(page.locator("[name=interests-0-organisation]")).to_be_visible()
    assert page.locator("textarea[name=interests]").count() == 0


def test_signed_acts_ask_for_confirmation_and_a_draft_offers_its_steps(live_server, browser_page):
    page, base = browser_page, live_server
    sign_in(page, base, BASTIEN)
    draft = page.locator("[data-testid=inbox] tr").filter(has=page.locator("[data-testid=inbox-link]")).first
    hrefs = draft.locator("[data-testid=inbox-link]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert any("/edit" in h for h in hrefs) and any("#step-declare" in h for h in hrefs), hrefs
    draft.locator("a[href*='#step-declare']").first.click()
    box = page.locator("[data-testid=confirm-withdraw]")  # withdrawing is final: it asks first
    expect(box).to_have_count(1)
    page.fill("[name=withdraw-reason]", "We describe it again under another pillar.")
    url = page.url
    page.click("[data-testid=fire-withdraw]")  # without the tick the browser keeps the form (the server refuses it too)
    assert box.evaluate("e => e.validity.valueMissing") and page.url == url
    expect(page.locator("[data-testid=state] [data-state=draft]")).to_have_count(1)


def test_pages_fit_a_phone_and_show_a_favicon(live_server, browser_page):
    page, base = browser_page, live_server
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/", "/register", "/charters", "/programmes", "/verify"):
        page.goto(base + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(base + icon).status == 200
