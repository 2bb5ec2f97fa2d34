"""Self-assessment maturity across years as a server-rendered SVG: no script, nothing fetched, readable without colour.

Each theme is a line of its own colour and marker shape; "not concerned" answers sit on a band below level 0 as
hollow markers that no line joins, since they are not a level. Every word shown comes from the caller (translated
there), every text is escaped, and the same input always gives the same string, so pages and tests can compare it.
"""

from __future__ import annotations

import hashlib
import math
import re
import textwrap
from xml.sax.saxutils import escape, quoteattr

__all__ = ["LABEL_KEYS", "MAX_LEVEL", "maturity_chart_svg"]

MAX_LEVEL = 4
LABEL_KEYS = frozenset({"level", "not_concerned", "year", "empty"})

WIDTH = 720
_MARGIN = 16
_PLOT_LEFT = 128  # room for the level numbers and the wrapped "not concerned" band label
_PLOT_RIGHT = WIDTH - 24
_ROW = 44  # between two levels
_FONT = 13
_SMALL = 12
_TITLE_FONT = 15
# Average glyph width as a share of the font size, to wrap text without measuring it: a little wide, to be safe.
_GLYPH = 0.6
_MARKER = 5.5
_DODGE = 13  # horizontal gap between themes at one year, so equal levels do not hide each other

_TEXT_COLOUR = "#1a1a1a"
_MUTED = "#595959"  # 7:1 on white, for axis labels
_GRID = "#d9d9d9"
# Each at least 3:1 against white (WCAG 1.4.11 for graphics), told apart by hue and by the marker shapes below.
_COLOURS = ("#0072b2", "#d55e00", "#117733", "#aa3377", "#996600", "#222222", "#0e7c86", "#882255")
# As many shapes as colours, so that the first eight themes differ in both.
_SHAPES = ("circle", "square", "triangle", "diamond", "triangle-down", "plus", "star", "cross")

# Characters XML 1.0 cannot carry at all, not even escaped: one stray control character would make the page invalid.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def maturity_chart_svg(
    themes: list[tuple[str, str]],
    years: list[int],
    levels: dict[tuple[str, int], int | None],
    title: str,
    labels: dict[str, str],
) -> str:
    """Draw maturity levels (0-4, or None for "not concerned") per theme across years as a standalone SVG string."""
    missing = LABEL_KEYS - labels.keys()
    if missing:
        raise ValueError(f"labels lacks {', '.join(sorted(missing))}")
    for key, value in levels.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LEVEL):
            raise ValueError(f"level of {key!r} is {value!r}, not an integer from 0 to {MAX_LEVEL} or None")
    years = sorted(set(years))
    points = {(key, year): levels[key, year] for key, _ in themes for year in years if (key, year) in levels}
    chart = _Chart(themes, years, points, title, labels)
    return chart.empty() if not points else chart.draw()


