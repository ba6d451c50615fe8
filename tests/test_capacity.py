"""Reps needed, the ramp, and the hiring plan; expected values derived by hand."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbook.planning.capacity import (
    CapacityInputError,
    HiringTerms,
    first_exceeded,
    hiring_plan,
    quarterly_hires,
    ramp_curve,
    reps_needed,
    sales_capacity,
)
from leadbook.planning.forecast import scenario_leads
from leadbook.settings import Settings


class TestRepsNeeded:
    def test_the_chapters_table(self):
        """2,400 leads need 51 reps at 47; month 12 needs 69 / 81 / 105 reps at 40."""
        s = Settings()
        rounding = s.hiring.rep_rounding
        assert reps_needed(2_400, s.capacity.leads_per_rep, 1.0, rounding) == 51
        month12 = {
            g: scenario_leads([2_400] * 12, g)[11]
            for g in (
                s.forecast.conservative_growth,
                s.forecast.base_growth,
                s.forecast.aggressive_growth,
            )
        }
        assert list(month12.values()) == pytest.approx([2_760, 3_240, 4_200])
        reps = [
            reps_needed(v, s.hiring.leads_per_rep_optimal, 1.0, rounding) for v in month12.values()
        ]
        assert reps == [69, 81, 105]

    def test_same_table_from_47_at_85_percent(self):
        # 47 × 0.85 = 39.95: 2,760 / 39.95 = 69.09, 3,240 / 39.95 = 81.10, 4,200 / 39.95 = 105.13.
        assert [reps_needed(v, 47, 0.85) for v in (2_760, 3_240, 4_200)] == [69, 81, 105]

    @pytest.mark.parametrize(
        ("leads", "rounding", "want"),
        [
            (2_401, 0.0, 61),
            (2_400, 0.0, 60),
            (2_419, 0.5, 60),
            (2_421, 0.5, 61),
            (0, 0.5, 0),
            (10, 0.0, 1),
        ],
    )
    def test_rounding_rule(self, leads, rounding, want):
        # 2,401 / 40 = 60.025 → up to 61; 2,419 / 40 = 60.475 → nearest 60; 2,421 → 60.525 → 61.
        assert reps_needed(leads, 40, 1.0, rounding) == want

    def test_no_load_per_rep(self):
        with pytest.raises(CapacityInputError, match=r"leads per rep × utilisation must be > 0"):
            reps_needed(100, 40, 0.0)

    def test_negative_leads(self):
        with pytest.raises(CapacityInputError, match="leads must be ≥ 0, got -5"):
            reps_needed(-5, 40)

    def test_bad_rounding(self):
        with pytest.raises(CapacityInputError, match=r"rounding must be in \[0, 1\), got 1"):
            reps_needed(100, 40, 1.0, 1.0)


class TestRampCurve:
    def test_ninety_days(self):
        # Linear to 100 % at day 90, averaged per 30-day month: 15/90, 45/90, 75/90, then 1.
        assert ramp_curve(90, 5).tolist() == pytest.approx([1 / 6, 1 / 2, 5 / 6, 1, 1])

    def test_forty_five_days(self):
        # Month 1: mean of d/45 over 0..30 = 15/45; month 2: (∫30..45 d/45 + 15) / 30 = 11/12.
        assert ramp_curve(45, 3).tolist() == pytest.approx([1 / 3, 11 / 12, 1])

    def test_negative(self):
        with pytest.raises(CapacityInputError, match="days to full productivity must be ≥ 0"):
            ramp_curve(-1, 2)


NOW = HiringTerms(ramp_days=0, time_to_hire_days=0, attrition=0.0)


class TestHiringPlan:
    def test_zero_growth_no_attrition_hires_nobody(self):
        plan = hiring_plan([2_400] * 12, 60, HiringTerms(attrition=0.0))
        assert plan["hires"].sum() == 0
        assert (plan["productive"] == 60).all() and (plan["status"] == "covered").all()

    def test_zero_growth_backfills_attrition(self):
        # 60 reps, 2 % leave a month, hires start at once at full speed.
        # Month 1: 58.8 heads < 60 → 2 hires. Month 2: 60·0.98² + 2·0.98 = 59.584 → 1 hire.
        plan = hiring_plan(
            [2_400] * 6, 60, HiringTerms(ramp_days=0, attrition=0.02, time_to_hire_days=0)
        )
        assert plan["hires"].tolist()[:2] == [2, 1]
        assert plan["productive"].iloc[0] == pytest.approx(60.8)
        assert plan["leavers"].iloc[0] == pytest.approx(1.2)
        assert (plan["productive"] >= plan["needed"] - 1e-9).all()

    def test_shrinking_volume_needs_no_hires(self):
        leads = [2_400 * 0.95**k for k in range(1, 13)]
        plan = hiring_plan(leads, 60, HiringTerms(attrition=0.0))
        assert plan["hires"].sum() == 0
        assert plan["needed"].is_monotonic_decreasing and (plan["status"] == "covered").all()

    def test_attrition_100_percent(self):
        # Everyone leaves every month: today's 5 reps are gone in month 1 (5 leavers); each
        # month's 3 needed reps are hired that month and gone the next.
        plan = hiring_plan(
            [120] * 4, 5, HiringTerms(attrition=1.0, ramp_days=0, time_to_hire_days=0)
        )
        assert plan["leavers"].iloc[0] == 5
        assert plan["hires"].tolist() == [3, 3, 3, 3]
        assert plan["productive"].tolist() == [3, 3, 3, 3]

    def test_attrition_100_percent_with_ramp_is_short(self):
        plan = hiring_plan([120] * 4, 5, HiringTerms(attrition=1.0, time_to_hire_days=0))
        # New reps work one month at 1/6 of full speed: 3 hires give 0.5 reps.
        assert plan["productive"].tolist() == pytest.approx([0.5] * 4)
        assert plan["status"].str.startswith("short by").all()

    def test_time_to_hire(self):
        # 45 days → a requisition opened in month m starts in month m + 2: nobody in months
        # 1–2, and month 3's hires are requisitions opened in month 1.
        plan = hiring_plan([2_400] + [3_000] * 8, 60, HiringTerms(attrition=0.0))
        assert plan["hires"].iloc[:2].sum() == 0
        assert plan["requisitions"].iloc[0] == plan["hires"].iloc[2]
        assert plan["requisitions"].sum() == plan["hires"].sum()
        assert plan.loc[1, "status"] == "peak: overtime"  # 60 reps × 55 ≥ 3,000

    def test_ramp_starts_hires_three_months_ahead(self):
        # Growth in month 6 only; with a 90-day ramp the hires start in month 3.
        plan = hiring_plan([2_400] * 5 + [2_800] * 3, 60, HiringTerms(attrition=0.0))
        assert plan["hires"].tolist() == [0, 0, 10, 0, 0, 0, 0, 0]
        assert plan.loc[5, "productive"] == pytest.approx(70)

    def test_short_when_leads_outrun_peak(self):
        plan = hiring_plan([5_000], 60, HiringTerms(attrition=0.0))
        # 60 × 55 = 3,300 < 5,000; 125 needed.
        assert plan.loc[0, "status"] == "short by 65.0 reps"

    def test_series_keeps_month_labels(self):
        months = pd.date_range("2027-01-01", periods=3, freq="MS")
        plan = hiring_plan(pd.Series([2_400.0] * 3, index=months), 60)
        assert plan["month"].tolist() == list(months)

    def test_negative_leads(self):
        with pytest.raises(
            CapacityInputError, match=r"leads must be ≥ 0 in every month; got month 2"
        ):
            hiring_plan([10, -1], 1)

    def test_empty(self):
        with pytest.raises(CapacityInputError, match="at least one month of leads"):
            hiring_plan([], 1)

    def test_bad_attrition(self):
        with pytest.raises(CapacityInputError, match=r"attrition must be in 0–100 %, got 150.0%"):
            HiringTerms(attrition=1.5)

    @given(
        st.lists(st.floats(0, 6_000), min_size=1, max_size=18),
        st.integers(0, 120),
        st.floats(0, 0.2),
    )
    def test_covered_once_hires_can_arrive(self, leads, reps, attrition):
        terms = HiringTerms(ramp_days=0, time_to_hire_days=0, attrition=attrition)
        plan = hiring_plan(leads, reps, terms)
        assert (plan["productive"] >= plan["needed"] - 1e-6).all()


class TestQuarterlyHires:
    def test_calendar_quarters(self):
        months = pd.date_range("2026-11-01", periods=5, freq="MS")
        plan = pd.DataFrame(
            {"month": months, "hires": [1, 2, 3, 4, 5], "requisitions": [0, 0, 1, 0, 0]}
        )
        out = quarterly_hires(plan)
        assert out.values.tolist() == [["2026 Q4", 3, 0], ["2027 Q1", 12, 1]]

    def test_the_teams_cost_rolls_up_by_quarter(self):
        months = pd.date_range("2026-11-01", periods=4, freq="MS")
        plan = pd.DataFrame(
            {
                "month": months,
                "hires": [0, 1, 0, 0],
                "requisitions": [0, 0, 0, 0],
                "cost": [1_000.0, 2_000.0, 3_000.0, 4_000.0],
            }
        )
        out = quarterly_hires(plan)
        assert out["cost"].tolist() == [3_000.0, 7_000.0]


class TestHiringCost:
    def test_the_plan_costs_its_headcount_at_the_loaded_cost_of_a_rep(self):
        # 60 reps today, none leaving; 10 hires start in month 1 (no time to hire) and are
        # paid from their first day, ramping or not
        terms = HiringTerms(attrition=0.0, time_to_hire_days=0, rep_monthly_cost=9_000.0)
        plan = hiring_plan([2_800, 2_800], 60, terms)
        assert plan["headcount"].tolist() == [70.0, 70.0]
        assert plan["cost"].tolist() == [630_000.0, 630_000.0]
        assert plan["productive"].iloc[0] < 70  # the cost is not the productive reps'

    def test_the_loaded_cost_comes_from_settings(self):
        settings = Settings().replace({"hiring.rep_monthly_cost": 7_250.0})
        assert HiringTerms.from_settings(settings).rep_monthly_cost == 7_250.0
        assert Settings().hiring.rep_monthly_cost == 8_000.0


class TestSalesCapacity:
    def test_productive_reps_times_load(self):
        plan = hiring_plan([2_400, 2_400, 2_400, 3_000], 60, NOW)
        # Month 4 needs 75 reps, hired that month at full speed: 75 × 40 = 3,000.
        assert sales_capacity(plan, 4) == pytest.approx(3_000)

    def test_month_not_in_plan(self):
        plan = hiring_plan(pd.Series([1.0], index=[pd.Timestamp("2027-01-01")]), 1)
        with pytest.raises(CapacityInputError, match="month Mar 2027 is not in the hiring plan"):
            sales_capacity(plan, pd.Timestamp("2027-03-01"))


def test_first_exceeded():
    values = pd.Series([2_900, 3_000, 2_000], index=["Jan", "Feb", "Mar"])
    assert first_exceeded(values, 2_975) == "Feb"
    assert first_exceeded(values, 3_500) is None
