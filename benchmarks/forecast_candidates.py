"""Candidate forecasting methods for leadbook, prototyped outside the package (issue 18).

Every candidate is built from a few *components*, each a plain statsmodels/numpy model that
leadbook can already import (no new runtime dependency):

==============  ==================================================================
``snaive``      seasonal naive (same month last year), needs 12 points
``naive``       last value
``ets_AAdA``    ETS(A,Ad,A): additive errors, damped additive trend, additive season
``ets_AAdN``    ETS(A,Ad,N): the same without a season
``ets_ANA``     ETS(A,N,A): level and season, no trend
``theta``       statsmodels ``ThetaModel`` (SES with drift, the M3 winner), deseasonalised
                by a classical decomposition when the history has two years and its
                seasonality test passes
``arima``       the airline model, SARIMA(0,1,1)(0,1,1)₁₂ (ARIMA(0,1,1) below 24 months)
==============  ==================================================================

**Scale-equivariance.** Each component sees ``y / s`` with ``s = mean(|y|)`` (1 if that is
0) and its forecast and bounds are multiplied back by ``s``: forecasting ``1e4 · y`` gives
``1e4 ·`` the forecast up to rounding, whatever the optimiser's tolerances (statsmodels'
fits are not scale-free on their own: its starting values and convergence tests are not).

**Seasonality.** A seasonal component is used when the training history has at least
``SEASONAL_MIN`` months (24: two full years, which is what the classical decomposition and
an ETS season's initial states need); below that the components are non-seasonal (the
seasonal naive still needs only 12).

A component returns ``(point, lower, upper)`` at level 80 % — ``lower``/``upper`` are NaN
where the component has no cheap interval (Theta's needs an extra ARIMA fit) — and the
time it took. A *candidate* combines components' points (mean or median) and forms its
interval from one component's interval (re-centred on the combined point and widened by a
factor), so its time is the sum of its components' times.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

SEASON = 12
SEASONAL_MIN = 24
LEVEL = 0.8
Z = NormalDist().inv_cdf(0.5 + LEVEL / 2)

Bands = tuple[np.ndarray, np.ndarray, np.ndarray]


def _scale(y: np.ndarray) -> float:
    s = float(np.mean(np.abs(y)))
    return s if s > 0 and np.isfinite(s) else 1.0


def _nan(h: int) -> np.ndarray:
    return np.full(h, np.nan)


def _snaive(y: np.ndarray, h: int) -> Bands:
    point = y[len(y) - SEASON + np.arange(h) % SEASON]
    diffs = y[SEASON:] - y[:-SEASON]
    sigma = np.std(diffs, ddof=1) if len(diffs) > 1 else np.std(np.diff(y), ddof=1)
    spread = Z * sigma * np.sqrt(np.arange(h) // SEASON + 1)
    return point, point - spread, point + spread


def _naive(y: np.ndarray, h: int) -> Bands:
    point = np.full(h, y[-1])
    sigma = np.std(np.diff(y), ddof=1)
    spread = Z * sigma * np.sqrt(np.arange(1, h + 1))
    return point, point - spread, point + spread


def _ets(trend: bool, damped: bool, seasonal: bool) -> Callable[[np.ndarray, int], Bands]:
    def run(y: np.ndarray, h: int) -> Bands:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        fit = ETSModel(
            pd.Series(y),
            error="add",
            trend="add" if trend else None,
            damped_trend=damped,
            seasonal="add" if seasonal else None,
            seasonal_periods=SEASON if seasonal else None,
        ).fit(disp=False)
        frame = fit.get_prediction(start=len(y), end=len(y) + h - 1).summary_frame(alpha=1 - LEVEL)
        return tuple(frame[c].to_numpy(float) for c in ("mean", "pi_lower", "pi_upper"))

    return run


def _theta(y: np.ndarray, h: int) -> Bands:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    seasonal = len(y) >= SEASONAL_MIN
    method = "auto" if (y > 0).all() else "additive"
    fit = ThetaModel(y, period=SEASON, deseasonalize=seasonal, method=method).fit()
    point = np.asarray(fit.forecast(h), dtype=float)
    return point, _nan(h), _nan(h)


def _arima(y: np.ndarray, h: int) -> Bands:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    seasonal = (0, 1, 1, SEASON) if len(y) >= SEASONAL_MIN else (0, 0, 0, 0)
    fit = SARIMAX(y, order=(0, 1, 1), seasonal_order=seasonal).fit(disp=False)
    frame = fit.get_forecast(h).summary_frame(alpha=1 - LEVEL)
    return tuple(frame[c].to_numpy(float) for c in ("mean", "mean_ci_lower", "mean_ci_upper"))


def _seasonal_only(
    seasonal: Callable[[np.ndarray, int], Bands], fallback: Callable[[np.ndarray, int], Bands]
) -> Callable[[np.ndarray, int], Bands]:
    """``seasonal`` with two years of history, else ``fallback``."""

    def run(y: np.ndarray, h: int) -> Bands:
        return (seasonal if len(y) >= SEASONAL_MIN else fallback)(y, h)

    return run


COMPONENTS: dict[str, Callable[[np.ndarray, int], Bands]] = {
    "snaive": _snaive,
    "naive": _naive,
    "ets_AAdA": _seasonal_only(_ets(True, True, True), _ets(True, True, False)),
    "ets_AAdN": _ets(True, True, False),
    "ets_ANA": _seasonal_only(_ets(False, False, True), _ets(False, False, False)),
    "theta": _theta,
    "arima": _arima,
}


def run_component(name: str, y: np.ndarray, h: int) -> tuple[Bands | None, float]:
    """One component on ``y`` (scaled by ``mean |y|`` and back): its bands and seconds."""
    start = time.perf_counter()
    s = _scale(y)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            # rounded: y·c / (s·c) differs from y / s in the last bit, which the optimisers
            # amplify to 1e-6; at 12 decimals the scaled series are identical
            bands = COMPONENTS[name](np.round(y / s, 12), h)
        bands = tuple(np.asarray(b, float) * s for b in bands)
        if not np.isfinite(bands[0]).all():
            bands = None
    except Exception:
        bands = None
    return bands, time.perf_counter() - start


def all_components(y: np.ndarray, h: int) -> dict[str, tuple[Bands | None, float]]:
    return {name: run_component(name, y, h) for name in COMPONENTS}


# --- candidates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """Points combined from ``members`` by ``how`` (mean or median); the interval is
    ``interval``'s, re-centred on the combined point, its half-widths times ``widen``.
    ``short_members`` replace ``members`` below ``SEASONAL_MIN`` months when given."""

    name: str
    members: tuple[str, ...]
    how: str = "mean"
    interval: str = "ets_AAdA"
    widen: float = 1.0
    short_members: tuple[str, ...] | None = None

    def used(self, n: int) -> tuple[str, ...]:
        members = self.members
        if n < SEASONAL_MIN and self.short_members is not None:
            members = self.short_members
        return tuple(dict.fromkeys((*members, self.interval)))

    def combine(
        self, n: int, parts: dict[str, tuple[Bands | None, float]]
    ) -> tuple[Bands | None, float]:
        members = self.short_members if n < SEASONAL_MIN and self.short_members else self.members
        points = [parts[m][0][0] for m in members if parts[m][0] is not None]
        seconds = sum(parts[m][1] for m in self.used(n))
        if not points:
            return None, seconds
        stack = np.vstack(points)
        point = np.median(stack, axis=0) if self.how == "median" else stack.mean(axis=0)
        ref = parts[self.interval][0]
        if ref is None:
            ref = parts["snaive"][0] if parts["snaive"][0] is not None else parts["naive"][0]
        below = (ref[0] - ref[1]) * self.widen
        above = (ref[2] - ref[0]) * self.widen
        return (point, point - below, point + above), seconds


def candidates(widen: float = 1.0) -> list[Candidate]:
    w = widen
    return [
        Candidate("ETS(A,Ad,A) alone", ("ets_AAdA",), widen=w),
        Candidate("Theta alone", ("theta",), widen=w),
        Candidate("ARIMA airline alone", ("arima",), interval="arima", widen=w),
        Candidate("mean ETS+Theta", ("ets_AAdA", "theta"), widen=w),
        Candidate("median ETS+Theta+snaive", ("ets_AAdA", "theta", "snaive"), "median", widen=w),
        Candidate("mean ETS+Theta+snaive", ("ets_AAdA", "theta", "snaive"), widen=w),
        Candidate("mean ETS+Theta+ARIMA", ("ets_AAdA", "theta", "arima"), widen=w),
        Candidate("median ETS+Theta+ARIMA", ("ets_AAdA", "theta", "arima"), "median", widen=w),
        Candidate("mean ETS(AAdA)+ETS(ANA)+Theta", ("ets_AAdA", "ets_ANA", "theta"), widen=w),
        Candidate(
            "mean ETS+Theta (+snaive <24)",
            ("ets_AAdA", "theta"),
            widen=w,
            short_members=("ets_AAdN", "theta", "snaive"),
        ),
    ]
