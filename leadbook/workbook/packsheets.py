"""The sheets of the board pack: values only, laid out to print one page wide.

Each sheet is written top to bottom on a fixed grid of column widths; long text is wrapped
to the grid's width (and row heights set for it, since not every reader recomputes them),
so nothing runs past the print area. Every sheet prints landscape on A4 or Letter, fitted
to the page width, with its two title rows repeated and a footer naming sheet and page.
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.series import SeriesLabel
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils.cell import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import __version__
from leadbook import contract as C
from leadbook.board import maturity as M
from leadbook.board.kpis import Kpi
from leadbook.board.pitfalls import Pitfall, Shows
from leadbook.board.quarters import Quarter, quarter_actuals
from leadbook.board.specs import Basis, Direction, KpiStatus, Unit
from leadbook.portfolio.classify import band_usage, classify
from leadbook.workbook.layout import now, set_cell
from leadbook.workbook.read import Book
from leadbook.workbook.tabs.board import UNIT_FORMATS

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
    """The pack sheet a table of more than :data:`RUN_ON_ROWS` rows prints on by itself, its
    header repeated on every page ('' for a table that always fits where it is)."""


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


# --- The pack ------------------------------------------------------------------------------------


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


def build_pack(content: PackContent, *, paper: str = "a4") -> Workbook:
    """The values-only pack workbook: cover, KPIs, pitfalls, portfolio, trends, the copied
    Allocation, Forecast and hiring and ROI tabs, and maturity."""
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = f"leadbook {__version__}"
    wb.properties.title = f"Lead portfolio board pack {content.quarter.long}"
    sub = f"{content.quarter.long} · {content.source}"
    _cover(
        Page(wb, "Cover", "Lead portfolio board pack", sub, COVER, paper=paper, one_page=True),
        content,
    )
    _kpi_page(
        Page(wb, "KPIs", "KPIs against targets", sub, KPI_GRID, paper=paper, one_page=True),
        content.kpis,
        actual_months(content),
    )
    _reconciliation_page(
        Page(
            wb,
            "Reconciliation",
            "How the figures reconcile",
            sub,
            RECONCILIATION_GRID,
            paper=paper,
            one_page=True,
        ),
        content,
    )
    _pitfall_page(
        Page(
            wb,
            "Pitfalls",
            "Warning signs",
            sub,
            PITFALL_GRID,
            paper=paper,
            one_page=True,
        ),
        content.pitfalls,
    )
    _portfolio_page(
        Page(
            wb,
            "Portfolio",
            "The portfolio today",
            sub,
            PORTFOLIO_GRID,
            paper=paper,
            one_page=len(content.book.inventory.sources) <= ONE_PAGE_SOURCES,
        ),
        content.book,
    )
    _trend_page(
        Page(wb, "Trends", "KPI trends by quarter", sub, TREND_GRID, paper=paper, one_page=True),
        content.kpis,
    )
    for sheet in dict.fromkeys(PACK_TABS.values()):
        tabs = [t for t, s in PACK_TABS.items() if s == sheet]
        grid = _copied_grid(tabs, content.copied)
        rows = max((len(b.rows) for t in tabs for b in content.copied.get(t, [])), default=0)
        one_page = sheet == PACK_TABS[C.ALLOCATION.name] and rows <= ONE_PAGE_SOURCES

        def run_on(name: str, grid: Sequence[float] = grid) -> Page:
            return Page(wb, name, name, sub, grid, paper=paper)

        _copied_page(
            Page(wb, sheet, sheet, sub, grid, paper=paper, one_page=one_page),
            tabs,
            content.copied,
            run_on,
        )
    _maturity_page(
        Page(
            wb,
            "Maturity",
            "Strategic maturity and roadmap",
            sub,
            MATURITY_GRID,
            paper=paper,
            one_page=True,
        ),
        content.assessment,
    )
    _glossary_page(Page(wb, "Glossary", "Glossary", sub, GLOSSARY_GRID, paper=paper, one_page=True))
    return wb


ONE_PAGE_SOURCES = 20
"""Up to this many sources the portfolio prints on one page; more run on to further pages."""
COVER = (30, 11, 15, 12, 12, 70)
KPI_GRID = (40, 11, 14, 14, 12, 11, 12, 58)
PITFALL_GRID = (40, 12, 62, 52)
PORTFOLIO_GRID = (30, 12, 9, 8, 10, 8, 10, 12, 10, 10, 10, 9)
TREND_GRID = (50, 14, 14, 14, 14, 18, 26)
MATURITY_GRID = (32, 12, 52, 22, 42)
GLOSSARY_GRID = (36, 114)
RECONCILIATION_GRID = (30, 34, 14, 12, 12, 14, 56)


def status_counts(kpis: Sequence[Kpi]) -> str:
    """'4 on target, 3 watch, ...' over the statuses present."""
    order = (KpiStatus.ON, KpiStatus.WATCH, KpiStatus.OFF, KpiStatus.NA, KpiStatus.INFO)
    counts = [(s, sum(k.status is s for k in kpis)) for s in order]
    return ", ".join(f"{n} {s.value}" for s, n in counts if n)


def target_text(k: Kpi) -> str:
    """A KPI's target as a board reads it: '≥ 300%', '≤ $85', '85% ± 5 pts', '10% – 15%',
    '—'."""
    if k.target is None:
        return "—"
    shown = _show(k.target, k.spec.unit)
    if k.spec.direction is Direction.NEAR:
        return f"{shown} ± {k.tolerance * 100:.0f} pts"
    if k.spec.direction is Direction.WITHIN and k.floor is not None:
        return f"{_show(k.floor, k.spec.unit)} – {shown}"
    return f"{'≥' if k.spec.direction is Direction.AT_LEAST else '≤'} {shown}"


def _show(value: float, unit: Unit) -> str:
    return {
        Unit.PERCENT: f"{value:.0%}",
        Unit.DOLLARS: f"${value:,.0f}",
        Unit.SCORE: f"{value:.1f}",
        Unit.COUNT: f"{value:,.0f}",
    }[unit]


def _unit_formats(kpis: Sequence[Kpi]) -> list[str]:
    return [UNIT_FORMATS[k.spec.unit] for k in kpis]


HEADLINE_KPIS = ("roi", "blended_cpl", "revenue_per_lead", "budget_utilisation", "largest_share")
"""The five figures page 1 leads with: return, cost, revenue, the budget put to work, and
the dependence on one source."""
MEANING = {
    "roi": "What the quarter's lead spend returned, on contribution",
    "blended_cpl": "What the portfolio pays for a lead",
    "revenue_per_lead": "What a lead brings in revenue",
    "budget_utilisation": "How much of the budget is put to work",
    "largest_share": "How much rests on one source",
}
"""What each headline figure tells a board, the start of its sentence of why."""


def why(k: Kpi, meaning: str) -> str:
    """One sentence on a headline figure: what it tells, how far it stands from its target,
    and how it moved since the previous quarter.

    Examples
    --------
    >>> from leadbook.board.kpis import TrendPoint, kpi_spec
    >>> k = Kpi(kpi_spec("blended_cpl"), Quarter(2026, 4), 113.23, 85.0, 0.0, KpiStatus.OFF,
    ...         "", "", trend=(TrendPoint(Quarter(2026, 3), 111.19),))
    >>> print(textwrap.fill(why(k, "What the portfolio pays for a lead"), 80))
    What the portfolio pays for a lead: $113 misses the ≤ $85 target by $28, and is
    worsening against $111 last quarter.
    """
    if k.value is None:
        return f"{meaning}: not available ({k.basis})."
    unit = k.spec.unit
    gap = _gap(k)
    if k.target is None:
        standing = f"{_show(k.value, unit)}, with no target set"
    elif gap <= 0:
        standing = f"{_show(k.value, unit)} meets the {target_text(k)} target"
    else:
        standing = (
            f"{_show(k.value, unit)} misses the {target_text(k)} target by {_show_gap(gap, unit)}"
        )
    if k.previous is None:
        return f"{meaning}: {standing}; no earlier quarter is known to compare."
    moved = f"{k.trend_word} against {_show(k.previous, unit)} last quarter"
    return f"{meaning}: {standing}, and is {moved}."


def actual_months(c: PackContent) -> str:
    """The months the quarter's actuals cover: the quarter ('Q4 2026'), or those of its
    months History holds ('Oct 2026')."""
    actual = quarter_actuals(c.book.inventory, c.quarter)
    if actual is None or len(actual.months) == 3:
        return c.quarter.long
    return ", ".join(m.strftime("%b %Y") for m in actual.months)


def basis_of(k: Kpi, months: str) -> str:
    """What a KPI's figure is (:class:`~leadbook.board.specs.Basis`): the actual of ``months`` (the
    quarter's, or those of its months History holds), today's run-rate, a cohort average, ...

    Examples
    --------
    >>> from leadbook.board.kpis import kpi_spec
    >>> basis_of(Kpi(kpi_spec("largest_share"), Quarter(2026, 4), 0.44, 0.40, 0.0,
    ...              KpiStatus.WATCH, "", "Sources"), "Q4 2026")
    'run-rate today'
    >>> basis_of(Kpi(kpi_spec("blended_cpl"), Quarter(2026, 4), 113.2, 85.0, 0.0,
    ...              KpiStatus.OFF, "", "History"), "Oct 2026")
    'Oct 2026 actual'
    """
    basis = k.spec.basis
    if basis is Basis.QUARTER_ACTUAL:
        return f"{months} actual"
    return basis.value if basis is not None else k.source


def _gap(k: Kpi) -> float:
    """How far a KPI's value misses its target (≤ 0: it meets it)."""
    v, t = k.value or 0.0, k.target or 0.0
    d = k.spec.direction
    if d is Direction.AT_LEAST:
        return t - v
    if d is Direction.AT_MOST:
        return v - t
    if d is Direction.WITHIN:
        return max(v - t, (k.floor if k.floor is not None else v) - v)
    if d is Direction.NEAR:
        return abs(v - t) - k.tolerance
    return 0.0


