"""The forecast and the hiring plan of a book, computed once and shared.

The Forecast, Forecast detail and Hiring tabs show them; Rebalance reads the plan's first
month for the sales capacity and the board reads the forecast log. Each is computed once per
book object (a refresh renders three tabs from one forecast).
"""

from __future__ import annotations

import weakref
from pathlib import Path

import pandas as pd

from leadbook import contract as C
from leadbook.contract.tables import parse_table
from leadbook.errors import InputError
from leadbook.planning.forecast import PortfolioForecast, portfolio_forecast
from leadbook.planning.forecastlog import LOG_COLUMNS
from leadbook.planning.plan import ForecastResult, planned_forecast
from leadbook.workbook.read import Book, open_inputs, read_table
from leadbook.workbook.tablecells import find_table

_LAST_FORECAST: list[tuple[weakref.ref, PortfolioForecast]] = []


def book_forecast(book: Book) -> PortfolioForecast:
    """The portfolio forecast of ``book``, computed once per book object."""
    # Once per book: series.choose caches 512 series, so with hundreds of sources the
    # Hiring tab forecast every series again after the Forecast tabs had.
    if _LAST_FORECAST and _LAST_FORECAST[0][0]() is book:
        return _LAST_FORECAST[0][1]
    pf = portfolio_forecast(book.inventory, book.settings)
    _LAST_FORECAST[:] = [(weakref.ref(book), pf)]
    return pf


def forecast_result(book: Book, previous_log: pd.DataFrame | None = None) -> ForecastResult:
    """The book's forecast, its log (``previous_log`` plus this month's) and accuracy."""
    return planned_forecast(
        book_forecast(book), book.inventory.history, book.settings, previous_log
    )


_LAST_RESULT: list[tuple[weakref.ref, ForecastResult]] = []


def book_forecast_result(book: Book) -> ForecastResult:
    """:func:`forecast_result` with the log kept in the book's file, computed once for both
    Forecast tabs of one refresh (the same ``book`` object)."""
    if _LAST_RESULT and _LAST_RESULT[0][0]() is book:
        return _LAST_RESULT[0][1]
    result = forecast_result(book, previous_forecast_log(book.path))
    _LAST_RESULT[:] = [(weakref.ref(book), result)]
    return result


def previous_forecast_log(path: Path | str | None) -> pd.DataFrame | None:
    """The ForecastLog rows already in the workbook file at ``path`` (None when absent),
    on whichever tab it is (the Forecast tab held it before the Forecast detail tab did)."""
    if path is None or not Path(path).exists():
        return None
    wb = open_inputs(path)  # streamed: openpyxl loads every tab (20–40 s, 1 GB at 10,000 sources)
    if find_table(wb, C.FORECAST_LOG_TABLE) is None:
        return None
    raw, locator, problems = read_table(wb, C.FORECAST_LOG_TABLE)
    frame, problems = parse_table(raw, C.FORECAST_LOG_TABLE, locator, frozenset({C.Role.OUTPUT}))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(errors)
    return frame.drop(columns="at_row").dropna(subset=["made", "month"])[LOG_COLUMNS]
