"""The Rebalance job: read the workbook, allocate, rewrite the Allocation tab (and the Log).

The allocation is solved before the file is opened for writing, so an infeasible policy or
any other error leaves the workbook byte-identical; only
:func:`leadbook.workbook.write.update_workbook` writes.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from leadbook.allocation import Allocation, allocate
from leadbook.enums import Objective
from leadbook.errors import InfeasiblePolicyError
from leadbook.workbook import contract as C
from leadbook.workbook.layout import Expected
from leadbook.workbook.read import Book, read_book
from leadbook.workbook.tabs.allocation import render_allocation
from leadbook.workbook.write import WriteResult, replace_sheet, update_workbook


def rebalance(
    path: str | Path, *, weeks: int = 1, objective: Objective | str | None = None
) -> tuple[WriteResult, Allocation]:
    """Rebalance the workbook at ``path``: write the Allocation tab and a Log row.

    Raises :class:`~leadbook.errors.InfeasiblePolicyError` (the file untouched) when the
    policy on its Settings tab cannot be met.
    """
    book = read_book(path)
    allocation = allocate(book.inventory, book.settings, weeks=weeks, objective=objective)

    def job(wb: Workbook) -> str:
        render_allocation(replace_sheet(wb, C.ALLOCATION.name), allocation, book.settings, {})
        t = allocation.totals
        plan = f" and a {weeks}-week glide path" if weeks > 1 else ""
        return (
            f"rebalanced {len(allocation.table)} sources ({allocation.objective.value}): "
            f"${t.spend:,.0f} a month for {t.customers:,.1f} expected customers{plan}"
        )

    return update_workbook(path, "rebalance", job), allocation


def render_allocation_tab(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """The Allocation tab of ``book`` under its own settings (empty without a book); an
    infeasible policy renders its conflicts instead of a recommendation."""
    from leadbook.settings import Settings

    if book is None:
        render_allocation(ws, None, Settings(), expected)
        return
    try:
        allocation = allocate(book.inventory, book.settings)
    except InfeasiblePolicyError as exc:
        render_allocation(ws, None, book.settings, expected, problem=exc)
        return
    render_allocation(ws, allocation, book.settings, expected)
