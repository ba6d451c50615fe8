"""Forecasting one monthly series: the rolling-origin backtest, the choice of method it
supports, the chosen forecast with its interval, and the quick choice for small series.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from leadbook.planning.methods import (
    FORECAST_COLUMNS,
    METHODS,
    MIN_BACKTEST,
    MIN_POINTS,
    NAIVE,
    ORIGINS,
    QUICK_METHODS,
    SEASON,
    SEASONAL_NAIVE,
    ForecastInputError,
    Method,
    backtest_points,
    combination,
    naive_scale,
    run_method,
    with_the_line,
    z_value,
)

# --- Backtest and choice ----------------------------------------------------------------------


def backtest_origins(n: int) -> tuple[list[int], int]:
    """Training lengths of the rolling-origin backtest and its horizon, for ``n`` points.

    Long series (5 years or more) are tested on the last three years, a year ahead at a time;
    shorter ones on three overlapping windows a quarter of their length long.

    Examples
    --------
    >>> backtest_origins(132)
    ([120, 108, 96], 12)
    >>> backtest_origins(24)
    ([18, 15, 12], 6)
    """
    h = min(SEASON, max(1, n // 4))
    step = h if n >= ORIGINS * h + 2 * SEASON else max(1, h // 2)
    origins = [n - h - j * step for j in range(ORIGINS)]
    return [o for o in origins if o >= MIN_POINTS], h


def backtest(values: Sequence[float], methods: Sequence[Method] = METHODS) -> pd.DataFrame:
    """Each eligible method's mean MASE over the rolling-origin backtest (lower is better).

    A method is eligible when every training window has its minimum length (and, for a
    log-scale method, the series is positive). A method that fails at an origin scores ∞.

    Examples
    --------
    >>> backtest([10.0, 12, 11, 13, 12, 14, 13, 15]).round(2)
                               method  mase
    0              naive (last value)  0.74
    1  exponential smoothing (simple)  0.93
    2                           Theta  0.53
    """
    y = np.asarray(values, dtype=float)
    origins, h = backtest_origins(len(y))
    scale = naive_scale(y) or float(np.mean(np.abs(y))) or 1.0
    rows = []
    for method in methods:
        if not origins or min(origins) < method.min_points:
            continue
        if method.positive_only and not (y > 0).all():
            continue
        errors = [
            np.inf if p is None else np.mean(np.abs(p - y[o : o + h])) / scale
            for o, p in zip(origins, backtest_points(method, y, origins, h), strict=True)
        ]
        rows.append({"method": method.name, "mase": float(np.mean(errors))})
    return pd.DataFrame(rows, columns=["method", "mase"])


@dataclass(frozen=True)
class SeriesForecast:
    """A forecast and how it was made.

    ``frame`` has ``month, point, lower, upper``; ``method`` names the method used; ``mase``
    is its backtest MASE (NaN when there was no backtest), ``floor_mase`` the seasonal (or
    plain) naive's on the same backtest; ``note`` says anything the user should know.
    """

    frame: pd.DataFrame
    method: str
    mase: float = math.nan
    floor_mase: float = math.nan
    note: str = ""
    level: float = 0.8

    @property
    def sd(self) -> np.ndarray:
        """The standard deviation implied by the interval (a normal forecast distribution)."""
        return (self.frame["upper"] - self.frame["lower"]).to_numpy() / (2 * z_value(self.level))


def forecast_series(
    values: Sequence[float] | pd.Series,
    horizon: int = 12,
    *,
    level: float = 0.8,
    start: pd.Timestamp | None = None,
    gaps: str = "error",
    lower_bound: float | None = 0.0,
    upper_bound: float | None = None,
) -> pd.DataFrame:
    """Monthly forecast of ``values``: ``month, point, lower, upper`` for ``horizon`` months.

    See :func:`forecast_detail` for the arguments; this returns only its frame.

    Examples
    --------
    >>> forecast_series([5.0, 5.0, 5.0, 5.0], 2).round(2)
       month  point  lower  upper
    0      1    5.0   4.94   5.06
    1      2    5.0   4.91   5.09
    """
    return forecast_detail(
        values,
        horizon,
        level=level,
        start=start,
        gaps=gaps,
        lower_bound=lower_bound,
        upper_bound=upper_bound,
    ).frame


def forecast_detail(
    values: Sequence[float] | pd.Series,
    horizon: int = 12,
    *,
    level: float = 0.8,
    start: pd.Timestamp | None = None,
    gaps: str = "error",
    lower_bound: float | None = 0.0,
    upper_bound: float | None = None,
) -> SeriesForecast:
    """Forecast ``values`` (monthly, oldest first) ``horizon`` months ahead, choosing the method.

    ``values`` may be a Series indexed by month (its next month is the first forecast month,
    and missing months count as gaps) or plain numbers (months are numbered 1, 2, … unless
    ``start`` names the first forecast month). ``level`` is the interval's coverage;
    forecasts and bounds are clipped to ``[lower_bound, upper_bound]`` (leads cannot be
    negative, conversion cannot pass 100 %). ``gaps="interpolate"`` fills missing values
    linearly instead of refusing them.

    Examples
    --------
    >>> f = forecast_detail([120.0, 130, 125, 140], 3, start=pd.Timestamp("2027-01-01"))
    >>> f.method, f.frame["month"].dt.strftime("%b %Y").tolist()
    ('naive (last value)', ['Jan 2027', 'Feb 2027', 'Mar 2027'])
    >>> forecast_detail([1.0, float("nan"), 3.0, 4.0], 2)
    Traceback (most recent call last):
    ...
    leadbook.planning.methods.ForecastInputError: the series has a gap at point 2 of 4; \
