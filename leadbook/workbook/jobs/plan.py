"""The planning jobs behind ``leadbook roi|forecast|plan`` and the buttons **Refresh
forecast** and **Plan hiring**: read the book, render the tab, write it with a Log row."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl.workbook.workbook import Workbook

from leadbook import contract as C
from leadbook.planning.plan import ForecastResult, HiringResult, hiring_result
from leadbook.planning.roi import roi_table
from leadbook.workbook.jobs.forecasting import book_forecast_result
from leadbook.workbook.jobs.outputs import SUMMARY_RENDERERS
from leadbook.workbook.layout import formula_values
from leadbook.workbook.read import read_book
from leadbook.workbook.sheets import replace_sheet
from leadbook.workbook.tabs.planning import (
    render_forecast,
    render_forecast_detail,
    render_hiring,
    render_roi,
)
from leadbook.workbook.write import WriteResult, one_job_per_workbook, update_workbook


@dataclass(frozen=True)
class JobResult:
    """What a planning job wrote and what it computed."""

    write: WriteResult
    result: Any


@one_job_per_workbook
def roi(path: str | Path) -> JobResult:
    """Rewrite the ROI tab; the result is ``(table, cash flows)`` from :func:`roi_table`."""
    book = read_book(path)
    table, flows = roi_table(book.inventory, book.settings)

    def job(wb: Workbook) -> str:
        render_roi(replace_sheet(wb, C.ROI.name), table, flows, formula_values(wb))
        portfolio = table.loc["Portfolio"]
        return (
            f"ROI for {len(table) - 1} sources: portfolio 12-month ROI on contribution "
            f"{portfolio['roi_12m']:.0%} (on revenue {portfolio['revenue_roi_12m']:.0%}), "
            f"NPV ${portfolio['npv']:,.0f}"
        )

    written = update_workbook(
        path, "roi", job, book=book, changes=(C.ROI.name,), summaries=SUMMARY_RENDERERS
    )
    return JobResult(written, (table, flows))


@one_job_per_workbook
def forecast(path: str | Path) -> JobResult:
    """Rewrite the Forecast and Forecast detail tabs (Refresh forecast), keeping and
    extending the ForecastLog."""
    book = read_book(path)
    result: ForecastResult = book_forecast_result(book)

    def job(wb: Workbook) -> str:
        settings = book.settings
        render_forecast(replace_sheet(wb, C.FORECAST.name), result, settings, formula_values(wb))
        render_forecast_detail(
            replace_sheet(wb, C.FORECAST_DETAIL.name), result, formula_values(wb)
        )
        made = result.forecast.as_of
        return (
            f"forecast made {made:%b %Y} for {result.forecast.portfolio.shape[0]} months; "
            f"log holds {len(result.log)} rows ({result.log['actual'].notna().sum()} with actuals)"
        )

    tabs = (C.FORECAST.name, C.FORECAST_DETAIL.name)
    return JobResult(
        update_workbook(
            path, "forecast", job, book=book, changes=tabs, summaries=SUMMARY_RENDERERS
        ),
        result,
    )


@one_job_per_workbook
def plan(path: str | Path) -> JobResult:
    """Rewrite the Hiring tab (Plan hiring) from the forecast's scenarios."""
    from leadbook.planning.forecast import portfolio_forecast

    book = read_book(path)
    result: HiringResult = hiring_result(
        portfolio_forecast(book.inventory, book.settings), book.settings
    )

    def job(wb: Workbook) -> str:
        render_hiring(replace_sheet(wb, C.HIRING.name), result, book.settings, formula_values(wb))
        month12 = result.checks.set_index("scenario")["reps_month12"]
        return "hiring plan: month-12 reps " + ", ".join(f"{k} {v}" for k, v in month12.items())

    written = update_workbook(
        path, "plan", job, book=book, changes=(C.HIRING.name,), summaries=SUMMARY_RENDERERS
    )
    return JobResult(written, result)
