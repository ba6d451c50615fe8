"""Write a workbook without loading into openpyxl the tabs a job does not change, and splice
them back.

A job changes a few output tabs only, yet openpyxl loads and saves every cell of every tab:
with 10,000 sources and 200,000 History rows that was 70 s to load and 70 s to save, to write
a status cell and a Log row; on the demo, Rebalance spent half its time loading and saving
the Leads, Forecast detail and Hiring tabs it never touches. leadbook reads the inputs as a
stream (:mod:`.stream`); for the write, :func:`stub_tabs` hands openpyxl the package with
each input tab cut to its top rows (the tables' headers stay, so their columns keep their
names) and each output tab the job does not change cut to its first row (its stamp), and
:func:`splice_back` puts each tab's original ``<sheetData>`` — every row as the user's file
had it, values, styles, rich text and Excel's own attributes — into the saved package, with
the original shared strings part the rows index into (openpyxl writes its cells as inline
strings and no shared strings part). Everything else on those tabs (columns, validations,
conditional formats, tables, extension lists) goes through the usual save, grafting and
audit of :mod:`.package`, as for every tab.

Only a tab in the plain form Excel writes is cut: UTF-8, a ``worksheet`` root in the main
namespace, one unprefixed ``sheetData``, every row numbered and in ascending order within
Excel's rows, no XML comment or CDATA section anywhere in the part. Any other tab, or a
package whose cut copy openpyxl cannot open, is loaded whole as before.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import weakref
import zipfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as ET  # noqa: N817
import numpy as np

from leadbook import contract as C
from leadbook.workbook.package import _declare_namespaces, _free_name
from leadbook.workbook.parts import Package, escape, quoteattr, rels_name
from leadbook.workbook.stream import StreamedBook

log = logging.getLogger(__name__)

SPLICE_MIN_BYTES = 0
"""An input tab whose part is smaller than this is loaded whole. 0: every tab that can be
cut is, so that the demo and every test take the path big workbooks take."""

CUT_TABS = C.INPUT_SHEETS - {C.SETTINGS.name}
"""The input tabs that may be cut: not Settings, whose table a write reads from the loaded
workbook to point each setting's name at its row (and which is small)."""

