"""Classification: the seed's criteria, boundaries, reasons, monotonicity, band usage."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbook.enums import Compliance, LeadType, RiskClass, Status, Tier
from leadbook.portfolio.classify import band_usage, classify, lead_type_of, risk_of, tier_of
from leadbook.settings import ClassRules, Settings

RULES = ClassRules()
NAN = float("nan")
ORDER = {
    Tier.T1: 1,
    Tier.T2: 2,
    Tier.T3: 3,
    LeadType.PREMIUM: 1,
    LeadType.STANDARD: 2,
    LeadType.VALUE: 3,
    RiskClass.LOW: 1,
    RiskClass.MEDIUM: 2,
    RiskClass.HIGH: 3,
}


class TestTierOf:
    @pytest.mark.parametrize(
        ("months", "tier"),
        [(0, Tier.T3), (5, Tier.T3), (6, Tier.T2), (11, Tier.T2), (12, Tier.T1), (40, Tier.T1)],
    )
    def test_months_boundaries(self, months, tier):
        assert tier_of(months, Status.ACTIVE, 0.1, 4.5, RULES)[0] is tier

    def test_testing_is_tier3_whatever_the_history(self):
        assert tier_of(30, Status.TESTING, 0.1, 5, RULES) == (
            Tier.T3,
            "Tier 3: in a test phase (new source under evaluation)",
        )

    def test_reason_names_the_next_threshold(self):
        assert (
            tier_of(4, Status.ACTIVE, NAN, 4, RULES)[1]
            == "Tier 3: 4 months of history (needs 6 for Tier 2)"
        )

    def test_inconsistent_conversion_and_weak_vendor_hold_back_tier1(self):
        assert tier_of(24, Status.ACTIVE, 0.30, 4.5, RULES)[0] is Tier.T2
        tier, reason = tier_of(24, Status.ACTIVE, 0.10, 3.0, RULES)
        assert tier is Tier.T2
        assert reason.endswith("but vendor health 3.0 (Tier 1 needs ≥ 3.5)")

    def test_unknown_consistency_is_said(self):
        assert "consistency not checked" in tier_of(24, Status.ACTIVE, NAN, 4.5, RULES)[1]

    def test_thresholds_come_from_settings(self):
        rules = ClassRules(tier1_months=24)
        assert tier_of(20, Status.ACTIVE, 0.1, 4.5, rules)[0] is Tier.T2


class TestLeadTypeOf:
    @pytest.mark.parametrize(
        ("buyers", "age", "kind"),
        [
            (1, 0, LeadType.PREMIUM),
            (2, 24, LeadType.PREMIUM),
            (3, 1, LeadType.STANDARD),
            (2, 25, LeadType.STANDARD),
            (5, 72, LeadType.STANDARD),
            (6, 1, LeadType.VALUE),
            (1, 73, LeadType.VALUE),
        ],
    )
    def test_seed_criteria(self, buyers, age, kind):
        assert lead_type_of(buyers, age, RULES)[0] is kind

    def test_reason(self):
        assert (
            lead_type_of(3, 12, RULES)[1]
            == "Standard: 3 buyers per lead, 12 h old (Premium needs ≤ 2 buyers and ≤ 24 h)"
        )


class TestRiskOf:
    def test_every_high_reason_is_listed(self):
        risk, reason = risk_of(3, Status.ACTIVE, Compliance.NONCOMPLIANT, 2.0, 0.5, RULES)
        assert risk is RiskClass.HIGH
        assert reason == (
            "High: only 3 months of history; non-compliant; vendor health 2.0 "
            "(below 3.0); volume varies 50% (above 40%)"
        )

    def test_medium_says_what_keeps_it_from_low(self):
        risk, reason = risk_of(30, Status.ACTIVE, Compliance.REVIEW, 4.5, 0.1, RULES)
        assert risk is RiskClass.MEDIUM
        assert reason == "Medium: compliance under review"

    def test_unknown_volatility_is_not_low(self):
        assert (
            risk_of(30, Status.ACTIVE, Compliance.COMPLIANT, 5, NAN, RULES)[0] is RiskClass.MEDIUM
        )


@given(
    months=st.integers(0, 60), extra=st.integers(0, 60), cv=st.floats(0, 1), health=st.floats(1, 5)
)
def test_more_history_never_lowers_the_tier(months, extra, cv, health):
    a = tier_of(months, Status.ACTIVE, cv, health, RULES)[0]
    b = tier_of(months + extra, Status.ACTIVE, cv, health, RULES)[0]
    assert ORDER[b] <= ORDER[a]


@given(
    buyers=st.integers(1, 20),
    age=st.floats(0, 2_000),
    more=st.integers(0, 5),
    older=st.floats(0, 500),
)
def test_more_sharing_or_age_never_raises_the_lead_type(buyers, age, more, older):
    a = lead_type_of(buyers, age, RULES)[0]
    b = lead_type_of(buyers + more, age + older, RULES)[0]
    assert ORDER[b] >= ORDER[a]


@given(
    months=st.integers(0, 60), health=st.floats(1, 5), worse=st.floats(0, 4), vol=st.floats(0, 1)
)
def test_a_weaker_vendor_never_lowers_the_risk(months, health, worse, vol):
    a = risk_of(months, Status.ACTIVE, Compliance.COMPLIANT, health, vol, RULES)[0]
    b = risk_of(months, Status.ACTIVE, Compliance.COMPLIANT, max(1, health - worse), vol, RULES)[0]
    assert ORDER[b] >= ORDER[a]


class TestClassify:
    def test_demo_covers_every_class(self, demo_inv):
        classes = classify(demo_inv)
        assert set(classes["tier"]) == set(Tier)
        assert set(classes["lead_type"]) == set(LeadType)
        assert set(classes["risk"]) == set(RiskClass)
        assert list(classes.index) == demo_inv.names

    def test_demo_reasons_are_one_line_each(self, demo_inv):
        classes = classify(demo_inv)
        for column in ("tier_reason", "lead_type_reason", "risk_reason"):
            assert all("\n" not in r and len(r) < 140 for r in classes[column])
        assert (
            classes.loc["Insurance aggregators", "tier_reason"]
            == "Tier 2: 9 months of history (needs 12 for Tier 1)"
        )


class TestBandUsage:
    def test_shares_add_up_to_one_per_group(self, demo_inv):
        usage = band_usage(demo_inv.sources["spend"], classify(demo_inv))
        assert usage.groupby("group")["share"].sum().tolist() == pytest.approx([1, 1, 1])

    def test_status_against_bands(self):
        classes = pd.DataFrame(
            {
                "tier": [Tier.T1, Tier.T2, Tier.T3],
                "lead_type": [LeadType.PREMIUM] * 3,
                "risk": [RiskClass.LOW] * 3,
            },
            index=list("abc"),
        )
        spend = pd.Series([65.0, 25.0, 10.0], index=list("abc"))
        usage = band_usage(spend, classes, Settings()).set_index("klass")
        assert usage.loc[["Tier 1", "Tier 2", "Tier 3"], "status"].tolist() == ["within"] * 3
        assert usage.loc["Premium", "status"] == "above"
        assert usage.loc["Value", "status"] == "below"

    def test_zero_spend_gives_zero_shares(self, demo_inv):
        classes = classify(demo_inv)
        usage = band_usage(demo_inv.sources["spend"] * 0, classes)
        assert usage["share"].eq(0).all()
        assert not any(math.isnan(x) for x in usage["share"])
