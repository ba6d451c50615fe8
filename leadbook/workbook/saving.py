"""Save a workbook as every file leadbook writes is saved.

:func:`saved_package` names the tables' columns after their header cells (Excel repairs a file
whose names differ) and caches leadbook's values in the formula cells openpyxl saves without
one (:func:`write_formula_values`), so every reader sees the figures without recalculating;
:func:`carry_cached_values` puts back the values the original cached for the input tabs'
formulas. Value cells are written as text (:mod:`leadbook.workbook.cellwriter`: the bytes
openpyxl writes, faster), installed on import.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import numbers
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as ET  # noqa: N817
import numpy as np
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.workbook import Workbook

from leadbook import contract as C
from leadbook.workbook import cellwriter
from leadbook.workbook.layout import formula_values, name_all_table_columns
from leadbook.workbook.parts import Package, escape, quoteattr

cellwriter.install()


def save_workbook(wb: Workbook, path: Path | str) -> None:
    """Save ``wb`` as every file leadbook writes is saved (:func:`saved_package`)."""
    saved, _ = saved_package(wb)
    saved.write(Path(path))


def saved_package(wb: Workbook) -> tuple[Package, int]:
    """``wb`` saved as every file leadbook writes is — its tables' columns named after their
    header cells first (Excel repairs a file whose names differ), leadbook's values cached
    in its formula cells — as a package in memory, and the size openpyxl's zip of it has."""
    name_all_table_columns(wb)
    buffer = io.BytesIO()
    wb.save(buffer)
    saved = Package.of_bytes(buffer.getvalue())
    write_formula_values(wb, saved)
    return saved, buffer.tell()


_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


_FORMULA_CELL = re.compile(
    r'<c r="(?P<ref>[A-Z]+[0-9]+)"(?P<attrs>[^>]*)>(?P<f><f(?:\s[^>]*)?(?:/>|>[^<]*</f>))<v\s*/>'
)


def carry_cached_values(
    original: Package, saved: Package, tabs: frozenset[str] = C.INPUT_SHEETS
) -> None:
    """Put back, in ``saved``, the values cached for the formulas of ``tabs`` (by default
    the input tabs).

    openpyxl writes formulas without their last values, so a formula a user typed in an
    input cell (a CPL of ``=90+8``) would read as blank to leadbook after its first write.
    The input tabs are the same after a job, so their cached values still hold; so do those
    of an output tab the job did not render, whose formulas read that tab and the inputs.
    """
    parts = original.tabs()
    cached = {
        tab: _cached_formula_values(original.parts[parts[tab]])
        for tab in tabs
        if parts.get(tab) in original.parts
    }
    _put_cached_values(saved, cached)


def write_formula_values(wb: Workbook, saved: Package) -> None:
    """Put leadbook's value of each formula it wrote into ``wb``
    (:func:`~leadbook.workbook.layout.formula_values`) into ``saved``, the package ``wb``
    was just saved as, as the cell's cached value — a blank one as the empty text it shows.

    Excel recalculates on opening anyway (fullCalcOnLoad); readers that do not calculate
    (the board pack, viewers, openpyxl with ``data_only``) see the numbers instead of blanks.
    """
    cached: dict[str, dict[str, tuple[str, str | None]]] = {}
    for ref, value in formula_values(wb).items():
        tab, cell = ref.rsplit("!", 1)
        typed = _typed_value(value, wb.epoch)
        if tab in wb.sheetnames and wb[tab][cell].data_type == "f" and typed is not None:
            cached.setdefault(tab, {})[cell] = typed
    _put_cached_values(saved, cached)


def _typed_value(value: Any, epoch: dt.datetime) -> tuple[str, str | None] | None:
    """A cached value as a cell holds it: its ``<v>`` text and ``t`` type (None: a number);
    None for a value no cell can cache (infinity)."""
    if value is None:
        return "", "str"
    if isinstance(value, bool | np.bool_):
        return str(int(value)), "b"
    if isinstance(value, dt.date | dt.time):
        value = to_excel(value, epoch)
    if isinstance(value, numbers.Integral):  # numpy's integers too: written as numbers
        return str(int(value)), None
    if isinstance(value, numbers.Real):  # numpy's floats: repr(np.float64(2.5)) names its type
        number = float(value)
        return (repr(number).removesuffix(".0"), None) if math.isfinite(number) else None
    return str(value), "str"


