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
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from defusedxml import ElementTree
from openpyxl.reader.strings import read_string_table
from openpyxl.styles.stylesheet import Stylesheet
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel
from openpyxl.worksheet.cell_range import CellRange

from leadbook.errors import WorkbookFileError

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_MAIN = MAIN + " "
_COORD = re.compile(r"([A-Z]{1,3})([0-9]+)$")
_NUMBER_CHARS = frozenset(".eE")
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
        for r in range(min_row, max_row + 1):
            line = self._rows.get(r, {})
            if values_only:
                yield tuple(line.get(c) for c in columns)
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
            complete = _SheetParser(self, up_to).parse(source)
        self._complete = complete
        self._read_to = up_to if up_to is not None and not complete else 2**31


class _SheetParser:
    """expat handlers filling a :class:`StreamedSheet`'s rows with values."""

    def __init__(self, sheet: StreamedSheet, up_to: int | None):
        self.sheet = sheet
        self.book = sheet._book
        self.up_to = up_to
        self.row = 0
        self.column = 0
        self.kind: str | None = None
        self.style = 0
        self.where: tuple[int, int] = (0, 0)
        self.text: list[str] = []
        self.collect = False
        self.inline = 0  # depth inside <is>, and inside its phonetic runs <rPh>
        self.phonetic = 0
        self.has_value = False

    def parse(self, source: Any) -> bool:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuse_dtd(self.sheet)
        parser.EntityDeclHandler = _refuse_dtd(self.sheet)
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.characters
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

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if not name.startswith(_MAIN):
            return
        tag = name[len(_MAIN) :]
        if tag == "c":
            ref = attrs.get("r")
            if ref:
                match = _COORD.match(ref)
                if match is None:
                    raise self._damaged(f"a cell reference {ref!r}")
                self.row = int(match[2])
                self.column = column_index_from_string(match[1])
            else:
                self.column += 1
            self.kind = attrs.get("t", "n")
            style = attrs.get("s")
            self.style = int(style) if style else 0
            self.text = []
            self.has_value = False
        elif tag == "v":
            self.collect, self.has_value = True, True
        elif tag == "row":
            number = attrs.get("r")
            self.row = int(number) if number else self.row + 1
            self.column = 0
            if self.up_to is not None and self.row > self.up_to:
                raise _EnoughRowsError
        elif tag == "is":
            self.inline += 1
        elif tag == "rPh" and self.inline:
            self.phonetic += 1
        elif tag == "t" and self.inline and not self.phonetic:
            self.collect, self.has_value = True, True
        elif tag == "mergeCell":
            ref = attrs.get("ref")
            if ref:
                self.sheet._merged.ranges.append(CellRange(ref))

    def end(self, name: str) -> None:
        if not name.startswith(_MAIN):
            return
        tag = name[len(_MAIN) :]
        if tag == "c":
            value = self.value("".join(self.text)) if self.has_value else None
            if value is not None:
                self.sheet._rows.setdefault(self.row, {})[self.column] = value
            self.kind = None
        elif tag in ("v", "t"):
            self.collect = False
        elif tag == "is":
            self.inline -= 1
        elif tag == "rPh" and self.inline:
            self.phonetic -= 1

    def characters(self, data: str) -> None:
        if self.collect:
            self.text.append(data)

    def value(self, text: str) -> Any:
        """The cell's value as openpyxl's reader gives it with ``data_only=True``."""
        kind = self.kind
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
            if self.style in self.book.date_styles:
                try:
                    return from_excel(
                        number, self.book.epoch, timedelta=self.style in self.book.timedelta_styles
                    )
                except (OverflowError, ValueError):
                    return "#VALUE!"
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

    def __init__(self, path: Path, archive: zipfile.ZipFile):
        self.path = path
        self.name = path.name
        self._signature = _signature(path)
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
            part = targets.get(node.get(f"{{{REL}}}id") or "", ("", ""))
            self.sheetnames.append(title)
            if part[1].endswith("/worksheet") and part[0] in names:
                tables = _tables(archive, part[0], names)
                self.worksheets.append(StreamedSheet(self, title, part[0], tables))
        self._by_title = {ws.title: ws for ws in self.worksheets}
        self.shared_strings: list[str] = []
        shared = [t for t, kind in targets.values() if kind.endswith("/sharedStrings")]
        if shared and shared[0] in names:
            with archive.open(shared[0]) as source:
                self.shared_strings = read_string_table(source)
        self.date_styles: set[int] = set()
        self.timedelta_styles: set[int] = set()
        styles = [t for t, kind in targets.values() if kind.endswith("/styles")]
        if styles and styles[0] in names:
            sheet = Stylesheet.from_tree(_xml(archive, styles[0]))
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
        if _signature(self.path) != self._signature:
            raise WorkbookFileError(
                f"{self.name}: changed on disk while leadbook was reading it; run again"
            )
        with zipfile.ZipFile(self.path) as archive:
            yield archive


def _signature(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def open_streamed(path: str | Path) -> StreamedBook:
    """The workbook at ``path``, its cells read as they are asked for.

    Raises :class:`~leadbook.errors.WorkbookFileError` if its package is damaged.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            return StreamedBook(path, archive)
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
            resolved = posixpath.normpath(target.lstrip("/"))
        else:
            resolved = posixpath.normpath(posixpath.join(folder, target))
        found[rel.get("Id") or ""] = (resolved, rel.get("Type") or "")
    return found


def _tables(archive: zipfile.ZipFile, sheet_part: str, names: set[str]) -> dict[str, Any]:
    """The Excel Tables of a worksheet part, by display name."""
    tables = {}
    for target, kind in _relationships(archive, sheet_part).values():
        if not kind.endswith("/table") or target not in names:
            continue
        node = _xml(archive, target)
        name, ref = node.get("displayName") or node.get("name"), node.get("ref")
        if name and ref:
            range_boundaries(ref)  # a damaged reference fails here, not in the reader
            tables[name] = StreamedTable(name, ref)
    return tables
