"""Read a workbook's cells without loading it into openpyxl: the reader's streaming mode.

openpyxl builds an object for every cell of every tab (styles, fonts, the output tabs
included) before anything can be read: a workbook of 10,000 sources with 200,000 History
rows took 20–40 s and over 1 GB to open. :func:`open_streamed` reads only what the input
checks ask for — a tab's cell values, parsed once with expat the first time they are asked
for (and only down to the rows asked for, so a stamp in row 1 of an output tab costs a few
rows), its Excel Tables and merged ranges, the workbook's defined names — and keeps values
only.

The :class:`StreamedBook` answers the few questions the reader (:mod:`leadbook.workbook.read`),
the input fingerprints and the stamps (:mod:`leadbook.workbook.provenance`) ask of an
openpyxl workbook, with the values openpyxl gives when it opens the file with
``data_only=True``: numbers as int or float, dates by the cell's number format, shared and
inline strings, booleans, error codes as text, a formula's cached value. openpyxl's own
helpers read the shared strings and the number formats. Writing still goes through openpyxl
(:mod:`leadbook.workbook.write`).

The package must have passed :func:`leadbook.workbook.read.check_package` (no DTD, bounded
size and cells); the parser refuses a DTD or entity declaration anyway.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from defusedxml import ElementTree
from openpyxl.packaging.manifest import Manifest
from openpyxl.reader.excel import _find_workbook_part
from openpyxl.reader.strings import read_string_table
from openpyxl.styles.stylesheet import Stylesheet
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.xml.constants import ARC_STYLE, SHARED_STRINGS

from leadbook.errors import WorkbookFileError
from leadbook.workbook.plaincells import plain_rows

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_MAIN = MAIN + " "
_PLAIN_CELLS = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]+)"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?'
    rb"\s*(?:/>|>"
    rb"(?:<f\b[^>]*?(?:/>|>[^<]*</f>))?"
    rb"(?:<v>([^<]*)</v>|<v\s*/>)?"
    rb'((?:<is><t(?: xml:space="preserve")?>([^<]*)</t></is>|<is><t\s*/></is>|<is\s*/>))?'
    rb"</c>)"
)
"""A cell in the plain form: column, row, style, type, value, inline string, its text."""
_PLAIN_ROW = re.compile(rb"<row(?:[ \t\r\n][^>]*?)?(/?)>|</row>")
"""A row's start tag (``/`` if it is empty) or its end tag, in the plain form."""
_NEAR_REF = re.compile(
    rb"""\sr\s*=\s*(?:"(?![A-Z]{0,3}[1-9][0-9]{2,}")([^"]*)"|'(?![A-Z]{0,3}[1-9][0-9]{2,}')([^']*)')"""
)
"""An ``r`` attribute but one plainly past row 99: read further by :func:`_rows_past`."""
_PLAIN_REF = re.compile(rb"[A-Z]{0,3}([0-9]{1,2})")
_REFERENCE = re.compile(r"&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));")
"""A reference in well-formed XML: a character's number, or one of XML's five entities."""
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_CELL_OR_ROW = re.compile(rb"<(?:c[ \t\r\n/>]|row\b)")
_MERGE_REF = re.compile(rb"""<mergeCell\s+ref\s*=\s*["']([^"']+)["']""")
_PLAIN_MERGES = re.compile(
    rb'<mergeCells(?: count="[0-9]+")?>((?:<mergeCell ref="[^"]*" ?/>)*)</mergeCells>'
)
"""The merged ranges in the plain form: each a child of mergeCells, as openpyxl reads them."""
_MERGE_TAG = re.compile(rb"<mergeCell[ \t\r\n/>]")
_PREFIXED = re.compile(rb"<[A-Za-z_][\w.-]*:(?:c|row|v|is|t|r|f|rPh|mergeCell|sheetData)\b")
_C, _V, _ROW, _IS, _R, _T, _MERGES, _MERGE = (
    _MAIN + tag for tag in ("c", "v", "row", "is", "r", "t", "mergeCells", "mergeCell")
)
_TABLE_PARTS, _TABLE_PART = _MAIN + "tableParts", _MAIN + "tablePart"
_COORD = re.compile(r"([A-Z]{1,3})([0-9]+)$")
_NUMBER_CHARS = frozenset(".eE")
_FLOAT_MARK = re.compile(rb"[.eE]")
"""What makes a stored number a float rather than an int (:data:`_NUMBER_CHARS`), in bytes."""
_PARTIAL_ROWS = 50
"""A tab asked only for its top rows (a stamp, a status cell) is read down to this row."""


