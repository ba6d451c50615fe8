"""leadbook's cell writer writes the bytes openpyxl's own writes (leadbook.workbook.cellwriter)."""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.worksheet import _writer as sheet_writer
from openpyxl.worksheet.formula import ArrayFormula

from leadbook.workbook import cellwriter

ODD_VALUES = [
    "R&D <east> > west",
    " leading space",
    "trailing space ",
    "two\nlines",
    'a "quote" and an apostrophe\'s',
    "é ü 中文 😀",
    "=not a formula but text",
    1e300,
    -0.0,
    0.1 + 0.2,
    12345678901234567890,
    float("nan"),
    math.inf,
    True,
    False,
    dt.datetime(2026, 3, 1, 12, 30, 15),
    dt.date(2026, 1, 1),
    dt.time(10, 0),
    dt.timedelta(days=1.5),
    "=SUM(A1:A3)",
    '=IF(A1<>"",A1&" <R&D>",0)',
    "=A1\n+B1",
    "=",
    "#N/A",
]


def _saved(path: Path, data_only: bool, writer: object) -> dict[str, bytes]:
    wb = openpyxl.load_workbook(path, data_only=data_only)
    ws = wb.worksheets[0]
    for i, value in enumerate(ODD_VALUES, 1):
        ws.cell(300 + i, 30).value = value
    ws.cell(300, 31).value = "#DIV/0!"
    ws.cell(300, 31).data_type = "e"
    ws.cell(299, 31).value = CellRichText(["plain ", TextBlock(InlineFont(b=True), "bold")])
    ws.cell(298, 31).value = "linked"
    ws.cell(298, 31).hyperlink = "https://example.com/?a=1&b=2"
    ws.cell(297, 31).number_format = "0.00"  # styled, no value
    ws.cell(296, 31).value = ArrayFormula("AE296:AE297", "=A1:A2")
    previous = sheet_writer.write_cell
    sheet_writer.write_cell = writer
    try:
        out = io.BytesIO()
        wb.save(out)
    finally:
        sheet_writer.write_cell = previous
    with zipfile.ZipFile(out) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}  # its times


@pytest.mark.parametrize("data_only", [False, True])
def test_a_save_is_byte_for_byte_openpyxls(built_demo, data_only):
    # every tab of the demo (formulas, or the values a button mirrors), and odd values
    ours = _saved(built_demo, data_only, cellwriter.write_cell)
    theirs = _saved(built_demo, data_only, cellwriter._openpyxl_write_cell)
    assert ours.keys() == theirs.keys()
    assert [n for n in ours if ours[n] != theirs[n]] == []
    assert b"R&amp;D &lt;east&gt; &gt; west" in b"".join(ours.values())


def test_installed_where_leadbook_saves():
    import leadbook.workbook.saving  # noqa: F401 — installs it

    assert sheet_writer.write_cell is cellwriter.write_cell


def test_an_openpyxl_it_was_not_checked_against_keeps_its_own_writer(monkeypatch):
    """A release whose private writer may differ is left alone: its saves stay openpyxl's."""
    monkeypatch.setattr(sheet_writer, "write_cell", cellwriter._openpyxl_write_cell)
    monkeypatch.setattr(openpyxl, "__version__", "3.2.0")
    cellwriter.install()
    assert sheet_writer.write_cell is cellwriter._openpyxl_write_cell
    monkeypatch.setattr(openpyxl, "__version__", "3.1.5")
    cellwriter.install()
    assert sheet_writer.write_cell is cellwriter.write_cell
