"""The allocation policy's and the classification's settings: bands, caps, capacity, score
and objective weights, class rules; :func:`setting` declares a field with its label, unit,
bounds and Excel defined name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from leadbook.enums import BudgetMode, CapacitySource, Objective

PERCENT = "%"


DOLLARS = "$"


@dataclass(frozen=True)
class Band:
    """A share-of-budget band, both ends inclusive, as fractions (0.6 = 60 %).

    Examples
    --------
    >>> Band(0.6, 0.7).contains(0.65)
    True
    >>> Band(0.7, 0.6)
    Traceback (most recent call last):
    ...
    ValueError: band minimum 70.0% is above its maximum 60.0%
    """

    min: float
    max: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.min <= 1.0 or not 0.0 <= self.max <= 1.0:
            raise ValueError(f"band ends must lie in 0–100 %, got {self.min:.1%}–{self.max:.1%}")
        if self.min > self.max:
            raise ValueError(f"band minimum {self.min:.1%} is above its maximum {self.max:.1%}")

    def contains(self, share: float, tol: float = 1e-9) -> bool:
        """Whether ``share`` lies in the band, with a tolerance for rounding."""
        return self.min - tol <= share <= self.max + tol

    def __str__(self) -> str:
        return f"{self.min:.0%}–{self.max:.0%}"


def setting(
    default: Any,
    label: str,
    unit: str = "",
    *,
    name: str,
    lo: float | None = None,
    hi: float | None = None,
    doc: str = "",
) -> Any:
    """Declare a setting: its default, what the Settings tab shows, and its bounds."""
    meta = {"label": label, "unit": unit, "name": name, "lo": lo, "hi": hi, "doc": doc}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class DollarBand:
    """A range of dollar amounts, both ends inclusive."""

    min: float
    max: float

    def __post_init__(self) -> None:
        if self.min < 0 or self.min > self.max:
            raise ValueError(f"range ${self.min:,.0f}–${self.max:,.0f} is not 0 ≤ min ≤ max")

    def __str__(self) -> str:
        return f"${self.min:,.0f}–${self.max:,.0f}"


@dataclass(frozen=True)
class Policy:
    """The allocation policy: budget, concentration, change and activity rules."""

    budget: float | None = setting(
        None,
        "Monthly budget",
        DOLLARS,
        name="Budget",
        lo=0,
        doc="Spend to allocate next period; blank means today's total spend.",
    )
    budget_mode: BudgetMode = setting(
        BudgetMode.AT_MOST,
        "Budget use",
        name="BudgetMode",
        doc="'exact' spends the whole budget; 'at most' may leave some unspent.",
    )
    objective: Objective = setting(
        Objective.CUSTOMERS,
        "Objective",
        name="Objective",
        doc="customers, margin (revenue − spend) or weighted (the chapter's four weights).",
    )
    max_source_share: float = setting(
        0.40,
        "Max share of budget for one source",
        PERCENT,
        name="MaxSourceShare",
        lo=0,
        hi=1,
        doc="No source gets more than this share of the budget (the chapter's 40 %).",
    )
    experimental_floor: float = setting(
        0.10,
        "Min share for experimental sources",
        PERCENT,
        name="ExperimentalFloor",
        lo=0,
        hi=1,
        doc="Tier 3 and testing sources together.",
    )
    weekly_increase: float = setting(
        0.25,
        "Max weekly increase per source",
        PERCENT,
        name="WeeklyIncrease",
        lo=0,
        hi=1,
        doc="A source's spend rises by at most this share of last week's in one week.",
    )
    weekly_decrease: float = setting(
        0.15,
        "Max weekly decrease per source",
        PERCENT,
        name="WeeklyDecrease",
        lo=0,
        hi=1,
        doc="A source's spend falls by at most this share of last week's in one week.",
    )
    weekly_guardrail: float = setting(
        0.20,
        "Weekly change guardrail per source",
        PERCENT,
        name="WeeklyGuardrail",
        lo=0,
        hi=1,
        doc="No source's spend moves by more than this in a week, up or down.",
    )
    min_active_sources: int = setting(
        5,
        "Min active sources",
        "sources",
        name="MinActiveSources",
        lo=0,
        doc="The allocation keeps at least this many sources active (spending).",
    )
    min_active_spend: float = setting(
        5_000.0,
        "Min spend for an active source",
        DOLLARS,
        name="MinActiveSpend",
        lo=0,
        doc=(
            "A source that is active gets at least this much a month, or nothing; one "
            "spending less today rises to it by the weekly increase, or stops."
        ),
    )
    test_phase1: DollarBand = setting(
        DollarBand(5_000.0, 10_000.0),
        "Test budget, phase 1 (weeks 1–4)",
        DOLLARS,
        name="TestPhase1",
        lo=0,
        doc="Monthly spend of a testing source in its first four weeks",
    )
    test_phase2: DollarBand = setting(
        DollarBand(15_000.0, 25_000.0),
        "Test budget, phase 2 (weeks 5–12)",
        DOLLARS,
        name="TestPhase2",
        lo=0,
        doc="Monthly spend of a testing source in weeks 5–12",
    )
    glide_weeks: int = setting(
        1,
        "Weeks Rebalance plans",
        "weeks",
        name="GlideWeeks",
        lo=1,
        hi=52,
        doc="1 recommends next week alone; more plans a glide path of that many weekly "
        "steps (the Rebalance button, and leadbook rebalance without --weeks).",
    )


@dataclass(frozen=True)
class Bands:
    """Share-of-budget bands by tier, lead type and risk class."""

    tier1: Band = setting(
        Band(0.60, 0.70), "Tier 1 (core) band", PERCENT, name="BandTier1", doc="Tier 1 sources"
    )
    tier2: Band = setting(
        Band(0.20, 0.25), "Tier 2 (growth) band", PERCENT, name="BandTier2", doc="Tier 2 sources"
    )
    tier3: Band = setting(
        Band(0.10, 0.15),
        "Tier 3 (experimental) band",
        PERCENT,
        name="BandTier3",
        doc="Tier 3 sources",
    )
    premium: Band = setting(
        Band(0.40, 0.50), "Premium leads band", PERCENT, name="BandPremium", doc="Premium leads"
    )
    standard: Band = setting(
        Band(0.35, 0.40),
        "Standard leads band",
        PERCENT,
        name="BandStandard",
        doc="Standard leads",
    )
    value: Band = setting(
        Band(0.10, 0.15), "Value leads band", PERCENT, name="BandValue", doc="Value leads"
    )
    low_risk: Band = setting(
        Band(0.50, 0.60), "Low-risk band", PERCENT, name="BandLowRisk", doc="Low-risk sources"
    )
    medium_risk: Band = setting(
        Band(0.25, 0.35),
        "Medium-risk band",
        PERCENT,
        name="BandMediumRisk",
        doc="Medium-risk sources",
    )
    high_risk: Band = setting(
        Band(0.10, 0.15), "High-risk band", PERCENT, name="BandHighRisk", doc="High-risk sources"
    )


@dataclass(frozen=True)
class Capacity:
    """Sales, operations and support capacity (seed: 47 leads/rep, 85 %, 55 peak)."""

    sales_reps: int = setting(
        51,
        "Sales reps (fully productive)",
        "reps",
        name="SalesReps",
        lo=0,
        doc="Reps working leads today, counted as fully productive.",
    )
    leads_per_rep: float = setting(
        47.0,
        "Leads per rep per month (average)",
        "leads",
        name="LeadsPerRep",
        lo=0,
        doc="Leads one fully productive rep works in a month (the chapter's 47).",
    )
    utilisation: float = setting(
        0.85,
        "Optimal utilisation",
        PERCENT,
        name="Utilisation",
        lo=0,
        hi=1,
        doc="Share of a rep's capacity planned for, leaving slack (the chapter's 85 %).",
    )
    peak_leads_per_rep: float = setting(
        55.0,
        "Peak leads per rep (overtime)",
        "leads",
        name="PeakLeadsPerRep",
        lo=0,
        doc="Most leads a rep can work in a month for a short peak.",
    )
    ramp_days: int = setting(
        90,
        "Days to full productivity",
        "days",
        name="RampDays",
        lo=0,
        doc="A new rep's productivity rises linearly to 100 % over this many days.",
    )
    ops_leads: float = setting(
        3_500.0,
        "Operations capacity",
        "leads/month",
        name="OpsCapacity",
        lo=0,
        doc="Leads operations can process in a month at full stretch.",
    )
    ops_utilisation: float = setting(
        0.85,
        "Operations optimal utilisation",
        PERCENT,
        name="OpsUtilisation",
        lo=0,
        hi=1,
        doc="Share of operations capacity planned for.",
    )
    support_customers: float = setting(
        180.0,
        "Support capacity",
        "customers/month",
        name="SupportCapacity",
        lo=0,
        doc="New customers support can onboard in a month.",
    )
    sales_capacity_source: CapacitySource = setting(
        CapacitySource.SETTINGS,
        "Sales capacity for Rebalance",
        name="SalesCapacitySource",
        doc="settings (sales reps × leads per rep × utilisation, above) or hiring plan "
        "(the productive reps the Base plan expects in its first month × leads per rep × "
        "utilisation).",
    )

    @property
    def sales_leads(self) -> float:
        """Leads the sales team can work in a month: reps × leads per rep × utilisation."""
        return self.sales_reps * self.leads_per_rep * self.utilisation


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the weekly source score (seed: 40/25/20/15)."""

    performance: float = setting(
        0.40,
        "Score weight: performance",
        PERCENT,
        name="WeightPerformance",
        lo=0,
        hi=1,
        doc="Weight of CPA, conversion and lead quality in the source score (four add to 100 %).",
    )
    reliability: float = setting(
        0.25,
        "Score weight: reliability",
        PERCENT,
        name="WeightReliability",
        lo=0,
        hi=1,
        doc="Weight of consistency, volume stability and vendor health in the source score.",
    )
    strategic: float = setting(
        0.20,
        "Score weight: strategic",
        PERCENT,
        name="WeightStrategic",
        lo=0,
        hi=1,
        doc="Weight of portfolio fit, diversification and growth potential in the source score.",
    )
    risk: float = setting(
        0.15,
        "Score weight: risk",
        PERCENT,
        name="WeightRisk",
        lo=0,
        hi=1,
        doc="Weight of the risk score (risk class, then vendor dependence) in the source score.",
    )


