"""Lab trends as small inline SVG line charts, drawn on the server (no JavaScript library).

Every text in the drawing is escaped; numbers are formatted by us. A chart has a title for
screen readers and a table of the same values beside it on the page.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40
COLOURS = ("#1f5f8b", "#b7472a", "#2f7d4f", "#7a4fa0")


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[dt.date, Decimal | float]]


def _nice_step(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^n at or above `value` (a readable grid step)."""
    if value <= 0:
        return 0.25
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def line_chart(*, title: str, unit: str, series: Sequence[Series]) -> SafeString:
    """An SVG line chart of one or more series over time; empty string when there is no point."""
    points = [(d, float(v)) for s in series for d, v in s.points if v is not None]
    if not points:
        return mark_safe("")
    first = min(d for d, _ in points)
    last = max(d for d, _ in points)
    span_days = max((last - first).days, 1)
    step = _nice_step(max(v for _, v in points) / 4)
    top = step * 4
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: dt.date) -> float:
        return LEFT + plot_w * ((day - first).days / span_days)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):  # horizontal grid with its values
        value = step * i
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            'stroke="#d9e2ec" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#52606d">{_fmt(value)}</text>'
        )
    parts.append(
        f'<text x="12" y="{TOP + plot_h / 2:.1f}" font-size="11" fill="#52606d" '
        f'transform="rotate(-90 12 {TOP + plot_h / 2:.1f})" text-anchor="middle">'
        f"{escape(unit)}</text>"
    )
    for day in (first, last) if first != last else (first,):
        parts.append(
            f'<text x="{x(day):.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" '
            f'text-anchor="{"start" if day == first else "end"}" fill="#52606d">'
            f"{day.isoformat()}</text>"
        )
    legend_x = LEFT
    for index, one in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        data = sorted((d, float(v)) for d, v in one.points if v is not None)
        if data:
            path = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in data)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
            for d, v in data:
                parts.append(
                    f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
                    f"<title>{d.isoformat()}: {_fmt(v)} {escape(unit)}</title></circle>"
                )
        parts.append(
            f'<rect x="{legend_x}" y="{HEIGHT - 14}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 14}" y="{HEIGHT - 5}" font-size="11" fill="#1f2933">'
            f"{escape(one.name)}</text>"
        )
        legend_x += 24 + 7 * len(one.name)
    parts.append("</svg>")
    # Only our own numbers, ISO dates and escaped names are in the drawing.
    return mark_safe("".join(parts))
