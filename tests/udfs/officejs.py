"""What Excel's Office.js client sends to xlwings Server, and what it does with the reply.

Built after xlwings Server's own client code (``static/js/custom-functions/
custom-functions-code.js`` and ``static/js/custom-scripts/index.js``, xlwings-server 1.20):

- a custom-function call carries every argument as a 2-D matrix, dates as serial numbers,
  and (desktop Excel) empty cells as 0;
- a script call carries the whole workbook: per tab its values from A1 to the last used
  cell (empty cells as "", date-formatted numbers as ISO strings) and its Excel Tables;
- the reply's actions are replayed on the workbook: :func:`apply_actions` does that to an
  openpyxl workbook, with Excel's rules for text written through ``range.values``
  ("=…" is a formula, a leading apostrophe keeps text, ISO dates become dates).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.table import Table, TableStyleInfo

XLWINGS_VERSION = "0.37.8"
EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def serial(day: dt.date | dt.datetime) -> float:
    """A date as Excel's serial number."""
    stamp = dt.datetime(day.year, day.month, day.day) if not isinstance(day, dt.datetime) else day
    return (stamp - EXCEL_EPOCH).total_seconds() / 86400


def function_call(func_name: str, *args: Any) -> dict[str, Any]:
    """The body of ``POST /xlwings/custom-functions-call``; ``None`` is an omitted argument."""
    return {
        "client": "Office.js",
        "func_name": func_name,
        "args": list(args),
        "caller_address": "[leadbook.xlsx]Sheet1!H1",
        "session_id": "test-session",
        "culture_info_name": "en-US",
        "date_format": "M/d/yyyy",
        "version": XLWINGS_VERSION,
        "runtime": "1.4",
    }


def range_argument(rows: list[list[Any]]) -> list[list[Any]]:
    """A range as Office.js passes it on desktop Excel: empty cells 0, dates as serials."""
    return [[_argument_cell(v) for v in row] for row in rows]


def _argument_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 0
    if isinstance(value, dt.date):
        return serial(value)
    if hasattr(value, "value"):  # an enum
        return value.value
    return value


def table_argument(wb: Workbook, name: str) -> list[list[Any]]:
    """An Excel Table with its header row (``Name[#All]``), as Office.js passes it."""
    return range_argument(table_cells(wb, name)[1])


# --- scripts ----------------------------------------------------------------------------


def book_payload(
    path: Path, args: list[Any] | None = None, *, full_name: bool = False
) -> dict[str, Any]:
    """The body of ``POST /xlwings/custom-scripts-call/{name}`` for the workbook at ``path``.

    Cell values are Excel's computed values; a workbook openpyxl wrote has none cached for
    its formulas, so those cells arrive empty, as they would before Excel calculates. The
    book's name is its file name, as Office.js sends it (``full_name``: its whole path, as
    the classic add-in knows it).
    """
    wb = openpyxl.load_workbook(path, data_only=True)
    formulas = openpyxl.load_workbook(path)
    payload: dict[str, Any] = {
        "client": "Office.js",
        "version": XLWINGS_VERSION,
        "book": {
            "name": str(path) if full_name else path.name,
            "active_sheet_index": 0,
            "selection": "A1",
            "calculation": "Automatic",
        },
        "names": [_name_payload(formulas, n) for n in defined_names(formulas)],
        "sheets": [_sheet_payload(ws, formulas[ws.title]) for ws in wb.worksheets],
    }
    if args is not None:
        payload["args"] = args
    return payload


def defined_names(wb: Workbook) -> list[dict[str, Any]]:
    """The workbook's book-scoped names as Office.js's NamedItem shows them: a constant
    (``String``), or a ``Range`` with the sheet and place (0-based row, column, rows,
    columns) it refers to."""
    found = []
    for name, definition in wb.defined_names.items():
        text = definition.attr_text
        named = {"name": name, "formula": f"={text}", "type": "Range", "sheet": None, "ref": None}
        if text.startswith('"'):
            named["type"] = "String"
        elif m := _SHEET_REF.match(text):
            named["sheet"] = (m.group(1) or "").replace("''", "'") or m.group(2)
            left, top, right, bottom = range_boundaries(m.group(3).replace("$", ""))
            named["ref"] = [top - 1, left - 1, bottom - top + 1, right - left + 1]
        elif (m := _COLUMN_REF.match(text)) and (where := _table_column(wb, *m.groups())):
            named["sheet"], named["ref"] = where
        else:
            raise NotImplementedError(f"a defined name Office.js would show otherwise: {name}")
        found.append(named)
    return found


