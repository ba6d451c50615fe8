"""Monthly forecasts with prediction intervals.

A series (a source's monthly leads or conversion) of a year or more is forecast by a
combination (:func:`leadbook.planning.methods.combination`): from two years on the mean of
ETS(A,Ad,A) and the airline ARIMA, fitted to the series and, when it is positive, to its logs,
with the airline model's interval; from 13 to 23 months the median of Theta, the seasonal
naive and the level-shifted seasonal naive (at 12, the mean of the first two). It beat
choosing a method per series by backtest on bench_forecast's tuning half and held-out half,
in a third of the time. Series of 6 to 11 months keep that backtest choice among the
non-seasonal methods (naive, simple and damped-trend smoothing, Theta), scored by mean
absolute scaled error (MASE); intervals come from the chosen method's own error model.
Under two years every interval is widened for a straight line's
(:func:`leadbook.planning.methods.with_the_line`): a model fitted to so few months misses
the uncertainty of a trend.

What a series must be: at least 3 months, finite numbers, no gaps (a missing month is an
error that names it, unless the caller opts into ``gaps="interpolate"``). A constant series
is forecast as that constant, its interval a 1 % step a month
(:data:`leadbook.planning.series.CONSTANT_STEP`); a series too short to backtest (under 6
months) gets the naive forecast, and the result says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from leadbook.enums import Status
from leadbook.errors import InputError, Problem
from leadbook.planning.methods import (
    MIN_BACKTEST,
    MIN_POINTS,
    QUICK_METHODS,
    ForecastInputError,
    z_value,
)
from leadbook.planning.series import (
    choose,
    forecast_detail,
    prepare_series,
    probability_at_least,
    quick_choice,
)
from leadbook.portfolio.inventory import Inventory
from leadbook.settings import Settings

log = logging.getLogger(__name__)


# --- Scenarios ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A growth scenario of the chapter: growth per year on top of the baseline, confidence."""

    name: str
    growth: float
    confidence: float


def scenarios(settings: Settings) -> tuple[Scenario, ...]:
    """Conservative, Base and Aggressive as set on the Settings tab.

    Examples
    --------
    >>> [(s.name, s.growth, s.confidence) for s in scenarios(Settings())]
    [('Conservative', 0.15, 0.9), ('Base', 0.35, 0.7), ('Aggressive', 0.75, 0.5)]
    """
    f = settings.forecast
    return (
        Scenario("Conservative", f.conservative_growth, f.conservative_confidence),
        Scenario("Base", f.base_growth, f.base_confidence),
        Scenario("Aggressive", f.aggressive_growth, f.aggressive_confidence),
    )


def scenario_leads(baseline: Sequence[float], growth: float) -> np.ndarray:
    """Month h of a scenario: the baseline's month h grown by (1 + growth)^(h / 12).

    Examples
    --------
    >>> scenario_leads([2_400] * 12, 0.15)[[0, 11]].round(1).tolist()
    [2428.1, 2760.0]
    """
    base = np.asarray(baseline, dtype=float)
    return base * (1 + growth) ** (np.arange(1, len(base) + 1) / 12)


# --- The book's forecast -------------------------------------------------------------------------

PORTFOLIO = "Portfolio"


LEADS, CONVERSION = "leads", "conversion"


@dataclass(frozen=True)
class PortfolioForecast:
    """Every source's and the portfolio's forecast, made as of ``as_of``.

    ``series``: one row per source and measure (``months, method, mase, floor_mase, note``);
    ``sources``: ``month, source, leads, leads_lower, leads_upper, conversion,
    conversion_lower, conversion_upper``; ``portfolio``: ``month, leads, lower, upper, sd,
    conversion, conversion_lower, conversion_upper``; ``actuals``: the portfolio's History
    (``month, leads, conversion``).
    """

    as_of: pd.Timestamp
    level: float
    series: pd.DataFrame
    sources: pd.DataFrame
    portfolio: pd.DataFrame
    actuals: pd.DataFrame
    listed: frozenset[str] | None = None
    """The sources whose months the Forecast detail tab and the log list (None: all of
    them); beyond Settings' ``ForecastFullChoiceSources``, those that got the full choice."""


