"""The register's filters offer titles people read, never the keys the URL carries (issue #15, item 3)."""

from __future__ import annotations

import re

OCCITANIE = "occitanie-data-ethics"


def _options(page: str, select: str) -> list[tuple[str, str]]:
    """(value, shown text) of each option of the select named ``select``."""
    body = page.split(f'<select id="{select}"', 1)[1].split("</select>", 1)[0]
    return [(value, text.strip()) for value, text in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', body)]


def test_register_filters_show_titles_not_keys(client):
    page = client.get("/register").get_data(as_text=True)
    pillars = dict(_options(page, "pillar"))
    assert pillars["independent_review"] == "Independent ethics review"
    assert pillars["general_interest"] == "General interest"
    assert pillars["faire"] == "FAIRE — Do"  # with its code, as the charter shows it
    statuses, kinds = dict(_options(page, "status")), dict(_options(page, "kind"))
    assert statuses["verified"] == "Verified" and kinds["public_body"] == "Public body"
    for options in (pillars, statuses, kinds):
        shown = [text for value, text in options.items() if value]
        assert shown and not [text for text in shown if "_" in text or text == text.lower()], shown

    only_occitanie = dict(_options(client.get(f"/register?charter={OCCITANIE}").get_data(as_text=True), "pillar"))
    assert set(only_occitanie) == {"", "independent_review", "general_interest", "environment", "people_and_society"}

    french = client.get("/register", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    pillars = dict(_options(french, "pillar"))
    assert pillars["independent_review"] == "Contrôle éthique indépendant" and pillars["general_interest"] == "Intérêt général"
    assert dict(_options(french, "kind"))["public_body"] != "public_body"
