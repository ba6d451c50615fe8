"""The quarterly board pack: a values-only workbook (and its PDF) built from the workbook.

``leadbook board BOOK --quarter 2026Q4`` and the **Export board pack** button run
:func:`export_board_pack`, which

1. computes the quarter's KPIs, pitfalls and maturity assessment from the workbook;
2. updates the workbook through :func:`~leadbook.workbook.write.update_workbook`: the Board
   tab (with the quarter's row added to Board history, or replaced), the Maturity tab (the
   user's answers kept) and a Log row;
3. writes the pack, ``<book>-board-<quarter>.xlsx``: values only (no formula, no function,
   no link, no macro), a cover with the scorecard, the KPIs with their trends and the
   pitfalls, the portfolio, the trends, the allocation, forecast and hiring, ROI (copied as
   values from their tabs when filled, else "not available" and why) and the maturity
   roadmap, with native Excel charts; each sheet set to print landscape, fitted to the page
   width (A4 or Letter) with its title rows repeated;
4. with ``pdf``, converts the pack with headless LibreOffice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook

from leadbook import maturity as M
from leadbook.board import (
    Kpi,
    Pitfall,
    Quarter,
    Shows,
    latest_quarter,
    quarter_actuals,
    snapshot,
)
from leadbook.errors import LeadbookError
from leadbook.libreoffice import convert, recalculated
from leadbook.workbook import contract as C
from leadbook.workbook.gather import (
    saved_history,
    with_quarter,
)
from leadbook.workbook.layout import now
from leadbook.workbook.packsheets import (
    PACK_TABS,
    PAPERS,
    Block,
    PackContent,
    build_pack,
    status_counts,
)
from leadbook.workbook.read import Book, open_workbook, read_book
from leadbook.workbook.tabs.board import (
    BoardView,
    MaturityView,
    board_view,
    maturity_view,
    render_board_tab,
    render_maturity_tab,
)
from leadbook.workbook.write import replace_sheet, update_workbook

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackResult:
    """What an export wrote, and the figures it reported."""

    workbook: Path
    pack: Path
    pdf: Path | None
    quarter: Quarter
    kpis: tuple[Kpi, ...]
    pitfalls: tuple[Pitfall, ...]
    assessment: M.Assessment
    changed: str


def export_board_pack(
    path: str | Path,
    quarter: str | Quarter | None = None,
    out_dir: str | Path | None = None,
    *,
    pdf: bool = False,
    paper: str = "a4",
) -> PackResult:
    """Export the board pack of ``quarter`` and record it in the workbook (see module doc).

    ``quarter`` defaults to the quarter of History's last month. Raises
    :class:`~leadbook.errors.LeadbookError` for a bad quarter or paper or a workbook with
    input errors, before anything is written.
    """
    path = Path(path)
    given = quarter if isinstance(quarter, Quarter | None) else Quarter.parse(quarter)
    if paper.lower() not in PAPERS:
        raise LeadbookError(f"paper {paper!r} is not one of: {', '.join(PAPERS)}")
    out = Path(out_dir) if out_dir is not None else path.parent
    book = read_book(path)
    when = given or latest_quarter(book.inventory.history)
    if when is None:
        raise LeadbookError("History is empty, so there is no latest quarter: give --quarter")
    copied = copied_tabs(path)
    done: list[Recorded] = []

    def job(wb: Workbook) -> str:
        done.append(_record(wb, book, when))
        board, a = done[0].board, done[0].maturity.assessment
        warnings = sum(p.shows is Shows.WARNING for p in board.pitfalls)
        return (
            f"board pack {when}: {status_counts(board.kpis)}; {warnings} pitfall warning(s); "
            f"maturity stage {a.reached.number}; pack {pack_name(path, when)}"
        )

    result = update_workbook(path, "board", job)
    board, assessment = done[0].board, done[0].maturity.assessment
    content = PackContent(
        book, when, done[0].period, board.kpis, board.pitfalls, assessment, copied, path.name
    )
    target = _save(build_pack(content, paper=paper.lower()), out / pack_name(path, when))
    pdf_path = convert(target, "pdf", out) if pdf else None
    return PackResult(
        path, target, pdf_path, when, board.kpis, board.pitfalls, assessment, result.changed
    )


def pack_name(book: Path, quarter: Quarter) -> str:
    """The pack's file name: ``<book>-board-<quarter>.xlsx``."""
    return f"{book.stem}-board-{quarter.label}.xlsx"


