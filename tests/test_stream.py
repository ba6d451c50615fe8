"""The streaming reader (leadbook.workbook.stream) reads what openpyxl reads, cell for cell.

openpyxl opened with ``data_only=True`` is the reference: every tab, every cell's value and
its type, the Excel Tables, merged ranges and defined names must agree, on the workbook
leadbook writes, on the same workbook as a spreadsheet program saves it (formulas with their
values), on hand-written package XML in the forms other programs write, and on random cells.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any
from unittest import mock

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils.cell import get_column_letter

from leadbook.errors import WorkbookFileError
from leadbook.workbook.read import inspect_book, open_inputs, open_workbook
from leadbook.workbook.sheetparse import _SheetParser
from leadbook.workbook.stream import open_streamed


def assert_reads_as_openpyxl(path: Path) -> int:
    """Every cell, table, merged range and defined name of ``path`` as openpyxl reads it,
    each tab read whole (in bulk, or by the plain form's regular expression a cell, where
    the tab is plain) and read by expat's handlers; returns the number of cells compared."""
    compared = _assert_reads_as_openpyxl(path, whole=True)
    with mock.patch.object(_SheetParser, "parse_plain", return_value=False):
        assert _assert_reads_as_openpyxl(path, whole=True) == compared
    with mock.patch("leadbook.workbook.sheetparse.plain_rows", return_value=None):  # a regex a cell
        assert _assert_reads_as_openpyxl(path, whole=True) == compared
    return _assert_reads_as_openpyxl(path, whole=False)


def _assert_reads_as_openpyxl(path: Path, whole: bool) -> int:
    want = openpyxl.load_workbook(path, data_only=True)
    got = open_streamed(path)
    if whole:
        for sheet in got.worksheets:
            sheet._read(None)
    assert got.sheetnames == want.sheetnames
    assert [ws.title for ws in got.worksheets] == [ws.title for ws in want.worksheets]
    compared = 0
    for ws in want.worksheets:
        sheet = got[ws.title]
        assert {n: t.ref for n, t in sheet.tables.items()} == {
            t.displayName: t.ref for t in ws.tables.values()
        }, ws.title
        for row in ws.iter_rows():
            for cell in row:
                value = sheet.cell(cell.row, cell.column).value
                assert (type(value), value) == (type(cell.value), cell.value), (
                    f"{ws.title}!{cell.coordinate}"
                )
                compared += 1
        _assert_table_columns_as_openpyxl(sheet, ws)
        # and nothing beyond what openpyxl holds
        for r, line in sheet._rows.items():
            for c, value in line.items():
                assert ws.cell(r, c).value == value, (ws.title, r, c)
        assert sorted(map(str, sheet.merged_cells.ranges)) == sorted(
            map(str, ws.merged_cells.ranges)
        )
    assert {k: v.attr_text for k, v in got.defined_names.items()} == {
        k: v.attr_text for k, v in want.defined_names.items()
    }
    return compared


def _assert_table_columns_as_openpyxl(sheet: Any, ws: Any) -> None:
    """A table over the tab's cells reads column by column as openpyxl holds them (from the
    bulk reader's arrays where the tab was read in bulk), floats said finite only if they are."""
    ref = f"A1:{get_column_letter(ws.max_column)}{ws.max_row}"
    headers, columns = sheet.table_columns(ref)
    rows = [tuple((type(c.value), c.value) for c in row) for row in ws[ref]]
    assert tuple((type(v), v) for v in headers) == rows[0], ws.title
    typed = [tuple((type(v), v) for v in column) for column in columns]
    assert typed == (list(zip(*rows[1:], strict=True)) or [()] * len(rows[0])), ws.title
    if sheet.finite_floats:
        assert all(math.isfinite(v) for row in rows for _, v in row if isinstance(v, float))


def test_the_demo_as_leadbook_writes_it(built_demo):
    assert assert_reads_as_openpyxl(built_demo) > 20_000


def test_tabs_leadbook_and_libreoffice_write_are_read_in_the_plain_form(built_demo, tmp_path):
    """The fast form is the one taken for the files leadbook meets: no tab falls back to
    expat's handlers."""
    from leadbook.workbook.libreoffice import recalculated

    for path in (built_demo, recalculated(built_demo, tmp_path)):
        book = open_streamed(path)
        with (
            mock.patch.object(_SheetParser, "_install", side_effect=AssertionError("expat")),
            mock.patch.object(
                _SheetParser, "_cells_one_by_one", side_effect=AssertionError("not in bulk")
            ),
        ):
            for sheet in book.worksheets:
                sheet._read(None)
        assert sum(len(line) for line in book["History"]._lines().values()) > 100


def test_the_demo_as_a_spreadsheet_program_saves_it(built_demo, tmp_path):
    """LibreOffice saves each formula with its value, strings shared, dates as serials."""
    from leadbook.workbook.libreoffice import recalculated

    saved = recalculated(built_demo, tmp_path)
    want = openpyxl.load_workbook(saved, data_only=True)
    assert any(  # formulas' values are there to compare
        isinstance(c.value, float) for c in want["Allocation"]["B"] if c.row in range(5, 11)
    )
    assert assert_reads_as_openpyxl(saved) > 20_000


