"""openpyxl's cell writer, for the common cells, as text: the same bytes, a tenth of the time.

Without lxml, openpyxl writes each cell of a sheet by building an ElementTree element and
serializing it through ``et_xmlfile`` — some 60 µs a cell, most of a save (a Rebalance button
saves the live workbook's 14,000 cells for the version Undo reads: a fifth of the press).
:func:`write_cell` writes a value cell (a number, a text, a boolean, an error, a date) or a
formula cell as the text that serializer gives, straight into the sheet's stream; any other
cell (an array formula, rich text, a text with outer spaces, an empty styled cell, a NaN)
goes to openpyxl's own writer.
:func:`install` puts it in openpyxl's worksheet writer, once; ``tests/test_cellwriter.py``
checks the bytes are openpyxl's.
"""

from __future__ import annotations

from typing import Any

import openpyxl
from openpyxl.cell import _writer as cell_writer
from openpyxl.compat import safe_string
from openpyxl.worksheet import _writer as sheet_writer

CHECKED = ("3.1.",)
"""The openpyxl releases whose writer :func:`write_cell` was checked against (its private
``etree_write_cell`` and ``_set_attributes``; ``tests/test_cellwriter.py`` compares whole
saves): under any other, :func:`install` leaves openpyxl's writer as it is."""

_openpyxl_write_cell = getattr(cell_writer, "etree_write_cell", None)
_PLAIN = frozenset("nsbedf")
"""The data types written here (``d``: a date, which openpyxl turns into a number or text;
``f``: a formula given as text)."""


def _escaped(text: str) -> str:
    """``text`` as ElementTree escapes an element's text.

    >>> _escaped("R&D <2026>")
    'R&amp;D &lt;2026&gt;'
    """
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def write_cell(xf: Any, worksheet: Any, cell: Any, styled: bool | None = None) -> None:
    """Write ``cell`` into the sheet stream ``xf`` as openpyxl's ``etree_write_cell`` does.

    Examples
    --------
    >>> import io, openpyxl
    >>> wb = openpyxl.Workbook(); ws = wb.active
    >>> ws["A1"], ws["B1"], ws["C1"] = 1.5, "R&D", True
    >>> install()
    >>> out = io.BytesIO(); wb.save(out)
    >>> import zipfile
    >>> xml = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
    >>> '<c r="B1" t="inlineStr"><is><t>R&amp;D</t></is></c>' in xml
    True
    """
    kind = cell.data_type
    write = getattr(xf, "_file", None)
    if (
        write is None  # not et_xmlfile's stream (lxml's: openpyxl writes through it)
        or kind not in _PLAIN
        or cell._value is None
        or cell.hyperlink is not None
    ):
        _openpyxl_write_cell(xf, worksheet, cell, styled)
        return
    value, attributes = cell_writer._set_attributes(cell, styled)  # a date as a number
    if kind == "f":
        if type(value) is not str or len(value) < 2:  # an array or data-table formula
            _openpyxl_write_cell(xf, worksheet, cell, styled)
            return
        text = f"<f>{_escaped(value[1:])}</f><v />"
    elif kind == "s":
        if type(value) is not str or not value or value != value.strip():
            _openpyxl_write_cell(xf, worksheet, cell, styled)  # rich text, xml:space
            return
        text = f"<is><t>{_escaped(value)}</t></is>"
    else:
        shown = safe_string(value)
        if not shown:  # NaN, infinity: an empty <v />
            _openpyxl_write_cell(xf, worksheet, cell, styled)
            return
        text = f"<v>{_escaped(shown)}</v>"
    attrs = "".join(f' {k}="{v}"' for k, v in attributes.items())
    write(f"<c{attrs}>{text}</c>")


def install() -> None:
    """Write value cells through :func:`write_cell` in every openpyxl save of this process
    (idempotent). Without effect where openpyxl writes through lxml, or is a release it was
    not checked against (:data:`CHECKED`)."""
    if (
        openpyxl.__version__.startswith(CHECKED)
        and hasattr(cell_writer, "_set_attributes")
        and _openpyxl_write_cell is not None
        and getattr(sheet_writer, "write_cell", None) is _openpyxl_write_cell
    ):
        sheet_writer.write_cell = write_cell
