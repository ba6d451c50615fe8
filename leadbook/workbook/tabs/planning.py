"""The ROI, Forecast and Hiring tabs, their native charts, and the planning jobs.

Each tab is rendered from a :class:`~leadbook.workbook.read.Book` (None renders it empty with
its headers). The Forecast tab keeps its ForecastLog across runs: the renderer reads the log
already in the workbook file (``book.path``) before the tab is rewritten and writes it back
with this month's forecasts appended.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl.chart import LineChart, Reference, Series
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet.worksheet import Worksheet

from leadbook.capacity import HiringTerms, first_exceeded, hiring_plan, quarterly_hires
from leadbook.errors import InputError
from leadbook.forecast import (
    LOG_COLUMNS,
    PortfolioForecast,
    accuracy,
    log_rows,
    portfolio_forecast,
    scenario_paths,
    scenario_table,
    scenarios,
    update_log,
)
from leadbook.roi import irr_reason, roi_table
from leadbook.settings import Settings
from leadbook.tables import parse_table
from leadbook.workbook import contract as C
from leadbook.workbook.contract import file_formula
from leadbook.workbook.layout import (
    Expected,
    anchor_of,
    highlight_below,
    highlight_text,
    note,
    table_column_range,
    title,
    write_table,
)
from leadbook.workbook.read import Book, open_workbook, read_table
from leadbook.workbook.write import CHART_BUILDERS

log = logging.getLogger(__name__)

CHAPTER_TABLE = (
    # case, leads, leads per rep, reps the chapter states
    ("Today: 2,400 leads at 47", 2_400, 47.0, 51),
    ("Conservative, month 12", 2_760, 40.0, 69),
    ("Base, month 12", 3_240, 40.0, 81),
    ("Aggressive, month 12", 4_200, 40.0, 105),
)


# --- ROI --------------------------------------------------------------------------------------


def render_roi(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """Multi-horizon ROI per source and portfolio, and each cohort's cash flows, NPV, IRR."""
    title(ws, C.ROI)
    note(
        ws,
        "A3",
        "An average monthly cohort per source: its lead cost, and the revenue its customers "
        "bring within 30 days, 90 days and 12 months (timing, retention and expansion on "
        "Settings).",
    )
    table, flows = (None, None) if book is None else roi_table(book.inventory, book.settings)
    rows = None if table is None else table.assign(source=table.index)
    values = {}
    if table is not None:
        values = {k: table[k].tolist() for k in ("roi_30d", "roi_90d", "roi_12m", "cpa")}
        values["revenue_per_lead"] = table["revenue_per_lead"].tolist()
    write_table(ws, C.ROI_TABLE, rows, expected, formula_values=values)
    flow_rows, flow_values, irr_formulas = None, {}, None
    if flows is not None and table is not None:
        flow_rows = flows.set_axis([f"m{k}" for k in flows.columns], axis=1)
        flow_rows = flow_rows.assign(source=flows.index)
        flow_values = {"npv": table["npv"].tolist(), "irr": table["irr"].tolist()}
        irr_formulas = {"irr": [_irr_formula(flows.loc[name].to_numpy()) for name in flows.index]}
    write_table(
        ws,
        C.COHORT_FLOWS_TABLE,
        flow_rows,
        expected,
        formula_values=flow_values,
        row_formulas=irr_formulas,
        style="TableStyleLight9",
    )
    n = 0 if table is None else len(table)
    for key in ("roi_30d", "roi_90d", "roi_12m"):
        highlight_below(ws, table_column_range(ws, C.ROI_TABLE, key, n), "0")
    ws.freeze_panes = f"B{anchor_of(C.ROI_TABLE)[0] + 1}"


def _irr_formula(flows: np.ndarray) -> str:
    reason = irr_reason(flows) or "no IRR: no real rate of return solves these cash flows"
    span = file_formula(C.COHORT_FLOWS_TABLE, "[@[Month 1]:[Month 12]]")[1:]
    return f'IFERROR(IRR({span}),"{reason}")'


# --- Forecast ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastResult:
    """What the Forecast tab shows, computed once per refresh."""

    forecast: PortfolioForecast
    log: pd.DataFrame
    accuracy: pd.DataFrame


def _book_forecast(book: Book) -> PortfolioForecast:
    # Cheap on repeat: each series' forecast is cached by its values (forecast._choose).
    return portfolio_forecast(book.inventory, book.settings)


def forecast_result(book: Book, previous_log: pd.DataFrame | None = None) -> ForecastResult:
    """The book's forecast, its log (``previous_log`` plus this month's) and accuracy."""
    pf = _book_forecast(book)
    history = book.inventory.history
    full_log = update_log(previous_log, log_rows(pf), history)
    return ForecastResult(pf, full_log, accuracy(full_log, history, book.settings))


