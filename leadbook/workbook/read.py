"""Open a workbook safely and read its inputs through the contract.

:func:`open_workbook` refuses what is not a sound .xlsx before openpyxl parses it: a missing
or locked file, a non-zip, a zip bomb, XML that declares entities (defusedxml is required
and active). :func:`read_book` returns the validated :class:`Book`, or raises one
:class:`~leadbook.errors.InputError` listing every problem in Excel terms.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import hashlib
import io
import logging
import re
import zipfile
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
from defusedxml import DefusedXmlException
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.cell_range import CellRange

from leadbook import contract as C
from leadbook.contract.tables import SheetLocator, cell_value
from leadbook.errors import InputError, Problem, Severity, WorkbookFileError, raise_errors
from leadbook.files import (
    CFB_MAGIC,
    is_compound_file,
    is_encrypted_package,
    require_regular_file,
)
from leadbook.portfolio.inventory import Inventory, StatedTotals, build_inventory
from leadbook.settings import Settings, settings_from_rows
from leadbook.workbook.examples import example_problems
from leadbook.workbook.memory import open_copy
from leadbook.workbook.provenance import Fingerprints
from leadbook.workbook.stream import StreamedBook, file_signature, open_streamed
from leadbook.workbook.tablecells import find_table, table_columns

log = logging.getLogger(__name__)

MAX_UNCOMPRESSED = 512 * 2**20
MAX_RATIO = 200
MAX_CELLS = 10_000_000
"""The most cells (in all tabs) leadbook opens a workbook with. openpyxl keeps every cell as an
object; ten million take a few GB, and 10,000 sources with 200,000 History rows are ~2 million.
Counted on the package's bytes before openpyxl parses anything."""
_CHUNK = 4 * 2**20
SUFFIXES = {".xlsx", ".xlsm"}


@dataclass(frozen=True)
class Book:
    """The validated inputs of a workbook, and the warnings found reading them."""

    settings: Settings
    inventory: Inventory
    stated: StatedTotals
    warnings: tuple[Problem, ...] = field(default=())
    path: Path | None = None
    leads: pd.DataFrame | None = None
    """A lead table to build the Leads tab with (the demo's); the reader leaves it None."""
    fingerprints: Fingerprints | None = field(default=None, compare=False, repr=False)
    """The inputs' fingerprints as read, for the stamps of the tabs a job writes."""


def open_workbook(
    path: str | Path,
    *,
    data_only: bool = True,
    package: bytes | None = None,
    checked: bool = False,
) -> Workbook:
    """Open ``path`` with openpyxl after checking it is a sound, harmless .xlsx/.xlsm.

    ``package``: the bytes to load instead of the file's (a copy of it with big tabs cut,
    :mod:`leadbook.workbook.splice`); the file is checked all the same. ``checked``: the
    caller has just checked it (:func:`check_package`: it unpacks every part), and holds it.
    Raises :class:`~leadbook.errors.WorkbookFileError` naming the file and what is wrong.
    """
    path = Path(path)
    if not checked:
        check_package(path)
    try:
        wb = openpyxl.load_workbook(
            path if package is None else io.BytesIO(package),
            data_only=data_only,
            keep_vba=path.suffix.lower() == ".xlsm",
            keep_links=True,
        )
        _check_table_ranges(path, wb)
        _check_last_rows(path, wb)
        return wb
    except WorkbookFileError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on a broken package
        if _caused_by(exc, DefusedXmlException):
            raise WorkbookFileError(
                f"{path.name}: declares XML entities or a DTD; Excel never writes these, "
                "leadbook refuses the file"
            ) from exc
        where = _unreadable_number(path)
        if where is not None:
            raise WorkbookFileError(
                f"{path.name}, {where[0]}: holds {where[1]!r} where a number is stored, which "
                "Excel never writes (NaN or infinity from another program?); type a number or "
                "clear the cell"
            ) from exc
        date = _unreadable_date(path)
        if date is not None:
            raise WorkbookFileError(
                f"{path.name}, {date[0]}: holds {date[1]!r} as a date, which is no date "
                "(Excel never writes one); the file is damaged — open it in Excel and save it "
                "again"
            ) from exc
        where = _unknown_format(path)
        if where is not None:
            raise WorkbookFileError(
                f"{path.name}, {where[0]}: has cell format {where[1]}, which the workbook "
                "lacks; Excel never writes this, the file is damaged — open it in Excel and "
                "save it again"
            ) from exc
        raise WorkbookFileError(
            f"{path.name}: cannot be read as an Excel workbook ({type(exc).__name__}: {exc})"
        ) from exc


