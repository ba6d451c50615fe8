"""Weighted source scores: Performance, Reliability, Strategic and Risk on 0–100.

Each subscore is the mean of named inputs, each scaled to 0–1 (1 is best):

- **Performance**: CPA (lower is better), conversion, revenue per lead — each scaled
  min–max across the scored sources, so the best source on an input scores 1 and the worst 0.
- **Reliability**: volume stability (1 − variation of monthly leads over the last 12 months),
  conversion consistency (1 − variation of monthly conversion), vendor health ((h − 1) / 4).
  A source with under 3 months in History has no track record: stability and consistency 0.
- **Strategic**: diversification value ((1 − ρ) / 2, ρ the correlation of the source's monthly
  conversion with the rest of the portfolio's; 0.5 when under 6 months overlap) and growth
  headroom (unused share of the volume cap).
- **Risk** (higher is safer): first the source's risk class
  (:func:`leadbook.portfolio.classify.classify`: track record, test phase, compliance, vendor
  health, volume variation) — High scores 0–33, Medium 33–67, Low 67–100, so every Low-risk
  source scores above every High-risk one — then, within its class, the mean of vendor
  independence (1 − the vendor's share of today's spend; in-house sources have no outside
  vendor), compliance (compliant 1, under review 0.5, non-compliant 0), vendor health ((h − 1) /
  4) and price stability (1 − variation of monthly CPL; 0.5 when unknown).

The composite is the Settings-weighted sum (seed 40/25/20/15) and the rank orders it, 1 best.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadbook.enums import Compliance, Party, RiskClass
from leadbook.portfolio.classify import classify
from leadbook.portfolio.history import conversion_correlation, variation
from leadbook.portfolio.inventory import Inventory, source_cpa
from leadbook.settings import ScoreWeights, Settings

SUBSCORES = ["performance", "reliability", "strategic", "risk"]
COMPLIANCE_SCORE = {Compliance.COMPLIANT: 1.0, Compliance.REVIEW: 0.5, Compliance.NONCOMPLIANT: 0.0}


def scaled(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Min–max scale to 0–1 (1 best); all-equal values all score 1, missing values 0.

    Examples
    --------
    >>> scaled(pd.Series([100.0, 150.0, 200.0]), higher_is_better=False).tolist()
    [1.0, 0.5, 0.0]
    """
    lo, hi = values.min(), values.max()
    if not np.isfinite(hi - lo) or hi == lo:
        return pd.Series(np.where(values.notna(), 1.0, 0.0), index=values.index)
    out = (values - lo) / (hi - lo)
    return (out if higher_is_better else 1.0 - out).fillna(0.0)


RISK_BANDS = {RiskClass.HIGH: 0, RiskClass.MEDIUM: 1, RiskClass.LOW: 2}
"""Each risk class's third of the Risk subscore, from the bottom."""


def score_inputs(
    inventory: Inventory,
    settings: Settings | None = None,
    *,
    classes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The named inputs of every subscore, per source (fractions, not yet scaled), and the
    risk class (as the Tiers tab has it, under ``settings``) that places the Risk subscore.

    ``classes``: :func:`~leadbook.portfolio.classify.classify` of the same inventory under
    the same settings, when the caller has it (else it is computed)."""
    src = inventory.sources
    stats = variation(inventory.history).reindex(inventory.names)
    if classes is None:
        classes = classify(inventory, settings)
    risk = classes["risk"]
    rho = conversion_correlation(inventory.history).reindex(inventory.names)
    third = src["party"] == Party.THIRD
    total = src["spend"].sum()
    vendor_spend = src["spend"].groupby(src["vendor"]).transform("sum")
    dependence = (vendor_spend / total if total > 0 else vendor_spend * 0.0).where(third, 0.0)
    headroom = (src["volume_cap"] - src["leads"]) / src["volume_cap"].where(src["volume_cap"] > 0)
    return pd.DataFrame(
        {
            "cpa": source_cpa(src),
            "conversion": src["conversion"],
            "revenue_per_lead": src["conversion"] * src["revenue_per_customer"],
            "volume_stability": (1 - stats["leads_cv"]).clip(0, 1),
            "conversion_consistency": (1 - stats["conversion_cv"]).clip(0, 1),
            "health": (src["health"] - 1) / 4,
            "diversification": (1 - rho) / 2,
            "headroom": headroom.clip(0, 1).fillna(0.0),
            "vendor_dependence": dependence,
            "compliance": src["compliance"].map(COMPLIANCE_SCORE).astype(float),
            "cpl_volatility": stats["cpl_cv"],
            "risk_class": risk.astype(object),
        }
    )


def subscores(inputs: pd.DataFrame) -> pd.DataFrame:
    """Performance, Reliability, Strategic and Risk (0–100) from :func:`score_inputs`."""
    performance = pd.concat(
        [
            scaled(inputs["cpa"], higher_is_better=False),
            scaled(inputs["conversion"]),
            scaled(inputs["revenue_per_lead"]),
        ],
        axis=1,
    ).mean(axis=1)
    reliability = pd.concat(
        [
            inputs["volume_stability"].fillna(0.0),
            inputs["conversion_consistency"].fillna(0.0),
            inputs["health"],
        ],
        axis=1,
    ).mean(axis=1)
    strategic = pd.concat([inputs["diversification"].fillna(0.5), inputs["headroom"]], axis=1).mean(
        axis=1
    )
    within = pd.concat(
        [
            1 - inputs["vendor_dependence"],
            inputs["compliance"],
            inputs["health"].clip(0, 1),
            (1 - inputs["cpl_volatility"]).clip(0, 1).fillna(0.5),
        ],
        axis=1,
    ).mean(axis=1)
    band = inputs["risk_class"].map(lambda c: RISK_BANDS[RiskClass(c)]).astype(float)
    risk = (band + within) / len(RISK_BANDS)
    return 100 * pd.DataFrame(
        {
            "performance": performance,
            "reliability": reliability,
            "strategic": strategic,
            "risk": risk,
        }
    )


def composite(scores: pd.DataFrame, weights: ScoreWeights) -> pd.Series:
    """The weighted sum of the subscores, in the order the workbook's formula adds them."""
    return (
        scores["performance"] * weights.performance
        + scores["reliability"] * weights.reliability
        + scores["strategic"] * weights.strategic
        + scores["risk"] * weights.risk
    )


def score_sources(
    inventory: Inventory,
    settings: Settings | None = None,
    *,
    classes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Subscores, composite and rank of every source, with the inputs behind them.

    ``classes``: :func:`~leadbook.portfolio.classify.classify` of the same inventory under
    the same settings, when the caller has it (else it is computed).

    Examples
    --------
    >>> from leadbook.demo import demo_inventory
    >>> scores = score_sources(demo_inventory())
    >>> scores.sort_values("rank").index[0]
    'Referral programme'
    >>> bool(scores[SUBSCORES].stack().between(0, 100).all())
    True
    """
    settings = settings or Settings()
    inputs = score_inputs(inventory, settings, classes=classes)
    scores = subscores(inputs)
    scores["composite"] = composite(scores, settings.score_weights)
    scores["rank"] = scores["composite"].rank(method="min", ascending=False).astype(int)
    return scores.join(inputs.drop(columns=["health", "compliance", "risk_class"]))
