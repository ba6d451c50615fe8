"""The forecasting methods leadbook chooses between — naive, seasonal naive, exponential
smoothing (ETS), Theta — each with its prediction interval; the quick methods that forecast
many series at once; and the accuracy measures (MASE, sMAPE, MAPE).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import pandas as pd

from leadbook.errors import LeadbookError

log = logging.getLogger(__name__)


SEASON = 12


MIN_POINTS = 3


MIN_BACKTEST = 6


ORIGINS = 3


FORECAST_COLUMNS = ["month", "point", "lower", "upper"]


class ForecastInputError(LeadbookError, ValueError):
    """A series cannot be forecast as given; the message says why and what to do."""


# --- Methods ----------------------------------------------------------------------------------

Bands = tuple[np.ndarray, np.ndarray, np.ndarray]


Forecaster = Callable[[np.ndarray, int, float | None], Bands]


"""(values, horizon, interval level) → (point, lower, upper); with level None the bounds may
be skipped (the backtest needs points only) and come back equal to the point."""


Backtester = Callable[[np.ndarray, Sequence[int], int], list]


"""(values, training lengths, horizon) → each training window's points (None where the
method failed)."""


@dataclass(frozen=True)
class Method:
    """A forecasting method: its name, the fewest points it needs, and its forecaster.

    ``backtest_run``, when given, gives every backtest window's points more cheaply than a
    ``run`` per window (see :class:`_ETS`); without it the backtest calls ``run``.
    """

    name: str
    min_points: int
    run: Forecaster = field(repr=False)
    positive_only: bool = False
    backtest_run: Backtester | None = field(default=None, repr=False)


def z_value(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def _naive(y: np.ndarray, h: int, level: float | None) -> Bands:
    point = np.full(h, y[-1])
    if level is None:
        return point, point, point
    sigma = np.std(np.diff(y), ddof=1) if len(y) > 2 else 0.0
    spread = z_value(level) * sigma * np.sqrt(np.arange(1, h + 1))
    return point, point - spread, point + spread


def _seasonal_naive(y: np.ndarray, h: int, level: float | None) -> Bands:
    m = SEASON
    point = y[len(y) - m + np.arange(h) % m]
    if level is None:
        return point, point, point
    diffs = y[m:] - y[:-m]
    sigma = np.std(diffs, ddof=1) if len(diffs) > 1 else np.std(np.diff(y), ddof=1)
    spread = z_value(level) * sigma * np.sqrt(np.arange(h) // m + 1)
    return point, point - spread, point + spread


@dataclass(frozen=True)
class _ETS:
    """A statsmodels ETS model with additive errors: its forecaster and its backtester."""

    trend: str | None
    damped: bool
    seasonal: str | None
    log_scale: bool = False

    def model(self, y: np.ndarray):
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        return ETSModel(
            pd.Series(np.log(y) if self.log_scale else y),
            error="add",
            trend=self.trend,
            damped_trend=self.damped,
            seasonal=self.seasonal,
            seasonal_periods=SEASON if self.seasonal else None,
        )

    def run(self, y: np.ndarray, h: int, level: float | None) -> Bands:
        fit = self.model(y).fit(disp=False)
        if level is None:
            point = np.asarray(fit.forecast(h), dtype=float)
            out: tuple = (point, point, point)
        else:
            frame = fit.get_prediction(start=len(y), end=len(y) + h - 1).summary_frame(
                alpha=1 - level
            )
            out = tuple(frame[c].to_numpy(dtype=float) for c in ("mean", "pi_lower", "pi_upper"))
        return self._scaled(out)  # type: ignore[return-value]

    def backtest_run(self, y: np.ndarray, origins: Sequence[int], h: int) -> list:
        """Each window fitted anew, as :meth:`run` would, but its points taken from the
        smoothed states instead of statsmodels' results object, whose covariance matrix
        (a numerical Hessian, unused here) cost a fifth of every fit and nearly all of a
        smoothing. Same parameters, points equal to 1e-14.

        (Fitting once, on the shortest window, and smoothing the others with those
        parameters took half the time again, but chose worse on bench_forecast: median
        MASE 0.890 against 0.829.)"""
        points = []
        for o in origins:
            model = self.model(y[:o])
            params = np.asarray(model.fit(disp=False, return_params=True))
            states = np.asarray(model.smooth(params, return_raw=True)[1])
            points.append(self._scaled((self._points(model, params, states, o, h),))[0])
        return points

    def _points(self, model, params: np.ndarray, states: np.ndarray, o: int, h: int) -> np.ndarray:
        """The forecast of months ``o + 1 … o + h`` from the states after month ``o``."""
        steps = np.arange(1, h + 1)
        point = np.full(h, states[o - 1, 0])
        if self.trend:
            phi = params[model.param_names.index("damping_trend")] if self.damped else 1.0
            point += np.cumsum(phi**steps) * states[o - 1, 1]
        if self.seasonal:
            point += states[o - 1 - SEASON + (steps - 1) % SEASON + 1, -1]
        return point

    def _scaled(self, arrays: tuple) -> tuple:
        return tuple(np.exp(a) for a in arrays) if self.log_scale else arrays


def _ets_method(name: str, min_points: int, spec: _ETS, positive_only: bool = False) -> Method:
    return Method(name, min_points, spec.run, positive_only, spec.backtest_run)


def _theta(y: np.ndarray, h: int, level: float | None) -> Bands:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    seasonal = len(y) >= 2 * SEASON
    method = "auto" if (y > 0).all() else "additive"
    fit = ThetaModel(y, period=SEASON, deseasonalize=seasonal, method=method).fit()
    point = np.asarray(fit.forecast(h), dtype=float)
    if level is None:  # its interval fits an ARIMA(0,1,1) for the variance: slow
        return point, point, point
    bounds = fit.prediction_intervals(h, alpha=1 - level)
    return point, bounds["lower"].to_numpy(dtype=float), bounds["upper"].to_numpy(dtype=float)


NAIVE = Method("naive (last value)", 2, _naive)


SEASONAL_NAIVE = Method("seasonal naive (same month last year)", SEASON, _seasonal_naive)


METHODS: tuple[Method, ...] = (
    SEASONAL_NAIVE,
    NAIVE,
    _ets_method("exponential smoothing (simple)", 4, _ETS(None, False, None)),
    _ets_method("exponential smoothing (damped trend)", 8, _ETS("add", True, None)),
    Method("Theta", 4, _theta),
    _ets_method("exponential smoothing (additive seasonal)", 2 * SEASON, _ETS(None, False, "add")),
    _ets_method(
        "exponential smoothing (damped trend, additive seasonal)",
        2 * SEASON,
        _ETS("add", True, "add"),
    ),
    _ets_method(
        "exponential smoothing (damped trend, multiplicative seasonal, on logs)",
        2 * SEASON,
        _ETS("add", True, "add", log_scale=True),
        positive_only=True,
    ),
)


"""The candidates, simplest first: a tie in the backtest goes to the earlier one."""


# --- Quick methods, many series at once -------------------------------------------------------

SES_ALPHAS = np.round(np.arange(0.1, 1.0, 0.1), 1)


"""Smoothing constants the quick simple exponential smoothing picks from (in-sample fit)."""


ManyBands = tuple[np.ndarray, np.ndarray, np.ndarray]


"""(point, lower, upper), each series × horizon."""


def _naive_many(y: np.ndarray, h: int, level: float | None) -> ManyBands:
    """:func:`_naive` of every row of ``y`` (series × months) at once."""
    point = np.repeat(y[:, -1:], h, axis=1)
    if level is None:
        return point, point, point
    sigma = np.std(np.diff(y, axis=1), axis=1, ddof=1) if y.shape[1] > 2 else np.zeros(len(y))
    spread = z_value(level) * sigma[:, None] * np.sqrt(np.arange(1, h + 1))
    return point, point - spread, point + spread


def _seasonal_naive_many(y: np.ndarray, h: int, level: float | None) -> ManyBands:
    """:func:`_seasonal_naive` of every row of ``y`` at once."""
    m = SEASON
    point = y[:, y.shape[1] - m + np.arange(h) % m]
    if level is None:
        return point, point, point
    diffs = y[:, m:] - y[:, :-m]
    if diffs.shape[1] <= 1:
        diffs = np.diff(y, axis=1)
    sigma = np.std(diffs, axis=1, ddof=1)
    spread = z_value(level) * sigma[:, None] * np.sqrt(np.arange(h) // m + 1)
    return point, point - spread, point + spread


def _ses_many(y: np.ndarray, h: int, level: float | None) -> ManyBands:
    """Simple exponential smoothing of every row of ``y``: the level starts at the first
    value, α is the grid's value with the least in-sample one-step squared error, and the
    interval is the model's (ETS(A,N,N): variance σ²(1 + (h − 1)α²))."""
    levels = np.repeat(y[:, :1], len(SES_ALPHAS), axis=1)
    sse = np.zeros_like(levels)
    for t in range(1, y.shape[1]):
        error = y[:, t : t + 1] - levels
        sse += error**2
        levels += SES_ALPHAS * error
    best = np.argmin(sse, axis=1)
    rows = np.arange(len(y))
    point = np.repeat(levels[rows, best][:, None], h, axis=1)
    if level is None:
        return point, point, point
    sigma = np.sqrt(sse[rows, best] / max(y.shape[1] - 1, 1))
    alpha = SES_ALPHAS[best][:, None]
    spread = z_value(level) * sigma[:, None] * np.sqrt(1 + np.arange(h) * alpha**2)
    return point, point - spread, point + spread


