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


# --- The combination (the default from 12 months on) -----------------------------------------

COMBINATION_LONG = (
    "mean of exponential smoothing (damped trend, additive seasonal) and airline ARIMA"
)


COMBINATION_SHORT = "median of Theta, seasonal naive and level-shifted seasonal naive"


THETA_REVERSED = "Theta (this year's months moved against last year's)"


WIDEN_36 = 1.3


"""At 36 months or fewer the airline model's interval is widened by this, falling linearly
to 1 at 48 months (analytic intervals take the fitted parameters as the true ones)."""


WIDEN_SHORT = 0.3


"""From 12 to 23 months the interval is the naive's times this, then widened for the
straight line's (:func:`with_the_line`, :func:`steady`): 81.0 % of the outcomes on
bench_forecast's tuning half (14 series of 18 months; 0.35 before :func:`steady`, which
widens the point's short side, gave 82.7 % with it) and 76 % on seeded straight-line trends
of 13–23 months (as before; the line's interval sets theirs)."""


def combination(y: np.ndarray, h: int, level: float) -> tuple[Bands, str]:
    """The combined forecast and its name: from two years on, the mean of ETS(A,Ad,A) and
    the airline SARIMA(0,1,1)(0,1,1)₁₂ fitted to ``y`` and, when every value is positive, the
    same two fitted to ``log y`` (a season that grows with the level) — four forecasts —,
    with the airline model's interval (on logs when positive) re-centred on the mean and
    widened ×1.3 up to 36 months, falling to ×1 at 48. From 13 to 23 months the month-by-month
    median of Theta, the seasonal naive and the level-shifted seasonal naive
    (:func:`shifted_seasonal_naive`): the median of three keeps the two that agree when one
    is wrong (Theta on a seasonal series, the seasonal naive on a trending one); at 12 months
    (no year to compare) the mean of Theta and the seasonal naive; under 12, Theta alone.
    Theta alone too when this year's months moved against last year's
    (:func:`reverses_last_year`): the two seasonal naives would follow last year's path.
    Under two years the interval is the naive's ×0.3, re-centred, then widened for the
    straight line's (:func:`with_the_line`). Models that fail are left out.

    Chosen on the tuning half of ``benchmarks/bench_forecast.py``: from two years on its
    candidate ``SECOND`` (``benchmarks/forecast_candidates.py``); under two years the median
    of three scored mean / median MASE 1.097 / 0.802 on the half's 14 series of 18 months,
    against 1.332 / 0.990 for the mean of Theta and the seasonal naive.
    ``y`` should be of the order of 1 (the caller divides by its scale): the fits are not
    scale-free.

    Examples
    --------
    >>> t = np.arange(36)
    >>> y = 1 + 0.01 * t + 0.2 * np.sin(2 * np.pi * t / 12)
    >>> (point, lower, upper), name = combination(y, 3, 0.8)
    >>> name, bool((lower < point).all() and (point < upper).all())
    ('mean of exponential smoothing (damped trend, additive seasonal) and airline ARIMA, each \
on the series and on its logs', True)
    """
    n = len(y)
    scale = z_value(level) / z_value(0.8)
    if n >= 2 * SEASON:
        ets = _guarded(lambda: _ets_points(y, h), f"ETS(A,Ad,A) on {n} points")
        arima = _guarded(lambda: _airline(y, h), f"airline ARIMA on {n} points")
        logs = bool((y > 0).all())
        if logs:
            z = np.log(y)
            ets_log = _guarded(lambda: np.exp(_ets_points(z, h)), f"ETS(A,Ad,A) on {n} logs")
            arima_log = _guarded(lambda: tuple(np.exp(_airline(z, h))), f"airline on {n} logs")
        else:  # the same models again: the mean of the four is the mean of the two
            ets_log, arima_log = ets, arima
        airlines = [a for a in (arima_log, arima) if a is not None and all(map(_finite, a))]
        points = [a[0] for a in airlines] + [e for e in (ets, ets_log) if _finite(e)]
        if airlines:
            point = np.mean(points, axis=0)
            ref = airlines[0]  # on logs when it could be fitted
            widen = 1.0 + min(max((48 - n) / SEASON, 0.0), 1.0) * (WIDEN_36 - 1.0)
            below = (ref[0] - ref[1]) * widen * scale  # type: ignore[index]
            above = (ref[2] - ref[0]) * widen * scale  # type: ignore[index]
            name = COMBINATION_LONG + (", each on the series and on its logs" if logs else "")
            return (point, point - below, point + above), name
    theta = _guarded(lambda: theta_points(y, h), f"Theta on {n} points")
    snaive = _seasonal_naive(y, h, None)[0] if n >= SEASON else None
    shifted = shifted_seasonal_naive(y, h) if n > SEASON else None
    named = [
        (p, what)
        for p, what in (
            (theta, "Theta"),
            (snaive, "seasonal naive"),
            (shifted, "level-shifted seasonal naive"),
        )
        if _finite(p)
    ]
    naive, low, high = _naive(y, h, 0.8)
    if _finite(theta) and reverses_last_year(y):
        point, name = theta, THETA_REVERSED  # type: ignore[assignment]
    elif len(named) == 3:
        point = np.median([p for p, _ in named], axis=0)
        name = COMBINATION_SHORT
    elif named:
        point = np.mean([p for p, _ in named], axis=0)
        name = " and ".join(w for _, w in named)
        name = f"mean of {name}" if len(named) > 1 else name
    else:
        point, name = naive, NAIVE.name
    half_low, half_high = (naive - low) * WIDEN_SHORT * scale, (high - naive) * WIDEN_SHORT * scale
    return with_the_line(y, (point, point - half_low, point + half_high), level), name