RECENT_MONTHS = 12


QUICK_NOTE = "one of the"


"""How the note of a series forecast by the quick path starts."""


def by_quick_path(series: pd.DataFrame) -> pd.Series:
    """Which rows of :attr:`PortfolioForecast.series` the quick path forecast."""
    names = {m.name for m, _ in QUICK_METHODS}
    return series["method"].isin(names) & series["note"].str.startswith(QUICK_NOTE)


def portfolio_forecast(
    inventory: Inventory, settings: Settings, as_of: pd.Timestamp | None = None
) -> PortfolioForecast:
    """Forecast every active source's leads and conversion, and their sum, from History.

    ``as_of`` (the first forecast month) defaults to the month after History's last; with an
    earlier ``as_of`` only History before it is used (a backfilled forecast). The largest
    sources by leads over the last :data:`RECENT_MONTHS` months, as many as Settings'
    ``ForecastFullChoiceSources`` (40 by default), get the full choice of methods
    (statsmodels fits on a backtest, about a quarter of a second a source), the rest the
    quick one (:func:`quick_choice`, all series at once); each series' note says which. A
    process keeps the last :data:`PORTFOLIO_CACHE_SIZE` forecasts and gives a copy of one
    again when nothing it depends on has changed (:func:`_fingerprint`).
    """
    hist = inventory.history
    if hist.empty:
        raise InputError([Problem("History", "History is empty: there is nothing to forecast")])
    as_of = (
        pd.Timestamp(as_of) if as_of is not None else hist["month"].max() + pd.DateOffset(months=1)
    )
    hist = hist[hist["month"] < as_of].sort_values(["source", "month"], kind="stable")
    key = _fingerprint(hist, inventory, settings, as_of)
    with _PORTFOLIOS_LOCK:
        cached = _PORTFOLIOS.get(key)
        if cached is not None:
            _PORTFOLIOS.move_to_end(key)
    if cached is None:
        cached = _forecast_portfolio(inventory, settings, hist, as_of)
        with _PORTFOLIOS_LOCK:
            _PORTFOLIOS[key] = cached
            while len(_PORTFOLIOS) > PORTFOLIO_CACHE_SIZE:
                _PORTFOLIOS.popitem(last=False)
    return _copied(cached)


PORTFOLIO_CACHE_SIZE = 8


"""Portfolio forecasts a process keeps (the server forecasts the same book for button after
button); each is found again by :func:`_fingerprint` and handed out as a copy."""


_PORTFOLIOS: OrderedDict[str, PortfolioForecast] = OrderedDict()


_PORTFOLIOS_LOCK = threading.Lock()


def _fingerprint(
    hist: pd.DataFrame, inventory: Inventory, settings: Settings, as_of: pd.Timestamp
) -> str:
    """What a portfolio forecast depends on: History's months, sources and figures before
    ``as_of``, the sources and their statuses in order, and the forecast settings."""
    digest = hashlib.sha256()
    used = hist[["month", "source", "leads", "customers"]]
    digest.update(pd.util.hash_pandas_object(used, index=False).to_numpy().tobytes())
    status = inventory.sources["status"].reindex(inventory.names)
    digest.update(
        repr(
            (
                list(inventory.names),
                [str(s) for s in status],
                settings.forecast,
                as_of,
            )
        ).encode()
    )
    return digest.hexdigest()


def _copied(pf: PortfolioForecast) -> PortfolioForecast:
    """A copy a caller may change without changing the cached forecast."""
    return dataclasses.replace(
        pf,
        series=pf.series.copy(),
        sources=pf.sources.copy(),
        portfolio=pf.portfolio.copy(),
        actuals=pf.actuals.copy(),
    )


