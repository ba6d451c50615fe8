"""The ROI, Forecast, Forecast detail and Hiring tabs, their native charts.

Each tab is rendered from a :class:`~leadbook.workbook.read.Book` (None renders it empty with
its headers). Forecast and Hiring read as FP&A reads them: a months-across view first (a
plain range of SUMIFS links, months as real dates), then their Excel Tables stacked below it
at rows computed from the row counts. The long forecast tables sit on Forecast detail. The
ForecastLog is kept across runs: the renderer reads the log already in the workbook file
(``book.path``) before the tab is rewritten and writes it back with this month's forecasts
appended.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from openpyxl.chart import LineChart, Reference, Series
from openpyxl.styles import Alignment, Font
from openpyxl.utils.cell import (
    column_index_from_string,
    coordinate_from_string,
    get_column_letter,
    range_boundaries,
)
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import contract as C
from leadbook.contract import file_formula
from leadbook.planning.forecast import scenarios
from leadbook.planning.forecastlog import listed_sources
from leadbook.planning.plan import FAN_ACTUAL_MONTHS
from leadbook.planning.roi import IRR_SHOWN_UP_TO, irr_reason
from leadbook.settings import SETTING_SPECS, Settings
from leadbook.workbook.layout import (
    HEADER_FILL,
    HEADER_FONT,
    Expected,
    Formula,
    anchor_of,
    excel_value,
    freeze,
    highlight_below,
    highlight_text,
    note,
    quote_sheet,
    set_cell,
    table_column_range,
    title,
    widen,
    write_table,
)
from leadbook.workbook.sheets import CHART_BUILDERS

if TYPE_CHECKING:
    from leadbook.planning.plan import ForecastResult, HiringResult

log = logging.getLogger(__name__)

CHAPTER_TABLE = (
    # case, leads, leads per rep, reps the chapter states
    ("Today: 2,400 leads at 47", 2_400, 47.0, 51),
    ("Conservative, month 12", 2_760, 40.0, 69),
    ("Base, month 12", 3_240, 40.0, 81),
    ("Aggressive, month 12", 4_200, 40.0, 105),
)


# --- ROI --------------------------------------------------------------------------------------


def render_roi(
    ws: Worksheet, table: pd.DataFrame | None, flows: pd.DataFrame | None, expected: Expected
) -> None:
    """Multi-horizon ROI per source and portfolio (``table``, from
    :func:`~leadbook.planning.roi.roi_table`), and each cohort's cash flows, NPV, IRR
    (``flows``); None renders the tab empty."""
    title(ws, C.ROI)
    note(
        ws,
        "A3",
        "An average monthly cohort per source: its lead cost, and the revenue its customers "
        "bring within 30 days, 90 days and 12 months (timing, retention and expansion on "
        "Settings). ROI, payback, NPV and IRR are on contribution: revenue × GrossMargin, "
        "less CostToServe per customer won; Revenue ROI is on revenue.",
    )
    rows = None if table is None else table.assign(source=table.index)
    values = {}
    if table is not None:
        computed = ("roi_30d", "roi_90d", "roi_12m", "revenue_roi_12m", "cpa")
        values = {k: table[k].tolist() for k in computed}
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
    for key in ("roi_30d", "roi_90d", "roi_12m", "revenue_roi_12m"):
        highlight_below(ws, table_column_range(ws, C.ROI_TABLE, key, n), "0")
    freeze(ws, anchor_of(C.ROI_TABLE)[0] + 1, 2)


def _irr_formula(flows: np.ndarray) -> str:
    """The annual IRR as Excel computes it, in the words of
    :func:`~leadbook.planning.roi.irr_annual_or_reason`."""
    reason = irr_reason(flows) or "no IRR: no real rate of return solves these cash flows"
    span = file_formula(C.COHORT_FLOWS_TABLE, "[@[Month 1]:[Month 12]]")[1:]
    yearly = f"((1+IRR({span}))^12-1)"
    words = f'"over 1,000% a year ("&TEXT(IRR({span}),"0%")&" a month)"'
    return f'IFERROR(IF({yearly}>{IRR_SHOWN_UP_TO:g},{words},{yearly}),"{reason}")'


# --- Layout: a months-across view first, the tables stacked below it ---------------------------

MONTH_WIDTH = 10
"""Width of a month's column in a view."""
LABEL_WIDTH = 24
"""Width of a view's label column (its longest label, "Conservative scenario", fits)."""
CHART_ROWS = 20
"""Rows kept free below a view for its chart (10 cm high)."""
MAX_HORIZON = int(next(s.hi for s in SETTING_SPECS if s.key == "forecast.horizon") or 24)
"""The longest forecast horizon Settings allow: tables whose rows follow the horizon keep
room for it, so that no setting moves the tables below them."""
SERIES_ROOM = 41
"""Rows ForecastSeries keeps (20 sources and the portfolio); beyond, steps of SERIES_STEP."""
SERIES_STEP = 20
HEADING_FONT = Font(bold=True, color="1F4E78")
FLAG_FONT = Font(italic=True, color="7F7F7F")


