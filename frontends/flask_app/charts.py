"""Geometry for the drivers bar chart, drawn as inline SVG by the template (no JS, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CHART_WIDTH = 640
LABEL_WIDTH = 230
VALUE_WIDTH = 70
ROW_HEIGHT = 26


@dataclass(frozen=True)
class Bar:
    label: str
    contribution: float
    x: float
    width: float
    y: float
    positive: bool


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    zero_x: float
    width: int
    height: int
    label_width: int


def driver_chart(contributions: list[dict[str, Any]], top: int = 10) -> BarChart:
    """Horizontal bars around a zero line: right (red) raises churn risk, left (green) lowers it."""
    rows = contributions[:top]
    plot_w = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    biggest = max((abs(float(r["contribution"])) for r in rows), default=0.0) or 1.0
    has_negative = any(float(r["contribution"]) < 0 for r in rows)
    has_positive = any(float(r["contribution"]) > 0 for r in rows)
    if has_negative and has_positive:
        zero, half = LABEL_WIDTH + plot_w / 2, plot_w / 2
    elif has_negative:
        zero, half = LABEL_WIDTH + plot_w, plot_w
    else:
        zero, half = LABEL_WIDTH, plot_w
    bars = []
    for i, row in enumerate(rows):
        value = float(row["contribution"])
        width = abs(value) / biggest * half
        x = zero if value >= 0 else zero - width
        label = f"{row['feature']} = {row.get('value', '')}"
        bars.append(Bar(label, value, round(x, 1), round(width, 1), i * ROW_HEIGHT, value >= 0))
    return BarChart(bars, round(zero, 1), CHART_WIDTH, max(len(bars), 1) * ROW_HEIGHT, LABEL_WIDTH)
