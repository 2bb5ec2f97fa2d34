"""The ethics committee's journeys (issue #15, item 8), in English and in French, each on a desktop screen and on a phone.

The secretary (Élise Varenne) finds a submitted referral in her inbox and reads its dossier at admissibility, declares
it admissible, is refused a rapporteur who may not be one (the sentence comes back beside that form), assigns Gaëlle
Pons, opens the deliberation and the vote; Fabrice Nalet, who advises the commune, is recused, the reason in words.
Once the members voted, the tally reads in the page's language; she records the decision with conditions (refused
until its confirmation box is ticked, with what she typed kept) and finds it on /decisions with its attestation.

A member (Damien Oudin) adds a row to his declaration of interests and saves it; finds the referral open to his vote,
reads its dossier, is refused a ballot without its rationale (his choice kept), then votes; once the decision went the
other way, he is refused an empty dissenting opinion in place, then records one, shown beside the decision.
Screenshots of each step are saved (see kit.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .test_referral_flow import CHLOE, CONDITIONS, DAMIEN, DOSSIER, ELISE, FABRICE, GAELLE, TITLE, fill_referral

pytestmark = pytest.mark.browser

# A referral the demo data leaves under examination, by an organisation no member is linked to.
EXAMINED = "Spotting duplicate invoices in public procurement"
RATIONALE = "A clear public interest, no personal data, and a manager keeps the decision."


def file_referral(journey) -> str:
    """Chloé Marchal files the commune's referral and submits it; the path of its page."""
    page = journey.page
    journey.sign_in(CHLOE)
    journey.go("/referrals/new")
    fill_referral(page)
    page.check("input[name=publish_consent]")
    page.click("[data-testid=save-referral]")
    page.wait_for_url(re.compile(r"/instances/\d+$"))
    path = page.url.removeprefix(journey.base)
    journey.fire("submit", "submitted")
    journey.sign_out()
    return path


def vote(journey, path: str, choice: str, rationale: str | None = None) -> None:
    """Cast a ballot on the referral of the page at ``path``, as the member signed in."""
    page = journey.page
    journey.go(path)
    page.click("[data-testid=go-vote]")
    page.select_option("select[name=choice]", choice)
    if rationale:
        page.fill("textarea[name=rationale]", rationale)
    page.click("[data-testid=cast-vote]")
    page.wait_for_url(journey.base + path)


def vote_as(journey, email: str, path: str, choice: str, rationale: str | None = None) -> None:
    journey.sign_in(email)
    vote(journey, path, choice, rationale)
    journey.sign_out()


