"""The board pack's Trends sheet: the KPIs by quarter, and their charts (a line by quarter
with dashed target lines, or this quarter against its target as bars)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.series import SeriesLabel

from leadbook import contract as C
from leadbook.board.kpis import Kpi
from leadbook.board.quarters import Quarter
from leadbook.board.specs import Direction, Unit
from leadbook.workbook.pack.page import BOLD, GREY, Page, _markers
from leadbook.workbook.pack.summary import _unit_formats, target_text
from leadbook.workbook.tabs.board import UNIT_FORMATS


def _trend_page(page: Page, kpis: Sequence[Kpi]) -> None:
    shown = [k for k in kpis if k.spec.unit is not Unit.COUNT]
    if not shown:
        page.finish()
        return
    quarters = [p.quarter for p in shown[0].trend] + [shown[0].quarter]
    formats = _unit_formats(shown)
    top, _ = page.table(
        ("KPI", *[q.long for q in quarters], "Target"),
        [(k.label, *[p.value for p in k.trend], k.value, target_text(k)) for k in shown],
        ("", *([formats] * len(quarters)), ""),
        wrap=(0,),
    )
    page.para(
        "Earlier quarters: the values saved by each quarter's export (Board history); where "
        "none was saved, the History KPIs (ROI, cost and revenue per lead, cost per customer) "
        "are recomputed from History. Blank: not known for that quarter.",
        GREY,
    )
    by_key = {k.key: k for k in shown}
    groups = [
        (name, [by_key[k] for k in chosen if k in by_key], fmt)
        for name, chosen, fmt in TREND_CHARTS
    ]
    lines = [g for g in groups if g[1] and max(_known(k) for k in g[1]) >= 2]
    bars = [g for g in groups if g[1] and g not in lines]
    page.row += CHART_ROWS_TRENDS
    charts_at = page.row - CHART_ROWS_TRENDS
    charts = [
        _trend_chart(page, name, chosen, fmt, top, keys=[k.key for k in shown])
        for name, chosen, fmt in lines
    ]
    if any(k.target is not None for _, chosen, _ in lines for k in chosen):
        charts = _with_target_lines(page, lines, quarters, charts)
    for name, chosen, fmt in bars:
        charts.append(_against_target_chart(page, name, chosen, fmt))
    row = page.row
    page.row = charts_at
    page.charts_side_by_side(charts)
    page.row = row
    page.finish()


TREND_CHARTS = (
    ("Portfolio ROI on contribution", ("roi",), "0%"),
    ("Cost and revenue per lead", ("blended_cpl", "revenue_per_lead"), '"$"#,##0'),
    ("Shares of spend", ("largest_share", "high_risk_share", "experimental_share"), "0%"),
)
"""The trend page's charts: a line by quarter for KPIs with two or more known quarters, or
this quarter against its target as bars for KPIs known for one quarter only."""
CHART_ROWS_TRENDS = 17
"""Rows the trend page's charts take."""


def _known(k: Kpi) -> int:
    """How many quarters of a KPI's trend (this one included) have a value."""
    return sum(p.value is not None for p in k.trend) + (k.value is not None)


def _trend_chart(
    page: Page, name: str, chosen: Sequence[Kpi], fmt: str, top: int, keys: list[str]
) -> LineChart:
    """A line a KPI, by quarter, from the trend table whose header row is ``top``."""
    last_col = 2 + len(chosen[0].trend) + 1
    chart = LineChart()
    chart.title = name
    chart.y_axis.number_format = fmt
    chart.height, chart.width = 7.5, 8.5
    for k in chosen:
        r = top + 1 + keys.index(k.key)
        chart.add_data(
            Reference(page.ws, min_col=3, max_col=last_col, min_row=r, max_row=r), from_rows=True
        )
    for i, (k, series) in enumerate(zip(chosen, chart.series, strict=True)):
        series.tx = SeriesLabel(v=C.BOARD_HISTORY_TABLE.column(k.key).header)
        series.graphicalProperties.line.solidFill = LINE_COLOURS[i % len(LINE_COLOURS)]
    chart.set_categories(Reference(page.ws, min_col=3, max_col=last_col, min_row=top))
    chart.legend.position = "b"
    return _markers(chart)


