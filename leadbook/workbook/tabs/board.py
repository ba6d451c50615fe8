"""The Board tab (KPIs, pitfalls, Board history) and the Maturity tab (checklist, roadmap).

Both tabs keep what must survive a re-render: the Board history rows and the user's Maturity answers
are read from the tab being replaced (:func:`~leadbook.workbook.sheets.previous_sheet`) and written
back. Targets, status and change on Board, and the stage scores on Maturity, are live formulas over
the Settings names, each with leadbook's own value for the LibreOffice oracle.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import pandas as pd
from openpyxl.chart import LineChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils.cell import column_index_from_string
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import contract as C
from leadbook.board import maturity as M
from leadbook.board.kpis import Kpi
from leadbook.board.pitfalls import PITFALLS, Pitfall
from leadbook.board.quarters import Quarter
from leadbook.board.specs import KPI_SPECS, Direction, KpiSpec, Unit
from leadbook.contract import file_formula
from leadbook.settings import spec_for
from leadbook.workbook.layout import (
    HEADER_FILL,
    HEADER_FONT,
    TOP,
    WRAP_TOP,
    Expected,
    anchor_of,
    freeze,
    highlight_text,
    note,
    set_cell,
    table_column_range,
    title,
    write_named_cells,
    write_table,
)
from leadbook.workbook.sheets import CHART_BUILDERS

UNIT_FORMATS = {
    Unit.PERCENT: "0.0%",
    Unit.DOLLARS: '"$"#,##0.00',
    Unit.SCORE: "0.00",
    Unit.COUNT: "0",
}
GOOD_FILL = PatternFill("solid", fgColor="C6EFCE")
GOOD_FONT = Font(color="006100")
_SLACK = "0.000000001"


@dataclass(frozen=True)
class BoardView:
    """What the Board tab shows: the quarter, its KPIs and pitfalls, and Board history."""

    quarter: Quarter | None
    period: str
    kpis: tuple[Kpi, ...] = ()
    pitfalls: tuple[Pitfall, ...] = ()
    saved: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_HISTORY_KEYS))


_HISTORY_KEYS = C.BOARD_HISTORY_TABLE.keys


def render_board_tab(ws: Worksheet, view: BoardView, expected: Expected) -> None:
    """Write a :class:`BoardView`: the KPI table, the pitfalls, Board history and the chart."""
    when = view.quarter.long if view.quarter else "no quarter yet"
    title(ws, C.BOARD, f"Board KPIs for {when}, against the targets on Settings.")
    note(
        ws,
        "A3",
        f"{view.period}. Target, status and change are live formulas: a KPI that misses "
        "its target by at most WatchMargin of it is 'watch'. Export board pack saves the "
        "quarter to Board history.",
    )
    _kpi_table(ws, list(view.kpis), expected)
    _pitfall_block(ws, view.pitfalls)
    note(
        ws,
        _above(C.BOARD_HISTORY_TABLE),
        "Board history: each exported quarter's KPIs (kept across runs; trends read it)",
    )
    saved = view.saved
    write_table(
        ws,
        C.BOARD_HISTORY_TABLE,
        saved if len(saved) else None,
        expected,
        style="TableStyleLight9",
    )
    _wrap_rows(ws, C.BOARD_KPIS_TABLE, len(view.kpis), ("basis",))
    header_row, _ = anchor_of(C.BOARD_KPIS_TABLE)
    freeze(ws, header_row + 1, 2)
    draw_board_charts(ws)


PITFALL_ROW = 24
"""The Board tab's pitfalls block (a plain range below the KPI table, on its columns)."""
PITFALL_COLUMNS = (("Warning sign", "A", "A"), ("Shows", "B", "B"), ("Evidence", "C", "I"))
PITFALL_COLUMNS += (("Advised response", "J", "L"),)