def stacked(
    tables: Sequence[tuple[C.TableSpec, int]], top: int, column: str = "A"
) -> list[C.TableSpec]:
    """Each table placed below the one before, from its heading in row ``top`` down: the
    heading, the header row, the rows kept for it (at least one), a blank row.

    Examples
    --------
    >>> [s.anchor for s in stacked([(C.SCENARIOS_TABLE, 3), (C.ACCURACY_TABLE, 0)], 10)]
    ['A11', 'A17']
    """
    placed, heading = [], top
    for spec, rows in tables:
        placed.append(dataclasses.replace(spec, anchor=f"{column}{heading + 1}"))
        heading += 1 + max(rows, 1) + 2
    return placed


@dataclass(frozen=True)
class ViewBlock:
    """A block of a months-across view: a header row (``heading``, then the months) and one
    line per ``(label, column key of table)``, each cell a SUMIFS over ``table`` by month
    (and by the heading, in the columns ``match``). ``values`` (indexed by month, columns
    keyed as ``table``) holds leadbook's value of each cell; a missing value leaves it blank.
    """

    heading: str
    table: C.TableSpec
    lines: tuple[tuple[str, str], ...]
    values: pd.DataFrame | None = None
    match: tuple[str, ...] = ()

    @property
    def months(self) -> list[pd.Timestamp]:
        return [] if self.values is None else list(self.values.index)


def view_rows(blocks: int, lines: int) -> int:
    """Rows a view takes: its title row, then per block a header row, its lines and a blank
    row (but the last)."""
    return 1 + blocks * (1 + lines) + (blocks - 1)


def write_view(
    ws: Worksheet,
    view: C.MonthView,
    title_text: str,
    blocks: Sequence[ViewBlock],
    expected: Expected,
    flags: Sequence[str] = (),
) -> int:
    """Write ``blocks`` as the months-across ``view`` (see :class:`ViewBlock`) and name it.

    The month headers are real dates (the tables' Month values), so each cell is a plain
    SUMIFS on its column's header and Excel's formula auditing leads straight to the table.
    ``flags`` (one per month) go above the months, e.g. Actual / Forecast. Returns the last
    row of the view.
    """
    top, first = anchor_of_cell(view.anchor)
    ws.cell(top, first, title_text).font = HEADING_FONT
    for j, flag in enumerate(flags):
        cell = ws.cell(top, first + 1 + j, flag)
        cell.font, cell.alignment = FLAG_FONT, Alignment(horizontal="right")
    header = top + 1
    months = max((len(b.months) for b in blocks), default=0)
    for block in blocks:
        _view_header(ws, header, first, block)
        for i, (label, key) in enumerate(block.lines):
            _view_line(ws, header, header + 1 + i, first, block, label, key, expected)
        header += len(block.lines) + 2
    bottom = header - 2
    last = get_column_letter(first + months)
    ref = f"${get_column_letter(first)}${top}:${last}${bottom}"
    if view.name in ws.parent.defined_names:
        del ws.parent.defined_names[view.name]
    ws.parent.defined_names[view.name] = DefinedName(
        view.name, attr_text=f"{quote_sheet(ws.title)}!{ref}"
    )
    return bottom


def anchor_of_cell(cell: str) -> tuple[int, int]:
    """``(row, column index)`` of an A1 cell."""
    letter, row = coordinate_from_string(cell)
    return row, column_index_from_string(letter)


