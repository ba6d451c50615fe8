"""Candidate forecasting methods for leadbook, prototyped outside the package (issue 18).

Every candidate is built from a few *components*, each a plain statsmodels/numpy model that
leadbook can already import (no new runtime dependency):

==============  ==================================================================
``snaive``      seasonal naive (same month last year), needs 12 points
``naive``       last value
``ets_AAdA``    ETS(A,Ad,A): additive errors, damped additive trend, additive season
``ets_AAdN``    ETS(A,Ad,N): the same without a season
``ets_ANA``     ETS(A,N,A): level and season, no trend
``theta``       the Theta method (SES with drift, the M3 winner), deseasonalised by a
                classical decomposition when the history has two years and its
                seasonality test passes: statsmodels' ``ThetaModel`` re-done in numpy
                (same forecasts to 1e-6, 100× faster); ``theta_sm`` is statsmodels'
``arima``       the airline model, SARIMA(0,1,1)(0,1,1)₁₂ (ARIMA(0,1,1) below 24 months),
                fitted on the differenced series
==============  ==================================================================

**Scale-equivariance.** Each component sees ``y / s`` rounded to 10 decimals, with
``s = mean(|y|)`` (1 if that is 0), and its forecast and bounds are multiplied back by
``s``: forecasting ``1e4 · y`` gives ``1e4 ·`` the forecast up to rounding, whatever the
optimiser's tolerances (statsmodels' fits are not scale-free on their own: its starting
values and convergence tests are not).

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


def _theta_np(y: np.ndarray, h: int) -> Bands:
    """The Theta method as statsmodels' ``ThetaModel`` computes it (OLS/SES, θ = 2), in a
    few lines of numpy and one scalar minimisation: its seasonality test (the 90 % test on
    the lag-12 autocorrelation, with two years of history), a classical decomposition
    (multiplicative when the series is positive and its factors are, else additive), the
    OLS slope ``b0``, simple exponential smoothing started at the first value with α
    minimising the one-step squared errors, and ``SES + b0/2 · (h − 1 + 1/α − (1−α)ⁿ/α)``
    re-seasonalised. statsmodels' took as long as an ETS fit on 18 months; this, 1 ms."""
    from scipy.optimize import minimize_scalar
    from scipy.signal import lfilter

    n = len(y)
    season = None
    if n >= SEASONAL_MIN:
        d = y - y.mean()
        denom = np.dot(d, d)
        rho = np.array([np.dot(d[: n - k], d[k:]) / denom for k in range(SEASON + 1)])
        if denom > 0 and n * rho[-1] ** 2 / np.sum(rho[:-1] ** 2) > 2.705543454095404:
            kernel = np.r_[0.5, np.ones(SEASON - 1), 0.5] / SEASON
            trend = np.convolve(y, kernel, mode="valid")  # centred 2×12 moving average
            half = SEASON // 2
            mul = bool((y > 0).all())
            for multiplicative in (True, False) if mul else (False,):
                core = y[half : n - half]
                ratio = core / trend if multiplicative else core - trend
                pos = (np.arange(half, n - half)) % SEASON
                avg = np.array([ratio[pos == k].mean() for k in range(SEASON)])
                avg = avg / avg.mean() if multiplicative else avg - avg.mean()
                if not multiplicative or avg.min() > 0:
                    break
            factors = avg[np.arange(n) % SEASON]
            y = y / factors if multiplicative else y - factors
            ahead = avg[(n + np.arange(h)) % SEASON]
            season = (ahead, multiplicative)
    t = np.arange(n, dtype=float)
    b0 = np.polyfit(t, y, 1)[0] if n > 1 else 0.0

    def levels(alpha: float) -> np.ndarray:
        return lfilter([alpha], [1.0, alpha - 1.0], y, zi=[(1.0 - alpha) * y[0]])[0]

    def sse(alpha: float) -> float:
        fitted = np.r_[y[0], levels(alpha)[:-1]]
        return float(np.sum((y - fitted) ** 2))

    alpha = float(minimize_scalar(sse, bounds=(1e-4, 1.0), method="bounded").x)
    steps = np.arange(h, dtype=float) + 1 / alpha - (1 - alpha) ** n / alpha
    point = levels(alpha)[-1] + 0.5 * b0 * steps
    if season is not None:
        ahead, multiplicative = season
        point = point * ahead if multiplicative else point + ahead
    return point, _nan(h), _nan(h)


