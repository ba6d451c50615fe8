"""What feeds the allocation of a book besides Settings, each when Settings ask for it:

- **Sales capacity** (``capacity.sales_capacity_source``): ``settings`` takes sales reps ×
  leads per rep × utilisation; ``hiring plan`` takes the productive reps the workbook's
  hiring plan (the Hiring tab's, Base scenario) expects in its first month instead of the
  sales reps.
- **Conversion** (``leads.conversion_source``): ``history`` keeps the Sources tab's rates;
  ``model`` replaces them, per source with enough open leads, by the mean probability the
  lead model the workbook records gives its open leads — the recorded model is loaded and
  checked, never retrained.

:func:`book_allocation` is the one place that does this, for the Rebalance job
(:mod:`leadbook.workbook.jobs.rebalance`), the Allocation tab as the demo builds it, and the
board (the sales capacity the plan gives).
"""

from __future__ import annotations

import pandas as pd

from leadbook.allocation import Allocation, SalesCapacity, allocate
from leadbook.allocation.model import Feeds
from leadbook.enums import CapacitySource, ConversionSource, Objective
from leadbook.errors import LeadbookError, raise_errors
from leadbook.portfolio.inventory import Inventory
from leadbook.settings import Settings
from leadbook.workbook.memory import open_copy
from leadbook.workbook.read import Book, open_workbook

PLAN_SCENARIO = "Base"
"""The hiring plan's scenario whose productive reps set the sales capacity. In the plan's
first month every scenario has the same reps unless a hire can start at once."""


def planned_sales_capacity(inventory: Inventory, settings: Settings) -> SalesCapacity:
    """Sales capacity from the hiring plan of ``inventory``'s forecast: its first month's
    productive reps × leads per rep × utilisation
    (:func:`leadbook.planning.capacity.sales_capacity`)."""
    from leadbook.planning.capacity import sales_capacity
    from leadbook.planning.forecast import portfolio_forecast
    from leadbook.planning.plan import hiring_result

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
    from leadbook.leads.store import check_fresh, load_model
    from leadbook.leads.table import parse_leads
    from leadbook.workbook.leadgrid import read_lead_grid, read_model_record

    # a button's copy open already (its cells as the file's), else the file
    wb = None if book.path is None else open_copy(book.path) or open_workbook(book.path)
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
    from leadbook.workbook.jobs.computed import book_classes

    feeds = feeds or allocation_feeds(book)
    allocation = allocate(
        feeds.inventory,
        book.settings,
        weeks=weeks,
        objective=objective,
        sales_capacity=feeds.sales_capacity,
        # the classes the Board reads too, once (of the book's own sources, not a lead
        # model's conversions)
        classes=book_classes(book) if feeds.inventory is book.inventory else None,
    )
    return allocation, feeds