fill it (0 if nothing happened that month) or pass gaps="interpolate"
    """
    y, months = prepare_series(values, horizon, start, gaps)
    if not 0 < level < 1:
        raise ForecastInputError(f"the interval level must be between 0 and 1, got {level:g}")
    result = choose(tuple(y.tolist()), horizon, level)
    low = -np.inf if lower_bound is None else lower_bound
    high = np.inf if upper_bound is None else upper_bound
    # Clipped as arrays: three pandas clips per series were a third of a cached forecast.
    frame = pd.DataFrame(
        {
            "month": months,
            "point": np.clip(result[0], low, high),
            "lower": np.clip(result[1], low, high),
            "upper": np.clip(result[2], low, high),
        },
        columns=FORECAST_COLUMNS,
    )
    return SeriesForecast(frame, *result[3:], level=level)


def prepare_series(
    values: Sequence[float] | pd.Series, horizon: int, start: pd.Timestamp | None, gaps: str
) -> tuple[np.ndarray, list]:
    if gaps not in ("error", "interpolate"):
        raise ForecastInputError(f'gaps must be "error" or "interpolate", got {gaps!r}')
    if not 1 <= horizon <= 120:
        raise ForecastInputError(f"the horizon must be 1 to 120 months, got {horizon}")
    series = _monthly(values)
    if isinstance(series.index, pd.DatetimeIndex) and start is None:
        start = series.index[-1] + pd.DateOffset(months=1)
    y = series.to_numpy(dtype=float)
    if np.isinf(y).any():
        raise ForecastInputError("the series holds an infinite value; check the History figures")
    missing = np.flatnonzero(np.isnan(y))
    if missing.size and gaps == "error":
        raise ForecastInputError(
            f"the series has {_gap_words(series, missing)}; fill "
            f"{'it' if missing.size == 1 else 'them'} (0 if nothing happened that month) "
            'or pass gaps="interpolate"'
        )
    if missing.size:
        y = pd.Series(y).interpolate(limit_direction="both").to_numpy()
    if len(y) - missing.size < MIN_POINTS:
        raise ForecastInputError(
            f"a forecast needs at least {MIN_POINTS} months of data, got {len(y) - missing.size}"
        )
    if start is None:
        months: list = list(range(1, horizon + 1))
    else:
        months = list(pd.date_range(pd.Timestamp(start), periods=horizon, freq="MS"))
    return y, months


def _monthly(values: Sequence[float] | pd.Series) -> pd.Series:
    """The values as a Series; a month index is completed so missing months show as NaN.

    Any date within a month stands for that month (month-ends, as ``resample("ME")`` gives,
    or mid-month dates); two values in one month are refused.
    """
    if not isinstance(values, pd.Series):
        return pd.Series(np.asarray(values, dtype=float).ravel())
    series = values.astype(float)
    if isinstance(series.index, pd.DatetimeIndex):
        series.index = series.index.tz_localize(None).to_period("M")
    if isinstance(series.index, pd.PeriodIndex):
        series.index = series.index.asfreq("M").to_timestamp()
    if isinstance(series.index, pd.DatetimeIndex) and len(series):
        series = series.sort_index()
        twice = series.index[series.index.duplicated()].unique()
        if len(twice):
            shown = ", ".join(f"{m:%b %Y}" for m in twice[:6])
            raise ForecastInputError(
                f"the series has two values for {shown}"
                f"{f' and {len(twice) - 6} more months' if len(twice) > 6 else ''}; "
                "give one value per month"
            )
        full = pd.date_range(series.index[0], series.index[-1], freq="MS")
        series = series.reindex(full)
    return series


def _gap_words(series: pd.Series, missing: np.ndarray) -> str:
    if isinstance(series.index, pd.DatetimeIndex):
        names = [f"{series.index[i]:%b %Y}" for i in missing]
    else:
        names = [f"point {i + 1} of {len(series)}" for i in missing]
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    return f"{'a gap' if len(names) == 1 else f'{len(names)} gaps'} at {shown}"


@functools.lru_cache(maxsize=512)
def choose(
    y_values: tuple[float, ...], horizon: int, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, float, float, str]:
    """Point, lower, upper, method, its MASE, the floor's MASE and a note (cached: the same
    history is forecast by several tabs in one refresh; the arrays are read-only)."""
    point, lower, upper, *rest = _chosen(y_values, horizon, level)
    for array in (point, lower, upper):
        array.setflags(write=False)
    return point, lower, upper, *rest


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """BLAS on one thread while a series' small models are fitted: OpenBLAS threads woken
    for 4-parameter fits made a source's forecast 5× slower on two shared cores (same
    numbers). A no-op where threadpoolctl (scikit-learn's) is missing, as in Pyodide."""
    controller = _blas_controller()
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


@functools.cache
def _blas_controller():
    """threadpoolctl's view of the BLAS libraries the fits use, found once: each
    ``threadpool_limits`` call scanned every loaded library again, 14 ms, as long as a
    simple smoothing fit, once per series. Made after statsmodels' ETS is imported, so that
    SciPy's BLAS, which it loads, is among them."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    import statsmodels.tsa.exponential_smoothing.ets  # noqa: F401

    return ThreadpoolController()


def _chosen(
    y_values: tuple[float, ...], horizon: int, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, float, float, str]:
    y = np.asarray(y_values)
    n = len(y)
    if np.ptp(y) == 0:
        return _constant(y[0], n, horizon, level)
    if n < MIN_BACKTEST:
        point, lower, upper = run_method(NAIVE, y, horizon, level)  # type: ignore[misc]
        point, lower, upper = with_the_line(y, (point, lower, upper), level)
        note = f"only {n} months: too short to choose a method by backtest; naive forecast"
        return point, lower, upper, NAIVE.name, math.nan, math.nan, note
    # Fitted on y / s and scaled back, so that c · y gets c · the forecast and the same
    # method: statsmodels' starting values and convergence tests are not scale-free, and the
    # demo's Mortgage broker referrals × 1e4 chose another method. Rounded to 10 decimals:
    # y·c / (s·c) differs from y / s in the last bit, which the optimisers amplify.
    s = robust_scale(y)
    z = np.round(y / s, 10)
    with _one_blas_thread():
        if n < SEASON:
            point, lower, upper, *rest = _backtest_choice(z, horizon, level)
            point, lower, upper = with_the_line(z, (point, lower, upper), level)
        else:
            point, lower, upper, *rest = _combined(z, horizon, level)
    # Never zero width: a model that fits the history exactly (a step, a season repeated, a
    # series constant but for a speck) would claim the future cannot differ from it.
    floor = z_value(level) * FLOOR_STEP * np.sqrt(np.arange(1, horizon + 1))
    lower, upper = np.minimum(lower, point - floor), np.maximum(upper, point + floor)
    return point * s, lower * s, upper * s, *rest


CONSTANT_STEP = 0.01
"""A constant series' interval: one month's step has this standard deviation, as a share of
the constant (1 when it is 0), growing with √h as the naive's does. No variation was seen,
so the interval is as narrow as for the calmest real series: on bench_forecast's tuning half
the month-to-month changes of the calmest tenth (employment aggregates, CO₂) vary by 0.4–0.6 %
of their level, a quarter of the series by under 3 %."""

FLOOR_STEP = CONSTANT_STEP / 10
"""The narrowest any other series' interval may be, the same way (of its mean absolute
value): a model that fits the history exactly must not give a zero-width interval, and a
tenth of the constant series' step stays under what the calmest real series vary by."""