@dataclass(frozen=True)
class StreamedCell:
    """A cell as the reader sees it: where it is and its value."""

    row: int
    column: int
    value: Any = None

    @property
    def coordinate(self) -> str:
        return f"{get_column_letter(self.column)}{self.row}"


@dataclass(frozen=True)
class StreamedTable:
    """An Excel Table: its name and the range it covers."""

    displayName: str  # noqa: N815 (openpyxl's name for it)
    ref: str


@dataclass(frozen=True)
class StreamedName:
    """A workbook-level defined name and what it refers to (``Settings!$C$5``)."""

    name: str
    attr_text: str


@dataclass
class _MergedCells:
    ranges: list[CellRange] = field(default_factory=list)


class _EnoughRowsError(Exception):
    """Raised from inside the parser once the rows asked for are read."""


class StreamedSheet:
    """One tab, its cells read from the package the first time they are asked for."""

    def __init__(self, book: StreamedBook, title: str, part: str, tables: dict[str, Any]):
        self._book = book
        self.title = title
        self.part = part
        self.tables = tables
        self._rows: dict[int, dict[int, Any]] = {}
        self._merged = _MergedCells()
        self._read_to = 0
        """Rows up to this one are read (the whole tab once ``_complete``)."""
        self._complete = False

    # --- the questions the reader asks ------------------------------------------------------

    @property
    def merged_cells(self) -> _MergedCells:
        self._read(None)
        return self._merged

    def cell(self, row: int, column: int) -> StreamedCell:
        self._read(row)
        return StreamedCell(row, column, self._rows.get(row, {}).get(column))

    def __getitem__(self, coordinate: str | int) -> Any:
        """A cell (``ws["B5"]``), or a row's cells (``ws[1]``) as openpyxl gives them."""
        if isinstance(coordinate, int):
            (row,) = self.iter_rows(coordinate, coordinate, 1, None)
            return row
        match = _COORD.match(coordinate.replace("$", "").upper())
        if match is None:
            raise KeyError(coordinate)
        return self.cell(int(match[2]), column_index_from_string(match[1]))

    def iter_rows(
        self,
        min_row: int = 1,
        max_row: int | None = None,
        min_col: int = 1,
        max_col: int | None = None,
        values_only: bool = False,
    ) -> Iterator[tuple[Any, ...]]:
        self._read(max_row)
        max_row = max_row if max_row is not None else max(self._rows, default=0)
        max_col = max_col if max_col is not None else self._max_column()
        columns = range(min_col, max_col + 1)
        empty: dict[int, Any] = {}
        for r in range(min_row, max_row + 1):
            line = self._rows.get(r, empty)
            if values_only:
                yield tuple(map(line.get, columns))
            else:
                yield tuple(StreamedCell(r, c, line.get(c)) for c in columns)

    def iter_cols(
        self, min_col: int, max_col: int, min_row: int, max_row: int
    ) -> Iterator[tuple[StreamedCell, ...]]:
        self._read(max_row)
        for c in range(min_col, max_col + 1):
            yield tuple(
                StreamedCell(r, c, self._rows.get(r, {}).get(c))
                for r in range(min_row, max_row + 1)
            )

    def forget(self) -> None:
        """Let go of the cells read so far (read again if asked for): 200,000 History rows
        are a hundred megabytes that a job need not hold while it writes."""
        self._rows, self._merged = {}, _MergedCells()
        self._complete, self._read_to = False, 0

    def _max_column(self) -> int:
        return max((max(line) for line in self._rows.values() if line), default=0)

    # --- reading -----------------------------------------------------------------------------

    def _read(self, up_to: int | None) -> None:
        """Read the tab's cells down to row ``up_to`` (None: all of them), once."""
        if self._complete or (up_to is not None and up_to <= self._read_to):
            return
        if up_to is not None and up_to > _PARTIAL_ROWS:
            up_to = None  # a table: read the tab whole (its merged ranges come last)
        self._rows, self._merged = {}, _MergedCells()
        with self._book.archive() as archive, archive.open(self.part) as source:
            data = source.read()  # the package's size is bounded (read.check_package)
        parser = _SheetParser(self, up_to)
        if up_to is None:
            complete = parser.parse_plain(data) or parser.parse(io.BytesIO(data))
        else:
            complete = parser.parse(io.BytesIO(data))
            if not complete and not _rows_past(data, parser.stopped_at, up_to):
                self._read(None)  # a row above comes later (rows out of order): read it all
                return
        self._complete = complete
        self._read_to = up_to if up_to is not None and not complete else 2**31