# --- package XML in the forms other programs write --------------------------------------------

SHEET = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    "<x:sheetData>{rows}</x:sheetData>{tail}</x:worksheet>"
)


def with_sheet_xml(base: Path, out: Path, rows: str, tail: str = "", prefixed: bool = True) -> Path:
    """``base`` with the sheetData of its first tab replaced by ``rows`` (elements prefixed
    ``x:``, or ``prefixed=False`` in the main namespace as the default one)."""
    xml = SHEET.format(rows=rows, tail=tail)
    if not prefixed:
        xml = xml.replace("<x:", "<").replace("</x:", "</").replace("xmlns:x=", "xmlns=")
    return with_sheet_part(base, out, xml)


def _plain_book(folder: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "Data"
    wb.active["A1"] = "shared"
    wb.active["B1"] = dt.datetime(2026, 3, 1)  # a date format in the styles
    path = folder / "plain.xlsx"
    wb.save(path)
    return path


@pytest.fixture
def plain_book(tmp_path) -> Path:
    return _plain_book(tmp_path)


@pytest.fixture(scope="module")
def plain_book_once(tmp_path_factory) -> Path:
    """:func:`plain_book`, once for a module (a hypothesis test's examples share it)."""
    return _plain_book(tmp_path_factory.mktemp("plain"))


@pytest.mark.parametrize(
    "rows",
    [
        # no r attributes at all: rows and cells counted
        "<x:row><x:c><x:v>1</x:v></x:c><x:c t='str'><x:v>text</x:v></x:c></x:row>"
        "<x:row><x:c/><x:c><x:v>2.5</x:v></x:c></x:row>",
        # inline strings, rich runs, a phonetic run that is not text
        "<x:row r='2'><x:c r='A2' t='inlineStr'><x:is><x:t>plain &amp; simple</x:t></x:is></x:c>"
        "<x:c r='B2' t='inlineStr'><x:is><x:r><x:t>ri</x:t></x:r><x:r><x:t xml:space='preserve'>"
        "ch </x:t></x:r><x:rPh sb='0' eb='1'><x:t>ふ</x:t></x:rPh></x:is></x:c>"
        "<x:c r='C2' t='inlineStr'><x:is><x:t/></x:is></x:c>"
        "<x:c r='D2' t='str'><x:v>a&#13;b\r\nc&lt;d&gt;&quot;&apos;</x:v></x:c>"
        "<x:c r='E2' t='inlineStr'><x:is/></x:c><x:c r='F2'><x:v/></x:c></x:row>",
        # formulas with cached values of each type, an error, a boolean, a date serial
        "<x:row r='3'><x:c r='A3'><x:f>1+1</x:f><x:v>2</x:v></x:c>"
        "<x:c r='B3' t='str'><x:f>\"a\"&amp;\"b\"</x:f><x:v>ab</x:v></x:c>"
        "<x:c r='C3' t='e'><x:f>1/0</x:f><x:v>#DIV/0!</x:v></x:c>"
        "<x:c r='D3' t='b'><x:v>1</x:v></x:c><x:c r='E3' t='b'><x:v>0</x:v></x:c>"
        "<x:c r='F3' s='1'><x:v>46082</x:v></x:c><x:c r='G3'><x:f>A3</x:f></x:c>"
        "<x:c r='H3'><x:v>1E+300</x:v></x:c><x:c r='I3'><x:v>-0.000001</x:v></x:c>"
        "<x:c r='J3'><x:v></x:v></x:c><x:c r='K3' t='n'><x:v>7</x:v></x:c></x:row>",
    ],
    ids=["counted", "inline", "cached-values"],
)
@pytest.mark.parametrize("prefixed", [True, False], ids=["x:c", "c"])
def test_package_forms_read_as_openpyxl_reads_them(plain_book, tmp_path, rows, prefixed):
    """Prefixed (as some programs write) and plain (as Excel does: the fast form)."""
    tail = "<x:mergeCells count='1'><x:mergeCell ref='A5:B6'/></x:mergeCells>"
    path = with_sheet_xml(plain_book, tmp_path / "forms.xlsx", rows, tail, prefixed)
    assert assert_reads_as_openpyxl(path) >= 2


PLAIN_ROWS = [
    # numbers: ints past 64 bits, floats, exponents, signs, white space, a date by style
    '<row r="1"><c r="A1"><v>1</v></c><c r="B1" t="n"><v>-12345678901234567890123</v></c>'
    '<c r="C1" s="0"><v>2.5</v></c><c r="D1"><v>1E+300</v></c><c r="E1"><v>-0.000001</v></c>'
    '<c r="F1"><v>+7</v></c><c r="G1"><v> 8 </v></c><c r="H1" s="1"><v>46082</v></c>'
    '<c r="I1" s="1"><v>46082.5</v></c><c r="J1"><v>1e5</v></c><c r="K1"><v>3.0</v></c></row>',
    # strings: inline with references, line ends and preserved space, formula text
    '<row r="2" spans="1:9"><c r="A2" t="n"><v>0</v></c>'
    '<c r="B2" t="inlineStr"><is><t>plain &amp; simple &#233;&#x263A;</t></is></c>'
    '<c r="C2" t="inlineStr"><is><t xml:space="preserve"> a\r\nb\rc </t></is></c>'
    '<c r="D2" t="inlineStr"><is><t></t></is></c>'
    '<c r="E2" t="str"><f>"a"&amp;"b"</f><v>a&#13;b\r\nc&lt;d&gt;&quot;&apos;</v></c>'
    '<c r="F2" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="G2" t="b"><v>1</v></c>'
    '<c r="H2" t="b"><v>0</v></c><c r="I2" t="d"><v>2026-03-01T00:00:00</v></c></row>',
    # empty cells and rows, formulas without values, three-letter columns, white space in tags
    '<row r="3"/><row r="4"><c r="A4" s="1"/><c r="B4"><v/></c><c r="C4"><v></v></c>'
    '<c r="D4"><f>A1</f></c><c r="E4"><f t="shared" ref="E4:E5" si="0"/><v>4</v></c>'
    '<c r="XFD4"><v>9</v></c><c r="AAA4" s="1" t="n" ><v>1</v></c>'
    '<c r="AB4" t="inlineStr"\n/></row>',
    # rows out of order, a cell twice (the last read wins), an inline string's value ignored
    '<row r="9"><c r="B9"><v>1</v></c><c r="B9"><v>2</v></c></row>'
    '<row r="7"><c r="A7"><v>3</v></c><c r="B7" t="inlineStr"><v>5</v><is><t>s</t></is></c>'
    '<c r="C7" t="n"><is><t>not read</t></is></c></row>',
]


@pytest.mark.parametrize("rows", PLAIN_ROWS, ids=["numbers", "strings", "empty", "order"])
@pytest.mark.parametrize("block", [None, 40], ids=["one-block", "a-block-a-row"])
def test_plain_tabs_read_in_bulk_as_openpyxl_reads_them(
    plain_book, tmp_path, rows, block, monkeypatch
):
    """The plain form, read in bulk (numpy), cell by cell (a regex each) and by expat alike;
    cut into blocks, a row each, too."""
    from leadbook.workbook import plaincells

    if block is not None:
        monkeypatch.setattr(plaincells, "BLOCK", block)

    tail = '<mergeCells count="1"><mergeCell ref="A5:B6"/></mergeCells>'
    path = with_sheet_xml(plain_book, tmp_path / "bulk.xlsx", rows, tail, prefixed=False)
    read: list[Any] = []

    def bulk(*args: Any) -> Any:
        read.append(plaincells.plain_rows(*args))
        return read[-1]

    with mock.patch("leadbook.workbook.sheetparse.plain_rows", new=bulk):
        assert assert_reads_as_openpyxl(path) >= 2
    assert read and None not in read


@given(st.text(alphabet="RQECSXFGHVWUITPZJ?", max_size=14))
@settings(max_examples=500, deadline=None)
def test_the_bulk_grammar_check_is_the_plain_form_expression(letters):
    import numpy as np

    from leadbook.workbook import plaincells as P

    codes = np.frombuffer(letters.encode(), np.uint8)
    bulk = not len(codes) or (
        bool(P._FOLLOWS[codes[:-1], codes[1:]].all())
        and codes[0] in P._FIRST
        and codes[-1] in P._LAST
    )
    assert bulk == (P._GRAMMAR.fullmatch(letters.encode()) is not None)


@pytest.mark.broken_files
@pytest.mark.parametrize("prefixed", [True, False], ids=["x:c", "c"])
def test_a_number_that_is_no_number_is_named_at_its_cell(plain_book, tmp_path, prefixed):
    rows = '<x:row r="4"><x:c r="B4"><x:v>1</x:v></x:c><x:c r="C4"><x:v>NaN</x:v></x:c></x:row>'
    path = with_sheet_xml(plain_book, tmp_path / "nan.xlsx", rows, prefixed=prefixed)
    with pytest.raises(WorkbookFileError, match=r"Data!C4: holds 'NaN' where a number is stored"):
        open_streamed(path)["Data"].cell(4, 3)


@pytest.mark.broken_files
def test_damaged_xml_is_named_by_its_tab(plain_book, tmp_path):
    path = with_sheet_xml(plain_book, tmp_path / "bad.xlsx", "<x:row><x:c><x:v>1</x:row>")
    with pytest.raises(WorkbookFileError, match=r"tab 'Data' is not well-formed XML"):
        open_streamed(path)["Data"].cell(1, 1)


@pytest.mark.broken_files
def test_a_shared_string_the_workbook_lacks_is_damage_not_a_traceback(plain_book, tmp_path):
    rows = "<x:row r='1'><x:c r='A1' t='s'><x:v>99</x:v></x:c></x:row>"
    path = with_sheet_xml(plain_book, tmp_path / "ss.xlsx", rows)
    with pytest.raises(WorkbookFileError, match=r"Data!A1: holds a shared string '99'"):
        open_streamed(path)["Data"].cell(1, 1)


@pytest.mark.broken_files
def test_a_dtd_in_a_tab_is_refused_even_past_the_package_check(plain_book, tmp_path):
    """check_package refuses it first; the parser refuses it on its own too."""
    with zipfile.ZipFile(plain_book) as src, zipfile.ZipFile(tmp_path / "dtd.xlsx", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>' + data.replace(
                    b"<sheetData>", b"<sheetData><row r='9'><c r='A9' t='str'><v>&a;</v></c></row>"
                )
            dst.writestr(info, data)
    with pytest.raises(WorkbookFileError, match="DTD"):
        open_streamed(tmp_path / "dtd.xlsx")["Data"].cell(9, 1)
    with pytest.raises(WorkbookFileError, match="DTD"):
        open_inputs(tmp_path / "dtd.xlsx")


# --- reading only what is asked ---------------------------------------------------------------


def test_a_stamp_reads_the_top_rows_and_a_table_the_whole_tab(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Big"
    for r in range(1, 2001):
        ws.append([r, f"row {r}"])
    ws.merge_cells("D1999:E2000")
    path = tmp_path / "big.xlsx"
    wb.save(path)
    sheet = open_streamed(path)["Big"]
    assert [c.value for c in sheet[1]] == [1, "row 1"]
    assert not sheet._complete and max(sheet._rows) <= 51  # stopped near the top
    assert sheet["B2000"].value == "row 2000" and sheet._complete
    assert [str(r) for r in sheet.merged_cells.ranges] == ["D1999:E2000"]


def test_a_workbook_changed_while_read_is_refused_not_mixed(plain_book, tmp_path):
    book = open_streamed(plain_book)
    other = tmp_path / "other.xlsx"
    wb = openpyxl.load_workbook(plain_book)
    wb["Data"]["A1"] = "changed"
    wb.save(other)
    shutil.copyfile(other, plain_book)
    os.utime(plain_book, ns=(1, 1))
    with pytest.raises(WorkbookFileError, match="changed on disk while leadbook was reading"):
        book["Data"].cell(1, 1)


def test_a_workbook_rewritten_in_place_with_its_old_time_is_refused(plain_book):
    """Its size and modification time put back (os.utime): the change time still moves."""
    book = open_streamed(plain_book)
    before = plain_book.stat()
    plain_book.write_bytes(plain_book.read_bytes())
    os.utime(plain_book, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(WorkbookFileError, match="changed on disk while leadbook was reading"):
        book["Data"].cell(1, 1)


def test_a_workbook_swapped_after_its_package_check_is_refused(plain_book, tmp_path):
    """check_package bounds what the reader may unpack; the file read must be the one checked."""
    from leadbook.workbook import read

    other = tmp_path / "other.xlsx"
    shutil.copyfile(plain_book, other)
    checked = read.check_package

    def check_then_swap(path: Path, *args: Any) -> dict[str, bytes]:
        unpacked = checked(path, *args)  # (the checked file's parts, unpacked)
        os.replace(other, path)
        return unpacked

    swapping = mock.patch.object(read, "check_package", side_effect=check_then_swap)
    with swapping, pytest.raises(WorkbookFileError, match="changed on disk while leadbook"):
        open_inputs(plain_book)


def test_the_reader_finds_the_same_problems_streamed_as_loaded(demo_book_path):
    """inspect_book (streamed) and inspect_workbook over openpyxl's workbook agree."""
    from leadbook.workbook.read import inspect_workbook

    wb = openpyxl.load_workbook(demo_book_path)
    ws = wb["Sources"]
    ws["H13"] = "lots"  # a text in a number column (Monthly leads)
    ws["E14"] = -4  # buyers per lead
    wb.save(demo_book_path)
    streamed_book, streamed = inspect_book(demo_book_path)
    loaded_book, loaded = inspect_workbook(open_workbook(demo_book_path), demo_book_path)
    assert [str(p) for p in streamed] == [str(p) for p in loaded]
    assert streamed_book is None and loaded_book is None
    assert {"Sources!H13", "Sources!E14"} <= {p.where for p in streamed}


# --- random cells -----------------------------------------------------------------------------

_text = st.text(
    st.one_of(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"),
        st.sampled_from("\r\n\t&<>\"'"),
    ),
    max_size=12,
)
_values = st.one_of(
    st.none(),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    _text,
    st.booleans(),
    st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.dates(dt.date(1900, 3, 1), dt.date(2100, 1, 1)),
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.lists(_values, min_size=1, max_size=5), min_size=1, max_size=6))
def test_random_cells_read_as_openpyxl_reads_them(tmp_path, grid):
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, line in enumerate(grid, 1):
        for c, value in enumerate(line, 1):
            ws.cell(r, c, value)
    path = tmp_path / "random.xlsx"
    wb.save(path)
    assert_reads_as_openpyxl(path)


@pytest.mark.broken_files
def test_a_number_too_long_for_python_is_named_shortly(plain_book, tmp_path):
    """5,000 digits: Python refuses to make an int of it; the message shows the start only."""
    rows = f"<x:row r='4'><x:c r='C4'><x:v>{'9' * 5000}</x:v></x:c></x:row>"
    path = with_sheet_xml(plain_book, tmp_path / "long.xlsx", rows)
    with pytest.raises(WorkbookFileError, match=r"Data!C4: holds '9{20}…' where") as raised:
        open_streamed(path)["Data"].cell(4, 3)
    assert len(str(raised.value)) < 400


@pytest.mark.parametrize("bom", [True, False], ids=["utf-16 with BOM", "utf-16 without"])
def test_a_tab_written_in_utf16_reads_as_openpyxl_reads_it(plain_book, tmp_path, bom):
    """An XML parser reads UTF-16 with or without a byte order mark (so does openpyxl); the
    plain form's reader must leave such a tab to expat, not read it as UTF-8."""
    out = tmp_path / "utf16.xlsx"
    with zipfile.ZipFile(plain_book) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode("utf-8")
                text = text.replace('encoding="UTF-8"', 'encoding="UTF-16"')
                data = text.encode("utf-16" if bom else "utf-16-le")
            dst.writestr(info, data)
    assert assert_reads_as_openpyxl(out) >= 2
    assert open_streamed(out)["Data"]["A1"].value == "shared"


# --- forms the plain form's reader must not take for plain ------------------------------------

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def with_sheet_part(base: Path, out: Path, xml: str) -> Path:
    """``base`` with its first tab's part replaced by ``xml`` whole."""
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = xml.encode()
            dst.writestr(info, data)
    return out


@pytest.mark.parametrize(
    "xml",
    [
        # the default namespace declared again on a row, on sheetData: not the main one
        f'<worksheet xmlns="{_MAIN_NS}"><sheetData><row r="1" xmlns="urn:other">'
        '<c r="C1"><v>9</v></c></row></sheetData></worksheet>',
        f'<worksheet xmlns="{_MAIN_NS}"><sheetData xmlns=""><row r="1">'
        '<c r="C1"><v>9</v></c></row></sheetData></worksheet>',
        # the main namespace written in an attribute's value, or on an element not the root
        f'<worksheet xmlns="urn:other" a=\'xmlns="{_MAIN_NS}"\'><sheetData><row r="1">'
        '<c r="C1"><v>9</v></c></row></sheetData></worksheet>',
        f'<worksheet a=\'xmlns="{_MAIN_NS}"\'><sheetData><row r="1">'
        '<c r="C1"><v>9</v></c></row></sheetData></worksheet>',
        f'<worksheet><sheetPr xmlns="{_MAIN_NS}"/><sheetData><row r="1">'
        '<c r="C1"><v>9</v></c></row></sheetData></worksheet>',
    ],
    ids=["on-a-row", "undeclared", "in-a-value", "in-a-value-alone", "not-the-root"],
)
def test_cells_outside_the_main_namespace_are_not_read(plain_book, tmp_path, xml):
    """openpyxl reads only elements of the main namespace: an unprefixed ``<c>`` under another
    default namespace is no cell, and the plain form's reader must not forge one."""
    path = with_sheet_part(plain_book, tmp_path / "ns.xlsx", xml)
    assert_reads_as_openpyxl(path)
    assert open_streamed(path)["Data"]["C1"].value is None


@pytest.mark.parametrize(
    ("rows", "tail"),
    [
        # a cell outside any row: openpyxl reads cells in rows only
        ('<c r="B3"><v>9</v></c><row r="1"><c r="A1"><v>1</v></c></row>', ""),
        ('<row r="1"><c r="A1"><v>1</v></c></row>', '<extLst><c r="B1"><v>9</v></c></extLst>'),
        # a row past sheetData: openpyxl reads a row wherever it stands
        (
            '<row r="1"><c r="A1"><v>1</v></c></row>',
            '<extLst><row r="2"><c r="B2"><v>9</v></c></row></extLst>',
        ),
        # an inline string's text in an element that is no run: not text
        ('<row r="1"><c r="A1" t="inlineStr"><is><u><t>z</t></u><t>a</t></is></c></row>', ""),
        ('<row r="1"><c r="A1"><x><v>9</v></x></c><c r="B1"><v>1</v></c></row>', ""),
    ],
    ids=[
        "before-the-rows",
        "in-extLst",
        "row-in-extLst",
        "text-not-in-a-run",
        "value-not-the-cells",
    ],
)
def test_cells_are_where_openpyxl_finds_them(plain_book, tmp_path, rows, tail):
    path = with_sheet_xml(plain_book, tmp_path / "where.xlsx", rows, tail, prefixed=False)
    assert assert_reads_as_openpyxl(path) >= 1


@pytest.mark.broken_files
@pytest.mark.parametrize(
    ("cells", "what"),
    [
        ('<c r="A1"><v>1</v><v>2</v></c>', "two values"),
        ('<c r="A1"><v>1<x/>2</v></c>', "an element inside its text"),
        ('<c r="A1" t="inlineStr"><is><t>a<x>b</x>c</t></is></c>', "an element inside its text"),
        ('<c r="A1" t="inlineStr"><is><t>a</t><t>b</t></is></c>', "two texts"),
        ('<c r="A1" t="inlineStr"><is><r><t>a</t><t>b</t></r></is></c>', "two texts"),
        ('<c r="A1" t="inlineStr"><is><r><t>a</t></r><t>p</t></is></c>', "two texts"),
        ('<c r="A1" t="inlineStr"><is><t>a</t></is><is><t>b</t></is></c>', "two inline strings"),
        ("<extLst/><c><v>5</v></c>", "an element <extLst> inside a row"),
        ('<row r="2"><c r="A2"><v>5</v></c></row>', "an element <row> inside a row"),
    ],
)
def test_a_cell_openpyxl_reads_otherwise_than_excel_writes_is_refused(
    plain_book, tmp_path, cells, what
):
    """openpyxl reads these its own way (the first value, the last text, an element in a row
    as a cell); Excel never writes them: the reader refuses them at their cell."""
    rows = f'<row r="1">{cells}</row>'
    path = with_sheet_xml(plain_book, tmp_path / "odd.xlsx", rows, prefixed=False)
    expat_only = mock.patch.object(_SheetParser, "parse_plain", return_value=False)
    for reading in (contextlib.nullcontext(), expat_only):
        with reading, pytest.raises(WorkbookFileError, match=rf"Data!A1: holds {what}"):
            open_streamed(path)["Data"].cell(1, 1)


def test_character_references_read_as_xml_reads_them(plain_book, tmp_path):
    """XML reads ``&#x80;`` as U+0080 and ``&#xFDD0;`` as itself; HTML's rules (a Windows
    code page for 0x80–0x9F, nothing for non-characters) are not XML's."""
    refs = "&#x80;&#150;&#x7F;&#xFDD0;&#x9;&amp;amp;&#38;lt;"
    rows = (
        f'<row r="1"><c r="A1" t="str"><v>{refs}</v></c>'
        f'<c r="B1" t="inlineStr"><is><t>{refs}</t></is></c></row>'
    )
    path = with_sheet_xml(plain_book, tmp_path / "refs.xlsx", rows, prefixed=False)
    assert assert_reads_as_openpyxl(path) >= 2


@pytest.mark.parametrize(
    "rows",
    [
        '<row r="3"><c r="A3"><v>3</v></c></row><row r="1"><c r="A1"><v>1</v></c></row>',
        '<row r="70"><c r="A70"><v>70</v></c></row><row r="2"><c r="A1"><v>1</v></c></row>',
        '<row r="1"><c r="B1"><v>2</v></c></row><row r="90"><c r="A1"><v>1</v></c></row>',
        '<row r="5"><c r="A5"><v>5</v></c></row><row r="6"><c r="A&#49;"><v>1</v></c></row>',
    ],
    ids=["rows-backwards", "row-70-then-2", "cell-above-its-row", "reference-by-number"],
)
def test_a_stamp_is_read_as_openpyxl_reads_it_whatever_the_row_order(plain_book, tmp_path, rows):
    """A partial read stops at the first row past the one asked for; a row or cell above it
    further on (Excel writes rows in order, another program need not) must still be read."""
    path = with_sheet_xml(plain_book, tmp_path / "order.xlsx", rows, prefixed=False)
    want = openpyxl.load_workbook(path, data_only=True)["Data"]
    assert [c.value for c in open_streamed(path)["Data"][1]] == [c.value for c in want[1]]
    for coordinate in ("A1", "B1"):
        assert open_streamed(path)["Data"][coordinate].value == want[coordinate].value


@pytest.mark.parametrize(
    "tail",
    [
        '<mergeCell ref="A5:B6"/>',  # no mergeCells around it
        '<mergeCells count="1"><x><mergeCell ref="C5:D6"/></x></mergeCells>',
        '<extLst><mergeCells count="1"><mergeCell ref="E1:F2"/></mergeCells></extLst>',
    ],
    ids=["alone", "not-a-child", "in-extLst"],
)
def test_merged_ranges_are_those_openpyxl_reads(plain_book, tmp_path, tail):
    rows = '<row r="1"><c r="A1"><v>1</v></c></row>'
    path = with_sheet_xml(plain_book, tmp_path / "merged.xlsx", rows, tail, prefixed=False)
    assert assert_reads_as_openpyxl(path) >= 1


@pytest.mark.broken_files
@pytest.mark.parametrize("second", ["Data", "DATA"])
def test_two_tabs_of_one_name_are_refused(tmp_path, second):
    """openpyxl renames the second (Data1) and reads the first as Data: the reader must not
    read the other one under that name. Excel never writes two (its names ignore case)."""
    wb = openpyxl.Workbook()
    wb.active.title = "Data"
    wb.active["A1"] = 1
    wb.create_sheet("Other")["A1"] = 2
    wb.save(tmp_path / "two.xlsx")
    out = tmp_path / "twice.xlsx"
    with zipfile.ZipFile(tmp_path / "two.xlsx") as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/workbook.xml":
                data = data.replace(b'name="Other"', f'name="{second}"'.encode())
            dst.writestr(info, data)
    with pytest.raises(WorkbookFileError, match=r"twice.xlsx: has two tabs named 'Data'"):
        open_streamed(tmp_path / "twice.xlsx")


# --- parts found two ways ---------------------------------------------------------------------

_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _sst(*strings: str) -> bytes:
    items = "".join(f"<si><t>{s}</t></si>" for s in strings)
    return f'<sst xmlns="{_MAIN_NS}" count="{len(strings)}">{items}</sst>'.encode()


def _repackaged(base: Path, out: Path, change: Any) -> Path:
    """``base`` with its parts passed through ``change(parts)`` (name → bytes)."""
    with zipfile.ZipFile(base) as src:
        parts = {info.filename: src.read(info) for info in src.infolist()}
    change(parts)
    with zipfile.ZipFile(out, "w") as dst:
        for name, data in parts.items():
            dst.writestr(name, data)
    return out


def _strings_two_ways(parts: dict[str, bytes]) -> None:
    """Shared strings by the relationships in one part, by the content types in another."""
    parts["xl/worksheets/sheet1.xml"] = (
        f'<worksheet xmlns="{_MAIN_NS}"><sheetData><row r="1">'
        '<c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>'
    ).encode()
    parts["xl/sharedStrings.xml"] = _sst("by the relationships")
    parts["xl/strings2.xml"] = _sst("by the content types")
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Id="rId9" Type="{_RT}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>".encode(),
    )
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        f'<Override PartName="/xl/strings2.xml" ContentType="{_CT}.sharedStrings+xml"/>'
        "</Types>".encode(),
    )