def _constant(
    value: float, n: int, horizon: int, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, float, float, str]:
    """A constant series: forecast as that constant, with the :data:`CONSTANT_STEP` interval
    (zero width would claim the constant cannot change)."""
    point = np.full(horizon, value)
    unit = abs(value) if value != 0 else 1.0
    half = z_value(level) * CONSTANT_STEP * unit * np.sqrt(np.arange(1, horizon + 1))
    note = (
        f"constant at {value:g} for all {n} months: forecast as that constant; interval "
        f"{CONSTANT_STEP:.0%} a month"
    )
    return point, point - half, point + half, "constant", math.nan, math.nan, note


def _combined(
    y: np.ndarray, horizon: int, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, float, float, str]:
    """A year of history or more: the combination (:func:`~leadbook.planning.methods.combination`),
    chosen by no backtest, so its MASE and the floor's are NaN. On bench_forecast's tuning
    half the mean of four models beat choosing among eight by a three-window backtest
    (mean MASE 0.857 against 1.110) in a third of the time; a backtest of the combination
    would double that time (issue 16 allows three ETS fits a series)."""
    n = len(y)
    (point, lower, upper), name = combination(y, horizon, level)
    note = f"{n} months: the seasonal models need {2 * SEASON}; {name}" if n < 2 * SEASON else ""
    return point, lower, upper, name, math.nan, math.nan, note