REVERSAL_CHANGES = 3


"""The fewest month-to-month changes :func:`reverses_last_year` compares (16 months)."""


REVERSAL_COSINE = -0.5


"""This year's changes and last year's point against each other below this cosine (an
angle over 120°): on seeded seasonal series of 16–23 months (amplitude 15, noise 3–10, a
slight trend) 1–5 % fall below it against 1–33 % below 0, where Theta alone cost 0.3–0.9
MASE; a third of seeded reversals (up 1–3 a month for a year, then down, noise 3) do."""


def reverses_last_year(y: np.ndarray) -> bool:
    """Whether the last ``k − 1`` month-to-month changes (``k = min(n − 12, 12)``, as in
    :func:`shifted_seasonal_naive`) point against the same months' changes a year before:
    their cosine (the changes taken as vectors, not centred) is under
    :data:`REVERSAL_COSINE`. A trend that turned after a year (up for 12 months, then down)
    has a cosine near −1, a season that repeats or a trend that goes on one near 1. With
    fewer than :data:`REVERSAL_CHANGES` changes, False: one or two months' moves say little.

    An outside attack: such a reversal was forecast along last year's path, up again (the
    seasonal naive and the level-shifted one agree, and the median of three outvoted Theta).
    On bench_forecast's tuning half 2 of the 14 series of 18 months have a negative cosine
    (a savings rate and the arabica price): MASE 0.34 → 0.17 and 0.70 → 0.75 with Theta alone.

    Examples
    --------
    >>> t = np.arange(18.0)
    >>> reverses_last_year(100 + 3 * np.minimum(t, 22 - t)), reverses_last_year(100 + 3 * t)
    (True, False)
    """
    n = len(y)
    k = min(n - SEASON, SEASON)
    if k - 1 < REVERSAL_CHANGES:
        return False
    now, before = np.diff(y[n - k :]), np.diff(y[n - SEASON - k : n - SEASON])
    norms = float(np.sqrt((now @ now) * (before @ before)))
    return norms > 0 and float(now @ before) < REVERSAL_COSINE * norms