def _view_header(ws: Worksheet, row: int, first: int, block: ViewBlock) -> None:
    cells = [ws.cell(row, first, block.heading)]
    for j, month in enumerate(block.months):
        cell = ws.cell(row, first + 1 + j, excel_value(month))
        cell.number_format = C.FORMATS[C.Kind.MONTH]
        cell.alignment = Alignment(horizontal="right")
        cells.append(cell)
    for cell in cells:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL


def _view_line(
    ws: Worksheet,
    header: int,
    row: int,
    first: int,
    block: ViewBlock,
    label: str,
    key: str,
    expected: Expected,
) -> None:
    ws.cell(row, first, label)
    spec, column = block.table, block.table.column(key)
    values = [] if block.values is None else block.values[key].tolist()
    for j, value in enumerate(map(excel_value, values)):
        if value is None:
            continue
        letter = get_column_letter(first + 1 + j)
        criteria = [f"{spec.name}[{spec.column('month').header}],{letter}${header}"]
        heading = f"${get_column_letter(first)}${header}"
        criteria += [f"{spec.name}[{spec.column(k).header}],{heading}" for k in block.match]
        formula = f"=SUMIFS({spec.name}[{column.header}],{','.join(criteria)})"
        cell = ws.cell(row, first + 1 + j)
        set_cell(cell, Formula(formula))
        cell.number_format = column.format
        expected[f"{ws.title}!{cell.coordinate}"] = value


def heading(ws: Worksheet, spec: C.TableSpec, more: str = "") -> None:
    """The table's name and what it holds, in the row above its header."""
    row, first = anchor_of(spec)
    text = f"{spec.name}: {spec.doc}" + (f" {more}" if more else "")
    ws.cell(row - 1, first, text).font = HEADING_FONT


def fit_columns(ws: Worksheet, months: int) -> None:
    """The view's label and month columns at least their widths (the tables below a view
    share its columns, and :func:`write_table` keeps the widest)."""
    widen(ws, "A", LABEL_WIDTH)
    for j in range(months):
        widen(ws, get_column_letter(2 + j), MONTH_WIDTH)


# --- Forecast ---------------------------------------------------------------------------------

VIEW_ACTUAL_MONTHS = 12
"""Months of actuals the Forecast view shows before the forecast: the year behind."""
FORECAST_LINES = (
    ("Actual leads", "actual"),
    ("Forecast leads", "forecast"),
    ("Forecast, lower bound", "lower"),
    ("Forecast, upper bound", "upper"),
    ("Conservative scenario", "conservative"),
    ("Base scenario", "base"),
    ("Aggressive scenario", "aggressive"),
    ("Actual conversion", "actual_conversion"),
    ("Conversion forecast", "conversion"),
)
FORECAST_CHART_ROW = anchor_of_cell(C.FORECAST_VIEW.anchor)[0] + view_rows(1, 9) + 1
"""The fan chart's top row: below the view, one row apart."""


def forecast_tables(fan_rows: int, accuracy_rows: int) -> list[C.TableSpec]:
    """Scenarios, PortfolioForecast and Accuracy placed below the Forecast view and its chart.

    The same places in the template and in every filled workbook: PortfolioForecast keeps
    room for its most rows (24 months of actuals and the longest horizon), and Accuracy,
    which grows as actuals arrive, comes last.
    """
    return stacked(
        [
            (C.SCENARIOS_TABLE, len(scenarios(Settings()))),
            (C.PORTFOLIO_FORECAST_TABLE, max(fan_rows, FAN_ACTUAL_MONTHS + MAX_HORIZON)),
            (C.ACCURACY_TABLE, accuracy_rows),
        ],
        FORECAST_CHART_ROW + CHART_ROWS,
    )


