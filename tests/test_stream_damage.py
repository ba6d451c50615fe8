"""Damaged big tabs and odd merged ranges: named, never a traceback (found by an outside attack)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from leadbook.cli import app
from leadbook.errors import WorkbookFileError
from leadbook.workbook.read import open_inputs

HISTORY = "xl/worksheets/sheet4.xml"


def _with_part(base: Path, out: Path, part: str, change) -> Path:
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, change(data) if info.filename == part else data)
    return out


def _history_part(path: Path) -> str:
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb.sheetnames[3] == "History"
    return HISTORY


@pytest.mark.broken_files
@pytest.mark.parametrize(
    "change",
    [
        lambda d: d + b"<x/>",  # junk after the root element
        lambda d: d.replace(b"</row>", b"</row>\x00", 1),  # a NUL between two rows
    ],
    ids=["after-root", "nul"],
)
def test_a_big_tab_that_is_not_xml_is_called_damaged_not_a_missing_table(
    demo_book_path, tmp_path, change
):
    """expat refuses both parts; leadbook said "the Excel Table 'History' is missing from tab
    History" (the table finder swallows the error, and the table check runs first), which
    sends the user to re-create a table that is there."""
    path = _with_part(demo_book_path, tmp_path / "bad.xlsx", _history_part(demo_book_path), change)
    before = path.read_bytes()
    for command in ("rebalance", "check"):
        result = CliRunner().invoke(app, [command, str(path)])
        said = result.output + (result.stderr or "")
        assert "is missing from tab History" not in said, command
        assert "not well-formed" in said, command
    assert path.read_bytes() == before


@pytest.mark.broken_files
@pytest.mark.parametrize(
    "ref, readable",
    [("A&#49;:B1", True), ("A:B", False), ("A1:B", False)],
)
def test_a_merged_range_is_read_as_xml_reads_it_or_named(demo_book_path, tmp_path, ref, readable):
    """A character reference in a mergeCell's ref is XML (openpyxl reads A1:B1); the plain
    reader took the raw bytes and raised a bare ValueError (a traceback, "a bug in leadbook").
    A ref openpyxl cannot read either must be named, not a traceback."""
    tail = f'<mergeCells count="1"><mergeCell ref="{ref}"/></mergeCells>'.encode()
    path = _with_part(
        demo_book_path,
        tmp_path / "merge.xlsx",
        _history_part(demo_book_path),
        lambda d: d.replace(b"</sheetData>", b"</sheetData>" + tail, 1),
    )
    if readable:
        assert openpyxl.load_workbook(path)["History"].merged_cells.ranges
        open_inputs(path)["History"]._read(None)  # the whole tab, as check reads it
    else:
        with pytest.raises(WorkbookFileError, match="History"):
            open_inputs(path)["History"]._read(None)
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code != 3, result.output  # 3: "a bug in leadbook", a traceback