def test_committee_secretary(journey):
    page = journey.page
    path = file_referral(journey)

    # 1. The inbox shows the submitted referral; its page shows the dossier itself, open for reading.
    journey.sign_in(ELISE)
    row = page.locator(f"[data-testid=inbox] tr:has(a[href='{path}'])")
    expect(row.locator("[data-state=submitted]")).to_have_count(1)
    journey.no_english()
    journey.shot("inbox")
    row.locator(f"a[href='{path}']").click()
    pane = page.locator("[data-testid=dossier-pane]")
    expect(pane).to_be_visible()
    expect(pane.locator("[data-field=purpose]")).to_contain_text(DOSSIER["purpose"])
    expect(pane.locator("[data-field=inference]")).to_contain_text(DOSSIER["inference"])
    journey.no_english()
    journey.shot("dossier at admissibility")

    # 2. Admissible; a rapporteur refused (a member no longer eligible, as from a page loaded before a recusal), then
    # Gaëlle Pons; the rapporteurs confirmed, the deliberation and the vote opened.
    journey.fire("declare_admissible", "under_examination")
    form = page.locator("form:has([data-testid=rapporteur-select])")
    page.eval_on_selector("[data-testid=rapporteur-select] option", "o => { o.value = '999999'; o.selected = true; }")
    page.click("[data-testid=add-rapporteur]")
    expect(form.locator("[data-testid=refusal-here]")).to_be_visible()
    expect(page.locator("[data-testid=rapporteurs] li.empty")).to_have_count(1)
    journey.no_english()
    journey.shot("rapporteur refused")
    page.select_option("[data-testid=rapporteur-select]", label="Gaëlle Pons")
    page.click("[data-testid=add-rapporteur]")
    expect(page.locator("[data-testid=rapporteurs]")).to_contain_text("Gaëlle Pons")
    journey.fire("assign_rapporteurs", "rapporteurs_assigned")
    journey.fire("open_deliberation", "deliberation")
    journey.fire("open_vote", "vote_open")
    recusals = page.locator("[data-testid=recusals]")
    expect(recusals).to_contain_text("Fabrice Nalet")
    expect(recusals).to_contain_text("Commune de Saint-Aubrac")
    assert "_" not in recusals.inner_text(), recusals.inner_text()
    expect(page.locator("[data-testid=go-vote]")).to_be_visible()
    journey.no_english()
    journey.shot("vote open")
    journey.sign_out()

    # 3. The members vote (the recused one may not); Élise's ballot, the last, closes the vote; the tally and the
    # recusal read in the page's language.
    journey.sign_in(FABRICE)
    assert page.goto(journey.base + path.replace("/instances/", "/referrals/") + "/vote").status in (403, 404)
    journey.sign_out()
    vote_as(journey, DAMIEN, path, "favourable_with_conditions", "Publish how often the model is wrong.")
    vote_as(journey, GAELLE, path, "favourable_with_conditions", "The unions should see the suggestions.")
    journey.sign_in(ELISE)
    vote(journey, path, "favourable")
    expect(page.locator("[data-testid=state] [data-state=vote_closed]")).to_have_count(1)
    tally = page.locator("[data-testid=tally]")
    expect(tally).to_contain_text(journey.words("3 of 3 eligible members voted", "3 sur 3 membres habilités"))
    expect(recusals).to_contain_text(journey.words("Declared interest", "Intérêt déclaré"))
    if journey.lang == "fr":
        for english in ("eligible", " voted", "quorum was", "majority", "favourable"):
            assert english not in tally.inner_text(), f"English {english!r} in the French tally: {tally.inner_text()}"
        for english in ("Declared interest", "advises"):
            assert english not in recusals.inner_text(), f"English {english!r} in the French recusal: {recusals.inner_text()}"
    journey.no_english()
    journey.shot("tally")

    # 4. The decision with conditions: refused until its box is ticked (what was typed is kept), then recorded.
    page.fill("[name=record_with_conditions-rationale]", RATIONALE)
    page.fill("[name=record_with_conditions-conditions]", "\n".join(CONDITIONS))
    page.click("[data-testid=fire-record_with_conditions]")
    expect(page.locator("[data-testid=confirm-error]")).to_be_visible()
    expect(page.locator("[name=record_with_conditions-rationale]")).to_have_value(RATIONALE)
    expect(page.locator("[data-testid=state] [data-state=vote_closed]")).to_have_count(1)
    journey.no_english()
    journey.shot("decision needs confirmation")
    journey.fire("record_with_conditions", "favourable_with_conditions", rationale=RATIONALE, conditions="\n".join(CONDITIONS))
    expect(page.locator("[data-testid=decision]")).to_have_attribute("data-outcome", "favourable_with_conditions")
    expect(page.locator("[data-testid=conditions] li")).to_have_count(2)
    journey.no_english()
    journey.shot("decision recorded")

    # The decision is published on /decisions, with a link to its signed attestation.
    journey.go("/decisions")
    published = page.locator("[data-testid=published-decision]", has_text=TITLE)
    expect(published).to_have_count(1)
    link = published.locator("[data-testid=decision-attestation]")
    expect(link).to_have_attribute("href", re.compile(r"^/attestations/[0-9a-f-]+$"))
    journey.no_english()
    journey.shot("published decisions")
    link.click()
    expect(page.locator("[data-testid=act]")).to_be_visible()
    journey.no_english()
    journey.shot("attestation")
    assert page.outside_requests == []