def _styles_two_ways(parts: dict[str, bytes]) -> None:
    """openpyxl reads xl/styles.xml whatever the relationships say: here they name one
    without the date format of B1."""
    parts["xl/styles2.xml"] = f'<styleSheet xmlns="{_MAIN_NS}"/>'.encode()
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b'Target="styles.xml"', b'Target="styles2.xml"'
    )


def _workbook_two_ways(parts: dict[str, bytes]) -> None:
    """The content types name another workbook part, whose tab has another name."""
    parts["xl/book2.xml"] = parts["xl/workbook.xml"].replace(b'name="Data"', b'name="Other"')
    parts["xl/_rels/book2.xml.rels"] = parts["xl/_rels/workbook.xml.rels"]
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b'PartName="/xl/workbook.xml"', b'PartName="/xl/book2.xml"'
    )


@pytest.mark.broken_files
@pytest.mark.parametrize(
    ("change", "what"),
    [
        (_strings_two_ways, "shared strings"),
        (_styles_two_ways, "styles"),
        (_workbook_two_ways, "workbook"),
    ],
    ids=["shared strings", "styles", "workbook"],
)
def test_a_part_found_elsewhere_by_openpyxl_is_refused(plain_book, tmp_path, change, what):
    """openpyxl finds the workbook and its shared strings by the content types and reads
    xl/styles.xml; the reader (as Excel) follows the relationships. Where they disagree the
    two would read different values, so the reader refuses the file."""
    path = _repackaged(plain_book, tmp_path / "two-ways.xlsx", change)
    assert openpyxl.load_workbook(path, data_only=True).sheetnames  # openpyxl reads it
    with pytest.raises(WorkbookFileError, match=rf"two-ways.xlsx: .*{what}"):
        open_streamed(path)["Data"]["A1"]


