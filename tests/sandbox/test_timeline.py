"""The cohort timeline is pure SVG drawn on the server: checked with no app and no database."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from govflow.sandbox.timeline import STATE_COLOURS, Bar, timeline_svg

NS = {"svg": "http://www.w3.org/2000/svg"}
LABELS = {s: s.replace("_", " ").title() for s in STATE_COLOURS}


def draw(bars, today=date(2024, 3, 1)):
    return timeline_svg(bars, today, lambda d: d.strftime("%b %Y"), LABELS, "Timeline", "Nothing planned", "today")


def bar(group="Lorvanne", label="DPIA", start=date(2024, 1, 10), due=date(2024, 2, 10), state="in_progress", overdue=False, href=None):
    return Bar(group, label, start, due, state, overdue, f"{label}: {state}", href)


def test_each_milestone_is_a_bar_coloured_by_state_with_a_tooltip_and_a_link():
    root = ET.fromstring(draw([bar(href="/instances/7"), bar(label="Kick-off", state="accepted")]))
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("data-state")]
    assert [b.get("data-state") for b in bars] == ["in_progress", "accepted"]
    assert bars[0].get("fill") == STATE_COLOURS["in_progress"]
    assert bars[0].find("svg:title", NS).text == "DPIA: in_progress"
    assert root.find("svg:a", NS).get("href") == "/instances/7"


def test_later_due_dates_end_further_right_and_groups_get_a_heading():
    root = ET.fromstring(draw([bar(due=date(2024, 1, 20)), bar(group="Vigilis", due=date(2024, 4, 20))]))
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("data-state")]
    ends = [float(b.get("x")) + float(b.get("width")) for b in bars]
    assert ends[0] < ends[1]
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Lorvanne" in texts and "Vigilis" in texts and "Jan 2024" in texts


def test_overdue_bars_are_outlined_and_today_is_marked_when_near():
    svg = draw([bar(overdue=True)], today=date(2024, 2, 20))
    assert 'data-overdue="1"' in svg and 'data-today="2024-02-20"' in svg


def test_a_finished_programme_is_not_squeezed_to_reach_today():
    svg = draw([bar()], today=date(2026, 11, 27))
    assert "data-today" not in svg and "today → 2026-11-27" in svg
    assert "Jan 2024" in svg and "Nov 2026" not in svg


def test_texts_are_escaped():
    svg = draw([bar(group="<script>alert(1)</script>", label='A "quoted" & <b>')])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&amp;" in svg
    ET.fromstring(svg)


def test_no_milestone_gives_an_empty_state():
    root = ET.fromstring(draw([]))
    assert [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")] == ["Nothing planned"]