def _show_gap(gap: float, unit: Unit) -> str:
    return f"{gap * 100:.1f} pts" if unit is Unit.PERCENT else _show(gap, unit)


def _cover(page: Page, c: PackContent) -> None:
    a = c.assessment
    warnings = [p for p in c.pitfalls if p.shows is Shows.WARNING]
    stage = f"Stage {a.reached.number} of 4 — {a.reached.name}"
    if a.next_stage is not None:
        score = a.stages[a.next_stage.number - 1]
        stage += f"; next: {a.next_stage.name} ({score.points:g} of {score.out_of} points)"
    page.facts(
        [
            ("Actuals (History)", c.period),
            ("KPIs", f"{status_counts(c.kpis)} (all on the next page)"),
            ("Warning signs the data shows", f"{len(warnings)} of {len(c.pitfalls)}"),
            ("Strategic maturity", stage),
            ("Exported", f"{now():%Y-%m-%d %H:%M} from {c.source}"),
        ]
    )
    page.row += 1
    page.text("Executive summary: the five figures that matter", HEADING)
    by_key = {k.key: k for k in c.kpis}
    shown = [by_key[key] for key in HEADLINE_KPIS if key in by_key]
    months = actual_months(c)
    page.table(
        ("Figure", "Value", "Basis", "Target", "Status", "Why"),
        [
            (
                k.label,
                _or_dash(k.value),
                basis_of(k, months),
                target_text(k),
                k.status.value,
                why(k, MEANING[k.key]),
            )
            for k in shown
        ],
        ("", _unit_formats(shown), "", "", "", ""),
        wrap=(0, 2, 5),
        status_col=4,
    )
    page.text("Also needs attention", HEADING)
    off = [k for k in c.kpis if k.status is KpiStatus.OFF and k.key not in HEADLINE_KPIS]
    for k in off:
        page.para(f"• {k.label}: {_show(k.value or 0.0, k.spec.unit)} (target {target_text(k)})")
    for p in warnings:
        page.para(f"• {p.label}: {p.evidence}")
    if not off and not warnings:
        page.para("• No other figure is off target and no warning sign shows.")
    page.row += 1
    page.para(
        "The strategy's 'cost per acquisition < $85' target is, by its own figures ($127 → $79), "
        "a cost per lead: it is read against the blended cost per lead; the true cost per "
        "customer is "
        "shown beside it. Values only: this workbook holds no formula, link or macro "
        f"(leadbook {__version__}).",
        GREY,
    )
    page.finish()


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _or_dash(value: float | None) -> Any:
    return "—" if value is None else value