def _pitfall_block(ws: Worksheet, found: tuple[Pitfall, ...]) -> None:
    """The pitfalls under the KPI table, text merged across its columns so nothing is cut."""
    header_row, _ = anchor_of(C.BOARD_KPIS_TABLE)
    if header_row + len(KPI_SPECS) >= PITFALL_ROW - 1:
        raise AssertionError("the KPI table runs into the pitfalls; move PITFALL_ROW down")
    note(ws, f"A{PITFALL_ROW - 1}", "Warning signs of the common pitfalls, as the data shows")
    for header, first, last in PITFALL_COLUMNS:
        cell = ws[f"{first}{PITFALL_ROW}"]
        cell.value, cell.font, cell.fill = header, HEADER_FONT, HEADER_FILL
        if first != last:
            ws.merge_cells(f"{first}{PITFALL_ROW}:{last}{PITFALL_ROW}")
    widths = {
        first: sum(
            ws.column_dimensions[_letter(c)].width or 10
            for c in range(column_index_from_string(first), column_index_from_string(last) + 1)
        )
        for _, first, last in PITFALL_COLUMNS
    }
    for i, p in enumerate(found):
        r = PITFALL_ROW + 1 + i
        lines = 1
        for (_, first, last), value in zip(
            PITFALL_COLUMNS, (p.label, p.shows.value, p.evidence, p.advice), strict=True
        ):
            cell = ws[f"{first}{r}"]
            set_cell(cell, value)
            cell.alignment = WRAP_TOP
            if first != last:
                ws.merge_cells(f"{first}{r}:{last}{r}")
            lines = max(lines, len(textwrap.wrap(value, int(widths[first] * 1.1)) or [""]))
        ws.row_dimensions[r].height = 15.0 * lines
    if found:
        area = f"B{PITFALL_ROW + 1}:B{PITFALL_ROW + len(found)}"
        highlight_text(ws, area, ["warning"])


def _above(spec: C.TableSpec) -> str:
    row, col = anchor_of(spec)
    return f"{_letter(col)}{row - 1}"


def _wrap_rows(ws: Worksheet, spec: C.TableSpec, n: int, keys: tuple[str, ...]) -> None:
    """Wrap the text of columns ``keys`` and make each row tall enough for it."""
    header_row, first = anchor_of(spec)
    for i in range(n):
        r = header_row + 1 + i
        lines = 1
        for j, key in enumerate(spec.keys):
            if key not in keys:
                ws.cell(r, first + j).alignment = TOP
        for key in keys:
            cell = ws.cell(r, first + spec.keys.index(key))
            cell.alignment = WRAP_TOP
            width = ws.column_dimensions[cell.column_letter].width or 10
            lines = max(lines, len(textwrap.wrap(str(cell.value or ""), int(width * 1.1)) or [""]))
        height = max(15.0 * lines, ws.row_dimensions[r].height or 0)
        ws.row_dimensions[r].height = height


def _kpi_table(ws: Worksheet, kpis: list[Kpi], expected: Expected) -> None:
    spec = C.BOARD_KPIS_TABLE
    rows = pd.DataFrame(
        [
            {
                "kpi": k.label,
                "value": k.value,
                "direction": reads(k),
                "previous": k.previous,
                "trend": k.trend_word,
                "planned": k.planned,
                "basis": k.basis,
                "source": k.source,
                "key": k.key,
            }
            for k in kpis
        ],
        columns=spec.keys,
    )
    values = {
        "target": [k.target for k in kpis],
        "status": [k.status.value for k in kpis],
        "change": [
            k.value - k.previous if k.value is not None and k.previous is not None else None
            for k in kpis
        ],
    }
    formulas = {
        "target": [target_formula(k.spec) for k in kpis],
        "status": [status_formula(k.spec) for k in kpis],
    }
    write_table(
        ws,
        spec,
        rows if kpis else None,
        expected,
        formula_values=values,
        row_formulas=formulas,
    )
    header_row, first = anchor_of(spec)
    for i, k in enumerate(kpis):
        for key in ("value", "target", "previous", "change", "planned"):
            cell = ws.cell(header_row + 1 + i, first + spec.keys.index(key))
            cell.number_format = UNIT_FORMATS[k.spec.unit]
    _status_colours(ws, table_column_range(ws, spec, "status", len(kpis)))


def reads(k: Kpi) -> str:
    """How a KPI reads against its target: its direction, or a band with both its ends.

    Examples
    --------
    >>> from leadbook.board.kpis import KpiStatus, kpi_spec
    >>> band = Kpi(kpi_spec("high_risk_share"), Quarter(2026, 4), 0.0, 0.15, 0.0,
    ...            KpiStatus.OFF, "", "", floor=0.10)
    >>> reads(band)
    '10.0% – 15.0%'
    >>> reads(Kpi(kpi_spec("roi"), Quarter(2026, 4), 3.2, 3.0, 0.0, KpiStatus.ON, "", ""))
    'at least'
    """
    if k.spec.direction is Direction.WITHIN and k.floor is not None and k.target is not None:
        return f"{k.floor:.1%} – {k.target:.1%}"
    return k.spec.direction.value


