"""The portal's SVG bar chart (billing/charts.py): about six dates under the axis for any
period, the last one inside the chart."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from billing.charts import WIDTH, daily_bar_chart
from billing.selectors.usage import DayUsage


@pytest.mark.parametrize(("days", "ticks"), [(7, 7), (30, 7), (90, 7)])
def test_dates_under_the_axis(days, ticks):
    series = [DayUsage(date(2026, 9, 1) + timedelta(days=i), i, 0, 0) for i in range(days)]
    chart = daily_bar_chart(series)
    labelled = [bar for bar in chart.bars if bar.tick]
    assert len(chart.bars) == days and len(labelled) == ticks
    assert labelled[0].tick == "09-01" and labelled[-1].tick == f"{series[-1].day:%m-%d}"
    last = labelled[-1]
    # The last date ends at its bar's right edge: it is never cut off by the chart's border.
    assert last.tick_anchor == "end" and last.tick_x == pytest.approx(last.x + last.width, abs=0.2)
    assert last.tick_x <= WIDTH
    assert all(bar.tick_anchor == "start" and bar.tick_x == bar.x for bar in labelled[:-1])
