"""A programme manager, new to govflow, runs a sandbox call from the menus: opens the call, takes an application from
submission to laureate, plans its roadmap, accepts a deliverable and sees the cohort dashboard change; the accepted
deliverable's attestation is verified offline with ``govflow attest verify``. In headless Chromium, nothing leaving
localhost.

Hugo Lemaire manages; Bastien Roux applies for Clairvoie Analytique and delivers the impact assessment.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from govflow.engine import utcnow

from .test_referral_flow import fire, sign_in, sign_out, verify_bundle

pytestmark = pytest.mark.browser

HUGO = "hugo.lemaire@sandbox.example"
BASTIEN = "bastien.roux@clairvoie.example"
THEME = "Algorithms in local public services"
PROJECT = "Predicting potholes from bus camera footage"


def programme_values(theme: str = THEME) -> dict[str, str]:
    """A programme's form, filled: its call open from yesterday for a month, its lists typed as rows."""
    today = utcnow().date()
    return {
        "theme_en": theme,
        "theme_fr": "Les algorithmes dans les services publics locaux",
        "edition": str(today.year + 1),
        "description_en": "Six months of support for towns and firms building algorithms for local services.",
        "description_fr": "Six mois d'accompagnement pour les villes et entreprises qui conçoivent des algorithmes de services locaux.",
        "call_opens_on": (today - timedelta(days=1)).isoformat(),
        "call_closes_on": (today + timedelta(days=30)).isoformat(),
        "eligibility-0-en": "The project is not in production yet",
        "eligibility-0-fr": "Le projet n'est pas encore en production",
        "grid-0-en": "Public benefit",
        "grid-0-fr": "Intérêt public",
        "grid-0-weight": "2",
        "grid-1-en": "Data-protection stakes",
        "grid-1-fr": "Enjeux de protection des données",
        "grid-1-weight": "1",
        "cohort_size": "2",
        "support_months": "6",
        "axes-0-en": "Which data, and is collecting them lawful?",
        "axes-0-fr": "Quelles données, et leur collecte est-elle licite ?",
    }


def fill_programme(page) -> None:
    values = programme_values()
    for name, value in values.items():
        page.fill(f"[name={name}]", value)
    # Rows are added with a plain button (no JavaScript needed): the page comes back with what was typed and one more row.
    page.click("button[name=add_row][value=axes]")
    expect(page.locator("[name=axes-0-en]")).to_have_value("Which data, and is collecting them lawful?")
    page.fill("[name=axes-4-en]", "Impact assessments")
    page.fill("[name=axes-4-fr]", "Analyses d'impact")


