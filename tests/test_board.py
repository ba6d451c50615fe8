"""Board KPIs: quarters, status against targets, every KPI on a hand-built portfolio, trends,
"not available" with reasons, forecast errors, quality consistency and the pitfalls.

Expected values are worked out by hand from the small portfolio below (see each comment).
"""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbook import contract as C
from leadbook.board.kpis import (
    BoardInputs,
    board_kpis,
    compute_kpi,
    kpi,
    quality_consistency_of,
    trend_word,
)
from leadbook.board.pitfalls import Shows, pitfalls
from leadbook.board.quarters import Quarter, forecast_errors, latest_quarter, quarter_actuals
from leadbook.board.specs import KPI_KEYS, BoardInputError, Direction, KpiStatus, status_of
from leadbook.portfolio.inventory import build_inventory
from leadbook.settings import Settings

Q3 = Quarter(2026, 3)


def source(name, vendor, party, leads, cpl, conversion, health, status="active", **more):
    row = {
        "source": name,
        "vendor": vendor,
        "party": party,
        "channel": "",
        "buyers": 1,
        "age_hours": 2,
        "history_months": 24,
        "leads": leads,
        "volume_cap": 200,
        "cpl": cpl,
        "conversion": conversion,
        "revenue_per_customer": 3000,
        "health": health,
        "compliance": "compliant",
        "spend": leads * cpl,
        "status": status,
        "test_phase": 1 if status == "testing" else None,
    }
    return row | more


def small_sources(**changes):
    rows = [
        # A: $6,000 of $10,000 spend (60 %); B $3,000; C testing $1,000; D paused, no spend.
        source("A", "V1", "third-party", 60, 100.0, 0.10, 4.0),
        source("B", "V2", "third-party", 30, 100.0, 0.20, 5.0),
        source("C", "In-house", "first-party", 20, 50.0, 0.15, 4.5, "testing", history_months=2),
        source("D", "V3", "third-party", 0, 90.0, 0.10, 2.0, "paused", history_months=8),
    ]
    for name, values in changes.items():
        for row in rows:
            if row["source"] == name:
                row.update(values)
    return pd.DataFrame(rows)


def month_rows(month, rows):
    return [
        {
            "month": pd.Timestamp(month),
            "source": s,
            "spend": sp,
            "leads": le,
            "customers": cu,
            "revenue": re,
        }
        for s, sp, le, cu, re in rows
    ]


def small_history():
    rows = []
    # Q2 2026: A and B only. Spend 3 × (6,000 + 3,000) = 27,000, leads 3 × 90 = 270,
    # revenue 3 × (18,000 + 18,000) = 108,000.
    for month in ("2026-04-01", "2026-05-01", "2026-06-01"):
        rows += month_rows(month, [("A", 6000, 60, 6, 18000), ("B", 3000, 30, 6, 18000)])
    # Q3 2026: A and B every month, C from August. Spend 18,000 + 9,000 + 2,000 = 29,000;
    # leads 180 + 90 + 40 = 310; customers 18 + 18 + 6 = 42; revenue 72,000 + 63,000 + 18,000
    # = 153,000.
    for month in ("2026-07-01", "2026-08-01", "2026-09-01"):
        rows += month_rows(month, [("A", 6000, 60, 6, 24000), ("B", 3000, 30, 6, 21000)])
    for month in ("2026-08-01", "2026-09-01"):
        rows += month_rows(month, [("C", 1000, 20, 3, 9000)])
    return pd.DataFrame(rows)


def small_inventory(sources=None, history=None):
    inventory, _ = build_inventory(
        small_sources() if sources is None else sources,
        None,
        small_history() if history is None else history,
    )
    return inventory


def inputs(quarter=Q3, settings=None, **optional):
    settings = settings or Settings().replace({"policy.budget": 10_000.0})
    return BoardInputs(quarter, small_inventory(), settings, **optional)


