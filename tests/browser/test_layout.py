"""Pages fit a 1,280-pixel-wide screen: wide tables scroll inside their own box, the page itself does not."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_the_workflow_definitions_fit_a_1280_pixel_screen(live_server, browser_page):
    page, base = browser_page, live_server
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{base}/workflows")
    links = sorted(set(page.eval_on_selector_all(".table-scroll a[href^='/workflows/']", "els => els.map(e => e.getAttribute('href'))")))
    assert links, "no workflow listed"
    for href in ["/workflows", *links]:
        page.goto(base + href)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280, f"{href} is {width} px wide"
        for box in page.locator(".table-scroll").all():
            assert box.evaluate("e => e.getBoundingClientRect().right") <= 1280, href
