"""Put the live workbook's formulas into a button's values copy without saving it again.

A button keeps, as the version Undo reads, the copy of the live workbook its job started
from (:func:`udfs.book.mirror`, saved by openpyxl), with the formulas leadbook's task pane sent
put into its formula cells. A job that reads its inputs from the copy in memory (Rebalance)
saves the copy with them (:func:`formulas_in`). For the others, which read the saved copy,
loading that copy and saving it again took a fifth of a press: :func:`with_formulas` writes
the formulas straight into the saved package's sheet XML instead, each formula cell as
openpyxl writes one (``<c r="B5" s="1"><f>SUM(B1:B2)</f><v/></c>``: its style kept, no
value), so that the version reads back cell for cell as the saved copy with the formulas set
would.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries

from leadbook.contract import SHEET_NAMES
from leadbook.workbook.layout import set_cell
from leadbook.workbook.parts import Package, escape
from udfs.convert import ArgumentError

Formulas = Mapping[str, Mapping[tuple[int, int], str]]
"""Tab → (row, column) → formula text (``=`` first), as :func:`sent_formulas` gives."""

_SHEET_DATA = re.compile(rb"<sheetData\s*/>|<sheetData>(.*?)</sheetData>", re.DOTALL)
_ROW = re.compile(rb"<row\b([^>]*?)(?:/>|>(.*?)</row>)", re.DOTALL)
_CELL_AT = re.compile(rb'<c r="([A-Z]+)\d+"')
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')
_STYLE = re.compile(rb'\bs="(\d+)"')
_DIMENSION = re.compile(rb'<dimension\b[^>]*?\bref="([^"]+)"')


@contextlib.contextmanager
def formulas_in(wb: Any, formulas: Formulas | None) -> Iterator[None]:
    """The mirrored workbook ``wb`` with each cell of ``formulas`` holding its formula while
    the block runs (a save of the version Undo reads), its value given back after — as
    :func:`with_formulas` would have put them into the saved file.

    Examples
    --------
    >>> import openpyxl
    >>> wb = openpyxl.Workbook(); wb.active.title = "Allocation"; wb.active["B5"] = 3
    >>> with formulas_in(wb, {"Allocation": {(5, 2): "=B1*2"}}):
    ...     wb.active["B5"].value
    '=B1*2'
    >>> wb.active["B5"].value
    3
    """
    held: list[tuple[Any, Any]] = []
    try:
        for tab, cells in (formulas or {}).items():
            if tab not in wb.sheetnames:
                continue
            ws = wb[tab]
            for (r, c), formula in cells.items():
                cell = ws.cell(r, c)
                held.append((cell, cell.value))
                cell.value = formula
        yield
    finally:
        for cell, value in held:
            set_cell(cell, value)  # a text that looks like a formula stays a text


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
    """A row's cells ``xml`` with ``formulas`` (column → formula) put in, in column order:
    each in place of the cell it replaces, or before the first cell right of it.

    >>> _cells(b'<c r="A3" t="n"><v>1</v></c><c r="B3" s="2"/>', 3, {2: "=A3*2"})
    b'<c r="A3" t="n"><v>1</v></c><c r="B3" s="2"><f>A3*2</f><v/></c>'
    >>> _cells(b'<c r="B3"><v>1</v></c>', 3, {3: "=2", 1: "=1"})
    b'<c r="A3"><f>1</f><v/></c><c r="B3"><v>1</v></c><c r="C3"><f>2</f><v/></c>'
    """
    found = [(m.start(), m[1]) for m in _CELL_AT.finditer(xml)]
    at = {column_index_from_string(letters.decode()): start for start, letters in found}
    if len(at) != len(found) or len(found) != xml.count(b"<c"):
        raise AssertionError("a saved row whose cells are not as openpyxl writes them")
    edits = []
    for c, formula in formulas.items():
        ref = f"{get_column_letter(c)}{r}".encode()
        start = at.get(c)
        if start is None:  # a blank cell: the formula goes before the first cell right of it
            end = start = min((s for col, s in at.items() if col > c), default=len(xml))
            cell = _formula_cell(ref, formula, b"")
        else:
            head = xml.index(b">", start)
            end = head + 1 if xml[head - 1] == ord("/") else xml.index(b"</c>", head) + 4
            cell = _formula_cell(ref, formula, xml[start:head])
        edits.append((start, c, end, cell))
    out, pos = [], 0
    for start, _, end, cell in sorted(edits):
        out += [xml[pos:start], cell]
        pos = end
    out.append(xml[pos:])
    return b"".join(out)


def _formula_cell(ref: bytes, formula: str, was: bytes) -> bytes:
    """Cell ``ref`` holding ``formula``, with the style of the cell it replaces (``was``)."""
    style = _STYLE.search(was)
    styled = b' s="%s"' % style[1] if style else b""
    return (
        b'<c r="' + ref + b'"' + styled + b"><f>" + escape(formula[1:]).encode() + b"</f><v/></c>"
    )


MAX_FORMULA_CELLS = 1_000_000
"""The most formula cells a press may send (a contract workbook has a few thousand)."""
MAX_FORMULA_LENGTH = 8192
"""Excel's longest formula, in characters."""
_A1_BLOCK = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})(?::([A-Z]{1,3})([1-9][0-9]{0,6}))?")
_EXCEL_ROWS, _EXCEL_COLUMNS = 1_048_576, 16_384


