"""Every band, cap, weight and capacity figure, with the seed chapter's defaults.

Settings are data: one frozen :class:`Settings` object, built from the Settings tab and
written back to it. Each field carries its label, unit, bounds and Excel defined name in
its metadata, so the tab, the reader, the writer and the docs come from one declaration.
A setting is addressed by its key, ``"<section>.<field>"`` (``"policy.max_source_share"``);
a band contributes two keys, ``"<section>.<field>.min"`` and ``".max"``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from leadbook.contract.tables import MAX_MAGNITUDE, number_text
from leadbook.enums import BudgetMode, CapacitySource, Choice, ConversionSource, Objective
from leadbook.errors import Problem, Severity, raise_errors

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
        doc="A source that is active gets at least this much a month, or nothing.",
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


@dataclass(frozen=True)
class RoiRules:
    """Multi-horizon ROI: discounting, when cohorts' customers close, what they are worth later.

    The chapter gives no discount rate, timing curve, retention or expansion; these defaults
    are leadbook's, documented in docs/planning.md.
    """

    discount_rate: float = setting(
        0.10,
        "Discount rate (annual)",
        PERCENT,
        name="DiscountRate",
        lo=0,
        hi=1,
        doc="For NPV of cohort cash flows; applied monthly as (1 + rate)^(1/12) − 1.",
    )
    gross_margin: float = setting(
        0.70,
        "Gross margin on customer revenue",
        PERCENT,
        name="GrossMargin",
        lo=0,
        hi=1,
        doc="ROI, NPV, IRR and payback are on contribution: revenue × this margin, less the "
        "cost to serve, against the lead cost. 70 % is leadbook's default; set your own.",
    )
    cost_to_serve: float = setting(
        0.0,
        "Cost to serve a new customer",
        DOLLARS,
        name="CostToServe",
        lo=0,
        doc="One-off cost of onboarding and serving each customer won, beyond the gross "
        "margin; charged in the month the customer closes.",
    )
    close_30d: float = setting(
        0.20,
        "Share of a cohort's customers closed within 30 days",
        PERCENT,
        name="CloseWithin30Days",
        lo=0,
        hi=1,
        doc="Timing curve, used where History has no 'Customers in 30 days' for a source.",
    )
    close_90d: float = setting(
        0.90,
        "Share of a cohort's customers closed within 90 days",
        PERCENT,
        name="CloseWithin90Days",
        lo=0,
        hi=1,
        doc="Timing curve; the rest close evenly in months 4–12 (all by 12 months).",
    )
    retention: float = setting(
        0.98,
        "Monthly customer retention",
        PERCENT,
        name="MonthlyRetention",
        lo=0,
        hi=1,
        doc="Share of a cohort's customers still active a month later (expansion accrues on them).",
    )
    expansion: float = setting(
        0.20,
        "Expansion revenue per retained customer (annual)",
        PERCENT,
        name="AnnualExpansion",
        lo=0,
        hi=1,
        doc="As a share of the customer's first revenue, accrued monthly after the close.",
    )
    cohort_months: int = setting(
        12,
        "Cohorts averaged for ROI",
        "months",
        name="RoiCohortMonths",
        lo=1,
        doc="The latest this-many monthly cohorts of each source in History.",
    )
    min_cohorts: int = setting(
        3,
        "Fewest cohorts for History-based ROI",
        "months",
        name="RoiMinCohorts",
        lo=1,
        doc="With fewer, a source's cohort comes from its Sources row (leads, CPL, conversion).",
    )

    def __post_init__(self) -> None:
        if self.close_30d > self.close_90d:
            raise ValueError(
                f"customers closed within 30 days ({self.close_30d:.0%}) cannot exceed those "
                f"closed within 90 days ({self.close_90d:.0%})"
            )


@dataclass(frozen=True)
class ForecastRules:
    """Forecast horizon, interval level, the chapter's scenarios and accuracy targets."""

    horizon: int = setting(
        24,
        "Forecast horizon",
        "months",
        name="ForecastHorizon",
        lo=12,
        hi=24,
        doc="Months ahead the forecast and the hiring plan run (12 to 24).",
    )
    interval: float = setting(
        0.80,
        "Prediction interval of the baseline",
        PERCENT,
        name="ForecastInterval",
        lo=0.5,
        hi=0.99,
        doc="The forecast's Lower and Upper bound this share of outcomes.",
    )
    conservative_growth: float = setting(
        0.15,
        "Conservative: growth per year",
        PERCENT,
        name="ConservativeGrowth",
        lo=-1,
        hi=5,
        doc="Lead growth per year in the Conservative scenario (the chapter's +15 %).",
    )
    conservative_confidence: float = setting(
        0.90,
        "Conservative: confidence",
        PERCENT,
        name="ConservativeConfidence",
        lo=0,
        hi=1,
        doc="How likely the Conservative scenario is reached, as the chapter states it.",
    )
    base_growth: float = setting(
        0.35,
        "Base case: growth per year",
        PERCENT,
        name="BaseGrowth",
        lo=-1,
        hi=5,
        doc="Lead growth per year in the Base scenario (the chapter's +35 %).",
    )
    base_confidence: float = setting(
        0.70,
        "Base case: confidence",
        PERCENT,
        name="BaseConfidence",
        lo=0,
        hi=1,
        doc="How likely the Base scenario is reached.",
    )
    aggressive_growth: float = setting(
        0.75,
        "Aggressive: growth per year",
        PERCENT,
        name="AggressiveGrowth",
        lo=-1,
        hi=5,
        doc="Lead growth per year in the Aggressive scenario (the chapter's +75 %).",
    )
    aggressive_confidence: float = setting(
        0.50,
        "Aggressive: confidence",
        PERCENT,
        name="AggressiveConfidence",
        lo=0,
        hi=1,
        doc="How likely the Aggressive scenario is reached.",
    )
    target_monthly: float = setting(
        0.10,
        "Forecast accuracy target (monthly volume)",
        PERCENT,
        name="ForecastTargetMonthly",
        lo=0,
        hi=1,
        doc="The chapter's ±10 % monthly volume accuracy.",
    )
    target_conversion: float = setting(
        0.15,
        "Forecast accuracy target (conversion)",
        PERCENT,
        name="ForecastTargetConversion",
        lo=0,
        hi=1,
        doc="The chapter's ±15 % conversion-rate accuracy.",
    )
    target_board: float = setting(
        0.05,
        "Forecast accuracy target (board)",
        PERCENT,
        name="ForecastTargetBoard",
        lo=0,
        hi=1,
        doc="The board's ±5 % lead-volume predictability.",
    )
    full_choice_sources: int = setting(
        40,
        "Sources given the full choice of forecast methods",
        "sources",
        name="ForecastFullChoiceSources",
        lo=1,
        doc="The largest sources by leads over the last 12 months get statsmodels' methods "
        "chosen by backtest (about a quarter of a second a source); the others the quick "
        "methods, all at once. Raise it to give more sources the full choice, at that cost.",
    )


