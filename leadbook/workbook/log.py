"""What the safe write keeps besides the tabs a job renders: the Log tab (one row for every
write leadbook made) and the Settings' defined names, pointed at the rows their keys are on."""

from __future__ import annotations

import datetime as dt
import getpass

from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import contract as C
from leadbook.workbook.layout import (
    Expected,
    anchor_of,
    define_name,
    excel_value,
    freeze,
    now,
    set_cell,
    title,
    write_table,
)


def render_log(ws: Worksheet, expected: Expected) -> None:
    """An empty Log table."""
    title(ws, C.LOG)
    write_table(ws, C.LOG_TABLE, None, expected, style="TableStyleLight1")
    header_row, _ = anchor_of(C.LOG_TABLE)
    freeze(ws, header_row + 1, 1)


def append_log(
    wb: Workbook,
    command: str,
    changed: str,
    user: str | None = None,
    *,
    at: dt.datetime | None = None,
) -> None:
    """Add a row to the Log table: time (``at``, by default now), command, user, what changed."""
    ws = wb[C.LOG.name]
    table = ws.tables[C.LOG_TABLE.name]
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    first_empty = max_row == min_row + 1 and all(
        ws.cell(max_row, c).value is None for c in range(min_col, max_col + 1)
    )
    r = max_row if first_empty else max_row + 1
    values = {
        "time": at or now(),
        "command": command,
        "user": user or current_user(),
        "changed": changed,
    }
    for j, col in enumerate(C.LOG_TABLE.columns):
        cell = ws.cell(r, min_col + j)
        set_cell(cell, excel_value(values[col.key]))
        cell.number_format = col.format
    table.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{r}"
    if table.autoFilter is not None:
        table.autoFilter.ref = table.ref


def current_user() -> str:
    """The name of the person running leadbook, as the Log records it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def point_setting_names(wb: Workbook) -> None:
    """Point each setting's defined name at the Value cell of the row its Key is on (after a
    user sorted the Settings table, the names still point at the old rows)."""
    from leadbook.settings import spec_for
    from leadbook.workbook.read import read_table

    frame, loc, problems = read_table(wb, C.SETTINGS_TABLE)
    if problems or "key" not in frame or "value" not in loc.letters:
        return
    for i, key in enumerate(frame["key"]):
        try:
            name = spec_for(str(key).strip()).name
        except KeyError:  # a heading row, or a key check reports
            continue
        define_name(wb, name, loc.sheet, loc.cell(i, "value").split("!")[1])