def _rels_target(old: bytes, new: bytes) -> Any:
    def change(parts: dict[str, bytes]) -> None:
        rels = parts["xl/_rels/workbook.xml.rels"]
        parts["xl/_rels/workbook.xml.rels"] = rels.replace(old, new)

    return change


def _without(name: str) -> Any:
    return lambda parts: parts.pop(name)


def _without_id(parts: dict[str, bytes]) -> None:
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b'r:id="rId2"', b"")


@pytest.mark.broken_files
@pytest.mark.parametrize(
    "change",
    [
        _without("xl/worksheets/sheet2.xml"),  # a tab whose part is missing: no tab
        _without_id,  # a tab without its relationship: no tab
        # a relationship of another type than worksheet: read as a worksheet all the same
        _rels_target(
            b'relationships/worksheet" Target="/xl/worksheets/sheet2.xml',
            b'relationships/x" Target="/xl/worksheets/sheet2.xml',
        ),
        # an absolute target is taken as it is written, not normalised
        _rels_target(
            b'Target="/xl/worksheets/sheet2.xml"', b'Target="/xl/x/../worksheets/sheet2.xml"'
        ),
    ],
    ids=["part-missing", "no-relationship", "another-type", "dot-dot"],
)
def test_the_tabs_are_those_openpyxl_reads(tmp_path, change):
    wb = openpyxl.Workbook()
    wb.active.title = "Data"
    wb.active["A1"] = 1
    wb.create_sheet("Other")["A1"] = 2
    wb.save(tmp_path / "two.xlsx")
    path = _repackaged(tmp_path / "two.xlsx", tmp_path / "tabs.xlsx", change)
    assert assert_reads_as_openpyxl(path) >= 1