class TestQuarter:
    @pytest.mark.parametrize("text", ["2026Q4", "2026-Q4", "2026 q4", "Q4 2026", "q4-2026"])
    def test_parses_the_usual_spellings(self, text):
        assert Quarter.parse(text) == Quarter(2026, 4)

    @pytest.mark.parametrize(
        "text, message",
        [
            ("2026Q5", r"quarter '2026Q5': a year has quarters 1 to 4"),
            ("2026Q0", r"quarter '2026Q0': a year has quarters 1 to 4"),
            ("Q5 2026", r"quarter 'Q5 2026': a year has quarters 1 to 4"),
            ("2026-10", r"quarter '2026-10' is not a quarter; write it as year, Q, number"),
            ("last quarter", r"is not a quarter; write it as year, Q, number: 2026Q4"),
            ("1999Q4", r"quarter '1999Q4': the year must lie in 2000–2099"),
        ],
    )
    def test_rejects_what_is_not_a_quarter(self, text, message):
        with pytest.raises(BoardInputError, match=message):
            Quarter.parse(text)

    def test_constructor_checks_the_number(self):
        with pytest.raises(BoardInputError, match=r"2026Q7: a year has quarters 1 to 4"):
            Quarter(2026, 7)

    def test_months_shift_and_labels(self):
        q = Quarter(2026, 1)
        assert q.months == (
            pd.Timestamp("2026-01-01"),
            pd.Timestamp("2026-02-01"),
            pd.Timestamp("2026-03-01"),
        )
        assert q.shifted(-1) == Quarter(2025, 4)
        assert q.shifted(5) == Quarter(2027, 2)
        assert (q.label, q.long) == ("2026Q1", "Q1 2026")
        assert Quarter.of("2026-08-17") == Q3

    @given(st.integers(2001, 2098), st.integers(1, 4), st.integers(-8, 8))
    def test_shifting_back_and_forth_is_identity(self, year, number, n):
        q = Quarter(year, number)
        assert q.shifted(n).shifted(-n) == q
        assert q.shifted(4) == Quarter(year + 1, number)

    def test_latest_quarter_of_history(self):
        assert latest_quarter(small_history()) == Q3
        assert latest_quarter(small_history().iloc[0:0]) is None


class TestStatusOf:
    # Target 3.0 (300 %), watch margin 10 % of it = 0.3: watch down to 2.7.
    @pytest.mark.parametrize(
        "value, status",
        [
            (3.5, KpiStatus.ON),
            (3.0, KpiStatus.ON),  # exactly at target
            (2.85, KpiStatus.WATCH),  # inside the margin
            (2.7, KpiStatus.WATCH),  # the margin's edge
            (2.69, KpiStatus.OFF),  # beyond it
        ],
    )
    def test_at_least(self, value, status):
        assert status_of(value, 3.0, Direction.AT_LEAST, 0.10) is status

    # Target $85 at most, margin $8.50: watch up to $93.50.
    @pytest.mark.parametrize(
        "value, status",
        [
            (79.0, KpiStatus.ON),
            (85.0, KpiStatus.ON),
            (90.0, KpiStatus.WATCH),
            (93.5, KpiStatus.WATCH),
            (93.51, KpiStatus.OFF),
        ],
    )
    def test_at_most(self, value, status):
        assert status_of(value, 85.0, Direction.AT_MOST, 0.10) is status

    # 85 % ± 5 points on target; watch within a further 8.5 points (10 % of 85 %).
    @pytest.mark.parametrize(
        "value, status",
        [
            (0.85, KpiStatus.ON),
            (0.80, KpiStatus.ON),
            (0.90, KpiStatus.ON),
            (0.78, KpiStatus.WATCH),
            (0.715, KpiStatus.WATCH),
            (0.985, KpiStatus.WATCH),
            (0.71, KpiStatus.OFF),
            (0.99, KpiStatus.OFF),
        ],
    )
    def test_near(self, value, status):
        assert status_of(value, 0.85, Direction.NEAR, 0.10, tolerance=0.05) is status

    def test_zero_margin_has_no_watch(self):
        assert status_of(2.99, 3.0, Direction.AT_LEAST, 0.0) is KpiStatus.OFF

    @pytest.mark.parametrize("value", [None, float("nan")])
    def test_missing_value_is_not_available(self, value):
        assert status_of(value, 3.0, Direction.AT_LEAST, 0.1) is KpiStatus.NA

    def test_no_target_is_for_information(self):
        assert status_of(700.0, None, Direction.INFO, 0.1) is KpiStatus.INFO

    @given(st.floats(0.01, 100), st.floats(0, 0.5), st.floats(0, 200))
    def test_at_least_and_at_most_mirror_each_other(self, target, margin, value):
        up = status_of(value, target, Direction.AT_LEAST, margin)
        down = status_of(-value, -target, Direction.AT_MOST, margin)
        assert up is down


