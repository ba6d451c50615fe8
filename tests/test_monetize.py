"""Tests of leadbook.leads.money: ROI and actions, prices, deals, packages, source quality."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbook.demo import demo_inventory
from leadbook.errors import InfeasiblePolicyError
from leadbook.leads.money import (
    Deal,
    PackageSpec,
    breakeven_p,
    build_packages,
    choose_deal,
    expected_profit,
    expected_roi,
    lead_actions,
    lead_price,
    profit_threshold,
    sale_loss_note,
    with_predicted_conversion,
)
from leadbook.settings import LeadRules, Settings

money = st.floats(-1e6, 1e6, allow_nan=False)


class TestExpectedRoi:
    def test_by_hand(self):
        assert expected_roi(0.15, 2_800, 140) == pytest.approx(3.0)

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ((0.2, 100, 0), "cost must be > 0"),
            ((1.2, 100, 10), "p must be a probability in 0–1, got 1.2"),
            ((0.2, -5, 10), "value must be ≥ 0"),
        ],
    )
    def test_bad_input(self, args, message):
        with pytest.raises(ValueError, match=message):
            expected_roi(*args)


class TestLeadActions:
    def test_each_action_and_the_ranking(self):
        rules = LeadRules()
        leads = pd.DataFrame(
            {
                "probability": [0.05, 0.6, 0.2, 0.12, 0.05],
                "value": [1000.0, 1000.0, 2000.0, 1000.0, 1000.0],
                "cost": [100.0] * 5,
                "resale": [True, None, True, True, False],
            }
        )
        out = lead_actions(leads, rules)
        # ROIs 0.5, 6.0, 4.0, 1.2, 0.5 against 3.0; bands Low, High, Medium, Medium, Low.
        assert [str(a) for a in out["action"]] == [
            "sell to partner",
            "work first",
            "work first",
            "nurture",
            "drop",
        ]
        assert out["priority"].tolist()[1:3] == [1.0, 2.0]
        assert out["price"].iloc[1] == pytest.approx((0.6 * 140 + 0.4 * 70) / 0.75)

    def test_a_price_covers_the_leads_own_cost_at_the_target_margin(self):
        # the demo's L0302 cost $129.42 and was priced $95.05 from the chapter's costs alone
        leads = pd.DataFrame(
            {"probability": [0.05, 0.9], "value": [2900.0] * 2, "cost": [129.42, 20.0]}
        ).assign(resale=True)
        out = lead_actions(leads, LeadRules())
        assert out["price"].iloc[0] == pytest.approx(129.42 / 0.75)  # 25 % on its cost
        # a lead that cost less keeps the chapter's price on its expected cost
        assert out["price"].iloc[1] == pytest.approx((0.9 * 140 + 0.1 * 70) / 0.75)

    def test_a_sale_at_an_expected_loss_says_so(self):
        # the chapter's partner prices ($150 high, $30 low) against leads that cost $70
        leads = pd.DataFrame(
            {"probability": [0.05, 0.05, 0.5], "value": [1000.0] * 3, "cost": [70.0] * 3}
        ).assign(resale=True)
        out = lead_actions(leads, LeadRules())
        assert [str(a) for a in out["action"]][:2] == ["sell to partner"] * 2
        each = 0.05 * 150 + 0.95 * 30 - 70  # −$34.00
        assert out["sale_profit"].iloc[0] == pytest.approx(each)
        assert sale_loss_note(out).startswith("2 leads to sell lose $34.00 each on average")
        assert sale_loss_note(out.assign(sale_profit=5.0)) == ""


class TestProfitThreshold:
    @given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 5_000), st.floats(1, 500)), max_size=8))
    def test_no_threshold_beats_the_best(self, leads):
        p, v, c = (
            (np.array(x, dtype=float) for x in zip(*leads, strict=True))
            if leads
            else (np.array([]),) * 3
        )
        choice = profit_threshold(p, v, c, work_cost=40.0, settings_threshold=3.0)
        roi = p * v / c if len(p) else p
        # Brute force: every threshold at a lead's ROI, and one above all of them.
        best = max([0.0] + [float((p * v - 40)[roi >= t].sum()) for t in roi])
        assert choice.best_profit == pytest.approx(best, abs=1e-6)


class TestPricing:
    def test_the_chapters_expected_profit(self):
        # p(R_h − C_h) + (1 − p)(R_l − C_l) with p = 0.4: 0.4 × 60 + 0.6 × (−10) = 18.
        assert expected_profit(0.4, 160, 100, 20, 30) == pytest.approx(18.0)

    def test_price_reaches_the_margin(self):
        price = lead_price(0.4, c_high=100, c_low=50, margin=0.2)
        cost = 0.4 * 100 + 0.6 * 50
        assert (price - cost) / price == pytest.approx(0.2)

    def test_margin_of_100_percent_is_refused(self):
        with pytest.raises(ValueError, match="target margin must be below 100 %"):
            lead_price(0.4, 100, 50, 1.0)


class TestDeals:
    @given(money, money, money, money)
    def test_both_deals_earn_the_same_at_breakeven(self, l1, h1, l2, h2):
        star = breakeven_p(l1, h1, l2, h2)
        if star is None:
            assert (h1 - l1) == pytest.approx(h2 - l2, abs=1e-9)
        elif abs(star) < 1e3:
            a, b = Deal("a", l1, h1).profit(star), Deal("b", l2, h2).profit(star)
            assert a == pytest.approx(b, rel=1e-6, abs=1e-3)

    def test_the_chapters_figure_3(self):
        # Deal 1 loses at low p and wins above p*: 1 − 0.5p... by hand p* = 0.25.
        d1, d2 = Deal("Deal 1", low=-100.0, high=300.0), Deal("Deal 2", low=0.0, high=0.0)
        assert choose_deal(d1, d2, 0.1).winner == "Deal 2"
        choice = choose_deal(d1, d2, 0.5)
        assert choice.winner == "Deal 1" and choice.breakeven == pytest.approx(0.25)
        assert "break even at p* = 25.0%, above which Deal 1 wins" in choice.explanation

    def test_no_crossing_inside_0_to_1(self):
        choice = choose_deal(Deal("a", 10, 20), Deal("b", 0, 5), 0.5)
        assert choice.explanation.endswith("a wins at every p.")


def _leads():
    return pd.DataFrame(
        {
            "probability": [0.6, 0.5, 0.4, 0.3, 0.2, 0.1],
            "value": [130.0, 120.0, 110.0, 100.0, 90.0, 80.0],
            "source": ["A", "A", "B", "B", "C", "C"],
            "lead_type": ["Premium", "Premium", "Standard", "Standard", "Value", "Value"],
        },
        index=[f"L{i}" for i in range(6)],
    )


class TestBuildPackages:
    def test_matches_brute_force(self):
        leads = _leads()
        specs = [
            PackageSpec("X", size=2, min_quality=0.45, source_limits={"A": 0.5}),
            PackageSpec("Y", size=2, min_quality=0.15),
        ]
        out = build_packages(leads, specs)
        best = -1.0
        for x in itertools.permutations(range(6), 4):
            a, b = leads.iloc[list(x[:2])], leads.iloc[list(x[2:])]
            ok = (
                a["probability"].mean() >= 0.45 - 1e-9
                and (a["source"] == "A").sum() <= 1
                and b["probability"].mean() >= 0.15 - 1e-9
            )
            if ok:
                best = max(best, a["value"].sum() + b["value"].sum())
        assert out.summary["value"].sum() == pytest.approx(best)
        x = out.summary.loc["X"]
        assert x["leads"] == 2 and x["avg_probability"] >= 0.45

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            (PackageSpec("X", size=9), "the package needs 9 leads but only 6 are available"),
            (
                PackageSpec(
                    "X", size=4, type_limits={"Premium": 0.25, "Standard": 0.25, "Value": 0.25}
                ),
                "the source and lead-type limits admit at most 3 of the 4 leads",
            ),
            (
                PackageSpec("X", size=3, min_quality=0.6),
                r"must drop from 60.0% to 50.0% \(the best 3 leads average 50.0%\)",
            ),
        ],
    )
    def test_infeasible_spec_says_which_part_fails(self, spec, message):
        with pytest.raises(InfeasiblePolicyError, match=message):
            build_packages(_leads(), [spec])

    def test_competing_buyers_are_named_by_the_elastic_solve(self):
        specs = [
            PackageSpec("X", size=2, min_quality=0.55),
            PackageSpec("Y", size=2, min_quality=0.5),
        ]
        with pytest.raises(InfeasiblePolicyError, match="average probability must drop by"):
            build_packages(_leads(), specs)

    def test_unknown_source_in_a_limit(self):
        with pytest.raises(ValueError, match="no lead has source 'Z'"):
            build_packages(_leads(), [PackageSpec("X", 2, source_limits={"Z": 0.5})])


class TestPackageSpecChecks:
    @pytest.mark.parametrize(
        ("specs", "message"),
        [
            ([PackageSpec("X", 1), PackageSpec("X", 1)], "buyer names must be unique"),
            ([PackageSpec("X", 0)], "X: package size must be at least 1, got 0"),
            ([PackageSpec("X", 1, min_quality=1.5)], "X: minimum quality must lie in 0–1"),
            (
                [PackageSpec("X", 1, type_limits={"Premium": 2.0})],
                "X: the limit on 'Premium' must lie in 0–1",
            ),
        ],
    )
    def test_bad_specs(self, specs, message):
        with pytest.raises(ValueError, match=message):
            build_packages(_leads(), specs)

    def test_probabilities_outside_0_1_have_no_price(self):
        with pytest.raises(ValueError, match="probabilities must lie in 0–1"):
            lead_price(np.array([0.2, 1.2]), 100, 50, 0.2)


class TestLeadSettings:
    def test_medium_band_above_high_is_refused(self):
        from leadbook.errors import InputError

        with pytest.raises(
            InputError, match=r"the Medium lead band starts at 50\.0%, above the High"
        ):
            Settings().replace({"leads.band_medium": 0.5})


class TestPredictedConversion:
    def test_replaces_only_with_the_switch_and_enough_leads(self):
        inv = demo_inventory()
        scored = pd.DataFrame(
            {
                "source": ["Organic search"] * 30 + ["Referral programme"] * 5,
                "probability": [0.3] * 30 + [0.5] * 5,
            }
        )
        on = Settings().replace({"leads.conversion_source": "model"})
        new, record = with_predicted_conversion(inv, scored, on)
        assert new.sources.at["Organic search", "conversion"] == pytest.approx(0.3)
        assert new.sources.at["Referral programme", "conversion"] == pytest.approx(0.221)
        assert record.at["Referral programme", "reason"] == "only 5 scored leads (needs 30)"
        assert inv.sources.at["Organic search", "conversion"] == pytest.approx(0.189)