def _arima(y: np.ndarray, h: int) -> Bands:
    """The airline model, fitted fast: its two MA parameters estimated on the differenced
    series (``simple_differencing``, σ² concentrated out: a third of the time of the exact
    likelihood, parameters equal to 1e-4), then the undifferenced model filtered with them
    for the forecast and its interval."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    seasonal = (0, 1, 1, SEASON) if len(y) >= SEASONAL_MIN else (0, 0, 0, 0)
    spec = {"order": (0, 1, 1), "seasonal_order": seasonal, "concentrate_scale": True}
    params = SARIMAX(y, simple_differencing=True, **spec).fit(disp=False).params
    frame = SARIMAX(y, **spec).filter(params).get_forecast(h).summary_frame(alpha=1 - LEVEL)
    return tuple(frame[c].to_numpy(float) for c in ("mean", "mean_ci_lower", "mean_ci_upper"))


def _seasonal_only(
    seasonal: Callable[[np.ndarray, int], Bands], fallback: Callable[[np.ndarray, int], Bands]
) -> Callable[[np.ndarray, int], Bands]:
    """``seasonal`` with two years of history, else ``fallback``."""

    def run(y: np.ndarray, h: int) -> Bands:
        return (seasonal if len(y) >= SEASONAL_MIN else fallback)(y, h)

    return run


def _on_logs(f: Callable[[np.ndarray, int], Bands]) -> Callable[[np.ndarray, int], Bands]:
    """``f`` on ``log y`` and its bands exponentiated when every value is positive (a season
    and trend that grow with the level become additive), else ``f`` on ``y`` itself. The
    point is the exponentiated median, the median forecast."""

    def run(y: np.ndarray, h: int) -> Bands:
        if not (y > 0).all():
            return f(y, h)
        return tuple(np.exp(b) for b in f(np.log(y), h))

    return run


COMPONENTS: dict[str, Callable[[np.ndarray, int], Bands]] = {
    "snaive": _snaive,
    "naive": _naive,
    "ets_AAdA": _seasonal_only(_ets(True, True, True), _ets(True, True, False)),
    "ets_AAdN": _ets(True, True, False),
    "ets_ANA": _seasonal_only(_ets(False, False, True), _ets(False, False, False)),
    "theta": _theta_np,
    "theta_sm": _theta,
    "arima": _arima,
    "ets_AAdA_log": _on_logs(_seasonal_only(_ets(True, True, True), _ets(True, True, False))),
    "arima_log": _on_logs(_arima),
    "theta_log": _on_logs(_theta_np),
}


def run_component(name: str, y: np.ndarray, h: int) -> tuple[Bands | None, float]:
    """One component on ``y`` (scaled by ``mean |y|`` and back): its bands and seconds."""
    start = time.perf_counter()
    s = _scale(y)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            # rounded: y·c / (s·c) differs from y / s in the last bit, which the optimisers
            # amplify to 1e-6 (1e-3 on an ill-conditioned fit); at 10 decimals the scaled
            # series are identical unless a value lies within 1e-16 of a rounding boundary
            # (at 12 decimals one of 67 tuning series did)
            bands = COMPONENTS[name](np.round(y / s, 10), h)
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
    """Points combined from ``members`` by ``how`` (mean or median); below ``SEASONAL_MIN``
    months from ``short`` by the mean (when given).

    The interval is re-centred on the combined point. Its half-widths (each side) are the
    widest of the ``interval`` components', times ``widen`` from 48 months of history on,
    ``widen_36`` at 36 months or fewer, linear between; below ``SEASONAL_MIN`` months they
    are ``short_interval``'s times ``widen_short``. (Analytic intervals assume the fitted
    parameters are the true ones: the shorter the history, the more they miss.)
    """

    name: str
    members: tuple[str, ...]
    how: str = "mean"
    interval: tuple[str, ...] = ("ets_AAdA",)
    widen: float = 1.0
    widen_36: float = 1.0
    short: tuple[str, ...] | None = None
    short_interval: tuple[str, ...] = ("ets_AAdA",)
    widen_short: float = 1.0
    short_how: str = "mean"

    def members_for(self, n: int) -> tuple[str, ...]:
        return self.short if n < SEASONAL_MIN and self.short else self.members

    def interval_for(self, n: int) -> tuple[tuple[str, ...], float]:
        if n < SEASONAL_MIN:
            return self.short_interval, self.widen_short
        share = min(max((48 - n) / 12, 0.0), 1.0)
        return self.interval, self.widen + share * (self.widen_36 - self.widen)

    def used(self, n: int) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.members_for(n), *self.interval_for(n)[0])))

    def combine(
        self, n: int, parts: dict[str, tuple[Bands | None, float]]
    ) -> tuple[Bands | None, float]:
        members = self.members_for(n)
        points = [parts[m][0][0] for m in members if parts[m][0] is not None]
        seconds = sum(parts[m][1] for m in self.used(n))
        if not points:
            return None, seconds
        stack = np.vstack(points)
        how = self.short_how if members is self.short else self.how
        point = np.median(stack, axis=0) if how == "median" else stack.mean(axis=0)
        sources, widen = self.interval_for(n)
        refs = [parts[m][0] for m in sources if parts[m][0] is not None]
        if not refs:
            refs = [parts["snaive"][0] if parts["snaive"][0] is not None else parts["naive"][0]]
        below = np.max([r[0] - r[1] for r in refs], axis=0) * widen
        above = np.max([r[2] - r[0] for r in refs], axis=0) * widen
        return (point, point - below, point + above), seconds


# Interval factors from the tuning half (coverage of the combined point's interval by
# history length; benchmarks/bench_forecast.py --coverage): the airline model's interval is
# right from four years on and 1.3× too narrow at three; ETS(A,Ad,N)'s, below two years,
# 1.5× too narrow.
WIDEN_36 = 1.3
WIDEN_SHORT = 1.5


def candidates() -> list[Candidate]:
    ets_theta, eta = ("ets_AAdA", "theta"), ("ets_AAdA", "theta", "arima")
    ari = ("arima",)
    short_kw = {"short": (*ets_theta, "snaive"), "widen_short": WIDEN_SHORT}
    return [
        Candidate("ETS(A,Ad,A) alone, widened", ("ets_AAdA",), widen_36=1.3, widen_short=1.5),
        Candidate("Theta alone (statsmodels)", ("theta_sm",)),
        Candidate("Theta alone (numpy)", ("theta",)),
        Candidate("ARIMA airline alone", ari, interval=ari, short_interval=ari),
        Candidate("mean ETS+Theta", ets_theta),
        Candidate("mean ETS+Theta+snaive", (*ets_theta, "snaive")),
        Candidate("median ETS+Theta+snaive", (*ets_theta, "snaive"), "median"),
        Candidate("mean ETS+Theta+ARIMA", eta, interval=ari, short_interval=ari),
        Candidate("median ETS+Theta+ARIMA", eta, "median", interval=ari, short_interval=ari),
        Candidate("mean ETS+Theta (+snaive <24)", ets_theta, **short_kw),
        Candidate(
            "mean ETS+Theta+ARIMA (<24: ETS+Theta+snaive)",
            eta,
            interval=ari,
            widen_36=WIDEN_36,
            **short_kw,
        ),
        Candidate(
            "median ETS+Theta+ARIMA (<24: mean ETS+Theta+snaive)",
            eta,
            "median",
            interval=ari,
            widen_36=WIDEN_36,
            **short_kw,
        ),
        *log_candidates(),
        FINAL,
        SECOND,
    ]


# This session's finalists, fixed on the tuning half before the held-out half was run:
# from two years on the mean of ETS(A,Ad,A) and the airline model, both on logs when the
# series is positive; below two years the mean of Theta and the seasonal naive.
SHORT_RULE = {"short": ("theta", "snaive"), "short_interval": ("naive",), "widen_short": 0.8}
FINAL = Candidate(
    "mean ETS+ARIMA on logs (<24: mean Theta+snaive)",
    ("ets_AAdA_log", "arima_log"),
    interval=("arima_log",),
    widen_36=1.3,
    **SHORT_RULE,
)
SECOND = Candidate(
    "mean ETS+ARIMA, raw and on logs (<24: mean Theta+snaive)",
    ("ets_AAdA", "arima", "ets_AAdA_log", "arima_log"),
    interval=("arima_log",),
    widen_36=1.3,
    **SHORT_RULE,
)


def log_candidates() -> list[Candidate]:
    """This session's candidates: the models on logs when the series is positive (a season
    that grows with the level), and the seasonal naive as a member."""
    lg = ("ets_AAdA_log", "theta", "arima_log")
    ari_l = ("arima_log",)
    short = {"short": ("ets_AAdA", "theta", "snaive"), "widen_short": WIDEN_SHORT}
    short_l = {"short": ("ets_AAdA_log", "theta", "snaive"), "widen_short": WIDEN_SHORT}
    kw = {"interval": ari_l, "widen_36": WIDEN_36}
    return [
        Candidate("ETS(A,Ad,A) on logs alone", ("ets_AAdA_log",), widen_36=1.3, widen_short=1.5),
        Candidate("ARIMA airline on logs alone", ari_l, interval=ari_l, short_interval=ari_l),
        Candidate("L median ETSl+Theta+ARIMAl", lg, "median", **kw, **short),
        Candidate("L mean ETSl+Theta+ARIMAl", lg, "mean", **kw, **short),
        Candidate("L median ETSl+Theta+ARIMAl (short logs)", lg, "median", **kw, **short_l),
        Candidate("L median ETSl+Theta+ARIMAl+snaive", (*lg, "snaive"), "median", **kw, **short),
        Candidate("L mean ETSl+Theta+ARIMAl+snaive", (*lg, "snaive"), "mean", **kw, **short),
        Candidate(
            "L median ETSl+Thetal+ARIMAl+snaive",
            ("ets_AAdA_log", "theta_log", "arima_log", "snaive"),
            "median",
            **kw,
            **short,
        ),
        Candidate(
            "L median ETS+ETSl+Theta+ARIMA+ARIMAl",
            ("ets_AAdA", "ets_AAdA_log", "theta", "arima", "arima_log"),
            "median",
            **kw,
            **short,
        ),
        Candidate(
            "L median ETSl+Theta+snaive",
            ("ets_AAdA_log", "theta", "snaive"),
            "median",
            interval=("ets_AAdA_log",),
            widen_36=WIDEN_36,
            **short,
        ),
        Candidate(
            "L median ETSl+Theta+ARIMAl (short median)",
            lg,
            "median",
            **kw,
            short=("ets_AAdA", "theta", "snaive"),
            widen_short=WIDEN_SHORT,
            short_how="median",
        ),
    ]


# --- the winner, as one function ----------------------------------------------------------------

NAIVE_WIDEN_SHORT = 0.8


def combined_forecast(values, h: int = 12, level: float = LEVEL) -> Bands:
    """The method chosen on the tuning half (``FINAL``), in one piece. Its intervals proved
    too wide on the held-out half (88.5 %), so leadbook ports ``SECOND`` instead
    (``leadbook.planning.methods.combination``, the same rules with the raw models added).

    - Scale: the series is divided by ``mean |y|`` (and rounded to 10 decimals) before any
      fit and the results multiplied back, so ``c · y`` gives ``c ·`` the forecast.
    - Two years or more: point = the **mean**, month by month, of ETS(A,Ad,A) and the
      airline SARIMA(0,1,1)(0,1,1)₁₂, each fitted to ``log y`` and exponentiated when every
      value is positive, else to ``y``. Interval = the airline model's, re-centred on that
      point, its half-widths × ``1.3`` up to 36 months, falling linearly to × 1.0 at 48.
    - 12 to 23 months: point = the mean of Theta (numpy) and the seasonal naive; under 12,
      Theta alone. Interval = the naive's (last value), re-centred, × 0.8.
    - A component that fails is left out; if all do, the naive (last value) is the answer.
    - Another ``level``: the half-widths are scaled by z(level) / z(80 %).
    """
    y = np.asarray(values, dtype=float)
    n = len(y)
    s = _scale(y)
    z = np.round(y / s, 10)

    def attempt(f: Callable[[np.ndarray, int], Bands]) -> Bands | None:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                bands = f(z, h)
            return bands if np.isfinite(bands[0]).all() else None
        except Exception:
            return None

    if n >= SEASONAL_MIN:
        ets = attempt(COMPONENTS["ets_AAdA_log"])
        arima = attempt(COMPONENTS["arima_log"])
        points = [b[0] for b in (ets, arima) if b is not None]
        ref = arima if arima is not None else ets
        widen = 1.0 + min(max((48 - n) / 12, 0.0), 1.0) * (WIDEN_36 - 1.0)
    else:
        snaive = attempt(_snaive) if n >= SEASON else None
        points = [b[0] for b in (attempt(_theta_np), snaive) if b is not None]
        ref, widen = _naive(z, h), NAIVE_WIDEN_SHORT
    if ref is None:
        ref = _naive(z, h)
    if not points:
        points = [ref[0]]
    point = np.mean(np.vstack(points), axis=0)
    factor = widen * NormalDist().inv_cdf(0.5 + level / 2) / Z
    below, above = (ref[0] - ref[1]) * factor, (ref[2] - ref[0]) * factor
    return point * s, (point - below) * s, (point + above) * s