def _check_table_ranges(path: Path, wb: Workbook | StreamedBook) -> None:
    """Refuse a table whose range is not a block of cells on the sheet (whole columns,
    corners swapped, past the last row): Excel never writes one, and every reader of a
    table takes its range as one."""
    for ws in wb.worksheets:
        for table in ws.tables.values():
            try:
                min_col, min_row, max_col, max_row = range_boundaries(table.ref)
                ok = 1 <= min_col <= max_col <= 16384 and 1 <= min_row <= max_row <= 1048576
            except (ValueError, TypeError):
                ok = False
            if not ok:
                raise WorkbookFileError(
                    f"{path.name}: table {table.displayName} (tab {ws.title}) has the range "
                    f"{table.ref!r}, which is not a block of cells on the sheet; in Excel, "
                    "select a cell of it and resize it (Table Design ▸ Resize Table)"
                )


def _check_last_rows(path: Path, wb: Workbook) -> None:
    """Refuse a tab with a row past Excel's last (1,048,576): openpyxl loads it, then fails
    on the first read of its cells, and Excel repairs the file."""
    for ws in wb.worksheets:
        if ws.max_row > 1_048_576:
            raise WorkbookFileError(
                f"{path.name}: tab {ws.title} has a row numbered {ws.max_row}, past Excel's "
                "last row (1,048,576); Excel never writes one, the file is damaged — open it "
                "in Excel and save it again"
            )


_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*)><v>([^<]*)</v>')


def _unreadable_number(path: Path) -> tuple[str, str] | None:
    """The first cell (``Sheet!A1``) whose stored number openpyxl cannot read, and what it
    holds; None if there is none."""
    from defusedxml import ElementTree

    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    with zipfile.ZipFile(path) as zf:
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target", "").lstrip("/") for r in rels}
        for sheet in book.iterfind(".//{*}sheet"):
            target = targets.get(sheet.get(rel), "")
            member = target if target.startswith("xl/") else f"xl/{target}"
            if member not in zf.namelist():
                continue
            for cell, attrs, raw in _CELL.findall(zf.read(member)):
                numeric = b' t="' not in attrs or b' t="n"' in attrs
                if numeric and not _readable_number(raw):
                    return f"{sheet.get('name')}!{cell.decode()}", raw.decode(errors="replace")
    return None


_FORMATTED = re.compile(rb'<(?:c r="([A-Z]+[0-9]+)"|row r="([0-9]+)")[^>]*?\ss="([0-9]+)"')


def _unknown_format(path: Path) -> tuple[str, int] | None:
    """The first cell (``Sheet!A1``) or row whose cell format (``s``) is past the
    workbook's last, which openpyxl fails on, and that format; None if there is none."""
    from leadbook.workbook.splice import _cell_formats, sheet_parts

    with zipfile.ZipFile(path) as zf:
        formats = _cell_formats(zf)
        for name, member in sheet_parts(zf).items():
            if member not in zf.namelist():
                continue
            for cell, row, used in _FORMATTED.findall(zf.read(member)):
                if int(used) >= formats:
                    where = f"{name}!{cell.decode()}" if cell else f"{name} row {row.decode()}"
                    return where, int(used)
    return None


_DATE_CELL = re.compile(
    rb'<c r="([A-Z]+[0-9]+)"[^>]*?\st="d"[^>]*(?<!/)>((?:(?!</c>).)*?)</c>', re.S
)


def _unreadable_date(path: Path) -> tuple[str, str] | None:
    """The first cell (``Sheet!A1``) stored as an ISO date (``t="d"``) that openpyxl cannot
    read, and what it holds; None if there is none."""
    from openpyxl.utils.datetime import from_ISO8601

    from leadbook.workbook.splice import sheet_parts

    with zipfile.ZipFile(path) as zf:
        for name, member in sheet_parts(zf).items():
            if member not in zf.namelist():
                continue
            for cell, inner in _DATE_CELL.findall(zf.read(member)):
                value = re.search(rb"<v>([^<]+)</v>", inner)
                if value is None:  # no value: openpyxl reads none
                    continue
                raw = value[1].decode(errors="replace")
                try:
                    from_ISO8601(raw)
                except ValueError:
                    return f"{name}!{cell.decode()}", raw
    return None