def shifted_seasonal_naive(y: np.ndarray, h: int) -> np.ndarray:
    """The seasonal naive moved by the change in level over the last year: the same month
    last year plus the mean of the last ``k`` months less the mean of the same ``k`` months
    a year before (``k = min(n − 12, 12)``, needs 13 months or more). A trend's year of
    growth is added back, and a season is kept, where the seasonal naive lags a year behind.

    Examples
    --------
    >>> y = np.arange(18.0)  # a straight line: 12 a year
    >>> shifted_seasonal_naive(y, 3)
    array([18., 19., 20.])
    """
    n = len(y)
    k = min(n - SEASON, SEASON)
    if k < 1:
        raise ValueError(f"the level-shifted seasonal naive needs {SEASON + 1} months, got {n}")
    shift = y[n - k :].mean() - y[n - SEASON - k : n - SEASON].mean()
    return _seasonal_naive(y, h, None)[0] + shift


def line_interval(y: np.ndarray, h: int, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The ``level`` prediction interval of a straight line fitted to ``y`` by least squares,
    ``h`` months on (Student's t with n − 2 degrees of freedom: the slope's uncertainty
    grows with the horizon).

    Under two years a forecast's interval is widened to take this one in (the envelope of
    the two): a method chosen on 8 or 18 months takes its fitted parameters as known and
    may miss a trend the months show (Theta continues half of it), so it claims more than
    the months support — on simulated straight-line trends with known noise its 80 %
    intervals held two fifths of the outcomes, and one in eight at 12–18 months. The
    straight line is the other reading of the same months. Scale-equivariant.

    Examples
    --------
    >>> low, high = line_interval(np.array([10.0, 12, 11, 13, 12, 14]), 2, 0.8)
    >>> low.round(2).tolist(), high.round(2).tolist()
    ([12.36, 12.78], [16.04, 16.88])
    """
    from scipy.stats import t as student

    n = len(y)
    x = np.arange(n, dtype=float)
    ahead = np.arange(n, n + h, dtype=float)
    if n < 3:
        return np.full(h, -np.inf), np.full(h, np.inf)
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (intercept + slope * x)
    sigma = math.sqrt(float(residual @ residual) / (n - 2))
    spread = ((ahead - x.mean()) ** 2) / float(((x - x.mean()) ** 2).sum())
    half = float(student.ppf(0.5 + level / 2, n - 2)) * sigma * np.sqrt(1 + 1 / n + spread)
    line = intercept + slope * ahead
    return line - half, line + half


def with_the_line(y: np.ndarray, bands: Bands, level: float) -> Bands:
    """``bands`` (point, lower, upper) of a history under two years, the interval widened for
    the straight line's (:func:`line_interval`): the ``level`` interval of the equal mixture of
    the two normal forecast distributions (each with the centre and the spread of its
    interval) — the months read as following the forecast's model or a straight line, one
    as likely as the other —, then made :func:`steady` (neither side under half the other,
    widths not falling with the horizon). The point is unchanged.

    Examples
    --------
    >>> y = np.arange(10.0) + np.array([0, 1, -1, 0, 1, -1, 0, 1, -1, 0])
    >>> flat = (np.full(3, 9.0), np.full(3, 8.0), np.full(3, 10.0))  # a forecast that levels off
    >>> point, lower, upper = with_the_line(y, flat, 0.8)
    >>> lower.round(2).tolist(), upper.round(2).tolist()  # the line above: wider below too
    ([8.0, 7.62, 7.11], [10.8, 11.76, 12.78])
    """
    from scipy.special import ndtr  # the normal CDF, without scipy.stats' per-call checks

    point, lower, upper = bands
    line_low, line_high = line_interval(y, len(point), level)
    if not (np.isfinite(line_low).all() and np.isfinite(line_high).all()):
        return bands
    z = z_value(level)
    centres = np.stack([(lower + upper) / 2, (line_low + line_high) / 2])
    sds = np.maximum(np.stack([upper - lower, line_high - line_low]) / (2 * z), 1e-300)

    def quantile(q: float) -> np.ndarray:
        low = np.minimum(lower, line_low) - 1.0 - np.abs(lower) - np.abs(line_low)
        high = np.maximum(upper, line_high) + 1.0 + np.abs(upper) + np.abs(line_high)
        for _ in range(60):  # bisection, every month at once: 2⁻⁶⁰ of the bracket
            mid = (low + high) / 2
            below = ndtr((mid - centres) / sds).mean(axis=0) < q
            low, high = np.where(below, mid, low), np.where(below, high, mid)
        return (low + high) / 2

    widest = quantile(0.5 - level / 2), quantile(0.5 + level / 2)
    return steady(point, np.minimum(lower, widest[0]), np.maximum(upper, widest[1]))


SIDE_SHARE = 0.5


"""Under two years neither side of an interval is narrower than this share of the other."""


def steady(point: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> Bands:
    """An interval under two years made readable: each side at least :data:`SIDE_SHARE` of
    the other (the point a third of the width or more from either edge), then widths made
    non-decreasing in the horizon by the closest such sequence in least squares (isotonic
    regression: a dip and the peak before it become their mean), both sides scaled alike.

    :func:`with_the_line`'s envelope is as wide as the line is far from the point: a
    seasonal point is above the line one month and below it the next, so the width rose
    and fell with the season (month 12's narrower than month 2's), and on a clean trend,
    which Theta continues by half, the line is far above a point whose own interval is
    nearly nothing, so the point sat on the lower edge. The isotonic fit keeps the mean
    width where a running maximum would widen every later month: on bench_forecast's
    tuning half the 14 short series' coverage went 81.5 % → 81.0 % with this (and
    :data:`WIDEN_SHORT` 0.35 → 0.3), 87 % with a running maximum.

    Examples
    --------
    >>> point = np.array([10.0, 10, 10])  # the point at the lower edge; widths 2.1, 6, 2
    >>> _, lower, upper = steady(point, np.array([9.9, 8, 9]), np.array([12.0, 14, 11]))
    >>> lower.round(2).tolist(), upper.round(2).tolist()  # widths 3, 4, 4
    ([9.0, 8.67, 8.0], [12.0, 12.67, 12.0])
    """
    below, above = point - lower, upper - point
    below, above = np.maximum(below, SIDE_SHARE * above), np.maximum(above, SIDE_SHARE * below)
    width = below + above
    ratio = np.where(width > 0, _isotonic(width) / np.where(width > 0, width, 1.0), 1.0)
    return point, point - below * ratio, point + above * ratio


def _isotonic(values: np.ndarray) -> np.ndarray:
    """The non-decreasing sequence closest to ``values`` in least squares (pool adjacent
    violators).

    Examples
    --------
    >>> _isotonic(np.array([1.0, 3, 2, 4, 0])).tolist()
    [1.0, 2.25, 2.25, 2.25, 2.25]
    """
    means: list[float] = []
    counts: list[int] = []
    for v in values.tolist():
        means.append(v)
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            m, c = means.pop(), counts.pop()
            means[-1] = (means[-1] * counts[-1] + m * c) / (counts[-1] + c)
            counts[-1] += c
    return np.repeat(means, counts)


def _finite(a: np.ndarray | None) -> bool:
    return a is not None and bool(np.isfinite(a).all())


def _ets_points(y: np.ndarray, h: int) -> np.ndarray:
    """ETS(A,Ad,A)'s points: fitted, then read from its smoothed states (no results object,
    whose numerical Hessian is a fifth of the fit; see :meth:`_ETS.backtest_run`)."""
    spec = _ETS("add", True, "add")
    model = spec.model(y)
    params = np.asarray(model.fit(disp=False, return_params=True))
    states = np.asarray(model.smooth(params, return_raw=True)[1])
    return spec._points(model, params, states, len(y), h)


def _airline(y: np.ndarray, h: int) -> Bands:
    """The airline model SARIMA(0,1,1)(0,1,1)₁₂: its two MA parameters estimated on the
    differenced series (σ² concentrated out: a third of the time of the exact likelihood),
    then the undifferenced model filtered with them for the forecast and its 80 % interval.

    Neither step computes the parameters' covariance, which nothing here reads: the fit
    returns its parameters alone (no smoothing and numerical Hessian after the optimiser)
    and the filter skips its outer-product-of-gradients matrix — the same parameters and
    forecast to the last bit, 40 % less time."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    spec = {"order": (0, 1, 1), "seasonal_order": (0, 1, 1, SEASON), "concentrate_scale": True}
    params = SARIMAX(y, simple_differencing=True, **spec).fit(disp=False, return_params=True)
    filtered = SARIMAX(y, **spec).filter(params, cov_type="none")
    frame = filtered.get_forecast(h).summary_frame(alpha=0.2)
    return tuple(frame[c].to_numpy(float) for c in ("mean", "mean_ci_lower", "mean_ci_upper"))  # type: ignore[return-value]