def robust_scale(y: np.ndarray) -> float:
    """The series' mean absolute value (1 when it is 0): what it is divided by before fitting.

    Examples
    --------
    >>> robust_scale(np.array([-2.0, 4.0])), robust_scale(np.zeros(3))
    (3.0, 1.0)
    """
    s = float(np.mean(np.abs(y)))
    return s if s > 0 and np.isfinite(s) else 1.0


def _backtest_choice(
    y: np.ndarray, horizon: int, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, float, float, str]:
    n = len(y)
    scores = backtest(y)
    floor_name = SEASONAL_NAIVE.name if SEASONAL_NAIVE.name in set(scores["method"]) else NAIVE.name
    floor = float(scores.loc[scores["method"] == floor_name, "mase"].iloc[0])
    note = f"{n} months: chosen by backtest; seasonal needs {2 * SEASON}"
    for _, row in scores.sort_values("mase", kind="stable").iterrows():
        method = next(m for m in METHODS if m.name == row["method"])
        out = run_method(method, y, horizon, level)
        if out is not None:
            return *out, method.name, float(row["mase"]), floor, note
    out = run_method(NAIVE, y, horizon, level)
    assert out is not None
    return *out, NAIVE.name, math.nan, floor, "every method failed on this series; naive forecast"


@dataclass(frozen=True)
class QuickChoice:
    """The quick path's forecasts of many series of one length (rows as given): bands
    (series × horizon), each row's method name, its backtest MASE and the floor's."""

    point: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    method: np.ndarray
    mase: np.ndarray
    floor_mase: np.ndarray


def quick_choice(y: np.ndarray, horizon: int, level: float) -> QuickChoice:
    """Choose among :data:`QUICK_METHODS` for every row of ``y`` (series × months, finite,
    at least :data:`MIN_BACKTEST` months, not constant) by the same rolling-origin backtest
    as :func:`backtest`, all rows at once, and forecast each with its winner.

    Examples
    --------
    >>> c = quick_choice(np.array([[10.0, 12, 11, 13, 12, 14, 13, 15]]), 2, 0.8)
    >>> c.method.tolist(), c.point.round(2).tolist(), c.mase.round(2), c.floor_mase.round(2)
    (['exponential smoothing (simple, α on a 0.1 grid)'], [[14.44, 14.44]], array([0.72]), \
array([0.74]))
    """
    origins, h = backtest_origins(y.shape[1])
    lag = SEASON if y.shape[1] > SEASON else 1
    scale = np.mean(np.abs(y[:, lag:] - y[:, :-lag]), axis=1)
    fallback = np.mean(np.abs(y), axis=1)
    scale = np.where(scale > 0, scale, np.where(fallback > 0, fallback, 1.0))
    eligible = [(m, run) for m, run in QUICK_METHODS if min(origins) >= m.min_points]
    scores = np.empty((len(y), len(eligible)))
    with np.errstate(all="ignore"):
        for j, (_, run) in enumerate(eligible):
            errors = [
                np.mean(np.abs(run(y[:, :o], h, None)[0] - y[:, o : o + h]), axis=1) / scale
                for o in origins
            ]
            scores[:, j] = np.mean(errors, axis=0)
    scores[~np.isfinite(scores)] = np.inf
    best = np.argmin(scores, axis=1)  # the first of equal scores: the simpler method
    # The first eligible is the floor: the seasonal naive, or the naive where it cannot run.
    bands = np.empty((3, len(y), horizon))
    for j, (_, run) in enumerate(eligible):
        rows = best == j
        if rows.any():
            bands[:, rows] = run(y[rows], horizon, level)
    names = np.array([m.name for m, _ in eligible], dtype=object)
    rows = np.arange(len(y))
    return QuickChoice(*bands, names[best], scores[rows, best], scores[:, 0])


def probability_at_least(point: float, sd: float, target: float) -> float:
    """P(outcome ≥ target) for a normal forecast distribution.

    Examples
    --------
    >>> probability_at_least(2_400, 100, 2_400), probability_at_least(100, 0, 90)
    (0.5, 1.0)
    """
    if sd <= 0:
        return 1.0 if point >= target else 0.0
    return 1.0 - NormalDist().cdf((target - point) / sd)
