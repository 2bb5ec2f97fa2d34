"""Pages fit a 1,280-pixel-wide screen and a phone: wide tables scroll inside their own box, the page itself does not."""

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


PHONE_WIDTHS = (390, 360)
PASSWORD = "govflow-demo"
BASTIEN = "bastien.roux@clairvoie.example"  # a signatory: organisations, signatures, commitments
ELISE = "elise.varenne@comite.example"  # the ethics committee's secretary: referrals in her inbox
PUBLIC_PAGES = ["/", "/register", "/charters", "/charters/numeum-ethical-ai", "/verify", "/login"]

# What sticks out of the viewport (deepest elements first, outside boxes that scroll), to say why a page is too wide.
OVERFLOW = """(width) => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > width + 0.5)
  .filter(e => { for (let a = e.parentElement; a; a = a.parentElement) if (/auto|scroll/.test(getComputedStyle(a).overflowX)) return false; return true; })
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > width + 0.5))
  .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ').join('.') : '')
    + ' → ' + Math.round(e.getBoundingClientRect().right) + 'px')"""


def _sign_in(page, base, email):
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")


def _too_wide(page, base, hrefs, width):
    problems = []
    for href in hrefs:
        page.goto(base + href)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            problems.append(f"{href} is {scroll_width} px wide at {width} px: {page.evaluate(OVERFLOW, width)}")
    return problems


def _first_link(page, selector):
    href = page.locator(selector).first.get_attribute("href")
    assert href, selector
    return href


@pytest.mark.parametrize("width", PHONE_WIDTHS)
def test_public_and_signed_in_pages_fit_a_phone(live_server, browser_page, width):
    """No page scrolls sideways on a 390- or 360-pixel phone: wide tables scroll inside their own box."""
    page, base = browser_page, live_server
    page.set_viewport_size({"width": width, "height": 800})
    problems = _too_wide(page, base, PUBLIC_PAGES, width)

    _sign_in(page, base, BASTIEN)
    page.goto(f"{base}/organisations")
    organisation = _first_link(page, "main a[href^='/organisations/']:not([href$='/new'])")
    page.goto(base + organisation)
    instance = _first_link(page, "main a[href^='/instances/']")
    problems += _too_wide(page, base, ["/dashboard", "/organisations", organisation, instance], width)
    page.click("header form.inline:not(.lang) button")

    _sign_in(page, base, ELISE)
    referral = _first_link(page, "[data-testid=inbox] a[href^='/instances/'], main a[href^='/instances/']")
    problems += _too_wide(page, base, ["/dashboard", referral], width)
    assert not problems, "\n".join(problems)
