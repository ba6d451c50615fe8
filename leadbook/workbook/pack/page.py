"""The board pack's page: its fonts, fills and print setup, the :class:`Page` that fills a
sheet top to bottom on a grid of column widths, and what the pack is made from (a copied tab's
:class:`Block`, the :class:`PackContent`).

Long text is wrapped to the grid's width (and row heights set for it, since not every reader
recomputes them), so nothing runs past the print area. Every sheet prints landscape on A4 or
Letter, fitted to the page width, with its two title rows repeated and a footer naming sheet
and page.
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from openpyxl.chart import LineChart
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils.cell import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import contract as C
from leadbook.board import maturity as M
from leadbook.board.kpis import Kpi
from leadbook.board.pitfalls import Pitfall, Shows
from leadbook.board.quarters import Actuals, Quarter
from leadbook.board.specs import KpiStatus
from leadbook.workbook.layout import set_cell
from leadbook.workbook.read import Book

PAPERS = {"a4": Worksheet.PAPERSIZE_A4, "letter": Worksheet.PAPERSIZE_LETTER}
PACK_TABS = {
    C.ALLOCATION.name: "Allocation",
    C.FORECAST.name: "Forecast and hiring",
    C.HIRING.name: "Forecast and hiring",
    C.ROI.name: "ROI",
}
"""Workbook tab → the pack sheet it is copied to (as values)."""

FACE = "Calibri"
NAVY = "1F4E78"
TITLE = Font(name=FACE, size=20, bold=True, color=NAVY)
HEADING = Font(name=FACE, size=13, bold=True, color=NAVY)
SUB = Font(name=FACE, size=11, italic=True, color="595959")
BODY = Font(name=FACE, size=10)
BOLD = Font(name=FACE, size=10, bold=True)
GREY = Font(name=FACE, size=10, italic=True, color="7F7F7F")
HEAD_FONT = Font(name=FACE, size=10, bold=True, color="FFFFFF")
HEAD_FILL = PatternFill("solid", fgColor=NAVY)
LINE = Side(style="thin", color="BFBFBF")
GRID = Border(top=LINE, bottom=LINE, left=LINE, right=LINE)
LINE_HEIGHT = 14.0
"""Points per line of 10-point text."""
CHARS_PER_WIDTH = 1.15
"""Characters of 10-point table text per unit of column width (conservative for wide fonts)."""
PARA_CHARS_PER_WIDTH = 1.15
"""The same for paragraphs, wrapped a little shorter so no line runs past the grid."""
STATUS_FILLS = {
    KpiStatus.ON: ("C6EFCE", "006100"),
    KpiStatus.WATCH: ("FFEB9C", "9C5700"),
    KpiStatus.OFF: ("FFC7CE", "9C0006"),
    KpiStatus.NA: ("EDEDED", "595959"),
    KpiStatus.INFO: ("DDEBF7", NAVY),
    Shows.WARNING: ("FFC7CE", "9C0006"),
    Shows.CLEAR: ("C6EFCE", "006100"),
}
TEXT_PAGE = (150,)
"""The grid of a page that holds only text."""


@dataclass(frozen=True)
class Block:
    """A piece of a copied tab: a table (title, headers, rows, formats, widths) or a note."""

    title: str
    headers: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    formats: tuple[str | list[str], ...] = ()
    """A number format per column, or per cell as a list per column."""
    widths: tuple[float, ...] = ()
    own_sheet: str = ""
    """The pack sheet a table of more than :data:`~leadbook.workbook.pack.copied.RUN_ON_ROWS`
    rows prints on by itself, its header repeated on every page ('' for a table that always
    fits where it is)."""


class Page:
    """A pack sheet filled top to bottom on a grid of column widths from column B."""

    def __init__(
        self,
        wb: Workbook,
        name: str,
        heading: str,
        subtitle: str,
        grid: Sequence[float],
        *,
        paper: str,
        one_page: bool = False,
    ):
        self.ws = wb.create_sheet(name)
        self.ws.sheet_view.showGridLines = False
        self.ws.column_dimensions["A"].width = 2
        self.grid = list(grid)
        for j, width in enumerate(self.grid):
            self.ws.column_dimensions[get_column_letter(2 + j)].width = width
        self.row = 1
        self.text(heading, TITLE)
        self.ws.row_dimensions[1].height = 28
        self.text(subtitle, SUB)
        self.row += 1
        _print_setup(self.ws, paper, name, one_page)

    @property
    def chars(self) -> int:
        """How many characters of body text fit across the grid, at most a text page's line
        (a wider grid of tables makes no longer lines to read; and a paragraph breaks where
        it does whatever widths the copied tab had)."""
        return int(min(sum(self.grid), sum(TEXT_PAGE)) * PARA_CHARS_PER_WIDTH)

    def text(self, value: Any, font: Font = BODY, *, col: int = 2) -> None:
        """One short line (headings, values that fit)."""
        cell = self.ws.cell(self.row, col)
        set_cell(cell, value)
        cell.font = font
        self.row += 1

    def para(self, text: str, font: Font = BODY, *, col: int = 2, chars: int | None = None):
        """A paragraph wrapped to the grid's width, one line per row."""
        for line in textwrap.wrap(text, chars or self.chars) or [""]:
            self.text(line, font, col=col)

    def facts(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Label in column B, value wrapped over the rest of the grid."""
        width = int(sum(self.grid[1:]) * PARA_CHARS_PER_WIDTH)
        for label, value in pairs:
            self.ws.cell(self.row, 2, label).font = BOLD
            self.para(value, col=3, chars=width)

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[Any]],
        formats: Sequence[Any] = (),
        *,
        wrap: Iterable[int] = (),
        status_col: int | None = None,
    ) -> tuple[int, int]:
        """A table from column B on the grid; returns (header row, last row).

        ``formats`` gives a number format per column, or per cell as a list per column.
        Columns in ``wrap`` wrap their text, and rows grow to hold it.
        """
        top = self.row
        wrap = set(wrap)
        for j, header in enumerate(headers):
            cell = self.ws.cell(top, 2 + j, header)
            cell.font, cell.fill, cell.border = HEAD_FONT, HEAD_FILL, GRID
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        self.ws.row_dimensions[top].height = LINE_HEIGHT * self._lines(headers, set(range(99)))
        for i, line in enumerate(rows):
            r = top + 1 + i
            for j, value in enumerate(line):
                cell = self.ws.cell(r, 2 + j)
                set_cell(cell, _plain(value))
                cell.font, cell.border = BODY, GRID
                fmt = formats[j] if j < len(formats) else None
                fmt = fmt[i] if isinstance(fmt, list) else fmt
                if isinstance(cell.value, dt.datetime) and fmt in (None, "", "General"):
                    cell.number_format = "yyyy-mm-dd"
                elif fmt and isinstance(cell.value, int | float | dt.datetime):
                    cell.number_format = fmt
                cell.alignment = Alignment(wrap_text=j in wrap, vertical="top")
                if j == status_col and value in STATUS_FILLS:
                    fill, font = STATUS_FILLS[value]
                    cell.fill = PatternFill("solid", fgColor=fill)
                    cell.font = Font(name=FACE, size=10, color=font, bold=True)
            lines = self._lines([v if isinstance(v, str) else "" for v in line], wrap)
            if lines > 1:
                self.ws.row_dimensions[r].height = LINE_HEIGHT * lines
        self.row = top + len(rows) + 2
        return top, top + len(rows)

    def _lines(self, texts: Sequence[str], wrap: set[int]) -> int:
        widths = self.grid + [10.0] * max(0, len(texts) - len(self.grid))
        return max(
            [1]
            + [
                len(textwrap.wrap(t, max(4, int(widths[j] * CHARS_PER_WIDTH) - 1)) or [""])
                for j, t in enumerate(texts)
                if j in wrap and t
            ]
        )

    def charts_side_by_side(self, charts: Sequence[Any], rows: int = 17) -> None:
        """Charts left to right from column B, each starting past the one before."""
        col, edge = 2, 0.0
        for chart in charts:
            while self._left(col) < edge - 0.01:
                col += 1
            self.ws.add_chart(chart, f"{get_column_letter(col)}{self.row}")
            edge = self._left(col) + chart.width
        self.row += rows

    def _left(self, col: int) -> float:
        """Distance in cm from column B's left edge to column ``col``'s."""
        return sum(
            _cm(self.ws.column_dimensions[get_column_letter(c)].width) for c in range(2, col)
        )

    def finish(self) -> None:
        last = get_column_letter(1 + len(self.grid))
        self.ws.print_area = f"A1:{last}{max(self.row - 1, 1)}"


def _cm(chars: float | None) -> float:
    """A column's width in cm from its width in characters (Excel's 7-pixel digit, 96 dpi)."""
    return ((chars or 8.43) * 7 + 5) * 2.54 / 96


def _plain(value: Any) -> Any:
    """A value as the pack stores it: enums as text, NaN and NaT as blank."""
    if value is None:
        return None
    if hasattr(value, "value") and not isinstance(value, int | float | str):
        return value.value
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _print_setup(ws: Worksheet, paper: str, name: str, one_page: bool) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = PAPERS[paper]
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if one_page else 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:2"
    ws.page_margins = PageMargins(left=0.5, right=0.5, top=0.6, bottom=0.8, header=0.3, footer=0.35)
    ws.print_options.horizontalCentered = True
    ws.oddFooter.left.text = "Lead portfolio board pack"
    ws.oddFooter.left.size = 9
    ws.oddFooter.right.text = f"{name} · page &P of &N"
    ws.oddFooter.right.size = 9


def _markers(chart: LineChart) -> LineChart:
    """Points marked and lines straight, so a single quarter still shows."""
    for series in chart.series:
        series.marker.symbol = "circle"
        series.marker.size = 6
        series.smooth = False
    return chart


@dataclass(frozen=True)
class PackContent:
    """Everything the pack shows."""

    book: Book
    quarter: Quarter
    period: str
    kpis: Sequence[Kpi]
    pitfalls: Sequence[Pitfall]
    assessment: M.Assessment
    copied: dict[str, list[Block]]
    source: str
    actuals: Actuals | None
    """What History says about the quarter (None when it holds none of its months)."""
    classes: pd.DataFrame
    """Each source's tier, lead type and risk class."""
    usage: pd.DataFrame
    """Today's spend by class against the Settings bands."""
    plan_vs_actual: pd.DataFrame | None = None
    """The accepted plans against History's months (the Decisions tab's PlanVsActual)."""