def _forecast_portfolio(
    inventory: Inventory, settings: Settings, hist: pd.DataFrame, as_of: pd.Timestamp
) -> PortfolioForecast:
    """:func:`portfolio_forecast` of History's ``hist`` rows (before ``as_of``, sorted by
    source and month), not cached."""
    f = settings.forecast
    months = SourceMonths.of(hist)
    results: dict[str, list[dict]] = {}
    ready = []
    status = dict(zip(inventory.sources.index, inventory.sources["status"], strict=True))
    for name in inventory.names:
        reason = months.skip_reason(name, status[name], as_of)
        if reason:
            results[name] = _skipped(name, months.count(name), reason)
        else:
            ready.append(name)
    full, quick, share = _split_by_volume(ready, hist, as_of, settings.forecast.full_choice_sources)
    frames = []
    for name in full:
        rows, frame = _source_forecast(
            name, hist.iloc[months.positions[name]].set_index("month"), f.horizon, f.interval
        )
        results[name] = rows
        if frame is not None:
            frames.append(frame)
    if quick:
        note = (
            f"{QUICK_NOTE} {len(quick):,} smaller sources (each at most {_percent_above(share)} "
            f"of the last {RECENT_MONTHS} months' leads): best quick method by backtest; "
            f"summed in the portfolio, months not listed; the {len(full)} largest get the full "
            "choice (ForecastFullChoiceSources on Settings)"
        )
        rows_of, frame = _quick_sources(quick, months, as_of, f.horizon, f.interval, note)
        results.update(rows_of)
        frames.append(frame)
    series = [row for name in inventory.names for row in results[name]]
    sources = _in_order(frames, inventory.names)
    portfolio = _portfolio(sources, as_of, f.horizon, f.interval)
    totals = hist.groupby("month")[["leads", "customers"]].sum()
    actuals = pd.DataFrame(
        {
            "month": totals.index,
            "leads": totals["leads"].to_numpy(),
            "conversion": (
                totals["customers"] / totals["leads"].where(totals["leads"] > 0)
            ).to_numpy(),
        }
    )
    included = set(sources["source"])
    left_out = [n for n in inventory.names if n not in included]
    note = f"sum of {len(included)} source forecasts" + (
        f"; not included: {_first_names(left_out)}" if left_out else ""
    )
    series.append(
        {
            "source": PORTFOLIO,
            "measure": LEADS,
            "months": len(actuals),
            "method": "sum of sources",
            "mase": math.nan,
            "floor_mase": math.nan,
            "note": note,
        }
    )
    return PortfolioForecast(
        as_of,
        f.interval,
        pd.DataFrame(series),
        sources,
        portfolio,
        actuals,
        frozenset(full) if quick else None,
    )


LISTED_NAMES = 10


"""Sources a note names before it counts the rest (a cell holds at most 32,767 characters)."""


def _first_names(names: list[str]) -> str:
    """The first :data:`LISTED_NAMES` names, and how many more.

    Examples
    --------
    >>> _first_names(["A", "B"]), _first_names([f"S{i}" for i in range(12)])
    ('A, B', 'S0, S1, S2, S3, S4, S5, S6, S7, S8, S9 and 2 more (their rows say why)')
    """
    shown = ", ".join(names[:LISTED_NAMES])
    more = len(names) - LISTED_NAMES
    return f"{shown} and {more:,} more (their rows say why)" if more > 0 else shown


SOURCE_COLUMNS = [
    "month",
    "source",
    "leads",
    "leads_lower",
    "leads_upper",
    "leads_sd",
    "conversion",
    "conversion_lower",
    "conversion_upper",
    "conversion_sd",
]


