"""The What-if tab, which Compare scenarios rewrites: your Scenarios table (kept as it was),
each scenario's results side by side with "As set", their differences, the budget curve and
its chart.

The Scenarios table is input: the renderer writes back the cells it read from the tab it
replaces (:class:`KeptTable`), headers and user-added columns included. The tables below it
move down as it grows; each result table gets one column per scenario at render time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.chart import LineChart, Reference
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import contract as C
from leadbook.allocation.whatif import Curve, ScenarioResult
from leadbook.contract import Column, Kind, Role
from leadbook.workbook.layout import (
    HEADER_FILL,
    HEADER_FONT,
    INPUT_FILL,
    INPUT_FONT,
    TOP,
    WRAP_CENTRE,
    WRAP_TOP,
    Expected,
    anchor_of,
    name_table_columns,
    note,
    title,
    widen,
    write_table,
)
from leadbook.workbook.sheets import CHART_BUILDERS
from leadbook.workbook.tabs.planning import HEADING_FONT

CHART_ROWS = 20
"""Rows kept free for the budget curve's chart, between its heading and its table."""
SCENARIO_ROOM = 20
"""Rows the Scenarios table may grow to before the results move down, by as many rows again
(so a user types new scenarios below it without running into the results, however many)."""

MONEY_FORMAT = C.FORMATS[Kind.CURRENCY]
NUMBER_FORMAT = C.FORMATS[Kind.NUMBER]
SCENARIO_WIDTH = 30
BINDING_SHOWN = 6
"""Binding rules a scenario's column lists (the rest are counted)."""

MEASURES: tuple[tuple[str, str, str], ...] = (
    ("status", "Status", "@"),
    ("verdict", "Rule that must give", "@"),
    ("budget", "Budget", MONEY_FORMAT),
    ("spend", "Spend", MONEY_FORMAT),
    ("leads", "Expected leads", NUMBER_FORMAT),
    ("customers", "Expected customers", NUMBER_FORMAT),
    ("blended_cpa", "Blended CPA", MONEY_FORMAT),
    ("margin", "Expected margin", MONEY_FORMAT),
    ("binding", "Binding rules", "@"),
)
"""The results' rows before the spend per source: key, label, number format."""

NUMERIC = ("budget", "spend", "leads", "customers", "blended_cpa", "margin")


@dataclass(frozen=True)
class KeptTable:
    """The Scenarios table as the user left it: its cells (header row first) by column, and
    the cells typed beside or below it but outside its ref (``outside``: address, value),
    which the rewrite would lose."""

    ref: str
    cells: tuple[tuple[Any, ...], ...]
    formats: tuple[tuple[str, ...], ...]
    outside: tuple[tuple[str, Any], ...] = ()

    @property
    def rows(self) -> int:
        return len(self.cells) - 1


def kept_table(ws: Worksheet | None) -> KeptTable | None:
    """The Scenarios table on ``ws`` (the tab being replaced), as it is; None if absent."""
    spec = C.WHATIF_SCENARIOS_TABLE
    if ws is None or spec.name not in ws.tables:
        return None
    ref = ws.tables[spec.name].ref
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    cells, formats = [], []
    for row in ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col):
        cells.append(tuple(c.value for c in row))
        formats.append(tuple(c.number_format for c in row))
    return KeptTable(ref, tuple(cells), tuple(formats), _outside(ws, ref))


def _outside(ws: Worksheet, ref: str) -> tuple[tuple[str, Any], ...]:
    """The filled cells beside or below the Scenarios table at ``ref``, down to the results'
    heading: typed there (a setting's column, a scenario's row) but not in the table, as
    Excel grows it only when asked (or when typed right next to it)."""
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    end = ws.max_row
    results = C.WHATIF_RESULTS_TABLE.name
    if results in ws.tables:
        heading = range_boundaries(ws.tables[results].ref)[1] - 1
        end = heading - 1 if heading > max_row else max_row
    out = []
    for row in ws.iter_rows(min_row=min_row, max_row=end, min_col=1, max_col=ws.max_column):
        for c in row:
            inside = min_row <= c.row <= max_row and min_col <= c.column <= max_col
            if not inside and c.value is not None and str(c.value).strip():
                out.append((c.coordinate, c.value))
    return tuple(out)


@dataclass(frozen=True)
class WhatIfView:
    """What the tab shows: each scenario's result ("As set" first) and the budget curve."""

    results: Sequence[ScenarioResult]
    curve: Curve | None
    note: str = ""


