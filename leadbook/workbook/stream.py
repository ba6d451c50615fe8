"""Read a workbook's cells without loading it into openpyxl: the reader's streaming mode.

openpyxl builds an object for every cell of every tab (styles, fonts, the output tabs
included) before anything can be read: a workbook of 10,000 sources with 200,000 History
rows took 20–40 s and over 1 GB to open. :func:`open_streamed` reads only what the input
checks ask for — a tab's cell values, parsed once with expat the first time they are asked
for (and only down to the rows asked for, so a stamp in row 1 of an output tab costs a few
rows), its Excel Tables and merged ranges, the workbook's defined names — and keeps values
only. A tab's cells are parsed by :mod:`leadbook.workbook.sheetparse`.

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
import zipfile
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

import numpy as np
from defusedxml import ElementTree
from openpyxl.packaging.manifest import Manifest
from openpyxl.reader.excel import _find_workbook_part
from openpyxl.reader.strings import read_string_table
from openpyxl.styles.stylesheet import Stylesheet
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.xml.constants import ARC_STYLE, SHARED_STRINGS

from leadbook.errors import WorkbookFileError
from leadbook.workbook.plaincells import PlainCells
from leadbook.workbook.sheetparse import (
    _COORD,
    _MAIN,
    MAIN,
    _is_plain_sheet,
    _rows_past,
    _SheetParser,
)

REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_TABLE_PARTS, _TABLE_PART = _MAIN + "tableParts", _MAIN + "tablePart"

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


class StreamedSheet:
    """One tab, its cells read from the package the first time they are asked for."""

    def __init__(
        self,
        book: StreamedBook,
        title: str,
        part: str,
        tables: dict[str, Any] | None,
        read: tuple[bytes, bool] | None = None,
    ):
        self._book = book
        self.title = title
        self.part = part
        self._tables = tables
        """Its Excel Tables, or None until first asked for (a book opened ``lazy_tables``)."""
        self._unpacked = read
        """The part's bytes and whether it is in the plain form, as opening the workbook
        found its tables: the first read of the cells uses them, not unpacking them again."""
        self._rows: dict[int, dict[int, Any]] = {}
        self._bulk: PlainCells | None = None
        """The cells as the bulk reader gives them, until they are asked for by row (then in
        ``_rows`` too)."""
        self._merged = _MergedCells()
        self._read_to = 0
        """Rows up to this one are read (the whole tab once ``_complete``)."""
        self._complete = False

    # --- the questions the reader asks ------------------------------------------------------

    @property
    def tables(self) -> dict[str, Any]:
        if self._tables is None:
            with self._book.archive() as archive, _named_damage(self._book.path):
                names = set(archive.namelist())
                tab = f"{self._book.name}: tab {self.title!r}"
                self._tables = _tables(archive, self.part, names, tab=tab)[0]
        return self._tables

    @property
    def merged_cells(self) -> _MergedCells:
        self._read(None)
        return self._merged

    def cell(self, row: int, column: int) -> StreamedCell:
        self._read(row)
        return StreamedCell(row, column, self._lines().get(row, {}).get(column))

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
        lines = self._lines()
        max_row = max_row if max_row is not None else max(lines, default=0)
        max_col = max_col if max_col is not None else self._max_column()
        columns = range(min_col, max_col + 1)
        empty: dict[int, Any] = {}
        for r in range(min_row, max_row + 1):
            line = lines.get(r, empty)
            if values_only:
                yield tuple(map(line.get, columns))
            else:
                yield tuple(StreamedCell(r, c, line.get(c)) for c in columns)

    def iter_cols(
        self, min_col: int, max_col: int, min_row: int, max_row: int
    ) -> Iterator[tuple[StreamedCell, ...]]:
        self._read(max_row)
        lines = self._lines()
        for c in range(min_col, max_col + 1):
            yield tuple(
                StreamedCell(r, c, lines.get(r, {}).get(c)) for r in range(min_row, max_row + 1)
            )

    def forget(self) -> None:
        """Let go of the cells read so far (read again if asked for): 200,000 History rows
        are a hundred megabytes that a job need not hold while it writes."""
        self._rows, self._bulk, self._merged = {}, None, _MergedCells()
        self._complete, self._read_to, self._unpacked = False, 0, None

    def table_columns(self, ref: str) -> tuple[tuple[Any, ...], list[Any]]:
        """The header row of the table at ``ref`` and its data cells column by column, as
        :func:`leadbook.workbook.tablecells.table_columns` reads them from any tab: from the
        bulk reader's arrays when the tab was read by it, without a row's dict or tuple."""
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        self._read(max_row)
        bulk = self._bulk
        if bulk is None or not bulk.ordered:
            lines = self.iter_rows(min_row, max_row, min_col, max_col, values_only=True)
            headers = next(lines, ())
            return headers, list(zip(*lines, strict=True)) or [()] * len(headers)
        row, column = bulk.row, bulk.column
        inside = (row >= min_row) & (row <= max_row) & (column >= min_col) & (column <= max_col)
        grid = np.full((max_row - min_row + 1, max_col - min_col + 1), None, object)
        grid[row[inside] - min_row, column[inside] - min_col] = bulk.value[inside]
        headers = tuple(grid[0].tolist())
        if max_row == min_row:
            return headers, [()] * len(headers)
        return headers, [grid[1:, j].tolist() for j in range(grid.shape[1])]

    @property
    def finite_floats(self) -> bool:
        """Whether every float of the tab is known to be finite (read in bulk, it is known)."""
        return self._bulk is not None and self._bulk.finite

    def _lines(self) -> dict[int, dict[int, Any]]:
        """The cells read, by row and column."""
        if self._bulk is not None and not self._rows:
            self._bulk.store(self._rows)
        return self._rows

    def _max_column(self) -> int:
        return max((max(line) for line in self._lines().values() if line), default=0)

    # --- reading -----------------------------------------------------------------------------

    def _read(self, up_to: int | None) -> None:
        """Read the tab's cells down to row ``up_to`` (None: all of them), once."""
        if self._complete or (up_to is not None and up_to <= self._read_to):
            return
        if up_to is not None and up_to > _PARTIAL_ROWS:
            up_to = None  # a table: read the tab whole (its merged ranges come last)
        self._rows, self._bulk, self._merged = {}, None, _MergedCells()
        plain = None
        if self._unpacked is not None:
            (data, plain), self._unpacked = self._unpacked, None
            self._book.refuse_if_changed(file_signature(self._book.path))  # as archive() does
        else:
            with self._book.archive() as archive, archive.open(self.part) as source:
                data = source.read()  # the package's size is bounded (read.check_package)
        parser = _SheetParser(self, up_to)
        if up_to is None:
            complete = parser.parse_plain(data, plain) or parser.parse(io.BytesIO(data))
        else:
            complete = parser.parse(io.BytesIO(data))
            if not complete and not _rows_past(data, parser.stopped_at, up_to):
                self._read(None)  # a row above comes later (rows out of order): read it all
                return
        self._complete = complete
        self._read_to = up_to if up_to is not None and not complete else 2**31


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

    def __init__(
        self,
        path: Path,
        archive: zipfile.ZipFile,
        signature: tuple[int, ...],
        *,
        keep: Collection[str] = (),
        lazy_tables: bool = False,
        unpacked: Mapping[str, bytes] | None = None,
    ):
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
                tables, read = (
                    (None, None)
                    if lazy_tables
                    else _tables(archive, part, names, unpacked, f"{self.name}: tab {title!r}")
                )
                if title not in keep:
                    read = None  # (let go: a big tab's bytes are tens of megabytes)
                self.worksheets.append(StreamedSheet(self, title, part, tables, read))
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