@dataclass(frozen=True)
class SourceMonths:
    """History's rows of each source (positions into History sorted by source and month),
    found once: a filter per source cost sources × rows."""

    positions: dict[str, np.ndarray]
    month: np.ndarray
    leads: np.ndarray
    customers: np.ndarray

    @classmethod
    def of(cls, hist: pd.DataFrame) -> SourceMonths:
        positions = hist.groupby("source", sort=False).indices if len(hist) else {}
        return cls(
            positions,
            hist["month"].to_numpy(dtype="datetime64[M]"),
            hist["leads"].to_numpy(dtype=float),
            hist["customers"].to_numpy(dtype=float),
        )

    def count(self, name: str) -> int:
        at = self.positions.get(name)
        return 0 if at is None else len(at)

    def skip_reason(self, name: str, status: Status, as_of: pd.Timestamp) -> str:
        """Why the source cannot be forecast ("" when it can)."""
        at = self.positions.get(name)
        if at is None:
            return "no months in History"
        if status == Status.PAUSED:
            return "paused: counts as no leads"
        last = pd.Timestamp(self.month[at[-1]])
        if last < as_of - pd.DateOffset(months=1):
            return f"History stops at {last:%b %Y}; add the months since (0 leads if none)"
        return ""


def _skipped(name: str, months: int, reason: str) -> list[dict]:
    return [
        {
            "source": name,
            "measure": m,
            "months": months,
            "method": "not forecast",
            "mase": math.nan,
            "floor_mase": math.nan,
            "note": reason,
        }
        for m in (LEADS, CONVERSION)
    ]


def _split_by_volume(
    names: list[str], hist: pd.DataFrame, as_of: pd.Timestamp, limit: int
) -> tuple[list[str], list[str], float]:
    """The ``limit`` sources that get the full choice (the largest by recent leads; ties by
    name), the rest, each in the order given, and the largest share of recent leads among
    the rest."""
    if len(names) <= limit:
        return names, [], 0.0
    recent = hist[hist["month"] >= as_of - pd.DateOffset(months=RECENT_MONTHS)]
    leads = recent.groupby("source")["leads"].sum().reindex(names).fillna(0.0)
    ranked = sorted(names, key=lambda n: (-leads[n], n))
    full = set(ranked[:limit])
    total = float(leads.sum())
    share = float(leads[ranked[limit]]) / total if total > 0 else 0.0
    return [n for n in names if n in full], [n for n in names if n not in full], share


def _percent_above(share: float) -> str:
    """A round percentage at or above ``share`` (at least 0.01 %).

    Examples
    --------
    >>> _percent_above(0.000314), _percent_above(0.0), _percent_above(0.05)
    ('0.04 %', '0.01 %', '5 %')
    """
    return f"{max(math.ceil(share * 10_000 - 1e-9), 1) / 100:g} %"


def _in_order(frames: list[pd.DataFrame], names: list[str]) -> pd.DataFrame:
    """The source forecasts in the inventory's order (each source's months in order)."""
    if not frames:
        return pd.DataFrame(columns=SOURCE_COLUMNS)
    sources = pd.concat(frames, ignore_index=True)
    rank = sources["source"].map({n: i for i, n in enumerate(names)}).to_numpy()
    return sources.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)


def _source_forecast(
    name: str, rows: pd.DataFrame, horizon: int, level: float
) -> tuple[list[dict], pd.DataFrame | None]:
    """The full choice of methods for one source's History ``rows`` (indexed by month)."""
    conversion = rows["customers"] / rows["leads"].where(rows["leads"] > 0)
    out, details = [], {}
    for measure, values, upper, gaps in (
        (LEADS, rows["leads"], None, "error"),
        (CONVERSION, conversion, 1.0, "interpolate"),
    ):
        try:
            detail = forecast_detail(
                values, horizon, level=level, gaps=gaps, lower_bound=0.0, upper_bound=upper
            )
        except ForecastInputError as exc:
            return _skipped(name, len(rows), str(exc)), None
        details[measure] = detail
        out.append(
            {
                "source": name,
                "measure": measure,
                "months": len(rows),
                "method": detail.method,
                "mase": detail.mase,
                "floor_mase": detail.floor_mase,
                "note": detail.note,
            }
        )
    lead, conv = details[LEADS], details[CONVERSION]
    frame = pd.DataFrame(
        {
            "month": lead.frame["month"],
            "source": name,
            "leads": lead.frame["point"],
            "leads_lower": lead.frame["lower"],
            "leads_upper": lead.frame["upper"],
            "leads_sd": lead.sd,
            "conversion": conv.frame["point"],
            "conversion_lower": conv.frame["lower"],
            "conversion_upper": conv.frame["upper"],
            "conversion_sd": conv.sd,
        },
        columns=SOURCE_COLUMNS,
    )
    return out, frame


