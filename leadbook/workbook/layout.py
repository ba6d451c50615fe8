"""Writing contract tables and named cells into openpyxl sheets, in one consistent style.

Every table leadbook writes goes through :func:`write_table`, which sets values, formulas,
number formats, input styling, drop-downs and bounds checks, and the Excel Table object.
Each formula written is recorded in an :class:`Expected` map with the value leadbook's core
computes for it, so the LibreOffice oracle can check every formula cell against the core;
the workbook's own map (:func:`formula_values`) is saved as the cells' cached values.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.formatting.rule import CellIsRule, ColorScaleRule, FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils.cell import (
    column_index_from_string,
    coordinate_from_string,
    get_column_letter,
    range_boundaries,
)
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableFormula, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from leadbook.contract import (
    Column,
    Kind,
    NamedCell,
    Role,
    SheetSpec,
    TableSpec,
    file_formula,
)

INPUT_FONT = Font(color="0000CC")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
TITLE_FONT = Font(size=16, bold=True, color="1F4E78")
SUBTITLE_FONT = Font(size=10, italic=True, color="595959")
LABEL_FONT = Font(bold=True)
NOTE_FONT = Font(italic=True, color="7F7F7F")
BAD_FILL = PatternFill("solid", fgColor="FFC7CE")
BAD_FONT = Font(color="9C0006")
WARN_FILL = PatternFill("solid", fgColor="F8CBAD")
WARN_FONT = Font(bold=True, color="843C0C")
"""Warnings: bold brown on orange, which no one takes for an input (blue on pale yellow)."""
SECTION_FONT = Font(bold=True, color="1F4E78")
SECTION_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TOP = Alignment(vertical="top")
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
WRAP_CENTRE = Alignment(wrap_text=True, vertical="center")
"""The alignments the tabs use, made once (styles are compared by value: one object each
saves making a new one a cell)."""
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(top=THIN, bottom=THIN, left=THIN, right=THIN)
GROWTH_ROWS = 500
"""Drop-downs and bounds checks reach this many rows past a table, for rows users add."""
ROW_PT = 15.0
"""Excel's default row height (points)."""
TITLE_ROW_PT = 21.0
"""Height of row 1, which holds the tab's title in 16 pt."""
SCREEN_GRID_PT = 362.0
"""The height of Excel's grid on a 1366×768 screen with the ribbon open (483 px)."""
VISIBLE_ROWS = 20
"""Data rows that must stay visible below frozen panes on such a screen."""


class Formula(str):
    """A cell formula (``"=SUM(...)"``), kept apart from text that merely starts with '='."""

    __slots__ = ()


Expected = dict[str, Any]
"""Cell address (``Sheet!A1``) → the value leadbook computes for the formula there."""

_FORMULA_VALUES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def formula_values(wb: Workbook) -> Expected:
    """The :class:`Expected` map of ``wb``: the value of each formula leadbook writes into
    it, which the renderers fill and the save writes as the cells' cached values, so that
    a reader that does not calculate (the board pack, a viewer) sees leadbook's numbers.

    >>> wb = Workbook()
    >>> formula_values(wb)["Sheet!A1"] = 3.0
    >>> formula_values(wb)
    {'Sheet!A1': 3.0}
    """
    return _FORMULA_VALUES.setdefault(wb, {})


def anchor_of(spec: TableSpec) -> tuple[int, int]:
    """``(header row, first column index)`` of a table from its contract anchor."""
    letter, row = coordinate_from_string(spec.anchor)
    return row, column_index_from_string(letter)


def excel_value(value: Any) -> Any:
    """A Python/pandas value as openpyxl should store it (enums as text, NaN as blank)."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_ | bool):
        return "yes" if value else None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if value is pd.NaT:
        return None
    return value


def title(ws: Worksheet, spec: SheetSpec, subtitle: str | None = None) -> None:
    """The tab's title in A1 and what it is for in A2."""
    ws["A1"] = spec.name if spec.name != "Start" else "leadbook"
    ws["A1"].font = TITLE_FONT
    ws.row_dimensions[1].height = TITLE_ROW_PT
    ws["A2"] = subtitle or spec.purpose
    ws["A2"].font = SUBTITLE_FONT
    ws.sheet_properties.tabColor = spec.tab_color
    landscape(ws)


