"""The Rebalance job: read the workbook, allocate, rewrite the Allocation tab (and the Log).

Besides Settings, two capabilities feed the allocation, each when Settings ask for it:

- **Sales capacity** (``capacity.sales_capacity_source``): ``settings`` takes sales reps ×
  leads per rep × utilisation; ``hiring plan`` takes the productive reps the workbook's
  hiring plan (the Hiring tab's, Base scenario) expects in its first month instead of the
  sales reps.
- **Conversion** (``leads.conversion_source``): ``history`` keeps the Sources tab's rates;
  ``model`` replaces them, per source with enough open leads, by the mean probability the
  lead model the workbook records gives its open leads — the recorded model is loaded and
  checked, never retrained.

:func:`book_allocation` is the one place that does this, for the ``leadbook rebalance`` job and
for the tab as the demo builds it. The allocation is solved before the file is opened for
writing, so an infeasible policy or any other error leaves the workbook byte-identical; only
:func:`leadbook.workbook.write.update_workbook` writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from leadbook import contract as C
from leadbook.allocation import Allocation, SalesCapacity, allocate
from leadbook.enums import CapacitySource, ConversionSource, Objective
from leadbook.errors import InfeasiblePolicyError, LeadbookError, raise_errors
from leadbook.portfolio.inventory import Inventory
from leadbook.settings import Settings
from leadbook.workbook.layout import BAD_FILL, BAD_FONT, Expected, formula_values, now
from leadbook.workbook.provenance import FAILED_MARK, PORTFOLIO, read_stamp
from leadbook.workbook.read import Book, open_workbook, read_book
from leadbook.workbook.sheets import replace_sheet
from leadbook.workbook.tabs.allocation import render_allocation
from leadbook.workbook.write import WriteResult, one_job_per_workbook, update_workbook

PLAN_SCENARIO = "Base"
"""The hiring plan's scenario whose productive reps set the sales capacity. In the plan's
first month every scenario has the same reps unless a hire can start at once."""


@dataclass(frozen=True)
class Feeds:
    """What the allocation is fed besides Settings.

    ``inventory`` carries the conversion rates to solve with; ``conversion`` says, per
    source, the rate (``conversion``) and where it is from (``origin``: "history", "model
    (N open leads)" or "history: why not the model").
    """

    inventory: Inventory
    sales_capacity: SalesCapacity
    conversion: pd.DataFrame

    @property
    def conversion_note(self) -> str:
        """One sentence on where the conversion rates come from."""
        from_model = int(self.conversion["origin"].str.startswith("model").sum())
        if not from_model:
            return "Conversion: each source's history (Sources tab)."
        rest = len(self.conversion) - from_model
        return (
            f"Conversion: the recorded lead model's prediction for {from_model} source(s), "
            f"history for {rest} (column Conversion from)."
        )


def planned_sales_capacity(inventory: Inventory, settings: Settings) -> SalesCapacity:
    """Sales capacity from the hiring plan of ``inventory``'s forecast: its first month's
    productive reps × leads per rep × utilisation
    (:func:`leadbook.planning.capacity.sales_capacity`)."""
    from leadbook.planning.capacity import sales_capacity
    from leadbook.planning.forecast import portfolio_forecast
    from leadbook.workbook.tabs.planning import hiring_result

    try:
        plan = _first_month_plan(inventory, settings)
        if plan is None:
            plans = hiring_result(portfolio_forecast(inventory, settings), settings).plan
            plan = plans[plans["scenario"] == PLAN_SCENARIO]
    except LeadbookError as exc:
        raise LeadbookError(
            "Settings: capacity.sales_capacity_source (SalesCapacitySource) is 'hiring plan', "
            f"but the hiring plan cannot be made: {exc} — fix that, or set it to 'settings'"
        ) from exc
    month = plan["month"].iloc[0]
    cap = settings.capacity
    leads = sales_capacity(plan, month, cap.leads_per_rep * cap.utilisation)
    reps = float(plan["productive"].iloc[0])
    when = f"{month:%b %Y}" if isinstance(month, pd.Timestamp) else f"month {month}"
    basis = (
        f"{reps:,.1f} productive reps in {when} × {cap.leads_per_rep:g} leads × "
        f"{cap.utilisation:.0%}"
    )
    return SalesCapacity(leads, basis, "the hiring plan", reps)


def _first_month_plan(inventory: Inventory, settings: Settings) -> pd.DataFrame | None:
    """The hiring plan's first month when no hire can start in it, without the forecast.

    Its productive reps are then today's reps after a month's attrition, whatever leads
    are forecast; forecasting every source (a backtest per series) is what made Rebalance
    take minutes on thousands of sources. None when a hire could start at once.
    """
    from leadbook.errors import InputError, Problem
    from leadbook.planning.capacity import HiringTerms, hiring_plan

    if HiringTerms.from_settings(settings).lead_months < 1:
        return None
    hist = inventory.history
    if hist.empty:  # as portfolio_forecast says it
        raise InputError([Problem("History", "History is empty: there is nothing to forecast")])
    month = hist["month"].max() + pd.DateOffset(months=1)
    leads = pd.Series([0.0], index=[month])
    terms = HiringTerms.from_settings(settings)
    return hiring_plan(leads, settings.capacity.sales_reps, terms)


def sales_capacity_for(inventory: Inventory, settings: Settings) -> SalesCapacity:
    """The sales capacity ``settings`` ask for: their own figure, or the hiring plan's."""
    if settings.capacity.sales_capacity_source is CapacitySource.HIRING_PLAN:
        return planned_sales_capacity(inventory, settings)
    return SalesCapacity.from_settings(settings)


def book_sales_capacity(book: Book) -> SalesCapacity:
    """The sales capacity the book's Settings ask for (:func:`sales_capacity_for`)."""
    return sales_capacity_for(book.inventory, book.settings)


def book_conversion(book: Book) -> tuple[Inventory, pd.DataFrame]:
    """The inventory with the conversion rates Settings ask for, and where each is from."""
    src = book.inventory.sources
    if book.settings.leads.conversion_source is not ConversionSource.MODEL:
        origin = pd.DataFrame({"conversion": src["conversion"], "origin": "history"})
        return book.inventory, origin
    from leadbook.leads.money import with_predicted_conversion

    inventory, record = with_predicted_conversion(
        book.inventory, _scored_open_leads(book), book.settings
    )
    origin = [
        f"model ({int(row.leads)} open leads)" if row.replaced else f"history: {row.reason}"
        for row in record.itertuples()
    ]
    frame = pd.DataFrame(
        {"conversion": inventory.sources["conversion"], "origin": origin}, index=record.index
    )
    return inventory, frame


def _scored_open_leads(book: Book) -> pd.DataFrame:
    """``source, probability`` of the book's open leads under the model it records."""
    from leadbook.leads.model import check_fresh, load_model
    from leadbook.leads.table import parse_leads
    from leadbook.workbook.tabs.leads import read_lead_grid, read_model_record

    wb = open_workbook(book.path) if book.path is not None else None
    record = read_model_record(wb) if wb is not None else None
    if wb is None or record is None:
        name = book.path.name if book.path is not None else "the workbook"
        raise LeadbookError(
            "Settings: leads.conversion_source (LeadConversionSource) is 'model', but "
            f"{name} records no lead model; run Score leads (leadbook score-leads BOOK) to "
            "train and record one, or set it to 'history'"
        )
    assert book.path is not None
    model = load_model(book.path, record)
    grid = read_lead_grid(wb)
    if grid is None:
        return pd.DataFrame({"source": [], "probability": []})
    table, problems = parse_leads(*grid, sources=book.inventory.names, kinds=model.kinds)
    raise_errors(problems)
    check_fresh(model, table.closed())
    open_leads = table.open()
    if not len(open_leads):
        return pd.DataFrame({"source": [], "probability": []})
    return pd.DataFrame(
        {
            "source": open_leads.fixed["source"].to_numpy(),
            "probability": model.predict(open_leads.model_frame()),
        }
    )


def allocation_feeds(book: Book) -> Feeds:
    """The sales capacity and conversion rates the book's Rebalance uses."""
    inventory, conversion = book_conversion(book)
    return Feeds(inventory, book_sales_capacity(book), conversion)


def book_allocation(
    book: Book,
    *,
    weeks: int = 1,
    objective: Objective | str | None = None,
    feeds: Feeds | None = None,
) -> tuple[Allocation, Feeds]:
    """The book's recommended allocation, fed as its Settings ask, and what it was fed.

    Raises :class:`~leadbook.errors.InfeasiblePolicyError` when the policy cannot be met,
    and :class:`~leadbook.errors.LeadbookError` when a feed Settings ask for is missing.
    """
    feeds = feeds or allocation_feeds(book)
    allocation = allocate(
        feeds.inventory,
        book.settings,
        weeks=weeks,
        objective=objective,
        sales_capacity=feeds.sales_capacity,
    )
    return allocation, feeds


@one_job_per_workbook
def rebalance(
    path: str | Path, *, weeks: int = 1, objective: Objective | str | None = None
) -> tuple[WriteResult, Allocation]:
    """Rebalance the workbook at ``path``: write the Allocation tab and a Log row.

    Raises :class:`~leadbook.errors.InfeasiblePolicyError` when the policy on its Settings
    tab cannot be met, after marking the Allocation tab stale and logging why; bad inputs
    raise before anything is written.
    """
    book = read_book(path)
    try:
        allocation, feeds = book_allocation(book, weeks=weeks, objective=objective)
    except InfeasiblePolicyError as exc:
        _mark_stale(path, exc, book.settings.files.versions_kept)
        raise
    if book.fingerprints is not None:  # the stamp's fingerprints now, the cells let go
        book.fingerprints.settle(PORTFOLIO)
    model_fed = book.settings.leads.conversion_source is ConversionSource.MODEL

    def job(wb: Workbook) -> str:
        ws = replace_sheet(wb, C.ALLOCATION.name)
        render_allocation(ws, allocation, book.settings, formula_values(wb), feeds=feeds)
        t = allocation.totals
        plan = f" and a {weeks}-week glide path" if weeks > 1 else ""
        return (
            f"rebalanced {len(allocation.table)} sources ({allocation.objective.value}): "
            f"${t.spend:,.0f} a month for {t.customers:,.1f} expected customers{plan}; "
            f"sales capacity {feeds.sales_capacity.text}"
        )

    extra = {C.ALLOCATION.name: ("Leads",)} if model_fed else None
    return update_workbook(
        path, "rebalance", job, book=book, extra_groups=extra, changes=(C.ALLOCATION.name,)
    ), allocation


def _mark_stale(path: str | Path, problem: InfeasiblePolicyError, versions_kept: int) -> None:
    """Say on the Allocation tab's status cell that the recommendation there no longer
    follows the inputs, because the policy cannot be met; a Log row says why. (Bad inputs
    and missing feeds write nothing: ``leadbook check`` reports the tab stale.)"""
    status = C.NAMED_CELLS["RebalanceStatus"]
    lines = str(problem).splitlines()
    first = " ".join(line.strip(" -") for line in lines[:2])

    def job(wb: Workbook) -> str:
        if status.sheet not in wb.sheetnames:
            return f"rebalance: {first}"
        ws = wb[status.sheet]
        old = read_stamp(ws)
        shown = f"the allocation below (of {old.when:%Y-%m-%d %H:%M})" if old else "this tab"
        ws[status.cell] = (
            f"{FAILED_MARK}Rebalance at {now():%Y-%m-%d %H:%M} found the policy cannot be "
            f"met (see the Log); {shown} no longer follows the inputs"
        )
        ws[status.cell].font = BAD_FONT
        ws[status.cell].fill = BAD_FILL
        return f"the policy cannot be met, Allocation marked stale: {first}"

    update_workbook(
        path, "rebalance", job, versions_kept=versions_kept, changes=(C.ALLOCATION.name,)
    )


def render_allocation_tab(ws: Worksheet, book: Book | None, expected: Expected) -> None:
    """The Allocation tab of ``book`` under its own settings (empty without a book); an
    infeasible policy renders its conflicts instead of a recommendation."""
    if book is None:
        render_allocation(ws, None, Settings(), expected)
        return
    feeds = allocation_feeds(book)
    try:
        allocation, _ = book_allocation(book, feeds=feeds)
    except InfeasiblePolicyError as exc:
        render_allocation(ws, None, book.settings, expected, problem=exc, feeds=feeds)
        return
    render_allocation(ws, allocation, book.settings, expected, feeds=feeds)