class FormulasError(ArgumentError):
    """What the task pane sent as the workbook's formulas cannot be read."""


def sent_formulas(sent: Any, tabs: Collection[str]) -> Formulas | None:
    """The formulas leadbook's task pane read from the live workbook for a press (Office.js's
    ``Range.formulas``; xlwings' own request carries values only), checked whole, or None
    when it sent none.

    ``sent`` is ``{tab: {formula: [address, …]}}``, an address a cell (``B5``) or a block of
    cells holding the same formula (``B5:B40``); ``tabs`` are the workbook's tabs. Every
    formula starts with ``=`` and fits Excel's length; every address lies in Excel's grid
    and names its cell once. Anything else is refused, every problem named (up to ten),
    before the job starts. Only the contract's tabs are kept (:func:`mirror` copies no others).

    >>> sent_formulas({"Allocation": {"=SUM(B1:B2)": ["B6"], "=[@Spend]*2": ["D8:D9"]}},
    ...               ["Allocation"])
    {'Allocation': {(6, 2): '=SUM(B1:B2)', (8, 4): '=[@Spend]*2', (9, 4): '=[@Spend]*2'}}
    """
    if sent is None:
        return None
    if not isinstance(sent, dict):
        raise FormulasError(_refused([f"expected tab → formula → cells, got {_kind(sent)}"]))
    problems: list[str] = []
    found: Formulas = {}
    tabs = set(tabs)  # looked up once a tab sent: in a list, n² for n tabs
    budget = MAX_FORMULA_CELLS  # counted as it goes: a sum over the tabs each time was n²
    for tab, by_formula in sent.items():
        if tab not in tabs:
            problems.append(f"{str(tab)[:40]!r} is not a tab of this workbook")
        elif not isinstance(by_formula, dict):
            problems.append(f"{tab}: expected formula → cells, got {_kind(by_formula)}")
        else:
            found[tab] = _tab_formulas(tab, by_formula, problems, budget)
            budget -= len(found[tab])
    if problems:
        raise FormulasError(_refused(problems))
    return {tab: cells for tab, cells in found.items() if tab in SHEET_NAMES}


def _tab_formulas(
    tab: str, by_formula: dict[Any, Any], problems: list[str], budget: int
) -> dict[tuple[int, int], str]:
    """One tab's formulas by cell; what is wrong with them added to ``problems``."""
    cells: dict[tuple[int, int], str] = {}
    for formula, addresses in by_formula.items():
        if not (isinstance(formula, str) and formula.startswith("=")) or (
            len(formula) > MAX_FORMULA_LENGTH
        ):
            problems.append(
                f"{tab}: {str(formula)[:40]!r} is not a formula (one starts with = and has at "
                f"most {MAX_FORMULA_LENGTH} characters)"
            )
            continue
        if not isinstance(addresses, list):
            problems.append(f"{tab}: expected a list of cell addresses, got {_kind(addresses)}")
            continue
        for address in addresses:
            block = _block(address)
            if block is None:
                problems.append(f"{tab}: {str(address)[:20]!r} is not a cell or block of cells")
                continue
            top, left, bottom, right = block
            budget -= (bottom - top + 1) * (right - left + 1)
            if budget < 0:
                raise FormulasError(_refused([f"more than {MAX_FORMULA_CELLS:,} formula cells"]))
            for key in ((r, c) for r in range(top, bottom + 1) for c in range(left, right + 1)):
                if cells.setdefault(key, formula) != formula:
                    problems.append(f"{tab}!{get_column_letter(key[1])}{key[0]}: two formulas")
    return cells


def _refused(problems: list[str]) -> str:
    more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
    return (
        "leadbook cannot read the formulas the task pane sent with this press, so it ran "
        f"nothing: {'; '.join(problems[:10])}{more}. Reload the task pane and press again"
    )


def _kind(value: Any) -> str:
    return "an object" if isinstance(value, dict) else f"a {type(value).__name__}"


def _block(address: Any) -> tuple[int, int, int, int] | None:
    """``B5`` or ``B5:C40`` as (top, left, bottom, right), 1-based; None if it is not one
    inside Excel's grid."""
    found = _A1_BLOCK.fullmatch(address) if isinstance(address, str) else None
    if found is None:
        return None
    first, row, last, end = found.groups()
    top, left = int(row), column_index_from_string(first)
    bottom, right = (int(end), column_index_from_string(last)) if last else (top, left)
    if bottom > _EXCEL_ROWS or right > _EXCEL_COLUMNS or top > bottom or left > right:
        return None
    return top, left, bottom, right
