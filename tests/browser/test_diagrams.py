"""Every bundled workflow's diagram renders in the browser from vendored files, with no request leaving localhost."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_every_bundled_workflow_diagram_renders_offline(live_server, browser_page):
    page, base = browser_page, live_server
    page.goto(f"{base}/workflows")
    links = sorted(set(page.eval_on_selector_all("table.list a[href^='/workflows/']", "els => els.map(e => e.getAttribute('href'))")))
    assert links, "no workflow listed"
    for href in links:
        page.goto(base + href)
        page.wait_for_selector("[data-testid=diagram][data-rendered='1']")
        svg = page.locator("[data-testid=diagram] svg")
        assert svg.count() == 1
        states = page.locator("[data-testid=states] tbody tr").count()
        assert page.locator("[data-testid=diagram] svg g.node").count() >= states
    assert page.outside_requests == []


def _open_demo_commitment(page, base):
    """Sign in as a demo member and open one of the organisation's declared commitments, its diagram drawn."""
    page.goto(f"{base}/login")
    page.fill("input[name=email]", "bastien.roux@clairvoie.example")
    page.fill("input[name=password]", "govflow-demo")
    page.click("form.card button[type=submit]")
    page.click('[data-testid=inbox] a:has-text("Clairvoie Analytique"):has-text("/ COMMUNIQUER")')
    page.wait_for_selector("[data-testid=diagram][data-rendered='1']")


def test_the_instance_page_highlights_the_current_state(live_server, browser_page):
    page, base = browser_page, live_server
    _open_demo_commitment(page, base)
    active = page.locator("[data-testid=diagram] svg g.node.s_active")
    assert active.count() == 1
    assert re.search(r"declared", active.first.get_attribute("id") or active.first.inner_text(), re.I)
    assert page.outside_requests == []


def test_the_instance_page_draws_the_steps_open_to_this_user_apart(live_server, browser_page):
    page, base = browser_page, live_server
    _open_demo_commitment(page, base)
    triggers = page.eval_on_selector_all(".actions form[data-trigger]", "els => els.map(e => e.dataset.trigger)")
    assert triggers, "the member has a step open on this commitment"
    opened = page.locator("[data-testid=diagram] svg g.node.s_open")
    assert opened.count() >= 1
    marked = page.locator("[data-testid=diagram] svg").get_by_text("✓")
    assert marked.count() == len(triggers)
    assert page.outside_requests == []


def test_the_referral_diagram_is_readable_and_zoomable(live_server, browser_page):
    """The 14-state referral diagram was shrunk to its column (labels about 6 px tall): it is now drawn at its natural
    size, scrolling in its frame, in people's words, with zoom buttons."""
    page, base = browser_page, live_server
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/workflows/referral")
    page.wait_for_selector("[data-testid=diagram][data-rendered='1']")
    heights = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=diagram] svg g.node .nodeLabel, [data-testid=diagram] svg g.node text')]
              .map(e => e.getBoundingClientRect().height).filter(h => h > 0)"""
    )
    assert heights and min(heights) >= 12, f"labels are {min(heights) if heights else 0:.1f} px tall"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # the frame scrolls, not the page
    before = page.locator("[data-testid=diagram] svg").bounding_box()["width"]
    page.click("[data-testid=diagram] [data-zoom-action='+']")
    after = page.locator("[data-testid=diagram] svg").bounding_box()["width"]
    assert after > before * 1.2
    page.click("[data-testid=diagram] [data-zoom-action='-']")
    page.click("[data-testid=diagram] [data-zoom-action='-']")
    assert page.locator("[data-testid=diagram] svg").bounding_box()["width"] < before


def test_an_items_diagram_speaks_the_readers_language_not_keys(live_server, browser_page):
    page, base = browser_page, live_server
    _open_demo_commitment(page, base)
    labels = """() => [...document.querySelectorAll('[data-testid=diagram] svg g.node, [data-testid=diagram] svg .edgeLabel')]
                     .map(e => e.textContent).join('\\n')"""
    text = page.evaluate(labels)
    assert "Declared" in text and "- enter:" not in text and "_" not in text
    page.click("[data-testid=lang-fr]")
    page.wait_for_selector("[data-testid=diagram][data-rendered='1']")
    assert "Déclaré" in page.evaluate(labels)