@dataclass(frozen=True)
class HiringRules:
    """The hiring plan: planning load per rep, rounding, attrition and time to hire.

    The ramp uses Capacity's days to full productivity (linear, 100 % at that day).
    """

    leads_per_rep_optimal: float = setting(
        40.0,
        "Leads per rep at optimal utilisation",
        "leads",
        name="LeadsPerRepOptimal",
        lo=0,
        doc="The chapter's '85 % (40 leads per rep)': 47 × 85 % = 39.95, stated as 40.",
    )
    rep_rounding: float = setting(
        0.5,
        "Load one rep short before hiring",
        "reps",
        name="RepRounding",
        lo=0,
        hi=0.99,
        doc="Reps needed = leads ÷ leads per rep, rounded up after taking this much off: "
        "0.5 rounds to the nearest rep (the chapter's), 0 always rounds up.",
    )
    attrition: float = setting(
        0.02,
        "Monthly rep attrition",
        PERCENT,
        name="MonthlyAttrition",
        lo=0,
        hi=1,
        doc="Leavers are backfilled: the plan hires to keep enough productive reps.",
    )
    time_to_hire_days: int = setting(
        45,
        "Time to hire",
        "days",
        name="TimeToHireDays",
        lo=0,
        doc="From opening a requisition to the rep's first day (30-day months, rounded up).",
    )
    rep_monthly_cost: float = setting(
        8_000.0,
        "Loaded cost of a rep a month",
        DOLLARS,
        name="RepMonthlyCost",
        lo=0,
        doc="Pay, taxes, benefits and tools of one rep, ramping or not: the hiring plan's cost "
        "is headcount × this. leadbook's default (the chapter gives none): set your own.",
    )


