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
    lines = iter(block_values(ws, min_row, max_row, min_col, max_col))
    headers = next(lines, ())
    return headers, list(zip(*lines, strict=True)) or [()] * len(headers)


def block_values(
    ws: Any, min_row: int, max_row: int, min_col: int, max_col: int
) -> list[tuple[Any, ...]]:
    """The values of a block of ``ws``, a row at a time; of a loaded tab, from the cells it
    holds (``iter_rows`` would make a cell of every empty place, and keep it).

    >>> import openpyxl
    >>> ws = openpyxl.Workbook().active; ws["B2"] = 7
    >>> block_values(ws, 1, 2, 1, 2), len(ws._cells)
    ([(None, None), (None, 7)], 1)
    """
    held = getattr(ws, "_cells", None)
    if not isinstance(held, dict):
        return list(
            ws.iter_rows(
                min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col, values_only=True
            )
        )
    columns = range(min_col, max_col + 1)
    return [
        tuple(c.value if (c := held.get((r, j))) is not None else None for j in columns)
        for r in range(min_row, max_row + 1)
    ]