class _SheetParser:
    """expat handlers filling a :class:`StreamedSheet`'s rows with values.

    The handlers run once per element (about four million for 200,000 History rows), so they
    are closures over local state, comparing expat's interned element names."""

    def __init__(self, sheet: StreamedSheet, up_to: int | None):
        self.sheet = sheet
        self.book = sheet._book
        self.up_to = up_to
        self.row = 0
        self.column = 0
        self._dates: dict[tuple[float, bool], Any] = {}
        self.stopped_at = 0
        """Where the first row past ``up_to`` starts (a byte index), once parse() stops there."""

    def parse(self, source: Any) -> bool:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuse_dtd(self.sheet)
        parser.EntityDeclHandler = _refuse_dtd(self.sheet)
        self._install(parser)
        try:
            parser.ParseFile(source)
        except _EnoughRowsError:
            return False
        except expat.ExpatError as exc:
            raise WorkbookFileError(
                f"{self.book.name}: tab {self.sheet.title!r} is not well-formed XML ({exc}); "
                "the file is damaged — open it in Excel and save it again"
            ) from exc
        return True

    def parse_plain(self, data: bytes) -> bool:
        """Read a whole tab written in the plain form Excel, LibreOffice and openpyxl write —
        UTF-8, the main namespace the default one (declared on the root alone), no comments,
        CDATA or DTD, and every cell ``<c r="B7" s="3" t="s">`` with at most a formula, a
        value or a one-run inline string — with one regular expression, over twice as fast
        as expat's handlers. False, having kept nothing, when the tab is in another form
        (:meth:`parse` then reads it): expat checks the XML is well-formed first, in one pass
        without handlers, and every cell element of the tab must have matched."""
        if not _is_plain_sheet(data):
            return False
        check = expat.ParserCreate(namespace_separator=" ")
        check.StartDoctypeDeclHandler = _refuse_dtd(self.sheet)
        defaults: list[tuple[str | None, int]] = []
        check.StartNamespaceDeclHandler = lambda prefix, uri: (
            defaults.append((uri, check.CurrentByteIndex)) if prefix is None else None
        )
        try:
            check.Parse(data, True)
        except expat.ExpatError:
            return False  # parse() names the damage
        root = data.find(b"<", 1 if data.startswith(b"<?xml") else 0)
        if defaults != [(MAIN, root)]:
            return False  # an unprefixed <c> outside the main namespace is no cell
        begin, end = data.find(b"<sheetData>"), data.find(b"</sheetData>")
        if begin < 0 or end < 0:
            begin = end = len(data)  # no cells (<sheetData/>), or not in the plain form
        if _CELL_OR_ROW.search(data, 0, begin) or _CELL_OR_ROW.search(data, end):
            return False  # a cell or row outside sheetData: parse() reads it as openpyxl does
        rows = plain_rows(self, data, begin + len(b"<sheetData>"), end)
        if rows is None and not self._cells_one_by_one(data, begin, end, rows := {}):
            return False
        refs = [
            ref for block in _PLAIN_MERGES.findall(data, end) for ref in _MERGE_REF.findall(block)
        ]
        if len(refs) != len(_MERGE_TAG.findall(data, end)):
            return False  # a merged range elsewhere than in mergeCells: parse() reads it
        self.sheet._rows.update(rows)
        self.sheet._merged.ranges.extend(CellRange(ref.decode()) for ref in refs)
        return True

    def _cells_one_by_one(self, data: bytes, begin: int, end: int, rows: dict) -> bool:
        """The cells of a plain tab into ``rows``, a regular expression's match each (where
        :func:`~leadbook.workbook.plaincells.plain_rows` gave up); False if a cell is not in
        the plain form."""
        columns: dict[bytes, int] = {}
        styles: dict[bytes | None, int] = {None: 0}
        plain_numbers = {b"n", None}  # a number: read here unless its style shows a date
        dates = self.book.date_styles
        value_of, cell_at, row_at = self.value, _PLAIN_CELLS.match, _PLAIN_ROW.match
        pos, in_row = begin + len(b"<sheetData>"), False
        while pos < end:  # rows and cells, each where the last ended: nothing between
            match = cell_at(data, pos) if in_row else None
            if match is None:
                tag = row_at(data, pos)
                if tag is None or in_row != (tag[1] is None):
                    return False  # another element, or a cell in another form
                in_row, pos = tag[1] == b"", tag.end()
                continue
            pos = match.end()
            letters, digits, style, kind, value, inline, text = match.groups()
            column = columns.get(letters)
            if column is None:
                column = columns[letters] = column_index_from_string(letters.decode())
            self.row, self.column = int(digits), column
            number = styles.get(style)
            if number is None:
                number = styles[style] = int(style)
            if kind in plain_numbers and value and number not in dates:
                try:  # the common cell, as value() reads it, without its call
                    got = float(value) if _FLOAT_MARK.search(value) else int(value)
                except ValueError:
                    got = value_of("n", number, value.decode())  # names the cell
                line = rows.get(self.row)
                if line is None:
                    line = rows[self.row] = {}
                line[column] = got
                continue
            if kind == b"inlineStr":
                if not inline:
                    continue
                raw = text
            elif value:
                raw = value
            else:
                continue
            if b"\r" in raw:  # as XML reads line ends (a character reference stays)
                raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            decoded = raw.decode()
            if "&" in decoded:
                decoded = _REFERENCE.sub(_referenced, decoded)
            got = value_of(kind.decode() if kind else "n", number, decoded)
            if got is not None:
                line = rows.get(self.row)
                if line is None:
                    line = rows[self.row] = {}
                line[column] = got
        return True

    def _install(self, parser: Any) -> None:
        rows = self.sheet._rows
        merged = self.sheet._merged.ranges
        up_to = self.up_to if self.up_to is not None else 2**62
        columns: dict[str, int] = {}
        text: list[str] = []
        # the cell being read: kind, style, whether it has a value, whether text is collected
        cell: list[Any] = ["n", 0, False, False]
        # the element depth, the open row's, the open cell's and the open mergeCells' (-1: none)
        depth = [0, -1, -1, -1]
        inside: list[str] = []  # the elements open inside the cell
        seen: set[str] = set()  # the cell's value, inline string, texts and runs read so far
        value_of = self.value

        def start(name: str, attrs: dict[str, str]) -> None:
            depth[0] += 1
            if depth[2] >= 0:
                if name == _V and not inside and not cell[3] and _V not in seen:
                    inside.append(name)  # a cell's value, the common case, read at once
                    seen.add(name)
                    if cell[0] != "inlineStr":  # an inline string's text is in <is> alone
                        cell[2] = cell[3] = True
                else:
                    inner(name)
            elif depth[0] == depth[1] + 1:
                if name != _C:  # openpyxl would read it as a cell
                    raise self._damaged(f"an element <{name.removeprefix(_MAIN)}> inside a row")
                ref = attrs.get("r")
                if ref:
                    letters = ref.rstrip("0123456789")
                    column = columns.get(letters)
                    if column is None:
                        if not letters.isalpha() or not letters.isupper() or len(letters) > 3:
                            raise self._damaged(f"a cell reference {ref!r}")
                        column = columns[letters] = column_index_from_string(letters)
                    digits = ref[len(letters) :]
                    if not digits.isdigit():
                        raise self._damaged(f"a cell reference {ref!r}")
                    self.row, self.column = int(digits), column
                else:
                    self.column += 1
                style = attrs.get("s")
                cell[:] = attrs.get("t", "n"), int(style) if style else 0, False, False
                text.clear()
                inside.clear()
                seen.clear()
                depth[2] = depth[0]
            elif name == _ROW:
                number = attrs.get("r")
                self.row = int(number) if number else self.row + 1
                self.column = 0
                if self.row > up_to:
                    self.stopped_at = parser.CurrentByteIndex
                    raise _EnoughRowsError
                depth[1] = depth[0]
            elif name == _MERGES:
                depth[3] = depth[0]
            elif name == _MERGE and depth[0] == depth[3] + 1:
                ref = attrs.get("ref")
                if ref:
                    merged.append(CellRange(ref))

        def inner(name: str) -> None:
            """An element inside the cell but its first value: its value, its inline
            string's text and runs are read where openpyxl reads them; what openpyxl reads
            otherwise is refused."""
            if cell[3]:
                raise self._damaged("an element inside its text")
            if name == _ROW:
                raise self._damaged("an element <row> inside a cell")
            inside.append(name)
            path = tuple(inside)
            if path == (_V,) or path == (_IS,):
                if name in seen:
                    raise self._damaged("two values" if name == _V else "two inline strings")
                seen.add(name)
                if (name == _IS) == (cell[0] == "inlineStr"):
                    cell[2] = True  # "" if it holds no text, as openpyxl reads it
                    cell[3] = name == _V
            elif path == (_IS, _R):
                seen.add(_R)
                seen.discard(_T)
            elif path == (_IS, _T) or path == (_IS, _R, _T):
                if _T in seen or (len(path) == 2 and _R in seen):
                    raise self._damaged("two texts in its inline string")
                seen.add(_T)
                cell[3] = cell[0] == "inlineStr"

        def end(name: str) -> None:
            depth[0] -= 1
            if depth[0] + 1 == depth[2]:
                depth[2] = -1
                cell[3] = False
                if cell[2]:
                    value = value_of(cell[0], cell[1], "".join(text))
                    if value is not None:
                        line = rows.get(self.row)
                        if line is None:
                            line = rows[self.row] = {}
                        line[self.column] = value
            elif depth[2] >= 0:
                inside.pop()
                cell[3] = False
            elif depth[0] + 1 == depth[1]:
                depth[1] = -1
            elif depth[0] + 1 == depth[3]:
                depth[3] = -1

        def characters(data: str) -> None:
            if cell[3]:
                text.append(data)

        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = characters

    def value(self, kind: str, style: int, text: str) -> Any:
        """The cell's value as openpyxl's reader gives it with ``data_only=True``."""
        if kind == "inlineStr":
            return text
        if not text:
            return None
        if kind == "n":
            try:
                number = float(text) if _NUMBER_CHARS.intersection(text) else int(text)
            except ValueError:
                coordinate = f"{get_column_letter(self.column)}{self.row}"
                shown = text if len(text) <= 24 else f"{text[:20]}…"
                raise WorkbookFileError(
                    f"{self.book.name}, {self.sheet.title}!{coordinate}: holds {shown!r} where "
                    "a number is stored, which Excel never writes (NaN or infinity from another "
                    "program?); type a number or clear the cell"
                ) from None
            if style in self.book.date_styles:
                key = (number, style in self.book.timedelta_styles)
                date = self._dates.get(key)
                if date is None:  # a column of months repeats a few: each converted once
                    try:
                        date = from_excel(number, self.book.epoch, timedelta=key[1])
                    except (OverflowError, ValueError):
                        date = "#VALUE!"
                    self._dates[key] = date
                return date
            return number
        if kind == "s":
            try:
                return self.book.shared_strings[int(text)]
            except (IndexError, ValueError):
                raise self._damaged(f"a shared string {text!r} that the workbook lacks") from None
        if kind == "b":
            return text.strip() not in ("0", "false")
        if kind == "d":
            from openpyxl.utils.datetime import from_ISO8601

            try:
                return from_ISO8601(text)
            except ValueError:
                return "#VALUE!"
        return text  # "str" (a formula's text), "e" (an error code such as #N/A)

    def _damaged(self, what: str) -> WorkbookFileError:
        coordinate = f"{get_column_letter(max(self.column, 1))}{max(self.row, 1)}"
        return WorkbookFileError(
            f"{self.book.name}, {self.sheet.title}!{coordinate}: holds {what}, which Excel "
            "never writes; the file is damaged — open it in Excel and save it again"
        )


