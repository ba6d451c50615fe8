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
    if history.empty:
        return pd.DataFrame()
    table = history.pivot_table(
        index="month",
        columns="source",
        values=["spend", "leads", "customers", "revenue"],
        aggfunc="sum",
    )
    if field == "conversion":
        values = table["customers"] / table["leads"].where(table["leads"] > 0)
    elif field == "cpl":
        values = table["spend"] / table["leads"].where(table["leads"] > 0)
    else:
        values = table[field]
    values = values.sort_index()
    return values.iloc[-last:] if last else values


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
    leads = monthly(history, "leads", last)
    frame = pd.DataFrame(
        {
            "months": leads.count(),
            "leads_cv": coefficient_of_variation(leads),
            "conversion_cv": coefficient_of_variation(monthly(history, "conversion", last)),
            "cpl_cv": coefficient_of_variation(monthly(history, "cpl", last)),
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
    leads = monthly(history, "leads", last).fillna(0.0)
    customers = monthly(history, "customers", last).fillna(0.0)
    out = {}
    for source in leads.columns:
        mine = customers[source] / leads[source].where(leads[source] > 0)
        rest_leads = leads.drop(columns=source).sum(axis=1)
        rest = customers.drop(columns=source).sum(axis=1) / rest_leads.where(rest_leads > 0)
        both = pd.concat([mine, rest], axis=1).dropna()
        ok = len(both) >= MIN_MONTHS_FOR_CORRELATION and both.std().gt(0).all()
        out[source] = float(np.corrcoef(both.iloc[:, 0], both.iloc[:, 1])[0, 1]) if ok else np.nan
    return pd.Series(out, dtype=float)