def theta_points(y: np.ndarray, h: int) -> np.ndarray:
    """The Theta method's points as statsmodels' ``ThetaModel`` computes them (θ = 2), in
    numpy: its seasonality test (90 %, lag-12 autocorrelation, two years of history), a
    classical decomposition (multiplicative when the series and its factors are positive),
    the OLS slope ``b0``, simple exponential smoothing from the first value with α minimising
    the one-step squared errors, and ``SES + b0/2 · (h − 1 + 1/α − (1−α)ⁿ/α)`` re-seasonalised.
    statsmodels' took as long as an ETS fit on 18 months; this, a millisecond.

    Examples
    --------
    >>> theta_points(np.array([1.0, 2, 3, 4, 5, 6]), 2).round(2)
    array([6.5, 7. ])
    """
    from scipy.optimize import minimize_scalar
    from scipy.signal import lfilter

    n = len(y)
    season = None
    if n >= 2 * SEASON:
        d = y - y.mean()
        denom = np.dot(d, d)
        rho = np.array([np.dot(d[: n - k], d[k:]) / denom for k in range(SEASON + 1)])
        if denom > 0 and n * rho[-1] ** 2 / np.sum(rho[:-1] ** 2) > 2.705543454095404:
            kernel = np.r_[0.5, np.ones(SEASON - 1), 0.5] / SEASON
            trend = np.convolve(y, kernel, mode="valid")  # centred 2×12 moving average
            half = SEASON // 2
            for multiplicative in (True, False) if (y > 0).all() else (False,):
                core = y[half : n - half]
                ratio = core / trend if multiplicative else core - trend
                pos = np.arange(half, n - half) % SEASON
                avg = np.array([ratio[pos == k].mean() for k in range(SEASON)])
                avg = avg / avg.mean() if multiplicative else avg - avg.mean()
                if not multiplicative or avg.min() > 0:
                    break
            factors = avg[np.arange(n) % SEASON]
            y = y / factors if multiplicative else y - factors
            season = (avg[(n + np.arange(h)) % SEASON], multiplicative)
    b0 = np.polyfit(np.arange(n, dtype=float), y, 1)[0] if n > 1 else 0.0

    def levels(alpha: float) -> np.ndarray:
        return lfilter([alpha], [1.0, alpha - 1.0], y, zi=[(1.0 - alpha) * y[0]])[0]

    def sse(alpha: float) -> float:
        return float(np.sum((y - np.r_[y[0], levels(alpha)[:-1]]) ** 2))

    alpha = float(minimize_scalar(sse, bounds=(1e-4, 1.0), method="bounded").x)
    point = levels(alpha)[-1] + 0.5 * b0 * (np.arange(h) + 1 / alpha - (1 - alpha) ** n / alpha)
    if season is not None:
        ahead, multiplicative = season
        point = point * ahead if multiplicative else point + ahead
    return point


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
