"""A server-side SVG bar chart: the portal loads no script and no asset from elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from billing.selectors import DayUsage

WIDTH, HEIGHT = 720, 220
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 48, 28, 12


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # for the <title> tooltip and screen readers
    tick: str  # x-axis label, empty for most bars
    tick_x: float
    tick_anchor: str  # the last label ends at its bar's right edge, inside the chart


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    max_value: int
    axis_y: float
    left: int


def daily_bar_chart(days: Sequence[DayUsage]) -> Chart:
    plot_w = WIDTH - PAD_LEFT - 8
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    top = max((d.requests for d in days), default=0) or 1
    slot = plot_w / max(1, len(days))
    # About six dates under the axis whatever the period (7, 30 or 90 days).
    tick_every = max(1, len(days) // 6)
    bars = []
    for i, d in enumerate(days):
        h = plot_h * d.requests / top
        x = round(PAD_LEFT + i * slot + slot * 0.1, 1)
        last = i == len(days) - 1
        bars.append(Bar(
            x=x,
            y=round(PAD_TOP + plot_h - h, 1),
            width=round(slot * 0.8, 1),
            height=round(h, 1),
            label=f"{d.day:%Y-%m-%d}: {d.requests} calls, {d.billable} billable, {d.errors} errors",
            tick=f"{d.day:%m-%d}" if i % tick_every == 0 or last else "",
            tick_x=round(x + slot * 0.8, 1) if last else x,
            tick_anchor="end" if last else "start",
        ))
    return Chart(WIDTH, HEIGHT, tuple(bars), top if any(d.requests for d in days) else 0,
                 PAD_TOP + plot_h, PAD_LEFT)
