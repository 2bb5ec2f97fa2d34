"""The sandbox's journeys (issue #15, item 8), in English and in French, each on a desktop screen and on a phone.

The programme manager (Hugo Lemaire) opens a programme whose lists are typed as rows (rows added and removed with
plain buttons, a row in one language refused in place), sets an audition in his time zone and scores an application
(no score preset, a blank criterion refused beside it), plans a milestone on a demo laureate's roadmap (a due date
before the start refused beside it, every typed value kept) and reads the cohort dashboard.

The laureate (Quentin Delorme, whose Vigilis Vision is in support in the demo's 2023 edition: Bastien Roux's
organisation is no demo laureate) opens a deliverable from his inbox: its submission is blocked until a file is
attached, and the page says so; a disguised executable is refused beside the file form, a PDF is accepted and the
deliverable submitted; on the phone, the roadmap fits and an empty question is refused beside its axis's form.
Screenshots of each step are saved (see kit.py).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from govflow.demo import EDITION_2023, EDITION_2026
from govflow.engine import utcnow
from govflow.engine.diagrams import OPEN_MARK

from .. import samples
from .test_sandbox_flow import programme_values

pytestmark = pytest.mark.browser

HUGO = "hugo.lemaire@sandbox.example"
BASTIEN = "bastien.roux@clairvoie.example"
QUENTIN = "quentin.delorme@vigilis.example"
PROJECT = "Pooling school-canteen registrations across towns"
DELIVERABLE = "Data inventory and legal bases"  # in progress for Vigilis Vision in the demo, no file attached yet


def _new_programme(journey) -> None:
    """Step 1: a programme typed as rows; rows added and removed with plain buttons; a one-language row refused."""
    page = journey.page
    page.locator("header nav a[href='/programmes']").click()
    page.click("[data-testid=new-programme]")
    values = programme_values("Algorithms in local public services")
    for name, value in values.items():
        page.fill(f"[name={name}]", value)
    grid = page.locator("[data-testid=rows-grid] [data-row]")
    rows = grid.count()
    journey.shot("programme form")

    # "Add a row" is a plain submit button: the page comes back with what was typed and one more row.
    page.click("button[name=add_row][value=grid]")
    expect(grid).to_have_count(rows + 1)
    for name, value in values.items():
        expect(page.locator(f"[name={name}]")).to_have_value(value)
    page.fill(f"[name=grid-{rows}-en]", "Commitment to compliance")
    page.fill(f"[name=grid-{rows}-fr]", "Engagement dans une démarche de conformité")
    page.fill(f"[name=grid-{rows}-weight]", "1")
    journey.shot("grid row added")

    # "Remove" takes out one (empty) row; the others keep their values.
    page.click(f"button[name=remove_row][value=grid-{rows - 1}]")
    expect(grid).to_have_count(rows)
    expect(page.locator("[name=grid-0-en]")).to_have_value("Public benefit")
    expect(page.locator(f"[name=grid-{rows - 1}-en]")).to_have_value("Commitment to compliance")
    journey.shot("grid row removed")

    # A row in one language only is refused in place, under its list; nothing typed is lost.
    page.fill(f"[name=grid-{rows - 1}-fr]", "")
    page.click("[data-testid=save-programme]")
    expect(page.locator("#grid-error")).to_be_visible()
    assert page.url.endswith("/programmes/new"), page.url
    expect(page.locator(f"[name=grid-{rows - 1}-en]")).to_have_value("Commitment to compliance")
    expect(page.locator("[name=theme_fr]")).to_have_value(values["theme_fr"])
    journey.no_english()
    journey.shot("one language refused")

    page.fill(f"[name=grid-{rows - 1}-fr]", "Engagement dans une démarche de conformité")
    page.click("[data-testid=save-programme]")
    page.wait_for_url(re.compile(r"/programmes/\d+$"))
    expect(page.locator("[data-testid=call-state]")).to_have_attribute("data-state", "open")
    journey.no_english()
    journey.shot("programme saved")


def _bastien_applies(journey) -> None:
    """Bastien applies to the demo's open call and submits (set-up for the manager's step 2; no screenshot)."""
    page = journey.page
    journey.sign_in(BASTIEN)
    page.locator("header nav a[href='/programmes']").click()
    page.locator("[data-testid=programmes] a", has_text=journey.words(EDITION_2026["theme_en"], EDITION_2026["theme_fr"])).click()
    page.click("[data-testid=apply]")
    page.fill("[name=title]", PROJECT)
    page.fill("[name=summary]", "Towns share one registration service for school canteens; each sees only its own families.")
    for box in page.locator("[data-testid=eligibility-declarations] input[type=checkbox]").all():
        box.check()
    page.click("[data-testid=save-application]")
    page.wait_for_url(re.compile(r"/instances/\d+$"))
    journey.fire("submit", "submitted")
    journey.sign_out()


def test_programme_manager(journey):
    page = journey.page
    journey.sign_in(HUGO)
    _new_programme(journey)
    journey.sign_out()

    # 2. An application waiting on him: an audition in his time zone, shown back as typed; a scoring sheet.
    _bastien_applies(journey)
    journey.sign_in(HUGO)
    page.locator("[data-testid=inbox] a", has_text=PROJECT).click()
    journey.fire("check_eligibility", "eligibility_check")
    journey.fire("shortlist", "shortlisted")
    when = (utcnow() + timedelta(days=7)).strftime("%Y-%m-%dT10:30")
    page.fill("[name=when]", when)
    page.fill("[name=place]", "Video call")
    page.click("[data-testid=set-audition]")
    expect(page.locator("[data-testid=audition]")).to_contain_text("Video call")
    expect(page.locator("[data-testid=audition]")).to_contain_text("10:30")
    expect(page.locator("[name=when]")).to_have_value(when)
    journey.no_english()
    journey.shot("audition set")
    journey.fire("schedule_audition", "audition_scheduled")

    page.click("[data-testid=score-link]")
    selects = page.locator("form.card select[name^=score_]")
    assert selects.count() >= 2
    for select in selects.all():
        expect(select).to_have_value("")  # no score preset: every sheet starts blank
    journey.shot("blank scoring sheet")
    names = [s.get_attribute("name") for s in selects.all()]
    for name in names[:-1]:
        page.select_option(f"[name={name}]", "4")
    page.fill("[name=comment]", "A clear benefit; families' data must stay with their town.")
    page.click("[data-testid=save-score]")
    blank = names[-1]
    expect(page.locator(f"#{blank}-error")).to_be_visible()
    expect(page.locator(f"[name={blank}]")).to_have_attribute("aria-invalid", "true")
    for name in names[:-1]:
        expect(page.locator(f"[name={name}]")).to_have_value("4")
    expect(page.locator("[name=comment]")).to_have_value("A clear benefit; families' data must stay with their town.")
    journey.no_english()
    journey.shot("blank criterion refused")
    page.select_option(f"[name={blank}]", "3")
    page.click("[data-testid=save-score]")
    expect(page.locator("[data-testid=applications] tr", has_text=PROJECT)).to_have_count(1)
    journey.no_english()
    journey.shot("scored")

    # 3. A demo laureate's roadmap: a milestone due before it starts is refused beside the due date, all kept.
    journey.go("/dashboard")
    edition = page.locator("[data-testid=my-programmes] li", has_text=journey.words(EDITION_2023["theme_en"], EDITION_2023["theme_fr"]))
    edition.locator("a[href$='/dashboard']").click()
    expect(page.locator("[data-testid=progress]")).to_be_visible()
    page.locator("[data-testid=progress] tr:has([data-state=in_support]) a").last.click()
    form = page.locator("[data-testid=milestone-form]")
    expect(form).to_be_visible()
    today = utcnow().date()
    typed = {
        "title": "Re-identification test of the published statistics",
        "starts_on": (today + timedelta(days=10)).isoformat(),
        "due_on": (today + timedelta(days=3)).isoformat(),
    }
    form.locator("[name=axis_id]").select_option(index=1)
    form.locator("[name=kind]").select_option("deliverable")
    for name, value in typed.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("[name=manager_owner_id]").select_option(label="Hugo Lemaire")
    chosen = {name: form.locator(f"[name={name}]").input_value() for name in ("axis_id", "kind", "manager_owner_id", "team_owner_id")}
    page.click("[data-testid=add-milestone]")
    expect(page.locator("#due_on-error")).to_be_visible()
    form = page.locator("[data-testid=milestone-form]")
    for name, value in {**typed, **chosen}.items():
        expect(form.locator(f"[name={name}]")).to_have_value(value)
    journey.no_english()
    journey.shot("due date refused")
    form.locator("[name=due_on]").fill((today + timedelta(days=40)).isoformat())
    page.click("[data-testid=add-milestone]")
    expect(page.locator("[data-testid=milestones] a", has_text=typed["title"])).to_have_count(1)
    journey.no_english()
    journey.shot("milestone planned")

    # 4. The cohort dashboard and its timeline, on the phone too.
    page.locator("main a[href^='/programmes/']").first.click()
    page.click("[data-testid=dashboard-link]")
    expect(page.locator("[data-testid=timeline]")).to_be_visible()
    expect(page.locator("[data-testid=timeline] rect[data-state]").first).to_be_attached()
    journey.no_english()
    journey.shot("cohort dashboard")
    assert page.outside_requests == []


def test_laureate(journey):
    page = journey.page
    journey.sign_in(QUENTIN)

    # 1. From the inbox, a deliverable in progress without a file: why its submission is blocked, and what to do.
    page.locator("[data-testid=inbox] a", has_text=DELIVERABLE).first.click()
    blocked = page.locator("[data-testid=blocked-steps] li[data-trigger=submit]")
    expect(blocked).to_be_visible()
    assert len(blocked.inner_text()) > 30, blocked.inner_text()
    expect(page.locator("[data-testid=fire-submit]")).to_have_count(0)
    page.wait_for_selector("[data-testid=diagram][data-rendered='1']")
    drawn = page.locator("[data-testid=diagram] .diagram-svg")
    assert OPEN_MARK.strip() not in drawn.text_content(), "no step is open to him: the diagram marks none"
    journey.no_english()
    journey.shot("submission blocked")
    item_url = page.url

    # 2. A disguised executable is refused beside the file form; a PDF is taken and the deliverable submitted.
    page.set_input_files("[data-testid=milestone-file]", {"name": "report.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00binary"})
    page.click("[data-testid=attach-file]")
    refusal = page.locator("form:has([data-testid=milestone-file]) [data-testid=refusal-here]")
    expect(refusal).to_be_visible()
    expect(page.locator("[data-testid=state] [data-state=in_progress]")).to_have_count(1)
    journey.no_english()
    journey.shot("upload refused")
    page.set_input_files("[data-testid=milestone-file]", {"name": "inventory.pdf", "mimeType": "application/pdf", "buffer": samples.PDF})
    page.click("[data-testid=attach-file]")
    expect(page.locator("[data-testid=milestone-files]")).to_contain_text("inventory.pdf")
    expect(page.locator("[data-testid=fire-submit]")).to_be_visible()
    expect(page.locator("[data-testid=blocked-steps] li[data-trigger=submit]")).to_have_count(0)
    page.wait_for_selector("[data-testid=diagram][data-rendered='1']")
    assert OPEN_MARK.strip() in drawn.text_content(), "the submission is open now: the diagram marks it"
    journey.shot("file attached")
    journey.fire("submit", "submitted")
    assert page.url == item_url
    journey.no_english()
    journey.shot("submitted")

    # 3. The roadmap: it fits the screen; an empty question is refused beside its axis's form; a question is raised.
    page.locator("[data-testid=milestone] a[href$='/roadmap']").click()
    axis = page.locator("[data-testid=axis]").nth(1)
    expect(axis).to_be_visible()
    journey.shot("roadmap")
    axis.locator("form[action$='/questions'] button[type=submit]").click()
    axis = page.locator("[data-testid=axis]").nth(1)
    expect(axis.locator("form[action$='/questions'] [data-testid=refusal-here]")).to_be_visible()
    expect(page.locator("[data-testid=refusal-here]")).to_have_count(1)
    journey.no_english()
    journey.shot("empty question refused")
    question = "May the event list be extended without a new impact assessment?"
    axis.locator("form[action$='/questions'] textarea[name=text]").fill(question)
    axis.locator("form[action$='/questions'] button[type=submit]").click()
    expect(page.locator("[data-testid=axis]").nth(1).locator("[data-testid=questions] li", has_text=question)).to_have_count(1)
    journey.no_english()
    journey.shot("question raised")
    assert page.outside_requests == []