@dataclass(frozen=True)
class ObjectiveWeights:
    """Weights of the portfolio's multi-objective (seed: CPA 35, volume 25, quality 20, risk 20)."""

    cpa: float = setting(
        0.35,
        "Objective weight: CPA",
        PERCENT,
        name="ObjWeightCPA",
        lo=0,
        hi=1,
        doc="Weight of cost per customer in the weighted objective; the four add to 100 %.",
    )
    volume: float = setting(
        0.25,
        "Objective weight: volume",
        PERCENT,
        name="ObjWeightVolume",
        lo=0,
        hi=1,
        doc="Weight of lead volume in the weighted objective.",
    )
    quality: float = setting(
        0.20,
        "Objective weight: conversion quality",
        PERCENT,
        name="ObjWeightQuality",
        lo=0,
        hi=1,
        doc="Weight of conversion quality in the weighted objective.",
    )
    diversification: float = setting(
        0.20,
        "Objective weight: risk diversification",
        PERCENT,
        name="ObjWeightDiversification",
        lo=0,
        hi=1,
        doc="Weight of spreading spend across sources and risk classes.",
    )


@dataclass(frozen=True)
class ClassRules:
    """Thresholds of the tier, lead-type and risk classification (seed criteria)."""

    tier1_months: int = setting(
        12,
        "Tier 1: months of history",
        "months",
        name="Tier1Months",
        lo=0,
        doc="A Tier 1 (core) source has at least this many months of history.",
    )
    tier2_months: int = setting(
        6,
        "Tier 2: months of history",
        "months",
        name="Tier2Months",
        lo=0,
        doc="A Tier 2 (growth) source has at least this many; fewer is Tier 3 (experimental).",
    )
    tier1_max_conversion_cv: float = setting(
        0.25,
        "Tier 1: max month-to-month variation of conversion",
        PERCENT,
        name="Tier1MaxConversionCV",
        lo=0,
        hi=1,
        doc="Coefficient of variation of monthly conversion over the last 12 months.",
    )
    tier1_min_health: float = setting(
        3.5,
        "Tier 1: min vendor health",
        "1–5",
        name="Tier1MinHealth",
        lo=1,
        hi=5,
        doc="A Tier 1 source's vendor scores at least this on the 1–5 health scorecard.",
    )
    premium_max_buyers: int = setting(
        2,
        "Premium: max buyers per lead",
        "buyers",
        name="PremiumMaxBuyers",
        lo=1,
        doc="Premium leads are sold to at most this many buyers (exclusive or nearly).",
    )
    premium_max_age_hours: float = setting(
        24.0,
        "Premium: max lead age",
        "hours",
        name="PremiumMaxAge",
        lo=0,
        doc="Premium leads are delivered within this many hours.",
    )
    standard_max_buyers: int = setting(
        5,
        "Standard: max buyers per lead",
        "buyers",
        name="StandardMaxBuyers",
        lo=1,
        doc="Standard leads go to at most this many buyers; more makes a lead Value.",
    )
    standard_max_age_hours: float = setting(
        72.0,
        "Standard: max lead age",
        "hours",
        name="StandardMaxAge",
        lo=0,
        doc="Standard leads are delivered within this many hours; older ones are Value.",
    )
    low_risk_months: int = setting(
        12,
        "Low risk: min months of history",
        "months",
        name="LowRiskMonths",
        lo=0,
        doc="A Low-risk source has at least this many months of history.",
    )
    low_risk_min_health: float = setting(
        4.0,
        "Low risk: min vendor health",
        "1–5",
        name="LowRiskMinHealth",
        lo=1,
        hi=5,
        doc="A Low-risk source's vendor scores at least this on the health scorecard.",
    )
    high_risk_max_health: float = setting(
        3.0,
        "High risk: vendor health below",
        "1–5",
        name="HighRiskBelowHealth",
        lo=1,
        hi=5,
        doc="A vendor scoring below this on the health scorecard makes its source High risk.",
    )
    low_risk_max_volatility: float = setting(
        0.20,
        "Low risk: max volume volatility",
        PERCENT,
        name="LowRiskMaxVolatility",
        lo=0,
        hi=1,
        doc="Coefficient of variation of monthly leads over the last 12 months.",
    )
    high_risk_volatility: float = setting(
        0.40,
        "High risk: volume volatility above",
        PERCENT,
        name="HighRiskVolatility",
        lo=0,
        hi=1,
        doc="Monthly leads varying by more than this (coefficient of variation) is High risk.",
    )