def series_room(rows: int) -> int:
    """Rows ForecastSeries keeps: :data:`SERIES_ROOM`, or more in steps of SERIES_STEP.

    Examples
    --------
    >>> series_room(23), series_room(41), series_room(42), series_room(121)
    (41, 41, 61, 121)
    """
    over = max(rows - SERIES_ROOM, 0)
    return SERIES_ROOM + -(-over // SERIES_STEP) * SERIES_STEP


def detail_tables(series_rows: int, source_rows: int) -> list[C.TableSpec]:
    """ForecastSeries over SourceForecast, and ForecastLog beside them (it grows every
    month, so nothing sits below it). SourceForecast moves only when ForecastSeries outgrows
    its room (:func:`series_room`), i.e. past 20 sources."""
    top = 4
    left = stacked(
        [
            (C.FORECAST_SERIES_TABLE, series_room(series_rows)),
            (C.SOURCE_FORECAST_TABLE, source_rows),
        ],
        top,
    )
    beside = max(len(s.columns) for s in left) + 2
    return [*left, *stacked([(C.FORECAST_LOG_TABLE, 0)], top, get_column_letter(beside))]


def render_forecast(
    ws: Worksheet, result: ForecastResult | None, settings: Settings, expected: Expected
) -> None:
    """The portfolio by month (months across), the fan chart, scenarios, accuracy."""
    title(ws, C.FORECAST)
    fan = None if result is None else result.fan
    if result is not None:
        note(
            ws,
            "A3",
            f"Made {result.forecast.as_of:%b %Y} from History; intervals "
            f"{result.forecast.level:.0%}. Scenarios grow the baseline by their yearly rate.",
        )
    shown = None if fan is None else _view_months(fan)
    flags = (
        [] if shown is None else ["Forecast" if pd.isna(a) else "Actual" for a in shown["actual"]]
    )
    block = ViewBlock("Portfolio", C.PORTFOLIO_FORECAST_TABLE, FORECAST_LINES, shown)
    write_view(ws, C.FORECAST_VIEW, "Portfolio by month", [block], expected, flags)
    _forecast_tables(ws, settings, result, fan, expected)
    fit_columns(ws, len(block.months))
    ws.freeze_panes = "B1"
    draw_forecast_chart(ws)


def _forecast_tables(
    ws: Worksheet,
    settings: Settings,
    result: ForecastResult | None,
    fan: pd.DataFrame | None,
    expected: Expected,
) -> list[C.TableSpec]:
    acc = None if result is None else result.accuracy
    places = forecast_tables(0 if fan is None else len(fan), 0 if acc is None else len(acc))
    scenarios_at, fan_at, accuracy_at = places
    if result is None or acc is None:
        for spec in places:
            write_table(ws, spec, None, expected)
    else:
        table = result.scenarios
        probability = {"probability": table["probability"].tolist()}
        write_table(ws, scenarios_at, table, expected, formula_values=probability)
        write_table(ws, fan_at, fan, expected)
        status = {"status": acc["status"].tolist()}
        write_table(ws, accuracy_at, acc if len(acc) else None, expected, formula_values=status)
        highlight_text(ws, table_column_range(ws, accuracy_at, "status", len(acc)), ["outside"])
    heading(ws, scenarios_at)
    heading(ws, fan_at, "The view above links to it.")
    heading(ws, accuracy_at)
    return places


def _view_months(fan: pd.DataFrame) -> pd.DataFrame:
    """The fan's rows the view shows: the last year of actuals and every forecast month."""
    actual = fan.index[fan["actual"].notna()]
    keep = fan["forecast"].notna()
    keep[actual[-VIEW_ACTUAL_MONTHS:]] = True
    return fan[keep].set_index("month")


def render_forecast_detail(
    ws: Worksheet, result: ForecastResult | None, expected: Expected
) -> None:
    """How each series was forecast, every source's forecast, the log kept across runs."""
    title(ws, C.FORECAST_DETAIL)
    pf = None if result is None else result.forecast
    listed = None if pf is None else listed_sources(pf)
    series_at, sources_at, log_at = detail_tables(
        0 if pf is None else len(pf.series), 0 if listed is None else len(listed)
    )
    if result is None or pf is None:
        for spec in (series_at, sources_at, log_at):
            write_table(ws, spec, None, expected)
    else:
        write_table(ws, series_at, pf.series, expected)
        assert listed is not None
        customers = {"customers": (listed["leads"] * listed["conversion"]).tolist()}
        write_table(ws, sources_at, listed, expected, formula_values=customers)
        log = result.log
        errors = [
            (f - a) / a if pd.notna(a) and a != 0 else None
            for f, a in zip(log["forecast"], log["actual"], strict=True)
        ]
        write_table(ws, log_at, log, expected, formula_values={"error": errors})
    for spec in (series_at, sources_at, log_at):
        heading(ws, spec)


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
    ws.add_chart(chart, f"A{FORECAST_CHART_ROW}")


def _table_box(ws: Worksheet, spec: C.TableSpec) -> tuple[int, int, int] | None:
    """``(first column, header row, last row)`` of a table on ``ws`` with data; None if none."""
    if spec.name not in ws.tables:
        return None
    min_col, min_row, _, max_row = range_boundaries(ws.tables[spec.name].ref)
    if max_row <= min_row or ws.cell(min_row + 1, min_col).value is None:
        return None
    return min_col, min_row, max_row


# --- Hiring -----------------------------------------------------------------------------------

HIRING_LINES = tuple(
    (C.HIRING_PLAN_TABLE.column(key).header, key)
    for key in ("leads", "needed", "headcount", "productive", "hires", "requisitions", "cost")
)


def hiring_chart_row() -> int:
    """The chart's top row: below the Hiring view (a block per scenario; there are always
    three), one row apart."""
    blocks = len(scenarios(Settings()))
    return anchor_of_cell(C.HIRING_VIEW.anchor)[0] + view_rows(blocks, len(HIRING_LINES)) + 1


def hiring_tables() -> list[C.TableSpec]:
    """CapacityChecks, ChapterCheck, HiringQuarters and HiringPlan below the Hiring view and
    its chart, at the same places whatever the horizon: their rows follow from the three
    scenarios and the horizon, so they keep room for the longest (HiringQuarters for one
    quarter more, when the plan starts mid-quarter)."""
    n, months = len(scenarios(Settings())), MAX_HORIZON
    return stacked(
        [
            (C.CAPACITY_CHECKS_TABLE, n),
            (C.CHAPTER_CHECK_TABLE, len(CHAPTER_TABLE)),
            (C.HIRING_QUARTERS_TABLE, n * (months // 3 + 1)),
            (C.HIRING_PLAN_TABLE, n * months),
        ],
        hiring_chart_row() + CHART_ROWS,
    )


def render_hiring(
    ws: Worksheet, result: HiringResult | None, settings: Settings, expected: Expected
) -> None:
    """Per scenario by month (months across), the chart, capacity, the chapter, quarters,
    and the plan as a table."""
    title(ws, C.HIRING)
    plan = None if result is None else result.plan
    blocks = [
        ViewBlock(
            s.name,
            C.HIRING_PLAN_TABLE,
            HIRING_LINES,
            None if plan is None else plan[plan["scenario"] == s.name].set_index("month"),
            match=("scenario",),
        )
        for s in scenarios(settings)
    ]
    write_view(ws, C.HIRING_VIEW, "Hiring plan by month, per scenario", blocks, expected)
    checks_at, chapter_at, quarters_at, plan_at = hiring_tables()
    values = {}
    if plan is not None:
        values = {
            "needed": plan["needed"].tolist(),
            "capacity": (plan["productive"] * settings.hiring.leads_per_rep_optimal).tolist(),
            "cost": plan["cost"].tolist(),
        }
    checks = None if result is None else result.checks.astype(object).where(result.checks.notna())
    write_table(ws, checks_at, checks, expected)
    _chapter_check(ws, chapter_at, settings, expected)
    write_table(ws, quarters_at, None if result is None else result.quarters, expected)
    write_table(ws, plan_at, plan, expected, formula_values=values)
    heading(ws, checks_at, "A blank 'first exceeded' means never.")
    heading(ws, chapter_at, "Reps (model) use Settings' RepRounding.")
    heading(ws, quarters_at)
    heading(ws, plan_at, "The view above links to it.")
    n = 0 if plan is None else len(plan)
    highlight_text(ws, table_column_range(ws, plan_at, "status", n), ["peak: overtime"], bad=False)
    fit_columns(ws, len(blocks[0].months))
    ws.freeze_panes = "B1"
    draw_hiring_chart(ws)


def _chapter_check(
    ws: Worksheet, spec: C.TableSpec, settings: Settings, expected: Expected
) -> None:
    from leadbook.planning.capacity import reps_needed

    rounding = settings.hiring.rep_rounding
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
        spec,
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
    ws.add_chart(chart, f"A{hiring_chart_row()}")


CHART_BUILDERS[C.FORECAST.name] = draw_forecast_chart
CHART_BUILDERS[C.HIRING.name] = draw_hiring_chart