def _readable_number(raw: bytes) -> bool:
    """Whether openpyxl reads a stored number: as a float with a point or exponent, else
    as an integer (so 'NaN' and 'inf' fail, '1e999' reads as infinity)."""
    try:
        (float if any(c in raw for c in b".Ee") else int)(raw)
    except ValueError:
        return False
    return True


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def check_package(path: Path, unpack: Callable[[str], bool] | None = None) -> dict[str, bytes]:
    """Refuse a file that is missing, not a regular file, encrypted, not a zip, too large
    unpacked, or carries a DTD. The check unpacks every part: those ``unpack`` names (a
    caller reads them next) are returned unpacked (none if these bytes passed before)."""
    require_regular_file(path, workbook=True)
    if path.suffix.lower() not in SUFFIXES:
        raise WorkbookFileError(
            f"{path.name}: leadbook reads .xlsx and .xlsm workbooks, "
            f"not {path.suffix or 'files without an extension'}"
        )
    if is_encrypted_package(path):
        raise WorkbookFileError(
            f"{path.name}: is encrypted (password-protected); leadbook cannot read it — in "
            "Excel, File ▸ Info ▸ Protect Workbook ▸ Encrypt with Password, clear the "
            "password and save"
        )
    if is_compound_file(path):
        raise WorkbookFileError(
            f"{path.name}: is an old-format Excel (.xls) or other OLE file renamed to "
            f"{path.suffix}; open it in Excel and save it as an Excel Workbook (.xlsx)"
        )
    if not zipfile.is_zipfile(path):
        raise WorkbookFileError(
            f"{path.name}: is not an Excel workbook (not a zip package; "
            "truncated, or another format renamed to .xlsx?)"
        )
    data = path.read_bytes() if path.stat().st_size <= _REMEMBER_BYTES else None
    passed = None
    if data is not None and not data.startswith(CFB_MAGIC):
        limits = (MAX_UNCOMPRESSED, MAX_RATIO, MAX_CELLS, _CHUNK)
        passed = (hashlib.sha256(data).digest(), limits)
        if passed in _PASSED:
            return {}
    try:
        with zipfile.ZipFile(path if data is None else io.BytesIO(data)) as zf:
            unpacked = _check_members(path, zf, unpack or (lambda _: False))
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a bad CRC, bad data, cut short
        raise WorkbookFileError(f"{path.name}: the package is damaged ({exc})") from exc
    if passed is not None:
        _PASSED[passed] = None
        while len(_PASSED) > 16:
            del _PASSED[next(iter(_PASSED))]
    return unpacked


_REMEMBER_BYTES = 128 * 2**20
"""A package up to this size is read into memory once for its check, and remembered by its
digest when it passes (:data:`_PASSED`)."""
_PASSED: dict[tuple[bytes, tuple[int, ...]], None] = {}
"""The digests (and limits) of the packages that passed :func:`_check_members` in this
process, the last few: a job checks the file it reads, then again before it writes, each
time unpacking every part (a second at 10,000 sources); the same bytes pass again."""