@dataclass(frozen=True)
class Recorded:
    """What an export wrote to the workbook, and what the pack shows of it."""

    board: BoardView
    maturity: MaturityView
    period: str


def _record(wb: Workbook, book: Book, quarter: Quarter) -> Recorded:
    """Rewrite the Board tab (adding the quarter to Board history) and the Maturity tab."""
    old_board = wb[C.BOARD.name] if C.BOARD.name in wb.sheetnames else None
    old_maturity = wb[C.MATURITY.name] if C.MATURITY.name in wb.sheetnames else None
    saved = saved_history(old_board)
    view = board_view(wb, book, quarter, saved)
    saved = with_quarter(saved, quarter, {"exported": now(), **snapshot(list(view.kpis))})
    view = replace(view, saved=saved)
    expected: dict[str, Any] = {}
    render_board_tab(replace_sheet(wb, C.BOARD.name), view, expected)
    maturity = maturity_view(old_maturity, wb, book, saved)
    ws = replace_sheet(wb, C.MATURITY.name)
    wb.move_sheet(ws, wb.sheetnames.index(C.BOARD.name) + 1 - wb.index(ws))
    render_maturity_tab(ws, maturity, expected)
    actuals = quarter_actuals(book.inventory, quarter)
    period = f"{actuals.coverage} of {quarter.long}" if actuals else view.period
    return Recorded(view, maturity, period)


def _save(wb: Workbook, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".~{target.stem}-", suffix=".xlsx", dir=target.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes it private; the pack is for sharing
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target


# --- Other tabs, as values -------------------------------------------------------------------


def copied_tabs(path: Path) -> dict[str, list[Block]]:
    """The content of the Allocation, Forecast, Hiring and ROI tabs, as values.

    Formula cells need their values: a workbook last saved by Excel carries them; one
    saved by leadbook does not, and then LibreOffice recalculates a copy first.
    """
    formulas = open_workbook(path, data_only=False)
    values = open_workbook(path, data_only=True)
    if _missing_values(formulas, values):
        with tempfile.TemporaryDirectory(prefix="leadbook-pack-") as tmp:
            values = openpyxl.load_workbook(recalculated(path, Path(tmp)), data_only=True)
    return {tab: tab_blocks(values, tab) for tab in PACK_TABS if tab in values.sheetnames}


def _missing_values(formulas: Workbook, values: Workbook) -> list[str]:
    missing = []
    for tab in PACK_TABS:
        if tab not in formulas.sheetnames:
            continue
        for row in formulas[tab].iter_rows():
            for cell in row:
                if cell.data_type == "f" and values[tab][cell.coordinate].value is None:
                    missing.append(f"{tab}!{cell.coordinate}")
    return missing


def tab_blocks(wb: Workbook, tab: str) -> list[Block]:
    """A tab's tables (with their number formats) and its notes, top to bottom."""
    ws = wb[tab]
    blocks, covered = [], set()
    for table in ws.tables.values():
        name = table.displayName
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        cells = [
            list(r)
            for r in ws.iter_rows(
                min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col
            )
        ]
        covered |= {(c.row, c.column) for r in cells for c in r}
        rows = tuple(
            tuple(c.value for c in r) for r in cells[1:] if any(c.value is not None for c in r)
        )
        widths = tuple(
            ws.column_dimensions[get_column_letter(c)].width or 10
            for c in range(min_col, max_col + 1)
        )
        blocks.append(
            (
                min_row,
                Block(
                    name,
                    tuple(str(c.value or "") for c in cells[0]),
                    rows,
                    tuple(c.number_format for c in cells[1]) if len(cells) > 1 else (),
                    widths,
                ),
            )
        )
    notes = [
        (c.row, Block(str(c.value)))
        for r in ws.iter_rows(min_row=2)
        for c in r
        if c.value is not None and (c.row, c.column) not in covered
    ]
    return [b for _, b in sorted(blocks + notes, key=lambda x: x[0])]
