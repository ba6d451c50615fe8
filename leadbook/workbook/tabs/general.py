"""The Start tab (guide and input check), the Log, and tabs whose capability comes later."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import contract as C
from leadbook.errors import Problem
from leadbook.workbook.layout import (
    LABEL_FONT,
    NOTE_FONT,
    TOP,
    WRAP_TOP,
    Expected,
    anchor_of,
    highlight_text,
    note,
    table_column_range,
    title,
    write_table,
)

STEPS = (
    "1. Fill in the blue-on-yellow cells of Settings, Sources and History.",
    "2. Press Check inputs (or run: leadbook check BOOK) and fix what it lists below.",
    "3. Press Refresh to classify and score the sources (Tiers, Scores).",
    "4. Press Rebalance for the recommended allocation (Allocation).",
)


def render_start(
    ws: Worksheet,
    expected: Expected,
    problems: Iterable[Problem] | None = None,
    notes: Iterable[str] = (),
) -> None:
    """The guide to every tab, the steps, and the last input check's problems."""
    title(
        ws,
        C.START,
        "A lead-portfolio workbook: you own the inputs, leadbook computes the "
        "rest. Blue-on-yellow cells are inputs.",
    )
    ws["A4"], ws["B4"], ws["C4"], ws["D4"] = "Tab", "What it is for", "Written by", "Button"
    for cell in ws[4]:
        cell.font = LABEL_FONT
    for i, spec in enumerate(C.SHEETS):
        r = 5 + i
        link = ws.cell(r, 1, spec.name)
        link.hyperlink = f"#'{spec.name}'!A1"
        link.font = Font(color="0563C1", underline="single")
        ws.cell(r, 2, spec.purpose)
        ws.cell(r, 3, "you" if spec.role is C.Role.INPUT else "leadbook")
        ws.cell(r, 4, ", ".join(spec.buttons))
        for c in range(1, 5):
            ws.cell(r, c).alignment = WRAP_TOP if c == 2 else TOP
    r = 6 + len(C.SHEETS)
    for step in STEPS:
        ws.cell(r, 1, step)
        r += 1
    for text in notes:
        ws.cell(r, 1, text).font = NOTE_FONT
        r += 1
    header_row, _ = anchor_of(C.PROBLEMS_TABLE)
    if r >= header_row - 1:
        raise AssertionError("the Start guide overlaps the Problems table; move its anchor")
    ws.cell(header_row - 1, 1, "Input check (Check inputs writes here)").font = LABEL_FONT
    rows = pd.DataFrame(
        [
            {"where": p.where, "problem": p.message, "severity": str(p.severity)}
            for p in problems or ()
        ],
        columns=C.PROBLEMS_TABLE.keys,
    )
    write_table(ws, C.PROBLEMS_TABLE, rows if len(rows) else None, expected)
    highlight_text(ws, table_column_range(ws, C.PROBLEMS_TABLE, "severity", len(rows)), ["error"])
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 90
    ws.column_dimensions["C"].width = 12
    ws.column_dimensions["D"].width = 22


def render_coming(ws: Worksheet, spec: C.SheetSpec) -> None:
    """A tab whose capability comes in a later release: its title and a note."""
    title(ws, spec)
    note(ws, "A4", spec.coming)