def landscape(ws: Worksheet) -> None:
    """Print the tab landscape, one page wide, so no column is cut (A4 or Letter)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = False


def table_cells(
    spec: TableSpec,
    rows: pd.DataFrame | None,
    *,
    row_formulas: Mapping[str, Sequence[str]] | None = None,
) -> list[list[Any]]:
    """The data cells of a table, row by row: values as Excel stores them, formulas as text.

    Both the openpyxl writer and the Excel (xlwings) writer put exactly these cells in place.
    """
    row_formulas = row_formulas or {}
    n = 0 if rows is None else len(rows)
    columns: list[list[Any]] = []
    for col in spec.columns:  # column by column: a pandas lookup per cell took minutes
        if col.key in row_formulas:
            columns.append([Formula("=" + row_formulas[col.key][i]) for i in range(n)])
        elif col.role is Role.FORMULA and col.formula:
            columns.append([Formula(file_formula(spec, col.formula))] * n)
        elif rows is not None and col.key in rows:
            columns.append([excel_value(v) for v in rows[col.key]])
        else:
            columns.append([None] * n)
    if not columns:
        return [[] for _ in range(n)]
    return [list(line) for line in zip(*columns, strict=True)]


def write_table(
    ws: Worksheet,
    spec: TableSpec,
    rows: pd.DataFrame | None,
    expected: Expected,
    *,
    formula_values: Mapping[str, Sequence[Any]] | None = None,
    row_formulas: Mapping[str, Sequence[str]] | None = None,
    style: str = "TableStyleMedium2",
    validate: bool = True,
    autofilter: bool = True,
) -> Table:
    """Write ``rows`` (columns keyed as in ``spec``) as the Excel Table ``spec.name``.

    Calculated columns get the contract formula in every row; ``formula_values`` gives
    leadbook's value for each, recorded in ``expected``. ``row_formulas`` gives per-row
    formulas for columns whose formula differs by row. An empty table keeps one blank row.
    ``validate=False`` leaves the input columns' data validation to the caller;
    ``autofilter=False`` shows no filter buttons (a table that must not be sorted).
    """
    header_row, first = anchor_of(spec)
    cells = table_cells(spec, rows, row_formulas=row_formulas)
    formula_values = formula_values or {}
    for j, col in enumerate(spec.columns):
        cell = ws.cell(header_row, first + j, col.header)
        cell.alignment = WRAP_CENTRE
        # Explicit, so LibreOffice (which ignores table styles) shows the same header.
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        widen(ws, get_column_letter(first + j), col.width)
    for i in range(max(len(cells), 1)):
        for j, col in enumerate(spec.columns):
            cell = ws.cell(header_row + 1 + i, first + j)
            cell.number_format = col.format
            if col.role is Role.INPUT:
                cell.font, cell.fill = INPUT_FONT, INPUT_FILL
            if i >= len(cells):
                continue
            set_cell(cell, cells[i][j])
            if isinstance(cells[i][j], Formula):
                expected[f"{ws.title}!{cell.coordinate}"] = _expected(formula_values, col, i)
    ws.row_dimensions[header_row].height = max(
        ws.row_dimensions[header_row].height or 0, header_height(spec)
    )
    last = get_column_letter(first + len(spec.columns) - 1)
    ref = f"{get_column_letter(first)}{header_row}:{last}{header_row + max(len(cells), 1)}"
    table = Table(displayName=spec.name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name=style, showRowStripes=True)
    if autofilter:
        table.autoFilter = AutoFilter(ref=ref)
    name_table_columns(ws, table)
    for tc, col in zip(table.tableColumns, spec.columns, strict=True):
        if col.role is Role.FORMULA and col.formula and col.key not in (row_formulas or {}):
            tc.calculatedColumnFormula = TableFormula(attr_text=file_formula(spec, col.formula)[1:])
    ws.add_table(table)
    if validate:
        _validations(ws, spec, header_row, first, max(len(cells), 1))
    return table


def name_table_columns(ws: Worksheet, table: Table) -> None:
    """Name an Excel Table's columns after its header cells and fit its filter to its range.

    Excel resolves structured references (``Sources[CPL]``) by the table part's column
    names and repairs a file whose names differ from the header cells, dropping the table;
    openpyxl leaves the names as they were loaded (or ``Column1…``) when a job rewrites a
    header or resizes a table. A column keeps its id and calculated formula when its name,
    or else its position, matches one it had.
    """
    min_col, min_row, max_col, _ = range_boundaries(table.ref)
    old = list(table.tableColumns)
    by_name = {tc.name: tc for tc in old}
    headers = [_header_text(ws.cell(min_row, c).value) for c in range(min_col, max_col + 1)]
    next_id = max((tc.id for tc in old), default=0) + 1
    columns = []
    for j, header in enumerate(headers):
        tc = by_name.get(header)
        if tc is None and j < len(old) and old[j].name not in headers:
            tc = old[j]
        if tc is None or any(tc is taken for taken in columns):
            tc, next_id = TableColumn(id=next_id, name=header), next_id + 1
        tc.name = header or tc.name or f"Column{j + 1}"
        columns.append(tc)
    table.tableColumns = columns
    if table.headerRowCount != 0 and table.autoFilter is not None:
        table.autoFilter.ref = table.ref


def name_all_table_columns(wb: Workbook) -> None:
    """:func:`name_table_columns` for every Excel Table of ``wb`` (just before a save)."""
    for ws in wb.worksheets:
        for table in ws.tables.values():
            name_table_columns(ws, table)


def _header_text(value: Any) -> str:
    """A header cell's text as Excel names the column (None for an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


