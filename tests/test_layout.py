"""What a reader sees at 100 % zoom: no label cut off, frozen panes that leave 20 rows on a
1366×768 screen, input styling on inputs only (the demo workbook and the template)."""

from __future__ import annotations

import math
import shutil

import openpyxl
import pytest
from openpyxl.utils.cell import get_column_letter

from leadbook import contract as C
from leadbook.workbook.layout import (
    INPUT_FILL,
    ROW_PT,
    SCREEN_GRID_PT,
    VISIBLE_ROWS,
    row_height,
    text_width,
)


@pytest.fixture(scope="module", params=["demo", "scored demo", "template"])
def book(request, built_demo, tmp_path_factory) -> openpyxl.Workbook:
    if request.param == "demo":
        return openpyxl.load_workbook(built_demo)
    if request.param == "scored demo":  # as `leadbook demo` leaves it: the Leads report filled
        from leadbook.workbook.jobs.leads import score_leads

        folder = tmp_path_factory.mktemp("scored")
        for item in built_demo.parent.iterdir():
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, folder / item.name)
        score_leads(folder / built_demo.name)
        return openpyxl.load_workbook(folder / built_demo.name)
    from leadbook.workbook.jobs.refresh import new

    return openpyxl.load_workbook(new(tmp_path_factory.mktemp("template") / "t.xlsx"))


def width_of(ws, col: int) -> float:
    return ws.column_dimensions[get_column_letter(col)].width or 8.43


def needed(text: str, bold: bool) -> float:
    """Column width ``text`` takes on one line (as leadbook's layout reckons it)."""
    return text_width(text, bold)


def test_no_label_is_cut_off(book):
    """A text must fit its column and the empty cells it runs into before a filled one (on
    as many lines as its row is tall, when it wraps)."""
    cut = []
    for ws in book.worksheets:
        merged = {c for rng in ws.merged_cells.ranges for c in rng.cells}
        for row in ws.iter_rows():
            for cell in row:
                if not isinstance(cell.value, str) or cell.value.startswith("="):
                    continue
                if (cell.row, cell.column) in merged:
                    continue
                width = width_of(ws, cell.column)
                if not cell.alignment.wrap_text:
                    # text runs on into empty cells to its right, up to a filled one
                    col, room = cell.column + 1, 0.0
                    while width + room < needed(cell.value, bool(cell.font.b)):
                        if ws.cell(cell.row, col).value not in (None, ""):
                            break
                        room += width_of(ws, col)
                        col += 1
                    else:
                        continue
                    width += room
                lines = 1
                if cell.alignment.wrap_text:
                    lines = max(1, math.floor(row_height(ws, cell.row) / ROW_PT))
                    longest = max(cell.value.split(), key=len, default="")
                    if needed(longest, bool(cell.font.b)) > width:
                        cut.append(f"{ws.title}!{cell.coordinate} {cell.value!r}")
                        continue
                if needed(cell.value, bool(cell.font.b)) > width * lines:
                    cut.append(f"{ws.title}!{cell.coordinate} {cell.value!r} (width {width})")
    assert cut == []


def test_frozen_panes_leave_twenty_rows_on_a_small_screen(book):
    for ws in book.worksheets:
        if not ws.freeze_panes:
            continue
        top = ws[ws.freeze_panes].row
        frozen = sum(row_height(ws, r) for r in range(1, top))
        assert frozen + VISIBLE_ROWS * ROW_PT <= SCREEN_GRID_PT, (ws.title, ws.freeze_panes)
        left = ws[ws.freeze_panes].column
        assert sum(width_of(ws, c) for c in range(1, left)) <= 60, (ws.title, ws.freeze_panes)


def test_input_styling_marks_inputs_only(book):
    """Blue on yellow only on the contract's input cells: input columns of tables, input named
    cells, the Settings values, the Maturity answers."""
    inputs: dict[str, set[str]] = {}
    for spec in C.TABLES.values():
        for ws in book.worksheets:
            if spec.name not in ws.tables:
                continue
            first = ws[ws.tables[spec.name].ref.split(":")[0]]
            last = ws[ws.tables[spec.name].ref.split(":")[1]]
            headers = {ws.cell(first.row, c).value: c for c in range(first.column, last.column + 1)}
            owned = {c.header for c in spec.columns if c.role is not C.Role.INPUT}
            # on the Leads table, a column the user added (a feature) is an input too
            added = [h for h in headers if h not in owned and h not in spec.headers]
            for header in [c.header for c in spec.by_role(C.Role.INPUT)] + added:
                c = headers.get(header)
                if c is not None:
                    for r in range(first.row + 1, last.row + 1):
                        inputs.setdefault(ws.title, set()).add(ws.cell(r, c).coordinate)
    for cell in C.NAMED_CELLS.values():
        if cell.role is C.Role.INPUT:
            inputs.setdefault(cell.sheet, set()).add(cell.cell)
    styled = [
        f"{ws.title}!{c.coordinate}"
        for ws in book.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.fill.fgColor.rgb == INPUT_FILL.fgColor.rgb
        and c.fill.fill_type == "solid"
        and c.coordinate not in inputs.get(ws.title, set())
    ]
    assert styled == []