@dataclass(frozen=True)
class LeadRules:
    """Lead qualification and monetisation: thresholds, score bands and lead prices."""

    roi_threshold: float = setting(
        3.0,
        "Work first at expected ROI of at least",
        "×",
        name="LeadRoiThreshold",
        lo=0,
        doc="Expected ROI = p × value ÷ cost; 3.0 means expected revenue of 3× the lead's cost.",
    )
    hit_threshold: float = setting(
        0.5,
        "Predicted hit above probability",
        PERCENT,
        name="LeadHitThreshold",
        lo=0,
        hi=1,
        doc="The chapter's 50 %: accuracy, precision and recall on the Leads tab use it.",
    )
    band_high: float = setting(
        0.30,
        "High band from probability",
        PERCENT,
        name="LeadBandHigh",
        lo=0,
        hi=1,
        doc="Leads at or above this probability of converting are in the High band.",
    )
    band_medium: float = setting(
        0.10,
        "Medium band from probability",
        PERCENT,
        name="LeadBandMedium",
        lo=0,
        hi=1,
        doc="Leads below this probability are in the Low band.",
    )
    work_cost: float = setting(
        40.0,
        "Cost to work a lead",
        DOLLARS,
        name="LeadWorkCost",
        lo=0,
        doc="Sales time per lead worked; sets the profit-maximising ROI threshold.",
    )
    price_high: float = setting(
        150.0,
        "Partner price of a high-quality lead (R high)",
        DOLLARS,
        name="LeadPriceHigh",
        lo=0,
        doc="What a partner pays for a lead that proves high quality (R high in the pricing).",
    )
    price_low: float = setting(
        30.0,
        "Partner price of a low-quality lead (R low)",
        DOLLARS,
        name="LeadPriceLow",
        lo=0,
        doc="What a partner pays for a low-quality lead (R low).",
    )
    cost_high: float = setting(
        140.0,
        "Cost of a high-quality lead (C high)",
        DOLLARS,
        name="LeadCostHigh",
        lo=0,
        doc="What a high-quality lead costs to buy and serve (C high).",
    )
    cost_low: float = setting(
        70.0,
        "Cost of a low-quality lead (C low)",
        DOLLARS,
        name="LeadCostLow",
        lo=0,
        doc="What a low-quality lead costs (C low).",
    )
    target_margin: float = setting(
        0.25,
        "Target margin on sold leads",
        PERCENT,
        name="LeadTargetMargin",
        lo=0,
        hi=0.99,
        doc="A lead's price is its expected cost ÷ (1 − margin).",
    )
    conversion_source: ConversionSource = setting(
        ConversionSource.HISTORY,
        "Source conversion for Rebalance",
        name="LeadConversionSource",
        doc="history (Sources table) or model (mean predicted probability of its open leads).",
    )


