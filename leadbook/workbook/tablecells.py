"""Finding an Excel Table in a workbook and reading its cells column by column.

The reader (:mod:`leadbook.workbook.read`) and the input fingerprints
(:mod:`leadbook.workbook.provenance`) both read tables this way.
"""

from __future__ import annotations

from typing import Any

from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.workbook import Workbook

from leadbook import contract as C


def find_table(wb: Workbook, spec: C.TableSpec) -> tuple[Any, Any] | None:
    """The ``(worksheet, table)`` named ``spec.name``, wherever it is; None if absent."""
    for ws in wb.worksheets:
        if spec.name in ws.tables:
            return ws, ws.tables[spec.name]
    return None


def table_columns(ws: Any, ref: str) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """The header row of the table at ``ref`` on ``ws`` and its data cells column by column,
    as values (a row at a time, they were a dict or a lookup a cell)."""
    bulk = getattr(ws, "table_columns", None)
    if bulk is not None:  # a streamed tab (leadbook.workbook.stream) reads it in bulk
        return bulk(ref)  # type: ignore[no-any-return]
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    lines = ws.iter_rows(
        min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col, values_only=True
    )
    headers = next(lines, ())
    return headers, list(zip(*lines, strict=True)) or [()] * len(headers)
