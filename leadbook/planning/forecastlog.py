"""The forecast log kept in the workbook across runs, and the accuracy of past forecasts
against the months that followed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from leadbook.planning.forecast import CONVERSION, LEADS, PORTFOLIO, PortfolioForecast
from leadbook.planning.methods import mape, naive_scale
from leadbook.settings import Settings

# --- The forecast log and accuracy --------------------------------------------------------------

LOG_COLUMNS = [
    "made",
    "month",
    "source",
    "measure",
    "horizon",
    "forecast",
    "lower",
    "upper",
    "method",
    "actual",
]


LOG_HORIZON = 12


"""Months ahead of each forecast that the log keeps (accuracy is judged within a year)."""


def listed_sources(pf: PortfolioForecast) -> pd.DataFrame:
    """:attr:`PortfolioForecast.sources` of the sources that got the full choice of methods
    (:attr:`PortfolioForecast.listed`): the months the Forecast detail tab and the forecast
    log list. Each month of 10,000
    sources was 4.5 million cells a refresh (and as many again in the log each run, past
    Excel's rows in five months); the portfolio's sum still counts every source."""
    if pf.listed is None:
        return pf.sources
    return pf.sources[pf.sources["source"].isin(pf.listed)].reset_index(drop=True)


def log_rows(pf: PortfolioForecast, months: int = LOG_HORIZON) -> pd.DataFrame:
    """This forecast's rows for the forecast log: each listed source's
    (:func:`listed_sources`) and the portfolio's leads and conversion for the next
    ``months`` months."""
    methods = pf.series[["source", "measure", "method"]].drop_duplicates(
        ["source", "measure"], keep="last"
    )
    parts = []
    for measure, lo, hi in (
        (LEADS, "leads_lower", "leads_upper"),
        (CONVERSION, "conversion_lower", "conversion_upper"),
    ):
        listed = listed_sources(pf)
        src = listed.assign(
            measure=measure,
            forecast=listed[measure],
            lower=listed[lo],
            upper=listed[hi],
        )
        port = pf.portfolio.assign(
            source=PORTFOLIO,
            measure=measure,
            forecast=pf.portfolio[measure],
            lower=pf.portfolio["lower" if measure == LEADS else lo],
            upper=pf.portfolio["upper" if measure == LEADS else hi],
        )
        parts += [src, port]
    rows = pd.concat(parts, ignore_index=True)
    rows["month"] = pd.to_datetime(rows["month"])  # (an empty forecast leaves it untyped)
    rows["made"] = pf.as_of
    rows["horizon"] = (
        (rows["month"].dt.year - pf.as_of.year) * 12 + rows["month"].dt.month - pf.as_of.month + 1
    )
    rows = rows[rows["horizon"] <= months]
    rows = rows.merge(methods, on=["source", "measure"], how="left")
    rows["method"] = rows["method"].fillna("sum of sources")
    rows["actual"] = np.nan
    return (
        rows[LOG_COLUMNS]
        .sort_values(["source", "measure", "month"], kind="stable")
        .reset_index(drop=True)
    )


def actual_values(history: pd.DataFrame) -> pd.DataFrame:
    """Monthly actuals per source and for the portfolio: ``month, source, measure, actual``.

    Examples
    --------
    >>> h = pd.DataFrame({"month": [pd.Timestamp("2026-10-01")] * 2, "source": ["A", "B"],
    ...                   "leads": [100.0, 50.0], "customers": [10.0, 10.0]})
    >>> actual_values(h).query("source == 'Portfolio'")["actual"].round(4).tolist()
    [150.0, 0.1333]
    """
    if history.empty:
        return pd.DataFrame(columns=["month", "source", "measure", "actual"])
    per = history.groupby(["month", "source"])[["leads", "customers"]].sum()
    total = history.groupby("month")[["leads", "customers"]].sum()
    total.index = pd.MultiIndex.from_arrays(
        [total.index, [PORTFOLIO] * len(total)], names=["month", "source"]
    )
    both = pd.concat([per, total])
    conversion = both["customers"] / both["leads"].where(both["leads"] > 0)
    frame = pd.concat(
        [
            both["leads"].rename("actual").to_frame().assign(measure=LEADS),
            conversion.rename("actual").to_frame().assign(measure=CONVERSION),
        ]
    ).reset_index()
    return frame[["month", "source", "measure", "actual"]]


def update_log(
    previous: pd.DataFrame | None, new: pd.DataFrame, history: pd.DataFrame
) -> pd.DataFrame:
    """The forecast log after this run: earlier forecasts kept, a rerun in the same month
    replacing that month's rows, and every row's actual filled from History where known.

    Examples
    --------
    >>> nov = pd.Timestamp("2026-11-01")
    >>> new = pd.DataFrame({"made": [nov], "month": [nov],
    ...     "source": ["A"], "measure": ["leads"], "horizon": [1], "forecast": [100.0],
    ...     "lower": [90.0], "upper": [110.0], "method": ["naive (last value)"], "actual": [None]})
    >>> hist = pd.DataFrame({"month": [nov], "source": ["A"],
    ...     "leads": [104.0], "customers": [10.0]})
    >>> update_log(None, new, hist)[["source", "forecast", "actual"]].values.tolist()
    [['A', 100.0, 104.0]]
    """
    frames = [new]
    if previous is not None and len(previous):
        made = set(pd.to_datetime(new["made"]))
        frames.insert(0, previous[~pd.to_datetime(previous["made"]).isin(made)][LOG_COLUMNS])
    log_frame = pd.concat(frames, ignore_index=True).drop(columns="actual")
    log_frame["made"] = pd.to_datetime(log_frame["made"])
    log_frame["month"] = pd.to_datetime(log_frame["month"])
    merged = log_frame.merge(actual_values(history), on=["month", "source", "measure"], how="left")
    return (
        merged[LOG_COLUMNS]
        .sort_values(["made", "source", "measure", "month"], kind="stable")
        .reset_index(drop=True)
    )


def accuracy(log_frame: pd.DataFrame, history: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Per source and measure: forecasts compared with actuals, MAPE, MASE, target, status.

    MASE scales each error by the series' in-sample naive error over History; the target is
    the chapter's ±10 % for monthly leads (±5 % for the board, on the portfolio's leads) and
    ±15 % for conversion.
    """
    f = settings.forecast
    done = log_frame.dropna(subset=["actual"])
    actuals = actual_values(history).dropna(subset=["actual"]).sort_values("month", kind="stable")
    # Each series' actuals found once: a filter per series cost series × History's rows.
    series_at = actuals.groupby(["source", "measure"], sort=False).indices if len(actuals) else {}
    values = actuals["actual"].to_numpy(dtype=float)
    rows = []
    for (source, measure), group in done.groupby(["source", "measure"], sort=True):
        scale = naive_scale(values[series_at.get((source, measure), np.array([], dtype=int))])
        error = np.abs(group["forecast"] - group["actual"])
        targets = [("monthly", f.target_monthly if measure == LEADS else f.target_conversion)]
        if source == PORTFOLIO and measure == LEADS:
            targets.append(("board", f.target_board))
        for label, target in targets:
            value = mape(group["actual"], group["forecast"])
            rows.append(
                {
                    "source": source,
                    "measure": measure,
                    "compared": len(group),
                    "mape": value,
                    "mase": float(error.mean() / scale) if scale > 0 else math.nan,
                    "target": target,
                    "target_kind": label,
                    "status": "within" if value <= target else "outside",
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "source",
            "measure",
            "compared",
            "mape",
            "mase",
            "target",
            "target_kind",
            "status",
        ],
    )
