"""The pages' CSS base is a well-kept library vendored under static/ (issue #15, item 5): served from the app, checked
against the checksum its VENDORED.md records, and nothing a page loads comes from elsewhere."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "govflow" / "static"


def test_the_vendored_css_base_is_the_recorded_release():
    folder = STATIC / "vendor" / "modern-normalize"
    record = (folder / "VENDORED.md").read_text(encoding="utf-8")
    for name in ("modern-normalize.css", "LICENSE"):
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        assert f"`{digest}`" in record, f"{name} differs from the copy VENDORED.md records"
    assert "modern-normalize v3.0.1" in (folder / "modern-normalize.css").read_text(encoding="utf-8")


def test_every_page_loads_the_css_base_before_its_own_styles_and_nothing_from_elsewhere(client):
    page = client.get("/").get_data(as_text=True)
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert sheets == ["/static/vendor/modern-normalize/modern-normalize.css", "/static/govflow.css"]
    served = client.get(sheets[0])
    served.close()
    assert served.status_code == 200
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page), "a page loads nothing from another site"


def test_keyboard_users_can_skip_the_menu_and_see_the_focus(client):
    page = client.get("/register").get_data(as_text=True)
    assert page.index('data-testid="skip-link"') < page.index("<nav") and 'href="#main"' in page
    assert '<main id="main"' in page
    css = (STATIC / "govflow.css").read_text(encoding="utf-8")
    assert re.search(r":focus-visible\s*\{[^}]*outline:\s*3px solid", css)
