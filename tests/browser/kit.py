"""What the user journeys share (issue #15, item 8): each journey runs in English and in French, each on a 1,280-pixel
screen and on a 390-pixel phone, signs people in and out through the pages, and saves a screenshot of every step under
``tests/browser/output/<journey>/<lang>-<width>/`` (``GOVFLOW_ARTIFACTS`` overrides the root; CI keeps the folder as
its artefacts). At every step the page must fit the screen (no sideways scrolling of the page itself); axe-core runs on
every page visited (see conftest.py). Selectors are ``data-testid``, ``name`` and ``data-state`` attributes, never
words, so that one journey reads both languages."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

PASSWORD = "govflow-demo"
OUTPUT = Path(os.environ.get("GOVFLOW_ARTIFACTS") or Path(__file__).parent / "output")
#: (language, screen width): each language on a desktop screen and on a phone.
VARIANTS = [("en", 1280), ("fr", 390), ("en", 390), ("fr", 1280)]


@dataclass
class Journey:
    page: Page
    base: str
    lang: str
    width: int
    name: str
    shots: list[Path] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return OUTPUT / self.name / f"{self.lang}-{self.width}"

    def words(self, en: str, fr: str) -> str:
        """The text expected on the page in this journey's language."""
        return fr if self.lang == "fr" else en

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def shot(self, step: str) -> Path:
        """Check the page fits the screen, then save its screenshot as the journey's next step."""
        self.page.wait_for_load_state("load")
        width = self.page.evaluate("document.documentElement.scrollWidth")
        if width > self.width:
            wide = self.page.evaluate(
                """w => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1)
                        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""",
                self.width,
            )
            raise AssertionError(f"{self.page.url} is {width} px wide on a {self.width}-pixel screen ({step}): {wide}")
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{len(self.shots) + 1:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path

    def choose_language(self) -> None:
        """Pick the journey's language from the header, as a visitor would (the header offers the other language)."""
        button = self.page.locator(f"[data-testid=lang-{self.lang}]")
        if button.count():
            button.click()
        expect(self.page.locator("html")).to_have_attribute("lang", self.lang)

    def sign_in(self, email: str) -> None:
        self.go("/login")
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("form.card button[type=submit]")
        self.page.wait_for_url(f"{self.base}/dashboard")
        self.choose_language()

    def sign_out(self) -> None:
        self.page.click("header form.inline:not(.lang) button")
        expect(self.page.locator("header .who")).to_have_count(0)

    def fire(self, trigger: str, state: str, **inputs: str) -> None:
        """Fill the ``trigger`` step's inputs, tick its confirmation when it asks for one, take it, and wait for the
        item to be in ``state`` (a state's key: the page shows its title in either language)."""
        for name, value in inputs.items():
            self.page.fill(f"[name={trigger}-{name}]", value)
        confirm = self.page.locator(f"[data-testid=confirm-{trigger}]")
        if confirm.count():
            confirm.check()
        self.page.click(f"[data-testid=fire-{trigger}]")
        expect(self.page.locator(f"[data-testid=state] [data-state={state}]")).to_have_count(1)

    def no_english(self) -> None:
        """On a French page, none of a few tell-tale English sentences of the interface (the full check is
        tests/web/test_french_every_page.py)."""
        if self.lang != "fr":
            return
        text = self.page.locator("main").inner_text()
        for sentence in ("There is no step you can take", "Sign out", "Current state", "Nothing was changed", "Blocked by a rule"):
            assert sentence not in text, f"{sentence!r} in French on {self.page.url}"


@pytest.fixture(params=VARIANTS, ids=[f"{lang}-{width}" for lang, width in VARIANTS])
def journey(request, live_server, browser_page) -> Journey:
    """A journey in one language on one screen width, named after its test."""
    lang, width = request.param
    browser_page.set_viewport_size({"width": width, "height": 900 if width > 600 else 844})
    browser_page.on("dialog", lambda dialog: dialog.accept())
    name = request.node.originalname.removeprefix("test_")
    return Journey(browser_page, live_server, lang, width, name)