MAX_FIT_WIDTH = 60.0
"""Widest a column grows to fit its text; longer text wraps instead."""
FIT_ROWS = 1_000
"""Rows of a tab :func:`fit_text` looks at (long tables repeat what their first rows hold)."""


def text_width(text: str, bold: bool = False) -> float:
    """The column width (in Excel's units, the width of a '0') ``text`` takes on one line in
    Calibri 11, with a margin: proportional letters average about 0.9 of a digit."""
    return len(text) * (1.0 if bold else 0.9) + 1


def fit_text(ws: Worksheet) -> None:
    """Make every text that a filled cell to its right would cut off fit: widen its column
    (up to :data:`MAX_FIT_WIDTH`), else wrap it and make its row tall enough. Rows frozen at
    the top are never made taller (the panes must leave room on a small screen); row 1
    holds the title and the stamp, which run into empty cells."""
    frozen = ws[ws.freeze_panes].row if ws.freeze_panes else 1
    merged = {c for rng in ws.merged_cells.ranges for c in rng.cells}
    for row in ws.iter_rows(min_row=2, max_row=min(ws.max_row, FIT_ROWS)):
        for cell in row:
            text = cell.value
            if not isinstance(text, str) or isinstance(text, Formula) or cell.data_type == "f":
                continue
            if (cell.row, cell.column) in merged or not text.strip():
                continue
            wraps = bool(cell.alignment.wrap_text)
            room = 0.0 if wraps else _room_right(ws, cell, text_width(text, bool(cell.font.b)))
            if room is not None:
                _fit_cell(ws, cell, text, wraps, frozen, room)


def _room_right(ws: Worksheet, cell: Any, need: float) -> float | None:
    """The width of the empty cells a text runs into on the right before a filled one; None
    when it never reaches a filled one (the text shows whole)."""
    room, col = 0.0, cell.column + 1
    own = width_of(ws, get_column_letter(cell.column))
    while own + room < need:
        if ws.cell(cell.row, col).value not in (None, ""):
            return room
        room += width_of(ws, get_column_letter(col))
        col += 1
    return None


DEFAULT_WIDTH = 8.43
"""Excel's width of a column nobody sized."""


