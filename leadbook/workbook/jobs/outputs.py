"""Every output tab: what to compute from a book for it, and the renderer that writes it.

A renderer (:mod:`leadbook.workbook.tabs`) takes computed results and writes cells; the
functions here read the book, compute with the core, and call it. :data:`OUTPUT_RENDERERS`
maps each output tab to one of them; :func:`render_outputs` runs the ones a job names, and
:data:`SUMMARY_RENDERERS` are the summaries (Board, Maturity) that the safe write re-renders
when a tab they read changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import contract as C
from leadbook.allocation.variance import plan_vs_actual
from leadbook.board import maturity as M
from leadbook.board.kpis import board_kpis
from leadbook.board.pitfalls import pitfalls
from leadbook.board.quarters import Quarter, latest_quarter, quarter_actuals
from leadbook.errors import InfeasiblePolicyError, raise_errors
from leadbook.planning.plan import hiring_result
from leadbook.portfolio.classify import band_usage
from leadbook.settings import Settings
from leadbook.workbook.jobs.computed import book_classes, book_roi, book_scores
from leadbook.workbook.jobs.feeds import allocation_feeds, book_allocation
from leadbook.workbook.jobs.forecasting import book_forecast, book_forecast_result
from leadbook.workbook.jobs.gather import gather_inputs, read_answers, saved_history, workbook_facts
from leadbook.workbook.layout import Expected, formula_values
from leadbook.workbook.read import Book
from leadbook.workbook.sheets import previous_sheet, replace_sheet
from leadbook.workbook.splice import readable
from leadbook.workbook.tabs.allocation import render_allocation
from leadbook.workbook.tabs.board import (
    BoardView,
    MaturityView,
    render_board_tab,
    render_maturity_tab,
)
from leadbook.workbook.tabs.classes import render_scores, render_tiers
from leadbook.workbook.tabs.decisions import log_problems, read_log, render_decisions
from leadbook.workbook.tabs.leads import render_leads
from leadbook.workbook.tabs.planning import (
    render_forecast,
    render_forecast_detail,
    render_hiring,
    render_roi,
)

Renderer = Callable[[Worksheet, Book | None, Expected], None]
"""Compute an output tab from a book (None: render it empty) and write it."""


def _settings(book: Book | None) -> Settings:
    return book.settings if book is not None else Settings()


def tiers(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """The Tiers tab: each source's class, and the spend by class against the bands."""
    if book is None:
        empty = pd.DataFrame(columns=["tier", "lead_type", "risk"])
        usage = band_usage(pd.Series(dtype=float), empty, _settings(book))
        render_tiers(ws, None, None, usage, expected)
        return
    classes = book_classes(book)
    spend = book.inventory.sources["spend"]
    usage = band_usage(spend.reindex(classes.index), classes, book.settings)
    render_tiers(ws, classes, spend, usage, expected)


