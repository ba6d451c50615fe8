"""Forecasts: awkward series get clear answers or clear errors; measures checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from leadbook.forecast import (
    PORTFOLIO,
    ForecastInputError,
    accuracy,
    backtest_origins,
    forecast_detail,
    forecast_series,
    mape,
    mase,
    probability_at_least,
    scenario_leads,
    scenarios,
    smape,
    update_log,
)
from leadbook.settings import Settings

MONTHS = pd.date_range("2024-01-01", periods=36, freq="MS")


def seasonal_series(n: int = 48, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 2 * t + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, n)


class TestForecastSeries:
    def test_gap_in_a_month_index_is_named(self):
        series = pd.Series(np.arange(36.0) + 10, index=MONTHS).drop(MONTHS[[5, 6]])
        with pytest.raises(ForecastInputError, match="2 gaps at Jun 2024, Jul 2024; fill them"):
            forecast_series(series, 12)

    def test_gap_filled_on_request(self):
        series = pd.Series(np.arange(36.0) + 10, index=MONTHS).drop(MONTHS[[5]])
        frame = forecast_series(series, 3, gaps="interpolate")
        assert frame["month"].tolist() == list(pd.date_range("2027-01-01", periods=3, freq="MS"))

    def test_three_points_get_the_naive_forecast(self):
        detail = forecast_detail([100.0, 110.0, 104.0], 4)
        assert detail.method == "naive (last value)"
        assert detail.note.startswith("only 3 months: too short to choose a method")
        assert detail.frame["point"].tolist() == [104.0] * 4
        # Naive interval: sample σ of the differences (10, −6): mean 2, σ² = (8² + 8²)/1 = 128;
        # it widens with √h.
        z = norm.ppf(0.9)
        half = (detail.frame["upper"] - detail.frame["point"]).to_numpy()
        assert half == pytest.approx(z * np.sqrt(128) * np.sqrt([1, 2, 3, 4]))

    def test_two_points_are_refused(self):
        with pytest.raises(ForecastInputError, match="at least 3 months of data, got 2"):
            forecast_series([1.0, 2.0], 3)

    def test_constant_series(self):
        detail = forecast_detail([250.0] * 10, 6)
        assert detail.method == "constant"
        assert (detail.frame[["point", "lower", "upper"]] == 250.0).all().all()
        assert "constant at 250" in detail.note

    def test_seasonal_trend_beats_seasonal_naive_on_holdout(self):
        y = seasonal_series(60)
        train, test = y[:48], y[48:]
        detail = forecast_detail(train, 12, lower_bound=None)
        naive = train[-12:]
        assert "naive" not in detail.method
        assert mase(test, detail.frame["point"], train) < 0.5 * mase(test, naive, train)
        assert (detail.frame["lower"] <= detail.frame["point"]).all()
        assert (detail.frame["point"] <= detail.frame["upper"]).all()

    def test_bounds_clip(self):
        frame = forecast_series([0.9, 0.95, 1.0, 0.97, 0.99, 1.0], 3, upper_bound=1.0)
        assert (frame["upper"] <= 1.0).all()

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"values": [1.0, np.inf, 2.0]}, "infinite value"),
            ({"values": [1.0, 2.0, 3.0], "level": 1.5}, "level must be between 0 and 1"),
            ({"values": [1.0, 2.0, 3.0], "horizon": 0}, "horizon must be 1 to 120 months"),
            ({"values": [1.0, 2.0, 3.0], "gaps": "zero"}, 'gaps must be "error" or "interpolate"'),
        ],
    )
    def test_bad_inputs(self, kwargs, message):
        kwargs.setdefault("horizon", 3)
        with pytest.raises(ForecastInputError, match=message):
            forecast_series(**kwargs)


class TestBacktestOrigins:
    @pytest.mark.parametrize(
        ("n", "want"), [(132, ([120, 108, 96], 12)), (24, ([18, 15, 12], 6)), (8, ([6, 5, 4], 2))]
    )
    def test_windows(self, n, want):
        assert backtest_origins(n) == want


class TestMeasures:
    def test_mase(self):
        # In-sample naive MAE of 8, 9, 10, 11 is 1; forecast MAE |10−11|, |12−11| is 1.
        assert mase([10, 12], [11, 11], [8, 9, 10, 11]) == 1.0

    def test_mase_seasonal_scale(self):
        insample = np.r_[np.arange(12.0), np.arange(12.0) + 3]  # seasonal differences all 3
        assert mase([0.0], [6.0], insample) == pytest.approx(2.0)

    def test_smape(self):
        # 2·10/210 and 2·10/190.
        assert smape([100, 100], [110, 90]) == pytest.approx((20 / 210 + 20 / 190) / 2)

    def test_mape_skips_zero_actuals(self):
        assert mape([0, 100, 200], [5, 110, 180]) == pytest.approx(0.1)


class TestScenarios:
    def test_the_chapters_month_12(self):
        paths = {s.name: scenario_leads([2_400] * 12, s.growth)[11] for s in scenarios(Settings())}
        assert paths == pytest.approx({"Conservative": 2_760, "Base": 3_240, "Aggressive": 4_200})

    def test_probability(self):
        # P(X ≥ 110) for X ~ N(100, 10²) = 1 − Φ(1) = 0.158655…
        assert probability_at_least(100, 10, 110) == pytest.approx(0.15865525393145707)
        assert probability_at_least(100, 0, 110) == 0.0


def _log(made: str, forecast: float, month: str = "2026-11-01") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "made": [pd.Timestamp(made)],
            "month": [pd.Timestamp(month)],
            "source": [PORTFOLIO],
            "measure": ["leads"],
            "horizon": [1],
            "forecast": [forecast],
            "lower": [forecast - 5],
            "upper": [forecast + 5],
            "method": ["sum of sources"],
            "actual": [np.nan],
        }
    )


HISTORY = pd.DataFrame(
    {
        "month": pd.date_range("2026-08-01", periods=4, freq="MS"),
        "source": "A",
        "leads": [100.0, 110.0, 100.0, 90.0],
        "customers": [10.0, 11.0, 10.0, 9.0],
    }
)


class TestUpdateLog:
    def test_keeps_earlier_months_and_replaces_a_rerun(self):
        first = update_log(None, _log("2026-10-01", 95.0), HISTORY)
        rerun = update_log(first, _log("2026-10-01", 97.0), HISTORY)
        later = update_log(rerun, _log("2026-11-01", 88.0, "2026-12-01"), HISTORY)
        assert later["forecast"].tolist() == [97.0, 88.0]
        # The portfolio's Nov 2026 actual is History's total, 90; Dec 2026 is not known yet.
        assert later["actual"].iloc[0] == 90.0 and np.isnan(later["actual"].iloc[1])


class TestAccuracy:
    def test_against_targets(self):
        log = update_log(None, _log("2026-10-01", 99.0), HISTORY)
        out = accuracy(log, HISTORY, Settings()).set_index("target_kind")
        # |99 − 90| / 90 = 10 %: within the ±10 % monthly target, outside the board's ±5 %.
        assert out.loc["monthly", "mape"] == pytest.approx(0.1)
        assert out.loc["monthly", "status"] == "within"
        assert out.loc["board", "status"] == "outside"
        # MASE: error 9 over the naive MAE of 100, 110, 100, 90 (10) = 0.9.
        assert out.loc["monthly", "mase"] == pytest.approx(0.9)