@pytest.mark.broken_files
@pytest.mark.parametrize("listed", [False, True], ids=["unlisted", "listed-in-extLst"])
def test_a_table_the_tab_does_not_list_is_no_table(tmp_path, listed):
    """openpyxl reads the tables a tab's tableParts lists, wherever that stands; a table
    only related to the tab is none."""
    import re

    from openpyxl.worksheet.table import Table

    wb = openpyxl.Workbook()
    wb.active.title = "Data"
    for row in [["Month", "Spend"], ["2026-01", 1]]:
        wb.active.append(row)
    wb.active.add_table(Table(displayName="Spend", ref="A1:B2"))
    wb.save(tmp_path / "table.xlsx")

    def unlisted(parts: dict[str, bytes]) -> None:
        sheet = parts["xl/worksheets/sheet1.xml"]
        found = re.search(rb"<tableParts.*?</tableParts>", sheet)
        sheet = sheet.replace(found[0], b"")
        if listed:
            sheet = sheet.replace(
                b"</worksheet>", b"<extLst>" + found[0] + b"</extLst></worksheet>"
            )
        parts["xl/worksheets/sheet1.xml"] = sheet

    path = _repackaged(tmp_path / "table.xlsx", tmp_path / "unlisted.xlsx", unlisted)
    assert assert_reads_as_openpyxl(path) >= 1
    assert ("Spend" in open_streamed(path)["Data"].tables) == listed


