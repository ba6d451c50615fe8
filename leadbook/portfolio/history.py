"""Track-record statistics from the History table: stability, consistency, correlation."""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_MONTHS_FOR_VARIATION = 3
MIN_MONTHS_FOR_CORRELATION = 6


def monthly(history: pd.DataFrame, field: str, last: int | None = None) -> pd.DataFrame:
    """A months × sources table of ``field`` (or ``"conversion"``/``"cpl"``, derived).

    ``last`` keeps the most recent ``last`` months of the whole table.
    """
    return monthly_fields(history, (field,), last)[field]


def monthly_fields(
    history: pd.DataFrame, fields: tuple[str, ...], last: int | None = None
) -> dict[str, pd.DataFrame]:
    """:func:`monthly` of each of ``fields``, from one pivot of History."""
    if history.empty:
        return {field: pd.DataFrame() for field in fields}
    table = history.pivot_table(
        index="month",
        columns="source",
        values=["spend", "leads", "customers", "revenue"],
        aggfunc="sum",
    ).sort_index()
    if last:
        table = table.iloc[-last:]
    leads = table["leads"].where(table["leads"] > 0)
    derived = {"conversion": "customers", "cpl": "spend"}
    return {
        field: table[derived[field]] / leads if field in derived else table[field]
        for field in fields
    }


def coefficient_of_variation(values: pd.DataFrame) -> pd.Series:
    """Sample standard deviation over mean, per column; NaN with fewer than 3 values."""
    counts = values.count()
    cv = values.std(ddof=1) / values.mean()
    return cv.where(counts >= MIN_MONTHS_FOR_VARIATION)


def variation(history: pd.DataFrame, last: int = 12) -> pd.DataFrame:
    """Per source, over the last ``last`` months: months observed, and the variation
    (coefficient of variation) of monthly leads, conversion and CPL.

    Examples
    --------
    >>> h = pd.DataFrame({"month": pd.date_range("2026-01-01", periods=4, freq="MS"),
    ...                   "source": "A", "spend": [100., 100, 100, 100],
    ...                   "leads": [10, 10, 10, 10], "customers": [1, 2, 1, 2], "revenue": 0.0})
    >>> variation(h).round(3)
       months  leads_cv  conversion_cv  cpl_cv
    A       4       0.0          0.385     0.0
    """
    columns = ["months", "leads_cv", "conversion_cv", "cpl_cv"]
    if history.empty:
        return pd.DataFrame(columns=columns, dtype=float)
    tables = monthly_fields(history, ("leads", "conversion", "cpl"), last)
    frame = pd.DataFrame(
        {
            "months": tables["leads"].count(),
            "leads_cv": coefficient_of_variation(tables["leads"]),
            "conversion_cv": coefficient_of_variation(tables["conversion"]),
            "cpl_cv": coefficient_of_variation(tables["cpl"]),
        }
    )
    return frame.rename_axis(None)


def conversion_correlation(history: pd.DataFrame, last: int = 24) -> pd.Series:
    """Correlation of each source's monthly conversion with the rest of the portfolio's.

    "The rest" pools every other source's customers and leads month by month. NaN where
    fewer than 6 months overlap or either series is constant.
    """
    if history.empty:
        return pd.Series(dtype=float)
    tables = monthly_fields(history, ("leads", "customers"), last)
    leads, customers = tables["leads"].fillna(0.0), tables["customers"].fillna(0.0)
    n, c = leads.to_numpy(dtype=float), customers.to_numpy(dtype=float)
    # the rest as the total less the source (the sum over the others, per source, grew
    # with the square of the sources: a minute at 1,000)
    rest_n = n.sum(axis=1, keepdims=True) - n
    rest_c = c.sum(axis=1, keepdims=True) - c
    with np.errstate(divide="ignore", invalid="ignore"):
        mine = np.where(n > 0, c / n, np.nan)
        rest = np.where(rest_n > 0, rest_c / rest_n, np.nan)
    out = {}
    for j, source in enumerate(leads.columns):
        both = ~np.isnan(mine[:, j]) & ~np.isnan(rest[:, j])
        a, b = mine[both, j], rest[both, j]
        ok = len(a) >= MIN_MONTHS_FOR_CORRELATION and np.ptp(a) > 0 and np.ptp(b) > 0
        out[source] = float(np.corrcoef(a, b)[0, 1]) if ok else np.nan
    return pd.Series(out, dtype=float)