def _rows_past(data: bytes, start: int, up_to: int) -> bool:
    """Whether every row and cell reference (``r="…"``) of a worksheet part from byte
    ``start`` on is past row ``up_to``: a partial read stopping there has missed nothing. A
    reference that is not plain letters and digits (a character reference, say), or a part
    in UTF-16, is not known to be past."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4]:
        return False
    for match in _NEAR_REF.finditer(data, start):
        near = _PLAIN_REF.fullmatch(match[1] if match[1] is not None else match[2])
        if near is None or int(near[1]) <= up_to:
            return False
    return True


def _referenced(match: re.Match[str]) -> str:
    """The character a reference stands for, as XML reads it (HTML maps some otherwise)."""
    hexadecimal, decimal, entity = match.groups()
    if entity:
        return _ENTITIES[entity]
    return chr(int(hexadecimal, 16) if hexadecimal else int(decimal))


def _is_plain_sheet(data: bytes) -> bool:
    """Whether a worksheet part is in the plain form :meth:`_SheetParser.parse_plain` reads:
    UTF-8 (declared or not), the main namespace as the default one, no element of it
    prefixed, and no comment, CDATA section, DTD or processing instruction but the XML
    declaration."""
    head = data[:4096]
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        return False
    if data.startswith(b"<?xml"):
        declaration = head[: head.find(b"?>") + 2]
        encoding = re.search(rb"""encoding\s*=\s*["']([^"']+)["']""", declaration)
        if encoding and encoding[1].lower() not in (b"utf-8", b"utf8"):
            return False
        after = len(declaration)
    else:
        after = 0
    return (
        f'xmlns="{MAIN}"'.encode() in head
        and b"<!" not in data
        and data.find(b"<?", after) < 0  # found in place: the part may be 75 MB
        and _PREFIXED.search(data) is None
    )


def _refuse_dtd(sheet: StreamedSheet) -> Any:
    def refuse(*_: Any) -> None:
        raise WorkbookFileError(
            f"{sheet._book.name}: tab {sheet.title!r} declares an XML DTD or entities; Excel "
            "never writes these, leadbook refuses the file"
        )

    return refuse


class StreamedBook:
    """The tabs, Excel Tables and defined names of a workbook package, read on demand.

    Examples
    --------
    >>> import openpyxl, tempfile, pathlib
    >>> from openpyxl.worksheet.table import Table
    >>> wb = openpyxl.Workbook(); ws = wb.active; ws.title = "Data"
    >>> for row in [["Month", "Spend"], ["2026-01", 1200.5], ["2026-02", 900]]: ws.append(row)
    >>> ws.add_table(Table(displayName="Spend", ref="A1:B3"))
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "book.xlsx"; wb.save(path)
    >>> sheet = open_streamed(path)["Data"]
    >>> print(sheet.tables["Spend"].ref, list(sheet.iter_rows(2, 3, 2, 2, values_only=True)))
    A1:B3 [(1200.5,), (900,)]
    """

    def __init__(self, path: Path, archive: zipfile.ZipFile, signature: tuple[int, ...]):
        self.path = path
        self.name = path.name
        self._signature = signature
        names = set(archive.namelist())
        book = _xml(archive, "xl/workbook.xml")
        self.epoch = CALENDAR_WINDOWS_1900
        pr = book.find(f"{{{MAIN}}}workbookPr")
        if pr is not None and pr.get("date1904", "").lower() in ("1", "true"):
            self.epoch = CALENDAR_MAC_1904
        self.defined_names = {
            n.get("name"): StreamedName(n.get("name"), (n.text or "").strip())
            for n in book.iterfind(f"{{{MAIN}}}definedNames/{{{MAIN}}}definedName")
            if n.get("name") and n.get("localSheetId") is None
        }
        targets = _relationships(archive, "xl/workbook.xml")
        self.worksheets: list[StreamedSheet] = []
        self.sheetnames: list[str] = []
        for node in book.iterfind(f"{{{MAIN}}}sheets/{{{MAIN}}}sheet"):
            title = node.get("name") or ""
            part, kind = targets.get(node.get(f"{{{REL}}}id") or "", ("", ""))
            if part not in names:
                continue  # openpyxl has no such tab (a missing part, no relationship)
            self.sheetnames.append(title)
            if "chartsheet" not in kind:  # openpyxl reads any other part as a worksheet
                tables = _tables(archive, part, names)
                self.worksheets.append(StreamedSheet(self, title, part, tables))
        self._by_title = {ws.title: ws for ws in self.worksheets}
        seen: dict[str, str] = {}
        for title in self.sheetnames:  # openpyxl would rename the second (Data1)
            first = seen.get(title.casefold())
            seen.setdefault(title.casefold(), title)
            if first is not None:
                named = repr(first) if first == title else f"{first!r} and {title!r}"
                raise WorkbookFileError(
                    f"{self.name}: has two tabs named {named}, which Excel never allows; the "
                    "file is damaged — open it in Excel and save it again"
                )
        shared, styles = _agreed_parts(self.name, archive, names, targets)
        self.shared_strings: list[str] = []
        if shared:
            with archive.open(shared) as source:
                self.shared_strings = read_string_table(source)
        self.date_styles: set[int] = set()
        self.timedelta_styles: set[int] = set()
        if styles:
            sheet = Stylesheet.from_tree(_xml(archive, styles))
            self.date_styles = set(sheet.date_formats)
            self.timedelta_styles = set(sheet.timedelta_formats)

    def __getitem__(self, title: str) -> StreamedSheet:
        return self._by_title[title]

    def __contains__(self, title: str) -> bool:
        return title in self._by_title

    @contextlib.contextmanager
    def archive(self) -> Iterator[zipfile.ZipFile]:
        """The package, opened for one read: no handle stays open between reads (a job
        replaces the file it read), and a file changed since it was first opened is refused
        rather than read half old, half new."""
        with open(self.path, "rb") as handle:
            self.refuse_if_changed(file_signature(handle.fileno()))
            with zipfile.ZipFile(handle) as archive:
                yield archive

    def refuse_if_changed(self, signature: tuple[int, ...] | None) -> None:
        """Raise unless ``signature`` (:func:`file_signature`) is the package's as first read."""
        if signature != self._signature:
            raise WorkbookFileError(
                f"{self.name}: changed on disk while leadbook was reading it; run again"
            )