def test_committee_member(journey):
    page = journey.page

    # The secretary opens the vote on a referral the demo data left under examination.
    journey.sign_in(ELISE)
    link = page.locator("[data-testid=inbox] a[href^='/instances/']", has_text=EXAMINED)
    path = link.get_attribute("href")
    link.click()
    journey.fire("assign_rapporteurs", "rapporteurs_assigned")
    journey.fire("open_deliberation", "deliberation")
    journey.fire("open_vote", "vote_open")
    journey.sign_out()
    vote_url = path.replace("/instances/", "/referrals/") + "/vote"  # checked below against the page's own link

    # 1. The declaration of interests as rows: one more row, filled in and saved; the page comes back with the rows.
    journey.sign_in(DAMIEN)
    journey.go("/interests")
    rows = page.locator("[data-testid=rows-interests] .row-list-row")
    before = rows.count()
    journey.shot("declaration of interests")
    page.click("button[name=add_row][value=interests]")
    expect(rows).to_have_count(before + 1)
    last = rows.last
    last.locator("input[name$=-organisation]").fill("Observatoire des communs numériques (démo)")
    last.locator("select[name$=-relation]").select_option("advises")
    journey.shot("a row added")
    page.click("main form.card > button[type=submit]:not([name])")
    expect(page.locator(".flash.success, [role=status]").first).to_be_visible()
    organisations = page.locator("[data-testid=rows-interests] input[name$=-organisation]")
    values = [organisations.nth(n).input_value() for n in range(organisations.count())]
    assert "Observatoire des communs numériques (démo)" in values and "Université du Midi (démo)" in values, values
    journey.no_english()
    journey.shot("declaration saved")

    # 2. The inbox: the referral waits for his ballot; from the ballot's page he reads its dossier, then votes.
    journey.go("/dashboard")
    open_vote = page.locator(f"[data-testid=open-votes] a[href='{vote_url}']")
    expect(open_vote).to_have_count(1)
    journey.no_english()
    journey.shot("inbox")
    open_vote.click()
    page.wait_for_url(journey.base + vote_url)
    page.click("[data-testid=read-dossier]")
    page.wait_for_url(journey.base + path)
    pane = page.locator("[data-testid=dossier-pane]")
    expect(pane.locator("[data-field=purpose]")).to_contain_text(EXAMINED)
    journey.no_english()
    journey.shot("dossier")
    page.click("[data-testid=go-vote]")
    page.wait_for_url(journey.base + vote_url)
    page.select_option("select[name=choice]", "unfavourable")
    page.click("[data-testid=cast-vote]")
    expect(page.locator("#rationale-error, [data-testid=refusal-here]").first).to_be_visible()
    expect(page.locator("select[name=choice]")).to_have_value("unfavourable")
    journey.no_english()
    journey.shot("ballot refused")
    page.fill("textarea[name=rationale]", "Matching invoices by supplier is enough; no model is needed.")
    page.click("[data-testid=cast-vote]")
    page.wait_for_url(journey.base + path)
    expect(page.locator("[data-testid=state] [data-state=vote_open]")).to_have_count(1)
    journey.no_english()
    journey.shot("ballot cast")
    journey.sign_out()

    # The others vote for the project with conditions; the secretary, last, records the decision.
    vote_as(journey, FABRICE, path, "favourable_with_conditions", "Publish the error rate of the matching.")
    vote_as(journey, GAELLE, path, "favourable_with_conditions", "Keep a person checking each flagged invoice.")
    journey.sign_in(ELISE)
    vote(journey, path, "favourable_with_conditions", "Publish the error rate.")
    expect(page.locator("[data-testid=state] [data-state=vote_closed]")).to_have_count(1)
    journey.fire("record_with_conditions", "favourable_with_conditions", rationale=RATIONALE, conditions=CONDITIONS[0])
    journey.sign_out()

    # 3. He voted otherwise: the dissent form; an empty opinion is refused in place, then his opinion is shown.
    journey.sign_in(DAMIEN)
    journey.go(path)
    form = page.locator("[data-testid=dissent-form]")
    expect(form).to_be_visible()
    form.locator("textarea[name=text]").fill("   ")
    form.locator("[data-testid=add-dissent]").click()
    expect(form.locator("[data-testid=refusal-here]")).to_be_visible()
    expect(page.locator("[data-testid=dissent]")).to_have_count(0)
    journey.no_english()
    journey.shot("empty dissent refused")
    opinion = "No model is needed to match invoices: a plain rule does it and explains itself."
    page.locator("[data-testid=dissent-form] textarea[name=text]").fill(opinion)
    page.locator("[data-testid=dissent-form] [data-testid=add-dissent]").click()
    expect(page.locator("[data-testid=dissent]")).to_contain_text(opinion)
    expect(page.locator("[data-testid=dissent-form]")).to_have_count(0)
    journey.no_english()
    journey.shot("dissent recorded")
    assert page.outside_requests == []