@dataclass(frozen=True)
class BoardTargets:
    """Targets of the board KPIs (the chapter's "Measuring Success") and how status is read.

    The share targets of the board (no source above 40 %, high risk below 15 %, experimental
    above 10 %) are the allocation policy's own settings, so the board and Rebalance agree.
    """

    roi: float = setting(
        3.0,
        "Target: portfolio ROI, at least",
        PERCENT,
        name="TargetROI",
        lo=0,
        hi=50,
        doc="(Revenue − spend) ÷ spend; the chapter's > 300 % annual return.",
    )
    cpl: float = setting(
        85.0,
        "Target: blended cost per lead, at most",
        DOLLARS,
        name="TargetBlendedCPL",
        lo=0,
        doc="The chapter's 'cost per acquisition < $85': its figures are costs per lead "
        "(see docs/board.md).",
    )
    budget_utilisation: float = setting(
        0.95,
        "Target: budget utilisation, at least",
        PERCENT,
        name="TargetBudgetUtilisation",
        lo=0,
        hi=1,
        doc="Today's monthly spend ÷ the monthly budget (Budget).",
    )
    revenue_per_lead: float = setting(
        150.0,
        "Target: revenue per lead, at least",
        DOLLARS,
        name="TargetRevenuePerLead",
        lo=0,
        doc="Revenue of the quarter ÷ its leads (the chapter's > $150).",
    )
    quality_consistency: float = setting(
        0.90,
        "Target: quality score consistency, at least",
        PERCENT,
        name="TargetQuality",
        lo=0,
        hi=1,
        doc="Share of sources whose scored leads' predicted conversion agrees with History.",
    )
    capacity_utilisation: float = setting(
        0.85,
        "Target: sales capacity utilisation",
        PERCENT,
        name="TargetCapacityUtilisation",
        lo=0,
        hi=1,
        doc="Monthly leads ÷ (reps × leads per rep); the chapter's 85 % optimum.",
    )
    capacity_tolerance: float = setting(
        0.05,
        "Capacity utilisation counted on target within ±",
        PERCENT,
        name="CapacityTolerance",
        lo=0,
        hi=1,
        doc="85 % is an optimum, not a floor: 80–90 % is on target with the default ±5 points.",
    )
    vendor_health: float = setting(
        4.5,
        "Target: average vendor health, at least",
        "1–5",
        name="TargetVendorHealth",
        lo=1,
        hi=5,
        doc="Spend-weighted average of the vendors' 1–5 health scores.",
    )
    max_active_sources: int = setting(
        15,
        "Over-diversification: active sources above",
        "sources",
        name="MaxActiveSources",
        lo=1,
        doc="The chapter's warning sign: more than 15 active sources.",
    )
    core_sources: int = setting(
        8,
        "Core sources that should carry 80 % of volume, at most",
        "sources",
        name="CoreSourcesMax",
        lo=1,
        doc="The chapter: 5–8 core sources drive 80 % of volume.",
    )
    watch_margin: float = setting(
        0.10,
        "Watch margin (share of the target)",
        PERCENT,
        name="WatchMargin",
        lo=0,
        hi=1,
        doc="A KPI that misses its target by at most this share of the target is 'watch'; "
        "further off is 'off target'.",
    )
    trend_quarters: int = setting(
        4,
        "Quarters shown in KPI trends",
        "quarters",
        name="TrendQuarters",
        lo=2,
        hi=12,
        doc="How many quarters of Board history each KPI's trend compares.",
    )
    maturity_threshold: float = setting(
        0.75,
        "Maturity: share of a stage's checklist to reach it",
        PERCENT,
        name="MaturityThreshold",
        lo=0,
        hi=1,
        doc="yes counts 1, partly ½; every earlier stage must be reached too.",
    )


@dataclass(frozen=True)
class FileRules:
    """What leadbook keeps beside the workbook file."""

    versions_kept: int = setting(
        10,
        "Versions kept beside the workbook",
        "versions",
        name="VersionsKept",
        lo=1,
        doc="Each leadbook write (and each undo) first keeps the file as it was in "
        "<name>.leadbook-versions; beyond this many, the oldest is deleted.",
    )


@dataclass(frozen=True)
class Settings:
    """All of leadbook's settings, with the seed chapter's defaults.

    Examples
    --------
    >>> s = Settings()
    >>> s.policy.max_source_share, str(s.bands.tier1), s.capacity.leads_per_rep
    (0.4, '60%–70%', 47.0)
    >>> s.get("bands.tier1.min")
    0.6
    >>> s.replace({"policy.max_source_share": 0.35}).policy.max_source_share
    0.35
    """

    policy: Policy = field(default_factory=Policy)
    bands: Bands = field(default_factory=Bands)
    capacity: Capacity = field(default_factory=Capacity)
    score_weights: ScoreWeights = field(default_factory=ScoreWeights)
    objective_weights: ObjectiveWeights = field(default_factory=ObjectiveWeights)
    classify: ClassRules = field(default_factory=ClassRules)
    roi: RoiRules = field(default_factory=RoiRules)
    forecast: ForecastRules = field(default_factory=ForecastRules)
    hiring: HiringRules = field(default_factory=HiringRules)
    leads: LeadRules = field(default_factory=LeadRules)
    board: BoardTargets = field(default_factory=BoardTargets)
    files: FileRules = field(default_factory=FileRules)

    def get(self, key: str) -> Any:
        """The value of the setting ``key`` (``"section.field"`` or ``"...field.min"``)."""
        spec = spec_for(key)
        value = getattr(getattr(self, spec.section), spec.field)
        return getattr(value, spec.part) if spec.part else value

    def replace(self, values: Mapping[str, Any]) -> Settings:
        """A copy with the given settings changed; keys as in :meth:`get`."""
        settings, problems = _apply(self, ((k, v, k) for k, v in values.items()))
        raise_errors(problems)
        return settings