_SHEET_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!(\$?[A-Z]+\$?\d+(?::\$?[A-Z]+\$?\d+)?)$")
_COLUMN_REF = re.compile(r"^(\w+)\[([^\]]+)\]$")


def _table_column(wb: Workbook, table: str, column: str) -> tuple[str, list[int]] | None:
    """``Table[Column]``: the column's data rows (sheet, place)."""
    for ws in wb.worksheets:
        if table in ws.tables:
            left, top, _, bottom = range_boundaries(ws.tables[table].ref)
            at = [c.name for c in ws.tables[table].tableColumns].index(column)
            return ws.title, [top, left - 1 + at, bottom - top, 1]
    return None


def _name_payload(wb: Workbook, named: dict[str, Any]) -> dict[str, Any]:
    """A book-scoped name as xlwings' client reads it (``readNamedItems``)."""
    address = None
    if named["ref"] is not None:
        r, c, rows, cols = named["ref"]
        address = f"{get_column_letter(c + 1)}{r + 1}"
        if (rows, cols) != (1, 1):
            address += f":{get_column_letter(c + cols)}{r + rows}"
    return {
        "name": named["name"],
        "refers_to": named["formula"],
        "type": named["type"],
        "sheet_index": wb.sheetnames.index(named["sheet"]) if named["sheet"] else None,
        "address": address,
        "scope_sheet_name": None,
        "scope_sheet_index": None,
        "book_scope": True,
    }


def formulas_arg(path: Path) -> dict[str, dict[str, list[str]]]:
    """The formulas leadbook's task pane sends with a press (static/js/buttons.js) for the
    workbook at ``path``: tab → formula as Excel shows it (without the file's ``_xlfn.``
    prefixes) → its cells, one address each."""
    from udfs.convert import as_typed

    sent: dict[str, dict[str, list[str]]] = {}
    for ws in openpyxl.load_workbook(path).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                text = getattr(cell.value, "text", cell.value)  # an ArrayFormula's text
                if cell.data_type == "f" or text is not cell.value:
                    sent.setdefault(ws.title, {}).setdefault(as_typed(text), [])
                    sent[ws.title][as_typed(text)].append(cell.coordinate)
    return sent


def _sheet_payload(ws: Any, formulas: Any) -> dict[str, Any]:
    """A tab as xlwings' client reads it: its values from A1 to the last cell holding a value
    or a formula, and the used range of those cells (Excel's values-only used range)."""
    held = [(c.row, c.column) for row in formulas.iter_rows() for c in row if c.value is not None]
    rows, cols = [r for r, _ in held] or [1], [c for _, c in held] or [1]
    top, left, last_row, last_col = min(rows), min(cols), max(rows), max(cols)
    values = [
        [_payload_cell(ws.cell(r, c).value) for c in range(1, last_col + 1)]
        for r in range(1, last_row + 1)
    ]
    used = f"{get_column_letter(left)}{top}:{get_column_letter(last_col)}{last_row}"
    if (top, left) == (last_row, last_col):
        used = f"{get_column_letter(left)}{top}"
    return {
        "name": ws.title,
        "visibility": "Visible",
        "show_gridlines": True,
        "print_area": None,
        "notes": [],
        "notes_supported": True,
        "used_range_address": used if held else None,
        "used_range_row_count": last_row - top + 1 if held else 0,
        "used_range_column_count": last_col - left + 1 if held else 0,
        "values": values,
        "pictures": [],
        "shapes": [],
        "charts": [],
        "tables": [_table_payload(t) for t in ws.tables.values()],
        "pivot_tables": [],
    }


def _payload_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        stamp = value if isinstance(value, dt.datetime) else dt.datetime(*value.timetuple()[:3])
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return value


def _table_payload(table: Table) -> dict[str, Any]:
    style = table.tableStyleInfo
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    first, last = get_column_letter(min_col), get_column_letter(max_col)
    return {
        "name": table.displayName,
        "range_address": table.ref,
        "row_count": max_row - min_row + 1,
        "column_count": max_col - min_col + 1,
        "columns": [c.name for c in table.tableColumns],
        "header_row_range_address": f"{first}{min_row}:{last}{min_row}",
        "data_body_range_address": f"{first}{min_row + 1}:{last}{max_row}",
        "total_row_range_address": None,
        "show_headers": True,
        "show_totals": False,
        "table_style": style.name if style else "",
        "show_autofilter": table.autoFilter is not None,
        "show_table_style_first_column": bool(style and style.showFirstColumn),
        "show_table_style_last_column": bool(style and style.showLastColumn),
        "show_table_style_row_stripes": bool(style and style.showRowStripes),
        "show_table_style_column_stripes": bool(style and style.showColumnStripes),
    }