def _quick_sources(
    names: list[str],
    months: SourceMonths,
    as_of: pd.Timestamp,
    horizon: int,
    level: float,
    note: str,
) -> tuple[dict[str, list[dict]], pd.DataFrame]:
    """The quick path for the smaller sources: their series prepared as the full path
    prepares them, then forecast together, length by length (:func:`quick_choice`)."""
    ys, reasons = {}, {}
    for name in names:
        try:
            ys[name] = _source_series(months, name, horizon)
        except ForecastInputError as exc:
            reasons[name] = str(exc)
    done = list(ys)
    series = [ys[name][k] for name in done for k in (0, 1)]
    bands, method, mase_, floor, notes = _quick_series(series, horizon, level)
    uppers = np.tile([np.inf, 1.0], len(done))[:, None]
    point, lower, upper = (np.clip(b, 0.0, uppers) for b in bands)
    sd = (upper - lower) / (2 * z_value(level))
    rows: dict[str, list[dict]] = {
        name: _skipped(name, months.count(name), r) for name, r in reasons.items()
    }
    for i, name in enumerate(done):
        rows[name] = [
            {
                "source": name,
                "measure": measure,
                "months": months.count(name),
                "method": method[2 * i + k],
                "mase": mase_[2 * i + k],
                "floor_mase": floor[2 * i + k],
                "note": notes[2 * i + k] or note,
            }
            for k, measure in enumerate((LEADS, CONVERSION))
        ]
    dates = pd.date_range(as_of, periods=horizon, freq="MS")
    frame = pd.DataFrame(
        {
            "month": np.tile(dates, len(done)),
            "source": np.repeat(np.array(done, dtype=object), horizon),
            "leads": point[0::2].ravel(),
            "leads_lower": lower[0::2].ravel(),
            "leads_upper": upper[0::2].ravel(),
            "leads_sd": sd[0::2].ravel(),
            "conversion": point[1::2].ravel(),
            "conversion_lower": lower[1::2].ravel(),
            "conversion_upper": upper[1::2].ravel(),
            "conversion_sd": sd[1::2].ravel(),
        },
        columns=SOURCE_COLUMNS,
    )
    return rows, frame