def _ses_grid(y: np.ndarray, h: int, level: float | None) -> Bands:
    point, lower, upper = _ses_many(y[None, :], h, level)
    return point[0], lower[0], upper[0]


SES_GRID = Method("exponential smoothing (simple, α on a 0.1 grid)", 4, _ses_grid)


QUICK_METHODS: tuple[tuple[Method, Callable[..., ManyBands]], ...] = (
    (SEASONAL_NAIVE, _seasonal_naive_many),
    (NAIVE, _naive_many),
    (SES_GRID, _ses_many),
)


"""The quick path's candidates, simplest first, each with its many-series forecaster; the
scalar ``Method`` of each gives the same numbers one series at a time (``backtest(y,
[m for m, _ in QUICK_METHODS])`` is the quick choice's backtest)."""


def run_method(method: Method, y: np.ndarray, h: int, level: float | None) -> Bands | None:
    """The method's forecast, or None when it fails or gives non-finite numbers."""
    out = _guarded(lambda: method.run(y, h, level), f"{method.name} on {len(y)} points")
    return out if out is not None and all(np.isfinite(a).all() for a in out) else None


def backtest_points(method: Method, y: np.ndarray, origins: Sequence[int], h: int) -> list:
    """The method's points for each training window ``y[:o]`` (None where it failed)."""
    if method.backtest_run is None:
        return [
            None if (out := run_method(method, y[:o], h, None)) is None else out[0] for o in origins
        ]
    points = _guarded(lambda: method.backtest_run(y, origins, h), f"{method.name}'s backtest")
    if points is None:
        return [None] * len(origins)
    return [p if p is not None and np.isfinite(p).all() else None for p in points]


