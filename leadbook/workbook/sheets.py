"""Output tabs inside an open workbook: a tab replaced in place, and what a job did to them.

:func:`replace_sheet` puts an empty output tab where the old one was (refusing a tab of the
user's that bears an output tab's name) and keeps the old one readable
(:func:`previous_sheet`); the workbook remembers which tabs a job (re)computed
(:func:`mark_rendered`), so the summary tabs that read them follow
(:func:`follow_summaries`); and each output tab's chart builder (:data:`CHART_BUILDERS`)
redraws the charts openpyxl drops on loading (:func:`restore_charts`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any

from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import contract as C
from leadbook.errors import WorkbookFileError
from leadbook.workbook.layout import Expected, formula_values
from leadbook.workbook.provenance import READS, SUMMARY_TABS, read_stamp
from leadbook.workbook.read import Book

CHART_BUILDERS: dict[str, Callable[[Any], None]] = {}
"""Output tab → a function that (re)draws its native charts from the tables on it.

openpyxl drops every chart of a workbook it loads, so after each job leadbook redraws the
charts of output tabs the job did not re-render. A tab's renderer registers its builder here
(``CHART_BUILDERS["Allocation"] = draw_allocation_charts``) and calls it itself too."""

_REPLACED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""New tab → the tab it replaced (see :func:`previous_sheet`)."""

_RENDERED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Workbook → the output tabs a job has (re)computed in it (see :func:`mark_rendered`)."""


def mark_rendered(wb: Workbook, name: str) -> None:
    """Record that a job (re)computed output tab ``name`` of ``wb`` (for its stamp)."""
    _RENDERED.setdefault(wb, set()).add(name)


def rendered_tabs(wb: Workbook) -> set[str]:
    """The output tabs a job has (re)computed in ``wb`` so far."""
    return set(_RENDERED.get(wb, ()))


Renderer = Callable[[Worksheet, Book | None, Expected], None]
"""Compute an output tab from a book and write it (see :mod:`leadbook.workbook.jobs.outputs`)."""


def follow_summaries(
    wb: Workbook, book: Book, rendered: set[str], renderers: Mapping[str, Renderer]
) -> set[str]:
    """Re-render each summary tab (Board, Maturity: ``renderers``) that was computed before
    and reads a tab in ``rendered``; the names of those re-rendered."""
    done: set[str] = set()
    for name in SUMMARY_TABS:
        if name not in renderers:
            continue
        reads = set(READS[name])
        if (
            name in wb.sheetnames
            and name not in rendered
            and reads & (rendered | done)
            and read_stamp(wb[name]) is not None
        ):
            renderers[name](replace_sheet(wb, name), book, formula_values(wb))
            done.add(name)
    return done


def restore_charts(wb: Workbook) -> None:
    """Redraw the charts of output tabs that have none after loading (see CHART_BUILDERS)."""
    for name, draw in CHART_BUILDERS.items():
        if name in wb.sheetnames and not wb[name]._charts:
            draw(wb[name])


def replace_sheet(wb: Workbook, name: str) -> Any:
    """An empty output tab ``name`` in place of the old one, at the same position; a tab new
    to the workbook goes after the contract's tabs that come before it."""
    if name in C.INPUT_SHEETS:
        raise AssertionError(f"{name} is an input tab; leadbook never rewrites it")
    index = wb.sheetnames.index(name) if name in wb.sheetnames else _place_of(wb, name)
    old = wb[name] if name in wb.sheetnames else None
    if old is not None and not _written_by_leadbook(old, name):
        raise WorkbookFileError(
            f"the tab {name!r} is not one leadbook wrote (its A1 says {old['A1'].value!r}, "
            f"not {name!r}), and leadbook would replace it; rename your tab and run again"
        )
    if old is not None:
        wb.remove(old)
    ws = wb.create_sheet(name, index)
    if old is not None:
        _REPLACED[ws] = old
    mark_rendered(wb, name)
    return ws


def _written_by_leadbook(ws: Any, name: str) -> bool:
    """Whether tab ``ws`` is leadbook's (its title in A1, as :func:`layout.title` writes it)
    or empty, rather than a tab of the user's that happens to bear an output tab's name."""
    if ws["A1"].value in (name, "leadbook"):
        return True
    return ws.max_row == 1 and ws.max_column == 1 and ws["A1"].value is None


def _place_of(wb: Workbook, name: str) -> int:
    """Where a new tab ``name`` goes: after the last tab of ``wb`` that the contract puts
    before it (at the end for a tab the contract does not know)."""
    if name not in C.SHEET_NAMES:
        return len(wb.sheetnames)
    earlier = C.SHEET_NAMES[: C.SHEET_NAMES.index(name)]
    present = [wb.sheetnames.index(n) for n in earlier if n in wb.sheetnames]
    return max(present) + 1 if present else 0


def previous_sheet(ws: Any) -> Any | None:
    """The tab ``ws`` replaced in :func:`replace_sheet` (None if it is new), still readable:
    a renderer reads what it must keep from it (the Board history, the Maturity answers)."""
    return _REPLACED.get(ws)