def width_of(ws: Worksheet, letter: str) -> float:
    """The width of column ``letter`` (Excel's default when unset); never creates one."""
    dim = ws.column_dimensions.get(letter)
    return (dim.width or DEFAULT_WIDTH) if dim is not None else DEFAULT_WIDTH


def widen(ws: Worksheet, letter: str, width: float) -> None:
    """Make column ``letter`` at least ``width`` wide (tables that share a column keep the
    widest's width)."""
    dim = ws.column_dimensions.get(letter)
    current = dim.width if dim is not None and dim.width else 0.0
    ws.column_dimensions[letter].width = max(current, width)


def _fit_cell(ws: Worksheet, cell: Any, text: str, wraps: bool, frozen: int, room: float) -> None:
    letter = get_column_letter(cell.column)
    width = width_of(ws, letter)
    bold = bool(cell.font.b)
    need = text_width(text, bold) - room
    longest = text_width(max(text.split(), key=len), bold)
    height = row_height(ws, cell.row)
    lines = max(1, math.floor(height / ROW_PT)) if wraps else 1
    if need <= width * lines and longest <= width:
        return
    if need <= MAX_FIT_WIDTH or cell.row < frozen:
        ws.column_dimensions[letter].width = max(
            width, min(math.ceil(max(need / lines, longest)), 100)
        )
        return
    width = max(width, longest)
    ws.column_dimensions[letter].width = width
    if not wraps:
        cell.alignment = WRAP_TOP
    # wrapped, the text no longer runs on into the empty cells on its right: all of it wraps
    lines = math.ceil(text_width(text, bold) / width)
    ws.row_dimensions[cell.row].height = max(height, lines * ROW_PT)


def header_height(spec: TableSpec) -> float:
    """The header row's height: two lines when a header is wider than its column."""
    wraps = any(len(col.header) > col.width - 1 for col in spec.columns)
    return 2 * ROW_PT if wraps else ROW_PT + 5


def row_height(ws: Worksheet, row: int) -> float:
    """The height of ``row`` in points (Excel's default when not set)."""
    return ws.row_dimensions[row].height or ROW_PT


def freeze(ws: Worksheet, row: int, col: int) -> None:
    """Freeze the rows above ``row`` and the columns left of ``col`` — the rows only if the
    frozen area still leaves :data:`VISIBLE_ROWS` rows on a 1366×768 screen (Excel shows a
    table's headers in place of the column letters once it scrolls, so nothing is lost)."""
    frozen = sum(row_height(ws, r) for r in range(1, row))
    if frozen + VISIBLE_ROWS * ROW_PT > SCREEN_GRID_PT:
        row = 1
    ws.freeze_panes = ws.cell(row, col) if (row, col) != (1, 1) else None


def excel_title(text: str) -> str:
    """``text`` cut to the 32 characters Excel allows a data-validation title."""
    return text if len(text) <= 32 else text[:31] + "…"


