"""The maturity chart: a self-contained SVG with one line per theme, readable without colour, escaped and stable."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from govflow.charters.charts import maturity_chart_svg

SVG = "{http://www.w3.org/2000/svg}"
LABELS = {"level": "Level", "not_concerned": "Not concerned", "year": "Year", "empty": "No self-assessment yet"}
THEMES = [
    ("loyalty", "Loyalty"),
    ("respect", "Respect"),
    ("transparency", "Transparency"),
    ("fairness", "Fairness"),
    ("control", "Control"),
    ("safety", "Safety"),
]
YEARS = [2022, 2023, 2024]
LEVELS: dict[tuple[str, int], int | None] = {
    ("loyalty", 2022): 1,
    ("loyalty", 2023): 2,
    ("loyalty", 2024): 3,
    ("respect", 2022): 2,
    ("respect", 2023): 2,
    ("respect", 2024): 4,
    ("transparency", 2022): 0,
    ("transparency", 2023): 1,
    ("transparency", 2024): 2,
    ("fairness", 2023): 2,
    ("fairness", 2024): 2,
    ("control", 2022): 2,
    ("control", 2023): 3,
    ("control", 2024): 3,
    ("safety", 2022): 1,
    ("safety", 2023): None,
    ("safety", 2024): 2,
}


def render(themes=THEMES, years=YEARS, levels=LEVELS, title="Acme: maturity per theme", labels=LABELS) -> str:
    return maturity_chart_svg(themes, years, levels, title, labels)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def series(root: ET.Element) -> dict[str, ET.Element]:
    return {group.get("data-theme"): group for group in root.iter(f"{SVG}g") if group.get("class") == "series"}


def markers(group: ET.Element) -> list[ET.Element]:
    return [element for element in group if "point" in (element.get("class") or "").split()]


def position(marker: ET.Element) -> tuple[float, float]:
    x, y = re.fullmatch(r"translate\(([-\d.]+) ([-\d.]+)\)", marker.get("transform")).groups()
    return float(x), float(y)


def polylines(group: ET.Element) -> list[list[tuple[float, float]]]:
    return [[tuple(map(float, pair.split(","))) for pair in line.get("points").split()] for line in group.iter(f"{SVG}polyline")]


def test_the_chart_is_an_accessible_image_with_a_title_and_a_description():
    root = parse(render())
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root[0], root[1]
    assert (title.tag, desc.tag) == (f"{SVG}title", f"{SVG}desc")
    assert title.text == "Acme: maturity per theme"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    # The description carries the data itself, for those who cannot see the lines.
    assert "Loyalty: 2022 Level 1, 2023 Level 2, 2024 Level 3." in desc.text
    assert "Safety: 2022 Level 1, 2023 Not concerned, 2024 Level 2." in desc.text
    assert "Fairness: 2023 Level 2, 2024 Level 2." in desc.text


def test_there_is_one_series_per_theme_with_a_marker_per_assessed_year():
    groups = series(parse(render()))
    assert list(groups) == [key for key, _ in THEMES]
    for key, group in groups.items():
        years = [int(marker.get("data-year")) for marker in markers(group)]
        assert years == [year for year in YEARS if (key, year) in LEVELS]
        assert [marker.get("data-level") for marker in markers(group)] == ["none" if LEVELS[key, year] is None else str(LEVELS[key, year]) for year in years]


def test_a_theme_without_any_answer_draws_nothing():
    groups = series(parse(render(themes=[*THEMES, ("privacy", "Privacy")])))
    assert "privacy" not in groups


def test_each_line_joins_the_markers_of_consecutive_levels():
    groups = series(parse(render()))
    for key in ("loyalty", "respect", "transparency", "control"):
        (line,) = polylines(groups[key])
        assert line == [position(marker) for marker in markers(groups[key])]
    (fairness,) = polylines(groups["fairness"])
    assert len(fairness) == 2


def test_heights_follow_the_levels():
    groups = series(parse(render()))
    height_of: dict[int, set[float]] = {}
    for group in groups.values():
        for marker in markers(group):
            if marker.get("data-level") != "none":
                height_of.setdefault(int(marker.get("data-level")), set()).add(position(marker)[1])
    assert all(len(heights) == 1 for heights in height_of.values()), "one height per level, whatever the theme"
    ordered = [height_of[level].pop() for level in sorted(height_of)]
    assert ordered == sorted(ordered, reverse=True), "a higher level is drawn higher (a smaller y)"
    assert sorted(height_of) == [0, 1, 2, 3, 4]


def test_years_run_left_to_right_and_themes_sit_side_by_side_within_a_year():
    groups = series(parse(render()))
    loyalty = [position(marker)[0] for marker in markers(groups["loyalty"])]
    assert loyalty == sorted(loyalty)
    # Respect and fairness are both at level 2 in 2023: they must not cover each other.
    respect_2023 = next(position(m) for m in markers(groups["respect"]) if m.get("data-year") == "2023")
    fairness_2023 = next(position(m) for m in markers(groups["fairness"]) if m.get("data-year") == "2023")
    assert respect_2023[1] == fairness_2023[1]
    assert abs(respect_2023[0] - fairness_2023[0]) >= 10


def test_not_concerned_is_a_hollow_marker_below_level_zero_and_joined_by_no_line():
    groups = series(parse(render()))
    safety = groups["safety"]
    (hollow,) = [marker for marker in markers(safety) if marker.get("data-level") == "none"]
    assert "not-concerned" in hollow.get("class").split()
    assert hollow.get("fill") == "#ffffff"
    assert hollow.get("stroke") == safety.get("stroke")
    lowest = max(position(marker)[1] for group in groups.values() for marker in markers(group) if marker.get("data-level") == "0")
    assert position(hollow)[1] > lowest
    # 1, not concerned, 2: no two consecutive levels, so no line at all rather than one through the gap.
    assert polylines(safety) == []
    assert all(position(hollow) not in line for group in groups.values() for line in polylines(group))


def test_a_not_concerned_year_breaks_the_line_in_two():
    levels = {("loyalty", 2020): 1, ("loyalty", 2021): 2, ("loyalty", 2022): None, ("loyalty", 2023): 3, ("loyalty", 2024): 4}
    group = series(parse(render(themes=[("loyalty", "Loyalty")], years=[2020, 2021, 2022, 2023, 2024], levels=levels)))["loyalty"]
    first, second = polylines(group)
    assert len(first) == len(second) == 2
    assert first[-1][0] < second[0][0]


def test_not_concerned_answers_are_listed_in_a_legend_note():
    root = parse(render(levels={**LEVELS, ("control", 2022): None}))
    (note,) = [group for group in root.iter(f"{SVG}g") if group.get("class") == "legend-note"]
    assert "".join(note.itertext()) == "Not concerned: Control (2022), Safety (2023)"
    band = [text.text for text in root.iter(f"{SVG}text") if text.get("class") == "band-label"]
    assert band == ["Not concerned"]


def test_without_not_concerned_answers_there_is_no_band_and_no_note():
    levels = {key: value for key, value in LEVELS.items() if value is not None}
    svg = render(levels=levels)
    assert "not-concerned" not in svg
    assert "legend-note" not in svg
    assert "band-label" not in svg


def test_the_legend_names_every_theme_with_its_own_colour_and_shape():
    root = parse(render())
    items = [group for group in root.iter(f"{SVG}g") if group.get("class") == "legend-item"]
    assert [item.get("data-theme") for item in items] == [key for key, _ in THEMES]
    assert ["".join(item.itertext()) for item in items] == [label for _, label in THEMES]
    groups = series(root)
    colours = [group.get("stroke") for group in groups.values()]
    shapes = [(markers(group)[0].tag, markers(group)[0].get("d")) for group in groups.values()]
    assert len(set(colours)) == len(colours)
    assert len(set(shapes)) == len(shapes), "shapes tell the themes apart without colour"


def _contrast_with_white(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def test_every_theme_colour_has_at_least_3_to_1_contrast_on_white():
    themes = [(f"t{n}", f"Theme {n}") for n in range(8)]
    levels = {(key, 2024): 2 for key, _ in themes}
    colours = [group.get("stroke") for group in series(parse(render(themes=themes, years=[2024], levels=levels))).values()]
    assert len(set(colours)) == 8
    assert all(_contrast_with_white(colour) >= 3 for colour in colours), colours


def test_every_text_is_escaped():
    themes = [('x" onload="alert(1)', "<script>alert('theme')</script>"), ("safety", "Safety & <b>security</b>")]
    levels = {(themes[0][0], 2024): 2, ("safety", 2024): None}
    labels = {"level": "<i>Level</i>", "not_concerned": 'Not "concerned" & <u>', "year": "Year</text><script>", "empty": "-"}
    svg = render(themes=themes, years=[2024], levels=levels, title="</title><script>alert(1)</script>", labels=labels)
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)
    assert not list(root.iter(f"{SVG}script"))
    assert root[0].text == "</title><script>alert(1)</script>"
    texts = ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]
    assert "<script>alert('theme')</script>" in texts
    assert "Safety & <b>security</b>" in texts
    assert "Year</text><script>" in texts
    assert list(series(root)) == ['x" onload="alert(1)', "safety"]


def test_characters_xml_cannot_carry_are_dropped():
    root = parse(render(themes=[("loyalty", "Loy\x00al\x1bty")], title="Acme\x07"))
    assert root[0].text == "Acme"
    assert "Loyalty" in ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]


@pytest.mark.parametrize(
    ("themes", "years", "levels"),
    [(THEMES, YEARS, {}), ([], YEARS, LEVELS), (THEMES, [], LEVELS), (THEMES, [2030], LEVELS), ([("other", "Other")], YEARS, LEVELS)],
    ids=["no-levels", "no-themes", "no-years", "years-without-answers", "themes-without-answers"],
)
def test_without_data_the_chart_says_so(themes, years, levels):
    root = parse(render(themes=themes, years=years, levels=levels))
    assert root.get("role") == "img"
    assert root[0].text == "Acme: maturity per theme"
    assert root[1].text == "No self-assessment yet"
    assert [text.text for text in root.iter(f"{SVG}text") if text.get("class") == "empty"] == ["No self-assessment yet"]
    assert series(root) == {}


def test_the_same_input_gives_the_same_string():
    shuffled = dict(reversed(list(LEVELS.items())))
    assert render() == render()
    assert render(levels=shuffled, years=[2024, 2022, 2023, 2022]) == render()


def test_different_charts_get_different_ids():
    first = parse(render())
    second = parse(render(title="Another organisation"))
    assert first[0].get("id") != second[0].get("id")


def test_years_are_sorted_and_labelled():
    root = parse(render(years=[2024, 2022, 2023]))
    assert [text.text for text in root.iter(f"{SVG}text") if text.get("class") == "year-label"] == ["2022", "2023", "2024"]


def test_the_chart_is_self_contained():
    svg = render()
    assert "<script" not in svg
    assert "href" not in svg
    assert "url(" not in svg
    assert re.findall(r"https?://[^\"']+", svg) == ["http://www.w3.org/2000/svg"]


@pytest.mark.parametrize("level", [5, -1, True, 2.0, "3"])
def test_a_level_outside_0_to_4_is_refused(level):
    with pytest.raises(ValueError, match="not an integer from 0 to 4"):
        render(levels={("loyalty", 2024): level})


def test_every_label_is_required():
    with pytest.raises(ValueError, match="empty, year"):
        render(labels={"level": "Level", "not_concerned": "Not concerned"})


def test_long_texts_wrap_instead_of_running_off_the_chart():
    long_label = "Non concerné par ce thème pour cette année"
    root = parse(render(title="A " * 80, labels={**LABELS, "not_concerned": long_label}))
    titles = [text.text for text in root.iter(f"{SVG}text") if text.get("class") == "chart-title"]
    band = [text.text for text in root.iter(f"{SVG}text") if text.get("class") == "band-label"]
    assert len(titles) > 1
    assert len(band) > 1
    assert " ".join(band) == long_label
