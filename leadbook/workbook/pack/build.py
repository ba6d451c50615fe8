"""The board pack workbook: its sheets in order, each on its grid of column widths."""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.workbook.workbook import Workbook

from leadbook import __version__
from leadbook import contract as C
from leadbook.workbook.pack.copied import _copied_grid, _copied_page
from leadbook.workbook.pack.decisions import PLAN_GRID, _plan_page
from leadbook.workbook.pack.maturity import _glossary_page, _maturity_page
from leadbook.workbook.pack.page import PACK_TABS, PackContent, Page
from leadbook.workbook.pack.summary import (
    _cover,
    _kpi_page,
    _pitfall_page,
    _portfolio_page,
    _reconciliation_page,
    actual_months,
)
from leadbook.workbook.pack.trends import _trend_page

# --- The pack ------------------------------------------------------------------------------------


def build_pack(content: PackContent, *, paper: str = "a4") -> Workbook:
    """The values-only pack workbook: cover, KPIs, pitfalls, portfolio, trends, plan against
    actual, the copied
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
        content,
    )
    _trend_page(
        Page(wb, "Trends", "KPI trends by quarter", sub, TREND_GRID, paper=paper, one_page=True),
        content.kpis,
    )
    _plan_page(
        Page(
            wb, "Plan vs actual", "Plan against actual", sub, PLAN_GRID, paper=paper, one_page=True
        ),
        content.plan_vs_actual,
        content.quarter,
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
