"""The board pack's copied sheets: the Allocation, Forecast and hiring and ROI tabs as values,
long tables run on to sheets of their own, with the allocation and scenario charts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.utils.cell import get_column_letter

from leadbook import contract as C
from leadbook.workbook.pack.page import (
    BOLD,
    GREY,
    HEADING,
    PARA_CHARS_PER_WIDTH,
    TEXT_PAGE,
    Block,
    Page,
)


def _copied_grid(tabs: Sequence[str], copied: dict[str, list[Block]]) -> tuple[float, ...]:
    """Columns wide enough for the tables copied to one page (their tab's widths, or their
    longest entry up to 40 characters), and a filler column up to a text page's width."""
    widths: list[float] = []
    for tab in tabs:
        for block in copied.get(tab, []):
            for j, header in enumerate(block.headers):
                longest = max(
                    [len(_shown(header)) / 1.6]
                    + [len(_shown(row[j])) for row in block.rows if j < len(row)]
                )
                tab_width = block.widths[j] if j < len(block.widths) else 0.0
                want = min(max(tab_width, longest + 2, 8.0), 36.0)
                if j < len(widths):
                    widths[j] = max(widths[j], want)
                else:
                    widths.append(want)
    if sum(widths) < sum(TEXT_PAGE):
        widths.append(sum(TEXT_PAGE) - sum(widths))
    return tuple(widths)


def _shown(value: Any) -> str:
    """About the text a number shows once formatted (for column widths)."""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


def _copied_page(
    page: Page,
    tabs: Sequence[str],
    copied: dict[str, list[Block]],
    run_on: Callable[[str], Page],
) -> None:
    """The copied tabs' blocks on ``page``; a table longer than :data:`RUN_ON_ROWS` on a
    sheet of its own from ``run_on``, which repeats its header row on every page."""
    for tab in tabs:
        blocks = copied.get(tab, [])
        page.text(f"From the {tab} tab", HEADING)
        if not any(b.rows for b in blocks):
            page.para(f"Not available: {NOT_FILLED.get(tab, f'the {tab} tab is empty.')}", GREY)
            for block in blocks:
                page.para(block.title)
            page.row += 1
            continue
        beside: tuple[int, int] | None = None
        for block in blocks:
            if not block.headers:
                # beside the chart, a note keeps to the summary's width
                left = int(sum(page.grid[: beside[1] - 3]) * PARA_CHARS_PER_WIDTH) if beside else 0
                page.para(block.title, chars=left or None)
            elif block.title == ALLOCATION_SUMMARY_TITLE:
                # the summary (and the notes after it) on the left, the chart on its right
                page.text(block.title, BOLD)
                top, _ = page.table(block.headers, block.rows, block.formats)
                beside = (top, 2 + len(block.headers) + 1)
            elif block.rows:
                draw = _allocation_chart if _is_allocation(block) else None
                draw = _scenario_chart if _is_scenarios(block) else draw
                # the chart goes above its table, so a long table cannot split it
                chart_at = f"B{page.row}"
                if draw is _allocation_chart and beside is not None:
                    chart_at = f"{get_column_letter(beside[1])}{beside[0]}"
                    page.row = max(page.row, beside[0] + SUMMARY_CHART_ROWS)
                    beside = None
                elif draw is not None:
                    page.row += CHART_ROWS
                at = page
                if block.own_sheet and len(block.rows) > RUN_ON_ROWS:
                    at = run_on(block.own_sheet)
                    page.para(f"{block.title}: on the {block.own_sheet} page.")
                    page.row += 1
                at.text(block.title, BOLD)
                top, last = at.table(
                    block.headers, block.rows, block.formats, wrap=range(len(block.headers))
                )
                if at is not page:
                    at.ws.print_title_rows = f"1:{top}"
                    at.finish()
                if draw is not None:
                    page.ws.add_chart(draw(at, block, top, last), chart_at)
    page.finish()


RUN_ON_ROWS = 20
"""A copied table of more rows than this prints on a sheet of its own (when it names one),
whose print titles repeat its header row on every page."""
CHART_ROWS = 18
"""Rows kept free above a copied table for its chart (8 cm high)."""
ALLOCATION_SUMMARY_TITLE = "Recommended allocation against today, a month (run-rate)"
"""The title of the Allocation page's summary table, whose right the chart takes."""
SUMMARY_CHART_ROWS = 18
"""Rows the chart beside the allocation summary takes (8 cm high)."""


def _is_allocation(block: Block) -> bool:
    names = [h.strip().casefold() for h in block.headers]
    return bool(
        _first(names, "current") is not None
        and _first(names, "recommended") is not None
        and "source" in names
        and block.rows
    )


def _first(names: Sequence[str], start: str) -> int | None:
    """The first of ``names`` that starts with ``start`` ('current spend a month')."""
    return next((i for i, n in enumerate(names) if n.startswith(start)), None)


def _is_scenarios(block: Block) -> bool:
    return "Month" in block.headers and {"Conservative", "Base", "Aggressive"} <= set(block.headers)


SCENARIO_SERIES = ("Actual leads", "Forecast", "Conservative", "Base", "Aggressive")


def _scenario_chart(page: Page, block: Block, top: int, last: int) -> LineChart:
    """Leads by month: actuals, the forecast and the three scenarios."""
    headers = list(block.headers)
    chart = LineChart()
    chart.title = "Leads a month: forecast and scenarios"
    chart.y_axis.number_format = "#,##0"
    chart.height, chart.width = 8, 18
    for name in SCENARIO_SERIES:
        if name in headers:
            col = 2 + headers.index(name)
            chart.add_data(
                Reference(page.ws, min_col=col, min_row=top, max_row=last), titles_from_data=True
            )
    chart.set_categories(
        Reference(page.ws, min_col=2 + headers.index("Month"), min_row=top + 1, max_row=last)
    )
    chart.x_axis.number_format = "mmm yy"
    chart.legend.position = "r"
    return chart


NOT_FILLED = {
    C.ALLOCATION.name: "the Allocation tab holds no recommendation. Press Rebalance (or run "
    "`leadbook rebalance BOOK`), then export the pack again.",
    C.FORECAST.name: "the Forecast tab is empty. Press Refresh forecast, then export the pack "
    "again.",
    C.HIRING.name: "the Hiring tab is empty. Press Plan hiring, then export the pack again.",
    C.ROI.name: "the ROI tab is empty. Press Refresh, then export the pack again.",
}


def _allocation_chart(page: Page, block: Block, top: int, last: int) -> BarChart:
    """Current against recommended spend by source."""
    names = [h.strip().casefold() for h in block.headers]
    chart = BarChart()
    chart.type = "bar"  # horizontal: the source names read across
    chart.x_axis.scaling.orientation = "maxMin"  # in the table's order, top to bottom
    chart.title = "Current and recommended spend a month by source"
    chart.height, chart.width = 8, 16
    chart.y_axis.number_format = "$#,##0"
    for name in ("current", "recommended"):
        col = 2 + (_first(names, name) or 0)
        chart.add_data(
            Reference(page.ws, min_col=col, min_row=top, max_row=last), titles_from_data=True
        )
    col = 2 + names.index("source")
    chart.set_categories(Reference(page.ws, min_col=col, min_row=top + 1, max_row=last))
    return chart
