"""Multi-horizon ROI: every expected value is worked out by hand in the comments."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbook.demo import demo_tables
from leadbook.errors import InputError
from leadbook.planning.roi import (
    RoiInputError,
    Timing,
    cohort_cash_flows,
    irr_annual_or_reason,
    irr_cohort,
    irr_or_reason,
    npv_cohort,
    payback,
    roi,
    roi_table,
    source_cohorts,
)
from leadbook.portfolio.inventory import build_inventory
from leadbook.settings import Settings


class TestRoi:
    @pytest.mark.parametrize(("spend", "revenue", "want"), [(1_000, 3_470, 2.47), (200, 100, -0.5)])
    def test_by_hand(self, spend, revenue, want):
        assert roi(spend, revenue) == pytest.approx(want)

    def test_zero_spend_is_refused(self):
        with pytest.raises(RoiInputError, match="spend must be > 0 to give an ROI, got 0"):
            roi(0, 100)


class TestTiming:
    def test_monthly_shares(self):
        # 20 % in month 1, (90 − 20) / 2 = 35 % in months 2 and 3, 10 % / 9 in months 4–12.
        shares = Timing(0.20, 0.90).monthly_shares()
        assert shares[:3].tolist() == pytest.approx([0.20, 0.35, 0.35])
        assert shares[3:].tolist() == pytest.approx([0.1 / 9] * 9)
        assert shares.sum() == pytest.approx(1.0)

    def test_shares_out_of_order(self):
        with pytest.raises(RoiInputError, match=r"0 ≤ 30-day ≤ 90-day ≤ 100 %, got 90.0% and 50"):
            Timing(0.9, 0.5)


class TestCohortCashFlows:
    def test_by_hand(self):
        # Timing 50 % / 100 %: shares 0.5, 0.25, 0.25, 0… Expansion 24 %/yr = 2 % a month of
        # first revenue on customers still there (retention 50 % a month).
        # m1: 500 − 900 = −400
        # m2: 250 + 1000·0.02·(0.5·0.5) = 255
        # m3: 250 + 1000·0.02·(0.5·0.25 + 0.25·0.5) = 255
        # m4: 1000·0.02·(0.5·0.125 + 0.25·0.25 + 0.25·0.5) = 5
        flows = cohort_cash_flows(900, 1_000, Timing(0.5, 1.0), retention=0.5, expansion=0.24)
        assert flows[:4].tolist() == pytest.approx([-400, 255, 255, 5])

    def test_negative_amounts(self):
        with pytest.raises(RoiInputError, match="must be ≥ 0, got -1, 5, 0 and 0"):
            cohort_cash_flows(-1, 5)

    def test_contribution_by_hand(self):
        # The by-hand cohort above, 60 % margin, $40 to serve each of its 10 customers when
        # they close (5 in m1, 2.5 in m2 and m3):
        # m1: 0.6·500 − 40·5 − 900 = −800
        # m2: 0.6·255 − 40·2.5 = 53
        # m3: 53; m4: 0.6·5 = 3
        flows = cohort_cash_flows(
            900,
            1_000,
            Timing(0.5, 1.0),
            retention=0.5,
            expansion=0.24,
            gross_margin=0.6,
            cost_to_serve=40,
            customers=10,
        )
        assert flows[:4].tolist() == pytest.approx([-800, 53, 53, 3])

    def test_margin_outside_0_to_100_percent(self):
        with pytest.raises(RoiInputError, match=r"gross margin must be within 0–100 %, got 120"):
            cohort_cash_flows(1, 5, gross_margin=1.2)


class TestNpvCohort:
    def test_by_hand(self):
        # A 1 % monthly rate is 1.01^12 − 1 a year: −400 + 255/1.01 + 255/1.0201 = 102.4507…
        annual = 1.01**12 - 1
        assert npv_cohort([-400, 255, 255], annual) == pytest.approx(
            -400 + 252.47524752475248 + 249.97549259876483
        )

    def test_zero_rate_is_the_sum(self):
        assert npv_cohort([-100, 30, 30, 50], 0.0) == pytest.approx(10.0)

    def test_too_few_flows(self):
        with pytest.raises(RoiInputError, match="cash flows need at least 2 months, got 1"):
            npv_cohort([5.0], 0.1)

    def test_blank_in_range(self):
        with pytest.raises(RoiInputError, match="must be finite numbers"):
            npv_cohort([-5.0, float("nan")], 0.1)

    def test_rate_below_minus_100(self):
        with pytest.raises(RoiInputError, match=r"above −100 %, got -150\.0%"):
            npv_cohort([-5.0, 6.0], -1.5)


class TestIrrCohort:
    def test_two_periods(self):
        # 100 now, 121 two months on: (1 + r)² = 1.21, r = 10 % a month.
        assert irr_cohort([-100, 0, 121]) == pytest.approx(0.10)

    def test_quadratic(self):
        # 100 = 60x + 60x², x = 1/(1+r): x = (−60 + √(60² + 4·60·100)) / 120.
        x = (-60 + math.sqrt(60**2 + 4 * 60 * 100)) / 120
        assert irr_cohort([-100, 60, 60]) == pytest.approx(1 / x - 1)

    @pytest.mark.parametrize(
        ("flows", "words"),
        [
            ([-100, 0, 0], "no IRR: the cohort brings no revenue to set against its cost"),
            ([50, 10, 10], r"no IRR: nothing is at risk \(month 1 already covers the cost"),
        ],
    )
    def test_no_real_solution_in_words(self, flows, words):
        assert math.isnan(irr_cohort(flows))
        result = irr_or_reason(flows)
        assert isinstance(result, str)
        assert re.match(words, result)

    @given(st.floats(10, 1e6), st.floats(0.01, 5), st.floats(0, 1))
    def test_npv_is_zero_at_the_irr(self, spend, multiple, early):
        flows = cohort_cash_flows(spend, spend * multiple, Timing(early * 0.2, 0.9), 0.98, 0.2)
        rate = irr_or_reason(flows)
        if isinstance(rate, float):
            annual = (1 + rate) ** 12 - 1
            assert npv_cohort(flows, annual) == pytest.approx(0, abs=1e-6 * spend)


class TestPayback:
    @pytest.mark.parametrize(
        ("flows", "month"), [([-100, 30, 30, 40, 1], 4), ([-100, 10], None), ([5, -1], 1)]
    )
    def test_by_hand(self, flows, month):
        assert payback(flows) == month


def _inventory(history: pd.DataFrame, leads: float = 40.0):
    raw = demo_tables().sources.iloc[[3]].copy()  # Organic search: in-house, no vendor caveats
    raw["leads"], raw["spend"], raw["cpl"] = leads, leads * 25.0, 25.0
    inventory, _ = build_inventory(raw, None, history)
    return inventory, raw["source"].iloc[0]


def _cohorts(name: str, months: int, **columns) -> pd.DataFrame:
    index = pd.date_range("2025-01-01", periods=months, freq="MS")
    base = {
        "month": index,
        "source": name,
        "spend": 1_000.0,
        "leads": 40,
        "customers": 4,
        "revenue": 4_000.0,
    }
    return pd.DataFrame(base | columns)


class TestRoiTable:
    def test_by_hand(self):
        # 12 equal cohorts: spend 1,000, 40 leads, 4 customers, first revenue 4,000; timing
        # 20 % / 90 %, no expansion. 30 days: 800 → −20 %; 90 days: 3,600 → 260 %;
        # 12 months: 4,000 → 300 %; CPA 250; revenue per lead 100; cumulative −200, +1,200:
        # payback in month 2.
        name = demo_tables().sources["source"].iloc[3]
        inventory, _ = _inventory(_cohorts(name, 12))
        settings = Settings().replace(
            {"roi.expansion": 0.0, "roi.discount_rate": 0.0, "roi.gross_margin": 1.0}
        )
        table, flows = roi_table(inventory, settings)
        row = table.loc[name]
        assert (row["roi_30d"], row["roi_90d"], row["roi_12m"]) == pytest.approx((-0.2, 2.6, 3.0))
        assert row["revenue_roi_12m"] == pytest.approx(3.0)
        assert (row["cpa"], row["revenue_per_lead"], row["payback"]) == pytest.approx((250, 100, 2))
        assert row["npv"] == pytest.approx(3_000)
        assert flows.loc["Portfolio"].sum() == pytest.approx(3_000)
        assert row["basis"] == "History: 12 cohorts" and row["timing"] == "Settings curve"

    def test_returns_are_on_contribution(self):
        # The same cohorts at a 50 % margin and $100 to serve each of the 4 customers:
        # 30 days: 0.5·800 − 100·0.8 = 320 → −68 %; 90 days: 0.5·3,600 − 100·3.6 = 1,440 →
        # 44 %; 12 months: 0.5·4,000 − 400 = 1,600 → 60 %. Revenue ROI stays 300 %. Cumulative
        # flows: −680, +560 (m2: 0.5·1,400 − 100·1.4), +560 (m3), then 160/9 a month (0.5·400/9
        # − 100·0.4/9): cumulative −680, −120, +440, payback in month 3. The flows sum to 600 =
        # NPV at 0 %. The monthly IRR solves −680 + 560x + 560x² + 160/9·(x³+…+x¹¹) = 0.
        name = demo_tables().sources["source"].iloc[3]
        inventory, _ = _inventory(_cohorts(name, 12))
        settings = Settings().replace(
            {
                "roi.expansion": 0.0,
                "roi.discount_rate": 0.0,
                "roi.gross_margin": 0.5,
                "roi.cost_to_serve": 100.0,
            }
        )
        table, flows = roi_table(inventory, settings)
        row = table.loc[name]
        assert (row["roi_30d"], row["roi_90d"], row["roi_12m"]) == pytest.approx((-0.68, 0.44, 0.6))
        assert (row["contribution_30d"], row["contribution_12m"]) == pytest.approx((320, 1_600))
        assert row["revenue_roi_12m"] == pytest.approx(3.0)
        assert row["payback"] == 3
        assert row["npv"] == pytest.approx(600) == flows.loc[name].sum()
        x = 1 / (1 + irr_cohort(flows.loc[name].to_numpy()))
        later = sum(x**k for k in range(3, 12))
        assert -680 + 560 * x + 560 * x**2 + 160 / 9 * later == pytest.approx(0, abs=1e-6)
        assert x**-12 - 1 > 10  # over 1,000 % a year: the IRR cell gives the monthly rate
        assert 1 / x - 1 == pytest.approx(0.44, abs=0.005)  # 44 % a month
        assert row["irr"] == "over 1,000% a year (44% a month)"

    def test_an_irr_over_1000_percent_a_year_is_given_in_words(self):
        # −100 then +160: 60 % a month is 1.6¹² − 1 ≈ 28,000 % a year.
        assert irr_annual_or_reason([-100, 160]) == "over 1,000% a year (60% a month)"
        # −100, 0, 121: 10 % a month is 1.1¹² − 1 = 213.8 % a year, a number.
        assert irr_annual_or_reason([-100, 0, 121]) == pytest.approx(1.1**12 - 1)

    def test_thin_history_uses_the_sources_row(self):
        name = demo_tables().sources["source"].iloc[3]
        inventory, _ = _inventory(_cohorts(name, 2), leads=40)
        table, _ = roi_table(inventory, Settings())
        assert table.loc[name, "basis"] == "Sources row (History has 2 months)"
        assert table.loc[name, "spend"] == pytest.approx(40 * 25.0)

    def test_each_source_has_its_own_basis_in_one_portfolio(self):
        """Three sources read together: one with a year of History, one with two months and
        leads today (valued from its Sources row), one with two months and no leads today
        (its thin History is all there is); each keeps its own basis and amounts."""
        raw = demo_tables().sources.iloc[[3, 4, 5]].copy()
        names = raw["source"].tolist()
        raw["leads"] = [40.0, 40.0, 0.0]
        raw["cpl"], raw["spend"] = 25.0, raw["leads"] * 25.0
        history = pd.concat(
            [_cohorts(names[0], 12), _cohorts(names[1], 2), _cohorts(names[2], 2, spend=500.0)]
        )
        inventory, _ = build_inventory(raw, None, history)
        cohorts = source_cohorts(inventory, Settings().roi)
        assert cohorts.loc[names, "basis"].tolist() == [
            "History: 12 cohorts",
            "Sources row (History has 2 months)",
            "History: 2 cohorts (thin)",
        ]
        assert cohorts.loc[names, "spend"].tolist() == pytest.approx([1_000.0, 40 * 25.0, 500.0])
        assert cohorts.loc[names, "cohorts"].tolist() == [12, 2, 2]

    def test_a_source_with_no_leads_anywhere_is_not_valued(self):
        inventory, name = _inventory(_cohorts("Someone else", 0), leads=0.0)
        row = source_cohorts(inventory, Settings().roi).loc[name]
        assert row["basis"] == "no leads in History or on Sources"
        assert np.isnan(row[["spend", "leads", "customers", "revenue"]].astype(float)).all()

    def test_timing_learnt_from_history_columns(self):
        # 4 cohorts of 4 customers: 1 within 30 days, 3 within 90 → 25 % and 75 %.
        name = demo_tables().sources["source"].iloc[3]
        history = _cohorts(name, 4, customers_30d=1, customers_90d=3)
        inventory, _ = _inventory(history)
        settings = Settings().replace({"roi.expansion": 0.0, "roi.gross_margin": 1.0})
        table, flows = roi_table(inventory, settings)
        assert table.loc[name, "timing"] == "History: 4 cohorts"
        assert flows.loc[name, 1] == pytest.approx(0.25 * 4_000 - 1_000)
        assert table.loc[name, "revenue_90d"] == pytest.approx(0.75 * 4_000)

    def test_history_timing_columns_are_checked(self):
        name = demo_tables().sources["source"].iloc[3]
        history = _cohorts(name, 3, customers_30d=3, customers_90d=2)
        with pytest.raises(InputError, match=r"History row 1, Customers in 30 days: .*exceed"):
            _inventory(history)


def test_timing_curve_in_settings_is_checked():
    with pytest.raises(InputError, match=r"Settings: customers closed within 30 days \(95%\)"):
        Settings().replace({"roi.close_30d": 0.95})


def test_flows_are_numpy():
    assert isinstance(cohort_cash_flows(1, 2), np.ndarray)