def _check_members(
    path: Path, zf: zipfile.ZipFile, unpack: Callable[[str], bool]
) -> dict[str, bytes]:
    infos = zf.infolist()
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise WorkbookFileError(
            f"{path.name}: is a zip file but not an Excel workbook (no xl/workbook.xml)"
        )
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_UNCOMPRESSED or total / packed > MAX_RATIO:
        raise WorkbookFileError(
            f"{path.name}: unpacks to {total / 2**20:,.0f} MB from "
            f"{packed / 2**20:,.1f} MB (a zip bomb?); leadbook refuses it"
        )
    cells: dict[str, int] = {}
    unpacked: dict[str, bytes] = {}
    for info in infos:
        with zf.open(info) as part:
            source: Any = part
            if unpack(info.filename):  # (its size is bounded, above)
                whole = unpacked[info.filename] = part.read()
                source = io.BytesIO(whole)  # (counted a chunk at a time all the same)
            head = source.read(_CHUNK)
            if info.filename.endswith((".xml", ".rels", ".vml")) and _has_dtd(head):
                raise WorkbookFileError(
                    f"{path.name}: {info.filename} declares an XML DTD or entities (an entity "
                    "expansion attack?); Excel never writes these, leadbook refuses the file"
                )
            # every part: openpyxl reads a tab wherever the workbook's relationships put it
            cells[info.filename] = sum(_cells_and_merged(head, source))
    total_cells = sum(cells.values())
    if total_cells > MAX_CELLS:
        part, most = max(cells.items(), key=lambda item: item[1])
        raise WorkbookFileError(
            f"{path.name}: holds {total_cells:,} cells, more than the {MAX_CELLS:,} leadbook "
            f"opens a workbook with; tab {_tab_of(zf, part)} alone holds {most:,}. Clear the "
            "unused rows and columns (select them, Delete), or move old data to another file"
        )
    _require_defusedxml()
    return unpacked


_CELL_TAG = re.compile(rb"<(?:[\w.-]+:)?c[\s/>]")
"""A cell's start tag as an XML parser reads it: any namespace prefix, any white space."""
_MERGE_TAG = re.compile(rb'<(?:[\w.-]+:)?(?:mergeCell|table)\s[^>]*?\bref\s*=\s*["\']([^"\']*)')
"""A merged range or a table: openpyxl makes a cell object for each cell a merged range
covers, and leadbook reads a table cell by cell (its cells may be counted twice)."""


_PREFIXED_CELL_TAG = re.compile(rb"<[\w.-]+:c[\s/>]")
_OTHER_CELL_TAG = re.compile(rb"<c[\t\n\r\f\v/>]")


def _cell_tags(data: bytes, end: int) -> int:
    """How many times :data:`_CELL_TAG` matches ``data[:end]``: ``<c `` counted by
    ``bytes.count`` (a regular expression's match objects were most of the time check took
    over 200,000 History rows), the rare other forms by regular expressions, the prefixed
    ones only when there may be one."""
    plain = data.count(b"<c ", 0, end) + len(_OTHER_CELL_TAG.findall(data, 0, end))
    if data.find(b":", 0, end) < 0 or data.find(b":c", 0, end) < 0:  # (":" alone: memchr)
        return plain
    return plain + len(_PREFIXED_CELL_TAG.findall(data, 0, end))


def _count_cells(head: bytes, rest: Any) -> int:
    """Cells (``<c …>`` elements, ``<x:c>`` too) in a part, read a chunk at a time."""
    return _cells_and_merged(head, rest)[0]


def _cells_and_merged(head: bytes, rest: Any) -> tuple[int, int]:
    """The ``<c>`` elements of a part, and the cells its merged ranges and tables cover."""
    read = functools.partial(rest.read, _CHUNK)
    utf16 = _utf16(head)
    if utf16:  # an XML parser reads UTF-16 too: count it as UTF-8
        decoder = codecs.getincrementaldecoder(utf16)(errors="replace")
        head = decoder.decode(head).encode()
        read = lambda: decoder.decode(rest.read(_CHUNK)).encode()  # noqa: E731
    cells, merged, tail, chunk = 0, 0, b"", head
    while chunk:
        data = tail + chunk
        cut = data.rfind(b"<")  # a tag the chunk's edge splits is counted with the next one
        cut = len(data) if cut < 0 else cut
        cells += _cell_tags(data, cut)
        if data.find(b"mergeCell", 0, cut) >= 0 or data.find(b"table", 0, cut) >= 0:
            merged += sum(_merged_area(m[1]) for m in _MERGE_TAG.finditer(data, 0, cut))
        tail = data[cut:]
        chunk = read()
    tail += b" "
    cells += _cell_tags(tail, len(tail))
    return cells, merged + sum(_merged_area(m[1]) for m in _MERGE_TAG.finditer(tail))