def excel_text(text: str) -> str:
    """``text`` cut to the 255 characters Excel allows a data-validation message."""
    return text if len(text) <= 255 else text[:254] + "…"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""How a text that a spreadsheet would run as a formula starts (CSV injection's triggers)."""


def is_formula_like(value: object) -> bool:
    """Whether ``value`` is text that Excel would read as a formula if written raw.

    Examples
    --------
    >>> is_formula_like("=HYPERLINK(A1)"), is_formula_like("-5"), is_formula_like("L1")
    (True, True, False)
    """
    return (
        isinstance(value, str)
        and not isinstance(value, Formula)
        and value.startswith(FORMULA_STARTS)
    )


def inert_text(value: Any) -> Any:
    """``value`` as a text file (CSV) must carry it so that Excel shows it as text: a leading
    apostrophe before a formula-like text (Excel's own mark for "this is text").

    Examples
    --------
    >>> inert_text("=1+1"), inert_text("@SUM(A1)"), inert_text("L0001"), inert_text(3.5)
    ("'=1+1", "'@SUM(A1)", 'L0001', 3.5)
    """
    return f"'{value}" if is_formula_like(value) else value


def set_cell(cell: Any, value: Any) -> None:
    """Set a cell: a :class:`Formula` as a formula, any other text always as text (a user's
    '=cmd|...' never becomes a live formula)."""
    cell.value = value
    if is_formula_like(value):
        cell.data_type = "s"


def _expected(values: Mapping[str, Sequence[Any]], col: Column, i: int) -> Any:
    if col.key not in values:
        raise KeyError(f"no value given for formula column {col.header!r}: the oracle needs one")
    return excel_value(values[col.key][i])


def _validations(ws: Worksheet, spec: TableSpec, header_row: int, first: int, n: int) -> None:
    """Each input column's data validation: its checks, and the input message Excel shows
    when a cell of it is selected (what it means, its unit)."""
    for j, col in enumerate(spec.columns):
        if col.role is not Role.INPUT:
            continue
        letter = get_column_letter(first + j)
        area = f"{letter}{header_row + 1}:{letter}{header_row + n + GROWTH_ROWS}"
        dv = _validation_for(col) or DataValidation(allow_blank=True)
        dv.showInputMessage = True
        dv.promptTitle = excel_title(col.header)
        dv.prompt = excel_text(input_message(col))
        ws.add_data_validation(dv)
        dv.add(area)


_KIND_HINTS = {
    Kind.CURRENCY: "In dollars.",
    Kind.PERCENT: "A percentage: type 16.8% (or 0.168).",
    Kind.INTEGER: "A whole number.",
    Kind.NUMBER: "A number.",
    Kind.MONTH: "A date; its month counts.",
    Kind.DATE: "A date.",
    Kind.FLAG: "yes or no.",
}


def input_message(col: Column) -> str:
    """What an input column means and its unit, as Excel shows it beside a selected cell.

    Examples
    --------
    >>> from leadbook.contract import SOURCES_TABLE
    >>> input_message(SOURCES_TABLE.column("cpl"))
    'Cost per lead today ($). In dollars. Required.'
    """
    parts = [col.doc] if col.doc else []
    if col.kind is Kind.CHOICE and col.choices is not None:
        parts.append(f"One of: {col.choices.choices()}.")
    elif col.kind in _KIND_HINTS:
        parts.append(_KIND_HINTS[col.kind])
    parts.append("Required." if col.required else "Optional.")
    return " ".join(parts)


def _validation_for(col: Column) -> DataValidation | None:
    if col.list_name:
        return DataValidation(
            type="list",
            formula1=col.list_name,
            allow_blank=not col.required,
            showErrorMessage=True,
            errorTitle=col.header,
            error=f"Choose a {col.header.lower()} listed on the Sources tab.",
        )
    if col.kind is Kind.CHOICE and col.choices is not None:
        return DataValidation(
            type="list",
            formula1=f'"{",".join(m.value for m in col.choices)}"',
            allow_blank=not col.required,
            showErrorMessage=True,
            errorTitle=col.header,
            error=f"Choose one of: {col.choices.choices()}",
        )
    if col.kind is Kind.FLAG:
        return DataValidation(type="list", formula1='"yes,no"', allow_blank=True)
    if col.kind in (Kind.INTEGER, Kind.NUMBER, Kind.CURRENCY, Kind.PERCENT) and (
        col.lo is not None or col.hi is not None
    ):
        kind = "whole" if col.kind is Kind.INTEGER else "decimal"
        lo = -1e12 if col.lo is None else col.lo
        hi = 1e12 if col.hi is None else col.hi
        rule = (
            (f"> {lo:g}" if col.lo_open else f"≥ {lo:g}")
            if col.hi is None
            else f"between {lo:g} and {hi:g}"
        )
        return DataValidation(
            type=kind,
            operator="between",
            formula1=str(lo),
            formula2=str(hi),
            allow_blank=not col.required,
            showErrorMessage=True,
            errorTitle=col.header,
            error=f"{col.header} must be {rule}.",
        )
    return None


def table_column_range(ws: Worksheet, spec: TableSpec, key: str, n: int) -> str:
    """The A1 range of column ``key``'s data cells, for conditional formats."""
    header_row, first = anchor_of(spec)
    letter = get_column_letter(first + spec.keys.index(key))
    return f"{letter}{header_row + 1}:{letter}{header_row + max(n, 1)}"


def highlight_above(ws: Worksheet, area: str, limit: str, bad: bool = True) -> None:
    """Colour cells of ``area`` whose value exceeds ``limit`` (a number or defined name)."""
    fill, font = (BAD_FILL, BAD_FONT) if bad else (WARN_FILL, WARN_FONT)
    ws.conditional_formatting.add(
        area, CellIsRule(operator="greaterThan", formula=[limit], fill=fill, font=font)
    )


def highlight_below(ws: Worksheet, area: str, limit: str, bad: bool = True) -> None:
    """Colour cells of ``area`` whose value is below ``limit``."""
    fill, font = (BAD_FILL, BAD_FONT) if bad else (WARN_FILL, WARN_FONT)
    ws.conditional_formatting.add(
        area, CellIsRule(operator="lessThan", formula=[limit], fill=fill, font=font)
    )


def highlight_text(ws: Worksheet, area: str, texts: Iterable[str], bad: bool = True) -> None:
    """Colour cells of ``area`` whose text is one of ``texts``."""
    fill, font = (BAD_FILL, BAD_FONT) if bad else (WARN_FILL, WARN_FONT)
    top_left = area.split(":")[0]
    test = ",".join(f'{top_left}="{t}"' for t in texts)
    ws.conditional_formatting.add(area, FormulaRule(formula=[f"OR({test})"], fill=fill, font=font))


def color_scale(ws: Worksheet, area: str) -> None:
    """A red–yellow–green scale over ``area`` (low is red)."""
    ws.conditional_formatting.add(
        area,
        ColorScaleRule(
            start_type="min",
            start_color="F8696B",
            mid_type="percentile",
            mid_value=50,
            mid_color="FFEB84",
            end_type="max",
            end_color="63BE7B",
        ),
    )


def write_named_cells(
    ws: Worksheet, cells: Iterable[NamedCell], values: Mapping[str, Any], expected: Expected
) -> None:
    """Write named cells: a label to the left, the formula or input value, its defined name.

    ``values`` gives the input value, or for a formula leadbook's own value of it.
    """
    wb = ws.parent
    cells = list(cells)
    taken = {nc.cell for nc in cells}
    for nc in cells:
        cell = ws[nc.cell]
        label = ws.cell(cell.row, cell.column - 1)
        if label.coordinate not in taken and label.value is None:
            label.value = nc.label
            label.font = LABEL_FONT
        cell.number_format = nc.format
        cell.border = BOX
        if nc.role is Role.FORMULA:
            set_cell(cell, Formula("=" + (nc.formula or "")))
            expected[f"{ws.title}!{nc.cell}"] = excel_value(values.get(nc.name))
        else:
            set_cell(cell, excel_value(values.get(nc.name)))
            if nc.role is Role.INPUT:
                cell.font, cell.fill = INPUT_FONT, INPUT_FILL
        define_name(wb, nc.name, ws.title, nc.cell)


def define_name(wb: Workbook, name: str, sheet: str, cell: str) -> None:
    """Point the workbook-level name ``name`` at ``sheet!cell`` (absolute)."""
    letter, row = coordinate_from_string(cell)
    ref = f"{quote_sheet(sheet)}!${letter}${row}"
    if name in wb.defined_names:
        del wb.defined_names[name]
    wb.defined_names[name] = DefinedName(name, attr_text=ref)


def quote_sheet(sheet: str) -> str:
    """A sheet name as formulas need it (quoted when it holds spaces or punctuation)."""
    return sheet if sheet.replace("_", "").isalnum() else "'" + sheet.replace("'", "''") + "'"


def note(ws: Worksheet, cell: str, text: str) -> None:
    """A grey italic note."""
    ws[cell] = text
    ws[cell].font = NOTE_FONT


def now() -> dt.datetime:
    """The local time, to the second, as the Log shows it."""
    return dt.datetime.now().replace(microsecond=0)