LINE_COLOURS = ("2E75B6", "C00000", "548235")
"""A trend chart's KPI lines, and each KPI's dashed target line in its colour."""


def _with_target_lines(
    page: Page,
    lines: Sequence[tuple[str, Sequence[Kpi], str]],
    quarters: Sequence[Quarter],
    charts: list[LineChart],
) -> list[LineChart]:
    """Each line chart with its KPIs' targets (a band's both ends) as dashed lines, from a
    table of the targets by quarter that the page prints under the charts."""
    rows, where, colours = [], [], []
    for (_, chosen, _), chart in zip(lines, charts, strict=True):
        for j, k in enumerate(chosen):
            ends = [("target", k.target)]
            if k.spec.direction is Direction.WITHIN and k.floor is not None:
                ends = [("band floor", k.floor), ("band cap", k.target)]
            for word, value in ends:
                if value is not None:
                    short = C.BOARD_HISTORY_TABLE.column(k.key).header
                    rows.append((f"{short}: {word}", *[value] * len(quarters)))
                    where.append((chart, k))
                    colours.append(LINE_COLOURS[j % len(LINE_COLOURS)])
    page.text("Target lines of the charts", BOLD)
    top, _ = page.table(
        ("Line", *[q.long for q in quarters]),
        rows,
        ("", *([[UNIT_FORMATS[k.spec.unit] for _, k in where]] * len(quarters))),
        wrap=(0,),
    )
    for i, (chart, _) in enumerate(where):
        r = top + 1 + i
        line = LineChart()
        line.add_data(
            Reference(page.ws, min_col=3, max_col=2 + len(quarters), min_row=r, max_row=r),
            from_rows=True,
        )
        series = line.series[0]
        series.tx = SeriesLabel(v=rows[i][0])
        series.marker.symbol = "none"
        series.smooth = False
        series.graphicalProperties.line.dashStyle = "dash"
        series.graphicalProperties.line.solidFill = colours[i]
        chart.series.append(series)
    return charts


def _against_target_chart(page: Page, name: str, chosen: Sequence[Kpi], fmt: str) -> BarChart:
    """This quarter's value of each KPI beside its floor and cap, as bars (KPIs known for a
    single quarter, whose trend would be one point), from a table the page prints."""
    quarter = chosen[0].quarter.long
    page.text(f"{name}, {quarter}, against target", BOLD)
    fmts = [UNIT_FORMATS[k.spec.unit] for k in chosen]
    top, last = page.table(
        ("KPI", quarter, "Floor (at least)", "Cap (at most)"),
        [(C.BOARD_HISTORY_TABLE.column(k.key).header, k.value, *_floor_cap(k)) for k in chosen],
        ("", fmts, fmts, fmts),
        wrap=(0,),
    )
    chart = BarChart()
    chart.type = "bar"
    chart.title = f"{name}, {quarter}"
    chart.y_axis.number_format = fmt
    chart.y_axis.scaling.min = 0
    chart.x_axis.scaling.orientation = "maxMin"
    chart.height, chart.width = 7.5, 8.5
    chart.add_data(
        Reference(page.ws, min_col=3, max_col=5, min_row=top, max_row=last), titles_from_data=True
    )
    chart.set_categories(Reference(page.ws, min_col=2, min_row=top + 1, max_row=last))
    chart.legend.position = "b"
    return chart


def _floor_cap(k: Kpi) -> tuple[float | None, float | None]:
    """The lower and upper end a KPI's target sets (None where it sets none)."""
    d = k.spec.direction
    if d is Direction.AT_LEAST:
        return k.target, None
    if d is Direction.AT_MOST:
        return None, k.target
    if d is Direction.WITHIN:
        return k.floor, k.target
    if d is Direction.NEAR and k.target is not None:
        return k.target - k.tolerance, k.target + k.tolerance
    return None, None


def history_frame(kpis: Sequence[Kpi]) -> pd.DataFrame:
    """The trend values of the KPIs as a quarters × KPIs frame (for tests and the CLI)."""
    if not kpis:
        return pd.DataFrame()
    quarters = [p.quarter.label for p in kpis[0].trend] + [kpis[0].quarter.label]
    data = {k.key: [p.value for p in k.trend] + [k.value] for k in kpis}
    return pd.DataFrame(data, index=quarters)