def _utf16(head: bytes) -> str | None:
    """The UTF-16 codec an XML parser reads ``head`` with (by its byte order mark, or by
    ``<`` as its first character), or None."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"<\0"):
        return "utf-16-le"
    if head.startswith(b"\0<"):
        return "utf-16-be"
    return None


def _merged_area(ref: bytes) -> int:
    from openpyxl.utils.cell import range_boundaries

    try:
        min_col, min_row, max_col, max_row = range_boundaries(ref.decode("ascii", "replace"))
        return (max_col - min_col + 1) * (max_row - min_row + 1)
    except (ValueError, TypeError):
        return 0  # not a range openpyxl reads either


def _tab_of(zf: zipfile.ZipFile, part: str) -> str:
    """The tab name of worksheet ``part`` (``xl/worksheets/sheet3.xml``), or the part."""
    from defusedxml import ElementTree

    try:
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        target = part.removeprefix("xl/")
        ids = {
            r.get("Id")
            for r in rels
            if (r.get("Target") or "").lstrip("/").removeprefix("xl/") == target
        }
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
        for sheet in book.iter("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheet"):
            if sheet.get(rid) in ids:
                return repr(sheet.get("name"))
    except (KeyError, ElementTree.ParseError, DefusedXmlException):
        pass
    return part


def _has_dtd(data: bytes) -> bool:
    """Whether the XML prolog (before the root element) holds a DOCTYPE or other ``<!``."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = data.decode("utf-16").encode("utf-8")
    text = data.removeprefix(b"\xef\xbb\xbf")
    pos = 0
    while True:
        while pos < len(text) and text[pos : pos + 1].isspace():
            pos += 1
        if text.startswith(b"<?", pos):
            end = text.find(b"?>", pos)
        elif text.startswith(b"<!--", pos):
            end = text.find(b"-->", pos)
        else:
            return text.startswith(b"<!", pos)
        if end < 0:
            return False
        pos = end + 2


def _require_defusedxml() -> None:
    from openpyxl.xml import DEFUSEDXML

    if not DEFUSEDXML:
        raise WorkbookFileError(
            "defusedxml is not installed, so hostile XML could not be "
            "refused; install it: pip install defusedxml"
        )


def read_table(wb: Workbook, spec: C.TableSpec) -> tuple[pd.DataFrame, SheetLocator, list[Problem]]:
    """The raw cells of table ``spec`` keyed by contract column keys, where they sit, problems.

    Columns are matched by header text (case and spacing ignored); extra columns are kept
    out; a missing table is a problem, and its frame is empty.
    """
    found = find_table(wb, spec)
    if found is None:
        where = spec.sheet if spec.sheet in wb.sheetnames else "workbook"
        message = (
            f"the Excel Table '{spec.name}' is missing from tab {spec.sheet}"
            if spec.sheet in wb.sheetnames
            else f"tab '{spec.sheet}' is missing"
        )
        return (
            pd.DataFrame(columns=spec.keys),
            SheetLocator.from_spec(spec),
            [Problem(where, message)],
        )
    ws, table = found
    min_col, min_row, _, _ = range_boundaries(table.ref)
    headers, cells = table_columns(ws, table.ref)
    by_header = {_norm(c.header): c.key for c in spec.columns}
    keys: list[str | None] = []
    letters: dict[str, str] = {}
    problems = _merged_in(ws, table.ref, spec)
    for j, header in enumerate(headers):
        key = by_header.get(_norm(header))
        letter = get_column_letter(min_col + j)
        if key in letters:
            first = f"{ws.title}!{letters[key]}{min_row}"
            problems.append(
                Problem(
                    f"{ws.title}!{letter}{min_row}",
                    f"the header {header!r} of table {spec.name} appears twice (also at "
                    f"{first}); leadbook cannot tell which column to read — rename or delete "
                    "one",
                )
            )
            key = None
        keys.append(key)
        if key:
            letters[key] = letter
    finite = getattr(ws, "finite_floats", False)  # known of a tab read in bulk
    frame = pd.DataFrame(
        {k: _cell_values(column, finite) for k, column in zip(keys, cells, strict=True) if k},
        columns=[k for k in keys if k],
    )
    return frame, SheetLocator(ws.title, min_row, letters), problems