class TestQuarterActuals:
    def test_sums_the_quarter(self):
        a = quarter_actuals(small_inventory(), Q3)
        assert (a.spend, a.leads, a.customers, a.revenue) == (29000, 310, 42, 153000)
        assert a.first_party_spend == 2000  # C's two months
        assert a.coverage == "Jul 2026, Aug 2026, Sep 2026"

    def test_partial_quarter_says_so(self):
        history = small_history()
        a = quarter_actuals(small_inventory(history=history[history["month"] < "2026-08-01"]), Q3)
        assert a.coverage == "Jul 2026 (1 of 3 months)"


class TestKpis:
    def test_history_kpis_by_hand(self):
        got = {k.key: k for k in board_kpis(inputs())}
        # On contribution: revenue × the default 70 % gross margin, less the spend: 269 %
        # misses 300 % by more than the 10 % watch margin (270 %).
        assert got["roi"].value == pytest.approx((0.7 * 153000 - 29000) / 29000)
        assert got["roi"].status is KpiStatus.OFF
        # $93.55 a lead misses $85 by $8.55, more than the $8.50 watch margin.
        assert got["blended_cpl"].value == pytest.approx(29000 / 310)
        assert got["blended_cpl"].status is KpiStatus.OFF
        assert got["blended_cpa"].value == pytest.approx(29000 / 42)
        assert got["blended_cpa"].status is KpiStatus.INFO
        assert got["revenue_per_lead"].value == pytest.approx(153000 / 310)

    def test_roi_takes_the_margin_and_cost_to_serve_from_settings(self):
        # 90 % margin, $200 to serve each of the quarter's 42 customers:
        # (0.9 · 153,000 − 200 · 42 − 29,000) / 29,000 = 100,300 / 29,000 = 346 %: on target.
        settings = Settings().replace({"roi.gross_margin": 0.9, "roi.cost_to_serve": 200.0})
        roi = compute_kpi("roi", inputs(settings=settings))
        assert roi.value == pytest.approx(100_300 / 29_000)
        assert roi.status is KpiStatus.ON
        assert "gross margin 90%" in roi.basis and "cost to serve $200 × 42" in roi.basis

    def test_snapshot_kpis_by_hand(self):
        got = {k.key: k for k in board_kpis(inputs())}
        assert got["largest_share"].value == pytest.approx(0.6)
        assert got["largest_share"].basis == "A: $6,000 of $10,000 a month"
        # C is testing (Tier 3, High risk): 10 % of spend, exactly the experimental floor.
        assert got["experimental_share"].value == pytest.approx(0.1)
        assert got["experimental_share"].status is KpiStatus.ON
        assert got["high_risk_share"].value == pytest.approx(0.1)
        assert got["high_risk_share"].status is KpiStatus.ON  # the 10–15 % band's floor

        # Vendors in use: V1 4.0 and V2 5.0 (D's vendor is paused): 4.5, exactly the target.
        assert got["vendor_health"].value == pytest.approx(4.5)
        assert got["vendor_health"].status is KpiStatus.ON
        assert got["first_party_share"].value == pytest.approx(20 / 110)
        assert got["active_sources"].value == 3
        assert got["budget_utilisation"].value == pytest.approx(1.0)

    def test_a_band_kpi_checks_its_floor(self, demo_inv):
        # the demo's case: no High-risk spend was "on target" against at most 15 %, while
        # the Tiers tab and the pack's band table said it was below its 10–15 % band
        k = compute_kpi("high_risk_share", BoardInputs(Quarter(2026, 4), demo_inv, Settings()))
        assert (k.value, k.target, k.floor) == (0.0, 0.15, 0.10)
        assert k.status is KpiStatus.OFF
        settings = Settings().replace({"bands.high_risk.min": 0.0})
        k = compute_kpi("high_risk_share", BoardInputs(Quarter(2026, 4), demo_inv, settings))
        assert k.status is KpiStatus.ON

    @pytest.mark.parametrize(
        "reps, per_rep, value, status",
        [
            (1, 110 / 0.85, 0.85, KpiStatus.ON),
            (3, 50.0, 110 / 150, KpiStatus.WATCH),  # 73.3 %: 11.7 points from 85 %
            (2, 50.0, 1.10, KpiStatus.OFF),
        ],
    )
    def test_capacity_utilisation(self, reps, per_rep, value, status):
        settings = Settings().replace(
            {"capacity.sales_reps": reps, "capacity.leads_per_rep": per_rep}
        )
        k = compute_kpi("capacity_utilisation", inputs(settings=settings))
        assert k.value == pytest.approx(value)
        assert k.status is status

    @pytest.mark.parametrize(
        "budget, status",
        [(10_000 / 0.95, KpiStatus.ON), (10_000 / 0.9, KpiStatus.WATCH), (12_000, KpiStatus.OFF)],
    )
    def test_budget_utilisation_boundaries(self, budget, status):
        k = compute_kpi(
            "budget_utilisation", inputs(settings=Settings().replace({"policy.budget": budget}))
        )
        assert k.status is status

    def test_blank_budget_is_not_available(self):
        k = compute_kpi("budget_utilisation", inputs(settings=Settings()))
        assert k.value is None and k.status is KpiStatus.NA
        assert k.basis == "no monthly budget on Settings (Budget is blank)"

    def test_a_quarter_without_history_is_not_available(self):
        k = compute_kpi("roi", inputs(quarter=Quarter(2027, 1)))
        assert k.status is KpiStatus.NA
        assert k.basis == "History has no month of Q1 2027"

    @pytest.mark.parametrize(
        "key, reason",
        [
            ("forecast_board", "no forecast log yet: Refresh forecast keeps one"),
            ("forecast_monthly", "no forecast log yet: Refresh forecast keeps one"),
            ("quality_consistency", "no lead scores yet: Score leads fills them"),
            ("roi_12m", "no 12-month ROI yet"),
        ],
    )
    def test_later_capabilities_are_not_available_with_a_reason(self, key, reason):
        k = compute_kpi(key, inputs())
        assert k.value is None and k.status is KpiStatus.NA
        assert k.basis.startswith(reason)

    def test_a_gatherers_reason_wins(self):
        k = compute_kpi("quality_consistency", inputs(reasons={"quality_consistency": "why"}))
        assert k.basis == "why"

    def test_optional_inputs_are_used_when_given(self):
        log = pd.DataFrame(
            {
                "made": pd.Timestamp("2026-07-01"),
                "month": pd.to_datetime(["2026-07-01", "2026-08-01", "2026-09-01"]),
                "source": "Portfolio",
                "measure": "leads",
                "forecast": [100.0, 100.0, 100.0],
                "actual": [90.0, 100.0, 125.0],
            }
        )
        got = {
            k.key: k
            for k in board_kpis(inputs(forecast_log=log, roi_12m=3.4, quality_consistency=0.93))
        }
        # quarter: |300 − 315| / 315; months: mean(10/90, 0, 25/125)
        assert got["forecast_board"].value == pytest.approx(15 / 315)
        assert got["forecast_board"].status is KpiStatus.ON
        # 10.4 % misses the ±10 % target by 0.4 points, inside the 1-point watch margin
        assert got["forecast_monthly"].value == pytest.approx((10 / 90 + 0.2) / 3)
        assert got["forecast_monthly"].status is KpiStatus.WATCH
        assert got["roi_12m"].value == 3.4 and got["roi_12m"].source == "ROI"
        assert got["quality_consistency"].status is KpiStatus.ON

    def test_after_rebalance_reads_the_allocation(self):
        allocation = pd.DataFrame(
            {"recommended": [4000.0, 4000.0, 2000.0, 0.0], "leads": [40, 40, 40, 0]},
            index=["A", "B", "C", "D"],
        )
        got = {k.key: k for k in board_kpis(inputs(allocation=allocation))}
        assert got["largest_share"].planned == pytest.approx(0.4)
        assert got["experimental_share"].planned == pytest.approx(0.2)
        assert got["budget_utilisation"].planned == pytest.approx(1.0)
        assert got["roi"].planned is None

    def test_every_kpi_has_a_board_history_column(self):
        assert set(KPI_KEYS) == set(C.BOARD_HISTORY_TABLE.keys) - {"quarter", "exported"}


