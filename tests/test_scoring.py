"""Weighted scores: scaling, subscore definitions, composite and rank."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbook.enums import RiskClass
from leadbook.portfolio.classify import classify
from leadbook.portfolio.scoring import (
    SUBSCORES,
    composite,
    scaled,
    score_inputs,
    score_sources,
    subscores,
)
from leadbook.settings import ScoreWeights, Settings


class TestScaled:
    def test_min_max(self):
        assert scaled(pd.Series([2.0, 4.0, 3.0])).tolist() == [0.0, 1.0, 0.5]

    def test_all_equal_scores_one_and_missing_scores_zero(self):
        assert scaled(pd.Series([5.0, 5.0, np.nan])).tolist() == [1.0, 1.0, 0.0]


class TestSubscores:
    def inputs(self, **overrides):
        base = {
            "cpa": [100.0, 200.0],
            "conversion": [0.2, 0.1],
            "revenue_per_lead": [50.0, 20.0],
            "volume_stability": [0.9, 0.5],
            "conversion_consistency": [0.8, 0.6],
            "health": [1.0, 0.5],
            "diversification": [0.6, 0.4],
            "headroom": [0.5, 0.1],
            "vendor_dependence": [0.0, 0.5],
            "compliance": [1.0, 0.5],
            "cpl_volatility": [0.1, 0.3],
            "risk_class": [RiskClass.LOW, RiskClass.MEDIUM],
        }
        base.update(overrides)
        return pd.DataFrame(base, index=["a", "b"])

    def test_definitions_by_hand(self):
        s = subscores(self.inputs())
        # a is best on all three performance inputs, b worst on all three.
        assert s.loc["a", "performance"] == 100 and s.loc["b", "performance"] == 0
        assert s.loc["b", "reliability"] == pytest.approx(100 * (0.5 + 0.6 + 0.5) / 3)
        assert s.loc["a", "strategic"] == pytest.approx(100 * (0.6 + 0.5) / 2)
        # b is Medium risk: the middle third, placed by independence, compliance, health
        # and price stability
        assert s.loc["b", "risk"] == pytest.approx(100 * (1 + (0.5 + 0.5 + 0.5 + 0.7) / 4) / 3)

    def test_unknown_track_record_counts_as_none(self):
        s = subscores(
            self.inputs(
                volume_stability=[np.nan, 0.5],
                conversion_consistency=[np.nan, 0.6],
                diversification=[np.nan, 0.4],
                cpl_volatility=[np.nan, 0.3],
            )
        )
        assert s.loc["a", "reliability"] == pytest.approx(100 * (0 + 0 + 1.0) / 3)
        assert s.loc["a", "strategic"] == pytest.approx(100 * (0.5 + 0.5) / 2)
        assert s.loc["a", "risk"] == pytest.approx(100 * (2 + (1 + 1 + 1 + 0.5) / 4) / 3)


class TestScoreSources:
    def test_demo_scores(self, demo_inv):
        scores = score_sources(demo_inv)
        assert scores[SUBSCORES].stack().between(0, 100).all()
        assert sorted(scores["rank"]) == list(range(1, len(scores) + 1))
        # Referral: lowest CPA, highest conversion and revenue per lead of the portfolio.
        assert scores.loc["Referral programme", "performance"] == 100
        assert scores.loc["Referral programme", "rank"] == 1

    def test_weights_come_from_settings(self, demo_inv):
        only_risk = Settings().replace(
            {
                "score_weights.performance": 0,
                "score_weights.reliability": 0,
                "score_weights.strategic": 0,
                "score_weights.risk": 1,
            }
        )
        scores = score_sources(demo_inv, only_risk)
        assert scores["composite"].tolist() == pytest.approx(scores["risk"].tolist())

    def test_risk_orders_sources_as_their_risk_class_does(self, demo_inv):
        # the demo's High-risk test sources (Aged lead marketplace, Partner webinars) scored
        # 99 on Risk, "higher is safer", above every Low-risk source
        risk = score_sources(demo_inv)["risk"]
        classes = classify(demo_inv)["risk"]
        high, low = risk[classes == RiskClass.HIGH], risk[classes == RiskClass.LOW]
        assert {"Aged lead marketplace", "Partner webinars"} <= set(high.index)
        assert len(low) and high.max() < risk[classes == RiskClass.MEDIUM].min() <= low.min()

    def test_first_party_has_no_vendor_dependence(self, demo_inv):
        inputs = score_inputs(demo_inv)
        assert inputs.loc["Organic search", "vendor_dependence"] == 0
        share = 127_296 / demo_inv.sources["spend"].sum()
        assert inputs.loc["Premium comparison sites", "vendor_dependence"] == pytest.approx(share)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(RiskClass)),
            *[st.floats(0, 1)] * 4,
            st.one_of(st.just(float("nan")), st.floats(0, 2)),
        ),
        min_size=2,
        max_size=8,
    )
)
def test_a_safer_risk_class_always_scores_higher(rows):
    kinds, dependence, compliance, health, _, volatility = zip(*rows, strict=True)
    n = len(rows)
    inputs = pd.DataFrame(
        {
            "cpa": [100.0] * n,
            "conversion": [0.1] * n,
            "revenue_per_lead": [10.0] * n,
            "volume_stability": [0.5] * n,
            "conversion_consistency": [0.5] * n,
            "health": health,
            "diversification": [0.5] * n,
            "headroom": [0.5] * n,
            "vendor_dependence": dependence,
            "compliance": compliance,
            "cpl_volatility": volatility,
            "risk_class": kinds,
        }
    )
    risk = subscores(inputs)["risk"]
    order = {RiskClass.HIGH: 0, RiskClass.MEDIUM: 1, RiskClass.LOW: 2}
    for i in range(n):
        for j in range(n):
            if order[kinds[i]] < order[kinds[j]]:
                assert risk[i] <= risk[j]
            if kinds[i] is RiskClass.HIGH and kinds[j] is RiskClass.LOW:
                assert risk[i] < risk[j]


@given(st.lists(st.tuples(*[st.floats(0, 100)] * 4), min_size=1, max_size=10))
def test_composite_lies_between_the_subscores(rows):
    scores = pd.DataFrame(rows, columns=SUBSCORES)
    c = composite(scores, ScoreWeights())
    assert (c >= scores.min(axis=1) - 1e-9).all() and (c <= scores.max(axis=1) + 1e-9).all()