def _cell_values(column: tuple[Any, ...] | list[Any], finite: bool = False) -> list[Any]:
    """A column's cells as tables carry them
    (:func:`~leadbook.contract.tables.cell_value`), looked at one by one only when it holds a
    float that is not finite (none does where the tab's floats are all known ``finite``)."""
    if finite:
        return list(column)
    floats = [v for v in column if isinstance(v, float)]
    if floats and not np.isfinite(floats).all():
        return [cell_value(v) for v in column]
    return list(column)


def _merged_in(ws: Any, ref: str, spec: C.TableSpec) -> list[Problem]:
    """An error at each merged range inside a table: Excel refuses to merge table cells,
    and a merged range's other cells read as blank."""
    inside = CellRange(ref)
    return [
        Problem(
            f"{ws.title}!{merged.coord}",
            f"cells {merged.coord} are merged inside table {spec.name}; a table's cells "
            "cannot be merged — unmerge them (Home ▸ Merge & Center) and fill each cell",
        )
        for merged in ws.merged_cells.ranges
        if not inside.isdisjoint(merged)
    ]


def _norm(text: object) -> str:
    return " ".join(str(text or "").split()).casefold()


def read_settings(wb: Workbook) -> tuple[Settings, list[Problem]]:
    """Settings from the Settings table; every problem is located."""
    frame, loc, problems = read_table(wb, C.SETTINGS_TABLE)
    missing = [c.header for c in C.SETTINGS_TABLE.columns[1:3] if c.key not in frame]
    if missing:
        problems.append(
            Problem(
                loc.header(),
                f"table Settings has no column {' or '.join(repr(m) for m in missing)} "
                f"(its columns should be: {', '.join(C.SETTINGS_TABLE.headers)})",
            )
        )
    if problems:
        return Settings(), problems
    rows = [
        (key, value, loc.cell(i, "value"), loc.cell(i, "key"))
        for i, (key, value) in enumerate(zip(frame["key"], frame["value"], strict=True))
        if not pd.isna(key) and str(key).strip()
    ]
    settings, more = settings_from_rows(rows)
    return settings, more + _misplaced_names(wb, rows) + _values_without_keys(frame, loc)


EMPTY = " is empty"


def unsaved_formulas(problems: list[Problem], path: Path) -> list[Problem]:
    """``problems`` with each "… is empty" at a cell that holds a formula without a saved
    value (typed by a program that does not calculate) saying so: leadbook reads the values
    Excel saved, and there is none, but the cell is not empty."""
    empty = [p for p in problems if p.message.endswith(EMPTY) and "!" in p.where]
    if not empty:
        return problems
    from leadbook.workbook.splice import sheet_parts, uncached_formulas

    tabs = {p.where.split("!")[0] for p in empty}
    with zipfile.ZipFile(path) as zf:
        parts = sheet_parts(zf)
        names = set(zf.namelist())
        bare = {t: uncached_formulas(zf.read(parts[t])) for t in tabs if parts.get(t) in names}
    out = []
    for p in problems:
        tab, _, cell = p.where.partition("!")
        if p in empty and cell in bare.get(tab, ()):
            p = Problem(
                p.where,
                f"{p.message.removesuffix(EMPTY)} holds a formula without a saved value "
                "(leadbook reads the values Excel saves): open and save the workbook in Excel, "
                "or type the number",
                p.severity,
            )
        out.append(p)
    return out


def _unused(problem: Problem, overridden: tuple[str, ...]) -> Problem:
    """``problem`` as a warning if it is the value of a setting in ``overridden``.

    Examples
    --------
    >>> str(_unused(Problem("Settings!C130", "BoardPDF: is empty"), ("BoardPDF",)).severity)
    'warning'
    """
    names = tuple(f"{name}:" for name in overridden)
    if not names or problem.severity is not Severity.ERROR:
        return problem
    if not problem.message.startswith(names):
        return problem
    return Problem(
        problem.where,
        f"{problem.message} (not used this run: the command's option sets it)",
        Severity.WARNING,
    )