class _Chart:
    """One chart being drawn: the data, the words and the SVG elements so far."""

    def __init__(self, themes: list[tuple[str, str]], years: list[int], points: dict[tuple[str, int], int | None], title: str, labels: dict[str, str]) -> None:
        self.themes = themes
        self.years = years
        self.points = points
        self.title = title
        self.labels = labels
        identity = repr((title, themes, years, sorted(points.items(), key=lambda item: item[0]), sorted(labels.items())))
        # Ids unique to the content, so two different charts on one page do not share a title, yet still deterministic.
        self.id = "maturity-" + hashlib.sha256(identity.encode()).hexdigest()[:12]
        self.body: list[str] = []

    def empty(self) -> str:
        """The chart with its title and the caller's "no data yet" sentence in place of the plot."""
        y = self._title_lines(_MARGIN)
        box_top = y + 8
        self.body.append(
            _tag(
                "rect", {"x": _MARGIN, "y": box_top, "width": WIDTH - 2 * _MARGIN, "height": 96, "fill": "#f7f7f7", "stroke": _GRID, "stroke-dasharray": "4 4"}
            )
        )
        self.body.append(
            _tag(
                "text",
                {"class": "empty", "x": WIDTH / 2, "y": box_top + 53, "text-anchor": "middle", "fill": _TEXT_COLOUR, "font-size": _FONT + 1},
                _text(self.labels["empty"]),
            )
        )
        return self._svg(box_top + 96 + _MARGIN, self.labels["empty"])

    def draw(self) -> str:
        """The chart: axes, a line and markers per theme, the legend and, if any, the "not concerned" note."""
        y = self._title_lines(_MARGIN)
        level_title_y = y + 22
        plot_top = level_title_y + 18
        not_concerned = any(value is None for value in self.points.values())
        bottom = self._level_y(0, plot_top)
        band_y = bottom + 42
        self._axes(plot_top, level_title_y, band_y if not_concerned else None)
        for index, (key, label) in enumerate(self.themes):
            self._series(index, key, label, plot_top, band_y)
        year_y = (band_y if not_concerned else bottom) + 30
        self._years(year_y)
        legend_y = self._legend(year_y + 48)
        if not_concerned:
            legend_y = self._not_concerned_note(legend_y + 6)
        return self._svg(legend_y + _MARGIN, self._summary())

    # -- pieces ------------------------------------------------------------------------------------------------
    def _svg(self, height: float, description: str) -> str:
        attributes = {
            "xmlns": "http://www.w3.org/2000/svg",
            "class": "maturity-chart",
            "role": "img",
            "aria-labelledby": f"{self.id}-title {self.id}-desc",
            "viewBox": f"0 0 {WIDTH} {_num(height)}",
            "width": WIDTH,
            "height": height,
            "font-family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
            "font-size": _FONT,
        }
        head = [
            _tag("title", {"id": f"{self.id}-title"}, _text(self.title)),
            _tag("desc", {"id": f"{self.id}-desc"}, _text(description)),
            # A white ground, so the chart stays readable on a dark page or when opened on its own.
            _tag("rect", {"width": WIDTH, "height": height, "fill": "#ffffff"}),
        ]
        return _tag("svg", attributes, "\n" + "\n".join(head + self.body) + "\n") + "\n"

    def _title_lines(self, y: float) -> float:
        for line in _wrap(self.title, WIDTH - 2 * _MARGIN, _TITLE_FONT):
            y += _TITLE_FONT + 5
            self.body.append(
                _tag("text", {"class": "chart-title", "x": _MARGIN, "y": y, "font-size": _TITLE_FONT, "font-weight": "bold", "fill": _TEXT_COLOUR}, _text(line))
            )
        return y

    def _axes(self, plot_top: float, level_title_y: float, band_y: float | None) -> None:
        parts = [
            _tag("text", {"class": "axis-title", "x": _PLOT_LEFT - 12, "y": level_title_y, "text-anchor": "end", "fill": _MUTED}, _text(self.labels["level"]))
        ]
        for level in range(MAX_LEVEL + 1):
            y = self._level_y(level, plot_top)
            stroke = _MUTED if level == 0 else _GRID
            parts.append(_tag("line", {"class": "grid", "x1": _PLOT_LEFT, "x2": _PLOT_RIGHT, "y1": y, "y2": y, "stroke": stroke, "stroke-width": 1}))
            parts.append(_tag("text", {"class": "level-label", "x": _PLOT_LEFT - 12, "y": y + 4.5, "text-anchor": "end", "fill": _MUTED}, str(level)))
        if band_y is not None:
            separator = band_y - 22
            parts.append(
                _tag(
                    "line",
                    {"x1": _PLOT_LEFT, "x2": _PLOT_RIGHT, "y1": separator, "y2": separator, "stroke": _GRID, "stroke-width": 1, "stroke-dasharray": "4 4"},
                )
            )
            lines = _wrap(self.labels["not_concerned"], _PLOT_LEFT - 12 - _MARGIN, _SMALL)
            first = band_y + 4 - (len(lines) - 1) * (_SMALL + 2) / 2
            for number, line in enumerate(lines):
                attributes = {"class": "band-label", "x": _PLOT_LEFT - 12, "y": first + number * (_SMALL + 2), "text-anchor": "end", "fill": _MUTED}
                parts.append(_tag("text", attributes | {"font-size": _SMALL, "font-style": "italic"}, _text(line)))
        self.body.append(_tag("g", {"class": "axes"}, "".join(parts)))

    def _series(self, index: int, key: str, label: str, plot_top: float, band_y: float) -> None:
        colour = _COLOURS[index % len(_COLOURS)]
        shape = _SHAPES[index % len(_SHAPES)]
        offset = (index - (len(self.themes) - 1) / 2) * self._dodge()
        runs: list[list[tuple[float, float]]] = [[]]
        markers = []
        for position, year in enumerate(self.years):
            if (key, year) not in self.points:
                runs.append([])
                continue
            level = self.points[key, year]
            x = self._year_x(position) + offset
            if level is None:
                # Not a level: on the band below, hollow, and a break in the line rather than a dip to it.
                runs.append([])
                tip = f"{label}, {year}: {self.labels['not_concerned']}"
                markers.append(_marker(shape, x, band_y, {"class": "point not-concerned", "data-year": year, "data-level": "none"}, colour, True, tip))
            else:
                y = self._level_y(level, plot_top)
                runs[-1].append((x, y))
                tip = f"{label}, {year}: {self.labels['level']} {level}"
                markers.append(_marker(shape, x, y, {"class": "point", "data-year": year, "data-level": level}, colour, False, tip))
        lines = [
            _tag(
                "polyline",
                {"class": "trend", "points": " ".join(f"{_num(x)},{_num(y)}" for x, y in run), "fill": "none", "stroke-width": 2.5, "stroke-linejoin": "round"},
            )
            for run in runs
            if len(run) > 1
        ]
        if lines or markers:
            self.body.append(_tag("g", {"class": "series", "data-theme": key, "stroke": colour, "fill": colour}, "".join(lines + markers)))

    def _years(self, y: float) -> None:
        parts = [
            _tag("text", {"class": "year-label", "x": self._year_x(position), "y": y, "text-anchor": "middle", "fill": _TEXT_COLOUR}, str(year))
            for position, year in enumerate(self.years)
        ]
        middle = (_PLOT_LEFT + _PLOT_RIGHT) / 2
        parts.append(_tag("text", {"class": "axis-title", "x": middle, "y": y + 22, "text-anchor": "middle", "fill": _MUTED}, _text(self.labels["year"])))
        self.body.append(_tag("g", {"class": "x-axis"}, "".join(parts)))

    def _legend(self, top: float) -> float:
        inner = WIDTH - 2 * _MARGIN
        sample = 40  # width of the line-and-marker sample before each name
        longest = max((len(label) for _, label in self.themes), default=0)
        columns = next((c for c in (3, 2) if sample + longest * _FONT * _GLYPH <= inner / c - 12), 1)
        width = inner / columns
        room = int((width - sample - 12) / (_FONT * _GLYPH))
        parts = []
        for index, (key, label) in enumerate(self.themes):
            row, column = divmod(index, columns)
            x = _MARGIN + column * width
            y = top + row * 24
            colour = _COLOURS[index % len(_COLOURS)]
            shown = label if len(label) <= room else label[: room - 1].rstrip() + "\u2026"
            item = [
                _tag("line", {"x1": x, "x2": x + sample - 8, "y1": y - 4.5, "y2": y - 4.5, "stroke": colour, "stroke-width": 2.5}),
                _marker(_SHAPES[index % len(_SHAPES)], x + (sample - 8) / 2, y - 4.5, {}, colour, False, None),
                _tag("text", {"x": x + sample, "y": y, "fill": _TEXT_COLOUR}, _text(shown)),
            ]
            parts.append(_tag("g", {"class": "legend-item", "data-theme": key}, "".join(item)))
        self.body.append(_tag("g", {"class": "legend"}, "".join(parts)))
        rows = -(-len(self.themes) // columns)
        return top + (rows - 1) * 24

    def _not_concerned_note(self, top: float) -> float:
        names = dict(self.themes)
        per_theme: dict[str, list[str]] = {}
        for key, year in sorted(self.points, key=lambda point: point[1]):
            if self.points[key, year] is None:
                per_theme.setdefault(key, []).append(str(year))
        listed = ", ".join(f"{names[key]} ({', '.join(per_theme[key])})" for key, _ in self.themes if key in per_theme)
        text = f"{self.labels['not_concerned']}: {listed}"
        y = top + 20
        lines = _wrap(text, WIDTH - 2 * _MARGIN - 40, _FONT)
        parts = [_marker("circle", _MARGIN + 16, y - 4.5, {}, _MUTED, True, None)]
        parts += [_tag("text", {"x": _MARGIN + 40, "y": y + number * (_FONT + 5), "fill": _TEXT_COLOUR}, _text(line)) for number, line in enumerate(lines)]
        self.body.append(_tag("g", {"class": "legend-note"}, "".join(parts)))
        return y + (len(lines) - 1) * (_FONT + 5)

    def _summary(self) -> str:
        sentences = []
        for key, label in self.themes:
            values = [(year, self.points[key, year]) for year in self.years if (key, year) in self.points]
            if values:
                said = ", ".join(
                    f"{year} {self.labels['not_concerned'] if level is None else self.labels['level'] + ' ' + str(level)}" for year, level in values
                )
                sentences.append(f"{label}: {said}.")
        return " ".join(sentences)

    # -- geometry ----------------------------------------------------------------------------------------------
    def _level_y(self, level: int, plot_top: float) -> float:
        return plot_top + (MAX_LEVEL - level) * _ROW

    def _year_x(self, position: int) -> float:
        return _PLOT_LEFT + self._step() * (position + 0.5)

    def _step(self) -> float:
        return (_PLOT_RIGHT - _PLOT_LEFT) / len(self.years)

    def _dodge(self) -> float:
        # Spread the themes over at most 70% of a year's width, so a year's cluster never reaches the next one.
        return min(_DODGE, self._step() * 0.7 / max(len(self.themes) - 1, 1))


def _marker(shape: str, x: float, y: float, attributes: dict[str, str | float], colour: str, hollow: bool, tip: str | None) -> str:
    style: dict[str, str | float] = (
        {"fill": "#ffffff", "stroke": colour, "stroke-width": 2} if hollow else {"fill": colour, "stroke": "#ffffff", "stroke-width": 1.5}
    )
    # Shapes are drawn around the origin and moved into place, so a marker's position is its data point, exactly.
    placed = attributes | {"transform": f"translate({_num(x)} {_num(y)})"}
    content = _tag("title", {}, _text(tip)) if tip is not None else ""
    if shape == "circle":
        return _tag("circle", placed | {"r": _MARKER} | style, content)
    return _tag("path", placed | {"d": _SHAPE_PATHS[shape]} | style, content)


def _polygon(corners: tuple[tuple[float, float], ...]) -> str:
    return "M" + " L".join(f"{_num(x * _MARKER)},{_num(y * _MARKER)}" for x, y in corners) + " Z"


def _tag(name: str, attributes: dict[str, str | float], content: str = "") -> str:
    rendered = "".join(f" {key}={quoteattr(_num(value) if isinstance(value, float) else _clean(str(value)))}" for key, value in attributes.items())
    return f"<{name}{rendered}>{content}</{name}>" if content else f"<{name}{rendered}/>"


def _text(value: str) -> str:
    return escape(_clean(value))


def _clean(value: str) -> str:
    return _NOT_XML.sub("", value)


def _num(value: float) -> str:
    # One decimal is finer than a pixel and keeps the output short and stable.
    return f"{value:.1f}".removesuffix(".0")


def _wrap(text: str, width: float, font_size: float) -> list[str]:
    return textwrap.wrap(_clean(text), max(8, int(width / (font_size * _GLYPH))), break_long_words=True) or [""]


_PLUS = (  # one arm after another, clockwise from the top
    *((-0.4, -1.1), (0.4, -1.1), (0.4, -0.4)),
    *((1.1, -0.4), (1.1, 0.4), (0.4, 0.4)),
    *((0.4, 1.1), (-0.4, 1.1), (-0.4, 0.4)),
    *((-1.1, 0.4), (-1.1, -0.4), (-0.4, -0.4)),
)
# Corners in units of the marker size, each shape covering about the area of the circle; the star and the cross are
# rounded once, so that last-digit differences between platforms' sin and cos cannot change the output.
_SHAPE_PATHS = {
    shape: _polygon(corners)
    for shape, corners in {
        "square": ((-0.9, -0.9), (0.9, -0.9), (0.9, 0.9), (-0.9, 0.9)),
        "triangle": ((0, -1.3), (1.2, 0.8), (-1.2, 0.8)),
        "diamond": ((0, -1.25), (1.25, 0), (0, 1.25), (-1.25, 0)),
        "triangle-down": ((0, 1.3), (1.2, -0.8), (-1.2, -0.8)),
        "plus": _PLUS,
        "star": tuple(
            (round(radius * math.cos(math.radians(-90 + 36 * corner)), 3), round(radius * math.sin(math.radians(-90 + 36 * corner)), 3))
            for corner, radius in enumerate((1.4, 0.6) * 5)
        ),
        "cross": tuple((round((dx - dy) * math.sqrt(0.5), 3), round((dx + dy) * math.sqrt(0.5), 3)) for dx, dy in _PLUS),
    }.items()
}