def previous_forecast_log(path: Path | str | None) -> pd.DataFrame | None:
    """The ForecastLog rows already in the workbook file at ``path`` (None when absent)."""
    if path is None or not Path(path).exists():
        return None
    wb = open_workbook(path)
    if (
        C.FORECAST.name not in wb.sheetnames
        or C.FORECAST_LOG_TABLE.name not in wb[C.FORECAST.name].tables
    ):
        return None
    raw, locator, problems = read_table(wb, C.FORECAST_LOG_TABLE)
    frame, problems = parse_table(raw, C.FORECAST_LOG_TABLE, locator, frozenset({C.Role.OUTPUT}))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(errors)
    return frame.drop(columns="at_row").dropna(subset=["made", "month"])[LOG_COLUMNS]


def render_forecast(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """Series methods, the portfolio fan, scenarios, source forecasts, the log, accuracy."""
    title(ws, C.FORECAST)
    result = None if book is None else forecast_result(book, previous_forecast_log(book.path))
    if result is not None:
        note(
            ws,
            "A3",
            f"Made {result.forecast.as_of:%b %Y} from History; intervals "
            f"{result.forecast.level:.0%}. Scenarios grow the baseline by their yearly rate.",
        )
    _forecast_tables(ws, book, result, expected)
    draw_forecast_chart(ws)


def _forecast_tables(
    ws: Worksheet, book: Book | None, result: ForecastResult | None, expected: Expected
) -> None:
    if result is None or book is None:
        for spec in C.FORECAST.tables:
            write_table(ws, spec, None, expected)
        return
    pf = result.forecast
    write_table(ws, C.FORECAST_SERIES_TABLE, pf.series, expected)
    write_table(ws, C.PORTFOLIO_FORECAST_TABLE, _fan_rows(pf, book.settings), expected)
    table = scenario_table(pf, book.settings)
    write_table(
        ws,
        C.SCENARIOS_TABLE,
        table,
        expected,
        formula_values={"probability": table["probability"].tolist()},
    )
    customers = (pf.sources["leads"] * pf.sources["conversion"]).tolist()
    write_table(
        ws, C.SOURCE_FORECAST_TABLE, pf.sources, expected, formula_values={"customers": customers}
    )
    errors = [
        (f - a) / a if pd.notna(a) and a != 0 else None
        for f, a in zip(result.log["forecast"], result.log["actual"], strict=True)
    ]
    write_table(ws, C.FORECAST_LOG_TABLE, result.log, expected, formula_values={"error": errors})
    acc = result.accuracy
    write_table(
        ws,
        C.ACCURACY_TABLE,
        acc if len(acc) else None,
        expected,
        formula_values={"status": acc["status"].tolist()},
    )
    highlight_text(ws, table_column_range(ws, C.ACCURACY_TABLE, "status", len(acc)), ["outside"])


def _fan_rows(pf: PortfolioForecast, settings: Settings) -> pd.DataFrame:
    past = pf.actuals.tail(24).rename(
        columns={"leads": "actual", "conversion": "actual_conversion"}
    )
    paths = scenario_paths(pf, settings)
    future = pd.DataFrame(
        {
            "month": pf.portfolio["month"],
            "forecast": pf.portfolio["leads"],
            "lower": pf.portfolio["lower"],
            "upper": pf.portfolio["upper"],
            "conservative": paths["Conservative"],
            "base": paths["Base"],
            "aggressive": paths["Aggressive"],
            "conversion": pf.portfolio["conversion"],
        }
    )
    return pd.concat([past, future], ignore_index=True)


def draw_forecast_chart(ws: Worksheet) -> None:
    """The fan chart: actual leads, the forecast and its interval, the three scenarios."""
    found = _table_box(ws, C.PORTFOLIO_FORECAST_TABLE)
    if found is None:
        return
    first_col, header, last = found
    chart = LineChart()
    chart.title = "Portfolio leads: actuals, forecast with interval, scenarios"
    chart.y_axis.title = "Leads per month"
    chart.height, chart.width = 9, 22
    for offset in range(1, 8):
        col = first_col + offset
        ref = Reference(ws, min_col=col, min_row=header, max_row=last)
        chart.series.append(Series(ref, title_from_data=True))
    for s, dash in zip(chart.series[2:4], ("dash", "dash"), strict=True):
        s.graphicalProperties.line.dashStyle = dash
    chart.set_categories(Reference(ws, min_col=first_col, min_row=header + 1, max_row=last))
    ws.add_chart(chart, "T10")


def _table_box(ws: Worksheet, spec: C.TableSpec) -> tuple[int, int, int] | None:
    """``(first column, header row, last row)`` of a table on ``ws`` with data; None if none."""
    if spec.name not in ws.tables:
        return None
    min_col, min_row, _, max_row = range_boundaries(ws.tables[spec.name].ref)
    if max_row <= min_row or ws.cell(min_row + 1, min_col).value is None:
        return None
    return min_col, min_row, max_row


# --- Hiring -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HiringResult:
    """The hiring plan of every scenario, its quarterly roll-up and the capacity checks."""

    plan: pd.DataFrame
    quarters: pd.DataFrame
    checks: pd.DataFrame


def hiring_result(pf: PortfolioForecast, settings: Settings) -> HiringResult:
    """Plan hires for each scenario's portfolio leads; check operations and support."""
    terms = HiringTerms.from_settings(settings)
    paths = scenario_paths(pf, settings).set_index("month")
    conversion = pf.portfolio.set_index("month")["conversion"].fillna(0.0)
    cap = settings.capacity
    plans, quarters, checks = [], [], []
    for s in scenarios(settings):
        leads = paths[s.name]
        plan = hiring_plan(leads, cap.sales_reps, terms).assign(scenario=s.name)
        plans.append(plan)
        quarters.append(quarterly_hires(plan).assign(scenario=s.name))
        customers = leads * conversion
        checks.append(
            {
                "scenario": s.name,
                "peak_leads": float(leads.max()),
                "peak_month": leads.idxmax(),
                "ops_capacity": cap.ops_leads * cap.ops_utilisation,
                "ops_exceeded": first_exceeded(leads, cap.ops_leads * cap.ops_utilisation),
                "support_capacity": cap.support_customers,
                "support_exceeded": first_exceeded(customers, cap.support_customers),
                "reps_month12": int(plan["needed"].iloc[11]),
                "hires_total": int(plan["hires"].sum()),
            }
        )
    return HiringResult(
        pd.concat(plans, ignore_index=True),
        pd.concat(quarters, ignore_index=True),
        pd.DataFrame(checks),
    )


def render_hiring(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """Reps needed, productive reps and hires by scenario; quarters; capacity; the chapter."""
    title(ws, C.HIRING)
    result = None if book is None else hiring_result(_book_forecast(book), book.settings)
    plan = None if result is None else result.plan
    values = {}
    if plan is not None:
        values = {
            "needed": plan["needed"].tolist(),
            "capacity": (plan["productive"] * book.settings.hiring.leads_per_rep_optimal).tolist(),
        }
    write_table(ws, C.HIRING_PLAN_TABLE, plan, expected, formula_values=values)
    write_table(ws, C.HIRING_QUARTERS_TABLE, None if result is None else result.quarters, expected)
    checks = None if result is None else result.checks.astype(object).where(result.checks.notna())
    write_table(ws, C.CAPACITY_CHECKS_TABLE, checks, expected)
    note(ws, "R11", "The chapter's table, with Settings' RepRounding (blank exceeded = never).")
    _chapter_check(ws, book, expected)
    n = 0 if plan is None else len(plan)
    highlight_text(
        ws, table_column_range(ws, C.HIRING_PLAN_TABLE, "status", n), ["peak: overtime"], bad=False
    )
    ws.freeze_panes = f"C{anchor_of(C.HIRING_PLAN_TABLE)[0] + 1}"
    draw_hiring_chart(ws)


def _chapter_check(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    from leadbook.capacity import reps_needed

    rounding = (book.settings if book else Settings()).hiring.rep_rounding
    rows = pd.DataFrame(CHAPTER_TABLE, columns=["case", "leads", "per_rep", "chapter"])
    reps = [
        reps_needed(v, p, 1.0, rounding)
        for v, p in zip(rows["leads"], rows["per_rep"], strict=True)
    ]
    checks = [
        "matches" if r == c else "differs" for r, c in zip(reps, rows["chapter"], strict=True)
    ]
    write_table(
        ws,
        C.CHAPTER_CHECK_TABLE,
        rows,
        expected,
        formula_values={"reps": reps, "check": checks},
        style="TableStyleLight9",
    )


def draw_hiring_chart(ws: Worksheet) -> None:
    """Reps needed against productive reps, one pair of lines per scenario."""
    found = _table_box(ws, C.HIRING_PLAN_TABLE)
    if found is None:
        return
    first_col, header, last = found
    blocks: dict[str, list[int]] = {}
    for r in range(header + 1, last + 1):
        blocks.setdefault(str(ws.cell(r, first_col).value), []).append(r)
    chart = LineChart()
    chart.title = "Reps needed vs productive reps, by scenario"
    chart.y_axis.title = "Reps"
    chart.height, chart.width = 10, 22
    keys = C.HIRING_PLAN_TABLE.keys
    for name, rows in blocks.items():
        for key, label, dash in (("needed", "needed", "dash"), ("productive", "productive", None)):
            col = first_col + keys.index(key)
            ref = Reference(ws, min_col=col, min_row=rows[0], max_row=rows[-1])
            series = Series(ref, title=f"{name}: {label}")
            if dash:
                series.graphicalProperties.line.dashStyle = dash
            chart.series.append(series)
    first = next(iter(blocks.values()))
    month_col = first_col + keys.index("month")
    chart.set_categories(Reference(ws, min_col=month_col, min_row=first[0], max_row=first[-1]))
    ws.add_chart(chart, "R20")


CHART_BUILDERS[C.FORECAST.name] = draw_forecast_chart
CHART_BUILDERS[C.HIRING.name] = draw_hiring_chart