COHORT_SPEND = "Cohort spend (average month)"
"""The ROI page's spend column: a source's average monthly cohort."""


@dataclass(frozen=True)
class Bridged:
    """One basis of the portfolio's spend, leads and blended CPL, and where the pack shows
    it."""

    basis: str
    where: str
    spend: float | None
    leads: float | None
    why: str

    @property
    def cpl(self) -> float | None:
        return self.spend / self.leads if self.spend is not None and self.leads else None


def bridged_figures(c: PackContent) -> list[Bridged]:
    """The portfolio's spend a month and blended CPL on each basis the pack shows them:
    run-rate today (Sources), the quarter's actual (History), the ROI cohorts' average, the
    recommended allocation, and the figure stated on Sources."""
    src = c.book.inventory.sources
    out = [
        Bridged(
            "Run-rate today",
            "Portfolio; Allocation (today); KPIs from Sources",
            float(src["spend"].sum()),
            float(src["leads"].sum()),
            "Today's spend and leads a month, source by source, on the Sources tab.",
        )
    ]
    actual = quarter_actuals(c.book.inventory, c.quarter)
    if actual is not None:
        n = len(actual.months)
        out.append(
            Bridged(
                f"{actual_months(c)} actual, a month",
                "KPIs and Trends from History (ROI, cost and revenue per lead)",
                actual.spend / n,
                actual.leads / n,
                f"What History records for {actual.coverage}, a month on average: the "
                "month's volumes and prices, not today's.",
            )
        )
    cohort = _row_of(c.copied.get(C.ROI.name, []), "Portfolio")
    if cohort:
        out.append(
            Bridged(
                "Cohort average, a month",
                "ROI",
                _number(cohort.get(COHORT_SPEND)),
                _number(cohort.get("Cohort leads (average month)")),
                "Each source's average monthly cohort over the months it ran in History, "
                "summed: a source counts at its average month, whether it buys today or not.",
            )
        )
    summary = {
        r[0]: r
        for b in c.copied.get(C.ALLOCATION.name, [])
        if b.title == ALLOCATION_SUMMARY_TITLE
        for r in b.rows
    }
    if summary:
        out.append(
            Bridged(
                "Recommended from next week, a month",
                "Allocation (recommended)",
                _number(summary.get("Spend a month", (None,) * 3)[2]),
                _number(summary.get("Expected leads a month", (None,) * 3)[2]),
                "The allocation Rebalance recommends, as a monthly run-rate: more budget "
                "spent, on cheaper leads at the margin.",
            )
        )
    stated = c.book.stated
    if stated.blended_cpl is not None:
        out.append(
            Bridged(
                "Stated on Sources",
                "Sources tab (not in this pack)",
                None,
                stated.leads,
                f"The strategy's own blended CPL, ${stated.blended_cpl:,.2f}; the sources' rows "
                f"give ${out[0].cpl or 0:,.2f}.",
            )
        )
    return out