class TestTrends:
    def saved(self):
        # Two earlier exports; Q1 2026 saved a largest share of 70 %, Q2 of 65 %.
        return pd.DataFrame(
            {
                "quarter": ["2026Q1", "2026Q2"],
                "largest_share": [0.70, 0.65],
                "roi": [9.99, float("nan")],
            }
        )

    def test_saved_values_make_the_trend(self):
        k = compute_kpi("largest_share", inputs(saved=self.saved()))
        assert [(p.quarter.label, p.value) for p in k.trend] == [
            ("2025Q4", None),
            ("2026Q1", 0.70),
            ("2026Q2", 0.65),
        ]
        assert k.previous == 0.65
        assert k.trend_word == "improving"  # 70 % → 60 %, at most 40 % is better

    def test_history_fills_quarters_without_a_saved_value(self):
        k = compute_kpi("roi", inputs(saved=self.saved()))
        # Q1 2026 as saved; Q2 2026 saved blank, so from History, on contribution at the
        # default 70 % margin: (0.7 · 108,000 − 27,000) / 27,000 = 1.8.
        assert [p.value for p in k.trend] == [None, 9.99, pytest.approx(1.8)]
        # read against Q2's 300 %, the previous quarter shown beside it (not Q1's 999 %)
        assert (
            k.value == pytest.approx((0.7 * 153000 - 29000) / 29000) and k.trend_word == "improving"
        )

    def test_the_trend_word_reads_the_previous_quarter_shown_beside_it(self):
        # the demo's case: blended CPL (at most) fell over the year but rose last quarter
        saved = pd.DataFrame({"quarter": ["2026Q1", "2026Q2"], "blended_cpl": [130.0, 111.19]})
        k = compute_kpi("blended_cpl", inputs(saved=saved))
        k = replace(k, value=113.23)
        assert k.previous == 111.19
        assert k.trend_word == "worsening"

    def test_without_the_previous_quarter_the_word_names_the_one_it_reads(self):
        saved = pd.DataFrame({"quarter": ["2026Q1"], "largest_share": [0.70]})
        k = compute_kpi("largest_share", inputs(saved=saved))
        assert k.previous is None
        assert k.trend_word == "improving since 2026Q1"  # 70 % → 60 %, at most 40 %

    def test_no_earlier_value_is_new(self):
        assert compute_kpi("active_sources", inputs()).trend_word == "new"

    def test_trend_length_follows_settings(self):
        settings = Settings().replace({"board.trend_quarters": 6, "policy.budget": 1.0})
        assert len(compute_kpi("roi", inputs(settings=settings)).trend) == 5

    @pytest.mark.parametrize(
        "before, now, direction, target, word",
        [
            (0.80, 0.84, Direction.NEAR, 0.85, "improving"),
            (0.84, 0.95, Direction.NEAR, 0.85, "worsening"),
            (100.0, 100.9, Direction.AT_MOST, 85.0, "steady"),
            (3.0, 3.5, Direction.AT_LEAST, 3.0, "improving"),
            (0.22, 0.28, Direction.INFO, None, "rising"),
        ],
    )
    def test_trend_words(self, before, now, direction, target, word):
        assert trend_word(before, now, direction, target) == word