def scores(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """The Scores tab: every source's subscores, composite and rank."""
    render_scores(ws, None if book is None else book_scores(book), expected)


def roi(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """The ROI tab: multi-horizon returns per source and each cohort's cash flows."""
    table, flows = (None, None) if book is None else book_roi(book)
    render_roi(ws, table, flows, expected)


def forecast(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """The Forecast tab: the portfolio by month, scenarios and accuracy."""
    result = None if book is None else book_forecast_result(book)
    render_forecast(ws, result, _settings(book), expected)


def forecast_detail(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """The Forecast detail tab: how each series was forecast, every source, the log."""
    render_forecast_detail(ws, None if book is None else book_forecast_result(book), expected)


def hiring(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """The Hiring tab: each scenario's hiring plan and the capacity checks."""
    settings = _settings(book)
    result = None if book is None else hiring_result(book_forecast(book), settings)
    render_hiring(ws, result, settings, expected)


def allocation(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """The Allocation tab of ``book`` under its own settings (empty without a book); an
    infeasible policy renders its conflicts instead of a recommendation."""
    if book is None:
        render_allocation(ws, None, Settings(), expected)
        return
    feeds = allocation_feeds(book)
    try:
        solved, _ = book_allocation(book, feeds=feeds)
    except InfeasiblePolicyError as exc:
        render_allocation(ws, None, book.settings, expected, problem=exc, feeds=feeds)
        return
    render_allocation(ws, solved, book.settings, expected, feeds=feeds)


def whatif(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """The What-if tab: the Scenarios table kept as it was, each scenario's results and the
    budget curve (empty without a book)."""
    from leadbook.workbook.jobs.whatif import whatif_view
    from leadbook.workbook.tabs.whatif import kept_table, render_whatif

    kept = kept_table(previous_sheet(ws))
    view = None if book is None else whatif_view(book, kept)
    render_whatif(ws, view, kept, expected)


def leads(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """The Leads tab as built: the lead table (Score leads updates it in place)."""
    render_leads(ws, book, expected)


def board_view(wb: Workbook, book: Book, quarter: Quarter, saved: pd.DataFrame) -> BoardView:
    """The Board tab's content for ``quarter`` from a book and the rest of the workbook."""
    inputs = gather_inputs(wb, book, quarter, saved)
    actuals = quarter_actuals(book.inventory, quarter)
    period = (
        f"History for {quarter.long}: {actuals.coverage}"
        if actuals
        else f"History has no month of {quarter.long}"
    )
    return BoardView(quarter, period, tuple(board_kpis(inputs)), tuple(pitfalls(inputs)), saved)


def board(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """The Board tab for the quarter of History's last month; the Board history rows of the
    tab it replaces are kept (the export adds to them)."""
    saved = saved_history(previous_sheet(ws))
    quarter = None if book is None else latest_quarter(book.inventory.history)
    if book is None or quarter is None:
        render_board_tab(ws, BoardView(None, "No History yet.", saved=saved), expected)
        return
    render_board_tab(ws, board_view(ws.parent, book, quarter, saved), expected)


def maturity_view(
    ws_previous: Any, wb: Workbook, book: Book | None, saved: pd.DataFrame
) -> MaturityView:
    """The assessment from the answers on the tab being replaced and the workbook's data."""
    answers, raw = read_answers(ws_previous)
    evidence = {} if book is None else M.evidence_from(workbook_facts(wb, book, saved))
    threshold = (
        book.settings.board.maturity_threshold if book is not None else M.assess({}).threshold
    )
    return MaturityView(M.assess(answers, evidence, threshold), evidence, raw)


def maturity(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """The Maturity tab; the user's answers are kept."""
    wb = ws.parent
    # the Board as the file has it when the job left it out of the load (refresh Maturity)
    board_ws = readable(wb, C.BOARD.name) if C.BOARD.name in wb.sheetnames else None
    view = maturity_view(previous_sheet(ws), wb, book, saved_history(board_ws))
    render_maturity_tab(ws, view, expected)


def decisions(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """The Decisions tab: the Recommendations log carried over, row for row, from the tab it
    replaces, and PlanVsActual from its Accepted rows and the book's History."""
    log = read_log(previous_sheet(ws), by_row=True)
    pva = None if book is None else book_plan_vs_actual(log, book)
    render_decisions(ws, log.reset_index(drop=True), pva, expected)


def book_plan_vs_actual(log: pd.DataFrame, book: Book) -> pd.DataFrame:
    """PlanVsActual of the accepted plans in the Recommendations rows ``log`` (read
    ``by_row``); a log edited by hand raises :class:`~leadbook.errors.InputError` naming
    each bad cell (a plan figure silently taken as $0 would mislead more than no table)."""
    raise_errors(log_problems(log))
    accepted = log[log["event"] == C.ACCEPTED]
    if accepted.empty:
        return plan_vs_actual(accepted, book.inventory.history)
    accepted = accepted.assign(
        plan_from=pd.to_datetime(accepted["plan_from"]),
        **{
            k: pd.to_numeric(accepted[k], errors="coerce").fillna(0.0)
            for k in ("spend", "leads", "customers")
        },
    )
    return plan_vs_actual(accepted, book.inventory.history)


OUTPUT_RENDERERS: dict[str, Renderer] = {
    C.TIERS.name: tiers,
    C.SCORES.name: scores,
    C.ROI.name: roi,
    C.FORECAST.name: forecast,
    C.FORECAST_DETAIL.name: forecast_detail,
    C.HIRING.name: hiring,
    C.ALLOCATION.name: allocation,
    C.WHATIF.name: whatif,
    C.LEADS.name: leads,
    C.BOARD.name: board,
    C.MATURITY.name: maturity,
    C.DECISIONS.name: decisions,
}
"""Output tab → how to compute and render it from a book (None renders it empty)."""

RENDERED_ANEW = frozenset(
    {
        C.TIERS.name,
        C.SCORES.name,
        C.ROI.name,
        C.FORECAST.name,
        C.FORECAST_DETAIL.name,
        C.HIRING.name,
    }
)
"""The output tabs whose renderers read nothing of the tab they replace (the others keep
the What-if scenarios, the Board history, the Maturity answers, the Recommendations log,
the lead table): a job that renders them need not load what they held
(:func:`leadbook.workbook.write.update_workbook`'s ``replaced``)."""

SUMMARY_RENDERERS: dict[str, Renderer] = {C.BOARD.name: board, C.MATURITY.name: maturity}
"""The summary tabs the safe write re-renders when a tab they read was rendered
(:func:`leadbook.workbook.write.update_workbook`)."""


def render_outputs(
    wb: Workbook,
    book: Book,
    tabs: tuple[str, ...],
    progress: Callable[[str], None] | None = None,
) -> Expected:
    """Rewrite the given output tabs of ``wb`` from ``book``; leadbook's formula values.

    ``progress`` is called with each tab's name once it is done (for a progress bar).
    """
    expected = formula_values(wb)
    for name in tabs:
        OUTPUT_RENDERERS[name](replace_sheet(wb, name), book, expected)
        if progress is not None:
            progress(name)
    return expected
