"""The planning, lead, board and file settings: ROI, forecast, hiring, lead rules, board
targets and file rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from leadbook.enums import ConversionSource, Switch
from leadbook.settings.policy import DOLLARS, PERCENT, setting


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
        doc="The largest sources by leads over the last 12 months get statsmodels' models "
        "(their combination, about two ETS fits a series); the others the quick "
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
    board_pdf: Switch = setting(
        Switch.NO,
        "Board pack also as PDF",
        name="BoardPDF",
        doc="yes: Export board pack also writes the pack as a PDF beside it, where "
        "LibreOffice is installed (leadbook board --pdf does so whatever this says).",
    )


@dataclass(frozen=True)
class WhatIfRules:
    """The What-if tab's budget curve: how many budgets, from and to which share of the budget."""

    curve_points: int = setting(
        21,
        "Budget curve points",
        "points",
        name="CurvePoints",
        lo=21,
        hi=201,
        doc="What-if: budgets the budget curve solves, evenly spaced from its lowest to its "
        "highest share of the budget (100 % is always one of them).",
    )
    curve_low: float = setting(
        0.5,
        "Budget curve from",
        PERCENT,
        name="CurveLow",
        lo=0.0,
        hi=1.0,
        doc="What-if: the budget curve's lowest budget, as a share of the Budget setting.",
    )
    curve_high: float = setting(
        1.5,
        "Budget curve to",
        PERCENT,
        name="CurveHigh",
        lo=1.0,
        hi=5.0,
        doc="What-if: the budget curve's highest budget, as a share of the Budget setting.",
    )