def open_streamed(
    path: str | Path,
    *,
    keep: Collection[str] = (),
    lazy_tables: bool = False,
    unpacked: Mapping[str, bytes] | None = None,
) -> StreamedBook:
    """The workbook at ``path``, its cells read as they are asked for.

    ``keep``: the tabs whose bytes, unpacked to find their Excel Tables, are kept for the
    first read of their cells (the tabs about to be read). ``lazy_tables``: a tab's tables
    are found when first asked for (a job reading a few tabs of a workbook already checked).
    ``unpacked``: parts of the file already unpacked (by its check, the file unchanged since),
    by name. Raises :class:`~leadbook.errors.WorkbookFileError` if its package is damaged.
    """
    path = Path(path)
    with open(path, "rb") as handle, _named_damage(path), zipfile.ZipFile(handle) as archive:
        signature = file_signature(handle.fileno())
        return StreamedBook(
            path, archive, signature, keep=keep, lazy_tables=lazy_tables, unpacked=unpacked
        )


@contextlib.contextmanager
def _named_damage(path: Path) -> Iterator[None]:
    """A damaged package's error, as a :class:`~leadbook.errors.WorkbookFileError`."""
    try:
        yield
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


def _listed_tables(data: bytes, plain: bool) -> set[str]:
    """The relationship ids a worksheet part's last ``<tableParts>`` lists (openpyxl reads
    it wherever it stands). A tab in the ``plain`` form (:func:`_is_plain_sheet`) is parsed
    without its rows when they hold no table part: a 200,000-row tab costs its unpacking, not
    expat's handlers."""
    begin, end = data.find(b"<sheetData>"), data.find(b"</sheetData>")
    if plain and 0 <= begin < end and data.find(b"tablePart", begin, end) < 0:
        with contextlib.suppress(expat.ExpatError):  # then read whole, below
            return _table_parts(data[: begin + len(b"<sheetData>")] + data[end:])
    return _table_parts(data)  # an ExpatError: the tab is damaged (:func:`_tables` names it)