def test_a_manager_runs_a_call_to_an_accepted_deliverable_and_the_dashboard_follows(live_server, browser_page, tmp_path):
    page, base = browser_page, live_server
    page.on("dialog", lambda dialog: dialog.accept())

    # 1. Hugo opens a programme and its call from the menu, and names himself evaluator.
    sign_in(page, base, HUGO)
    page.click("header nav >> text=Sandboxes")
    page.click("[data-testid=new-programme]")
    fill_programme(page)
    page.click("[data-testid=save-programme]")
    page.wait_for_url(re.compile(r"/programmes/\d+$"))
    programme_url = page.url
    expect(page.locator("h1")).to_contain_text(THEME)
    expect(page.locator("[data-testid=call-state]")).to_have_attribute("data-state", "open")
    page.fill("[data-testid=person-email]", HUGO)
    page.click("[data-testid=add-person]")
    expect(page.locator("[data-testid=evaluators]")).to_contain_text("Hugo Lemaire")
    sign_out(page)

    # 2. Bastien finds the open call, applies for his company and submits.
    sign_in(page, base, BASTIEN)
    page.click("header nav >> text=Sandboxes")
    page.click(f"text={THEME}")
    page.click("[data-testid=apply]")
    page.fill("[name=title]", PROJECT)
    page.fill("[name=summary]", "Bus cameras already film the roads; a model flags potholes so that crews repair them sooner. No person is kept in the images.")
    page.check("[data-testid=eligibility-declarations] input[type=checkbox]")
    page.click("[data-testid=save-application]")
    page.wait_for_url(re.compile(r"/instances/\d+$"))
    application_url = page.url
    expect(page.locator("[data-testid=state]")).to_have_text("Draft")
    fire(page, "submit", "Submitted")
    sign_out(page)

    # 3. Hugo finds it waiting on him, checks it, shortlists it, holds the audition, scores it and selects it.
    sign_in(page, base, HUGO)
    page.click(f"[data-testid=inbox] >> text={PROJECT}")
    assert page.url == application_url
    fire(page, "check_eligibility", "Eligibility check")
    fire(page, "shortlist", "Shortlisted")
    page.fill("[name=when]", (utcnow() + timedelta(days=7)).strftime("%Y-%m-%dT10:00"))
    page.fill("[name=place]", "Video call")
    page.click("[data-testid=set-audition]")
    expect(page.locator("[data-testid=audition]")).to_contain_text("Video call")
    fire(page, "schedule_audition", "Audition scheduled")
    page.click("[data-testid=score-link]")
    page.select_option("[name=score_public_benefit]", "5")
    page.select_option("[name=score_data_protection_stakes]", "3")
    page.fill("[name=comment]", "A clear benefit; images must be blurred before storage.")
    page.click("[data-testid=save-score]")
    row = page.locator("[data-testid=applications] tr", has_text=PROJECT)
    expect(row).to_have_attribute("data-rank", "1")
    expect(row).to_contain_text("86.7")  # (5×2 + 3×1) / (3×5) = 13/15
    row.locator("a", has_text=PROJECT).click()
    fire(page, "hold_audition", "Audition held")
    fire(page, "select", "Selected (laureate)")

    # 4. He plans the roadmap: a deliverable under the first axis, owned by himself and by Bastien; then starts the support.
    page.click("[data-testid=roadmap-link]")
    expect(page.locator("[data-testid=axis]")).to_have_count(2)
    today = utcnow().date()
    form = page.locator("[data-testid=milestone-form]")
    form.locator("[name=kind]").select_option("deliverable")
    form.locator("[name=title]").fill("Data protection impact assessment")
    form.locator("[name=starts_on]").fill(today.isoformat())
    form.locator("[name=due_on]").fill((today + timedelta(days=45)).isoformat())
    form.locator("[name=manager_owner_id]").select_option(label="Hugo Lemaire")
    form.locator("[name=team_owner_id]").select_option(label="Bastien Roux")
    page.click("[data-testid=add-milestone]")
    milestone_link = page.locator("[data-testid=milestones] a", has_text="Data protection impact assessment")
    expect(milestone_link).to_have_count(1)
    milestone_url = base + milestone_link.get_attribute("href")
    page.goto(application_url)
    fire(page, "start_support", "In support")
    page.goto(programme_url)
    page.click("[data-testid=dashboard-link]")
    progress = page.locator("[data-testid=progress] tr", has_text=PROJECT)
    expect(progress).to_have_attribute("data-accepted", "0")
    expect(progress).to_have_attribute("data-total", "1")
    expect(page.locator("[data-testid=timeline] rect[data-state=planned]")).to_have_count(1)
    sign_out(page)

    # 5. Bastien starts the deliverable, attaches the document and submits it.
    sign_in(page, base, BASTIEN)
    page.goto(milestone_url)
    fire(page, "start", "In progress")
    document = tmp_path / "dpia.txt"
    document.write_text("Impact assessment of the pothole detector: purposes, data, risks, measures.\n", encoding="utf-8")
    page.set_input_files("[data-testid=milestone-file]", str(document))
    page.click("[data-testid=attach-file]")
    expect(page.locator("[data-testid=milestone-files]")).to_contain_text("dpia.txt")
    fire(page, "submit", "Submitted")
    sign_out(page)

    # 6. Hugo accepts it; the dashboard shows it accepted.
    sign_in(page, base, HUGO)
    page.goto(milestone_url)
    fire(page, "accept", "Accepted")
    link = page.locator("[data-testid=attestations] li[data-attestation] a", has_text="Accept")
    expect(link).to_have_count(1)
    uid = re.fullmatch(r"/attestations/([0-9a-f-]+)", link.get_attribute("href")).group(1)
    page.goto(programme_url)
    page.click("[data-testid=dashboard-link]")
    progress = page.locator("[data-testid=progress] tr", has_text=PROJECT)
    expect(progress).to_have_attribute("data-accepted", "1")
    expect(progress).to_contain_text("100%")
    expect(page.locator("[data-testid=timeline] rect[data-state=accepted]").first).to_be_visible()

    # 7. The deliverable's attestation, with the document's digest, verifies offline; one changed character breaks it.
    download = page.request.get(f"{base}/attestations/{uid}/bundle.json")
    assert download.ok, download.status
    bundle = download.json()
    subject = bundle["credential"]["credentialSubject"]
    assert subject["act"] == "accept" and subject["documents"][0]["name"] == "dpia.txt"
    good = tmp_path / "bundle.json"
    good.write_bytes(download.body())
    result = verify_bundle(good)
    assert result.returncode == 0 and "Verdict: VALID." in result.stdout, result.stdout + result.stderr
    subject["milestone"]["title"] = subject["milestone"]["title"].replace("impact", "impacts")
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(bundle))
    result = verify_bundle(tampered)
    assert result.returncode != 0 and "Verdict: NOT VALID." in result.stdout, result.stdout
    assert page.outside_requests == []