def _put_cached_values(
    saved: Package, cached: Mapping[str, Mapping[str, tuple[str, str | None]]]
) -> None:
    """Put the cached values ``cached`` (tab → cell → value text, type) into the formula
    cells of ``saved`` that have none."""
    cached = {tab: values for tab, values in cached.items() if values}
    if not cached:
        return
    parts = saved.tabs()
    for tab, values in cached.items():
        part = parts.get(tab)
        if part in saved.parts:
            xml = _with_cached_values(saved.parts[part].decode("utf-8"), values)
            saved.parts[part] = xml.encode("utf-8")


_CACHED_VALUE = re.compile(
    rb"(?:</(?:[\w.-]+:)?f>|<(?:[\w.-]+:)?f\b[^>]*/>)\s*<(?:[\w.-]+:)?v\b[^>/]*>(?:[^<]|</)"
)
"""A formula followed by a value, as any program writes it: not empty, or empty text."""


def _maybe_utf16(xml: bytes) -> bool:
    """Whether a part may be UTF-16 (a byte order mark, or NUL bytes at its start), which a
    search for UTF-8 bytes cannot see into."""
    return xml.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in xml[:64]


def _cached_formula_values(xml: bytes) -> dict[str, tuple[str, str | None]]:
    """Cell → (cached value, its type attribute) of every formula cell that has one."""
    out: dict[str, tuple[str, str | None]] = {}
    if _CACHED_VALUE.search(xml) is None and not _maybe_utf16(xml):
        return out  # no formula with a value on the tab (a data validation's <formula1> is none)
    plain = _plain_formula_values(xml)
    if plain is not None:
        return plain
    for cell in ET.fromstring(xml).iter(f"{_NS_MAIN}c"):
        value = cell.find(f"{_NS_MAIN}v")
        if cell.find(f"{_NS_MAIN}f") is None or value is None:
            continue
        if value.text or cell.get("t") == "str":  # a formula's empty text ("") is a value
            out[cell.get("r")] = (value.text or "", cell.get("t"))
    return out


_PLAIN_FORMULA_CELL = re.compile(
    rb'<c r="([A-Z]+[0-9]+)"(?: s="[0-9]+")?(?: t="(\w+)")?>'
    rb"<f(?:\s[^>]*)?(?:/>|>[^<]*</f>)(?:<v>([^<]*)</v>|<v\s*/>)?</c>"
)
_FORMULA_TAG = re.compile(rb"<f[\s/>]")


def _plain_formula_values(xml: bytes) -> dict[str, tuple[str, str | None]] | None:
    """:func:`_cached_formula_values` of a part whose every formula is in a cell written in
    the plain form (as Excel, LibreOffice and leadbook write it), found without parsing the
    part (a tenth of the time); None when some formula is in another form."""
    found = _PLAIN_FORMULA_CELL.findall(xml)
    if len(found) != len(_FORMULA_TAG.findall(xml)):
        return None
    return {
        ref.decode(): (html.unescape(value.decode()), kind.decode() or None)
        for ref, kind, value in found
        if value or kind == b"str"
    }


def _with_cached_values(xml: str, values: dict[str, tuple[str, str | None]]) -> str:
    def put(m: re.Match[str]) -> str:
        found = values.get(m["ref"])
        if found is None or " t=" in m["attrs"]:
            return m[0]
        value, kind = found
        typed = f" t={quoteattr(kind)}" if kind else ""
        return f'<c r="{m["ref"]}"{m["attrs"]}{typed}>{m["f"]}<v>{escape(value)}</v>'

    return _FORMULA_CELL.sub(put, xml)