@dataclass(frozen=True)
class SettingSpec:
    """One row of the Settings tab: where the value lives and how it is shown."""

    key: str
    section: str
    field: str
    part: str | None
    label: str
    unit: str
    name: str
    lo: float | None
    hi: float | None
    doc: str
    kind: type

    @property
    def is_percent(self) -> bool:
        return self.unit == PERCENT


def _field_kind(owner: type, f: dataclasses.Field) -> type:
    hint = typing.get_type_hints(owner)[f.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return args[0]
    return hint


def _specs() -> Iterator[SettingSpec]:
    for section in dataclasses.fields(Settings):
        owner = section.default_factory  # type: ignore[misc]
        for f in dataclasses.fields(owner):
            meta, kind = f.metadata, _field_kind(owner, f)
            common = dict(
                section=section.name,
                field=f.name,
                unit=meta["unit"],
                lo=meta["lo"],
                hi=meta["hi"],
                doc=meta["doc"],
            )
            key = f"{section.name}.{f.name}"
            if kind in (Band, DollarBand):
                if kind is Band:
                    common |= {"lo": 0.0, "hi": 1.0}
                for part, word in (("min", "Min"), ("max", "Max")):
                    yield SettingSpec(
                        key=f"{key}.{part}",
                        part=part,
                        kind=float,
                        label=f"{meta['label']}, {part}",
                        name=f"{meta['name']}{word}",
                        **(common | {"doc": _band_doc(kind, part, meta["doc"])}),
                    )
            else:
                yield SettingSpec(
                    key=key, part=None, kind=kind, label=meta["label"], name=meta["name"], **common
                )


def _band_doc(kind: type, part: str, what: str) -> str:
    """The note of one end of a band: ``what`` names the sources or the spend it bounds."""
    most = "Least" if part == "min" else "Most"
    if kind is Band:
        return f"{most} share of the budget for {what} together; Rebalance keeps to the band."
    return f"{most} {what[:1].lower()}{what[1:]}."


SETTING_SPECS: tuple[SettingSpec, ...] = tuple(_specs())
_BY_KEY = {s.key: s for s in SETTING_SPECS} | {s.name: s for s in SETTING_SPECS}
_BY_FOLDED = {k.casefold(): v for k, v in _BY_KEY.items()}
"""A setting by its key (``policy.max_source_share``) or its defined name (``MaxSourceShare``)."""

SECTION_TITLES = {
    "policy": "Allocation policy",
    "bands": "Budget bands (share of the budget)",
    "capacity": "Sales, operations and support capacity",
    "score_weights": "Source score weights",
    "objective_weights": "Weighted objective",
    "classify": "Classification thresholds",
    "roi": "Multi-horizon ROI",
    "forecast": "Forecast and scenarios",
    "hiring": "Hiring plan",
    "leads": "Lead qualification and pricing",
    "board": "Board targets",
    "files": "Files",
}
"""The Settings tab's heading over each section's rows."""


def section_title(section: str) -> str:
    """The heading of a section of settings (``"policy"`` → ``"Allocation policy"``)."""
    return SECTION_TITLES.get(section, section.replace("_", " ").capitalize())


def spec_for(key: str) -> SettingSpec:
    """The spec of setting ``key`` (or defined name); an unknown one is an error that suggests
    the nearest.

    Examples
    --------
    >>> spec_for("MaxSourceShare").key
    'policy.max_source_share'
    >>> spec_for("MaxSorceShare")
    Traceback (most recent call last):
    ...
    KeyError: "unknown setting 'MaxSorceShare' — did you mean 'MaxSourceShare'?"
    """
    spec = _lookup(key)
    if spec is None:
        raise KeyError(_unknown_key_message(key))
    return spec


def _lookup(key: str) -> SettingSpec | None:
    """A setting by key or defined name; names, as Excel's, ignore case."""
    return _BY_KEY.get(key) or _BY_FOLDED.get(key.casefold())


def _unknown_key_message(key: str) -> str:
    near = difflib.get_close_matches(key, _BY_KEY, n=1)
    hint = f" — did you mean {near[0]!r}?" if near else ""
    return f"unknown setting {key!r}{hint}"


def setting_rows(settings: Settings) -> list[tuple[SettingSpec, Any]]:
    """Every setting with its value, in Settings-tab order."""
    return [(spec, settings.get(spec.key)) for spec in SETTING_SPECS]


def settings_from_rows(rows: Iterable[Sequence[Any]]) -> tuple[Settings, list[Problem]]:
    """Settings from ``(key, value, where[, key_where])`` rows, and every problem found.

    A key is a setting's key or its defined name; ``where`` is the value's cell and
    ``key_where`` the key's (by default column A of the value's row). Blank values of
    optional settings (the budget) mean "not set"; a missing key keeps its default and is
    reported as a warning; unknown keys and bad values are errors.

    Examples
    --------
    >>> s, problems = settings_from_rows([("policy.max_source_share", 0.35, "Settings!C5"),
    ...                                   ("policy.max_share", 0.3, "Settings!C6")])
    >>> s.policy.max_source_share
    0.35
    >>> [str(p) for p in problems if p.severity == "error"]
    ["Settings!A6: unknown setting 'policy.max_share' — did you mean 'policy.max_source_share'?"]
    """
    rows = list(rows)
    settings, problems = _apply(Settings(), rows)
    given = (str(row[0]).strip() for row in rows)
    seen = {spec.key for spec in map(_lookup, given) if spec is not None}
    for spec in SETTING_SPECS:
        if spec.key not in seen:
            problems.append(
                Problem(
                    "Settings",
                    f"{spec.name} ({spec.label}) is missing; using the "
                    f"default {_show(spec, Settings().get(spec.key))}",
                    Severity.WARNING,
                )
            )
    return settings, problems


def _apply(base: Settings, rows: Iterable[Sequence[Any]]) -> tuple[Settings, list[Problem]]:
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    places: dict[str, str] = {}
    for row in rows:
        given, raw, where = str(row[0]).strip(), row[1], row[2]
        if _lookup(given) is None:
            key_where = row[3] if len(row) > 3 else _key_cell(where)
            problems.append(Problem(key_where, _unknown_key_message(given)))
            continue
        key = _lookup(given).key  # type: ignore[union-attr]
        if key in places:
            problems.append(
                Problem(
                    where,
                    f"{given}: the setting appears twice (also at {places[key]}); delete one — "
                    "the defined name points at only one of them",
                )
            )
            continue
        places[key] = where
        spec = _BY_KEY[key]
        try:
            values[key] = _parse_value(spec, raw)
        except ValueError as exc:
            problems.append(Problem(where, f"{given}: {exc}"))
            continue
        if isinstance(raw, str) and raw.strip() and not issubclass(spec.kind, Choice):
            problems.append(
                Problem(
                    where,
                    f"{given} is typed as text ({raw!r}): leadbook reads "
                    f"{_show(spec, values[key])}, but Excel's formulas using ={spec.name} do "
                    "not — type it as a number",
                    Severity.WARNING,
                )
            )
    values, band_problems = _checked_bands(base, values, places)
    values, weight_problems = _checked_weights(base, values, places)
    problems += band_problems + weight_problems
    try:
        return _rebuild(base, values), problems
    except ValueError as exc:
        problems.append(Problem("Settings", str(exc)))
        return base, problems


def _checked_bands(
    base: Settings, values: dict[str, Any], places: dict[str, str]
) -> tuple[dict[str, Any], list[Problem]]:
    """Drop the parts of bands whose ends are out of order, reporting each at its cell."""
    problems = []
    for spec in SETTING_SPECS:
        if spec.part != "min":
            continue
        stem = spec.key[: -len(".min")]
        lo = values.get(f"{stem}.min", base.get(f"{stem}.min"))
        hi = values.get(f"{stem}.max", base.get(f"{stem}.max"))
        if lo > hi:
            where = places.get(f"{stem}.min") or places.get(f"{stem}.max") or "Settings"
            problems.append(
                Problem(
                    where,
                    f"{spec.name}: the minimum {_show(spec, lo)} is above the maximum "
                    f"{_show(spec, hi)} ({spec.name[:-3]}Max)",
                )
            )
            values = {k: v for k, v in values.items() if not k.startswith(f"{stem}.")}
    return values, problems


def _checked_weights(
    base: Settings, values: dict[str, Any], places: dict[str, str]
) -> tuple[dict[str, Any], list[Problem]]:
    """Drop a set of weights that does not add up to 100 %, reporting it at its cells."""
    problems = []
    for section, label in (("score_weights", "score"), ("objective_weights", "objective")):
        specs = [spec for spec in SETTING_SPECS if spec.section == section]
        total = sum(values.get(spec.key, base.get(spec.key)) for spec in specs)
        if abs(total - 1.0) <= 1e-9:
            continue
        cells = [places[spec.key] for spec in specs if spec.key in places]
        names = ", ".join(spec.name for spec in specs)
        problems.append(
            Problem(
                cells[0] if cells else "Settings",
                f"the {label} weights ({names}"
                + (f", at {', '.join(cells)}" if cells else "")
                + f") must add up to 100 %, got {total:.1%}",
            )
        )
        values = {k: v for k, v in values.items() if _BY_KEY[k].section != section}
    return values, problems


def _key_cell(where: str) -> str:
    """The cell of a row's key, given the cell of its value (keys sit in column A)."""
    if "!" not in where:
        return where
    sheet, cell = where.split("!", 1)
    row = "".join(ch for ch in cell if ch.isdigit())
    return f"{sheet}!A{row}" if row else where


def _parse_value(spec: SettingSpec, raw: object) -> Any:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if spec.key == "policy.budget":
            return None
        raise ValueError("is empty")
    if issubclass(spec.kind, Choice):
        return spec.kind.parse(raw)
    value = _number(raw, spec)
    if spec.kind is int:
        if value != int(value):
            raise ValueError(f"must be a whole number, got {raw!r}")
        value = int(value)
    if spec.lo is not None and value < spec.lo:
        raise ValueError(f"must be ≥ {_show(spec, spec.lo)}, got {_show(spec, value)}")
    if spec.hi is not None and value > spec.hi:
        hint = _percent_hint(spec, value)
        raise ValueError(f"must be ≤ {_show(spec, spec.hi)}, got {_show(spec, value)}{hint}")
    return value


def _percent_hint(spec: SettingSpec, value: float) -> str:
    """' — did you mean 25 %?' when ``value`` reads as a percentage typed as a whole number.

    Examples
    --------
    >>> _percent_hint(spec_for("WeeklyIncrease"), 25)
    ' — did you mean 25 %? Type 25% or 0.25'
    >>> _percent_hint(spec_for("WeeklyIncrease"), 2500)
    ''
    """
    if not spec.is_percent or not (spec.lo or 0) <= value / 100 <= (spec.hi or math.inf):
        return ""
    return f" — did you mean {value:g} %? Type {value:g}% or {value / 100:g}"


def _number(raw: object, spec: SettingSpec) -> float:
    if isinstance(raw, bool):
        raise ValueError(f"must be a number, got {raw!r}")
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text = number_text(str(raw))
        scale = 0.01 if text.endswith("%") else 1.0
        try:
            value = float(text.rstrip("%")) * scale
        except ValueError:
            raise ValueError(f"must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {raw}")
    if abs(value) > MAX_MAGNITUDE:
        raise ValueError(f"must be at most {MAX_MAGNITUDE:,.0f} in size, got {raw!r}")
    return value


def _show(spec: SettingSpec, value: Any) -> str:
    if value is None:
        return "blank"
    if spec.is_percent:
        return f"{value:.1%}"
    if spec.unit == DOLLARS:
        return f"${value:,.0f}"
    return str(value)


def _rebuild(base: Settings, values: Mapping[str, Any]) -> Settings:
    sections: dict[str, dict[str, Any]] = {}
    parts: dict[tuple[str, str], dict[str, Any]] = {}
    for key, value in values.items():
        spec = _BY_KEY[key]
        changes = sections.setdefault(spec.section, {})
        if spec.part:
            # both ends of a band may change together: build the band once, from both
            parts.setdefault((spec.section, spec.field), {})[spec.part] = value
        else:
            changes[spec.field] = value
    for (section, name), ends in parts.items():
        current = getattr(getattr(base, section), name)
        sections[section][name] = type(current)(**{**dataclasses.asdict(current), **ends})
    replaced = {
        name: dataclasses.replace(getattr(base, name), **changes)
        for name, changes in sections.items()
    }
    settings = dataclasses.replace(base, **replaced)
    _check_weights(settings)
    _check_lead_bands(settings)
    return settings


def _check_weights(settings: Settings) -> None:
    for section, label in (("score_weights", "score"), ("objective_weights", "objective")):
        weights = dataclasses.asdict(getattr(settings, section))
        total = sum(weights.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"the {label} weights must add up to 100 %, got {total:.1%}")


def _check_lead_bands(settings: Settings) -> None:
    high, medium = settings.leads.band_high, settings.leads.band_medium
    if medium > high:
        raise ValueError(
            f"the Medium lead band starts at {medium:.1%}, above the High band's {high:.1%}"
        )
