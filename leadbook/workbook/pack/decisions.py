"""The board pack's "Plan vs actual" sheet: the accepted plan against the month History holds,
per source and in total, and a bridge chart from planned to actual customers.

The bridge is a waterfall drawn the Excel-compatible way: a stacked column chart whose first
series (the base) is invisible, so each effect floats from where the one before it ended.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.drawing.line import LineProperties

from leadbook.board.quarters import Quarter
from leadbook.workbook.pack.page import BOLD, GREY, Page

PLAN_GRID = (28, 11, 11, 9, 9, 10, 10, 10, 10, 10, 10, 10, 11, 10)
"""The Plan vs actual sheet's columns: source, the planned and actual pairs, the effects."""

HEADERS = (
    "Source",
    "Planned spend",
    "Actual spend",
    "Planned leads",
    "Actual leads",
    "Planned customers",
    "Actual customers",
    "Planned CPA",
    "Actual CPA",
    "Customer variance",
    "Volume effect",
    "Price (CPL) effect",
    "Conversion effect",
    "New or stopped",
)
KEYS = (
    "source",
    "plan_spend",
    "spend",
    "plan_leads",
    "leads",
    "plan_customers",
    "customers",
    "plan_cpa",
    "cpa",
    "variance",
    "volume",
    "price",
    "conversion",
    "other",
)
MONEY, CENTS, COUNT, EFFECT = '"$"#,##0', '"$"#,##0.00', "#,##0.0", "+#,##0.0;-#,##0.0;0.0"
FORMATS = ("", MONEY, MONEY, "#,##0", "#,##0", COUNT, COUNT, CENTS, CENTS, *[EFFECT] * 5)
STEPS = (
    ("Planned customers", "plan_customers"),
    ("Volume", "volume"),
    ("Price (CPL)", "price"),
    ("Conversion", "conversion"),
    ("New or stopped", "other"),
    ("Actual customers", "customers"),
)
"""The bridge's bars, in the decomposition's order."""
CHART_ROWS = 18


def bridge_bars(total: pd.Series) -> list[tuple[str, float, float, float, float]]:
    """The waterfall's bars from a month's Total row: ``(step, base, up, down, level)``,
    stacked as base (invisible) + up (an increase) + down (a decrease) + level (a total).

    Examples
    --------
    >>> row = pd.Series({"plan_customers": 10.0, "volume": 3.0, "price": -1.0,
    ...                  "conversion": 0.5, "other": 0.0, "customers": 12.5})
    >>> [tuple(round(v, 2) if isinstance(v, float) else v for v in b) for b in bridge_bars(row)]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('Planned customers', 0.0, 0.0, 0.0, 10.0), ('Volume', 10.0, 3.0, 0.0, 0.0),
     ('Price (CPL)', 12.0, 0.0, 1.0, 0.0), ('Conversion', 12.0, 0.5, 0.0, 0.0),
     ('New or stopped', 12.5, 0.0, 0.0, 0.0), ('Actual customers', 0.0, 0.0, 0.0, 12.5)]
    """
    bars = []
    level = float(total["plan_customers"])
    for name, key in STEPS:
        value = float(total[key])
        if key in ("plan_customers", "customers"):
            bars.append((name, 0.0, 0.0, 0.0, value))
            continue
        after = level + value
        bars.append((name, min(level, after), max(value, 0.0), max(-value, 0.0), 0.0))
        level = after
    return bars


def shown_months(pva: pd.DataFrame, quarter: Quarter) -> tuple[list[pd.Timestamp], str]:
    """The months the page shows: those of ``quarter`` an accepted plan covered, else the
    latest one covered (and a note saying so)."""
    months = sorted(pd.Timestamp(m) for m in pva["month"].unique())
    inside = [m for m in months if m in set(quarter.months)]
    if inside:
        return inside, ""
    return months[-1:], (
        f"No month of {quarter.long} is covered by an accepted plan yet; the latest covered "
        "month is shown."
    )


