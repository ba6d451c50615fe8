"""Put the live workbook's formulas into a button's values copy without saving it again.

A button keeps, as the version Undo reads, the copy of the live workbook its job started
from (:func:`udfs.book.mirror`, saved by openpyxl), with the formulas leadbook's task pane sent
put into its formula cells. Loading that copy and saving it again took a fifth of a press;
:func:`with_formulas` writes the formulas straight into the saved package's sheet XML instead,
each formula cell as openpyxl writes one (``<c r="B5" s="1"><f>SUM(B1:B2)</f><v/></c>``: its
style kept, no value), so that the version reads back cell for cell as the saved copy with the
formulas set would.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries

from leadbook.workbook.parts import Package, escape

Formulas = Mapping[str, Mapping[tuple[int, int], str]]
"""Tab → (row, column) → formula text (``=`` first), as :func:`udfs.book.sent_formulas` gives."""

_SHEET_DATA = re.compile(rb"<sheetData\s*/>|<sheetData>(.*?)</sheetData>", re.DOTALL)
_ROW = re.compile(rb"<row\b([^>]*?)(?:/>|>(.*?)</row>)", re.DOTALL)
_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>.*?</c>)", re.DOTALL)
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')
_CELL_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_STYLE = re.compile(rb'\bs="(\d+)"')
_DIMENSION = re.compile(rb'<dimension\b[^>]*?\bref="([^"]+)"')


def with_formulas(package: bytes, formulas: Formulas) -> bytes:
    """The saved workbook ``package`` (an openpyxl save, its text inline) with each cell of
    ``formulas`` holding its formula in place of its value.

    Examples
    --------
    >>> import io, openpyxl
    >>> wb = openpyxl.Workbook()
    >>> wb.active.title = "Allocation"
    >>> wb.active["B5"] = 3
    >>> buffer = io.BytesIO()
    >>> wb.save(buffer)
    >>> kept = with_formulas(buffer.getvalue(), {"Allocation": {(5, 2): "=B1*2", (7, 1): "=1"}})
    >>> ws = openpyxl.load_workbook(io.BytesIO(kept))["Allocation"]
    >>> ws["B5"].value, ws["A7"].value
    ('=B1*2', '=1')
    """
    pkg = Package.of_bytes(package)
    parts = pkg.tabs()
    for tab, cells in formulas.items():
        part = parts.get(tab)
        if cells and part and part in pkg.parts:
            pkg.parts[part] = sheet_with_formulas(pkg.parts[part], cells)
    return pkg.to_bytes()


def sheet_with_formulas(xml: bytes, cells: Mapping[tuple[int, int], str]) -> bytes:
    """A worksheet part as openpyxl writes it with ``cells`` (row, column) → formula put in,
    rows and cells added in order where it had none.

    Examples
    --------
    >>> xml = b'<worksheet><sheetData><row r="2"><c r="A2" s="3" t="n"><v>4</v></c></row>'
    >>> xml += b'</sheetData></worksheet>'
    >>> sheet_with_formulas(xml, {(2, 1): "=A1&\\"<\\"", (1, 2): "=1", (2, 3): "=2"})
    b'<worksheet><sheetData><row r="1"><c r="B1"><f>1</f><v/></c></row><row r="2"><c r="A2" \
s="3"><f>A1&amp;"&lt;"</f><v/></c><c r="C2"><f>2</f><v/></c></row></sheetData></worksheet>'
    """
    found = _SHEET_DATA.search(xml)
    if found is None:
        raise AssertionError("a saved tab without sheetData: cannot put its formulas in")
    by_row: dict[int, dict[int, str]] = {}
    for (r, c), formula in cells.items():
        by_row.setdefault(r, {})[c] = formula
    pending = sorted(by_row)
    rows = found[1] or b""
    out: list[bytes] = []
    pos = 0
    for m in _ROW.finditer(rows):
        number = _ROW_NUMBER.search(m[1])
        r = int(number[1]) if number else 0
        while pending and pending[0] < r:
            new = pending.pop(0)
            out += [rows[pos : m.start()], _new_row(new, by_row[new])]
            pos = m.start()
        if not pending or pending[0] != r:
            continue
        pending.pop(0)
        out += [rows[pos : m.start()], b"<row", m[1], b">", _cells(m[2] or b"", r, by_row[r])]
        out.append(b"</row>")
        pos = m.end()
    out.append(rows[pos:])
    out += [_new_row(r, by_row[r]) for r in pending]
    data = b"<sheetData>" + b"".join(out) + b"</sheetData>"
    return _grown(xml[: found.start()], cells) + data + xml[found.end() :]


def _grown(head: bytes, cells: Collection[tuple[int, int]]) -> bytes:
    """The part before sheetData with its ``<dimension>`` grown to hold ``cells``, as openpyxl
    would have written it."""
    found = _DIMENSION.search(head)
    if found is None or not cells:
        return head
    rows = [r for r, _ in cells]
    columns = [c for _, c in cells]
    top, left, bottom, right = min(rows), min(columns), max(rows), max(columns)
    if found[1] != b"A1":  # openpyxl's A1 is an empty tab: nothing of it to keep
        min_col, min_row, max_col, max_row = range_boundaries(found[1].decode())
        top, left = min(top, min_row or top), min(left, min_col or left)
        bottom, right = max(bottom, max_row or bottom), max(right, max_col or right)
    ref = f"{get_column_letter(left)}{top}:{get_column_letter(right)}{bottom}".encode()
    return head[: found.start(1)] + ref + head[found.end(1) :]


def _new_row(r: int, formulas: Mapping[int, str]) -> bytes:
    return b'<row r="%d">' % r + _cells(b"", r, formulas) + b"</row>"


def _cells(xml: bytes, r: int, formulas: Mapping[int, str]) -> bytes:
    """A row's cells ``xml`` with ``formulas`` (column → formula) put in, in column order."""
    cells: dict[int, bytes] = {}
    for m in _CELL.finditer(xml):
        ref = _CELL_REF.search(m[1])
        if ref is None:
            raise AssertionError("a saved cell without its reference: cannot put formulas in")
        cells[column_index_from_string(ref[1].decode())] = m[0]
    for c, formula in formulas.items():
        style = _STYLE.search(cells[c]) if c in cells else None
        styled = b' s="%s"' % style[1] if style else b""
        text = escape(formula[1:]).encode()
        ref = f"{get_column_letter(c)}{r}".encode()
        cells[c] = b'<c r="' + ref + b'"' + styled + b"><f>" + text + b"</f><v/></c>"
    return b"".join(cells[c] for c in sorted(cells))