def _status_colours(ws: Worksheet, area: str) -> None:
    highlight_text(ws, area, ["off target"])
    highlight_text(ws, area, ["watch"], bad=False)
    top_left = area.split(":")[0]
    ws.conditional_formatting.add(
        area, FormulaRule(formula=[f'{top_left}="on target"'], fill=GOOD_FILL, font=GOOD_FONT)
    )


def target_formula(spec: KpiSpec) -> str:
    """The Target cell: the Settings value by its defined name (blank without a target)."""
    return '""' if spec.target_key is None else spec_for(spec.target_key).name


def status_formula(spec: KpiSpec) -> str:
    """The Status cell, in the file form, reading Value and Target of its own row.

    Examples
    --------
    >>> from leadbook.board.kpis import kpi_spec
    >>> status_formula(kpi_spec("first_party_share"))
    'IF(NOT(ISNUMBER(BoardKPIs[[#This Row],[Value]])),"not available","for information")'
    """
    unknown = 'IF(NOT(ISNUMBER([@Value])),"not available",'
    if spec.direction is Direction.INFO or spec.target_key is None:
        readable = unknown + '"for information")'
    else:
        watch = "WatchMargin*ABS([@Target])"
        if spec.direction is Direction.AT_LEAST:
            on = f"[@Value]>=[@Target]-{_SLACK}"
            near = f"[@Value]>=[@Target]-{watch}-{_SLACK}"
        elif spec.direction is Direction.AT_MOST:
            on = f"[@Value]<=[@Target]+{_SLACK}"
            near = f"[@Value]<=[@Target]+{watch}+{_SLACK}"
        elif spec.direction is Direction.WITHIN:  # a band: its floor too
            assert spec.floor_key is not None
            floor = spec_for(spec.floor_key).name
            on = f"AND([@Value]>={floor}-{_SLACK},[@Value]<=[@Target]+{_SLACK})"
            near = f"AND([@Value]>={floor}-{watch}-{_SLACK},[@Value]<=[@Target]+{watch}+{_SLACK})"
        else:
            assert spec.tolerance_key is not None
            tol = spec_for(spec.tolerance_key).name
            on = f"ABS([@Value]-[@Target])<={tol}+{_SLACK}"
            near = f"ABS([@Value]-[@Target])<={tol}+{watch}+{_SLACK}"
        readable = f'{unknown}IF({on},"on target",IF({near},"watch","off target")))'
    return file_formula(C.BOARD_KPIS_TABLE, readable)[1:]


def draw_board_charts(ws: Worksheet) -> None:
    """A line chart of ROI and the KPI shares by quarter, from Board history (if any row)."""
    spec = C.BOARD_HISTORY_TABLE
    if spec.name not in ws.tables:
        return
    table = ws.tables[spec.name]
    header_row, first = anchor_of(spec)
    last = int(table.ref.split(":")[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    if last <= header_row or ws.cell(header_row + 1, first).value is None:
        return
    chart = LineChart()
    chart.title = "ROI and shares of spend by exported quarter"
    chart.y_axis.title = "share"
    chart.y_axis.number_format = "0%"
    chart.height, chart.width = 8, 16
    for key in ("roi", "largest_share", "high_risk_share", "experimental_share"):
        col = first + spec.keys.index(key)
        data = Reference(ws, min_col=col, min_row=header_row, max_row=last)
        chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=first, min_row=header_row + 1, max_row=last))
    for series in chart.series:
        series.marker.symbol, series.smooth = "circle", False
    ws.add_chart(chart, f"A{PITFALL_ROW + len(PITFALLS) + 3}")


def _letter(col: int) -> str:
    from openpyxl.utils.cell import get_column_letter

    return get_column_letter(col)


CHART_BUILDERS[C.BOARD.name] = draw_board_charts


# --- Maturity ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaturityView:
    """What the Maturity tab shows: the assessment, the workbook's evidence, raw answers."""

    assessment: M.Assessment
    evidence: dict[str, M.Evidence]
    raw: dict[str, object]