def render_whatif(
    ws: Worksheet,
    view: WhatIfView | None,
    kept: KeptTable | None,
    expected: Expected,
    *,
    starter: pd.DataFrame | None = None,
) -> None:
    """Write the What-if tab: the Scenarios table (``kept`` as it was, else ``starter``
    rows, else one blank row), the results, the differences and the budget curve."""
    title(ws, C.WHATIF)
    note(
        ws,
        "A3",
        view.note
        if view is not None and view.note
        else "Fill the Scenarios table (add a column headed by a setting's defined name to "
        "change that setting), then press Compare scenarios (leadbook whatif BOOK).",
    )
    header_row = anchor_of(C.WHATIF_SCENARIOS_TABLE)[0]
    rows = _scenarios(ws, kept, starter, expected) - header_row
    last = header_row + SCENARIO_ROOM * max(-(-rows // SCENARIO_ROOM), 1)
    results = [] if view is None else list(view.results)
    spec = _results_spec(results, f"A{last + 3}")
    end = _results(ws, spec, results, expected)
    diff = _diff_spec(results[1:], f"A{end + 3}")
    end = _differences(ws, diff, results, expected)
    curve_row = end + 3
    curve_spec = dataclasses.replace(C.BUDGET_CURVE_TABLE, anchor=f"A{curve_row + CHART_ROWS}")
    ws.cell(curve_row - 1, 1, f"Budget curve: {C.BUDGET_CURVE_TABLE.doc}").font = HEADING_FONT
    curve = None if view is None or view.curve is None else view.curve.table
    write_table(ws, curve_spec, curve if curve is not None and len(curve) else None, expected)
    draw_whatif_chart(ws)
    ws.freeze_panes = "B1"


def _scenarios(
    ws: Worksheet, kept: KeptTable | None, starter: pd.DataFrame | None, expected: Expected
) -> int:
    """Write the Scenarios table; the row of its last cell."""
    spec = C.WHATIF_SCENARIOS_TABLE
    header_row, first = anchor_of(spec)
    ws.cell(header_row - 1, first, f"{spec.name}: {spec.doc}").font = HEADING_FONT
    if kept is None:
        write_table(ws, spec, starter, expected, autofilter=False)
        n = 1 if starter is None else max(len(starter), 1)
        return header_row + n
    # the table where the user left it (the safe write checks its input cells and place)
    min_col, min_row, _, max_row = range_boundaries(kept.ref)
    if (min_row, min_col) != (header_row, first) and min_row > 1:
        ws.cell(min_row - 1, min_col, f"{spec.name}: {spec.doc}").font = HEADING_FONT
    known = {c.header: c.width for c in spec.columns}
    for i, (values, formats) in enumerate(zip(kept.cells, kept.formats, strict=True)):
        for j, (value, fmt) in enumerate(zip(values, formats, strict=True)):
            cell = ws.cell(min_row + i, min_col + j, value)
            cell.number_format = fmt
            if i == 0:
                cell.font, cell.fill = HEADER_FONT, HEADER_FILL
                cell.alignment = WRAP_CENTRE
                widen(ws, get_column_letter(min_col + j), known.get(str(value), 16))
            else:
                cell.font, cell.fill = INPUT_FONT, INPUT_FILL
    table = Table(displayName=spec.name, ref=kept.ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    name_table_columns(ws, table)
    ws.add_table(table)
    return max(max_row, header_row + 1)


def _results_spec(results: list[ScenarioResult], anchor: str) -> C.TableSpec:
    base = C.WHATIF_RESULTS_TABLE
    extra = tuple(
        Column(f"s{k}", r.name, Kind.TEXT, Role.OUTPUT, width=SCENARIO_WIDTH)
        for k, r in enumerate(results[1:], start=1)
    )
    columns = (base.columns[0], dataclasses.replace(base.columns[1], width=SCENARIO_WIDTH))
    return dataclasses.replace(base, anchor=anchor, columns=columns + extra)


def _diff_spec(results: list[ScenarioResult], anchor: str) -> C.TableSpec:
    base = C.WHATIF_DIFFERENCES_TABLE
    extra = tuple(
        Column(f"s{k}", f"{r.name} − As set", Kind.NUMBER, Role.OUTPUT, width=SCENARIO_WIDTH)
        for k, r in enumerate(results, start=1)
    )
    return dataclasses.replace(base, anchor=anchor, columns=base.columns + extra)


def _value(result: ScenarioResult, key: str) -> Any:
    if key == "status":
        return result.status
    if key == "verdict":
        return result.verdict or None
    if key == "binding":
        return binding_text(result.binding) or None
    value = getattr(result, key)
    return None if not np.isfinite(value) else float(value)


def binding_text(binding: Sequence[str]) -> str:
    """The binding rules in short, one a line: each sentence up to its figures.

    Examples
    --------
    >>> print(binding_text(["Sales capacity binds: 2,796 leads a month", "Tier 2 is at the "
    ...     "top of its 20 %–25 % band: $78,756 of $315,024"]))
    Sales capacity binds
    Tier 2 is at the top of its 20 %–25 % band
    """
    short = [b.split(":")[0].split(";")[0].strip() for b in binding]
    shown = short[:BINDING_SHOWN]
    if len(short) > BINDING_SHOWN:
        shown.append(f"… and {len(short) - BINDING_SHOWN} more")
    return "\n".join(shown)


def _sources(results: list[ScenarioResult]) -> list[str]:
    return [] if not results else list(results[0].per_source.index)


def _results(
    ws: Worksheet, spec: C.TableSpec, results: list[ScenarioResult], expected: Expected
) -> int:
    header_row, first = anchor_of(spec)
    ws.cell(header_row - 1, first, f"{spec.name}: {spec.doc}").font = HEADING_FONT
    if not results:
        write_table(ws, spec, None, expected)
        return header_row + 1
    sources = _sources(results)
    rows: dict[str, list[Any]] = {"measure": [label for _, label, _ in MEASURES]}
    rows["measure"] += [f"Spend: {s}" for s in sources]
    for col, result in zip(spec.columns[1:], results, strict=True):
        figures = [_value(result, key) for key, _, _ in MEASURES]
        spend = result.per_source.reindex(sources)
        figures += [None if not np.isfinite(v) else float(v) for v in spend]
        rows[col.key] = figures
    write_table(ws, spec, pd.DataFrame(rows), expected, validate=False, autofilter=False)
    formats = [fmt for _, _, fmt in MEASURES] + [MONEY_FORMAT] * len(sources)
    lines = max((len(str(_value(r, "binding") or "").splitlines()) for r in results), default=1)
    for i, fmt in enumerate(formats):
        ws.cell(header_row + 1 + i, first).alignment = TOP
        for j in range(1, len(spec.columns)):
            cell = ws.cell(header_row + 1 + i, first + j)
            cell.number_format = fmt
            cell.alignment = WRAP_TOP
    binding_row = header_row + 1 + [k for k, _, _ in MEASURES].index("binding")
    ws.row_dimensions[binding_row].height = 26 * max(lines, 1)  # a rule wraps to two lines
    verdict_row = header_row + 1 + [k for k, _, _ in MEASURES].index("verdict")
    if any(r.verdict for r in results):
        ws.row_dimensions[verdict_row].height = 15 * 6
    return header_row + len(formats)


def _differences(
    ws: Worksheet, spec: C.TableSpec, results: list[ScenarioResult], expected: Expected
) -> int:
    header_row, first = anchor_of(spec)
    ws.cell(header_row - 1, first, f"{spec.name}: {spec.doc}").font = HEADING_FONT
    if len(results) < 2:
        write_table(ws, spec, None, expected)
        return header_row + 1
    base, others = results[0], results[1:]
    sources = _sources(results)
    keys = [(k, label, fmt) for k, label, fmt in MEASURES if k in NUMERIC]
    rows: dict[str, list[Any]] = {"measure": [label for _, label, _ in keys]}
    rows["measure"] += [f"Spend: {s}" for s in sources]
    for col, result in zip(spec.columns[1:], others, strict=True):
        figures = [_minus(_value(result, k), _value(base, k)) for k, _, _ in keys]
        spend = result.per_source.reindex(sources) - base.per_source.reindex(sources)
        figures += [None if not np.isfinite(v) else float(v) for v in spend]
        rows[col.key] = figures
    write_table(ws, spec, pd.DataFrame(rows), expected, validate=False, autofilter=False)
    formats = [fmt for _, _, fmt in keys] + [MONEY_FORMAT] * len(sources)
    for i, fmt in enumerate(formats):
        for j in range(1, len(spec.columns)):
            ws.cell(header_row + 1 + i, first + j).number_format = (
                fmt.replace('"$"#,##0', '+"$"#,##0;-"$"#,##0;"$"0')
                if fmt == MONEY_FORMAT
                else "+#,##0.0;-#,##0.0;0.0"
            )
    return header_row + len(formats)


def _minus(a: Any, b: Any) -> float | None:
    if a is None or b is None:
        return None
    return float(a) - float(b)


def draw_whatif_chart(ws: Worksheet) -> None:
    """The budget curve's chart: expected customers (left axis), blended and marginal CPA
    (right axis) against the budget."""
    spec = C.BUDGET_CURVE_TABLE
    if spec.name not in ws.tables:
        return
    min_col, min_row, _, max_row = range_boundaries(ws.tables[spec.name].ref)
    if max_row <= min_row or ws.cell(min_row + 1, min_col).value is None:
        return
    col = {c.key: min_col + j for j, c in enumerate(spec.columns)}
    customers = LineChart()
    customers.title = "Budget curve: customers and CPA by budget"
    customers.y_axis.title = "Expected customers a month"
    customers.x_axis.number_format = '"$"#,##0,"k"'
    customers.height, customers.width = 9.5, 22
    customers.add_data(
        Reference(ws, min_col=col["customers"], min_row=min_row, max_row=max_row),
        titles_from_data=True,
    )
    cpa = LineChart()
    cpa.y_axis.axId = 200
    cpa.y_axis.title = "CPA ($)"
    cpa.y_axis.crosses = "max"
    for key in ("blended_cpa", "marginal_cpa"):
        cpa.add_data(
            Reference(ws, min_col=col[key], min_row=min_row, max_row=max_row),
            titles_from_data=True,
        )
    for s in cpa.series:
        s.graphicalProperties.line.dashStyle = "dash"
    categories = Reference(ws, min_col=col["budget"], min_row=min_row + 1, max_row=max_row)
    customers.set_categories(categories)
    cpa.set_categories(categories)
    customers += cpa
    ws.add_chart(customers, f"A{min_row - CHART_ROWS}")


CHART_BUILDERS[C.WHATIF.name] = draw_whatif_chart
