"""The cohort timeline: a Gantt-style SVG of milestones, drawn on the server (pure: no app, no database, no script).

Rows are grouped by laureate; each bar runs from a milestone's start to its due date, coloured by state, outlined in
red when overdue; a line marks today. Texts (labels, month names, state names) come translated from the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from html import escape

from ..bounds import clamp_date

STATE_COLOURS = {
    "planned": "#c9d1de",
    "in_progress": "#7fa7e0",
    "submitted": "#f2c14e",
    "rework_requested": "#f08a4b",
    "accepted": "#5fb37c",
    "cancelled": "#eeeeee",
}
LABEL_WIDTH = 300
PLOT_WIDTH = 660
ROW = 20
HEADER = 34


@dataclass(frozen=True)
class Bar:
    """One milestone on the timeline."""

    group: str  # the laureate
    label: str  # the milestone's title
    starts_on: date
    due_on: date
    state: str
    overdue: bool
    tip: str  # a sentence for the bar's tooltip
    href: str | None = None


def _month_starts(first: date, last: date) -> list[date]:
    out, current = [], first.replace(day=1)
    while current <= last:
        out.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return out


def timeline_svg(
    bars: Iterable[Bar],
    today: date,
    month_label: Callable[[date], str],
    state_labels: dict[str, str],
    title: str,
    empty_text: str,
    today_text: str,
    window: tuple[date, date] | None = None,
) -> str:
    """The SVG document of ``bars`` (an empty-state figure when there are none). With ``window`` (first day, day after
    the last), the drawing spans exactly those months and each bar is cut to them."""
    bars = list(bars)
    if window is not None:
        start, end = window
        bars = [
            replace(b, starts_on=max(b.starts_on, start), due_on=min(b.due_on, end - timedelta(days=1)))
            for b in bars
            if b.starts_on < end and b.due_on >= start
        ]
    if not bars:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{LABEL_WIDTH + PLOT_WIDTH}" height="40" viewBox="0 0 {LABEL_WIDTH + PLOT_WIDTH} 40">'
            f"<title>{_t(title)}</title><text x='10' y='24' font-size='13' fill='#555'>{_t(empty_text)}</text></svg>"
        )
    # Dates stored before input was bounded may lie anywhere in the calendar: they are drawn at the bounds, so date
    # arithmetic never leaves the calendar (a due date of 9999-12-31 used to break the page for good).
    bars = [replace(b, starts_on=clamp_date(b.starts_on), due_on=clamp_date(b.due_on)) for b in bars]
    first_day, last_day = min(b.starts_on for b in bars), max(b.due_on for b in bars)
    # Today is drawn when it is near the milestones; a finished programme is not squeezed to make room for it.
    show_today = first_day - timedelta(days=31) <= today <= last_day + timedelta(days=93)
    if window is not None:
        first_day, last_day = window[0], window[1] - timedelta(days=1)
        show_today = window[0] <= today < window[1]
    elif show_today:
        first_day, last_day = min(first_day, today), max(last_day, today)
    first = first_day.replace(day=1)
    last = (last_day.replace(day=1) + timedelta(days=32)).replace(day=1)
    span = max(1, (last - first).days)

    def x(day: date) -> float:
        return LABEL_WIDTH + PLOT_WIDTH * (day - first).days / span

    parts: list[str] = []
    groups: list[str] = []
    for b in bars:
        if not groups or groups[-1] != b.group:
            groups.append(b.group)
    height = HEADER + ROW * (len(bars) + len(groups)) + 40
    months = _month_starts(first, last - timedelta(days=1))
    every = max(1, len(months) // 12)
    for n, month in enumerate(months):
        if n % every:
            continue  # over long spans only the labelled months get a line, so the drawing stays small
        mx = x(month)
        parts.append(f'<line x1="{mx:.1f}" y1="{HEADER - 6}" x2="{mx:.1f}" y2="{height - 40}" stroke="#e3e7ee"/>')
        parts.append(f'<text x="{mx + 3:.1f}" y="{HEADER - 12}" font-size="11" fill="#555">{_t(month_label(month))}</text>')
    y = HEADER
    current = None
    for b in bars:
        if b.group != current:
            current = b.group
            parts.append(f'<text x="6" y="{y + 14}" font-size="13" font-weight="600" fill="#1d2433">{_t(_clip(b.group, 44))}</text>')
            y += ROW
        colour = STATE_COLOURS.get(b.state, "#c9d1de")
        x1, x2 = x(b.starts_on), x(b.due_on + timedelta(days=1))
        outline = ' stroke="#c0392b" stroke-width="2" data-overdue="1"' if b.overdue else ""
        bar = (
            f'<rect x="{x1:.1f}" y="{y + 3}" width="{max(3.0, x2 - x1):.1f}" height="{ROW - 6}" rx="3" fill="{colour}"{outline} '
            f'data-state="{_t(b.state)}"><title>{_t(b.tip)}</title></rect>'
        )
        label = f'<text x="16" y="{y + 14}" font-size="12" fill="#1d2433">{_t(_clip(b.label, 46))}</text>'
        if b.href:
            parts.append(f'<a href="{_t(b.href)}">{label}{bar}</a>')
        else:
            parts.append(label + bar)
        y += ROW
    if show_today:
        tx = x(today)
        parts.append(f'<line x1="{tx:.1f}" y1="{HEADER - 6}" x2="{tx:.1f}" y2="{y}" stroke="#c0392b" stroke-dasharray="4 3" data-today="{today.isoformat()}"/>')
        parts.append(f'<text x="{tx + 3:.1f}" y="{y + 12}" font-size="11" fill="#c0392b">{_t(today_text)}</text>')
    else:
        side, anchor = (LABEL_WIDTH + PLOT_WIDTH, "end") if today > last_day else (LABEL_WIDTH, "start")
        arrow = f"{today_text} →" if today > last_day else f"← {today_text}"
        parts.append(f'<text x="{side}" y="{y + 12}" font-size="11" fill="#c0392b" text-anchor="{anchor}">{_t(arrow)} {today.isoformat()}</text>')
    lx = 6.0
    ly = height - 14
    for state, colour in STATE_COLOURS.items():
        text = state_labels.get(state, state)
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 10}" width="12" height="12" rx="2" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 16:.1f}" y="{ly}" font-size="11" fill="#333">{_t(text)}</text>')
        lx += 22 + 6.5 * len(text)
    width = LABEL_WIDTH + PLOT_WIDTH + 10
    # Bars that link to their milestone cannot sit inside an image (axe: nested-interactive): the drawing is a group then.
    role = "group" if any(b.href for b in bars) else "img"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="{role}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">'
        f"<title>{_t(title)}</title>" + "".join(parts) + "</svg>"
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _t(text: str) -> str:
    return escape(str(text), quote=True)