def render_maturity_tab(ws: Worksheet, view: MaturityView, expected: Expected) -> None:
    """Write the stage summary, the checklist with its answers, and the roadmap."""
    a = view.assessment
    title(
        ws,
        C.MATURITY,
        "Answer each item yes, partly or no (blue on yellow); blank lets what the workbook "
        "shows count. Scores and the stage reached are live.",
    )
    write_named_cells(ws, C.MATURITY_SUMMARY, {"MaturityStage": a.reached.name}, expected)
    note(
        ws,
        "G3",
        f"A stage is reached at {a.threshold:.0%} of its checklist (MaturityThreshold) with "
        "every earlier stage reached; yes counts 1, partly ½.",
    )
    _stages(ws, a, expected)
    _answers(ws, view, expected)
    nxt = a.next_stage
    note(
        ws,
        _above(C.MATURITY_ROADMAP_TABLE),
        f"Roadmap to Stage {nxt.number}, {nxt.name}: the gaps in the chapter's phases "
        "(recomputed by Export board pack)"
        if nxt
        else "Every stage is reached: Phase 4, Continuous Evolution, keeps it so.",
    )
    steps = pd.DataFrame(
        [
            {
                "key": s.item.key,
                "stage": s.item.stage,
                "kind": s.item.kind,
                "text": s.item.text,
                "counted": s.counted.answer.value if s.counted.answer else "unanswered",
                "months": s.phase.months,
                "phase": f"Phase {s.phase.number}, {s.phase.name}: {s.item.builds}",
            }
            for s in a.roadmap
        ],
        columns=C.MATURITY_ROADMAP_TABLE.keys,
    )
    write_table(
        ws,
        C.MATURITY_ROADMAP_TABLE,
        steps if len(steps) else None,
        expected,
        style="TableStyleLight9",
    )
    _wrap_rows(ws, C.MATURITY_STAGES_TABLE, len(a.stages), ("summary",))
    _wrap_rows(ws, C.MATURITY_ANSWERS_TABLE, len(M.CHECKLIST), ("evidence",))
    header_row, _ = anchor_of(C.MATURITY_ANSWERS_TABLE)
    freeze(ws, header_row + 1, 1)


def _stages(ws: Worksheet, a: M.Assessment, expected: Expected) -> None:
    spec = C.MATURITY_STAGES_TABLE
    header_row, first = anchor_of(spec)
    reached_col = _letter(first + spec.keys.index("reached"))
    rows, reached_formulas = [], []
    for i, score in enumerate(a.stages):
        stage = score.stage
        rows.append(
            {
                "stage": stage.number,
                "name": stage.name,
                "summary": stage.summary,
            }
        )
        if stage.number == 1:
            reached_formulas.append('"yes"')
        else:
            previous = f"{reached_col}{header_row + i}"
            reached_formulas.append(
                f'IF(AND({previous}="yes",N({spec.name}[[#This Row],[Share]])'
                f'>=MaturityThreshold-{_SLACK}),"yes","no")'
            )
    frame = pd.DataFrame(rows, columns=spec.keys)
    write_table(
        ws,
        spec,
        frame,
        expected,
        formula_values={
            "points": [s.points for s in a.stages],
            "out_of": [s.out_of for s in a.stages],
            "share": [s.share for s in a.stages],
            "reached": ["yes" if s.reached else "no" for s in a.stages],
        },
        row_formulas={"reached": reached_formulas},
        style="TableStyleLight9",
    )
    highlight_text(ws, table_column_range(ws, spec, "reached", len(rows)), ["no"], bad=False)


def _answers(ws: Worksheet, view: MaturityView, expected: Expected) -> None:
    spec = C.MATURITY_ANSWERS_TABLE
    a = view.assessment
    rows = []
    for item in M.CHECKLIST:
        found = view.evidence.get(item.key)
        phase = M.PHASES[item.phase - 1]
        rows.append(
            {
                "key": item.key,
                "stage": item.stage,
                "kind": item.kind,
                "text": item.text,
                "answer": view.raw.get(item.key),
                "workbook": found.answer.value if found else None,
                "evidence": found.text if found else None,
                "phase": f"Phase {phase.number}: {phase.name} ({phase.months})",
            }
        )
    counted = [a.counted[i.key] for i in M.CHECKLIST]
    write_table(
        ws,
        spec,
        pd.DataFrame(rows, columns=spec.keys),
        expected,
        formula_values={
            "counted": [c.answer.value if c.answer else None for c in counted],
            "points": [c.points for c in counted],
        },
    )