class TestKpiEntryPoint:
    def test_defaults_to_historys_latest_quarter(self):
        k = kpi("roi", small_inventory())
        assert k.quarter == Q3
        assert k.value == pytest.approx((0.7 * 153000 - 29000) / 29000)

    def test_takes_a_quarter(self):
        # (0.7 · 108,000 − 27,000) / 27,000: on contribution at the default 70 % margin.
        assert kpi("roi", small_inventory(), quarter="2026Q2").value == pytest.approx(1.8)

    def test_unknown_name_suggests_the_nearest(self):
        with pytest.raises(BoardInputError, match=r"unknown KPI 'blended_cpi' — did you mean "):
            kpi("blended_cpi", small_inventory())

    def test_bad_quarter(self):
        with pytest.raises(BoardInputError, match=r"a year has quarters 1 to 4"):
            kpi("roi", small_inventory(), quarter="2026Q5")


class TestForecastErrors:
    def log(self, made):
        return pd.DataFrame(
            {
                "made": pd.to_datetime(made),
                "month": pd.to_datetime(["2026-07-01", "2026-08-01", "2026-09-01", "2026-07-01"]),
                "source": ["Portfolio", "Portfolio", "Portfolio", "A"],
                "measure": "leads",
                "forecast": [110.0, 90.0, 100.0, 1.0],
                "actual": [100.0, 100.0, None, 50.0],
            }
        )

    def test_months_with_actuals_of_the_forecast_made_by_the_quarter(self):
        e = forecast_errors(self.log(["2026-07-01"] * 4), Q3)
        assert e.quarter == pytest.approx(0.0)  # 200 forecast, 200 actual
        assert e.monthly == pytest.approx(0.1)
        assert e.basis == "forecast made Jul 2026 for Jul 2026, Aug 2026"

    def test_the_latest_forecast_before_the_quarter_is_judged(self):
        log = pd.concat(
            [
                self.log(["2026-04-01"] * 4).assign(forecast=[200.0, 200.0, 200.0, 1.0]),
                self.log(["2026-07-01"] * 4),
            ]
        )
        assert forecast_errors(log, Q3).monthly == pytest.approx(0.1)

    def test_forecasts_made_during_the_quarter_do_not_count(self):
        assert forecast_errors(self.log(["2026-08-01"] * 4), Q3) is None