def _plan_page(page: Page, pva: pd.DataFrame | None, quarter: Quarter) -> None:
    """The plan against actuals for the latest month shown, totals by month, the bridge."""
    if pva is None or pva.empty:
        page.para(
            "No accepted plan covers a month History holds yet. Rebalance, then Accept plan; "
            "once History has the months the plan covers, Refresh compares them here.",
            GREY,
        )
        page.finish()
        return
    months, why = shown_months(pva, quarter)
    last = months[-1]
    rows = pva[pva["month"] == last]
    plan = str(rows["rec_id"].iloc[0])
    page.text(f"{last:%B %Y} against plan {plan} (a month, run-rate)", BOLD)
    if why:
        page.para(why, GREY)
    _, bottom = page.table(
        HEADERS, [[_value(r[k]) for k in KEYS] for _, r in rows.iterrows()], FORMATS
    )
    for c in range(2, 2 + len(HEADERS)):
        page.ws.cell(bottom, c).font = BOLD  # the Total row
    page.para(
        "Customer variance = volume + price (CPL) + conversion + new or stopped, in that "
        "order: the spend not planned at the planned leads per dollar and conversion; then "
        "the actual spend at the leads per dollar it bought, at the planned conversion; then "
        "the actual leads at the conversion they had. A source with nothing planned or "
        "nothing spent is in New or stopped. The parts add up to the variance exactly.",
        GREY,
    )
    if len(months) > 1:
        totals = pva[(pva["source"] == "Total") & pva["month"].isin(months)]
        page.text("Each month of the quarter, in total", BOLD)
        page.table(
            ("Month", *HEADERS[1:]),
            [
                [f"{r['month']:%b %Y}", *[_value(r[k]) for k in KEYS[1:]]]
                for _, r in totals.iterrows()
            ],
            FORMATS,
        )
    total = rows[rows["source"] == "Total"].iloc[0]
    page.charts_side_by_side([_bridge_chart(page, total, f"{last:%B %Y}")], CHART_ROWS)
    page.finish()


def _value(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _bridge_chart(page: Page, total: pd.Series, month: str) -> BarChart:
    """The waterfall from planned to actual customers; its data beside the print area."""
    ws = page.ws
    col = 2 + len(PLAN_GRID) + 1  # past the grid: not printed
    top = page.row
    ws.cell(top, col, "Bridge chart data")
    for j, header in enumerate(("Step", "Base", "Increase", "Decrease", "Total")):
        ws.cell(top + 1, col + j, header)
    bars = bridge_bars(total)
    for i, bar in enumerate(bars):
        for j, value in enumerate(bar):
            ws.cell(top + 2 + i, col + j, value)
    first, last = top + 2, top + 1 + len(bars)
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title = f"Customers, {month}: plan to actual"
    chart.height, chart.width = 8.0, 17.0
    colours = (None, "548235", "C00000", "1F4E78")
    for j, colour in enumerate(colours):
        chart.add_data(
            Reference(ws, min_col=col + 1 + j, min_row=top + 1, max_row=last), titles_from_data=True
        )
        series = chart.series[j]
        if colour is None:
            series.graphicalProperties = GraphicalProperties(noFill=True)
            series.graphicalProperties.line = LineProperties(noFill=True)
        else:
            series.graphicalProperties = GraphicalProperties(solidFill=colour)
    chart.set_categories(Reference(ws, min_col=col, min_row=first, max_row=last))
    levels = _levels(bars)
    low, high = min(levels), max(levels)
    span = max(high - low, 1.0)
    chart.y_axis.scaling.min = max(0.0, math.floor((low - span) / 10) * 10)
    chart.y_axis.number_format = "#,##0"
    chart.y_axis.delete = False
    chart.x_axis.delete = False
    chart.legend = None
    chart.gapWidth = 60
    return chart


def _levels(bars: Sequence[tuple[str, float, float, float, float]]) -> list[float]:
    """Every bar's bottom and top."""
    out = []
    for _, base, up, down, level in bars:
        out += [base + up + down + level, base] if level == 0 else [level]
    return out
