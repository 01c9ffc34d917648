"""Charts drawn as SVG on the server: no script needed, readable by screen readers (each chart
has a title and a description, and the numbers are also in a table or a legend beside it)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

from markupsafe import Markup, escape

PALETTE: Final = {
    "Success": "#1a6b32",
    "Done": "#1a6b32",
    "Completed": "#1a6b32",
    "Failed": "#b3261e",
    "Error": "#b3261e",
    "Business Error": "#d9822b",
    "Application Error": "#b3261e",
    "Aborted": "#6f2da8",
    "Stopped": "#6b7280",
    "In Progress": "#0b5cad",
    "Working": "#0b5cad",
    "New": "#5b8def",
    "Pending": "#5b8def",
    "Postponed": "#8a4b00",
    "Ready": "#1a6b32",
    "Disconnected": "#6b7280",
    "Failed (Application)": "#b3261e",
    "Failed (Business)": "#d9822b",
    "Abandoned": "#6b7280",
}
FALLBACK: Final = ("#0b5cad", "#d9822b", "#6f2da8", "#1a6b32", "#b3261e", "#6b7280", "#0e7490")


def colour(name: str, index: int = 0) -> str:
    return PALETTE.get(name, FALLBACK[index % len(FALLBACK)])


def stacked_bars(
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[int]],
    *,
    width: int = 640,
    height: int = 220,
) -> Markup:
    """One bar per category (a day, a queue), stacked by series (a status)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    top = _nice_max(max(totals, default=0))
    left, bottom, right, upper = 40, 28, 8, 10
    plot_w, plot_h = width - left - right, height - bottom - upper
    slot = plot_w / max(1, len(categories))
    bar = min(48.0, slot * 0.7)
    parts: list[str] = []
    for tick in range(5):
        value = top * tick / 4
        y = upper + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d7de"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{_short(value)}</text>'
        )
    for i, category in enumerate(categories):
        x = left + slot * i + (slot - bar) / 2
        y = float(upper + plot_h)
        for index, (name, values) in enumerate(series.items()):
            count = values[i]
            if not count:
                continue
            h = plot_h * count / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour(name, index)}"><title>{escape(category)}: {escape(name)} '
                f"{count}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{height - 8}" text-anchor="middle">'
            f"{escape(category)}</text>"
        )
    summary = "; ".join(
        f"{category}: "
        + ", ".join(f"{name} {values[i]}" for name, values in series.items() if values[i])
        for i, category in enumerate(categories)
    )
    return _svg(title, summary, width, height, "".join(parts)) + legend(list(series))


def donut(title: str, parts: Mapping[str, int], *, size: int = 180) -> Markup:
    """Shares of a whole (tasks by status)."""
    total = sum(parts.values())
    radius, stroke = size / 2 - 16, 26
    circumference = 2 * math.pi * radius
    offset = 0.0
    arcs: list[str] = []
    centre = size / 2
    for index, (name, count) in enumerate(parts.items()):
        if not count:
            continue
        length = circumference * count / total
        arcs.append(
            f'<circle cx="{centre}" cy="{centre}" r="{radius:.1f}" fill="none" '
            f'stroke="{colour(name, index)}" stroke-width="{stroke}" '
            f'stroke-dasharray="{length:.2f} {circumference - length:.2f}" '
            f'stroke-dashoffset="{-offset:.2f}" transform="rotate(-90 {centre} {centre})">'
            f"<title>{escape(name)}: {count}</title></circle>"
        )
        offset += length
    if not arcs:
        arcs.append(
            f'<circle cx="{centre}" cy="{centre}" r="{radius:.1f}" fill="none" '
            f'stroke="#d0d7de" stroke-width="{stroke}"/>'
        )
    arcs.append(
        f'<text x="{centre}" y="{centre + 5}" text-anchor="middle" font-size="16">{total}</text>'
    )
    summary = ", ".join(f"{name} {count}" for name, count in parts.items()) or "nothing"
    return _svg(title, summary, size, size, "".join(arcs)) + legend(list(parts), parts)


def legend(names: Sequence[str], counts: Mapping[str, int] | None = None) -> Markup:
    items = "".join(
        f'<li><span class="swatch" style="background:{colour(name, i)}" aria-hidden="true">'
        f"</span>{escape(name)}{f' ({counts[name]})' if counts is not None else ''}</li>"
        for i, name in enumerate(names)
    )
    # Every value in it is a colour of ours or escape()d.
    return Markup(f'<ul class="legend">{items}</ul>')  # noqa: S704


def _svg(title: str, summary: str, width: int, height: int, body: str) -> Markup:
    ident = "c" + format(abs(hash((title, summary))) % 10**8, "x")
    # The parts are numbers, colours of ours and escape()d text.
    return Markup(  # noqa: S704
        f'<svg role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{ident}-t {ident}-d"><title id="{ident}-t">{escape(title)}</title>'
        f'<desc id="{ident}-d">{escape(summary)}</desc>{body}</svg>'
    )


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _short(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"