def _row_of(blocks: Sequence[Block], key: str) -> dict[str, Any]:
    """The row of the first table among ``blocks`` whose first cell is ``key``, by header."""
    for b in blocks:
        for row in b.rows:
            if b.headers and row and row[0] == key:
                return dict(zip(b.headers, row, strict=False))
    return {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _reconciliation_page(page: Page, c: PackContent) -> None:
    rows = bridged_figures(c)
    today = rows[0].spend or 0.0
    stated = c.book.stated.blended_cpl
    page.table(
        (
            "Basis",
            "Where the pack shows it",
            "Portfolio spend a month",
            "Leads a month",
            "Blended CPL",
            "Spend against run-rate today",
            "Why it differs",
        ),
        [
            (
                r.basis,
                r.where,
                _or_dash(r.spend),
                _or_dash(r.leads),
                _or_dash(stated if r.spend is None and r.basis.startswith("Stated") else r.cpl),
                "—" if r.spend is None else r.spend - today,
                r.why,
            )
            for r in rows
        ],
        ("", "", '"$"#,##0', "#,##0", '"$"#,##0.00', '"$"#,##0;-"$"#,##0', ""),
        wrap=(0, 1, 6),
    )
    page.para(
        "Every spend and cost-per-lead figure in this pack is one of these, and its label says "
        "which: run-rate today, the quarter's actual, a cohort average, or the recommendation.",
        GREY,
    )
    page.finish()


def _kpi_page(page: Page, kpis: Sequence[Kpi], months: str) -> None:
    formats = _unit_formats(kpis)
    page.table(
        (
            "KPI",
            "Value",
            "Target",
            "Status",
            "Previous quarter",
            "Trend",
            "After Rebalance",
            "How it is computed",
        ),
        [
            (
                k.label,
                _or_dash(k.value),
                target_text(k),
                k.status.value,
                k.previous if k.previous is not None else "n/a",
                k.trend_word or "—",
                _or_dash(k.planned),
                f"{_capital(basis_of(k, months))}. {k.source}: {k.basis}",
            )
            for k in kpis
        ],
        ("", formats, "", "", formats, "", formats, ""),
        wrap=(0, 7),
        status_col=3,
    )
    page.para(
        "Watch: the target missed by at most the watch margin on Settings (10 % of the target by "
        "default). Capacity utilisation's 85 % is an optimum: on target within ± the capacity "
        "tolerance. After Rebalance: the KPI under the recommended allocation on the "
        "Allocation tab, where there is one. 'n/a': not known for the previous quarter.",
        GREY,
    )
    page.finish()


def _pitfall_page(page: Page, found: Sequence[Pitfall]) -> None:
    page.table(
        ("Warning sign", "Shows", "Evidence", "Advised response"),
        [(p.label, p.shows.value, p.evidence, p.advice) for p in found],
        wrap=(0, 2, 3),
        status_col=1,
    )
    page.para(
        "Only the warning signs the workbook's data can show are checked; 'data paralysis' "
        "and the softer signs of vendor neglect (responsiveness, lost "
        "preferred pricing) need a person's judgement.",
        GREY,
    )
    page.finish()


def _portfolio_page(page: Page, book: Book) -> None:
    src = book.inventory.sources
    classes = classify(book.inventory, book.settings)
    total = float(src["spend"].sum())
    order = src.sort_values("spend", ascending=False)
    top, _ = page.table(
        (
            "Source",
            "Party",
            "Status",
            "Tier",
            "Lead type",
            "Risk",
            "Monthly leads",
            "Spend a month (run-rate today)",
            "Share of spend",
            "CPL",
            "Conversion",
            "Vendor health",
        ),
        [
            (
                name,
                r["party"],
                r["status"],
                classes.loc[name, "tier"],
                classes.loc[name, "lead_type"],
                classes.loc[name, "risk"],
                r["leads"],
                r["spend"],
                r["spend"] / total if total else 0.0,
                r["cpl"],
                r["conversion"],
                r["health"],
            )
            for name, r in order.iterrows()
        ],
        ("", "", "", "", "", "", "#,##0", '"$"#,##0', "0.0%", '"$"#,##0.00', "0.0%", "0.0"),
        wrap=(0,),
    )
    page.ws.print_title_rows = f"1:{top}"  # a long inventory: its header on every page
    spending = int((order["spend"] > 0).sum())
    page.text("Spend by class against the Settings bands", HEADING)
    chart_row = page.row
    usage = band_usage(src["spend"], classes, book.settings)
    page.table(
        ("Group", "Class", "Status", "Band min", "Band max", "Share", "Spend a month (run-rate)"),
        [
            (r.group, r.klass, r.status, r.band_min, r.band_max, r.share, r.spend)
            for r in usage.itertuples(index=False)
        ],
        ("", "", "", "0%", "0%", "0.0%", '"$"#,##0'),
    )
    if spending:
        bar = BarChart()
        bar.type = "bar"
        bar.title = f"Share of spend by source (cap {book.settings.policy.max_source_share:.0%})"
        bar.y_axis.number_format = "0%"
        bar.y_axis.majorUnit = 0.1
        bar.y_axis.scaling.min = 0
        bar.legend = None
        bar.height, bar.width = 6.5, 11.5
        bar.add_data(
            Reference(page.ws, min_col=10, min_row=top, max_row=top + spending),
            titles_from_data=True,
        )
        bar.set_categories(Reference(page.ws, min_col=2, min_row=top + 1, max_row=top + spending))
        bar.x_axis.scaling.orientation = "maxMin"
        page.ws.add_chart(bar, f"{get_column_letter(2 + 7)}{chart_row}")
        page.row = max(page.row, chart_row + 14)
    page.finish()


def _trend_page(page: Page, kpis: Sequence[Kpi]) -> None:
    shown = [k for k in kpis if k.spec.unit is not Unit.COUNT]
    if not shown:
        page.finish()
        return
    quarters = [p.quarter for p in shown[0].trend] + [shown[0].quarter]
    formats = _unit_formats(shown)
    top, _ = page.table(
        ("KPI", *[q.long for q in quarters], "Target"),
        [(k.label, *[p.value for p in k.trend], k.value, target_text(k)) for k in shown],
        ("", *([formats] * len(quarters)), ""),
        wrap=(0,),
    )
    page.para(
        "Earlier quarters: the values saved by each quarter's export (Board history); where "
        "none was saved, the History KPIs (ROI, cost and revenue per lead, cost per customer) "
        "are recomputed from History. Blank: not known for that quarter.",
        GREY,
    )
    by_key = {k.key: k for k in shown}
    groups = [
        (name, [by_key[k] for k in chosen if k in by_key], fmt)
        for name, chosen, fmt in TREND_CHARTS
    ]
    lines = [g for g in groups if g[1] and max(_known(k) for k in g[1]) >= 2]
    bars = [g for g in groups if g[1] and g not in lines]
    page.row += CHART_ROWS_TRENDS
    charts_at = page.row - CHART_ROWS_TRENDS
    charts = [
        _trend_chart(page, name, chosen, fmt, top, keys=[k.key for k in shown])
        for name, chosen, fmt in lines
    ]
    if any(k.target is not None for _, chosen, _ in lines for k in chosen):
        charts = _with_target_lines(page, lines, quarters, charts)
    for name, chosen, fmt in bars:
        charts.append(_against_target_chart(page, name, chosen, fmt))
    row = page.row
    page.row = charts_at
    page.charts_side_by_side(charts)
    page.row = row
    page.finish()


TREND_CHARTS = (
    ("Portfolio ROI on contribution", ("roi",), "0%"),
    ("Cost and revenue per lead", ("blended_cpl", "revenue_per_lead"), '"$"#,##0'),
    ("Shares of spend", ("largest_share", "high_risk_share", "experimental_share"), "0%"),
)
"""The trend page's charts: a line by quarter for KPIs with two or more known quarters, or
this quarter against its target as bars for KPIs known for one quarter only."""
CHART_ROWS_TRENDS = 17
"""Rows the trend page's charts take."""


def _known(k: Kpi) -> int:
    """How many quarters of a KPI's trend (this one included) have a value."""
    return sum(p.value is not None for p in k.trend) + (k.value is not None)


def _trend_chart(
    page: Page, name: str, chosen: Sequence[Kpi], fmt: str, top: int, keys: list[str]
) -> LineChart:
    """A line a KPI, by quarter, from the trend table whose header row is ``top``."""
    last_col = 2 + len(chosen[0].trend) + 1
    chart = LineChart()
    chart.title = name
    chart.y_axis.number_format = fmt
    chart.height, chart.width = 7.5, 8.5
    for k in chosen:
        r = top + 1 + keys.index(k.key)
        chart.add_data(
            Reference(page.ws, min_col=3, max_col=last_col, min_row=r, max_row=r), from_rows=True
        )
    for i, (k, series) in enumerate(zip(chosen, chart.series, strict=True)):
        series.tx = SeriesLabel(v=C.BOARD_HISTORY_TABLE.column(k.key).header)
        series.graphicalProperties.line.solidFill = LINE_COLOURS[i % len(LINE_COLOURS)]
    chart.set_categories(Reference(page.ws, min_col=3, max_col=last_col, min_row=top))
    chart.legend.position = "b"
    return _markers(chart)


LINE_COLOURS = ("2E75B6", "C00000", "548235")
"""A trend chart's KPI lines, and each KPI's dashed target line in its colour."""


def _with_target_lines(
    page: Page,
    lines: Sequence[tuple[str, Sequence[Kpi], str]],
    quarters: Sequence[Quarter],
    charts: list[LineChart],
) -> list[LineChart]:
    """Each line chart with its KPIs' targets (a band's both ends) as dashed lines, from a
    table of the targets by quarter that the page prints under the charts."""
    rows, where, colours = [], [], []
    for (_, chosen, _), chart in zip(lines, charts, strict=True):
        for j, k in enumerate(chosen):
            ends = [("target", k.target)]
            if k.spec.direction is Direction.WITHIN and k.floor is not None:
                ends = [("band floor", k.floor), ("band cap", k.target)]
            for word, value in ends:
                if value is not None:
                    short = C.BOARD_HISTORY_TABLE.column(k.key).header
                    rows.append((f"{short}: {word}", *[value] * len(quarters)))
                    where.append((chart, k))
                    colours.append(LINE_COLOURS[j % len(LINE_COLOURS)])
    page.text("Target lines of the charts", BOLD)
    top, _ = page.table(
        ("Line", *[q.long for q in quarters]),
        rows,
        ("", *([[UNIT_FORMATS[k.spec.unit] for _, k in where]] * len(quarters))),
        wrap=(0,),
    )
    for i, (chart, _) in enumerate(where):
        r = top + 1 + i
        line = LineChart()
        line.add_data(
            Reference(page.ws, min_col=3, max_col=2 + len(quarters), min_row=r, max_row=r),
            from_rows=True,
        )
        series = line.series[0]
        series.tx = SeriesLabel(v=rows[i][0])
        series.marker.symbol = "none"
        series.smooth = False
        series.graphicalProperties.line.dashStyle = "dash"
        series.graphicalProperties.line.solidFill = colours[i]
        chart.series.append(series)
    return charts


def _against_target_chart(page: Page, name: str, chosen: Sequence[Kpi], fmt: str) -> BarChart:
    """This quarter's value of each KPI beside its floor and cap, as bars (KPIs known for a
    single quarter, whose trend would be one point), from a table the page prints."""
    quarter = chosen[0].quarter.long
    page.text(f"{name}, {quarter}, against target", BOLD)
    fmts = [UNIT_FORMATS[k.spec.unit] for k in chosen]
    top, last = page.table(
        ("KPI", quarter, "Floor (at least)", "Cap (at most)"),
        [(C.BOARD_HISTORY_TABLE.column(k.key).header, k.value, *_floor_cap(k)) for k in chosen],
        ("", fmts, fmts, fmts),
        wrap=(0,),
    )
    chart = BarChart()
    chart.type = "bar"
    chart.title = f"{name}, {quarter}"
    chart.y_axis.number_format = fmt
    chart.y_axis.scaling.min = 0
    chart.x_axis.scaling.orientation = "maxMin"
    chart.height, chart.width = 7.5, 8.5
    chart.add_data(
        Reference(page.ws, min_col=3, max_col=5, min_row=top, max_row=last), titles_from_data=True
    )
    chart.set_categories(Reference(page.ws, min_col=2, min_row=top + 1, max_row=last))
    chart.legend.position = "b"
    return chart


def _floor_cap(k: Kpi) -> tuple[float | None, float | None]:
    """The lower and upper end a KPI's target sets (None where it sets none)."""
    d = k.spec.direction
    if d is Direction.AT_LEAST:
        return k.target, None
    if d is Direction.AT_MOST:
        return None, k.target
    if d is Direction.WITHIN:
        return k.floor, k.target
    if d is Direction.NEAR and k.target is not None:
        return k.target - k.tolerance, k.target + k.tolerance
    return None, None


def _copied_grid(tabs: Sequence[str], copied: dict[str, list[Block]]) -> tuple[float, ...]:
    """Columns wide enough for the tables copied to one page (their tab's widths, or their
    longest entry up to 40 characters), and a filler column up to a text page's width."""
    widths: list[float] = []
    for tab in tabs:
        for block in copied.get(tab, []):
            for j, header in enumerate(block.headers):
                longest = max(
                    [len(_shown(header)) / 1.6]
                    + [len(_shown(row[j])) for row in block.rows if j < len(row)]
                )
                tab_width = block.widths[j] if j < len(block.widths) else 0.0
                want = min(max(tab_width, longest + 2, 8.0), 36.0)
                if j < len(widths):
                    widths[j] = max(widths[j], want)
                else:
                    widths.append(want)
    if sum(widths) < sum(TEXT_PAGE):
        widths.append(sum(TEXT_PAGE) - sum(widths))
    return tuple(widths)


def _shown(value: Any) -> str:
    """About the text a number shows once formatted (for column widths)."""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


def _copied_page(
    page: Page,
    tabs: Sequence[str],
    copied: dict[str, list[Block]],
    run_on: Callable[[str], Page],
) -> None:
    """The copied tabs' blocks on ``page``; a table longer than :data:`RUN_ON_ROWS` on a
    sheet of its own from ``run_on``, which repeats its header row on every page."""
    for tab in tabs:
        blocks = copied.get(tab, [])
        page.text(f"From the {tab} tab", HEADING)
        if not any(b.rows for b in blocks):
            page.para(f"Not available: {NOT_FILLED.get(tab, f'the {tab} tab is empty.')}", GREY)
            for block in blocks:
                page.para(block.title)
            page.row += 1
            continue
        beside: tuple[int, int] | None = None
        for block in blocks:
            if not block.headers:
                # beside the chart, a note keeps to the summary's width
                left = int(sum(page.grid[: beside[1] - 3]) * PARA_CHARS_PER_WIDTH) if beside else 0
                page.para(block.title, chars=left or None)
            elif block.title == ALLOCATION_SUMMARY_TITLE:
                # the summary (and the notes after it) on the left, the chart on its right
                page.text(block.title, BOLD)
                top, _ = page.table(block.headers, block.rows, block.formats)
                beside = (top, 2 + len(block.headers) + 1)
            elif block.rows:
                draw = _allocation_chart if _is_allocation(block) else None
                draw = _scenario_chart if _is_scenarios(block) else draw
                # the chart goes above its table, so a long table cannot split it
                chart_at = f"B{page.row}"
                if draw is _allocation_chart and beside is not None:
                    chart_at = f"{get_column_letter(beside[1])}{beside[0]}"
                    page.row = max(page.row, beside[0] + SUMMARY_CHART_ROWS)
                    beside = None
                elif draw is not None:
                    page.row += CHART_ROWS
                at = page
                if block.own_sheet and len(block.rows) > RUN_ON_ROWS:
                    at = run_on(block.own_sheet)
                    page.para(f"{block.title}: on the {block.own_sheet} page.")
                    page.row += 1
                at.text(block.title, BOLD)
                top, last = at.table(
                    block.headers, block.rows, block.formats, wrap=range(len(block.headers))
                )
                if at is not page:
                    at.ws.print_title_rows = f"1:{top}"
                    at.finish()
                if draw is not None:
                    page.ws.add_chart(draw(at, block, top, last), chart_at)
    page.finish()


RUN_ON_ROWS = 20
"""A copied table of more rows than this prints on a sheet of its own (when it names one),
whose print titles repeat its header row on every page."""
CHART_ROWS = 18
"""Rows kept free above a copied table for its chart (8 cm high)."""
ALLOCATION_SUMMARY_TITLE = "Recommended allocation against today, a month (run-rate)"
"""The title of the Allocation page's summary table, whose right the chart takes."""
SUMMARY_CHART_ROWS = 18
"""Rows the chart beside the allocation summary takes (8 cm high)."""


def _is_allocation(block: Block) -> bool:
    names = [h.strip().casefold() for h in block.headers]
    return bool(
        _first(names, "current") is not None
        and _first(names, "recommended") is not None
        and "source" in names
        and block.rows
    )


def _first(names: Sequence[str], start: str) -> int | None:
    """The first of ``names`` that starts with ``start`` ('current spend a month')."""
    return next((i for i, n in enumerate(names) if n.startswith(start)), None)


def _is_scenarios(block: Block) -> bool:
    return "Month" in block.headers and {"Conservative", "Base", "Aggressive"} <= set(block.headers)


SCENARIO_SERIES = ("Actual leads", "Forecast", "Conservative", "Base", "Aggressive")


def _scenario_chart(page: Page, block: Block, top: int, last: int) -> LineChart:
    """Leads by month: actuals, the forecast and the three scenarios."""
    headers = list(block.headers)
    chart = LineChart()
    chart.title = "Leads a month: forecast and scenarios"
    chart.y_axis.number_format = "#,##0"
    chart.height, chart.width = 8, 18
    for name in SCENARIO_SERIES:
        if name in headers:
            col = 2 + headers.index(name)
            chart.add_data(
                Reference(page.ws, min_col=col, min_row=top, max_row=last), titles_from_data=True
            )
    chart.set_categories(
        Reference(page.ws, min_col=2 + headers.index("Month"), min_row=top + 1, max_row=last)
    )
    chart.x_axis.number_format = "mmm yy"
    chart.legend.position = "r"
    return chart


NOT_FILLED = {
    C.ALLOCATION.name: "the Allocation tab holds no recommendation. Press Rebalance (or run "
    "`leadbook rebalance BOOK`), then export the pack again.",
    C.FORECAST.name: "the Forecast tab is empty. Press Refresh forecast, then export the pack "
    "again.",
    C.HIRING.name: "the Hiring tab is empty. Press Plan hiring, then export the pack again.",
    C.ROI.name: "the ROI tab is empty. Press Refresh, then export the pack again.",
}


def _allocation_chart(page: Page, block: Block, top: int, last: int) -> BarChart:
    """Current against recommended spend by source."""
    names = [h.strip().casefold() for h in block.headers]
    chart = BarChart()
    chart.type = "bar"  # horizontal: the source names read across
    chart.x_axis.scaling.orientation = "maxMin"  # in the table's order, top to bottom
    chart.title = "Current and recommended spend a month by source"
    chart.height, chart.width = 8, 16
    chart.y_axis.number_format = "$#,##0"
    for name in ("current", "recommended"):
        col = 2 + (_first(names, name) or 0)
        chart.add_data(
            Reference(page.ws, min_col=col, min_row=top, max_row=last), titles_from_data=True
        )
    col = 2 + names.index("source")
    chart.set_categories(Reference(page.ws, min_col=col, min_row=top + 1, max_row=last))
    return chart


def _maturity_page(page: Page, a: M.Assessment) -> None:
    page.text(f"Stage reached: {a.reached.number} — {a.reached.name}", HEADING)
    page.table(
        ("Stage", "Score", "What it looks like", "Share of checklist", "Reached"),
        [
            (
                f"{s.stage.number} · {s.stage.name}",
                f"{s.points:g} of {s.out_of}" if s.out_of else "starting point",
                s.stage.summary,
                s.share if s.share is not None else "—",
                "yes" if s.reached else "no",
            )
            for s in a.stages
        ],
        ("", "", "", "0%", ""),
        wrap=(0, 2),
    )
    nxt = a.next_stage
    if nxt is None:
        page.para("Every stage is reached: Phase 4, Continuous Evolution, keeps it so.")
        page.finish()
        return
    page.text(f"Roadmap to Stage {nxt.number}, {nxt.name}", HEADING)
    page.table(
        ("Phase", "When", "Gap", "Counted now", "The phase builds"),
        [
            (
                f"{s.phase.number} · {s.phase.name}",
                s.phase.months,
                s.item.text,
                f"{s.counted.answer.value} ({s.counted.origin})"
                if s.counted.answer
                else "unanswered",
                s.item.builds,
            )
            for s in a.roadmap
        ],
        wrap=(2, 3, 4),
    )
    page.para(
        f"A stage is reached at {a.threshold:.0%} of its checklist (yes 1, partly ½) with every "
        "earlier stage reached. Answers come from the Maturity tab; where none is given, from "
        "what the workbook shows (forecasts, vendor scorecards, hiring plan, board history).",
        GREY,
    )
    page.finish()


GLOSSARY: tuple[tuple[str, str], ...] = (
    ("CPL (cost per lead)", "What a source charges, or costs us, for one lead."),
    (
        "Blended CPL",
        "The portfolio's cost per lead: total spend divided by total leads, so each source "
        "counts by its volume.",
    ),
    (
        "CPA (cost per customer)",
        "Spend divided by the customers it brought: the cost of one new customer.",
    ),
    ("Conversion", "The share of leads that become customers."),
    (
        "Run-rate",
        "A figure a month at today's (or the recommended) spend, as if the month ran at that "
        "pace; not a month's recorded actual.",
    ),
    ("Last quarter actual", "What History records for the quarter's months, summed."),
    (
        "Cohort",
        "The leads bought in one month and the customers and revenue they bring later; the "
        "ROI page averages a source's monthly cohorts.",
    ),
    (
        "Contribution",
        "What the business keeps of the revenue: revenue × the gross margin on Settings, less "
        "the cost to serve each customer won.",
    ),
    (
        "ROI",
        "Return on spend, on contribution: what the leads' customers contribute, less what the "
        "leads cost, as a share of what they cost, over the stated horizon (30 days, 90 days, "
        "12 months, or the quarter). Revenue ROI, where shown, is the same on revenue.",
    ),
    (
        "NPV, IRR, payback",
        "A cohort's contribution cash flows valued today at the discount rate on Settings "
        "(NPV), the yearly rate at which they break even (IRR; over 1,000 % it is given a "
        "month) and the first month they have paid back (payback).",
    ),
    (
        "Tier 1 / 2 / 3",
        "Core sources that carry the volume, growth sources, and experimental sources being "
        "tested; each has a budget band.",
    ),
    (
        "Lead type",
        "Premium: sold to one or two buyers within a day; Standard: to three to five within "
        "three days; Value: aged or widely shared.",
    ),
    (
        "Risk class",
        "Low, Medium or High, from a source's history, test status, vendor health and "
        "volatility; High-risk spend is held to its band.",
    ),
    ("Band", "The range of budget share a class of sources is held to, e.g. 10% – 15%."),
    ("Vendor health", "The vendor's score from 1 (poor) to 5 (excellent) on the Sources tab."),
    (
        "Rebalance",
        "The recommended allocation: the spend per source that brings the most expected "
        "customers within the budget and every rule on Settings.",
    ),
    ("Marginal CPA", "What one more customer from a source would cost at its next spend tier."),
    (
        "Baseline",
        "The lead forecast on the current course: past seasonality and trend, with no growth "
        "action.",
    ),
    (
        "Usual variation (sd)",
        "How far the baseline's month 12 usually lands from its forecast (one standard deviation).",
    ),
    (
        "Chance the current plan reaches it",
        "The chance that the baseline alone reaches a scenario's leads in month 12.",
    ),
    (
        "Forecast error",
        "How far the leads forecast at the start of a period missed the actual, as a share "
        "of the actual.",
    ),
    (
        "Capacity utilisation",
        "Leads a month against what the sales team can work; about 85 % is the optimum.",
    ),
    (
        "On target / watch / off target",
        "Meets the target; misses it by at most the watch margin (10 % of the target by "
        "default); misses by more.",
    ),
    ("First-party / third-party", "Leads from our own channels / bought from vendors."),
)
"""The glossary page: a term a board member may not know, and its one-line definition."""


def _glossary_page(page: Page) -> None:
    top, _ = page.table(("Term", "What it means"), GLOSSARY, wrap=(0, 1))
    page.ws.print_title_rows = f"1:{top}"
    page.finish()


def history_frame(kpis: Sequence[Kpi]) -> pd.DataFrame:
    """The trend values of the KPIs as a quarters × KPIs frame (for tests and the CLI)."""
    if not kpis:
        return pd.DataFrame()
    quarters = [p.quarter.label for p in kpis[0].trend] + [kpis[0].quarter.label]
    data = {k.key: [p.value for p in k.trend] + [k.value] for k in kpis}
    return pd.DataFrame(data, index=quarters)