KEEP_ROWS = 50
"""Rows an input tab keeps in the cut copy: its tables' header rows must be among them."""
KEEP_OUTPUT_ROWS = 1
"""Rows an output tab the job does not change keeps in the cut copy: the stamp's (the
provenance of the tabs that are written reads it); its tables are read from the file
(:func:`readable`)."""

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_STRINGS = _REL + "/sharedStrings"
_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SHEET_DATA = re.compile(rb"<sheetData\s*/>|<sheetData\s*>.*?</sheetData\s*>", re.S)
_DIMENSION = re.compile(rb"<dimension\b[^>]*/>")
_ROW = re.compile(rb"<row\b")
_NUMBERED_ROW = re.compile(rb'<row r="([0-9]+)"')
_UNSAFE = (b"<!--", b"<![CDATA[", b"<?xml-stylesheet")
_ENCODING = re.compile(rb"""(?:\xef\xbb\xbf)?<\?xml\b[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
_LAST_ROW = 1_048_576


@dataclass(frozen=True)
class _Tab:
    rows: bytes
    """The original ``<sheetData>`` element, byte for byte."""
    dimension: bytes | None
    root: str
    """The original part's text up to the end of its root start tag (its namespaces)."""


@dataclass(frozen=True)
class Stubbed:
    """A package with its big input tabs cut, and what :func:`splice_back` puts back."""

    package: bytes
    tabs: dict[str, _Tab]
    strings: tuple[str, bytes] | None
    """The original shared strings part: its name and bytes."""
    replaced: frozenset[str] = frozenset()
    """Output tabs cut that are not put back: the job replaces them, reading nothing of them."""

    @property
    def outputs(self) -> frozenset[str]:
        """The output tabs cut (the others are input tabs)."""
        return frozenset(self.tabs) - CUT_TABS


def stub_tabs(
    path: Path,
    *,
    outputs: Collection[str] = (),
    min_bytes: int | None = None,
    whole: Collection[str] = (),
    replaced: Collection[str] = (),
) -> Stubbed | None:
    """The package at ``path`` with each big input tab (but those ``whole``, which a job
    edits) cut to its top :data:`KEEP_ROWS` rows and each of the output tabs ``outputs``
    and ``replaced`` to its top :data:`KEEP_OUTPUT_ROWS`; None when no tab is big enough
    (or in the plain form) to gain from it. The ``outputs`` are spliced back after the save;
    the ``replaced`` are not: the job renders them anew without reading what they held (their
    first row stays, for the title in A1 that says the tab is leadbook's, and the stamp)."""
    min_bytes = SPLICE_MIN_BYTES if min_bytes is None else min_bytes
    if set(outputs) & set(replaced):
        raise ValueError(f"a tab cannot be both kept and replaced: {set(outputs) & set(replaced)}")
    keep = dict.fromkeys(sorted(CUT_TABS - set(whole)), KEEP_ROWS)
    keep |= dict.fromkeys(sorted(set(outputs) & C.OUTPUT_SHEETS), KEEP_OUTPUT_ROWS)
    keep |= dict.fromkeys(sorted(set(replaced) & C.OUTPUT_SHEETS), KEEP_OUTPUT_ROWS)
    with zipfile.ZipFile(path) as zf:
        parts = sheet_parts(zf)
        tabs: dict[str, _Tab] = {}
        gone: set[str] = set()
        cut: dict[str, bytes] = {}
        formats = _cell_formats(zf)
        for tab, rows in keep.items():
            part = parts.get(tab)
            if part is None or part not in zf.namelist():
                continue
            if zf.getinfo(part).file_size < min_bytes:
                continue
            xml = zf.read(part)
            found = _plain_rows(xml, formats)
            if found is None:
                continue
            start, end = found
            head = _root_tag(xml)
            if head is None:
                continue
            dimension = _DIMENSION.search(xml, 0, start)
            cut[part] = xml[:start] + _top_rows(xml, start, end, rows) + xml[end:]
            if tab in replaced:
                gone.add(tab)
            else:
                tabs[tab] = _Tab(xml[start:end], dimension[0] if dimension else None, head)
            del xml
        if not cut:
            return None
        strings = _strings_part(zf) if tabs else None  # only the rows spliced back index it
        kept = (strings, zf.read(strings)) if strings else None
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as dst:  # read once, by openpyxl: not compressed
            for info in zf.infolist():
                data = cut.get(info.filename) or zf.read(info)
                dst.writestr(info, data, compress_type=zipfile.ZIP_STORED)
    log.debug("loading %s with %s cut to their top rows", path.name, ", ".join([*tabs, *gone]))
    return Stubbed(out.getvalue(), tabs, kept, frozenset(gone))


def fits(stubbed: Stubbed, wb) -> bool:
    """Whether every table on a cut input tab has its header among the rows kept."""
    from openpyxl.utils.cell import range_boundaries

    for tab in set(stubbed.tabs) & CUT_TABS:
        for table in wb[tab].tables.values():
            if range_boundaries(table.ref)[1] > KEEP_ROWS:
                return False
    return True


_ORIGINALS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def remember_cut(wb: Any, stubbed: Stubbed, original: StreamedBook) -> None:
    """Record that ``wb`` was loaded from ``stubbed``, so that :func:`readable` reads its cut
    output tabs from ``original``, the file streamed."""
    _ORIGINALS[wb] = (original, stubbed.outputs)


def readable(wb: Any, tab: str) -> Any:
    """Tab ``tab`` of ``wb`` to read cells from: for an output tab cut out of the load, the
    file's own tab, streamed (its cells as values; the job does not change it); else the
    tab loaded.

    Examples
    --------
    >>> import openpyxl
    >>> wb = openpyxl.Workbook(); wb.active.title = "Board"
    >>> readable(wb, "Board") is wb["Board"]
    True
    """
    original, cut = _ORIGINALS.get(wb, (None, frozenset()))
    return original[tab] if tab in cut and tab in original else wb[tab]


def splice_back(stubbed: Stubbed, saved: Package, appended: Collection[Appended] = ()) -> None:
    """Put the cut tabs' original rows, and the shared strings they index, into ``saved``
    (the package openpyxl wrote, in memory), with the rows a job ``appended`` to them."""
    parts = saved.tabs()
    book = saved.workbook_part()
    if any(r.kind == "sharedStrings" and r.target in saved.parts for r in saved.rels(book)):
        raise AssertionError("openpyxl wrote a shared strings part: cannot splice rows")
    for tab, original in stubbed.tabs.items():
        part = parts.get(tab, "")
        xml = saved.parts.get(part)
        if xml is None or len(_SHEET_DATA.findall(xml)) != 1:
            raise AssertionError(f"the saved tab {tab} cannot take its rows back")
        rows, dimension = original.rows, original.dimension
        for added in (a for a in appended if a.tab == tab):
            rows, dimension = with_appended(rows, dimension, added)
        xml = _replaced(xml, _DIMENSION, dimension or b"")
        xml = _declare_namespaces(xml.decode(), original.root + "</worksheet>").encode()
        saved.parts[part] = _replaced(xml, _SHEET_DATA, rows)  # the one big copy
    if stubbed.strings is not None:
        name, data = stubbed.strings
        if name.casefold() in {n.casefold() for n in saved.parts}:  # one part's name, two parts
            name = _free_name("xl/sharedStrings.xml", saved.parts)
        rels = rels_name(book)
        saved.parts[rels] = _with_strings_rel(saved.parts[rels], name)
        types = "[Content_Types].xml"
        saved.parts[types] = _with_strings_type(saved.parts[types], name)
        saved.parts[name] = data


def _replaced(xml: bytes, pattern: re.Pattern[bytes], new: bytes) -> bytes:
    m = pattern.search(xml)
    return xml if m is None else xml[: m.start()] + new + xml[m.end() :]


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Tab name → its worksheet part."""
    book = ET.fromstring(zf.read("xl/workbook.xml"))
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {
        r.get("Id"): _resolve("xl/workbook.xml", r.get("Target", ""))
        for r in rels.iter(f"{{{_PKG_REL}}}Relationship")
    }
    return {
        s.get("name"): targets.get(s.get(f"{{{_REL}}}id"), "")
        for s in book.iter(f"{{{_MAIN}}}sheet")
    }


def uncached_formulas(xml: bytes) -> set[str | None]:
    """The cells of a worksheet part that hold a formula without a saved value (an empty
    text, ``t="str"``, is one: the value of ``=""``); None for such a cell that does not
    say where it is.

    >>> uncached_formulas(
    ...     b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    ...     b'<sheetData><row r="1"><c r="A1"><f>1+1</f><v>2</v></c><c r="B1"><f>A1</f><v/></c>'
    ...     b'<c r="C1" t="str"><f>""</f><v></v></c><c r="D1"><f>A1</f></c></row>'
    ...     b"</sheetData></worksheet>"
    ... ) == {"B1", "D1"}
    True
    """
    out: set[str | None] = set()
    for cell in ET.fromstring(xml).iter(f"{{{_MAIN}}}c"):
        if cell.find(f"{{{_MAIN}}}f") is None:
            continue
        value = cell.find(f"{{{_MAIN}}}v")
        if value is None or not (value.text or cell.get("t") == "str"):
            out.add(cell.get("r"))
    return out


def _resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _strings_part(zf: zipfile.ZipFile) -> str | None:
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    for r in rels.iter(f"{{{_PKG_REL}}}Relationship"):
        if r.get("Type") == _STRINGS:
            part = _resolve("xl/workbook.xml", r.get("Target", ""))
            return part if part in zf.namelist() else None
    return None


def _plain_rows(xml: bytes, formats: int) -> tuple[int, int] | None:
    """Where the ``<sheetData>`` element of a plain-form part starts and ends, else None.

    ``formats``: the cell formats the workbook has. The rows past the cut are never loaded,
    so what a whole load refuses in them is looked for here: a format past the last (a row's
    or a cell's ``s``), or an ISO date cell openpyxl may fail to read (``t="d"``) — a tab
    with either is loaded whole, and its damage named there."""
    if xml.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in xml[:64]:
        return None
    declared = _ENCODING.match(xml)  # the rows' bytes go into a part openpyxl wrote in UTF-8
    if declared and declared[1].lower() not in (b"utf-8", b"utf8"):
        return None
    if any(marker in xml for marker in _UNSAFE) or b"<worksheet" not in xml:
        return None
    found = _sheet_data(xml)
    if found is None:
        return None
    start, end = found
    if xml.find(b't="d"', start, end) >= 0:
        return None
    if re.compile(b's="' + _at_least(formats) + b'"').search(xml, start, end):
        return None
    numbers = _NUMBERED_ROW.findall(xml, start, end)
    if len(_ROW.findall(xml, start, end)) != len(numbers):
        return None
    # Excel repairs rows out of order or past its last; a whole load sorts (or names) them
    if any(len(n.lstrip(b"0")) > 7 for n in numbers):  # (past 1,048,576: no row of Excel's)
        return None
    rows = np.array([0, *map(int, numbers)], np.int64)
    return (start, end) if (np.diff(rows) > 0).all() and rows[-1] <= _LAST_ROW else None


_OPEN_DATA, _CLOSE_DATA = re.compile(rb"<sheetData\s*>"), re.compile(rb"</sheetData\s*>")
_EMPTY_DATA = re.compile(rb"<sheetData\s*/>")


def _sheet_data(xml: bytes) -> tuple[int, int] | None:
    """Where the one ``<sheetData>`` element of a part starts and ends — the one match of
    :data:`_SHEET_DATA`, the part naming ``sheetData`` nowhere else — else None. Found by
    the word's places, not the expression's scan of every byte (a second over 200,000 rows)."""
    first = xml.find(b"sheetData")
    second = xml.find(b"sheetData", first + 1) if first >= 0 else -1
    if first < 0 or (second >= 0 and xml.find(b"sheetData", second + 1) >= 0):
        return None  # the word thrice: not one element
    if second < 0:
        empty = _EMPTY_DATA.match(xml, first - 1) if first else None
        return empty.span() if empty else None
    opened = _OPEN_DATA.match(xml, first - 1) if first else None
    closed = _CLOSE_DATA.match(xml, second - 2) if second >= 2 else None
    return (opened.start(), closed.end()) if opened and closed else None


def _root_tag(xml: bytes) -> str | None:
    """The part's root start tag as a parser reads it (its namespaces, and which of them may
    be ignored), in the double quotes :func:`_declare_namespaces` reads; None unless the
    root is the main namespace's ``worksheet``. The part's own bytes cannot serve: a
    declaration may be single-quoted, or follow an attribute value holding a ``>``."""
    declared: dict[str, str] = {}
    try:
        for event, item in ET.iterparse(io.BytesIO(xml), events=("start-ns", "start")):
            if event == "start":
                break
            declared.setdefault(*item)
        else:
            return None
    except ET.ParseError:
        return None
    if item.tag != f"{{{_MAIN}}}worksheet" or declared.get("") != _MAIN:
        return None
    attrs = [f' xmlns{":" if p else ""}{p}="{uri}"' for p, uri in declared.items()]
    ignorable = item.get(f"{{{_MC}}}Ignorable")
    mc = next((p for p, uri in declared.items() if uri == _MC and p), None)
    if ignorable is not None and mc is not None:
        attrs.append(f' {mc}:Ignorable="{ignorable}"')
    text = "".join(attrs)
    if any(c in text for c in "<>&'") or text.count('"') != 2 * len(attrs):
        return None  # never in Excel's namespaces; _declare_namespaces reads them raw
    return f"<worksheet{text}>"


def _cell_formats(zf: zipfile.ZipFile) -> int:
    """How many cell formats openpyxl reads: those of ``xl/styles.xml``, the one part it
    looks in (one default format without it)."""
    if "xl/styles.xml" not in zf.namelist():
        return 1
    try:
        formats = ET.fromstring(zf.read("xl/styles.xml")).find(f"{{{_MAIN}}}cellXfs")
    except ET.ParseError:
        return 0
    return 0 if formats is None else len(formats.findall(f"{{{_MAIN}}}xf"))


def _at_least(n: int) -> bytes:
    """A pattern for the decimal numbers from ``n`` up, leading zeros aside: one search
    through a tab's rows, where reading every ``s`` as a number took three times longer."""
    digits = str(n)
    alternatives = [f"[1-9][0-9]{{{len(digits)},}}", digits]
    for i, d in enumerate(digits):
        if d != "9":
            alternatives.append(f"{digits[:i]}[{int(d) + 1}-9][0-9]{{{len(digits) - i - 1}}}")
    return f"0*(?:{'|'.join(alternatives)})".encode()


def _top_rows(xml: bytes, start: int, end: int, keep: int) -> bytes:
    """The ``<sheetData>`` element at ``xml[start:end]`` cut before its first row past
    ``keep``."""
    for m in _NUMBERED_ROW.finditer(xml, start, end):
        if int(m[1]) > keep:
            return xml[start : m.start()] + b"</sheetData>"
    return xml[start:end]


def _with_strings_rel(xml: bytes, part: str) -> bytes:
    text = xml.decode()
    taken = set(re.findall(r'Id="([^"]+)"', text))
    n = 1
    while f"rIdStrings{n}" in taken:
        n += 1
    target = posixpath.relpath(part, "xl")
    rel = f'<Relationship Id="rIdStrings{n}" Type="{_STRINGS}" Target={quoteattr(target)}/>'
    return text.replace("</Relationships>", rel + "</Relationships>", 1).encode()


def _with_strings_type(xml: bytes, part: str) -> bytes:
    text = xml.decode()
    entry = f'<Override PartName={quoteattr("/" + part)} ContentType="{_STRINGS_TYPE}"/>'
    return text.replace("</Types>", entry + "</Types>", 1).encode()


# --- Rows appended to a cut tab ------------------------------------------------------------

_APPENDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Workbook → the rows a job appended to its cut tabs (see :func:`append_rows`)."""
_ANY_ROW = re.compile(rb'<row\b[^>]*?\br="([0-9]+)"[^>]*?(/?)>')
_SPANS = re.compile(rb'\s+spans="[^"]*"')


@dataclass(frozen=True)
class Appended:
    """Rows appended below a table of a cut tab: their cells from ``first_col``, each styled
    as the cell of its column in row ``style_row`` (the table's last row in the file)."""

    tab: str
    first_row: int
    first_col: int
    style_row: int
    rows: tuple[tuple[Any, ...], ...]


def append_rows(
    wb: Any, tab: str, first_row: int, first_col: int, style_row: int, rows: list[list[Any]]
) -> None:
    """Append ``rows`` to the cut tab ``tab`` of ``wb`` from row ``first_row``: they go into
    its original rows when :func:`splice_back` puts them back (so a log of 100,000 rows is
    neither loaded nor saved by openpyxl to gain 11). The cells there must be empty."""
    _APPENDS.setdefault(wb, []).append(
        Appended(tab, first_row, first_col, style_row, tuple(tuple(r) for r in rows))
    )


def appended_rows(wb: Any) -> list[Appended]:
    """What :func:`append_rows` recorded for ``wb``."""
    return list(_APPENDS.get(wb, ()))


def with_appended(
    rows: bytes, dimension: bytes | None, added: Appended
) -> tuple[bytes, bytes | None]:
    """The ``<sheetData>`` element ``rows`` with ``added``'s cells put in, and the
    ``<dimension>`` grown to hold them."""
    from openpyxl.utils.cell import get_column_letter

    styles = _row_styles(rows, added.style_row)
    cells: dict[int, bytes] = {}
    for i, line in enumerate(added.rows):
        r = added.first_row + i
        out = []
        for j, value in enumerate(line):
            letter = get_column_letter(added.first_col + j)
            out.append(_cell_xml(f"{letter}{r}", value, styles.get(letter)))
        cells[r] = b"".join(out)
    parts, pos = [], 0
    pending = sorted(cells)
    for m in _ANY_ROW.finditer(rows):
        n = int(m[1])
        while pending and pending[0] < n:
            r = pending.pop(0)
            parts += [rows[pos : m.start()], f'<row r="{r}">'.encode(), cells[r], b"</row>"]
            pos = m.start()
        if pending and pending[0] == n:
            pending.pop(0)
            tag = _SPANS.sub(b"", m[0])
            if m[2]:  # an empty row: <row …/>
                tag = tag[: tag.rindex(b"/")].rstrip() + b">"
                parts += [rows[pos : m.start()], tag, cells[n], b"</row>"]
            else:
                parts += [rows[pos : m.start()], tag, cells[n]]
            pos = m.end()
    end = rows.rindex(b"</sheetData")
    parts.append(rows[pos:end])
    parts += [f'<row r="{r}">'.encode() + cells[r] + b"</row>" for r in pending]
    parts.append(rows[end:])
    last = added.first_row + len(added.rows) - 1
    if dimension is not None:
        found = re.search(rb'ref="([A-Z]+)([0-9]+)(?::([A-Z]+)([0-9]+))?"', dimension)
        if found and found[4] and int(found[4]) < last:
            dimension = dimension[: found.start(4)] + str(last).encode() + dimension[found.end(4) :]
    return b"".join(parts), dimension


def _row_styles(rows: bytes, row: int) -> dict[str, bytes]:
    """Column letter → the style index of each cell of row ``row``."""
    start = re.search(rf'<row\b[^>]*?\br="{row}"[^>]*?>'.encode(), rows)
    if start is None:
        return {}
    end = rows.find(b"</row>", start.end())
    out = {}
    for m in re.finditer(rb'<c\b[^>]*?\br="([A-Z]+)[0-9]+"[^>]*?>', rows[start.end() : end]):
        style = re.search(rb'\bs="([0-9]+)"', m[0])
        if style:
            out[m[1].decode()] = style[1]
    return out


def _cell_xml(ref: str, value: Any, style: bytes | None) -> bytes:
    """One cell as Excel writes it: numbers and dates as numbers, text inline."""
    import datetime as dt
    import math

    from openpyxl.utils.datetime import to_excel

    s = f' s="{style.decode()}"' if style else ""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return f'<c r="{ref}"{s}/>'.encode()
    if isinstance(value, dt.datetime | dt.date):
        value = to_excel(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = value if isinstance(value, int) else f"{value:.16g}"  # as openpyxl writes
        return f'<c r="{ref}"{s}><v>{number}</v></c>'.encode()
    text = escape(str(value))
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'.encode()