# --- well-formedness: the bulk reader's checks and expat's over the rest -----------------------

_PLAIN_SHEET = (
    SHEET.format(
        rows="".join(PLAIN_ROWS), tail='<mergeCells count="1"><mergeCell ref="A5:B6"/></mergeCells>'
    )
    .replace("<x:", "<")
    .replace("</x:", "</")
    .replace("xmlns:x=", "xmlns=")
    .replace('<row r="3"/>', '<row r="3" spans="1:9" xmlns:q="urn:q" q:h="1"/>')
    .replace("plain &amp; simple", "plain &amp; simple é ☺ &#x1F600;")
    .encode()
)
_NASTY = [
    b"<",
    b">",
    b"&",
    b'"',
    b"'",
    b"=",
    b"]]>",
    b"]",
    b"\x01",
    b"\x0b",
    b"\xff",
    b"\xc3",
    b"\xef\xbf\xbe",
    b"\xef\xbf\xbf",
    b"\xed\xa0\x80",
    b"&#0;",
    b"&#xD800;",
    b"&#X41;",
    b"&bogus;",
    b"&#65;",
    b"&#x41;",
    b"#",
    b";",
    b":",
    b" ",
    b"\n",
    b"/",
    b"r",
    b"x",
    b"9",
    b'r="1"',
    b' xmlns="urn:other"',
    b" xmlns:p=''",
    b" p:a='1'",
    b" q:h='2'",
    b"<!--x-->",
]