def _values_without_keys(frame: pd.DataFrame, loc: SheetLocator) -> list[Problem]:
    """An error at each value typed on a row with no Key: leadbook cannot tell which
    setting it is, so it would silently use the default instead."""
    from leadbook.settings import SETTING_SPECS

    by_label = {spec.label.casefold(): spec.name for spec in SETTING_SPECS}
    problems = []
    for i, (key, value) in enumerate(zip(frame["key"], frame["value"], strict=True)):
        blank_key = pd.isna(key) or not str(key).strip()
        if not blank_key or pd.isna(value) or (isinstance(value, str) and not value.strip()):
            continue
        label = frame["label"].iloc[i] if "label" in frame else None
        name = by_label.get(str(label).strip().casefold()) if isinstance(label, str) else None
        fix = f"type its Key, {name}, back" if name else "move it to its setting's row"
        problems.append(
            Problem(
                loc.cell(i, "key"),
                f"a value ({value!r}) on a row with no Key counts for nothing; {fix}",
            )
        )
    return problems


def _misplaced_names(wb: Workbook, rows: list[tuple[Any, Any, str, str]]) -> list[Problem]:
    """A warning where a setting's defined name points at another row than its Key's (the
    table was sorted, or rows moved): Excel formulas using the name read the wrong value
    until leadbook's next write points it back."""
    from leadbook.settings import spec_for

    problems = []
    for key, _, where, _ in rows:
        try:
            name = spec_for(str(key).strip()).name
        except KeyError:
            continue
        defined = wb.defined_names.get(name)
        if defined is None:  # (a button's copy of the workbook carries no names)
            continue
        target = _plain_ref(defined.attr_text)
        if target != where:
            problems.append(
                Problem(
                    where,
                    f"{name}: the defined name {name} points at {target}, not at this row's "
                    f"value, so Excel formulas using ={name} read the wrong cell (was the table "
                    "sorted?); sort it back, or run leadbook check --write BOOK, which points "
                    "the names at their rows",
                    Severity.WARNING,
                )
            )
    return problems


def _plain_ref(ref: str) -> str:
    """``'Settings'!$C$5`` as ``Settings!C5``."""
    sheet, _, cell = ref.rpartition("!")
    return f"{sheet.strip(chr(39))}!{cell.replace('$', '')}" if sheet else ref


def read_stated(wb: Workbook) -> tuple[StatedTotals, list[Problem]]:
    """The stated totals on the Sources tab (blank cells are 'not stated')."""
    values: dict[str, float | None] = {}
    problems = []
    for name in ("StatedLeads", "StatedCPL", "StatedConversion", "StatedTolerance"):
        spec = C.NAMED_CELLS[name]
        raw = wb[spec.sheet][spec.cell].value if spec.sheet in wb.sheetnames else None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            values[name] = None
        elif isinstance(raw, int | float) and not isinstance(raw, bool):
            values[name] = float(raw)
        else:
            problems.append(
                Problem(f"{spec.sheet}!{spec.cell}", f"{spec.label} must be a number, got {raw!r}")
            )
            values[name] = None
    tolerance = values["StatedTolerance"]
    stated = StatedTotals(
        values["StatedLeads"],
        values["StatedCPL"],
        values["StatedConversion"],
        tolerance if tolerance is not None else StatedTotals.tolerance,
    )
    return stated, problems


def read_inventory(wb: Workbook) -> tuple[Inventory | None, list[Problem]]:
    """The validated inventory and its warnings, or None and every problem."""
    frames, locators, problems = {}, {}, []
    for spec in (C.SOURCES_TABLE, C.PRICE_TIERS_TABLE, C.HISTORY_TABLE):
        frame, loc, found = read_table(wb, spec)
        frames[spec.name], locators[spec.name] = frame, loc
        problems += found + example_problems(frame, spec, loc, "source")
    try:
        inventory, warnings = build_inventory(
            frames["Sources"], frames["PriceTiers"], frames["History"], locators=locators
        )
    except InputError as exc:
        return None, problems + list(exc.problems)
    return inventory, problems + warnings


def open_inputs(path: str | Path, *, keep: Collection[str] = ()) -> StreamedBook:
    """The workbook at ``path`` for reading its inputs, after the checks of
    :func:`open_workbook`, in streaming mode (:mod:`leadbook.workbook.stream`): a tab's cells
    are read, as values, when first asked for; the output tabs' only as far as their stamps.
    ``keep``: the tabs whose tables the caller reads next (their bytes, unpacked to find
    the tables, are kept for that read; a caller reading one small tab keeps none)."""
    path = Path(path)
    checked = None
    with contextlib.suppress(OSError):  # check_package names a missing file
        checked = file_signature(path)
    unpacked = check_package(path, lambda part: part.startswith("xl/worksheets/"))
    book = open_streamed(path, keep=keep, unpacked=unpacked)
    book.refuse_if_changed(checked)  # the file read is the one checked, not a swapped one
    _check_table_ranges(path, book)
    return book


