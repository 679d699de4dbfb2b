"""Bar charts drawn by the server as SVG: the dashboard loads no script and nothing remote.

One chart type covers what the dashboard shows (answers per round, members reached per
platform): a label per group of bars, one bar per series. The chart scales with its container
(`viewBox`), carries its numbers as text for screen readers, and each bar says its value on
hover.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence

from bot.dashboard.html import Html, join, tag
from bot.i18n import N_

COLOURS = ("#2f6690", "#d1495b", "#3a7d44", "#8a5a00")
"""Distinct on white and for the common colour-vision deficiencies; series past four repeat."""
EMPTY = N_("No data yet")
"""What an empty chart says; callers pass it in the reader's language (`empty=`)."""
FONT = 13
MAX_BAR = 56.0
CHAR_WIDTH = 7.5
"""Roughly the width of one character at `FONT`, to shorten labels that would overlap."""


def nice_ceiling(value: float, *, whole: bool = False) -> float:
    """The axis maximum: `value` rounded up to 1, 2, 2.5 or 5 times a power of ten.

    For counts (`whole`) the maximum is a whole number and never below 1.
    """
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if whole and step * power != int(step * power):
            continue
        if value <= step * power:
            return float(max(step * power, 1) if whole else step * power)
    raise AssertionError("unreachable: 10 * power always covers value")


def _intervals(peak: float, whole: bool) -> int:
    """How many gridline steps: whole-number steps for counts (1 → 1, 2 → 2, 10 → 5 of 2)."""
    return int(peak) if whole and peak <= 5 else (5 if whole else 4)


def _short(label: str, room: float) -> str:
    fits = max(int(room // CHAR_WIDTH), 1)
    return label if len(label) <= fits else label[: max(fits - 1, 1)] + "…"


def _number(value: float) -> str:
    return f"{value:g}"


def bar_chart(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    width: int = 420,
    height: int = 220,
    empty: str = EMPTY,
) -> Html:
    """A grouped bar chart: `series[name][i]` is the bar of `name` above `labels[i]`.

    `title` and `empty` are shown as given, so callers pass them already translated.
    """
    for name, values in series.items():
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} labels")
        if any(v < 0 or math.isnan(v) for v in values):
            raise ValueError(f"series {name!r} has a negative or missing value")
    svg_attrs = {
        "xmlns": "http://www.w3.org/2000/svg",
        "viewBox": f"0 0 {width} {height}",
        "role": "img",
        "aria_label": title,
        "class_": "chart",
        "font-size": FONT,
        "font-family": "system-ui, sans-serif",
    }
    if not labels or not series:
        return tag(
            "svg",
            tag("title", title),
            tag("text", empty, x=width / 2, y=height / 2, text_anchor="middle"),
            **svg_attrs,
        )
    left, right, top, bottom = 44.0, 8.0, 28.0, 36.0
    plot_w, plot_h = width - left - right, height - top - bottom
    whole = all(float(v).is_integer() for values in series.values() for v in values)
    peak = nice_ceiling(max(max(v) for v in series.values()), whole=whole)
    scale = plot_h / peak
    group_w = plot_w / len(labels)
    bar_w = min(group_w * 0.8 / len(series), MAX_BAR)
    inset = (group_w - bar_w * len(series)) / 2

    described = "chart-" + hashlib.sha256(title.encode()).hexdigest()[:10]
    svg_attrs["aria_describedby"] = described  # the numbers, read out after the title
    parts: list[object] = [
        tag("title", title),
        tag("desc", _describe(labels, series), id=described),
    ]
    steps = _intervals(peak, whole)
    for i in range(steps + 1):
        value = peak * i / steps
        y = top + plot_h - value * scale
        parts.append(tag("line", x1=left, x2=width - right, y1=y, y2=y, stroke="#ddd"))
        parts.append(
            tag("text", _number(value), x=left - 6, y=y + FONT / 3, text_anchor="end", fill="#444")
        )
    for gi, label in enumerate(labels):
        x0 = left + gi * group_w + inset
        for si, (name, values) in enumerate(series.items()):
            h = values[gi] * scale
            parts.append(
                tag(
                    "rect",
                    tag("title", f"{label} — {name}: {_number(values[gi])}"),
                    class_="bar",
                    x=round(x0 + si * bar_w, 2),
                    y=round(top + plot_h - h, 2),
                    width=round(bar_w * 0.92, 2),
                    height=round(h, 2),
                    fill=COLOURS[si % len(COLOURS)],
                    data_value=_number(values[gi]),
                )
            )
        parts.append(
            tag(
                "text",
                _short(label, group_w),
                x=round(left + gi * group_w + group_w / 2, 2),
                y=height - bottom + FONT + 6,
                text_anchor="middle",
                fill="#222",
            )
        )
    parts.append(_legend(list(series), left))
    return tag("svg", *parts, **svg_attrs)


def _legend(names: list[str], left: float) -> Html:
    items: list[object] = []
    x = left
    for i, name in enumerate(names):
        items.append(tag("rect", x=x, y=8, width=FONT, height=FONT, fill=COLOURS[i % 4]))
        items.append(tag("text", name, x=x + FONT + 4, y=8 + FONT - 2, fill="#222"))
        x += FONT + 4 + CHAR_WIDTH * len(name) + 16
    return tag("g", *items, class_="legend")


def _describe(labels: Sequence[str], series: Mapping[str, Sequence[float]]) -> Html:
    rows = (
        f"{label}: " + ", ".join(f"{name} {_number(v[i])}" for name, v in series.items())
        for i, label in enumerate(labels)
    )
    return join("; ".join(rows))