class _DTDError(Exception):
    """A worksheet part declares a DTD (:func:`_tables` names it)."""


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
        raise _DTDError

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.StartDoctypeDeclHandler = refuse
    parser.Parse(data, True)
    return listed[-1]


def _target(targets: dict[str, tuple[str, str]], names: set[str], kind: str) -> str | None:
    """The first part of relationship type ``…kind`` that the package holds, or None."""
    found = [t for t, k in targets.values() if k.endswith(kind)]
    return found[0] if found and found[0] in names else None


def _tables(
    archive: zipfile.ZipFile,
    sheet_part: str,
    names: set[str],
    unpacked: Mapping[str, bytes] | None = None,
    tab: str = "",
) -> tuple[dict[str, Any], tuple[bytes, bool] | None]:
    """The Excel Tables of a worksheet part, by display name: those it lists (``<tableParts>``),
    as openpyxl reads them — a table only related to the tab is none; and the part's bytes
    and whether it is in the plain form, if it was unpacked to find them. ``tab`` (the file's
    name and the tab's) is what a part that is not well-formed XML is named by."""
    related = {
        rid: target
        for rid, (target, kind) in _relationships(archive, sheet_part).items()
        if kind.endswith("/table") and target in names
    }
    if not related:
        return {}, None
    data = (unpacked or {}).get(sheet_part)
    data = archive.read(sheet_part) if data is None else data
    plain = _is_plain_sheet(data)
    try:
        listed = _listed_tables(data, plain)
    except _DTDError as exc:
        raise WorkbookFileError(
            f"{tab or sheet_part} declares an XML DTD or entities; Excel never writes these, "
            "leadbook refuses the file"
        ) from exc
    except expat.ExpatError as exc:
        raise WorkbookFileError(
            f"{tab or sheet_part} is not well-formed XML ({exc}); the file is damaged — open "
            "it in Excel and save it again"
        ) from exc
    tables = {}
    for rid, target in related.items():
        if rid not in listed:
            continue
        node = _xml(archive, target)
        name, ref = node.get("displayName") or node.get("name"), node.get("ref")
        if name and ref:
            range_boundaries(ref)  # a damaged reference fails here, not in the reader
            tables[name] = StreamedTable(name, ref)
    return tables, (data, plain)
