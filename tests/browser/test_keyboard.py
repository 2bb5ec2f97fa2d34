"""A keyboard-only visitor signs in and reaches the inbox (issue #15, item 5): the first Tab reaches the "skip to the
content" link, every focused element shows a visible ring, and the sign-in form is used with Tab and Enter only."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def _focus_ring(page) -> str:
    return page.evaluate("() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + s.outlineWidth; }")


def test_a_keyboard_only_visitor_signs_in_and_sees_where_the_focus_is(live_server, browser_page):
    page, base = browser_page, live_server
    page.goto(f"{base}/register")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.testid") == "skip-link"
    assert _focus_ring(page).startswith("solid 3px")
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    page.goto(f"{base}/login")
    for _ in range(30):  # Tab on until the e-mail field: each stop shows the ring
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "email":
            break
        assert _focus_ring(page) != "none 0px", page.evaluate("document.activeElement.outerHTML.slice(0, 120)")
    assert page.evaluate("document.activeElement.name") == "email"
    page.keyboard.type("bastien.roux@clairvoie.example")
    page.keyboard.press("Tab")
    page.keyboard.type("govflow-demo")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/dashboard")
    assert page.locator("[data-testid=inbox]").count() == 1
    assert page.outside_requests == []