@given(
    st.lists(
        st.tuples(st.integers(0, len(_PLAIN_SHEET)), st.integers(0, 3), st.sampled_from(_NASTY)),
        min_size=1,
        max_size=3,
    )
)
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_tab_read_in_the_plain_form_is_well_formed_xml(plain_book_once, edits):
    """What parse_plain accepts (the bulk reader checking the cells, expat the rest of the
    part) expat accepts whole: a damaged byte anywhere is never read as cells."""
    from xml.parsers import expat

    data = _PLAIN_SHEET
    for at, cut, put in edits:
        data = data[:at] + put + data[at + cut :]
    sheet = open_streamed(plain_book_once)["Data"]
    try:
        accepted = _SheetParser(sheet, None).parse_plain(data)
    except WorkbookFileError:  # a bad value, named once the part proved well-formed
        accepted = True
    if accepted:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.Parse(data, True)  # raises if it is not well-formed


def test_the_plain_sheet_of_the_well_formedness_test_is_read_in_bulk(plain_book, monkeypatch):
    """(Else the test above would test the fallback.)"""
    from leadbook.workbook import sheetparse

    checked: list[bytes] = []
    well_formed = _SheetParser._well_formed
    monkeypatch.setattr(
        _SheetParser, "_well_formed", lambda self, d: checked.append(d) or well_formed(self, d)
    )
    sheet = open_streamed(plain_book)["Data"]
    assert _SheetParser(sheet, None).parse_plain(_PLAIN_SHEET)
    assert sheet._bulk is not None and len(sheet._bulk.value) > 20
    assert len(checked) == 1 and len(checked[0]) < len(_PLAIN_SHEET) / 2
    assert sheetparse._is_plain_sheet(_PLAIN_SHEET)


def test_the_package_check_hands_over_the_parts_it_unpacked(plain_book):
    """open_inputs reads the tabs the check unpacked (not unpacking them twice): they are the
    file's bytes, and bytes that passed before (not unpacked again) hand over none."""
    from leadbook.workbook import read

    read._PASSED.clear()
    tabs = read.check_package(plain_book, lambda part: part.startswith("xl/worksheets/"))
    with zipfile.ZipFile(plain_book) as zf:
        assert (
            tabs == {n: zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/")}
            and len(tabs) == 1
        )
    assert read.check_package(plain_book, lambda part: True) == {}  # passed already
    read._PASSED.clear()
    assert read.check_package(plain_book) == {}
