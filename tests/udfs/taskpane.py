"""A workbook file as tests/realclient/excel.mjs holds it in memory, and back.

:func:`mock_workbook` gives what Excel's object model would show of an .xlsx file opened in
Excel: each cell's value as ``Range.values`` gives it (a formula's cached value, a date as its
serial number), its formula and number format, the Excel Tables and the workbook's names.
:func:`from_mock` turns the mock's workbook after a press back into an openpyxl workbook, to
be compared with the command line's file cell by cell.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles.numbers import is_date_format
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from tests.udfs.officejs import EXCEL_EPOCH, defined_names, serial
from udfs.convert import as_typed


def mock_workbook(path: Path, *, identity: str | None = None) -> dict[str, Any]:
    """The workbook at ``path`` as excel.mjs takes it; ``identity``: a ``LeadbookBookId``
    name, as an earlier press leaves in the workbook."""
    formulas = openpyxl.load_workbook(path)
    values = openpyxl.load_workbook(path, data_only=True)
    sheets = [_sheet(ws, values[ws.title]) for ws in formulas.worksheets]
    names = defined_names(formulas)
    if identity is not None:
        names.append(identity_name(identity))
    return {"name": path.name, "active": 0, "selection": [0, "A1"], "names": names,
            "sheets": sheets}  # fmt: skip


def identity_name(identity: str) -> dict[str, Any]:
    """The ``LeadbookBookId`` name a press gives a workbook, as the mock holds a name."""
    return {"name": "LeadbookBookId", "formula": f'="{identity}"', "type": "String",
            "sheet": None, "ref": None}  # fmt: skip


def _sheet(ws: Any, shown: Any) -> dict[str, Any]:
    cells = []
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is None:
                continue
            value = shown[cell.coordinate].value
            formula = None
            if isinstance(cell.value, ArrayFormula):
                formula = as_typed(cell.value.text)
            elif cell.data_type == "f":
                formula = as_typed(cell.value)
            place = [cell.row - 1, cell.column - 1]
            cells.append([*place, _shown(value), formula, cell.number_format])
    return {"name": ws.title, "cells": cells, "tables": [_table(t) for t in ws.tables.values()]}


def _shown(value: Any) -> Any:
    """A cell's value as Range.values gives it."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return serial(value)
    if isinstance(value, dt.time | dt.timedelta):
        raise NotImplementedError(f"a time cell: {value!r}")
    return value


def _table(table: Table) -> dict[str, Any]:
    style = table.tableStyleInfo
    return {
        "name": table.displayName,
        "ref": table.ref,
        "style": style.name if style else "",
        "showHeaders": table.headerRowCount != 0,
        "showTotals": bool(table.totalsRowCount),
        "showFilterButton": table.autoFilter is not None,
        "highlightFirstColumn": bool(style and style.showFirstColumn),
        "highlightLastColumn": bool(style and style.showLastColumn),
        "showBandedRows": bool(style and style.showRowStripes),
        "showBandedColumns": bool(style and style.showColumnStripes),
    }


def from_mock(state: dict[str, Any]) -> Workbook:
    """The mock's workbook as an openpyxl workbook: formulas as typed, dates as datetimes
    (a number in a date format), its tables with the column names the mock gives them."""
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in state["sheets"]:
        ws = wb.create_sheet(sheet["name"])
        for r, c, value, formula, number_format in sheet["cells"]:
            cell = ws.cell(r + 1, c + 1)
            if formula is not None:
                cell.value = formula
            elif value != "":
                number = isinstance(value, int | float) and not isinstance(value, bool)
                if number and is_date_format(number_format):
                    value = EXCEL_EPOCH + dt.timedelta(days=value)
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = "s"  # text, though it may begin with "="
            cell.number_format = number_format
        for t in sheet["tables"]:
            table = Table(displayName=t["name"], ref=t["ref"])
            table.tableColumns = [TableColumn(id=i + 1, name=n) for i, n in enumerate(t["columns"])]
            if t["style"]:
                table.tableStyleInfo = TableStyleInfo(name=t["style"], showRowStripes=True)
            ws.add_table(table)
    return wb


def table_places(wb: Workbook, sheets: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The Excel Tables of ``sheets``: name → (sheet, range, column names)."""
    return {
        t.displayName: (ws.title, t.ref, [c.name for c in t.tableColumns])
        for ws in wb.worksheets
        if ws.title in sheets
        for t in ws.tables.values()
    }