def inspect_book(
    path: str | Path, overridden: tuple[str, ...] = ()
) -> tuple[Book | None, list[Problem]]:
    """Every problem of a workbook's inputs (errors and warnings), and the book if usable;
    of a button's copy open in memory (:func:`~leadbook.workbook.memory.open_copy`), its
    cells there. ``overridden``: settings (defined names) the caller replaces by an explicit
    option, so that a bad value of theirs is only a warning (``board --pdf`` wins over
    BoardPDF)."""
    path = Path(path)
    copy = open_copy(path)  # a button's copy, open already: its cells as the file's
    if copy is not None:
        book, problems = inspect_workbook(copy, None, overridden)
        return (book if book is None else replace(book, path=path)), problems
    return inspect_workbook(open_inputs(path, keep=C.INPUT_SHEETS), path, overridden)


def inspect_workbook(
    wb: Workbook | StreamedBook, path: Path | None = None, overridden: tuple[str, ...] = ()
) -> tuple[Book | None, list[Problem]]:
    """:func:`inspect_book` of a workbook already open (values, as ``open_workbook`` and
    :func:`open_inputs` read)."""
    from leadbook.portfolio.inventory import portfolio_figures, stated_total_findings

    settings, problems = read_settings(wb)
    problems = [_unused(p, overridden) for p in problems]
    inventory, inv_problems = read_inventory(wb)  # first: Sources read whole, once
    stated, stated_problems = read_stated(wb)
    problems += stated_problems + inv_problems
    if inventory is not None and not inventory.sources.empty:
        problems += stated_total_findings(portfolio_figures(inventory.sources), stated)
    if inventory is not None and inventory.sources.empty:
        problems.append(Problem(f"{C.SOURCES.name}", "the Sources table has no sources yet"))
    if find_table(wb, C.LEADS_TABLE) is not None:
        leads, where, _ = read_table(wb, C.LEADS_TABLE)
        problems += example_problems(leads, C.LEADS_TABLE, where, "lead_id")
    if path is not None:
        problems = unsaved_formulas(problems, path)
    if any(p.severity is Severity.ERROR for p in problems) or inventory is None:
        return None, problems
    book = Book(settings, inventory, stated, tuple(problems), path, fingerprints=Fingerprints(wb))
    return book, problems


def lead_problems(wb: Workbook, sources: list[str] | None) -> list[Problem]:
    """Every problem of the Leads table's inputs (none if there is no table): merged cells,
    a header typed twice, and each bad cell, as Score leads would find them."""
    from leadbook.leads.table import parse_leads
    from leadbook.workbook.leadgrid import read_lead_grid

    found = find_table(wb, C.LEADS_TABLE)
    if found is None:
        return []
    ws, table = found
    problems = _merged_in(ws, table.ref, C.LEADS_TABLE)
    min_col, min_row, max_col, _ = range_boundaries(table.ref)
    seen: dict[str, str] = {}
    for (cell,) in ws.iter_cols(min_col, max_col, min_row, min_row):
        header = _norm(cell.value)
        if not header:
            continue
        where = f"{ws.title}!{cell.coordinate}"
        if header in seen:
            problems.append(
                Problem(
                    where,
                    f"the header {cell.value!r} of table Leads appears twice (also at "
                    f"{seen[header]}); rename or delete one",
                )
            )
        seen.setdefault(header, where)
    if problems:
        return problems
    raw, locator = read_lead_grid(wb)  # type: ignore[misc]
    _, found_problems = parse_leads(raw, locator, sources=sources)
    return found_problems


def read_book(path: str | Path, *, overridden: tuple[str, ...] = ()) -> Book:
    """The validated inputs of the workbook at ``path``; one error lists every problem
    (``overridden``: as :func:`inspect_book`)."""
    book, problems = inspect_book(path, overridden)
    raise_errors(problems)
    assert book is not None
    for warning in book.warnings:
        log.warning("%s", warning)
    return book