def _guarded(compute: Callable[[], object], what: str):
    """What ``compute`` returns, or None when it raises (warnings silenced); ``what`` names
    the computation in the debug log."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return compute()
    except Exception as exc:  # a statsmodels fit can fail in many ways on awkward data
        log.debug("%s failed: %s", what, exc)
        return None


# --- Accuracy measures ------------------------------------------------------------------------


def mase(actual: Sequence[float], forecast: Sequence[float], insample: Sequence[float]) -> float:
    """Mean absolute scaled error: forecast MAE ÷ in-sample MAE of the seasonal naive
    (the naive when the history is a year or shorter).

    Examples
    --------
    >>> mase([10, 12], [11, 11], [8, 9, 10, 11])
    1.0
    """
    scale = naive_scale(np.asarray(insample, dtype=float))
    error = np.mean(np.abs(np.asarray(actual, float) - np.asarray(forecast, float)))
    return float(error / scale) if scale > 0 else math.nan


def naive_scale(insample: np.ndarray) -> float:
    """In-sample mean absolute error of the seasonal naive (or naive) one-step forecast."""
    lag = SEASON if len(insample) > SEASON else 1
    return float(np.mean(np.abs(insample[lag:] - insample[:-lag]))) if len(insample) > lag else 0


def smape(actual: Sequence[float], forecast: Sequence[float]) -> float:
    """Symmetric mean absolute percentage error, 0–2 (as in the M4 competition).

    Examples
    --------
    >>> round(smape([100, 100], [110, 90]), 4)
    0.1003
    """
    a, f = np.asarray(actual, float), np.asarray(forecast, float)
    denominator = np.abs(a) + np.abs(f)
    terms = np.where(
        denominator > 0, 2 * np.abs(f - a) / np.where(denominator > 0, denominator, 1), 0
    )
    return float(np.mean(terms))


def mape(actual: Sequence[float], forecast: Sequence[float]) -> float:
    """Mean absolute percentage error over actuals that are not zero.

    Examples
    --------
    >>> mape([100, 200], [110, 180])
    0.1
    """
    a, f = np.asarray(actual, float), np.asarray(forecast, float)
    ok = a != 0
    return float(np.mean(np.abs(f[ok] - a[ok]) / np.abs(a[ok]))) if ok.any() else math.nan