def _source_series(months: SourceMonths, name: str, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """A source's monthly leads and conversion as :func:`forecast_detail` would take them
    (conversion's gaps filled), or the :class:`ForecastInputError` it would raise."""
    at = months.positions[name]
    month = months.month[at]
    span = int((month[-1] - month[0]).astype(int)) + 1
    slot = (month - month[0]).astype(int)
    leads = np.full(span, np.nan)
    customers = np.full(span, np.nan)
    leads[slot], customers[slot] = months.leads[at], months.customers[at]
    with np.errstate(all="ignore"):
        conversion = np.where(leads > 0, customers / leads, np.nan)

    def as_given(values: np.ndarray) -> pd.Series:  # rare: only an error's message needs it
        return pd.Series(
            values, index=pd.date_range(pd.Timestamp(month[0]), periods=span, freq="MS")
        )

    if span < MIN_POINTS or not np.isfinite(leads).all():
        prepare_series(as_given(leads), horizon, None, "error")  # raises
    missing = np.isnan(conversion)
    if np.isinf(conversion).any() or span - missing.sum() < MIN_POINTS:
        return leads, prepare_series(as_given(conversion), horizon, None, "interpolate")[0]
    if missing.any():
        known = np.flatnonzero(~missing)
        conversion = np.interp(np.arange(span), known, conversion[known])
    return leads, conversion


def _quick_series(
    series: list[np.ndarray], horizon: int, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Bands (3 × series × horizon), methods, MASE, the floor's MASE and notes ("" for the
    quick choice) of each series: constant and short ones as :func:`choose` forecasts them,
    the others by :func:`quick_choice`, series of one length together."""
    bands = np.empty((3, len(series), horizon))
    method = np.empty(len(series), dtype=object)
    mase_, floor = np.full(len(series), math.nan), np.full(len(series), math.nan)
    notes = [""] * len(series)
    by_length: dict[int, list[int]] = {}
    for i, y in enumerate(series):
        if len(y) < MIN_BACKTEST or np.ptp(y) == 0:
            *out, method[i], mase_[i], floor[i], notes[i] = choose(
                tuple(y.tolist()), horizon, level
            )
            bands[:, i] = out
        else:
            by_length.setdefault(len(y), []).append(i)
    for at in by_length.values():
        choice = quick_choice(np.array([series[i] for i in at]), horizon, level)
        bands[:, at] = (choice.point, choice.lower, choice.upper)
        method[at], mase_[at], floor[at] = choice.method, choice.mase, choice.floor_mase
    return bands, method, mase_, floor, notes


def _portfolio(
    sources: pd.DataFrame, as_of: pd.Timestamp, horizon: int, level: float
) -> pd.DataFrame:
    """Bottom-up: leads add up, variances add up (sources' errors taken as independent)."""
    months = pd.date_range(as_of, periods=horizon, freq="MS")
    if sources.empty:
        zeros = np.zeros(horizon)
        return pd.DataFrame(
            {
                "month": months,
                "leads": zeros,
                "lower": zeros,
                "upper": zeros,
                "sd": zeros,
                "conversion": np.nan,
                "conversion_lower": np.nan,
                "conversion_upper": np.nan,
            }
        )
    g = sources.assign(
        var=sources["leads_sd"] ** 2,
        customers=sources["leads"] * sources["conversion"],
        conv_var=(sources["leads"] * sources["conversion_sd"]) ** 2,
    ).groupby("month")
    leads = g["leads"].sum()
    sd = np.sqrt(g["var"].sum())
    conversion = g["customers"].sum() / leads.where(leads > 0)
    conv_sd = np.sqrt(g["conv_var"].sum()) / leads.where(leads > 0)
    z = z_value(level)
    return pd.DataFrame(
        {
            "month": leads.index,
            "leads": leads.to_numpy(),
            "lower": (leads - z * sd).clip(lower=0).to_numpy(),
            "upper": (leads + z * sd).to_numpy(),
            "sd": sd.to_numpy(),
            "conversion": conversion.to_numpy(),
            "conversion_lower": (conversion - z * conv_sd).clip(lower=0).to_numpy(),
            "conversion_upper": (conversion + z * conv_sd).clip(upper=1).to_numpy(),
        }
    ).reset_index(drop=True)


def scenario_paths(pf: PortfolioForecast, settings: Settings) -> pd.DataFrame:
    """Monthly portfolio leads of each scenario (columns named after the scenarios)."""
    out = pd.DataFrame({"month": pf.portfolio["month"]})
    for s in scenarios(settings):
        out[s.name] = scenario_leads(pf.portfolio["leads"], s.growth)
    return out


def scenario_table(pf: PortfolioForecast, settings: Settings, month: int = 12) -> pd.DataFrame:
    """Per scenario: its month-``month`` leads, the baseline's, and the probability the
    baseline reaches the scenario (the chance the plan is met without growth actions)."""
    base = pf.portfolio.iloc[month - 1]
    rows = []
    for s in scenarios(settings):
        target = float(scenario_leads(pf.portfolio["leads"].iloc[:month], s.growth)[-1])
        rows.append(
            {
                "scenario": s.name,
                "growth": s.growth,
                "confidence": s.confidence,
                "month": base["month"],
                "leads": target,
                "baseline": float(base["leads"]),
                "sd": float(base["sd"]),
                "gap": target - float(base["leads"]),
                "probability": probability_at_least(
                    float(base["leads"]), float(base["sd"]), target
                ),
            }
        )
    return pd.DataFrame(rows)