class TestQualityConsistency:
    def test_lead_weighted_relative_gap(self):
        frame = pd.DataFrame(
            {
                "leads": [100, 300, 0],
                "predicted": [0.12, 0.30, 0.5],
                "conversion": [0.10, 0.30, 0.1],
            }
        )
        # weights ¼ and ¾ (the third has no open leads): 1 − (¼ × 20 % + ¾ × 0) = 95 %
        assert quality_consistency_of(frame) == pytest.approx(0.95)

    def test_nothing_to_compare(self):
        frame = pd.DataFrame({"leads": [0], "predicted": [0.1], "conversion": [0.1]})
        assert quality_consistency_of(frame) is None


class TestPitfalls:
    def shows(self, inp):
        return {p.key: p for p in pitfalls(inp)}

    def test_small_portfolio(self):
        found = self.shows(inputs())
        # 3 active sources, 2 carry 80 % of leads (A 60 + B 30 of 110 = 82 %).
        assert found["over_diversification"].shows is Shows.CLEAR
        assert "3 active sources" in found["over_diversification"].evidence
        assert "2 carry 80 % of leads" in found["over_diversification"].evidence
        # Shares 60/30/10: 1 / (0.36 + 0.09 + 0.01) = 2.2 equal sources < 5.
        assert found["over_dependence"].shows is Shows.WARNING
        assert "as concentrated as 2.2 equal sources" in found["over_dependence"].evidence
        assert found["no_experiments"].shows is Shows.CLEAR
        # D (health 2.0) is paused, so no vendor in use is below 3.0.
        assert found["vendor_neglect"].shows is Shows.CLEAR

    def test_too_many_sources(self):
        rows = [source(f"S{i}", f"V{i}", "third-party", 10, 50.0, 0.1, 4.0) for i in range(16)]
        inv, _ = build_inventory(pd.DataFrame(rows))
        found = self.shows(BoardInputs(Q3, inv, Settings()))
        assert found["over_diversification"].shows is Shows.WARNING
        assert "16 active sources (warning above 15); 13 carry 80 % of leads" in (
            found["over_diversification"].evidence
        )

    def test_no_experimental_budget(self):
        inv = small_inventory(small_sources(C={"status": "active", "history_months": 30}))
        found = self.shows(BoardInputs(Q3, inv, Settings()))
        assert found["no_experiments"].shows is Shows.WARNING
        assert found["no_experiments"].evidence.startswith("experimental sources get 0.0%")

    def test_declining_first_party_investment(self):
        rows = []
        # first-party share of spend: 40 % (Q1), 30 % (Q2), 20 % (Q3)
        for quarter, first in ((1, 400), (2, 300), (3, 200)):
            for month in Quarter(2026, quarter).months:
                rows += month_rows(month, [("A", 1000 - first, 10, 1, 0), ("C", first, 5, 1, 0)])
        inv = small_inventory(history=pd.DataFrame(rows))
        found = self.shows(BoardInputs(Q3, inv, Settings()))
        assert found["first_party_declining"].shows is Shows.WARNING
        assert "40.0% → 30.0% → 20.0%" in found["first_party_declining"].evidence

    def test_first_party_needs_three_quarters(self):
        found = self.shows(inputs())
        assert found["first_party_declining"].shows is Shows.NA
        assert "History has no spend for Q1 2026" in found["first_party_declining"].evidence

    def test_preferred_source_at_its_cap(self):
        inv = small_inventory(small_sources(A={"volume_cap": 62}))
        found = self.shows(BoardInputs(Q3, inv, Settings()))
        assert found["capped_preferred"].shows is Shows.WARNING
        assert found["capped_preferred"].evidence == "A 3% headroom"

    def test_weak_vendor_in_use_and_falling_health(self):
        inv = small_inventory(small_sources(D={"status": "active", "leads": 5, "spend": 450.0}))
        saved = pd.DataFrame({"quarter": ["2026Q2"], "vendor_health": [4.2]})
        found = self.shows(BoardInputs(Q3, inv, Settings(), saved=saved))
        evidence = found["vendor_neglect"].evidence
        assert found["vendor_neglect"].shows is Shows.WARNING
        # vendors in use: 4.0, 5.0, 2.0 → 3.67, down from the 4.2 saved for Q2
        assert evidence == "D (V3) health 2.0; average health fell from 4.20 to 3.67"


def test_every_kpi_is_computed_for_the_demo(demo_inv, demo_cfg):
    kpis = board_kpis(BoardInputs(Quarter(2026, 4), demo_inv, demo_cfg))
    assert [k.key for k in kpis] == list(KPI_KEYS)
    for k in kpis:
        assert (k.value is None) == (k.status is KpiStatus.NA)
        assert k.value is None or math.isfinite(k.value)
    not_available = {k.key for k in kpis if k.status is KpiStatus.NA}
    assert not_available == {"roi_12m", "forecast_board", "forecast_monthly", "quality_consistency"}


def test_inputs_are_not_changed_by_computing(demo_inv, demo_cfg):
    before = demo_inv.sources.copy()
    board_kpis(replace(BoardInputs(Quarter(2026, 4), demo_inv, demo_cfg)))
    assert demo_inv.sources.equals(before)
