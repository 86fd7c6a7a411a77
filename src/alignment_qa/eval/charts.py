"""Small self-contained SVG charts for the evaluation report: a line chart and a histogram.

No plotting library and nothing fetched: each function returns an ``<svg>`` string with its axis
labels, so ``report.html`` opens offline. Anything fancier (zoom, tooltips beyond titles) is left out.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

WIDTH, HEIGHT = 420, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 16, 36
COLOURS = ("#2b6cb0", "#999999")


def _x(value: float, low: float, high: float) -> float:
    span = (high - low) or 1.0
    return LEFT + (value - low) / span * (WIDTH - LEFT - RIGHT)


def _y(value: float, low: float, high: float) -> float:
    span = (high - low) or 1.0
    return HEIGHT - BOTTOM - (value - low) / span * (HEIGHT - TOP - BOTTOM)


def _frame(title: str, x_label: str, y_label: str, body: list[str], ticks: list[str]) -> str:
    axes = (
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" stroke="#333"/>'
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#333"/>'
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 4}" text-anchor="middle" font-size="11">'
        f"{html.escape(x_label)}</text>"
        f'<text x="12" y="{(TOP + HEIGHT - BOTTOM) / 2}" text-anchor="middle" font-size="11" '
        f'transform="rotate(-90 12 {(TOP + HEIGHT - BOTTOM) / 2})">{html.escape(y_label)}</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{html.escape(title)}"><title>{html.escape(title)}</title>'
        + axes
        + "".join(ticks)
        + "".join(body)
        + "</svg>"
    )


def line_chart(
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    x_label: str,
    y_label: str,
    y_range: tuple[float, float] = (0.0, 1.0),
) -> str:
    """Lines through ``(x, y)`` points, one per named series (the second drawn dashed, grey)."""
    xs = [x for _, points in series for x, _ in points] or [0.0, 1.0]
    low_x, high_x = min(xs), max(xs)
    low_y, high_y = y_range
    body, ticks = [], []
    for index, (name, points) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        dash = ' stroke-dasharray="5 4"' if index else ""
        path = " ".join(f"{_x(x, low_x, high_x):.1f},{_y(y, low_y, high_y):.1f}" for x, y in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        for x, y in points:
            body.append(
                f'<circle cx="{_x(x, low_x, high_x):.1f}" cy="{_y(y, low_y, high_y):.1f}" r="3" fill="{colour}">'
                f"<title>{html.escape(name)}: {y:.3f} at {x:g}</title></circle>"
            )
        body.append(
            f'<text x="{WIDTH - RIGHT - 4}" y="{TOP + 12 + 14 * index}" text-anchor="end" font-size="11" '
            f'fill="{colour}">{html.escape(name)}</text>'
        )
    for x in sorted(set(xs)):
        ticks.append(
            f'<text x="{_x(x, low_x, high_x):.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" '
            f'font-size="10">{x:g}</text>'
        )
    for step in range(5):
        y = low_y + (high_y - low_y) * step / 4
        ticks.append(
            f'<text x="{LEFT - 4}" y="{_y(y, low_y, high_y) + 3:.1f}" text-anchor="end" font-size="10">{y:.2g}</text>'
        )
    return _frame(title, x_label, y_label, body, ticks)


def histogram(
    title: str,
    values: Sequence[float],
    x_label: str,
    bins: int = 20,
    x_range: tuple[float, float] | None = None,
    markers: Sequence[tuple[str, float]] = (),
) -> str:
    """Counts of ``values`` in ``bins`` equal bins, with labelled vertical ``markers`` (thresholds, p50...)."""
    if not values:
        return _frame(title, x_label, "count", [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}">no data</text>'], [])
    low, high = x_range or (min(values), max(values))
    if high <= low:
        high = low + 1.0
    counts = [0] * bins
    for value in values:
        index = min(bins - 1, max(0, int((value - low) / (high - low) * bins)))
        counts[index] += 1
    top = max(counts)
    body, ticks = [], []
    width = (WIDTH - LEFT - RIGHT) / bins
    for index, count in enumerate(counts):
        x = LEFT + index * width
        y = _y(count, 0, top)
        start = low + (high - low) * index / bins
        body.append(
            f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{width - 2:.1f}" height="{HEIGHT - BOTTOM - y:.1f}" '
            f'fill="{COLOURS[0]}"><title>{count} in [{start:.3g}, {start + (high - low) / bins:.3g})</title></rect>'
        )
    for name, value in markers:
        x = _x(value, low, high)
        body.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" stroke="#d33"/>')
        body.append(f'<text x="{x + 3:.1f}" y="{TOP + 10}" font-size="10" fill="#d33">{html.escape(name)}</text>')
    for step in range(5):
        value = low + (high - low) * step / 4
        ticks.append(
            f'<text x="{_x(value, low, high):.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" '
            f'font-size="10">{value:.3g}</text>'
        )
    ticks.append(f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end" font-size="10">{top}</text>')
    return _frame(title, x_label, "count", body, ticks)