def file_signature(file: str | Path | int) -> tuple[int, ...]:
    """What changes when a file is replaced or written to (a path, or an open file's
    descriptor): the change time too, which, unlike the modification time, no one sets back."""
    stat = os.stat(file)
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


def open_streamed(path: str | Path) -> StreamedBook:
    """The workbook at ``path``, its cells read as they are asked for.

    Raises :class:`~leadbook.errors.WorkbookFileError` if its package is damaged.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle, zipfile.ZipFile(handle) as archive:
            return StreamedBook(path, archive, file_signature(handle.fileno()))
    except WorkbookFileError:
        raise
    except (KeyError, ElementTree.ParseError, ValueError, TypeError) as exc:
        raise WorkbookFileError(
            f"{path.name}: cannot be read as an Excel workbook ({type(exc).__name__}: {exc})"
        ) from exc


def _xml(archive: zipfile.ZipFile, part: str) -> Any:
    return ElementTree.fromstring(archive.read(part))


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """The relationships of ``part``: id → (the target's part name, the relationship type)."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", f"{name}.rels")
    if rels not in archive.namelist():
        return {}
    found = {}
    for rel in _xml(archive, rels).iterfind(f"{{{PKG_REL}}}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target") or ""
        if target.startswith("/"):
            resolved = target[1:]  # as openpyxl takes it (not normalised)
        else:
            resolved = posixpath.normpath(posixpath.join(folder, target))
        found[rel.get("Id") or ""] = (resolved, rel.get("Type") or "")
    return found


def _agreed_parts(
    name: str, archive: zipfile.ZipFile, names: set[str], targets: dict[str, tuple[str, str]]
) -> tuple[str | None, str | None]:
    """The shared strings and styles parts, as the workbook's relationships name them (as
    Excel finds them). Refused where openpyxl — which finds the workbook and its shared
    strings by the content types, and reads xl/styles.xml — would read other parts."""
    package = Manifest.from_tree(_xml(archive, "[Content_Types].xml"))
    try:
        book = _find_workbook_part(package).PartName[1:]
    except OSError:  # no part has a workbook's content type
        book = None
    strings = package.find(SHARED_STRINGS)
    found = {
        "workbook": ("xl/workbook.xml", book),
        "shared strings": (
            _target(targets, names, "/sharedStrings"),
            strings.PartName[1:] if strings is not None else None,
        ),
        "styles": (_target(targets, names, "/styles"), ARC_STYLE if ARC_STYLE in names else None),
    }
    for what, (by_relationships, by_content_types) in found.items():
        if by_relationships != by_content_types:
            raise WorkbookFileError(
                f"{name}: its {what} part is {by_relationships} by its relationships but "
                f"{by_content_types} by its content types (or name); Excel never writes such a "
                "file, it is damaged — open it in Excel and save it again"
            )
    return found["shared strings"][0], found["styles"][0]


def _listed_tables(data: bytes) -> set[str]:
    """The relationship ids a worksheet part's last ``<tableParts>`` lists (openpyxl reads
    it wherever it stands). A tab in the plain form is parsed without its rows when they hold
    no table part: a 200,000-row tab costs its unpacking, not expat's handlers."""
    begin, end = data.find(b"<sheetData>"), data.find(b"</sheetData>")
    if _is_plain_sheet(data) and 0 <= begin < end and data.find(b"tablePart", begin, end) < 0:
        with contextlib.suppress(expat.ExpatError):  # then read whole, below
            return _table_parts(data[: begin + len(b"<sheetData>")] + data[end:])
    with contextlib.suppress(expat.ExpatError):
        return _table_parts(data)
    return set()  # damaged: reading its cells names the damage


def _table_parts(data: bytes) -> set[str]:
    """The relationship ids of the tablePart children of a worksheet part's last tableParts."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    listed: list[set[str]] = [set()]
    at = [0, -1]  # the element depth, the open tableParts' (-1: none)

    def start(name: str, attrs: dict[str, str]) -> None:
        at[0] += 1
        if name == _TABLE_PARTS:
            listed.append(set())
            at[1] = at[0]
        elif name == _TABLE_PART and at[0] == at[1] + 1:
            listed[-1].add(attrs.get(f"{REL} id", ""))

    def end(name: str) -> None:
        if at[0] == at[1]:
            at[1] = -1
        at[0] -= 1

    def refuse(*_: Any) -> None:
        raise expat.ExpatError("a DTD")  # reading the tab's cells names it

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.StartDoctypeDeclHandler = refuse
    parser.Parse(data, True)
    return listed[-1]


def _target(targets: dict[str, tuple[str, str]], names: set[str], kind: str) -> str | None:
    """The first part of relationship type ``…kind`` that the package holds, or None."""
    found = [t for t, k in targets.values() if k.endswith(kind)]
    return found[0] if found and found[0] in names else None


def _tables(archive: zipfile.ZipFile, sheet_part: str, names: set[str]) -> dict[str, Any]:
    """The Excel Tables of a worksheet part, by display name: those it lists (``<tableParts>``),
    as openpyxl reads them — a table only related to the tab is none."""
    related = {
        rid: target
        for rid, (target, kind) in _relationships(archive, sheet_part).items()
        if kind.endswith("/table") and target in names
    }
    if not related:
        return {}
    listed = _listed_tables(archive.read(sheet_part))
    tables = {}
    for rid, target in related.items():
        if rid not in listed:
            continue
        node = _xml(archive, target)
        name, ref = node.get("displayName") or node.get("name"), node.get("ref")
        if name and ref:
            range_boundaries(ref)  # a damaged reference fails here, not in the reader
            tables[name] = StreamedTable(name, ref)
    return tables