# --- replaying a script's actions -----------------------------------------------------


def apply_actions(wb: Workbook, actions: list[dict[str, Any]]) -> None:
    """Replay a script's actions on ``wb`` (loaded with formulas) as Excel would.

    Only the actions leadbook's scripts use are known; any other is an error, so a new
    kind of write cannot slip through untested.
    """
    for action in actions:
        handler = _HANDLERS.get(action["func"])
        if handler is None:
            raise NotImplementedError(f"no replay for action {action['func']!r}")
        handler(wb, action)


def _target(wb: Workbook, action: dict[str, Any]) -> Any:
    return wb.worksheets[action["sheet_position"]]


def _set_values(wb: Workbook, action: dict[str, Any]) -> None:
    ws = _target(wb, action)
    for i, row in enumerate(action["values"]):
        for j, value in enumerate(row):
            cell = ws.cell(action["start_row"] + 1 + i, action["start_column"] + 1 + j)
            cell.value = _typed_in(value)
            if isinstance(value, str) and value.startswith("'"):
                cell.data_type = "s"


def _typed_in(value: Any) -> Any:
    """What Excel stores for a value written through ``range.values``."""
    if value == "" or value is None:
        return None
    if isinstance(value, str):
        if value.startswith("'"):
            return value[1:]
        for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S"):
            try:
                return dt.datetime.strptime(value, fmt)
            except ValueError:
                pass
    return value


def _set_number_format(wb: Workbook, action: dict[str, Any]) -> None:
    ws = _target(wb, action)
    for r in range(action["row_count"]):
        for c in range(action["column_count"]):
            ws.cell(
                action["start_row"] + 1 + r, action["start_column"] + 1 + c
            ).number_format = action["args"][0]


def _resize_table(wb: Workbook, action: dict[str, Any]) -> None:
    ws = _target(wb, action)
    index, address = action["args"]
    table = list(ws.tables.values())[int(index)]
    table.ref = address.replace("$", "")
    if table.autoFilter is not None:
        table.autoFilter.ref = table.ref


def _add_table(wb: Workbook, action: dict[str, Any]) -> None:
    ws = _target(wb, action)
    address, _, style, name = action["args"]
    table = Table(displayName=name, ref=address.replace("$", ""))
    if style:
        table.tableStyleInfo = TableStyleInfo(name=style, showRowStripes=True)
    ws.add_table(table)


def _add_sheet(wb: Workbook, action: dict[str, Any]) -> None:
    index, name = action["args"]
    wb.create_sheet(name, int(index))


def _add_name(wb: Workbook, action: dict[str, Any]) -> None:
    from openpyxl.workbook.defined_name import DefinedName

    name, refers_to = action["args"]
    wb.defined_names[name] = DefinedName(name, attr_text=refers_to.removeprefix("="))


_HANDLERS = {
    "namesAdd": _add_name,
    "setValues": _set_values,
    "setNumberFormat": _set_number_format,
    "resizeTable": _resize_table,
    "addTable": _add_table,
    "addSheet": _add_sheet,
}


def demo_as_calculated() -> Workbook:
    """The demo workbook as Excel holds it once calculated: each formula cell with its
    value (the builder's expected values), which is what Excel passes for a range."""
    from leadbook.workbook.jobs.refresh import demo_workbook

    rendered = demo_workbook()
    for address, value in rendered.expected.items():
        sheet, cell = address.split("!")
        rendered.workbook[sheet][cell] = value
    return rendered.workbook


def table_cells(wb: Workbook, name: str) -> tuple[str, list[list[Any]]]:
    """An Excel Table's range and its cells (header row included), wherever it is."""
    for ws in wb.worksheets:
        if name in ws.tables:
            ref = ws.tables[name].ref
            min_col, min_row, max_col, max_row = range_boundaries(ref)
            rows = ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col)
            return ref, [[c.value for c in row] for row in rows]
    raise KeyError(name)
